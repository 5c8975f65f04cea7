"""Cancelling a declared absence (MES CONTRATS → Mes absences): up to the same deadline and
while the distribution's orders are open, the basket comes back (its stock taken again),
the subscription's debt and the cheques still expected follow back; refused past the
deadline, once the orders closed, or when the stock no longer allows the basket, with a
French message and nothing changed; the same form twice is one change."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from domain.kernel import clock
from domain.tables import Absence, Distribution, Operation, Order, OrderLine, Product
from tests.helpers import login, post_form
from tests.web.contracts.helpers import contract_world, read, subscribe
from tests.web.contracts.test_absences import _terms
from tests.web.payments.helpers import as_user, key_in


def _urls(w) -> tuple[str, str]:
    url = f"/g/{w['slug']}/contrats/{w['catalog']}/absences"
    return url, url + "/annuler"


async def _stock(w) -> dict[int, int]:
    return {p["id"]: p["stock"] for p in await Product.select()}


async def _declared(client, w, dist) -> None:
    url, _ = _urls(w)
    done = await post_form(client, url, {f"d{dist}": "1"})
    assert "1 absence enregistrée" in read(done)


async def _snapshot() -> tuple:
    return (
        await Absence.select(Absence.distribution).order_by(Absence.id),
        await OrderLine.select(OrderLine.order, OrderLine.quantity).order_by(OrderLine.id),
        await Operation.select(Operation.amount_cents).order_by(Operation.id),
        await Product.select(Product.stock).order_by(Product.id),
    )


async def test_a_cancelled_absence_gives_the_basket_and_the_debt_back_once(app, client):
    w = await contract_world(stock=10)
    await _terms(app, w)
    await login(client, "m0@example.org")
    await subscribe(client, w, {w["basket"]: 1, w["eggs"]: 1})
    _, second, _ = w["distributions"]
    await _declared(client, w, second)
    assert await _stock(w) == {w["basket"]: 8, w["eggs"]: 8}
    url, cancel = _urls(w)
    page = await client.get(url)
    assert "Vos absences" in read(page) and "Annuler cette absence" in read(page)
    key = key_in(page)
    # The same form sent twice at once, then again: one change.
    answers = await asyncio.gather(
        post_form(client, cancel, {"d": str(second), "key": key}),
        post_form(client, cancel, {"d": str(second), "key": key}),
    )
    assert all(a.status_code == 200 for a in answers)
    assert any(
        "Absence annulée : votre panier de cette distribution est rétabli." in read(a)
        for a in answers
    )
    again = await post_form(client, cancel, {"d": str(second), "key": key})
    assert again.status_code == 200
    assert await Absence.count() == 0
    order = await Order.select().where(Order.distribution == second).first()
    assert order["state"] == "validated" and order["total_cents"] == 6300
    lines = await OrderLine.select().where(OrderLine.order == order["id"])
    assert sorted((x["product"], x["quantity"]) for x in lines) == sorted(
        [(w["basket"], 1), (w["eggs"], 1)]
    )
    assert await _stock(w) == {w["basket"]: 7, w["eggs"]: 7}
    ops = await Operation.select().order_by(Operation.id)
    assert [o["amount_cents"] for o in ops] == [-18900, 6300, -6300]
    assert ops[2]["label"].endswith("– absence annulée")
    assert ops[2]["recorded_by"] == w["members"][0]
    tab = read(await client.get(f"/g/{w['slug']}/contrats"))
    assert tab.count("63,00 € encaissé") == 3 and "Déclarer mes absences 0 sur 2" in tab
    # Not one of their absences (any more): refused, nothing changed.
    before = await _snapshot()
    refused = await post_form(client, cancel, {"d": str(second)})
    assert refused.status_code == 422
    assert "Cette distribution n'est pas une de vos absences." in read(refused)
    refused = await post_form(client, cancel, {"d": "abc"})
    assert refused.status_code == 422 and "Choisissez l'absence à annuler." in read(refused)
    assert await _snapshot() == before


async def test_refused_past_the_deadline_once_closed_or_without_the_stock(app, client):
    w = await contract_world(stock=10)
    await _terms(app, w)
    await login(client, "m0@example.org")
    await subscribe(client, w, {w["basket"]: 1})
    first, second, third = w["distributions"]
    await _declared(client, w, first)
    await _declared(client, w, second)
    _, cancel = _urls(w)
    # The first distribution's orders closed: too late for it.
    await Distribution.update(
        {Distribution.orders_close_at: clock.now() - timedelta(hours=1)}
    ).where(Distribution.id == first)
    before = await _snapshot()
    refused = await post_form(client, cancel, {"d": str(first)})
    assert refused.status_code == 422
    assert "Trop tard pour annuler l'absence du" in read(refused)
    assert "ses commandes sont fermées." in read(refused)
    # The stock no longer allows the basket: the absence stays.
    await Product.update({Product.stock: 0}).where(Product.id == w["basket"])
    before = await _snapshot()
    refused = await post_form(client, cancel, {"d": str(second)})
    assert refused.status_code == 422
    assert "Votre panier ne peut pas être refait : Panier : Épuisé : il n'en reste plus." in read(
        refused
    )
    assert await _snapshot() == before
    await Product.update({Product.stock: 5}).where(Product.id == w["basket"])
    # Past the deadline.
    yesterday = clock.now().date() - timedelta(days=1)
    await _terms(app, w, absences_deadline=str(yesterday))
    refused = await post_form(client, cancel, {"d": str(second)})
    assert refused.status_code == 422
    assert f"La date limite pour modifier vos absences était le {yesterday:%d/%m/%Y}." in read(
        refused
    )
    assert len((await _snapshot())[0]) == 2


async def test_a_variable_contracts_absence_is_cancelled_without_a_basket(app, client):
    w = await contract_world(kind="variable")
    await _terms(app, w, instalments="")
    await login(client, "m0@example.org")
    first, second, _ = w["distributions"]
    await post_form(
        client, f"/g/{w['slug']}/commandes/{first}", {f"q{w['eggs']}": "1", "valider": "1"}
    )
    await _declared(client, w, second)
    _, cancel = _urls(w)
    done = await post_form(client, cancel, {"d": str(second)})
    assert "commandez pour cette distribution depuis COMMANDES" in read(done)
    assert await Absence.count() == 0
    assert not await Order.exists().where(Order.distribution == second)


async def test_only_the_members_own_absences_are_cancelled(app, client):
    w = await contract_world()
    await _terms(app, w)
    await login(client, "m0@example.org")
    await subscribe(client, w, {w["basket"]: 1})
    _, second, _ = w["distributions"]
    await _declared(client, w, second)
    _, cancel = _urls(w)
    other = await as_user(app, "m1@example.org")  # not subscribed
    assert (await post_form(other, cancel, {"d": str(second)})).status_code == 404
    stranger = await as_user(app, "other@example.org")
    assert (await post_form(stranger, cancel, {"d": str(second)})).status_code == 403
    crafted = f"/g/{w['other_slug']}/contrats/{w['catalog']}/absences/annuler"
    assert (await post_form(stranger, crafted, {"d": str(second)})).status_code == 404
    assert await Absence.count() == 1
