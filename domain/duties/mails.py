"""The scheduler's duty mails, each sent once (its unique outbox key) and each a kind that
« Mes communications » turns off:

- duties_open `duties_open:<user>:<distribution>`: sign-ups open (`open_days` before the
  start), to the members holding no role there; news for OPENING_NEWS only (a member who
  joins later, a scheduler back after days: no stale opening);
- duty_instructions `duty_instructions:<user>:<distribution>`: from 4 days before the
  start until it, to each volunteer (signed up then, or later): their role's instructions,
  the group's, and the team of the day; dropped unsent if they left meanwhile;
- duties_empty `duties_empty:<admin>:<distribution>`: from 7 days before the start until
  48 hours before it, to the group's admins, while some roles have empty places.

(The fourth kind, duty_left, goes when a volunteer leaves late: `signups.leave`.)

`queue_due(contexts, moment)` decides what is due at `moment`, as notifications.queue_due
does: the windows make a late run skip what is stale, the keys make two runs at once
insert each mail once. The queries are bounded by the windows, never a year of dates."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain import outbox
from domain.duties import (
    DEFAULT_OPEN_DAYS,
    EMPTY_ALERT_BEFORE,
    EMPTY_ALERT_UNTIL,
    INSTRUCTIONS_BEFORE,
    OPENING_NEWS,
    opens_at,
)
from domain.duties.calendar import needed_roles, short_name
from domain.kernel.clock import now
from domain.kernel.dates import format_moment, label
from domain.tables import Distribution, DutyRole, DutySettings, DutySignup

CHUNK = 500


def _ids(values) -> str:
    return ", ".join(str(int(v)) for v in values)


async def _groups_with_roles() -> dict[int, int]:
    """{group: open_days} of every group that has a role."""
    groups = {
        r["group"]
        for r in await DutyRole.select(DutyRole.group)
        .where(DutyRole.removed_at.is_null())
        .distinct()
    }
    if not groups:
        return {}
    days = {
        r["group"]: r["open_days"]
        for r in await DutySettings.select(DutySettings.group, DutySettings.open_days).where(
            DutySettings.group.is_in(sorted(groups))
        )
    }
    return {g: days.get(g, DEFAULT_OPEN_DAYS) for g in groups}


_COLUMNS = (
    Distribution.id,
    Distribution.group,
    Distribution.starts_at,
    Distribution.ends_at,
    Distribution.place.name.as_alias("place_name"),
    Distribution.place.address.as_alias("place_address"),
    Distribution.group.name.as_alias("group_name"),
    Distribution.group.slug.as_alias("group_slug"),
    Distribution.group.instance.as_alias("instance"),
)


async def _distributions(groups: list[int], since: datetime, until: datetime) -> list[dict]:
    """Not cancelled distributions of these groups starting in (since, until]."""
    found: list[dict] = []
    for start in range(0, len(groups), CHUNK):
        found += await Distribution.select(*_COLUMNS).where(
            Distribution.group.is_in(groups[start : start + CHUNK])
            & Distribution.cancelled_at.is_null()
            & (Distribution.starts_at > since)
            & (Distribution.starts_at <= until)
        )
    return found


async def due(moment: datetime) -> dict[str, list[dict]]:
    """{kind: distributions in its window at `moment`}: one query per distinct number of
    days ahead (groups share the default), one for the coming week."""
    groups = await _groups_with_roles()
    out: dict[str, list[dict]] = {"duties_open": [], "duty_instructions": [], "duties_empty": []}
    if not groups:
        return out
    by_days: dict[int, list[int]] = {}
    for group, days in groups.items():
        by_days.setdefault(days, []).append(group)
    for days, ids in by_days.items():
        # Sign-ups opened in the last OPENING_NEWS: started at most `days` from now.
        ahead = timedelta(days=days)
        for d in await _distributions(sorted(ids), moment + ahead - OPENING_NEWS, moment + ahead):
            if opens_at(d["starts_at"], days) <= moment:
                out["duties_open"].append(d)
    for d in await _distributions(sorted(groups), moment, moment + EMPTY_ALERT_BEFORE):
        if d["starts_at"] - INSTRUCTIONS_BEFORE <= moment:
            out["duty_instructions"].append(d)
        if d["starts_at"] - EMPTY_ALERT_UNTIL > moment:
            out["duties_empty"].append(d)
    return out


async def _places(dists: list[dict]) -> dict[int, list[dict]]:
    """{distribution: [{name, places, free}]} of the roles needed at each."""
    roles_by_group: dict[int, list[dict]] = {}
    groups = sorted({d["group"] for d in dists})
    for start in range(0, len(groups), CHUNK):
        for r in (
            await DutyRole.select(
                DutyRole.id,
                DutyRole.group,
                DutyRole.catalog,
                DutyRole.name,
                DutyRole.places,
                DutyRole.instructions,
                DutyRole.position,
            )
            .where(
                DutyRole.group.is_in(groups[start : start + CHUNK]) & DutyRole.removed_at.is_null()
            )
            .order_by(DutyRole.position, DutyRole.id)
        ):
            roles_by_group.setdefault(r["group"], []).append(r)
    taken: dict[tuple[int, int], int] = {}
    ids = [d["id"] for d in dists]
    for start in range(0, len(ids), CHUNK):
        for s in await DutySignup.select(DutySignup.distribution, DutySignup.role).where(
            DutySignup.distribution.is_in(ids[start : start + CHUNK])
        ):
            key = (s["distribution"], s["role"])
            taken[key] = taken.get(key, 0) + 1
    out: dict[int, list[dict]] = {}
    by_group: dict[int, list[int]] = {}
    for d in dists:
        by_group.setdefault(d["group"], []).append(d["id"])
    for group, dist_ids in by_group.items():
        needed = await needed_roles(group, roles_by_group.get(group, []), dist_ids)
        for dist_id, roles in needed.items():
            out[dist_id] = [
                r | {"free": max(0, r["places"] - taken.get((dist_id, r["id"]), 0))} for r in roles
            ]
    return out


def _context(d: dict, ctx) -> dict:
    return {
        "group_name": d["group_name"],
        "when": label(d["starts_at"]),
        "ends": format_moment(d["ends_at"], "time"),
        "place": d["place_name"],
        "address": d["place_address"],
    }


def _site(contexts: dict, instance: str):
    return contexts.get(instance) or next(iter(contexts.values()))


def _mail(kind: str, template: str, rcpt: dict, d: dict, context: dict, ctx, **conditions):
    subject, text, html = outbox.render(template, context, kind, site_name=ctx.site_name)
    return outbox.NewMail(
        key=f"{kind}:{rcpt['user_id']}:{d['id']}",
        kind=kind,
        to=rcpt["email"],
        subject=subject,
        text=text,
        html=html,
        instance=d["instance"],
        user=rcpt["user_id"],
        headers=outbox.encode_headers(distribution=d["id"], starts_at=d["starts_at"], **conditions),
    )


def _not_sent(kind: str, person: str, dist: str) -> str:
    """SQL: no mail of this kind to `person` for `dist` yet, and not turned off."""
    # `kind` is one of this module's constants, `person` and `dist` SQL names.
    return (
        "NOT EXISTS (SELECT 1 FROM mail_opt_out x "  # noqa: S608
        f"WHERE x.\"user\" = {person} AND x.kind = '{kind}') "
        "AND NOT EXISTS (SELECT 1 FROM outbox_mail b "
        f"WHERE b.key = '{kind}:' || {person} || ':' || {dist})"
    )


async def _recipients(sql: str, ids: list[int]) -> list[dict]:
    found: list[dict] = []
    for start in range(0, len(ids), CHUNK):
        found += await Distribution.raw(sql.format(ids=_ids(ids[start : start + CHUNK])))
    return found


# Only integers and constants are put in the texts.
_MEMBERS_WITHOUT_ROLE = (
    "SELECT d.id AS distribution, u.id AS user_id, u.email, u.first_name "  # noqa: S608
    'FROM distribution d JOIN membership m ON m."group" = d."group" '
    'JOIN app_user u ON u.id = m."user" '
    "WHERE d.id IN ({ids}) AND NOT EXISTS (SELECT 1 FROM duty_signup s "
    'WHERE s.distribution = d.id AND s."user" = m."user") AND '
    + _not_sent("duties_open", 'm."user"', "d.id")
    + " ORDER BY d.id, u.id"
)
_VOLUNTEERS = (
    "SELECT s.distribution, s.role, u.id AS user_id, u.email, u.first_name "  # noqa: S608
    'FROM duty_signup s JOIN app_user u ON u.id = s."user" '
    "WHERE s.distribution IN ({ids}) AND "
    + _not_sent("duty_instructions", 's."user"', "s.distribution")
    + " ORDER BY s.distribution, u.id"
)
_ADMINS = (
    "SELECT d.id AS distribution, u.id AS user_id, u.email, u.first_name "  # noqa: S608
    'FROM distribution d JOIN membership m ON m."group" = d."group" AND m.is_admin '
    'JOIN app_user u ON u.id = m."user" '
    "WHERE d.id IN ({ids}) AND "
    + _not_sent("duties_empty", 'm."user"', "d.id")
    + " ORDER BY d.id, u.id"
)


async def _openings(dists: list[dict], contexts: dict) -> list[outbox.NewMail]:
    places = await _places(dists)
    with_roles = [d for d in dists if places.get(d["id"])]
    by_id = {d["id"]: d for d in with_roles}
    mails = []
    for rcpt in await _recipients(_MEMBERS_WITHOUT_ROLE, list(by_id)):
        d = by_id[rcpt["distribution"]]
        ctx = _site(contexts, d["instance"])
        roles = [r for r in places[d["id"]] if r["free"]]
        if not roles:
            continue  # every place taken already: nothing to announce
        context = _context(d, ctx) | {
            "first_name": rcpt["first_name"],
            "roles": roles,
            "url": f"{ctx.base_url}/g/{d['group_slug']}/permanences#d{d['id']}",
        }
        mails.append(
            _mail("duties_open", "duties_open", rcpt, d, context, ctx, expires_at=d["starts_at"])
        )
    return mails


async def _team(dist_ids: list[int]) -> dict[int, list[dict]]:
    """{distribution: [{role, names}]}: who holds what, for the instructions."""
    rows: list[dict] = []
    for start in range(0, len(dist_ids), CHUNK):
        rows += (
            await DutySignup.select(
                DutySignup.distribution,
                DutySignup.role.name.as_alias("role"),
                DutySignup.role.position.as_alias("position"),
                DutySignup.user.first_name.as_alias("first_name"),
                DutySignup.user.last_name.as_alias("last_name"),
            )
            .where(DutySignup.distribution.is_in(dist_ids[start : start + CHUNK]))
            .order_by(DutySignup.place)
        )
    team: dict[int, dict[str, list[str]]] = {}
    for r in sorted(rows, key=lambda r: r["position"]):
        team.setdefault(r["distribution"], {}).setdefault(r["role"], []).append(short_name(r))
    return {
        d: [{"role": k, "names": ", ".join(v)} for k, v in roles.items()]
        for d, roles in team.items()
    }


async def _instructions(dists: list[dict], contexts: dict) -> list[outbox.NewMail]:
    by_id = {d["id"]: d for d in dists}
    recipients = await _recipients(_VOLUNTEERS, list(by_id))
    if not recipients:
        return []
    roles = {
        r["id"]: r
        for r in await DutyRole.select(DutyRole.id, DutyRole.name, DutyRole.instructions).where(
            DutyRole.id.is_in(sorted({r["role"] for r in recipients}))
        )
    }
    groups = sorted({by_id[r["distribution"]]["group"] for r in recipients})
    shared = {
        r["group"]: r["instructions"]
        for r in await DutySettings.select(DutySettings.group, DutySettings.instructions).where(
            DutySettings.group.is_in(groups)
        )
    }
    team = await _team(sorted({r["distribution"] for r in recipients}))
    mails = []
    for rcpt in recipients:
        d = by_id[rcpt["distribution"]]
        ctx = _site(contexts, d["instance"])
        role = roles[rcpt["role"]]
        context = _context(d, ctx) | {
            "first_name": rcpt["first_name"],
            "role": role["name"],
            "role_instructions": role["instructions"],
            "group_instructions": shared.get(d["group"], ""),
            "team": team.get(d["id"], []),
            "url": f"{ctx.base_url}/g/{d['group_slug']}/permanences#d{d['id']}",
        }
        mails.append(
            _mail(
                "duty_instructions",
                "duty_instructions",
                rcpt,
                d,
                context,
                ctx,
                expires_at=d["starts_at"],
                volunteer=rcpt["user_id"],
            )
        )
    return mails


async def _empty_alerts(dists: list[dict], contexts: dict) -> list[outbox.NewMail]:
    places = await _places(dists)
    empty = {d["id"]: d for d in dists if any(r["free"] for r in places.get(d["id"], []))}
    mails = []
    for rcpt in await _recipients(_ADMINS, list(empty)):
        d = empty[rcpt["distribution"]]
        ctx = _site(contexts, d["instance"])
        roles = [r for r in places[d["id"]] if r["free"]]
        context = _context(d, ctx) | {
            "first_name": rcpt["first_name"],
            "roles": roles,
            "free": sum(r["free"] for r in roles),
            "url": f"{ctx.base_url}/g/{d['group_slug']}/permanences/{d['id']}",
        }
        mails.append(
            _mail(
                "duties_empty",
                "duties_empty",
                rcpt,
                d,
                context,
                ctx,
                expires_at=d["starts_at"] - EMPTY_ALERT_UNTIL,
            )
        )
    return mails


async def queue_due(contexts: dict, moment: datetime | None = None) -> list[int]:
    """Queue every duty mail due at `moment`; the ids of the new outbox rows (to enqueue
    once this returns). `contexts`: {instance key: MailContext}."""
    moment = moment or now()
    windows = await due(moment)
    mails = await _openings(windows["duties_open"], contexts)
    mails += await _instructions(windows["duty_instructions"], contexts)
    mails += await _empty_alerts(windows["duties_empty"], contexts)
    return await outbox.queue_many(mails)
