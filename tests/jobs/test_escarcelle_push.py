"""The sales push on the real stack: a `dramatiq jobs.worker` process on Redis, the
simulator as a process; the worker SIGKILLed in the middle of a push (Escarcelle made the
sale, its answer never came back): after another worker takes over, exactly one sale per
basket in Escarcelle."""

from __future__ import annotations

from datetime import timedelta

from domain.catalog_orders import validation
from domain.demo import world as build
from domain.kernel import clock
from domain.tables import Distribution, EscarcelleSale, Membership
from tests.stack import wait_until
from tests.web.escarcelle.conftest import linked_grocery


async def test_a_worker_killed_mid_push_makes_no_second_sale(
    client, redis_broker, escarcelle_url, simulator, start_worker
):
    w = await linked_grocery(client, simulator, members=3)
    point = w["points"][0]
    members = point["members"]
    for n, user in enumerate(members, start=1):
        await Membership.update(
            {Membership.escarcelle_id: f"C{n:04d}", Membership.accepted_at: clock.now()}
        ).where(Membership.user == user)
    pasta = w["products"]["1001"]
    await build.orders(point["distribution"], {user: {pasta: 1} for user in members})
    moment = clock.now()
    await Distribution.update(
        {Distribution.starts_at: moment - timedelta(hours=1), Distribution.ends_at: moment}
    ).where(Distribution.id == point["distribution"])
    await validation.save(
        group_id=point["group"]["id"],
        distribution_id=point["distribution"],
        user_id=w["lise"],
        values={},
        validate=True,
    )
    # The first sale is made in Escarcelle, its answer held back 30 s: the worker dies then.
    simulator.fault("slow_after", path="/sales", count=1, delay=120)
    env = {"ESCARCELLE_URL": simulator.url, "ESCARCELLE_LEASE_SECONDS": "2"}
    first = start_worker(**env)
    from jobs import escarcelle as escarcelle_jobs

    escarcelle_jobs.consume.send()

    async def made_once():
        return len(simulator.state()["sales"]) == 1

    await wait_until(made_once, seconds=90, what="la première vente faite dans Escarcelle")
    first.assert_running()
    first.kill()  # SIGKILL, mid-push
    # The three were claimed together (one chunk), none recorded sent: the first was made
    # in Escarcelle, the other two never posted.
    sending = await EscarcelleSale.select().where(EscarcelleSale.state == "sending")
    assert len(sending) == 3 and len({s["claimed_at"] for s in sending}) == 1
    assert len(simulator.state()["sales"]) == 1

    async def lease_over():
        return clock.now() - sending[0]["claimed_at"] > timedelta(seconds=2.5)

    await wait_until(lease_over, what="la fin du bail du worker tué")
    start_worker(**env)
    escarcelle_jobs.push_sales.send(w["producer"], point["distribution"], "reprise")

    async def all_sent():
        rows = await EscarcelleSale.select(EscarcelleSale.state)
        return [r["state"] for r in rows] == ["sent"] * 3

    await wait_until(all_sent, seconds=90, what="les trois ventes envoyées")
    sold = simulator.state()["sales"]
    assert len(sold) == 3
    assert sorted(s["client_id"] for s in sold) == ["C0001", "C0002", "C0003"]
    assert len({s["key"] for s in sold}) == 3
    repeated = [c for c in simulator.calls("/sales") if c["status"] == 200]
    assert len(repeated) >= 1  # the killed worker's sale, pushed again, was recognised
