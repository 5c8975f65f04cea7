"""Calendar feeds (RFC 5545): a group's distributions for anyone (dates, times, places
only), and each member's own distributions of the group (with what they ordered or
subscribed to) behind a private address they can change or turn off.

What a calendar app needs to follow changes rather than duplicate events:
- one UID per event that never changes: `distribution-<id>@<domain>` (the group's feed),
  `distribution-<id>-membre-<user>@<domain>` (a member's), `<domain>` being the default
  instance's host, so that a group moved to another instance keeps its UIDs;
- SEQUENCE: `Distribution.sequence`, bumped by a move or a cancellation; a cancelled
  distribution stays in the feed with STATUS:CANCELLED, so that the app cancels it;
- local times with TZID=Europe/Paris and its VTIMEZONE (the EU rules, as RRULEs).

A member's address is `<id>-<version>-<mac>`: the feed row's id and version and an HMAC of
both (with the person and the group) under the secret key. Nothing secret is stored; a new
address bumps the version, turning it off clears `active`: the old address answers 404, as
does an address used under another group's URL or after the person left the group.

What a member's feed shows at a distribution comes from SOURCES, each a function
(user id, distributions) -> {distribution id: [lines of text]}: what they ordered, the
contracts they subscribed to. A distribution with at least one line is in their feed. The
volunteer duties add theirs here (« Permanence : Accueil ») when they exist.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache

from icalendar import Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard

from domain.database import transaction
from domain.kernel import tokens
from domain.kernel.dates import local
from domain.kernel.errors import FieldErrors
from domain.kernel.money import euros
from domain.tables import (
    CalendarFeed,
    CatalogDistribution,
    Distribution,
    Membership,
    OrderLine,
    Subscription,
)

PURPOSE = "calendar-feed"
PAST = timedelta(days=365)  # past distributions a feed keeps
MAX_EVENTS = 500
PRODID = "-//Circuit Court//Calendrier des distributions//FR"
REFRESH = timedelta(hours=6)  # what the feed suggests to calendar apps (RFC 7986)

# ---- Europe/Paris ----------------------------------------------------------------------


@cache
def paris_vtimezone() -> Timezone:
    """Europe/Paris as the EU has it since 1996: CEST from the last Sunday of March at 02:00
    to the last Sunday of October at 03:00 (tests check it against the system's tzdata)."""
    summer = TimezoneDaylight()
    summer.add("tzname", "CEST")
    summer.add("dtstart", datetime(1981, 3, 29, 2, 0))
    summer.add("rrule", {"freq": "yearly", "bymonth": 3, "byday": "-1su"})
    summer.add("tzoffsetfrom", timedelta(hours=1))
    summer.add("tzoffsetto", timedelta(hours=2))
    winter = TimezoneStandard()
    winter.add("tzname", "CET")
    winter.add("dtstart", datetime(1996, 10, 27, 3, 0))
    winter.add("rrule", {"freq": "yearly", "bymonth": 10, "byday": "-1su"})
    winter.add("tzoffsetfrom", timedelta(hours=2))
    winter.add("tzoffsetto", timedelta(hours=1))
    zone = Timezone()
    zone.add("tzid", "Europe/Paris")
    zone.add_component(summer)
    zone.add_component(winter)
    return zone


# ---- the feeds -------------------------------------------------------------------------

_DIST_COLUMNS = (
    Distribution.id,
    Distribution.starts_at,
    Distribution.ends_at,
    Distribution.cancelled_at,
    Distribution.sequence,
    Distribution.place.name.as_alias("place_name"),
    Distribution.place.address.as_alias("place_address"),
)


async def distributions_for_feed(group_id: int, moment: datetime) -> list[dict]:
    """The group's distributions of the last year and to come, cancelled ones included
    (so that calendar apps cancel their event): one query."""
    return (
        await Distribution.select(*_DIST_COLUMNS)
        .where((Distribution.group == group_id) & (Distribution.ends_at >= moment - PAST))
        .order_by(Distribution.starts_at)
        .limit(MAX_EVENTS)
    )


def _calendar(name: str, description: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("name", name)
    calendar.add("x-wr-calname", name)
    calendar.add("description", description)
    calendar.add("x-wr-timezone", "Europe/Paris")
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add_component(paris_vtimezone())
    return calendar


def _event(dist: dict, uid: str, summary: str, description: str, url: str, moment) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", moment.astimezone(UTC))
    event.add("dtstart", local(dist["starts_at"]))
    event.add("dtend", local(dist["ends_at"]))
    event.add("sequence", dist["sequence"])
    cancelled = dist["cancelled_at"] is not None
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("summary", f"Annulée : {summary}" if cancelled else summary)
    place = dist["place_name"]
    if dist["place_address"]:
        place += ", " + " ".join(dist["place_address"].split())
    event.add("location", place)
    if description:
        event.add("description", description)
    event.add("url", url)
    event.add("transp", "TRANSPARENT")  # a distribution does not make one busy all along
    return event


def group_feed(
    group: dict, dists: Sequence[dict], *, base_url: str, uid_domain: str, moment: datetime
) -> bytes:
    """The group's calendar: dates, times and places of its distributions, nothing else."""
    calendar = _calendar(
        f"Distributions – {group['name']}", f"Les distributions de {group['name']}."
    )
    url = f"{base_url}/g/{group['slug']}"
    for dist in dists:
        calendar.add_component(
            _event(
                dist,
                f"distribution-{dist['id']}@{uid_domain}",
                f"Distribution – {group['name']}",
                "",
                url,
                moment,
            )
        )
    return calendar.to_ical()


def member_feed(
    group: dict,
    user_id: int,
    dists: Sequence[dict],
    lines: dict[int, list[str]],
    *,
    base_url: str,
    uid_domain: str,
    moment: datetime,
) -> bytes:
    """A member's calendar of the group: the distributions that have lines for them."""
    calendar = _calendar(
        f"Mes distributions – {group['name']}",
        f"Vos distributions à {group['name']} : ce que vous avez commandé ou souscrit.",
    )
    for dist in dists:
        if not lines.get(dist["id"]):
            continue
        calendar.add_component(
            _event(
                dist,
                f"distribution-{dist['id']}-membre-{user_id}@{uid_domain}",
                f"Distribution – {group['name']}",
                "\n".join(lines[dist["id"]]),
                f"{base_url}/g/{group['slug']}/commandes/{dist['id']}",
                moment,
            )
        )
    return calendar.to_ical()


# ---- what a member's feed shows at each distribution --------------------------------------

Source = Callable[[int, list[dict]], Awaitable[dict[int, list[str]]]]


async def ordered(user_id: int, dists: list[dict]) -> dict[int, list[str]]:
    """Their validated order at each distribution, line by line, and its total: one query."""
    ids = [d["id"] for d in dists]
    if not ids:
        return {}
    rows = await OrderLine.select(
        OrderLine.order.distribution.as_alias("distribution"),
        OrderLine.order.total_cents.as_alias("total_cents"),
        OrderLine.quantity,
        OrderLine.unit_price_cents,
        OrderLine.product.name.as_alias("name"),
        OrderLine.product.unit.as_alias("unit"),
        OrderLine.product.catalog.vendor.name.as_alias("vendor_name"),
        # A product of a producer's list has no catalog of its own: its producer's name.
        OrderLine.product.producer.name.as_alias("producer_name"),
    ).where(
        (OrderLine.order.user == user_id)
        & OrderLine.order.distribution.is_in(ids)
        & (OrderLine.order.state == "validated")
    )
    for row in rows:
        row["vendor_name"] = row["vendor_name"] or row["producer_name"] or ""
    rows.sort(key=lambda r: (r["vendor_name"], r["name"]))
    found: dict[int, list[str]] = {}
    totals: dict[int, int] = {}
    for row in rows:
        found.setdefault(row["distribution"], ["Ma commande :"]).append(
            f"- {row['quantity']} × {row['name']} ({row['unit']}, {row['vendor_name']}) : "
            f"{euros(row['quantity'] * row['unit_price_cents'])}"
        )
        totals[row["distribution"]] = row["total_cents"]
    for dist_id, total in totals.items():
        found[dist_id].append(f"Total : {euros(total)}")
    return found


async def subscribed(user_id: int, dists: list[dict]) -> dict[int, list[str]]:
    """The contracts they subscribed to that deliver at each distribution within their
    period (and before they ended): one query."""
    ids = [d["id"] for d in dists]
    if not ids:
        return {}
    links = await CatalogDistribution.select(
        CatalogDistribution.distribution,
        CatalogDistribution.catalog,
        CatalogDistribution.catalog.name.as_alias("catalog_name"),
        CatalogDistribution.catalog.vendor.name.as_alias("vendor_name"),
    ).where(
        CatalogDistribution.distribution.is_in(ids)
        & CatalogDistribution.catalog.is_in(
            Subscription.select(Subscription.catalog).where(Subscription.user == user_id)
        )
    )
    if not links:
        return {}
    subs = await Subscription.select(
        Subscription.catalog, Subscription.starts_on, Subscription.ends_on, Subscription.ended_at
    ).where(
        (Subscription.user == user_id)
        & Subscription.catalog.is_in(sorted({link["catalog"] for link in links}))
    )
    starts = {d["id"]: d["starts_at"] for d in dists}
    found: dict[int, list[str]] = {}
    for link in sorted(links, key=lambda x: (x["vendor_name"], x["catalog_name"])):
        when = starts[link["distribution"]]
        if any(
            s["catalog"] == link["catalog"]
            and s["starts_on"] <= local(when).date() <= s["ends_on"]
            and (s["ended_at"] is None or s["ended_at"] > when)
            for s in subs
        ):
            found.setdefault(link["distribution"], []).append(
                f"Contrat : {link['catalog_name']} ({link['vendor_name']})"
            )
    return found


# The duties add theirs here (see the module's docstring).
SOURCES: tuple[Source, ...] = (subscribed, ordered)


async def member_lines(user_id: int, dists: list[dict]) -> dict[int, list[str]]:
    """{distribution id: lines}: every source's, in the order of SOURCES."""
    found: dict[int, list[str]] = {}
    for source in SOURCES:
        for dist_id, lines in (await source(user_id, dists)).items():
            if lines:
                found.setdefault(dist_id, []).extend(lines)
    return found


# ---- a member's private address -----------------------------------------------------------

_TOKEN = re.compile(r"([0-9]{1,12})-([0-9]{1,9})-([0-9a-f]{32})")


def _mac(feed: dict, secret: str) -> str:
    message = f"{PURPOSE}:{feed['id']}:{feed['version']}:{feed['user']}:{feed['group']}"
    return tokens.short_mac(secret, message)


def token_of(feed: dict, secret: str) -> str:
    return f"{feed['id']}-{feed['version']}-{_mac(feed, secret)}"


async def feed_of(user_id: int, group_id: int) -> dict | None:
    """The member's active address row for the group, or None."""
    return (
        await CalendarFeed.select()
        .where(
            (CalendarFeed.user == user_id)
            & (CalendarFeed.group == group_id)
            & (CalendarFeed.active == True)  # noqa: E712 - SQL
        )
        .first()
    )


ACTIONS = {
    "creer": "Votre adresse privée est prête : ajoutez-la à votre agenda.",
    "renouveler": "Nouvelle adresse créée : l'ancienne ne fonctionne plus. Remplacez-la "
    "dans votre agenda.",
    "desactiver": "Votre adresse privée est désactivée : elle ne fonctionne plus.",
}


async def change_address(user_id: int, group_id: int, action: str) -> str:
    """« Créer mon adresse » (or turn it back on, with a new address), « Nouvelle adresse »
    (the old one stops working), « Désactiver »: one transaction; returns the notice."""
    if action not in ACTIONS:
        raise FieldErrors({"action": "Choisissez une action proposée sur la page."})
    async with transaction():
        if not await Membership.exists().where(
            (Membership.user == user_id) & (Membership.group == group_id)
        ):
            raise FieldErrors({"action": "Vous n'êtes pas membre de ce groupe."})
        # One row per member and group; each change gives a new version (a new address).
        await CalendarFeed.raw(
            'INSERT INTO calendar_feed ("user", "group", version, active, created_at) '
            "VALUES ({}, {}, 0, false, CURRENT_TIMESTAMP) "
            'ON CONFLICT ("user", "group") DO NOTHING',
            user_id,
            group_id,
        )
        await CalendarFeed.update(
            {
                CalendarFeed.version: CalendarFeed.version + 1,
                CalendarFeed.active: action != "desactiver",
            }
        ).where((CalendarFeed.user == user_id) & (CalendarFeed.group == group_id))
    return ACTIONS[action]


async def member_of_address(group_id: int, token: str, secret: str) -> int | None:
    """The member a private address stands for in this group; None (404) when the address
    is altered, changed since, turned off, another group's, or the person left."""
    match = _TOKEN.fullmatch(token)
    if match is None:
        return None
    feed_id, version, mac = int(match[1]), int(match[2]), match[3]
    feed = (
        await CalendarFeed.select()
        .where(
            (CalendarFeed.id == feed_id)
            & (CalendarFeed.group == group_id)
            & (CalendarFeed.version == version)
            & (CalendarFeed.active == True)  # noqa: E712 - SQL
            & CalendarFeed.user.is_in(
                Membership.select(Membership.user).where(Membership.group == group_id)
            )
        )
        .first()
    )
    if feed is None or not tokens.same(_mac(feed, secret), mac):
        return None
    return feed["user"]
