"""A "+" on a validated order: its debt follows (one operation for the difference, as
`ledger.follow` writes it) and its recap mail is rewritten, in the change's transaction;
on PostgreSQL one statement more than a draft's "+" (the debt and the mail together)."""

from __future__ import annotations

from domain import subscriptions
from domain.database import is_sqlite, transaction
from domain.demo import world as build
from domain.payments import ledger
from domain.tables import MailOptOut, Operation, Order, OrderLine, OutboxMail
from tests.helpers import QueryCounter, login, post_form
from tests.web.payments.helpers import balance, market, ops_of


async def validated(client, w: dict, lines: dict[int, int]) -> dict:
    form = {f"q{p}": str(q) for p, q in lines.items()}
    await post_form(client, w["url"], form | {"key": "v", "valider": "1"})
    order = await Order.select().first()
    assert order["state"] == "validated"
    return order


async def plus(client, w: dict, product: int, key: str):
    response = await post_form(
        client, f"{w['url']}/ligne/{product}", {"delta": "1", "k": key}, htmx=True
    )
    assert response.status_code == 200 and 'role="alert"' not in response.text
    return response


async def nothing_left_to_follow(order_id: int) -> bool:
    """`ledger.follow` of the order, run again, finds its debts right already."""
    async with transaction():
        return await ledger.follow([order_id]) == []


async def recaps(user_id: int) -> list[dict]:
    return (
        await OutboxMail.select()
        .where((OutboxMail.user == user_id) & (OutboxMail.kind == "order_recap"))
        .order_by(OutboxMail.id)
    )


async def test_a_plus_on_a_validated_order_costs_one_statement_more_than_a_draft_s(client):
    w = await market(1)
    member = w["members"][0]
    p1, p2, p3 = w["products"]
    await login(client, "m0@example.org")
    order = await validated(client, w, {p1: 2})
    await plus(client, w, p2, "warm")  # statement caches, templates
    with QueryCounter() as rewritten:  # the burst's recap waits still: rewritten
        await plus(client, w, p2, "t1")
    await OutboxMail.update({OutboxMail.state: "sent"}).where(OutboxMail.kind == "order_recap")
    with QueryCounter() as started:  # the recap went: the next change starts another
        await plus(client, w, p3, "t2")
    if not is_sqlite():
        assert (rewritten.count, started.count) == (6, 6)

    ops = await ops_of(member)
    assert [o["amount_cents"] for o in ops] == [-300, -151, -151, -152]
    first = ops[0]
    for op in ops[1:]:
        assert op["label"] == f"{first['label']} – modifiée"
        assert (op["kind"], op["subject"], op["group"]) == (
            "order",
            first["subject"],
            first["group"],
        )
        assert (op["distribution"], op["recorded_by"]) == (w["distribution"], None)
        assert (op["means"], op["reference"], op["paid_on"]) == ("", "", None)
    total = (await Order.select().where(Order.id == order["id"]).first())["total_cents"]
    assert total == 2 * 150 + 2 * 151 + 152 == -await balance(member, w["group"]["id"])
    assert await nothing_left_to_follow(order["id"])

    sent, pending = await recaps(member)
    assert sent["state"] == "sent" and pending["state"] == "pending"
    assert sent["key"].startswith(f"recap:{order['id']}:") != (sent["key"] == pending["key"])
    assert pending["key"].startswith(f"recap:{order['id']}:") and pending["send_after"]
    text = pending["body_text"].replace("\xa0", " ")
    lines = [line for line in text.splitlines() if line.startswith("- ")]
    assert lines == [
        "- 2 × Produit 000 (Ferme du Test · 1,50 €) : 3,00 €",
        "- 2 × Produit 001 (Ferme du Test · 1,51 €) : 3,02 €",
        "- 1 × Produit 002 (Ferme du Test · 1,52 €) : 1,52 €",
    ]
    assert "Total : 7,54 €" in text and pending["subject"].startswith("Votre commande du ")
    assert "2 × Produit 001" in sent["body_text"] and "Produit 002" not in sent["body_text"]


async def test_a_member_without_recaps_still_has_the_debt_follow(client):
    w = await market(1)
    member = w["members"][0]
    p1, p2, _ = w["products"]
    await MailOptOut.insert(MailOptOut(user=member, kind="order_recap"))
    await login(client, "m0@example.org")
    order = await validated(client, w, {p1: 1})
    await plus(client, w, p2, "t1")
    assert [o["amount_cents"] for o in await ops_of(member)] == [-150, -151]
    assert await recaps(member) == []
    assert await nothing_left_to_follow(order["id"])


async def test_an_order_with_a_basket_has_both_debts_follow(client):
    """A fixed contract's basket in the order is the subscription's debt, not the order's:
    the order's debt follows its other lines, the subscription's stays its basket's."""
    w = await market(1, kind="amap")
    member = w["members"][0]
    p1, p2, _ = w["products"]
    baskets = await build.catalog(
        w["group"]["id"], w["vendor"], "Paniers", kind="fixed", **build.season()
    )
    await build.deliver(baskets, [w["distribution"]])
    basket = await build.product(baskets, "Panier", 1000)
    await login(client, "m0@example.org")
    order = await validated(client, w, {p1: 2})
    await subscriptions.subscribe(
        group_id=w["group"]["id"], catalog_id=baskets, user_id=member, quantities={basket: "1"}
    )
    assert len(await OrderLine.select().where(OrderLine.order == order["id"])) == 2
    await plus(client, w, p2, "t1")
    by_kind: dict[str, list[int]] = {}
    for op in await ops_of(member):
        by_kind.setdefault(op["kind"], []).append(op["amount_cents"])
    assert by_kind == {"subscription": [-1000], "order": [-300, -151]}, by_kind
    assert await nothing_left_to_follow(order["id"])
    assert await Operation.count() == 3
