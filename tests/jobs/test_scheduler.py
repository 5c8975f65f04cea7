"""The scheduler: what is due when, exactly once (twice, at once, in two processes, after
hours down), and never stale (a notification that lost its point is dropped, not sent).

Times: most tests build a world around a moment a month ago and ask "what is due at
T?", so the app's own minute tick (it runs in the web process without Redis) never finds
their distributions due; tests that send for real use distributions in the coming hours
and assert on rows and mails, which the app's tick could only have made the same.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from domain import communications, notifications, outbox
from domain.demo import world as build
from domain.outbox import rendering
from domain.tables import (
    CatalogDistribution,
    Distribution,
    Group,
    MailOptOut,
    Membership,
    OutboxMail,
)
from jobs import mail as mail_jobs
from jobs import scheduler
from tests.helpers import make_group, make_user
from tests.jobs.conftest import ROOT, join
from tests.stack import text_of

H = timedelta(hours=1)


async def reminders_world(start: datetime, *, opens: datetime | None = None, closes=None) -> dict:
    """An AMAP with one distribution at `start` and five people:
    ana (validated order, two lines), bob (validated order, reminders off),
    cy (a draft order), dan (member, no order), and the admin (no order)."""
    admin = await make_user("admin@example.org", "Adèle")
    group = await make_group(admin, "AMAP des Rappels")
    place = await build.place(group["id"], "Halle aux grains", "1 rue du Marché")
    dist = await build.distribution(group["id"], place, start, opens_at=opens, closes_at=closes)
    vendor = await build.producer(group["id"], "Ferme des Saules")
    catalog = await build.catalog(group["id"], vendor, delivers=[dist])
    leeks = await build.product(catalog, "Poireaux", 250, unit="botte")
    eggs = await build.product(catalog, "Œufs <bio>", 390, unit="boîte")
    people = {"admin": admin}
    for name in ("ana", "bob", "cy", "dan"):
        people[name] = await make_user(f"{name}@example.org", name.title())
    await build.join(group["id"], [people[n] for n in ("ana", "bob", "cy", "dan")])
    for name, state in (("ana", "validated"), ("bob", "validated"), ("cy", "draft")):
        await build.order(people[name], dist, {leeks: 2, eggs: 1}, state=state)  # 8,90 €
    for kind in ("reminder_24h", "reminder_4h"):
        await communications.unsubscribe(people["bob"], kind)
    return {
        "group": group,
        "distribution": dist,
        "catalog": catalog,
        "products": [leeks, eggs],
        "people": people,
        "start": start,
    }


def contexts(settings):
    return scheduler.contexts(settings)


async def keys(kind: str) -> list[str]:
    rows = await OutboxMail.select(OutboxMail.key).where(OutboxMail.kind == kind)
    return sorted(row["key"] for row in rows)


def key(kind: str, world: dict, person: str) -> str:
    return f"{kind}:{world['people'][person]}:{world['distribution']}"


A_MONTH_AGO = datetime.now(UTC).replace(microsecond=0) - timedelta(days=30)


async def reminders_queued(ctx, moment: datetime) -> list[str]:
    """The keys of the reminders one run queued at `moment`."""
    ids = await notifications.queue_due(ctx, moment)
    if not ids:
        return []
    rows = await OutboxMail.select(OutboxMail.key).where(
        OutboxMail.id.is_in(ids) & OutboxMail.kind.like("reminder%")
    )
    return sorted(row["key"] for row in rows)


async def test_reminders_are_due_in_their_windows_only_for_validated_orders(settings):
    world = await reminders_world(A_MONTH_AGO)
    start, ctx = world["start"], contexts(settings)

    assert await reminders_queued(ctx, start - 25 * H) == []
    # ana only: bob turned reminders off, cy's order is a draft, dan and the admin have none.
    assert await reminders_queued(ctx, start - 24 * H) == [key("reminder_24h", world, "ana")]
    assert await reminders_queued(ctx, start - 5 * H) == []  # sent already
    assert await keys("reminder_4h") == []

    assert await reminders_queued(ctx, start - 4 * H) == [key("reminder_4h", world, "ana")]
    assert await reminders_queued(ctx, start - timedelta(minutes=1)) == []
    assert await notifications.queue_due(ctx, start) == []
    assert await OutboxMail.count().where(OutboxMail.kind.like("reminder%")) == 2

    row = await OutboxMail.select().where(OutboxMail.kind == "reminder_24h").first()
    assert row["user"] == world["people"]["ana"] and row["to_addr"] == "ana@example.org"
    assert "2 × Poireaux" in row["body_text"] and "Œufs &lt;bio&gt;" in row["body_html"]
    assert "Halle aux grains, 1 rue du Marché" in row["body_text"]
    assert "Total : 8,90" in row["body_text"]
    assert (
        rendering.UNSUBSCRIBE_MARK in row["body_text"]
        and rendering.UNSUBSCRIBE_MARK in row["body_html"]
    )
    _, conditions = outbox.decode_headers(row["headers"])
    assert conditions == {
        "expires_at": start - 4 * H,
        "distribution": world["distribution"],
        "starts_at": start,
    }


async def test_a_scheduler_back_after_two_hours_sends_what_is_still_useful_only(settings):
    world = await reminders_world(A_MONTH_AGO)
    start, ctx = world["start"], contexts(settings)

    # Down from 25 h to 23 h before: the 24 h reminder is still useful, it goes.
    await notifications.queue_due(ctx, start - 23 * H)
    assert await keys("reminder_24h") == [key("reminder_24h", world, "ana")]

    # Another distribution, the scheduler down from 5 h to 3 h before: the 24 h reminder
    # would be stale, only the 4 h one goes.
    other = await build_second_distribution(world, start + 48 * H)
    await notifications.queue_due(ctx, start + 48 * H - 3 * H)
    assert await keys("reminder_24h") == [key("reminder_24h", world, "ana")]
    assert await keys("reminder_4h") == [f"reminder_4h:{world['people']['ana']}:{other}"]

    # Down until after the start: nothing at all, not even late.
    third = await build_second_distribution(world, start + 96 * H)
    assert await notifications.queue_due(ctx, start + 96 * H + timedelta(minutes=5)) == []
    assert not await OutboxMail.exists().where(OutboxMail.key.like(f"reminder%:{third}"))


async def build_second_distribution(world: dict, start: datetime) -> int:
    """Another distribution of the same group where ana has a validated order."""
    group = world["group"]["id"]
    place = (await Distribution.select().where(Distribution.id == world["distribution"]).first())[
        "place"
    ]
    dist = await build.distribution(group, place, start, catalogs=[world["catalog"]])
    await build.order(world["people"]["ana"], dist, {world["products"][0]: 1})  # 2,50 €
    return dist


async def test_orders_open_goes_to_members_without_an_order_while_orders_are_open(settings):
    start = A_MONTH_AGO
    world = await reminders_world(start, opens=start - 72 * H, closes=start - 24 * H)
    ctx = contexts(settings)
    await MailOptOut.insert(MailOptOut(user=world["people"]["admin"], kind="orders_open"))

    assert await notifications.queue_due(ctx, start - 73 * H) == []
    ids = await notifications.queue_due(ctx, start - 72 * H)
    # dan only: the admin turned it off, ana, bob and cy have ordered already.
    assert await keys("orders_open") == [key("orders_open", world, "dan")]
    assert len(ids) == 1
    row = await OutboxMail.select().where(OutboxMail.id == ids[0]).first()
    assert row["subject"].startswith("Les commandes sont ouvertes")
    assert "Ferme des Saules – Légumes : commandes jusqu'au" in row["body_text"]
    _, conditions = outbox.decode_headers(row["headers"])
    assert conditions["expires_at"] == start - 24 * H

    # A member who joins while orders are open is told too, once.
    eve = await make_user("eve@example.org", "Eve")
    await Membership.insert(Membership(user=eve, group=world["group"]["id"]))
    await notifications.queue_due(ctx, start - 48 * H)
    await notifications.queue_due(ctx, start - 47 * H)
    assert await keys("orders_open") == sorted(
        [key("orders_open", world, "dan"), f"orders_open:{eve}:{world['distribution']}"]
    )
    # Closed: too late to tell anyone.
    fay = await make_user("fay@example.org", "Fay")
    await Membership.insert(Membership(user=fay, group=world["group"]["id"]))
    await notifications.queue_due(ctx, start - 24 * H)
    assert not await OutboxMail.exists().where(
        (OutboxMail.user == fay) & (OutboxMail.kind == "orders_open")
    )


async def test_a_catalogs_own_window_narrows_the_distributions(settings):
    start = A_MONTH_AGO
    world = await reminders_world(start, opens=start - 72 * H, closes=start - 24 * H)
    ctx = contexts(settings)
    # The only catalog opens its orders a day after the distribution's window.
    await CatalogDistribution.update({CatalogDistribution.orders_open_at: start - 48 * H}).where(
        CatalogDistribution.distribution == world["distribution"]
    )
    assert await notifications.queue_due(ctx, start - 60 * H) == []
    await notifications.queue_due(ctx, start - 48 * H)
    assert await keys("orders_open") == sorted(
        key("orders_open", world, p) for p in ("admin", "dan")
    )
    # A catalog closing its own orders early: no opening mail once it has closed.
    later = start + 200 * H  # orders open from later - 168 h to later - 24 h
    other = await build_second_distribution(world, later)
    await CatalogDistribution.update({CatalogDistribution.orders_close_at: later - 150 * H}).where(
        CatalogDistribution.distribution == other
    )
    await notifications.queue_due(ctx, later - 149 * H)
    assert not await OutboxMail.exists().where(OutboxMail.key.like(f"orders_open:%:{other}"))
    await notifications.queue_due(ctx, later - 151 * H)
    # Everyone but ana, who has an order at that date.
    assert await OutboxMail.count().where(OutboxMail.key.like(f"orders_open:%:{other}")) == 4


async def test_running_three_times_at_once_queues_each_notification_once(settings):
    world = await reminders_world(A_MONTH_AGO)
    ctx = contexts(settings)
    moment = world["start"] - 20 * H  # ana's 24 h reminder is due; orders are closed

    results = await asyncio.gather(*(notifications.queue_due(ctx, moment) for _ in range(3)))
    all_ids = [i for ids in results for i in ids]
    assert len(all_ids) == len(set(all_ids)) == 1  # one run inserted it, the others nothing
    assert await keys("reminder_24h") == [key("reminder_24h", world, "ana")]
    assert await notifications.queue_due(ctx, moment + timedelta(minutes=1)) == []


async def test_cancelled_moved_or_late_notifications_are_dropped_not_sent(
    use_settings, mailbox, settings
):
    now = datetime.now(UTC).replace(microsecond=0)
    ctx = contexts(settings)
    world = await reminders_world(now + 10 * H)
    [first] = await notifications.queue_due(ctx, now)
    assert await mail_jobs.deliver(first) == "sent"
    [mail] = mailbox.to("ana@example.org", "Rappel")
    assert "Poireaux" in text_of(mail)

    # Queued, then the distribution is cancelled before the mail could go.
    second = await build_second_distribution(world, now + 12 * H)
    [queued] = await outbox.queue_many([await one_reminder(world, second, now + 12 * H, ctx)])
    await Distribution.update({Distribution.cancelled_at: now}).where(Distribution.id == second)
    assert await mail_jobs.deliver(queued) == "dropped"
    row = await OutboxMail.select().where(OutboxMail.id == queued).first()
    assert (row["state"], row["last_error"]) == ("dropped", "la distribution est annulée")

    # Queued, then moved: its date and place would be wrong.
    third = await build_second_distribution(world, now + 14 * H)
    [queued] = await outbox.queue_many([await one_reminder(world, third, now + 14 * H, ctx)])
    await Distribution.update({Distribution.starts_at: now + 38 * H}).where(
        Distribution.id == third
    )
    assert await mail_jobs.deliver(queued) == "dropped"

    # Queued in its window, but the SMTP server was down until the window passed.
    fourth = await build_second_distribution(world, now + 2 * H)
    ids = await notifications.queue_due(ctx, now - 10 * H)
    [queued] = [
        i
        for i in ids
        if (await OutboxMail.select(OutboxMail.key).where(OutboxMail.id == i).first())[
            "key"
        ].endswith(f":{fourth}")
    ]
    assert await mail_jobs.deliver(queued) == "dropped"
    row = await OutboxMail.select().where(OutboxMail.id == queued).first()
    assert row["last_error"].startswith("périmé")
    assert len(mailbox.to("ana@example.org")) == 1
    assert queued not in await outbox.due_ids(older_than=timedelta(0))


async def one_reminder(world: dict, dist_id: int, start: datetime, ctx) -> outbox.NewMail:
    """The 24 h reminder of ana for `dist_id`, as the scheduler renders it."""
    moment = start - 20 * H
    due = await notifications.due_reminders(moment)
    [dist] = [d for d in due["reminder_24h"] if d["id"] == dist_id]
    return notifications._new_mail(
        "reminder_24h",
        {"user_id": world["people"]["ana"], "email": "ana@example.org"},
        dist,
        notifications._dist_context(dist, ctx["main"])
        | {"first_name": "Ana", "lines": [], "total": "0", "hours": 24},
        ctx["main"],
        expires_at=start - 4 * H,
    )


async def test_the_tick_enqueues_what_it_queued(use_settings, mailbox, stub_worker, settings):
    now = datetime.now(UTC).replace(microsecond=0)
    await reminders_world(now + 3 * H)
    await scheduler.tick()
    await join(stub_worker)
    [mail] = await mailbox.wait_for("ana@example.org", subject="Rappel")
    assert "aujourd'hui" in mail["Subject"]
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert await scheduler.tick() == 0


async def test_without_redis_the_web_process_runs_the_tick(use_settings, mailbox, stub_worker):
    """app.py's periodic task: the in-process broker means no scheduler process can reach
    this process's worker, so the web process runs the tick itself."""
    import app as app_module

    now = datetime.now(UTC).replace(microsecond=0)
    await reminders_world(now + 3 * H)
    task = asyncio.create_task(app_module._sweep_forever(mail_jobs, interval=0.2))
    try:
        await mailbox.wait_for("ana@example.org", subject="Rappel")
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    await join(stub_worker)
    assert len(mailbox.to("ana@example.org", "Rappel")) == 1


def run_scheduler_once(env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "app.py", "scheduler", "--once"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


async def test_two_scheduler_processes_at_once_queue_each_notification_once(redis_url, smtp_server):
    now = datetime.now(UTC).replace(microsecond=0)
    world = await reminders_world(now + 10 * H, opens=now - H, closes=now + 5 * H)
    env = {**os.environ, "REDIS_URL": redis_url, "SMTP_URL": smtp_server.url}

    for _ in range(2):  # twice in a row, each time two processes at once
        processes = [run_scheduler_once(env) for _ in range(2)]
        outputs = [p.communicate(timeout=60)[0].decode(errors="replace") for p in processes]
        assert [p.returncode for p in processes] == [0, 0], outputs

    assert await keys("reminder_24h") == [key("reminder_24h", world, "ana")]
    assert await keys("orders_open") == sorted(
        key("orders_open", world, p) for p in ("admin", "dan")
    )
    # Each row was enqueued by the one process that inserted it (and the sweep, maybe).
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        queued = client.hlen("dramatiq:mail.msgs")
    finally:
        client.close()
    assert queued >= 3


async def test_mails_of_other_areas_take_the_same_path(use_settings, mailbox, settings):
    """A cancellation (written by the distributions area) is an outbox row like the others:
    sent once, tied to the account, without an unsubscribe link; and after it, no reminder
    is due for the cancelled distribution."""
    from domain import distributions

    now = datetime.now(UTC).replace(microsecond=0)
    world = await reminders_world(now + 10 * H)
    ctx = scheduler.contexts(settings)["main"]
    ids = await distributions.cancel_distribution(world["group"]["id"], world["distribution"], ctx)
    assert len(ids) == 2  # ana and bob ordered
    for mail_id in ids:
        assert await mail_jobs.deliver(mail_id) == "sent"
        assert await mail_jobs.deliver(mail_id) == "skipped"
    [mail] = mailbox.to("ana@example.org", "annulée")
    assert mail["List-Unsubscribe"] is None
    rows = await OutboxMail.select().where(OutboxMail.id.is_in(ids))
    assert {r["user"] for r in rows} == {world["people"]["ana"], world["people"]["bob"]}
    assert await notifications.queue_due(scheduler.contexts(settings), now) == []


async def test_mails_of_a_group_moved_to_another_site_link_to_its_new_site(settings):
    """Queued after the move, a reminder points to the instance that serves the group."""
    start = A_MONTH_AGO
    world = await reminders_world(start)
    await Group.update(
        {
            Group.instance: "amap",
            Group.previous_instance: "main",
            Group.migrated_at: start - 30 * H,
            Group.redirect_until: start + 30 * 24 * H,
        }
    ).where(Group.id == world["group"]["id"])
    await notifications.queue_due(contexts(settings), start - 20 * H)
    row = (
        await OutboxMail.select().where(OutboxMail.key == key("reminder_24h", world, "ana")).first()
    )
    amap = settings.instance("amap")
    assert f"{amap.url}/g/{world['group']['slug']}/commandes/" in row["body_text"]
    assert row["instance"] == "amap" and amap.name in row["body_text"]
