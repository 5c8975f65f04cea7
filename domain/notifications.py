"""Automatic notifications: orders open, 24 h and 4 h reminders, and "Mes communications".

The scheduler calls `queue_due` every minute. Each notification has the unique outbox key
`<kind>:<user>:<distribution>`, so running it twice, in two processes at once, or after
hours down never sends one twice: INSERT … ON CONFLICT DO NOTHING keeps the first row.
What is due is decided by windows, so a late run never sends a stale notification:

- orders_open: while the orders of one catalog at the distribution are open (the
  distribution's window, narrowed by the catalog's own when CatalogDistribution sets
  one, as domain/ordering.py applies it); to the members who
  did not opt out and have not ordered yet; one mail per distribution, listing the
  catalogs open at that moment.
- reminder_24h: from 24 h before the start until 4 h before (then the 4 h one takes over);
- reminder_4h: from 4 h before the start until the start.
Reminders go to the members with a validated order, with their lines, time and place.

A row keeps its window end (`expires_at`) and the distribution's start; the sending job
drops it if it could only go late, or if the distribution was cancelled or moved.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain import outbox
from domain.contracts import sharing
from domain.kernel.clock import now
from domain.kernel.dates import format_moment, label
from domain.kernel.money import euros
from domain.tables import CatalogDistribution, Distribution, DutySignup, OrderLine

# kind: (sent from this long before the start, until this long before it)
REMINDERS = {
    "reminder_24h": (timedelta(hours=24), timedelta(hours=4)),
    "reminder_4h": (timedelta(hours=4), timedelta(0)),
}
ID_CHUNK = 500


# ---- what is due -----------------------------------------------------------------------

_DIST_COLUMNS = (
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


async def due_reminders(moment: datetime) -> dict[str, list[dict]]:
    """{reminder kind: distributions inside its window at `moment`}: one query."""
    dists = (
        await Distribution.select(*_DIST_COLUMNS)
        .where(
            Distribution.cancelled_at.is_null()
            & (Distribution.starts_at > moment)
            & (Distribution.starts_at <= moment + REMINDERS["reminder_24h"][0])
        )
        .order_by(Distribution.starts_at)
    )
    due: dict[str, list[dict]] = {kind: [] for kind in REMINDERS}
    for dist in dists:
        for kind, (since, until) in REMINDERS.items():
            if dist["starts_at"] - since <= moment < dist["starts_at"] - until:
                due[kind].append(dist)
    return due


async def due_openings(moment: datetime) -> list[dict]:
    """Distributions with at least one catalog whose orders are open at `moment`, with
    those catalogs and when the last of their windows closes: one query."""
    links = (
        await CatalogDistribution.select(
            CatalogDistribution.distribution,
            CatalogDistribution.orders_open_at,
            CatalogDistribution.orders_close_at,
            CatalogDistribution.distribution.orders_open_at.as_alias("dist_open"),
            CatalogDistribution.distribution.orders_close_at.as_alias("dist_close"),
            CatalogDistribution.catalog.name.as_alias("catalog_name"),
            CatalogDistribution.catalog.vendor.name.as_alias("vendor_name"),
        )
        .where(
            CatalogDistribution.distribution.cancelled_at.is_null()
            & (CatalogDistribution.distribution.starts_at > moment)
            & (CatalogDistribution.distribution.orders_open_at <= moment)
            & (CatalogDistribution.distribution.orders_close_at > moment)
        )
        .order_by(CatalogDistribution.catalog.vendor.name)
    )
    open_catalogs: dict[int, list[dict]] = {}
    for link in links:
        # A catalog's own window narrows the distribution's (as in domain/ordering.py).
        opens = max(link["dist_open"], link["orders_open_at"] or link["dist_open"])
        closes = min(link["dist_close"], link["orders_close_at"] or link["dist_close"])
        if opens <= moment < closes:
            open_catalogs.setdefault(link["distribution"], []).append(
                {"name": f"{link['vendor_name']} – {link['catalog_name']}", "closes": closes}
            )
    if not open_catalogs:
        return []
    dists = []
    ids = list(open_catalogs)
    for start in range(0, len(ids), ID_CHUNK):
        dists += await Distribution.select(*_DIST_COLUMNS).where(
            Distribution.id.is_in(ids[start : start + ID_CHUNK])
        )
    for dist in dists:
        catalogs = open_catalogs[dist["id"]]
        dist["catalogs"] = [{"name": c["name"], "closes": label(c["closes"])} for c in catalogs]
        dist["closes_at"] = max(c["closes"] for c in catalogs)
    return sorted(dists, key=lambda d: d["starts_at"])


def _ids(rows: list[dict]) -> str:
    return ", ".join(str(int(row["id"])) for row in rows)


async def _opening_recipients(dists: list[dict]) -> list[dict]:
    """Members of each distribution's group who did not opt out, have no order for it and
    were not sent this notification yet (the key lookup uses the unique index)."""
    found: list[dict] = []
    for start in range(0, len(dists), ID_CHUNK):
        chunk = dists[start : start + ID_CHUNK]
        found += await Distribution.raw(
            # Only integers and constants are put in the text.
            "SELECT d.id AS distribution, u.id AS user_id, u.email, u.first_name "  # noqa: S608
            'FROM distribution d JOIN membership m ON m."group" = d."group" '
            'JOIN app_user u ON u.id = m."user" '
            f"WHERE d.id IN ({_ids(chunk)}) "
            "AND NOT EXISTS (SELECT 1 FROM mail_opt_out x "
            'WHERE x."user" = m."user" AND x.kind = \'orders_open\') '
            "AND NOT EXISTS (SELECT 1 FROM member_order o "
            'WHERE o."user" = m."user" AND o.distribution = d.id) '
            "AND NOT EXISTS (SELECT 1 FROM outbox_mail b "
            "WHERE b.key = 'orders_open:' || m.\"user\" || ':' || d.id) "
            "ORDER BY d.id, u.id"
        )
    return found


async def _reminder_recipients(kind: str, dists: list[dict]) -> list[dict]:
    """Members with a validated order at these distributions, not opted out, not yet sent."""
    assert kind in REMINDERS
    found: list[dict] = []
    for start in range(0, len(dists), ID_CHUNK):
        chunk = dists[start : start + ID_CHUNK]
        found += await Distribution.raw(
            # Only integers and constants are put in the text.
            "SELECT o.id AS order_id, o.distribution, u.id AS user_id, u.email, "  # noqa: S608
            "u.first_name, o.total_cents "
            'FROM member_order o JOIN app_user u ON u.id = o."user" '
            f"WHERE o.distribution IN ({_ids(chunk)}) "
            "AND o.state = 'validated' AND o.total_cents > 0 "
            "AND NOT EXISTS (SELECT 1 FROM mail_opt_out x "
            f'WHERE x."user" = o."user" AND x.kind = \'{kind}\') '
            "AND NOT EXISTS (SELECT 1 FROM outbox_mail b "
            f"WHERE b.key = '{kind}:' || o.\"user\" || ':' || o.distribution) "
            "ORDER BY o.distribution, u.id"
        )
    return found


async def _lines_of(order_ids: list[int]) -> dict[int, list[dict]]:
    lines: dict[int, list[dict]] = {}
    for start in range(0, len(order_ids), ID_CHUNK):
        rows = (
            await OrderLine.select(
                OrderLine.order,
                OrderLine.quantity,
                OrderLine.unit_price_cents,
                OrderLine.product.name.as_alias("name"),
                OrderLine.product.unit.as_alias("unit"),
                OrderLine.product.catalog.vendor.name.as_alias("vendor_name"),
            )
            .where(OrderLine.order.is_in(order_ids[start : start + ID_CHUNK]))
            .where(OrderLine.quantity > 0)
            .order_by(OrderLine.product.catalog.vendor.name)
            .order_by(OrderLine.product.name)
        )
        for row in rows:
            lines.setdefault(row["order"], []).append(
                {
                    **row,
                    "unit_price": euros(row["unit_price_cents"]),
                    "total": euros(row["quantity"] * row["unit_price_cents"]),
                }
            )
    return lines


def _site(contexts: dict, instance: str):
    return contexts.get(instance) or next(iter(contexts.values()))


def _dist_context(dist: dict, ctx) -> dict:
    return {
        "group_name": dist["group_name"],
        "when": label(dist["starts_at"]),
        "ends": format_moment(dist["ends_at"], "time"),
        "place": dist["place_name"],
        "address": dist["place_address"],
        "url": f"{ctx.base_url}/g/{dist['group_slug']}/commandes/{dist['id']}",
    }


async def queue_due(contexts: dict, moment: datetime | None = None) -> list[int]:
    """Queue every notification due at `moment`; returns the ids of the new outbox rows
    (to enqueue once this returns). `contexts`: {instance key: MailContext}."""
    moment = moment or now()
    mails: list[outbox.NewMail] = []

    openings = await due_openings(moment)
    by_id = {d["id"]: d for d in openings}
    for rcpt in await _opening_recipients(openings):
        dist = by_id[rcpt["distribution"]]
        ctx = _site(contexts, dist["instance"])
        context = _dist_context(dist, ctx) | {
            "first_name": rcpt["first_name"],
            "catalogs": dist["catalogs"],
        }
        mails.append(
            _new_mail("orders_open", rcpt, dist, context, ctx, expires_at=dist["closes_at"])
        )

    for kind, dists in (await due_reminders(moment)).items():
        by_id = {d["id"]: d for d in dists}
        # A shared basket: the reminder goes to the one whose turn it is (contracts).
        recipients = await sharing.reroute(kind, await _reminder_recipients(kind, dists))
        lines = await _lines_of([r["order_id"] for r in recipients])
        for rcpt in recipients:
            dist = by_id[rcpt["distribution"]]
            ctx = _site(contexts, dist["instance"])
            context = _dist_context(dist, ctx) | {
                "first_name": rcpt["first_name"],
                "lines": lines.get(rcpt["order_id"], []),
                "total": euros(rcpt["total_cents"]),
                "hours": 24 if kind == "reminder_24h" else 4,
            }
            expires = dist["starts_at"] - REMINDERS[kind][1]
            mails.append(_new_mail(kind, rcpt, dist, context, ctx, expires_at=expires))
    return await outbox.queue_many(mails)


def _new_mail(
    kind: str, rcpt: dict, dist: dict, context: dict, ctx, *, expires_at
) -> outbox.NewMail:
    template = "orders_open" if kind == "orders_open" else "reminder"
    subject, text, html = outbox.render(template, context, kind, site_name=ctx.site_name)
    return outbox.NewMail(
        key=f"{kind}:{rcpt['user_id']}:{dist['id']}",
        kind=kind,
        to=rcpt["email"],
        subject=subject,
        text=text,
        html=html,
        instance=dist["instance"],
        user=rcpt["user_id"],
        headers=outbox.encode_headers(
            expires_at=expires_at, distribution=dist["id"], starts_at=dist["starts_at"]
        ),
    )


async def still_useful(conditions: dict, moment: datetime | None = None) -> str:
    """Why a queued notification must not go any more ("" if it may): checked by the
    sending job just before sending."""
    moment = moment or now()
    expires = conditions.get("expires_at")
    if expires is not None and moment >= expires:
        return "périmé : la fenêtre d'envoi est passée"
    dist_id = conditions.get("distribution")
    if dist_id is None:
        return ""
    dist = (
        await Distribution.select(Distribution.starts_at, Distribution.cancelled_at)
        .where(Distribution.id == dist_id)
        .first()
    )
    if dist is None or dist["cancelled_at"] is not None:
        return "la distribution est annulée"
    starts = conditions.get("starts_at")
    if starts is not None and dist["starts_at"] != starts:
        return "la distribution a été déplacée"
    if moment >= dist["starts_at"]:
        return "la distribution a commencé"
    volunteer = conditions.get("volunteer")
    if volunteer is not None and not await DutySignup.exists().where(
        (DutySignup.distribution == dist_id) & (DutySignup.user == volunteer)
    ):
        return "le bénévole a quitté son rôle"
    return ""
