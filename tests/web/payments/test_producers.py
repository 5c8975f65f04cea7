"""A market's statement per producer over a period: ordered, paid, still to pay, by
distribution, as a page and an Excel-ready CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from domain.demo import world as build
from domain.kernel.clock import now
from domain.kernel.dates import paris_day
from domain.tables import Distribution
from tests.helpers import login, post_form
from tests.web.payments.helpers import as_user, key_in, market, shown


async def test_statement_per_producer_by_distribution_with_what_is_paid(app, client):
    w = await market(2)
    a, b = w["members"]
    group_id = w["group"]["id"]
    bakery = await build.producer(group_id, "Boulangerie")
    bread_catalog = await build.catalog(group_id, bakery, "Pain", delivers=[w["distribution"]])
    bread = await build.product(bread_catalog, "Pain de seigle", 400)
    p1 = w["products"][0]
    for email in ("m0@example.org", "m1@example.org"):
        member = await as_user(app, email)
        await post_form(
            member, w["url"], {f"q{p1}": "2", f"q{bread}": "1", "key": email, "valider": "1"}
        )
    # A pays all of their 7,00 €; B pays nothing.
    await login(client, "admin@example.org")
    page = await client.get(f"/g/{w['slug']}/paiements/membres/{a}")
    await post_form(
        client,
        f"/g/{w['slug']}/paiements/membres/{a}/paiement",
        {"amount": "7", "means": "especes", "key": key_in(page)},
    )
    # A distribution outside the period counts nothing.
    old = await build.past_distribution(
        group_id, w["place"], ago=timedelta(days=400), catalogs=[w["catalog"]]
    )
    await build.order(b, old, {p1: 5})
    start = paris_day(now()) - timedelta(days=1)
    end = paris_day(now()) + timedelta(days=30)
    url = f"/g/{w['slug']}/paiements/producteurs?du={start}&au={end}"
    response = await client.get(url)
    assert response.status_code == 200
    text = shown(response)
    assert text.index("Boulangerie") < text.index("Ferme du Test")
    dist = await Distribution.select().where(Distribution.id == w["distribution"]).first()
    assert "2 8,00\xa0€ 4,00\xa0€ 4,00\xa0€" in text  # bread: 2 orders, half paid
    assert "2 6,00\xa0€ 3,00\xa0€ 3,00\xa0€" in text  # vegetables
    assert "Tous producteurs : 14,00\xa0€ commandés, 7,00\xa0€ payés, 7,00\xa0€ à payer." in text
    assert dist
    exported = await client.get(f"/g/{w['slug']}/paiements/producteurs.csv?du={start}&au={end}")
    assert exported.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == [
        "Producteur",
        "Distribution",
        "Commandes",
        "Commandé",
        "Payé",
        "Reste à payer",
    ]
    assert rows[1][0] == "Boulangerie" and rows[1][2:] == ["2", "8,00", "4,00", "4,00"]
    assert rows[2] == ["Boulangerie", "Total", "2", "8,00", "4,00", "4,00"]
    assert rows[3][0] == "Ferme du Test" and rows[3][3:] == ["6,00", "3,00", "3,00"]
    # A bad period is said at its field.
    bad = await client.get(f"/g/{w['slug']}/paiements/producteurs?du={end}&au={start}")
    assert bad.status_code == 422 and "La fin de la période doit venir après son début." in shown(
        bad
    )
    # The market's PAIEMENTS shows the statement's link; an AMAP's does not.
    assert (
        f'href="/g/{w["slug"]}/paiements/producteurs"'
        in (await client.get(f"/g/{w['slug']}/paiements")).text
    )
