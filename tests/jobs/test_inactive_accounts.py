"""The prune step and unused accounts: warned at 1 month, 2 weeks and 3 days, then deleted
the way « Supprimer mon compte » does; any activity starts afresh; Mode création accounts
never taken over are not deleted, their groups' admins are told; each mail once and each
account deleted once, with runs at once in one process or in two scheduler processes.

Time is passed in: the accounts are made two years back from a fixed moment and each run
says when it is."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta

from domain import sessions
from domain.demo import world as build
from domain.kernel.dates import day_label, paris_day
from domain.privacy import inactivity
from domain.tables import (
    ConsentRecord,
    InactivityNotice,
    Membership,
    MembershipFee,
    Order,
    OutboxMail,
    Subscription,
    User,
)
from jobs import mail as mail_jobs
from jobs import scheduler
from tests.helpers import make_group, make_user
from tests.jobs.test_scheduler import run_scheduler_once
from tests.stack import text_of

DAY = timedelta(days=1)
T0 = datetime(2023, 1, 10, 9, 0, tzinfo=UTC)  # the last activity of the accounts below
DEADLINE = T0 + 730 * DAY


async def age(user_id: int, moment: datetime = T0) -> None:
    """Everything the account did, done at `moment`."""
    await User.update({User.created_at: moment, User.last_seen_at: moment}).where(
        User.id == user_id
    )
    await Membership.update({Membership.created_at: moment, Membership.accepted_at: moment}).where(
        Membership.user == user_id
    )
    await Order.update({Order.updated_at: moment}).where(Order.user == user_id)


async def amap(with_order: bool = True) -> dict:
    """Anne runs an AMAP (kept busy: she is its only admin and it has members); Léa, a
    member, ordered once at T0, and nothing since."""
    anne = await make_user("anne@example.org", "Anne")
    lea = await make_user("lea@example.org", "Léa")
    group = await make_group(anne, "AMAP des Prés")
    await build.join(group["id"], lea)
    if with_order:
        hall = await build.place(group["id"], "Halle")
        dist = await build.distribution(group["id"], hall, T0 - DAY)
        catalog = await build.catalog(group["id"], await build.producer(group["id"], "Ferme"))
        await build.order(lea, dist, {await build.product(catalog, "Poireaux", 250): 2})
    await age(lea)
    return {"anne": anne, "lea": lea, "group": group}


async def notice_keys() -> list[str]:
    rows = await OutboxMail.select(OutboxMail.key).where(OutboxMail.kind.like("inactivity%"))
    return sorted(row["key"] for row in rows)


def key(user_id: int, stage: str) -> str:
    return f"inactivity:{user_id}:{paris_day(T0).isoformat()}:{stage}"


async def test_warned_three_times_then_deleted(settings, use_settings, mailbox):
    world = await amap()
    lea, ctx = world["lea"], scheduler.contexts(settings)

    assert (await inactivity.prune_inactive(ctx, DEADLINE - 31 * DAY)).warned == 0
    first = await inactivity.prune_inactive(ctx, DEADLINE - 30 * DAY)
    assert (first.warned, first.deleted) == (1, 0)
    assert await notice_keys() == [key(lea, "month")]
    [mail_id] = first.mail_ids
    assert await mail_jobs.deliver(mail_id) == "sent"
    [mail] = mailbox.to("lea@example.org")
    assert f"à partir du {day_label(paris_day(DEADLINE))}" in str(mail["Subject"])
    body = text_of(mail)
    assert f"depuis le {day_label(paris_day(T0))}" in body and "/connexion" in body
    assert "List-Unsubscribe" not in mail  # a notice about the account, not a newsletter

    for moment in (DEADLINE - 30 * DAY, DEADLINE - 20 * DAY):  # again, and in between
        assert (await inactivity.prune_inactive(ctx, moment)).warned == 0
    assert (await inactivity.prune_inactive(ctx, DEADLINE - 14 * DAY)).warned == 1
    assert (await inactivity.prune_inactive(ctx, DEADLINE - 3 * DAY)).warned == 1
    assert await notice_keys() == sorted(key(lea, s) for s in ("month", "fortnight", "days"))
    assert (await inactivity.prune_inactive(ctx, DEADLINE - DAY)).deleted == 0
    assert await User.exists().where(User.id == lea)

    gone = await inactivity.prune_inactive(ctx, DEADLINE)
    assert (gone.warned, gone.deleted) == (0, 1)
    assert not await User.exists().where(User.email == "lea@example.org")
    # Deleted the way « Supprimer mon compte » does: the order kept, anonymously.
    [placeholder] = await User.select().where(User.deleted_at.is_not_null())
    assert await Order.exists().where(Order.user == placeholder["id"])
    assert not await OutboxMail.exists().where(OutboxMail.to_addr == "lea@example.org")
    assert not await InactivityNotice.exists()
    # The placeholder and Anne (her group relies on her) are never warned.
    later = await inactivity.prune_inactive(ctx, DEADLINE + 400 * DAY)
    assert (later.warned, later.deleted) == (0, 0)
    assert await User.exists().where(User.id == world["anne"])


async def test_a_scheduler_back_late_sends_the_last_warning_and_waits_three_days(settings):
    world = await amap()
    lea, ctx = world["lea"], scheduler.contexts(settings)
    late = DEADLINE + 10 * DAY
    done = await inactivity.prune_inactive(ctx, late)
    assert (done.warned, done.deleted) == (1, 0)
    assert await notice_keys() == [key(lea, "days")]  # not the stale ones
    row = await OutboxMail.select().where(OutboxMail.kind == "inactivity_warning").first()
    assert day_label(paris_day(late + 3 * DAY)) in row["subject"]
    assert (await inactivity.prune_inactive(ctx, late + 2 * DAY)).deleted == 0
    assert (await inactivity.prune_inactive(ctx, late + 3 * DAY)).deleted == 1


async def test_any_activity_starts_afresh(settings):
    world = await amap()
    lea, ctx = world["lea"], scheduler.contexts(settings)
    assert (await inactivity.prune_inactive(ctx, DEADLINE - 30 * DAY)).warned == 1
    await sessions.seen(lea, DEADLINE - 25 * DAY)  # she logged in after the warning
    for moment in (DEADLINE - 14 * DAY, DEADLINE + 5 * DAY, DEADLINE + 30 * DAY):
        done = await inactivity.prune_inactive(ctx, moment)
        assert (done.warned, done.deleted) == (0, 0), moment
    assert await User.exists().where(User.id == lea)
    # Two years after that login, it starts again, for this new period.
    again = await inactivity.prune_inactive(ctx, DEADLINE - 25 * DAY + 700 * DAY)
    assert again.warned == 1
    assert f":{paris_day(DEADLINE - 25 * DAY).isoformat()}:month" in (await notice_keys())[-1]


async def test_an_order_an_adhesion_or_a_running_contract_keep_an_account(settings):
    ctx = scheduler.contexts(settings)
    world = await amap(with_order=False)
    moment = DEADLINE - 30 * DAY
    # An order placed for her (by an admin) a year ago.
    hall = await build.place(world["group"]["id"], "Halle")
    dist = await build.distribution(world["group"]["id"], hall, T0 + 365 * DAY)
    catalog = await build.catalog(
        world["group"]["id"], await build.producer(world["group"]["id"], "Ferme")
    )
    product = await build.product(catalog, "Poireaux", 250)
    order = await build.order(world["lea"], dist, {product: 1})
    await Order.update({Order.updated_at: T0 + 365 * DAY}).where(Order.id == order)
    assert (await inactivity.prune_inactive(ctx, moment)).warned == 0
    await Order.update({Order.updated_at: T0}).where(Order.id == order)
    # An adhésion paid last year.
    fee = await MembershipFee.insert(
        MembershipFee(
            group=world["group"]["id"],
            user=world["lea"],
            year=2024,
            amount_cents=1000,
            paid_on=(T0 + 400 * DAY).date(),
        )
    ).returning(MembershipFee.id)
    assert (await inactivity.prune_inactive(ctx, moment)).warned == 0
    await MembershipFee.delete().where(MembershipFee.id == fee[0]["id"])
    # A contract running until next month.
    sub = await build.subscription(
        world["lea"], catalog, starts_on=T0.date(), ends_on=(moment + 30 * DAY).date()
    )
    assert (await inactivity.prune_inactive(ctx, moment)).warned == 0
    await Subscription.delete().where(Subscription.id == sub)
    assert (await inactivity.prune_inactive(ctx, moment)).warned == 1


async def test_a_mode_creation_account_never_taken_over_is_signalled_not_deleted(settings):
    world = await amap(with_order=False)
    ctx = scheduler.contexts(settings)
    person = await build.person("sans-email@example.org", "Paul", "Vieux", password=None)
    await build.join(world["group"]["id"], person)
    await ConsentRecord.insert(
        ConsentRecord(
            user=person, group=world["group"]["id"], recorded_by=world["anne"], statement="Oui"
        )
    )
    await User.update({User.takeover_pending: True}).where(User.id == person)
    await age(person)
    await sessions.seen(world["lea"], DEADLINE)  # only Paul is unused
    assert (await inactivity.prune_inactive(ctx, DEADLINE - 30 * DAY)).warned == 0
    assert await notice_keys() == []

    told = await inactivity.prune_inactive(ctx, DEADLINE)
    assert (told.admins_told, told.deleted, told.warned) == (1, 0, 0)
    [row] = await OutboxMail.select().where(OutboxMail.kind == "inactivity_creation")
    assert row["to_addr"] == "anne@example.org"
    assert "Paul Vieux" in row["subject"] and "AMAP des Prés" in row["subject"]
    assert f"/g/{world['group']['slug']}/membres/{person}" in row["body_text"]
    for moment in (DEADLINE + DAY, DEADLINE + 400 * DAY):
        done = await inactivity.prune_inactive(ctx, moment)
        assert (done.admins_told, done.deleted) == (0, 0)
    assert await User.exists().where(User.id == person)
    assert not await OutboxMail.exists().where(OutboxMail.to_addr == "sans-email@example.org")


async def test_prune_steps_at_once_warn_and_delete_once(settings):
    first = await amap()
    other = await make_user("noe@example.org", "Noé")
    await build.join(first["group"]["id"], other)
    await age(other, T0 - 40 * DAY)  # due for deletion before Léa's last warning
    await inactivity.prune_inactive(scheduler.contexts(settings), DEADLINE - 43 * DAY)
    moment = DEADLINE - 14 * DAY  # Léa's fortnight warning; Noé's deletion (3 days after)
    results = await asyncio.gather(*(scheduler.prune_step(settings, moment) for _ in range(3)))
    assert sum(r["accounts_warned"] for r in results) == 1
    assert sum(r["accounts_deleted"] for r in results) == 1
    assert await User.count().where(User.deleted_at.is_not_null()) == 1
    assert key(first["lea"], "fortnight") in await notice_keys()


async def test_two_scheduler_processes_at_once_mail_and_delete_once(redis_url, smtp_server):
    now = datetime.now(UTC).replace(microsecond=0)
    world = await amap()
    await age(world["lea"], now - 720 * DAY)  # her fortnight warning is due now
    noe = await make_user("noe@example.org", "Noé")
    await build.join(world["group"]["id"], noe)
    last = now - 740 * DAY
    await age(noe, last)
    await InactivityNotice.insert(  # warned 4 days ago: deleted now
        InactivityNotice(user=noe, since=paris_day(last), stage="days", queued_at=now - 4 * DAY)
    )
    env = {**os.environ, "REDIS_URL": redis_url, "SMTP_URL": smtp_server.url}
    for _ in range(2):  # twice in a row, each time two processes at once
        processes = [run_scheduler_once(env) for _ in range(2)]
        outputs = [p.communicate(timeout=60)[0].decode(errors="replace") for p in processes]
        assert [p.returncode for p in processes] == [0, 0], outputs
    rows = await OutboxMail.select(OutboxMail.key).where(OutboxMail.kind == "inactivity_warning")
    assert [r["key"] for r in rows] == [
        f"inactivity:{world['lea']}:{paris_day(now - 720 * DAY).isoformat()}:fortnight"
    ]
    assert not await User.exists().where(User.id == noe)
    assert await User.count().where(User.deleted_at.is_not_null()) == 1
