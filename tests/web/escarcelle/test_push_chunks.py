"""Step 5 of seed 002, the push itself: sales claimed by chunks and recorded sent together
(a fixed number of statements however many baskets), a push stopped by a refused key gives
its untried sales back, and one whose lease is half gone records what it sent and claims
the rest again; every basket still one sale in Escarcelle."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from domain.catalog_orders import validation
from domain.demo import world as build
from domain.escarcelle import sales
from domain.kernel import clock
from domain.tables import Distribution, EscarcelleLink, EscarcelleSale, Membership, Product
from jobs import broker as jobs_broker
from jobs import escarcelle as escarcelle_jobs
from tests.helpers import QueryCounter
from tests.stack import wait_until
from tests.web.escarcelle.conftest import linked_grocery

PASTA = "1001"


async def beneficiaries(client, simulator, members: int) -> tuple[dict, dict]:
    """`members` beneficiaries (C0001…) of the linked grocery's point."""
    w = await linked_grocery(client, simulator, members=members)
    point = w["points"][0]
    for n, user in enumerate(point["members"], start=1):
        await Membership.update(
            {Membership.escarcelle_id: f"C{n:04d}", Membership.accepted_at: clock.now()}
        ).where(Membership.user == user)
    return w, point


async def validated(w: dict, point: dict, distribution_id: int, users: list[int]) -> None:
    """Each of `users` orders one pasta, the distribution is validated and its record
    turned into sales, nothing pushed yet."""
    pasta = w["products"][PASTA]
    await build.orders(distribution_id, {user: {pasta: 1} for user in users})
    moment = clock.now()
    await Distribution.update(
        {Distribution.starts_at: moment - timedelta(hours=1), Distribution.ends_at: moment}
    ).where(Distribution.id == distribution_id)
    original = escarcelle_jobs.after_validation
    escarcelle_jobs.after_validation = lambda: None  # this test pushes itself
    try:
        await validation.save(
            group_id=point["group"]["id"],
            distribution_id=distribution_id,
            user_id=w["lise"],
            values={},
            validate=True,
        )
    finally:
        escarcelle_jobs.after_validation = original
    instance = jobs_broker.settings().default_instance
    for record in await validation.records_to_use(sales.CONSUMER):
        await sales.prepare(record, base_url=instance.url, instance=instance.key)


async def ready(client, simulator, members: int) -> tuple[dict, dict]:
    w, point = await beneficiaries(client, simulator, members)
    await validated(w, point, point["distribution"], point["members"])
    return w, point


async def states() -> list[tuple[str, int]]:
    rows = await EscarcelleSale.select(EscarcelleSale.state, EscarcelleSale.attempts).order_by(
        EscarcelleSale.id
    )
    return [(r["state"], r["attempts"]) for r in rows]


async def test_the_push_runs_a_fixed_number_of_statements_however_many_baskets(
    client, escarcelle_url, simulator
):
    w, point = await beneficiaries(client, simulator, 9)
    (dist,) = await Distribution.select(Distribution.group, Distribution.place).where(
        Distribution.id == point["distribution"]
    )
    other = await build.open_distribution(dist["group"], dist["place"], catalogs=[point["catalog"]])
    counts = []
    for distribution_id, users in ((point["distribution"], point["members"][:2]),
                                   (other, point["members"])):  # fmt: skip
        await validated(w, point, distribution_id, users)
        with QueryCounter() as queries:
            outcome = await escarcelle_jobs.push(w["producer"], distribution_id, "essai")
        assert outcome["sent"] == len(users)
        counts.append(queries.count)
    assert await states() == [("sent", 1)] * 11
    assert len(simulator.state()["sales"]) == 11
    assert counts[0] == counts[1], counts  # one claim, one record of the sent: per chunk


async def test_a_key_refused_mid_push_keeps_what_was_sent_and_gives_the_rest_back(
    client, escarcelle_url, simulator
):
    w, point = await ready(client, simulator, 4)
    simulator.fault("401", path="/sales", after=1)
    outcome = await escarcelle_jobs.push(w["producer"], point["distribution"], "premier envoi")
    assert (outcome["sent"], outcome["failed"]) == (1, 1)
    # Sent and recorded; refused; the two never posted are pending again, no attempt counted.
    assert await states() == [("sent", 1), ("failed", 1), ("pending", 0), ("pending", 0)]
    assert len(simulator.state()["sales"]) == 1
    link = await EscarcelleLink.select(EscarcelleLink.state).first()
    assert link["state"] == "broken"
    pasta = await Product.select(Product.escarcelle_stock).where(Product.id == w["products"][PASTA])
    assert pasta[0]["escarcelle_stock"] == 12 - 1  # what the one sale sold


async def test_a_push_whose_lease_is_half_gone_records_and_claims_the_rest_again(
    client, escarcelle_url, simulator, monkeypatch
):
    w, point = await ready(client, simulator, 3)
    lease = jobs_broker.settings().escarcelle_lease_seconds
    post = escarcelle_jobs._post
    later = contextlib.ExitStack()
    claims = []
    claim = sales.claim

    async def slow_first(api, sale, reference):
        done = await post(api, sale, reference)
        if not later._exit_callbacks:  # the first post took most of the lease
            later.enter_context(clock.travel(timedelta(seconds=lease * 0.75)))
        return done

    async def counted(sale_ids, *args, **kwargs):
        claims.append(list(sale_ids))
        return await claim(sale_ids, *args, **kwargs)

    monkeypatch.setattr(escarcelle_jobs, "_post", slow_first)
    monkeypatch.setattr(sales, "claim", counted)
    with later:
        outcome = await escarcelle_jobs.push(w["producer"], point["distribution"], "essai")
    assert outcome["sent"] == 3
    assert len(claims) == 2 and claims[1] == claims[0][1:]  # the two left, claimed again
    assert await states() == [("sent", 1)] * 3  # the attempt given back is not counted
    assert len(simulator.state()["sales"]) == 3
    assert [c["status"] for c in simulator.calls("/sales")] == [201] * 3  # none posted twice


async def test_the_hourly_run_pushes_sales_left_sending_or_pending(
    client, escarcelle_url, simulator
):
    """A sale claimed by a worker killed since (no message redelivered), and one whose push
    message was lost with the broker: the scheduler's hourly run pushes both, once."""
    w, point = await beneficiaries(client, simulator, members=2)
    await validated(w, point, point["distribution"], point["members"])
    lease = timedelta(seconds=jobs_broker.settings().escarcelle_lease_seconds)
    moment = clock.now()
    assert await sales.due_retries(moment, lease) == []  # their push is on its way
    claimed, lost = await EscarcelleSale.select().order_by(EscarcelleSale.id)
    await EscarcelleSale.update(
        {EscarcelleSale.state: "sending", EscarcelleSale.claimed_at: moment - 2 * lease}
    ).where(EscarcelleSale.id == claimed["id"])
    await EscarcelleSale.update({EscarcelleSale.created_at: moment - 2 * lease}).where(
        EscarcelleSale.id == lost["id"]
    )
    assert await sales.due_retries(moment, lease) == [(w["producer"], point["distribution"])]
    await escarcelle_jobs.tick(moment)

    async def both_sent() -> bool:
        return await EscarcelleSale.count().where(EscarcelleSale.state == "sent") == 2

    await wait_until(both_sent, what="les deux ventes envoyées")
    assert len(simulator.calls("/sales", "POST")) == 2
    assert await sales.due_retries(moment + timedelta(hours=1), lease) == []
