"""The demo data of `./dev run`: a newcomer sees groups with distributions and orders."""

from __future__ import annotations

from domain.demo import seed_demo
from domain.tables import Distribution, Order, OrderLine, User


async def test_demo_data_fills_an_empty_database_once():
    message = await seed_demo()
    assert "Données de démonstration ajoutées" in message
    users, orders = await User.count(), await Order.count()
    assert orders > 0 and await OrderLine.count() > orders
    assert await Distribution.count() == 14
    again = await seed_demo()
    assert "déjà remplie" in again
    assert (await User.count(), await Order.count()) == (users, orders)


async def test_demo_orders_totals_match_their_lines():
    await seed_demo()
    lines = await OrderLine.select(OrderLine.order, OrderLine.quantity, OrderLine.unit_price_cents)
    totals: dict[int, int] = {}
    for line in lines:
        totals[line["order"]] = (
            totals.get(line["order"], 0) + line["quantity"] * line["unit_price_cents"]
        )
    for order in await Order.select(Order.id, Order.total_cents):
        assert order["total_cents"] == totals[order["id"]]
