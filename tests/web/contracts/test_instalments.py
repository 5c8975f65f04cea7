"""« Échéancier »: a fixed contract's payment plan, the cheques the coordinator records
(payments of the ledger settling the subscription's debt), what is still expected per
member and for the contract, the list of cheques to collect; replays, two people at once,
and who may see it."""

from __future__ import annotations

import asyncio

from domain.tables import Operation, Settlement, Subscription
from tests.helpers import login, post_form
from tests.web.contracts.helpers import contract_world, subscribe
from tests.web.contracts.helpers import read as shown
from tests.web.payments.helpers import as_user, key_in

PLAN = {"instalments": "15/01/2027, 15/02/2027, 15/03/2027"}


async def _subscribed(app, client, w, member="m0@example.org", quantities=None):
    member_client = await as_user(app, member)
    await subscribe(member_client, w, quantities or {w["basket"]: 1})
    sub = await Subscription.select().order_by(Subscription.id, ascending=False).first()
    return sub


async def test_a_plan_of_three_cheques_is_recorded_and_followed(app, client):
    w = await contract_world()
    await login(client, "coord@example.org")
    saved = await post_form(client, f"{w['base']}/contrat", PLAN)
    assert "Les conditions du contrat sont enregistrées." in shown(saved)
    sub = await _subscribed(app, client, w)
    page = shown(await client.get(f"{w['base']}/echeancier"))
    # 3 distributions × 60 €: a debt of 180 €, three cheques of 60 € expected.
    assert "Contrat : 180,00 € dû · 0,00 € reçu · 180,00 € attendu" in page
    assert page.count("Attendu") == 3 and "15/01/2027" in page and "15/03/2027" in page
    # The coordinator records the first cheque: a payment settling the subscription's debt.
    url = f"{w['base']}/echeancier/{sub['id']}/cheque"
    form = {"amount": "60", "reference": "1234567", "means": "cheque"}
    key = key_in(await client.get(f"{w['base']}/echeancier"))
    first = await post_form(client, url, form | {"key": key})
    again = await post_form(client, url, form | {"key": key})  # the same form twice
    assert first.status_code == again.status_code == 200
    payments = await Operation.select().where(Operation.kind == "payment")
    assert len(payments) == 1
    assert payments[0]["amount_cents"] == 6000 and payments[0]["reference"] == "1234567"
    assert payments[0]["recorded_by"] == w["coordinator"] and payments[0]["means"] == "cheque"
    [link] = await Settlement.select()
    assert link["subject"] == f"subscription:{sub['id']}"
    page = shown(await client.get(f"{w['base']}/echeancier"))
    assert "Contrat : 180,00 € dû · 60,00 € reçu · 120,00 € attendu" in page
    assert "Reçu (n° 1234567)" in page and page.count("Attendu") == 2
    cheques = shown(await client.get(f"{w['base']}/echeancier/cheques"))
    assert "2 chèques" in cheques and "Prénom0 Nom0 2/3 15/02/2027 60,00 €" in cheques
    assert "Prénom0 Nom0 3/3 15/03/2027 60,00 €" in cheques
    # A cheque of another amount: the instalments after it share what is left.
    await post_form(client, url, {"amount": "80", "reference": "1234568"})
    page = shown(await client.get(f"{w['base']}/echeancier"))
    assert "3 15/03/2027 40,00 € Attendu" in page


async def test_two_people_recording_cheques_at_once_both_count(app, client):
    w = await contract_world(members=2)
    await login(client, "coord@example.org")
    await post_form(client, f"{w['base']}/contrat", PLAN)
    first = await _subscribed(app, client, w, "m0@example.org")
    second = await _subscribed(app, client, w, "m1@example.org")
    coordinator = await as_user(app, "coord@example.org")
    admin = await as_user(app, "admin@example.org")
    pages = [await c.get(f"{w['base']}/echeancier") for c in (coordinator, admin)]
    jobs = [
        post_form(
            c,
            f"{w['base']}/echeancier/{s['id']}/cheque",
            {"amount": "60", "reference": ref, "key": key_in(p)},
        )
        for c, s, p, ref in (
            (coordinator, first, pages[0], "1"),
            (admin, second, pages[1], "2"),
        )
    ]
    answers = await asyncio.gather(*jobs)
    assert all(a.status_code in (200, 303) for a in answers)
    assert await Operation.count().where(Operation.kind == "payment") == 2
    page = shown(await client.get(f"{w['base']}/echeancier"))
    assert "Contrat : 360,00 € dû · 120,00 € reçu · 240,00 € attendu" in page
    # Two at once for the same member: both cheques count.
    pages = [await c.get(f"{w['base']}/echeancier") for c in (coordinator, admin)]
    answers = await asyncio.gather(
        *(
            post_form(c, f"{w['base']}/echeancier/{first['id']}/cheque", {"amount": "60", "key": k})
            for c, k in ((coordinator, key_in(pages[0])), (admin, key_in(pages[1])))
        )
    )
    assert await Operation.count().where(Operation.kind == "payment") == 4
    page = shown(await client.get(f"{w['base']}/echeancier"))
    assert "Contrat : 360,00 € dû · 240,00 € reçu · 120,00 € attendu" in page


async def test_bad_cheques_are_refused_at_their_field_and_record_nothing(app, client):
    w = await contract_world()
    await login(client, "coord@example.org")
    sub = await _subscribed(app, client, w)
    url = f"{w['base']}/echeancier/{sub['id']}/cheque"
    for form, message in (
        ({"amount": "-5"}, "Indiquez un montant en euros"),
        ({"amount": "²"}, "Indiquez un montant en euros"),
        ({"amount": "60", "paid_on": "2999-01-01"}, "La date ne peut pas être dans le futur."),
        ({"amount": "60", "means": "bitcoin"}, "Choisissez le moyen de paiement."),
    ):
        response = await post_form(client, url, form)
        assert response.status_code == 422 and message in shown(response), form
    bad = await post_form(client, f"{w['base']}/contrat", {"instalments": "15/13/2027"})
    assert bad.status_code == 422 and "n'est pas une date" in shown(bad)
    bad = await post_form(client, f"{w['base']}/contrat", {"instalments": "15/02/2027 15/01/2027"})
    assert bad.status_code == 422 and "dans l'ordre" in shown(bad)
    assert await Operation.count().where(Operation.kind == "payment") == 0


async def test_only_the_contracts_coordinator_and_admins_see_and_record(app, client):
    w = await contract_world()
    sub = await _subscribed(app, client, w)
    plan, cheque = f"{w['base']}/echeancier", f"{w['base']}/echeancier/{sub['id']}/cheque"
    for email, status in (
        ("m1@example.org", 403),  # a member
        ("coord2@example.org", 403),  # another contract's coordinator
        ("other@example.org", 403),  # another group's admin
    ):
        other = await as_user(app, email)
        assert (await other.get(plan)).status_code == status, email
        assert (await other.get(f"{w['base']}/contrat")).status_code == status, email
        assert (await post_form(other, cheque, {"amount": "60"})).status_code == status
    # Another group's admin through their own group's URL: not found.
    other = await as_user(app, "other@example.org")
    crafted = f"/g/{w['other_slug']}/catalogues/{w['catalog']}/echeancier"
    assert (await other.get(crafted)).status_code == 404
    assert (
        await post_form(other, f"{crafted}/{sub['id']}/cheque", {"amount": "1"})
    ).status_code == 404
    # A subscription of another contract through this contract's URL: not found.
    await login(client, "coord2@example.org")
    choc = f"/g/{w['slug']}/catalogues/{w['chocolate']}/echeancier/{sub['id']}/cheque"
    assert (await post_form(client, choc, {"amount": "60"})).status_code == 404
    assert await Operation.count().where(Operation.kind == "payment") == 0
    # The coordinator and the admin may.
    for email in ("coord@example.org", "admin@example.org"):
        allowed = await as_user(app, email)
        assert (await allowed.get(plan)).status_code == 200


async def test_the_plan_shows_fifty_subscriptions_a_page_with_the_contracts_totals(app, client):
    from domain.demo import world as build

    w = await contract_world()
    await login(client, "coord@example.org")
    await post_form(client, f"{w['base']}/contrat", PLAN)
    people = await build.people(
        54, email="p{i}@example.org", first_name="Prénom{i}", last_name="Abel{i:03d}", start=10
    )
    await build.join(w["group"]["id"], people)
    season = build.season()
    for person in people:
        await build.subscription(person, w["catalog"], **season, lines={w["basket"]: 1})
    last = await _subscribed(app, client, w, "m0@example.org")  # Nom0: the 55th, on page 2
    first_page = await client.get(f"{w['base']}/echeancier")
    assert first_page.text.count('<section class="card" id="s') == 50
    text = shown(first_page)
    assert "Souscriptions 1 à 50 sur 55." in text and "Page 1 sur 2" in text
    assert "Contrat : 180,00 € dû" in text and "Suivantes" in text
    second = await client.get(f"{w['base']}/echeancier?page=2")
    assert second.text.count('<section class="card" id="s') == 5
    assert "Souscriptions 51 à 55 sur 55." in shown(second) and "Précédentes" in shown(second)
    assert "Contrat : 180,00 € dû" in shown(second)
    beyond = await client.get(f"{w['base']}/echeancier?page=99")
    assert "Page 2 sur 2" in shown(beyond)
    # A refused cheque is shown on the page of its subscription, at its field.
    url = f"{w['base']}/echeancier/{last['id']}/cheque"
    refused = await post_form(client, url, {"amount": "-1"})
    assert refused.status_code == 422 and f'id="s{last["id"]}"' in refused.text
    assert "Indiquez un montant en euros" in shown(refused) and "Page 2 sur 2" in shown(refused)
    # A cheque recorded from page 2 comes back to page 2.
    done = await post_form(client, url, {"amount": "60", "page": "2"}, follow_redirects=False)
    assert done.headers["location"].endswith(f"/echeancier?page=2#s{last['id']}")
    # The list of cheques to print has them all: 3 of the member with a debt.
    cheques = shown(await client.get(f"{w['base']}/echeancier/cheques"))
    assert "2 chèques" in cheques


async def test_the_plan_costs_the_same_queries_whatever_the_subscriptions(app, client):
    """Subscriptions, accounts and settlements read by subqueries: the ÉCHÉANCIER and the
    list of cheques cost as many queries with 3 subscriptions as with 30."""
    from domain.demo import world as build
    from tests.helpers import QueryCounter

    w = await contract_world()
    await login(client, "coord@example.org")
    await post_form(client, f"{w['base']}/contrat", PLAN)
    season = build.season()
    counts = []
    made = 0
    for size in (3, 30):
        people = await build.people(
            size - made, email="q{i}@example.org", first_name="P{i}", last_name="N{i}", start=made
        )
        made = size
        await build.join(w["group"]["id"], people)
        for person in people:
            await build.subscription(person, w["catalog"], **season, lines={w["basket"]: 1})
        seen = []
        for tail in ("", "/cheques"):
            with QueryCounter() as counter:
                assert (await client.get(f"{w['base']}/echeancier{tail}")).status_code == 200
            seen.append(counter.count)
        counts.append(seen)
    assert counts[0] == counts[1], counts
