"""Debts arise with what they are the debts of, in the same transaction, and follow it: a
validated order, its changes, the coordinator's corrections, the quantities handed over at
the distribution (its validation record, used once), a subscription, a deleted order, an
adhésion. Each change is a new operation; none is ever edited."""

from __future__ import annotations

import asyncio
import json
from datetime import date

from domain import subscriptions
from domain.demo import world as build
from domain.members import consent
from domain.payments import ledger
from domain.tables import (
    Catalog,
    Distribution,
    Group,
    Membership,
    MembershipFee,
    Operation,
    Order,
    OrderLine,
    Subscription,
    ValidationRecord,
    ValidationUse,
)
from tests.helpers import login, post_form
from tests.web.payments.helpers import (
    as_user,
    balance,
    key_in,
    market,
    ops_of,
    shown,
    start_distribution,
)


async def test_validating_an_order_makes_its_debt_and_changes_follow_it(app, client):
    w = await market(1)
    member = w["members"][0]
    p1, p2, _ = w["products"]
    await login(client, "m0@example.org")
    # A basket not validated owes nothing.
    await post_form(client, w["url"], {f"q{p1}": "2", "key": "k1"})
    assert await ops_of(member) == []
    await post_form(client, w["url"], {f"q{p1}": "2", "key": "k2", "valider": "1"})
    [debt] = await ops_of(member)
    order = await Order.select().where(Order.user == member).first()
    assert (debt["kind"], debt["amount_cents"], debt["subject"]) == (
        "order",
        -300,
        f"order:{order['id']}",
    )
    assert debt["label"].startswith("Commande du ") and debt["distribution"] == w["distribution"]
    # The same validation again (a double tap) changes nothing.
    await post_form(client, w["url"], {f"q{p1}": "2", "key": "k2", "valider": "1"})
    assert len(await ops_of(member)) == 1
    # A + on the validated order: one more operation for the difference, the first kept.
    await post_form(client, f"{w['url']}/ligne/{p2}", {"delta": "1", "k": "t1"}, htmx=True)
    ops = await ops_of(member)
    assert [o["amount_cents"] for o in ops] == [-300, -151]
    assert ops[1]["label"].endswith("– modifiée") and ops[1]["subject"] == debt["subject"]
    assert (
        await balance(member, w["group"]["id"])
        == -(300 + 151)
        == -order_total(await Order.select().where(Order.user == member).first())
    )
    # Removing everything cancels the debt (the order stays, empty).
    await post_form(client, f"{w['url']}/ligne/{p1}", {"q": "0", "k": "t2"}, htmx=True)
    await post_form(client, f"{w['url']}/ligne/{p2}", {"q": "0", "k": "t3"}, htmx=True)
    assert await balance(member, w["group"]["id"]) == 0
    assert len(await ops_of(member)) == 4


def order_total(order: dict) -> int:
    return order["total_cents"]


async def test_the_coordinators_correction_and_the_distribution_validation_correct_the_debt(
    app, client
):
    w = await market(2)
    p1, p2, _ = w["products"]
    a, b = w["members"]
    for email, basket in (("m0@example.org", {p1: 2, p2: 1}), ("m1@example.org", {p1: 1})):
        member_client = await as_user(app, email)
        form = {f"q{p}": str(q) for p, q in basket.items()}
        await post_form(member_client, w["url"], form | {"key": email, "valider": "1"})
    assert await balance(a, w["group"]["id"]) == -(300 + 151)
    await login(client, "admin@example.org")
    # COMMANDES: the catalog's manager corrects a's line of p2 to 3.
    line = (
        await OrderLine.select()
        .where((OrderLine.order.user == a) & (OrderLine.product == p2))
        .first()
    )
    date_url = f"/g/{w['slug']}/catalogues/{w['catalog']}/commandes/{w['distribution']}"
    await post_form(client, f"{date_url}/lignes/{line['id']}", {"quantite": "3"}, htmx=True)
    ops = await ops_of(a)
    assert ops[-1]["amount_cents"] == -302 and ops[-1]["label"].endswith("– corrigée")
    assert ops[-1]["recorded_by"] == w["admin"]
    # Valider la distribution: b's line not handed over (0), a's as it is.
    await start_distribution(w["distribution"])
    b_line = await OrderLine.select().where(OrderLine.order.user == b).first()
    url = f"/g/{w['slug']}/distributions/{w['distribution']}/valider"
    done = await post_form(
        client, url, {f"q{b_line['id']}": "0", "action": "valider"}, follow_redirects=False
    )
    assert done.status_code == 303, shown(done)
    b_ops = await ops_of(b)
    assert [o["amount_cents"] for o in b_ops] == [-150, 150]
    assert b_ops[-1]["label"].endswith("– quantités remises")
    assert b_ops[-1]["recorded_by"] == w["admin"]
    assert len(await ops_of(a)) == 2  # nothing changed for a at the validation
    record = await ValidationRecord.select().first()
    uses = await ValidationUse.select().where(ValidationUse.consumer == ledger.CONSUMER)
    assert [u["record"] for u in uses] == [record["id"]]
    # Used once: the sweep, or a second use, find it used and add nothing.
    assert await ledger.sweep_validations() == 0
    content = json.loads(record["content"])
    assert await ledger.use_validation(record | {"content": content}) is False
    assert len(await ops_of(b)) == 2


async def test_a_record_no_validation_used_is_used_by_the_sweep_once(app):
    """Written by another path (or before a crash of the ledger's part): the scheduler's
    sweep uses it, once."""
    w = await market(1)
    member = w["members"][0]
    p1 = w["products"][0]
    client = await as_user(app, "m0@example.org")
    await post_form(client, w["url"], {f"q{p1}": "4", "key": "k", "valider": "1"})
    order = await Order.select().where(Order.user == member).first()
    content = {
        "orders": [
            {
                "order": order["id"],
                "user": member,
                "absent": False,
                "total_cents": 300,
                "lines": [
                    {
                        "product": p1,
                        "quantity": 2,
                        "unit_price_cents": 150,
                        "catalog": w["catalog"],
                        "subscription": None,
                    }
                ],
            }
        ]
    }
    await ValidationRecord.insert(
        ValidationRecord(distribution=w["distribution"], content=json.dumps(content))
    )
    assert await ledger.sweep_validations() == 1
    assert await ledger.sweep_validations() == 0
    assert [o["amount_cents"] for o in await ops_of(member)] == [-600, 300]


async def test_validation_with_the_ledger_off_makes_no_debt(app, client):
    """A solidarity grocery (its beneficiaries pay at the Escarcelle till): off by
    default, no debt arises; the record is used all the same (nothing to do)."""
    w = await market(1, kind="grocery")
    client = await as_user(app, "m0@example.org")
    p1 = w["products"][0]
    await post_form(client, w["url"], {f"q{p1}": "1", "key": "k", "valider": "1"})
    assert (await Order.select().first())["state"] == "validated"
    assert await Operation.select() == []


async def test_a_subscription_is_one_debt_that_follows_its_basket(app, client):
    w = await market(1, kind="amap")
    await Catalog.update({Catalog.kind: "fixed"}).where(Catalog.id == w["catalog"])
    other = await build.distribution(
        w["group"]["id"],
        w["place"],
        (await _starts(w["distribution"])) + build.WEEK,
        catalogs=[w["catalog"]],
    )
    member = w["members"][0]
    p1, p2, _ = w["products"]
    await login(client, "m0@example.org")
    url = f"/g/{w['slug']}/contrats/{w['catalog']}"
    response = await post_form(client, url, {f"q{p1}": "2"})
    assert "Votre souscription est enregistrée." in response.text
    [debt] = await ops_of(member)
    assert debt["kind"] == "subscription" and debt["amount_cents"] == -2 * 300
    assert debt["label"] == "Souscription : Légumes (Ferme du Test)"
    assert len(await Order.select().where(Order.user == member)) == 2  # no order debt
    await post_form(client, url, {f"q{p1}": "1", f"q{p2}": "1"})
    ops = await ops_of(member)
    assert [o["amount_cents"] for o in ops] == [-600, 600 - 2 * 301]
    assert ops[1]["label"] == "Souscription : Légumes (Ferme du Test) – souscription modifiée"
    # Ended by the coordinator: the coming baskets go, and so does their part of the debt.
    await login(client, "admin@example.org")
    sub = await Subscription.select().first()
    ended = await post_form(
        client, f"/g/{w['slug']}/catalogues/{w['catalog']}/souscriptions/{sub['id']}/terminer"
    )
    assert ended.status_code in (200, 303)
    assert await balance(member, w["group"]["id"]) == 0
    assert other


async def _starts(distribution_id: int):
    row = await Distribution.select().where(Distribution.id == distribution_id).first()
    return row["starts_at"]


async def test_an_adhesion_is_a_debt_and_its_payment(app, client):
    w = await market(1, kind="amap")
    member = w["members"][0]
    await login(client, "admin@example.org")
    page = await client.get(f"/g/{w['slug']}/membres/adhesions?annee=2026")
    form = {
        "user_id": str(member),
        "year": "2026",
        "amount": "15",
        "paid_on": "2026-01-10",
        "means": "cheque",
        "key": key_in(page),
    }
    await post_form(client, f"/g/{w['slug']}/membres/adhesions", form)
    await post_form(client, f"/g/{w['slug']}/membres/adhesions", form)  # double click
    fee = await MembershipFee.select().first()
    debt, payment = await ops_of(member)
    assert (debt["kind"], debt["amount_cents"], debt["label"]) == (
        "membership",
        -1500,
        "Adhésion 2026",
    )
    assert (payment["kind"], payment["amount_cents"], payment["means"]) == (
        "payment",
        1500,
        "cheque",
    )
    assert debt["subject"] == payment["subject"] == f"fee:{fee['id']}"
    assert payment["paid_on"] == date(2026, 1, 10) and payment["recorded_by"] == w["admin"]
    assert await balance(member, w["group"]["id"]) == 0


async def test_a_declined_membership_cancels_the_debts_of_its_deleted_orders(app):
    """An admin subscribed an added account to a contract; the person declines the
    group: their coming orders are deleted, and an operation cancels the debt."""
    w = await market(0, kind="amap")
    await Catalog.update({Catalog.kind: "fixed"}).where(Catalog.id == w["catalog"])
    person = await build.person("lou@example.org", "Lou", "Refus")
    await build.join(w["group"]["id"], person)
    await Membership.update(
        {Membership.existing_account: True, Membership.accepted_at: None}
    ).where(Membership.user == person)
    await subscriptions.subscribe(
        group_id=w["group"]["id"],
        catalog_id=w["catalog"],
        user_id=person,
        quantities={w["products"][0]: "1"},
    )
    assert await balance(person, w["group"]["id"]) == -150
    membership = await Membership.select().where(Membership.user == person).first()
    links = consent.answer_links(
        membership["id"], person, w["group"]["id"], "test-secret-key-0123456789abcdef", ""
    )
    token = links["decline_url"].split("/adhesion/")[1].split("/")[0]
    await consent.decline(token, "test-secret-key-0123456789abcdef")
    assert await Order.select().where(Order.user == person) == []
    ops = await ops_of(person)
    assert [o["amount_cents"] for o in ops] == [-150, 150]
    assert ops[1]["label"].endswith("– supprimée")
    assert (await Group.select().first())["id"] == w["group"]["id"]


async def test_taps_at_once_on_a_validated_order_leave_the_debt_equal_to_the_order(app):
    """Each tap adds its difference once, whatever runs at the same time (the account is
    locked while a debt follows its order)."""
    w = await market(1)
    member = w["members"][0]
    p1, p2, p3 = w["products"]
    client = await as_user(app, "m0@example.org")
    await post_form(client, w["url"], {f"q{p1}": "1", "key": "v", "valider": "1"})
    taps = [
        post_form(client, f"{w['url']}/ligne/{p}", {"delta": "1", "k": f"t{n}"}, htmx=True)
        for n, p in enumerate([p1, p2, p3, p1, p2, p3, p1, p2])
    ]
    await asyncio.gather(*taps)
    order = await Order.select().where(Order.user == member).first()
    assert order["total_cents"] == 4 * 150 + 3 * 151 + 2 * 152
    assert await balance(member, w["group"]["id"]) == -order["total_cents"]


async def test_corrections_saved_on_the_validation_screen_correct_the_debt(app, client):
    w = await market(1)
    member = w["members"][0]
    p1 = w["products"][0]
    shopper = await as_user(app, "m0@example.org")
    await post_form(shopper, w["url"], {f"q{p1}": "3", "key": "v", "valider": "1"})
    await start_distribution(w["distribution"])
    await login(client, "admin@example.org")
    line = await OrderLine.select().first()
    url = f"/g/{w['slug']}/distributions/{w['distribution']}/valider"
    saved = await post_form(client, url, {f"q{line['id']}": "1", "action": "enregistrer"})
    assert "Corrections enregistrées." in shown(saved)
    ops = await ops_of(member)
    assert [o["amount_cents"] for o in ops] == [-450, 300]
    assert ops[1]["label"].endswith("– corrigée à la distribution")
    # Validated afterwards: the record says what the debt already is, nothing more.
    await post_form(client, url, {"action": "valider", "key": "k"})
    assert len(await ops_of(member)) == 2


async def test_deleting_ones_account_cancels_the_debt_of_an_order_it_deletes(app, client):
    """The account goes, the group's accounts stay under the placeholder: an order still
    open is deleted with it, so its debt is cancelled, not left owing."""
    from domain.kernel import clock
    from domain.privacy import deletion

    w = await market(1)
    member = w["members"][0]
    p1 = w["products"][0]
    await login(client, "m0@example.org")
    await post_form(client, w["url"], {f"q{p1}": "2", "key": "k1", "valider": "1"})
    [debt] = await ops_of(member)
    assert debt["amount_cents"] == -300
    placeholder = await deletion.delete_account(member, clock.now())
    assert placeholder is not None
    assert not await Order.exists().where(Order.distribution == w["distribution"])
    ops = await ops_of(placeholder, w["group"]["id"])
    assert [o["amount_cents"] for o in ops] == [-300, 300]
    assert await balance(placeholder, w["group"]["id"]) == 0
