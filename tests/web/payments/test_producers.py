"""A market's statement per producer over a period: ordered, paid, still to pay, by
distribution, as a page and an Excel-ready CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from domain.demo import world as build
from domain.kernel.clock import now
from domain.kernel.dates import paris_day
from domain.producer_space import products as space_products
from domain.tables import Distribution, Product
from tests.helpers import PASSWORD, login, post_form
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


async def test_a_product_of_the_producer_list_counts_for_the_catalog_it_was_ordered_in(app, client):
    """One product of a producer space, one stock, offered by the producer's catalogs in two
    markets and ordered in both: each market's statement counts its own orders, for its
    own catalog's vendor."""
    w = await market(2)
    jean = await build.person("jean@example.org", "Jean", "Saules")
    other = await build.distribution_world(w["admin"], name="Marché du Port")
    buyer = await build.person("port@example.org", "Pia", "Port", password=PASSWORD)
    await build.join(other["group"]["id"], [buyer])
    catalogs = []
    for world in (w, other):
        vendor = await build.producer(world["group"]["id"], "Ferme des Saules", user=jean)
        catalogs.append(
            await build.catalog(
                world["group"]["id"], vendor, "Miel", delivers=[world["distribution"]]
            )
        )
    space = await build.space_of(vendor)
    [honey] = await Product.insert(
        Product(catalog=None, producer=space, name="Miel 500G", price_cents=700, stock=20)
    ).returning(Product.id)
    for catalog in catalogs:
        await space_products.add_to_catalog(space, [honey["id"]], catalog)
    p1 = w["products"][0]
    for email, quantity in (("m0@example.org", "2"), ("m1@example.org", "1")):
        member = await as_user(app, email)
        done = await post_form(
            member,
            w["url"],
            {f"q{honey['id']}": quantity, f"q{p1}": "1", "key": email, "valider": "1"},
            follow_redirects=False,
        )
        assert done.status_code == 303, done.text
    port = await as_user(app, "port@example.org")
    done = await post_form(
        port,
        other["url"],
        {f"q{honey['id']}": "4", "key": "port", "valider": "1"},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    stock = await Product.select(Product.stock).where(Product.id == honey["id"]).first()
    assert stock["stock"] == 20 - 2 - 1 - 4  # one stock for both markets
    start = paris_day(now()) - timedelta(days=1)
    end = paris_day(now()) + timedelta(days=30)
    await login(client, "admin@example.org")

    async def rows_of(slug: str) -> list[list[str]]:
        exported = await client.get(f"/g/{slug}/paiements/producteurs.csv?du={start}&au={end}")
        assert exported.status_code == 200, exported.text
        text = exported.content.decode("utf-8-sig")
        return list(csv.reader(io.StringIO(text), delimiter=";"))[1:]

    here = await rows_of(w["slug"])
    assert [r for r in here if r[1] == "Total"] == [
        ["Ferme des Saules", "Total", "2", "21,00", "0,00", "21,00"],  # 3 honey, here only
        ["Ferme du Test", "Total", "2", "3,00", "0,00", "3,00"],
    ]
    there = await rows_of(other["group"]["slug"])
    assert [r for r in there if r[1] == "Total"] == [
        ["Ferme des Saules", "Total", "1", "28,00", "0,00", "28,00"],
    ]
    page = shown(await client.get(f"/g/{w['slug']}/paiements/producteurs?du={start}&au={end}"))
    assert "Tous producteurs : 24,00\xa0€ commandés" in page
