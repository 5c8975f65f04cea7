"""Step 4 of seed 002: each linked product's stock becomes Escarcelle's minus what is
reserved here, hourly and on « Synchroniser maintenant », one at a time per grocery, in one
statement that cannot race an order; till sales over what was ordered are reported."""

from __future__ import annotations

import asyncio
import html
import re
from datetime import timedelta

import msgspec

from domain.database import is_sqlite, transaction
from domain.demo import world as build
from domain.escarcelle import stocks
from domain.kernel import clock
from domain.ordering import changes
from domain.tables import EscarcelleLink, OutboxMail, Product
from jobs import broker as jobs_broker
from jobs import escarcelle as escarcelle_jobs
from jobs import scheduler
from tests.helpers import post_form
from tests.stack import wait_until
from tests.web.escarcelle.conftest import linked_grocery

PASTA = "1001"


async def figures(product_id: int) -> tuple:
    row = (
        await Product.select(Product.escarcelle_stock, Product.stock)
        .where(Product.id == product_id)
        .first()
    )
    return row["escarcelle_stock"], row["stock"]


async def order(member: int, w: dict, product_id: int, quantity: int, point: int = 0):
    await build.order(member, w["points"][point]["distribution"], {product_id: quantity})
    await Product.update({Product.stock: Product.stock - quantity}).where(Product.id == product_id)


async def test_sync_now_subtracts_what_is_reserved_here(client, escarcelle_url, simulator):
    w = await linked_grocery(client, simulator, points=2)
    pasta = w["products"][PASTA]
    esc, stock = await figures(pasta)
    assert esc == stock == simulator.state()["products"][PASTA]["stock"] == 12
    await order(w["points"][0]["members"][0], w, pasta, 2)
    await order(w["points"][1]["members"][0], w, pasta, 1, point=1)  # the other point
    simulator.till(PASTA, 3)  # a sale at Escarcelle's till
    done = await post_form(
        client, f"/espace-producteur/{w['producer']}/stocks/synchroniser", follow_redirects=False
    )
    assert done.status_code == 303
    assert await figures(pasta) == (9, 6)  # 12 − 3 at the till; 9 − 3 reserved here
    page = await client.get(f"/espace-producteur/{w['producer']}/stocks")
    assert "Stocks synchronisés avec Escarcelle." in page.text
    row = re.search(rf'<tr id="stock-{pasta}">.*?</tr>', page.text, re.S).group(0)
    assert re.findall(r'<td class="num">(\d+)</td>', row) == ["9", "3", "6"]
    assert len(simulator.calls("/stocks")) == 1  # 36 products: one GET /stocks


async def test_a_till_sale_below_what_was_ordered_is_reported_once(
    client, escarcelle_url, simulator
):
    w = await linked_grocery(client, simulator)
    pasta = w["products"][PASTA]
    first, second = w["points"][0]["members"]
    await order(first, w, pasta, 4)
    await order(second, w, pasta, 5)
    simulator.set_stock(PASTA, 6)  # the till sold 6 of 12: 9 ordered here
    assert await escarcelle_jobs.sync(w["producer"]) == "done"
    assert await figures(pasta) == (6, 0)
    mails = await OutboxMail.select().where(OutboxMail.kind == "escarcelle_over")
    assert len(mails) == 1 and mails[0]["to_addr"] == "lise@example.org"
    text = mails[0]["body_text"]
    assert "Pâtes 500G : 6 en stock dans Escarcelle, 9 commandés ici." in text
    assert "POINT0 Bénéficiaire1" in text  # the latest order, the one over the stock
    assert "Bénéficiaire0" not in text
    assert await escarcelle_jobs.sync(w["producer"]) == "done"
    assert await OutboxMail.count().where(OutboxMail.kind == "escarcelle_over") == 1


async def test_faults_keep_the_last_known_stock(client, escarcelle_url, simulator, monkeypatch):
    # Calls cut at 0.5 s, the slow answer taking 1 s: four timeouts, not four 3 s waits.
    monkeypatch.setattr(
        jobs_broker,
        "_settings",
        msgspec.structs.replace(jobs_broker.settings(), escarcelle_timeout=0.5),
    )
    w = await linked_grocery(client, simulator)
    pasta = w["products"][PASTA]
    simulator.till(PASTA, 2)
    for mode, options in (("429", {"retry_after": 0}), ("500", {}), ("slow", {"delay": 1})):
        simulator.fault(mode, path="/stocks", count=4, **options)
        assert await escarcelle_jobs.sync(w["producer"]) == "unavailable"
        simulator.fault("none")
        assert await figures(pasta) == (12, 12)
    link = await EscarcelleLink.select().first()
    assert link["state"] == "ok" and "à temps" in link["last_error"]
    page = html.unescape((await client.get(f"/espace-producteur/{w['producer']}/stocks")).text)
    assert "Dernière erreur" in page and "Les derniers stocks connus sont gardés" in page
    assert await escarcelle_jobs.sync(w["producer"]) == "done"
    assert await figures(pasta) == (10, 10)
    simulator.fault("401", path="/stocks", count=1)
    assert await escarcelle_jobs.sync(w["producer"]) == "broken"
    assert await OutboxMail.count().where(OutboxMail.kind == "escarcelle_broken") == 1
    assert await stocks.due_this_hour(clock.now() + timedelta(hours=2)) == []  # stopped


async def test_two_schedulers_and_a_manual_run_do_the_work_once(client, escarcelle_url, simulator):
    w = await linked_grocery(client, simulator)
    moment = clock.now() + timedelta(hours=1)
    due = await asyncio.gather(stocks.due_this_hour(moment), stocks.due_this_hour(moment))
    assert sorted(due[0] + due[1]) == [w["producer"]]
    assert await stocks.due_this_hour(moment) == []  # this hour's sync is taken
    simulator.fault("slow", path="/stocks", count=1, delay=1.0)
    outcomes = await asyncio.gather(
        escarcelle_jobs.sync(w["producer"]), escarcelle_jobs.sync(w["producer"])
    )
    assert sorted(outcomes) == ["busy", "done"]
    assert len(simulator.calls("/stocks")) == 1


async def test_the_scheduler_tick_runs_the_hourly_sync(client, escarcelle_url, simulator):
    w = await linked_grocery(client, simulator)
    pasta = w["products"][PASTA]
    simulator.till(PASTA, 5)
    await scheduler.tick(clock.now() + timedelta(hours=1))

    async def synced():
        return (await figures(pasta)) == (7, 7)

    await wait_until(synced, what="la synchronisation horaire")


async def test_a_sync_waits_for_an_order_in_flight(client, escarcelle_url, simulator):
    """The order's transaction holds the product: the sync's statement starts after it
    commits and counts its line (without the lock, PostgreSQL's UPDATE would miss it)."""
    w = await linked_grocery(client, simulator)
    pasta = w["products"][PASTA]
    member = w["points"][0]["members"][0]
    dist = w["points"][0]["distribution"]
    holding, release = asyncio.Event(), asyncio.Event()

    async def member_orders():
        async with transaction():
            current = await changes.order_for_update(member, dist)
            product = {"id": pasta, "stock": 12, "price_cents": 100, "max_per_order": None}
            await changes.apply_line(current, product, 3, None)
            holding.set()
            await release.wait()

    buyer = asyncio.create_task(member_orders())
    await holding.wait()
    syncing = asyncio.create_task(stocks.apply(w["producer"], {pasta: 12}))
    if is_sqlite():
        await asyncio.sleep(0.1)  # the write lock makes it wait whatever the timing
    else:

        async def waiting():
            rows = await Product.raw(
                "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE '%escarcelle%'"
            )
            return bool(rows)

        await wait_until(waiting, what="la synchronisation attend la commande")
    release.set()
    await buyer
    await syncing
    assert await figures(pasta) == (12, 9)
