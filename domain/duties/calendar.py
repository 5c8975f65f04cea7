"""The calendar of coming distributions with their roles, who holds them and the places
left; the list of one day for its admins (printed, and with the émargement).

A fixed number of queries whatever the number of distributions, roles and volunteers:
the distributions, the roles, the deliveries of the catalogs that have roles, the
sign-ups, and what the admins typed for the people not accepted yet (consent.mask)."""

from __future__ import annotations

from datetime import datetime

from domain.catalog_orders.recaps import member_name
from domain.duties import opens_at
from domain.duties.roles import roles_of, settings_of
from domain.kernel.clock import now
from domain.kernel.dates import format_moment, label
from domain.members import consent
from domain.tables import CatalogDistribution, Distribution, DutySignup, Membership

CALENDAR_LIMIT = 60  # a year of weekly distributions, and some


def short_name(person: dict) -> str:
    """ "Paul M.": what members see of each other on the calendar."""
    first, last = person["first_name"].strip(), person["last_name"].strip()
    if first and last:
        return f"{first} {last[0].upper()}."
    return first or last or "Un membre"


async def needed_roles(group_id: int, roles: list[dict], dist_ids: list[int]) -> dict[int, list]:
    """{distribution: the roles needed there}: the group's everywhere, a catalog's where
    that catalog delivers. One query (none without catalog roles)."""
    catalogs = sorted({r["catalog"] for r in roles if r["catalog"] is not None})
    delivers: set[tuple[int, int]] = set()
    if catalogs and dist_ids:
        rows = await CatalogDistribution.select(
            CatalogDistribution.catalog, CatalogDistribution.distribution
        ).where(
            CatalogDistribution.catalog.is_in(catalogs)
            & CatalogDistribution.distribution.is_in(dist_ids)
        )
        delivers = {(r["catalog"], r["distribution"]) for r in rows}
    return {
        d: [r for r in roles if r["catalog"] is None or (r["catalog"], d) in delivers]
        for d in dist_ids
    }


async def _signups(group_id: int, dist_ids: list[int]) -> list[dict]:
    """The sign-ups at these distributions with the people as the group's admins see them."""
    if not dist_ids:
        return []
    rows = (
        await DutySignup.select(
            DutySignup.distribution,
            DutySignup.role,
            DutySignup.place,
            DutySignup.assigned_by,
            DutySignup.user.id.as_alias("user_id"),
            DutySignup.user.first_name.as_alias("first_name"),
            DutySignup.user.last_name.as_alias("last_name"),
            DutySignup.user.phone.as_alias("phone"),
            DutySignup.user.email.as_alias("email"),
        )
        .where(DutySignup.distribution.is_in(dist_ids))
        .order_by(DutySignup.place)
    )
    await consent.mask(group_id, rows)
    return rows


def _assemble(dist: dict, needed: list[dict], signups: list[dict], user_id: int | None) -> dict:
    roles, mine = [], None
    for role in needed:
        people = [s for s in signups if s["role"] == role["id"]]
        if any(p["user_id"] == user_id for p in people):
            mine = role["id"]
        roles.append(
            role
            | {
                "people": [
                    p
                    | {
                        "me": p["user_id"] == user_id,
                        "short": short_name(p),
                        "name": member_name(p) or p["email"],
                    }
                    for p in people
                ],
                "free": max(0, role["places"] - len(people)),
            }
        )
    return dist | {
        "roles": roles,
        "mine": mine,
        "free": sum(r["free"] for r in roles),
        "places": sum(r["places"] for r in roles),
    }


def _dist_view(d: dict, open_days: int, moment: datetime) -> dict:
    opening = opens_at(d["starts_at"], open_days)
    return d | {
        "when": label(d["starts_at"]),
        "ends": format_moment(d["ends_at"], "time"),
        "opens_label": label(opening),
        "open": opening <= moment < d["starts_at"] and d["cancelled_at"] is None,
        # Nothing changes any more (an admin's assigning and removing neither).
        "closed": moment >= d["starts_at"] or d["cancelled_at"] is not None,
    }


async def calendar(
    group_id: int, user_id: int | None, moment: datetime | None = None, limit: int = CALENDAR_LIMIT
) -> dict:
    """The coming distributions (not started yet), each with its roles, their people and
    places left, and the user's own role there (`mine`)."""
    moment = moment or now()
    settings = await settings_of(group_id)
    dists = (
        await Distribution.select(
            Distribution.id,
            Distribution.starts_at,
            Distribution.ends_at,
            Distribution.cancelled_at,
            Distribution.place.name.as_alias("place_name"),
        )
        .where((Distribution.group == group_id) & (Distribution.starts_at > moment))
        .order_by(Distribution.starts_at)
        .limit(limit)
    )
    roles = await roles_of(group_id)
    ids = [d["id"] for d in dists]
    needed = await needed_roles(group_id, roles, ids) if roles else {}
    signups = await _signups(group_id, ids) if roles else []
    by_dist: dict[int, list[dict]] = {}
    for s in signups:
        by_dist.setdefault(s["distribution"], []).append(s)
    days = settings["open_days"]
    return {
        "settings": settings,
        "has_roles": bool(roles),
        "distributions": [
            _assemble(
                _dist_view(d, days, moment),
                needed.get(d["id"], []),
                by_dist.get(d["id"], []),
                user_id,
            )
            for d in dists
        ],
    }


async def one_distribution(
    group_id: int, distribution_id: int, user_id: int | None, moment: datetime | None = None
) -> dict | None:
    """One distribution of the calendar (the card an htmx sign-up swaps); None if it is not
    one of the group's."""
    moment = moment or now()
    d = (
        await Distribution.select(
            Distribution.id,
            Distribution.starts_at,
            Distribution.ends_at,
            Distribution.cancelled_at,
            Distribution.place.name.as_alias("place_name"),
        )
        .where((Distribution.id == distribution_id) & (Distribution.group == group_id))
        .first()
    )
    if d is None:
        return None
    settings = await settings_of(group_id)
    roles = await roles_of(group_id)
    needed = await needed_roles(group_id, roles, [d["id"]]) if roles else {}
    signups = await _signups(group_id, [d["id"]]) if roles else []
    return _assemble(
        _dist_view(d, settings["open_days"], moment), needed.get(d["id"], []), signups, user_id
    )


async def day(group_id: int, distribution_id: int, moment: datetime | None = None) -> dict | None:
    """The admins' page of one day: its roles, volunteers (names as admins see them, phone),
    empty places, and the members who hold no role there yet (to assign one)."""
    found = await one_distribution(group_id, distribution_id, None, moment)
    if found is None:
        return None
    holding = {p["user_id"] for r in found["roles"] for p in r["people"]}
    members = await Membership.select(
        Membership.user.id.as_alias("user_id"),
        consent.shown("first_name"),
        consent.shown("last_name"),
        Membership.user.email.as_alias("email"),
    ).where(Membership.group == group_id)
    choices = sorted(
        (
            {"id": m["user_id"], "name": member_name(m) or m["email"]}
            for m in members
            if m["user_id"] not in holding
        ),
        key=lambda m: m["name"].lower(),
    )
    return found | {"members": choices}


async def volunteers_of_day(group_id: int, distribution_id: int) -> list[dict]:
    """The roles of one day and their volunteers, for the émargement (whose page found the
    distribution among the group's already): one query when the group has no roles, four
    when it has."""
    roles = await roles_of(group_id)
    if not roles:
        return []
    needed = await needed_roles(group_id, roles, [distribution_id])
    signups = await _signups(group_id, [distribution_id])
    return _assemble({}, needed[distribution_id], signups, None)["roles"]
