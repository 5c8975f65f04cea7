"""The client against the simulator of the assumed API, a real process on a free port."""

from __future__ import annotations

import pytest

from connectors import escarcelle as esc
from connectors.escarcelle_simulator import DEMO_KEY, DEMO_NAME


def client(simulator, key: str = DEMO_KEY, **options) -> esc.Client:
    return esc.Client(
        simulator.url, key, timeout=options.pop("timeout", 2), backoff=0.01, **options
    )


async def test_the_contract_through_the_simulator(simulator):
    async with client(simulator) as c:
        assert (await c.me()).name == DEMO_NAME
        products = await c.products_in_stock(per_page=15)
        assert products and all(p.stock > 0 for p in products)
        assert c.calls == 1 + 3  # 36 products in stock of 40, 15 per page
        first = products[0]
        assert await c.stocks([str(first.id), "nope"]) == {str(first.id): first.stock}
        sale = esc.Sale(
            lines=[esc.SaleLine(product_id=str(first.id), quantity=1, unit_price_cents=1)]
        )
        made, created = await c.post_sale(sale, "cle-1")
        again, repeated = await c.post_sale(sale, "cle-1")
        assert (created, repeated, made) == (True, False, again)
    state = simulator.state()
    assert len(state["sales"]) == 1
    assert state["products"][str(first.id)]["stock"] == first.stock - 1


async def test_refusals_and_faults(simulator):
    async with client(simulator, "mauvaise-cle") as c:
        with pytest.raises(esc.Unauthorized):
            await c.me()
    async with client(simulator, retries=1) as c:
        bad = esc.Sale(lines=[esc.SaleLine(product_id="999", quantity=1, unit_price_cents=1)])
        with pytest.raises(esc.Rejected) as raised:
            await c.post_sale(bad, "k")
        assert "999" in raised.value.detail
        simulator.fault("500", count=1)
        assert (await c.me()).name == DEMO_NAME  # retried once
        simulator.fault("429", count=2, retry_after=0)
        with pytest.raises(esc.Unavailable):
            await c.me()
        simulator.fault("malformed", count=1)
        with pytest.raises(esc.Malformed):
            await c.products_page()
    async with client(simulator, retries=0, timeout=0.3) as c:
        simulator.fault("slow", count=1, delay=1.5)
        with pytest.raises(esc.Unavailable) as raised:
            await c.me()
        assert "à temps" in raised.value.message
