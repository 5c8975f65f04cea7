"""A variable contract's minimums on every way a validated order changes: the minimum per
distribution holds for the + / − taps, a typed quantity and the page without JavaScript
(not only for « Valider ma commande »); the minimum over the contract, pro-rated to the
member's dates, is enforced from the opening of the orders of their last distribution (a
validation there, or a lowering anywhere, that leaves the total below it is refused);
every refusal is a French message at the line, and nothing changes."""

from __future__ import annotations

from datetime import UTC, timedelta

from domain.kernel import clock
from domain.tables import Distribution, Operation, Order, OrderLine, Subscription
from tests.helpers import login, post_form
from tests.web.contracts.helpers import contract_world, read
from tests.web.payments.helpers import as_user

PER_DISTRIBUTION = (
    "Le contrat « Légumes de saison » demande une commande d'au moins 10,00 € par "
    "distribution (votre commande : 9,00 €)."
)


async def _terms(app, w, **form):
    coordinator = await as_user(app, "coord@example.org")
    response = await post_form(coordinator, f"{w['base']}/contrat", form)
    assert "Les conditions du contrat sont enregistrées." in read(response), read(response)


async def _validate(client, w, dist, quantities):
    return await post_form(
        client,
        f"/g/{w['slug']}/commandes/{dist}",
        {f"q{p}": str(q) for p, q in quantities.items()} | {"valider": "1"},
    )


def _line(client, w, dist, product, data):
    url = f"/g/{w['slug']}/commandes/{dist}/ligne/{product}"
    return post_form(client, url, data, htmx=True)


async def _quantities(dist) -> dict[int, int]:
    lines = await OrderLine.select(OrderLine.product, OrderLine.quantity).where(
        OrderLine.order.distribution == dist
    )
    return {line["product"]: line["quantity"] for line in lines}


async def _state() -> tuple:
    """What a refused change must leave as it was: lines, totals, operations."""
    lines = await OrderLine.select(OrderLine.product, OrderLine.quantity).order_by(OrderLine.id)
    orders = await Order.select(Order.state, Order.total_cents).order_by(Order.id)
    ops = await Operation.select(Operation.amount_cents).order_by(Operation.id)
    return lines, orders, ops


async def test_a_validated_order_cannot_go_below_the_minimum_per_distribution(app, client):
    w = await contract_world(kind="variable", stock=20)
    await _terms(app, w, minimum_order="10")
    await login(client, "m0@example.org")
    first = w["distributions"][0]
    eggs = w["eggs"]
    assert (await _validate(client, w, first, {eggs: 4})).status_code in (200, 303)
    before = await _state()
    # A − tap (htmx): refused at the line, the quantity shown as it is.
    refused = await _line(client, w, first, eggs, {"delta": "-1", "k": "tap-1"})
    assert refused.status_code == 200
    assert PER_DISTRIBUTION in read(refused)
    assert f'id="e{eggs}"' in refused.text and f'name="q{eggs}" value="4"' in refused.text
    # A typed quantity (htmx), then the page without JavaScript (its « − » button).
    refused = await _line(client, w, first, eggs, {"q": "3", "k": "typed-1"})
    assert PER_DISTRIBUTION in read(refused)
    page = await post_form(client, f"/g/{w['slug']}/commandes/{first}", {"set": f"{eggs}:3"})
    assert page.status_code == 422
    assert PER_DISTRIBUTION in read(page)
    assert f'<p class="error" id="e{eggs}" role="alert">' in page.text  # at its line
    assert await _state() == before
    assert await _quantities(first) == {eggs: 4}
    # Up is always accepted; nothing of the contract at that date is too (no order of it).
    assert "feraient" not in read(await _line(client, w, first, eggs, {"delta": "1", "k": "t2"}))
    assert await _quantities(first) == {eggs: 5}
    done = await _line(client, w, first, eggs, {"q": "0", "k": "typed-2"})
    assert "demande une commande" not in read(done)
    assert await _quantities(first) == {}
    # A draft order goes below freely: « Valider ma commande » checks it.
    other = await as_user(app, "m1@example.org")
    tapped = await _line(other, w, first, eggs, {"delta": "1", "k": "draft-1"})
    assert "demande une commande" not in read(tapped)
    assert await _quantities(first) == {eggs: 1}


async def _open_every_date(w) -> None:
    await Distribution.update(
        {Distribution.orders_open_at: clock.now() - timedelta(hours=1)}
    ).where(Distribution.id.is_in(w["distributions"]))


async def test_the_minimum_over_the_contract_holds_from_the_last_date(app, client):
    w = await contract_world(kind="variable", stock=50)
    await _terms(app, w, minimum_total="100")
    await login(client, "m0@example.org")
    first, _, last = w["distributions"]
    eggs, basket = w["eggs"], w["basket"]
    assert (await _validate(client, w, first, {eggs: 4})).status_code in (200, 303)  # 12 €
    # The last date's orders not open yet: a lowering is free, there are dates left.
    assert "feraient" not in read(await _line(client, w, first, eggs, {"delta": "-1", "k": "a"}))
    assert await _quantities(first) == {eggs: 3}
    await _line(client, w, first, eggs, {"delta": "1", "k": "b"})
    await _open_every_date(w)
    # At the last date: a validation leaving the total below the minimum is refused.
    refused = await _validate(client, w, last, {basket: 1, eggs: 1})
    assert refused.status_code == 422
    assert (
        "Le contrat « Légumes de saison » demande au moins 100,00 € de commandes sur sa durée"
        in read(refused)
    )
    assert "vos commandes feraient 75,00 €. Commandez davantage." in read(refused)
    assert not await Order.exists().where(
        (Order.distribution == last) & (Order.state == "validated")
    )
    # Validating an earlier date adds to the total: never refused for the minimum.
    second = w["distributions"][1]
    assert (await _validate(client, w, second, {eggs: 1})).status_code in (200, 303)  # 3 €
    done = await _validate(client, w, last, {basket: 1, eggs: 10})  # 12 + 3 + 90 = 105
    assert done.status_code in (200, 303), read(done)[:2000]
    before = await _state()
    # Lowering the last date's order, or an earlier one, below the minimum: refused.
    for dist, count in ((last, "tap-last"), (first, "tap-first")):
        await _line(client, w, dist, eggs, {"q": "9" if dist == last else "2", "k": count})
    # (105 - 3 = 102, then 102 - 6 = 96: the second one is refused)
    assert await _quantities(last) == {basket: 1, eggs: 9}
    assert await _quantities(first) == {eggs: 4}
    refused = await _line(client, w, first, eggs, {"q": "2", "k": "tap-again"})
    assert "vos commandes feraient 96,00 €" in read(refused)
    assert f'id="e{eggs}"' in refused.text
    page = await post_form(client, f"/g/{w['slug']}/commandes/{last}", {"set": f"{basket}:0"})
    assert page.status_code == 422 and "vos commandes feraient 42,00 €" in read(page)
    assert len((await _state())[0]) == len(before[0])
    # MES CONTRATS: the total, the minimum and from when it holds.
    tab = read(await client.get(f"/g/{w['slug']}/contrats"))
    assert "Commandé : 102,00 € sur un minimum de 100,00 € pour le contrat." in tab
    assert "une commande qui laisserait ce total sous le minimum est refusée" in tab


async def test_the_minimum_over_the_contract_is_pro_rated_to_the_members_dates(app, client):
    w = await contract_world(kind="variable", stock=50)
    await _terms(app, w, minimum_total="100")
    await login(client, "m0@example.org")
    first, second, last = w["distributions"]
    await _open_every_date(w)
    await _validate(client, w, second, {w["eggs"]: 1})  # subscribes m0
    start = (await Distribution.select().where(Distribution.id == second).first())["starts_at"]
    await Subscription.update({Subscription.starts_on: start.astimezone(UTC).date()}).where(
        Subscription.user == w["members"][0]
    )
    tab = read(await client.get(f"/g/{w['slug']}/contrats"))
    assert (
        "Commandé : 3,00 € sur un minimum de 66,66 € pour le contrat (au prorata de vos 2 "
        "distributions sur 3) (reste 63,66 € à commander)." in tab
    )
    refused = await _validate(client, w, last, {w["eggs"]: 21})
    assert "demande au moins 66,66 € de commandes" in read(refused)
    assert "vos commandes feraient 66,00 €" in read(refused)
    done = await _validate(client, w, last, {w["eggs"]: 22})
    assert done.status_code in (200, 303)
    assert first not in {o["distribution"] for o in await Order.select(Order.distribution)}
