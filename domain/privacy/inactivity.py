"""Accounts nobody uses any more: warned three times, then deleted (deletion.py), by the
`prune` step of the scheduler, at the moment passed in.

An account is in use while any of these is more recent than the period (INACTIVE_ACCOUNT_
DAYS, two years): its creation, its last login or visit (`User.last_seen_at`, written by
domain/sessions.py), an order placed by or for the person (`Order.updated_at`), a
membership joined or accepted, an adhésion paid, a contract running; and as long as it is
the only admin of a group that has other members (the group relies on it).

Its last activity is the latest of those moments; it is deleted at that moment plus the
period (its deadline). Warning mails go 30, 14 and 3 days before (stages `month`,
`fortnight`, `days`; a scheduler that was down sends only the stage it is in), and the
deletion waits 3 days after the last warning whatever the deadline, so that no one loses
an account without three days' notice. A login (or any activity) starts afresh: the
notices are per period of inactivity (`since`, the day of the last activity).

Accounts made in Mode création that the person never took over (`never_taken_over`) are
not deleted: at their deadline the admins of their groups are told instead, once.

Exactly once, whatever runs at the same time: each notice is first a row of
InactivityNotice, unique (account, since, stage), inserted ON CONFLICT DO NOTHING in the
same transaction as its mails (whose outbox keys are unique too); a deletion takes the
account's row first (deletion.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from domain import outbox
from domain.database import transaction
from domain.kernel.dates import PARIS, day_label, paris_day
from domain.outbox import MailContext
from domain.privacy.deletion import delete_account
from domain.tables import (
    ConsentRecord,
    InactivityNotice,
    Membership,
    MembershipFee,
    Order,
    Subscription,
    User,
)

DEFAULT_DAYS = 730
# stage: sent this long before the deadline
WARNINGS = (
    ("month", timedelta(days=30)),
    ("fortnight", timedelta(days=14)),
    ("days", timedelta(days=3)),
)
NOTICE = timedelta(days=3)  # from the last warning to the deletion, at the least
CHUNK = 500


def never_taken_over_sql(u: str = "u") -> str:
    """A Mode création account that the person never took over (the flag the takeover
    clears, which also holds its mails back). The one place that knows it here."""
    # `u`: a table alias of our own code, never input.
    return f"({u}.takeover_pending = TRUE)"


def _end_of(day: date) -> datetime:
    """A day counts until its end, Paris time."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=PARIS).astimezone(UTC)


# Accounts with nothing later than {horizon}: `_CANDIDATES` reads them cheaply (the
# subqueries use the indexes by person), `last_activity` then says exactly when.
# Constant text; the moments are parameters.
_CANDIDATES = (
    "SELECT u.id, u.email, u.first_name, u.last_name, u.created_at, u.last_seen_at, "  # noqa: S608
    f"{never_taken_over_sql()} AS creation "
    "FROM app_user u WHERE u.deleted_at IS NULL AND u.created_at <= {} "
    "AND (u.last_seen_at IS NULL OR u.last_seen_at <= {}) "
    'AND NOT EXISTS (SELECT 1 FROM member_order o WHERE o."user" = u.id AND o.updated_at > {}) '
    'AND NOT EXISTS (SELECT 1 FROM membership m WHERE m."user" = u.id '
    "AND (m.created_at > {} OR m.accepted_at > {})) "
    'AND NOT EXISTS (SELECT 1 FROM membership_fee f WHERE f."user" = u.id AND f.paid_on >= {}) '
    'AND NOT EXISTS (SELECT 1 FROM subscription s WHERE s."user" = u.id AND s.ends_on >= {} '
    "AND (s.ended_at IS NULL OR s.ended_at > {})) "
    'AND NOT EXISTS (SELECT 1 FROM membership m WHERE m."user" = u.id AND m.is_admin '
    "AND NOT EXISTS (SELECT 1 FROM membership a "
    'WHERE a."group" = m."group" AND a.is_admin AND a."user" <> u.id) '
    'AND EXISTS (SELECT 1 FROM membership o WHERE o."group" = m."group" AND o."user" <> u.id)) '
    "ORDER BY u.id"
)


async def candidates(horizon: datetime) -> list[dict]:
    day = paris_day(horizon)
    return await User.raw(
        _CANDIDATES, *(horizon, horizon, horizon, horizon, horizon, day, day, horizon)
    )


async def last_activity(people: list[dict]) -> dict[int, datetime]:
    """{account: its last activity}, for accounts read by `candidates`: five queries per
    CHUNK accounts."""
    found = {p["id"]: max(p["created_at"], p["last_seen_at"] or p["created_at"]) for p in people}

    def later(user_id: int, moment: datetime | None) -> None:
        if moment is not None and moment > found[user_id]:
            found[user_id] = moment

    ids = list(found)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        for row in await Order.select(Order.user, Order.updated_at).where(Order.user.is_in(chunk)):
            later(row["user"], row["updated_at"])
        for row in await Membership.select(
            Membership.user, Membership.created_at, Membership.accepted_at
        ).where(Membership.user.is_in(chunk)):
            later(row["user"], row["created_at"])
            later(row["user"], row["accepted_at"])
        for row in await MembershipFee.select(MembershipFee.user, MembershipFee.paid_on).where(
            MembershipFee.user.is_in(chunk)
        ):
            later(row["user"], _end_of(row["paid_on"]))
        for row in await Subscription.select(
            Subscription.user, Subscription.ends_on, Subscription.ended_at
        ).where(Subscription.user.is_in(chunk)):
            end = _end_of(row["ends_on"])
            later(row["user"], min(end, row["ended_at"]) if row["ended_at"] else end)
    return found


def stage_at(deadline: datetime, moment: datetime) -> str | None:
    """The warning due at `moment` for this deadline: the last stage whose time has come."""
    due = None
    for stage, before in WARNINGS:
        if moment >= deadline - before:
            due = stage
    return due


@dataclass
class Pruned:
    warned: int = 0
    admins_told: int = 0
    deleted: int = 0
    mail_ids: list[int] | None = None


async def _claim(user_id: int, since: date, stage: str, moment: datetime) -> bool:
    """The notice's row, once: False when another run has it already."""
    rows = await InactivityNotice.raw(
        'INSERT INTO inactivity_notice ("user", since, stage, queued_at) VALUES ({}, {}, {}, {}) '
        'ON CONFLICT ("user", since, stage) DO NOTHING RETURNING id',
        user_id,
        since,
        stage,
        moment,
    )
    return bool(rows)


async def _notices(user_ids: list[int]) -> dict[tuple[int, date, str], datetime]:
    found = {}
    for start in range(0, len(user_ids), CHUNK):
        rows = await InactivityNotice.select().where(
            InactivityNotice.user.is_in(user_ids[start : start + CHUNK])
        )
        for row in rows:
            found[(row["user"], row["since"], row["stage"])] = row["queued_at"]
    return found


async def _site_of(user_id: int, contexts: dict[str, MailContext]) -> MailContext:
    """The site of the person's most recent group (the default one if none)."""
    row = (
        await Membership.select(Membership.group.instance.as_alias("instance"))
        .where(Membership.user == user_id)
        .order_by(Membership.created_at, ascending=False)
        .first()
    )
    default = next(iter(contexts.values()))
    return contexts.get(row["instance"], default) if row else default


async def _warn(person: dict, since: date, stage: str, deletion: datetime, ctx, moment):
    async with transaction():
        if not await _claim(person["id"], since, stage, moment):
            return None
        return await outbox.queue(
            key=f"inactivity:{person['id']}:{since.isoformat()}:{stage}",
            kind="inactivity_warning",
            to=person["email"],
            user=person["id"],
            template="inactivity_warning",
            ctx=ctx,
            context={
                "first_name": person["first_name"],
                "since": day_label(since),
                "deletion": day_label(paris_day(deletion)),
                "url": f"{ctx.base_url}/connexion",
                "privacy_url": f"{ctx.base_url}/aide/confidentialite",
            },
        )


async def _tell_admins(person: dict, since: date, contexts, moment) -> list[int]:
    """A Mode création account never taken over: its groups' admins are told, once."""
    groups = Membership.select(Membership.group).where(Membership.user == person["id"])
    consent_groups = ConsentRecord.select(ConsentRecord.group).where(
        ConsentRecord.user == person["id"]
    )
    admins = await Membership.select(
        Membership.user.id.as_alias("id"),
        Membership.user.email.as_alias("email"),
        Membership.user.first_name.as_alias("first_name"),
        Membership.group.name.as_alias("group_name"),
        Membership.group.slug.as_alias("slug"),
        Membership.group.instance.as_alias("instance"),
    ).where(
        (Membership.is_admin == True)  # noqa: E712 - SQL
        & (Membership.group.is_in(groups) | Membership.group.is_in(consent_groups))
        & (Membership.user != person["id"])
    )
    ids: list[int] = []
    async with transaction():
        if not await _claim(person["id"], since, "admins", moment):
            return []
        for admin in sorted(admins, key=lambda a: (a["id"], a["slug"])):
            ctx = contexts.get(admin["instance"]) or next(iter(contexts.values()))
            name = f"{person['first_name']} {person['last_name']}".strip() or person["email"]
            mail_id = await outbox.queue(
                key=f"inactivity_admins:{person['id']}:{since.isoformat()}:{admin['id']}"
                f":{admin['slug']}",
                kind="inactivity_creation",
                to=admin["email"],
                user=admin["id"],
                template="inactivity_creation",
                ctx=ctx,
                context={
                    "first_name": admin["first_name"],
                    "person": name,
                    "email": person["email"],
                    "group_name": admin["group_name"],
                    "since": day_label(since),
                    "url": f"{ctx.base_url}/g/{admin['slug']}/membres/{person['id']}",
                },
            )
            if mail_id:
                ids.append(mail_id)
    return ids


async def prune_inactive(
    contexts: dict[str, MailContext], moment: datetime, days: int = DEFAULT_DAYS
) -> Pruned:
    """What is due at `moment`: warnings, notices to admins, deletions. Idempotent; two
    runs at once send each mail once and delete each account once."""
    period = timedelta(days=days)
    horizon = moment - period + WARNINGS[0][1]  # the first warning's time
    people = await candidates(horizon)
    done = Pruned(mail_ids=[])
    if not people:
        return done
    last = await last_activity(people)
    notices = await _notices([p["id"] for p in people])
    for person in people:
        since = paris_day(last[person["id"]])
        deadline = last[person["id"]] + period
        if person["creation"]:
            # Once per period of inactivity: an account told about already costs nothing.
            if moment >= deadline and (person["id"], since, "admins") not in notices:
                ids = await _tell_admins(person, since, contexts, moment)
                done.admins_told += bool(ids)
                done.mail_ids += ids
            continue
        last_warning = notices.get((person["id"], since, "days"))
        if moment >= deadline and last_warning is not None and moment >= last_warning + NOTICE:
            if await delete_account(person["id"], moment) is not None:
                done.deleted += 1
            continue
        stage = stage_at(deadline, moment)
        if stage is None or (person["id"], since, stage) in notices:
            continue
        deletion = max(deadline, moment + NOTICE)
        ctx = await _site_of(person["id"], contexts)
        mail_id = await _warn(person, since, stage, deletion, ctx, moment)
        if mail_id:
            done.warned += 1
            done.mail_ids.append(mail_id)
    return done
