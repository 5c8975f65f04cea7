"""The order recap mail: one per burst of changes."""

from __future__ import annotations

from datetime import timedelta

from domain import outbox
from domain.database import fetch
from domain.kernel.clock import now
from domain.kernel.dates import label
from domain.kernel.money import euros
from domain.tables import (
    OrderLine,
    User,
)

RECAP_GROUPING = timedelta(minutes=3)


# ---- recap mail ------------------------------------------------------------------------


_LINES = (
    "SELECT l.quantity, l.unit_price_cents, p.name, p.unit, v.name AS vendor_name "
    "FROM order_line l JOIN product p ON p.id = l.product "
    'JOIN member_order o ON o.id = l."order" JOIN distribution d ON d.id = o.distribution '
    'LEFT JOIN catalog_offer co ON co.product = p.id AND co."group" = d."group" '
    "JOIN catalog c ON c.id = COALESCE(p.catalog, co.catalog) "
    "LEFT JOIN vendor v ON v.id = c.vendor "
    'WHERE l."order" = {} ORDER BY v.name, p.name, l.id'
)
# Who gets the recap, in one query; `opted_out`: "Mes communications" turned the recaps
# off (communications.opted_out: a MailOptOut row of that kind).
_RECIPIENT = (
    "SELECT u.email, u.first_name, g.name AS group_name, g.slug AS group_slug, "
    'EXISTS (SELECT 1 FROM mail_opt_out x WHERE x."user" = u.id AND x.kind = {}) '
    "AS opted_out FROM app_user u, app_group g WHERE u.id = {} AND g.id = {}"
)
RECAP_KIND = "order_recap"


async def order_lines(order_id: int) -> list[dict]:
    return await fetch(OrderLine, _LINES, order_id)


async def queue_recap(
    order_id: int, user_id: int, dist: dict, ctx, recipient: dict | None = None
) -> list[int]:
    """One recap per burst of changes: a pending recap of the order is rewritten and its
    sending pushed back, so changes within a few minutes make one mail. None for a member
    who turned the recaps off ("Mes communications"). `recipient`: the fields of
    `_RECIPIENT`, when the caller read them already."""
    if recipient is None:
        [recipient] = await fetch(User, _RECIPIENT, RECAP_KIND, user_id, dist["group"])
    if recipient["opted_out"]:
        return []
    lines = await order_lines(order_id)
    total = sum(line["quantity"] * line["unit_price_cents"] for line in lines)
    user = {"email": recipient["email"], "first_name": recipient["first_name"]}
    group = {"name": recipient["group_name"], "slug": recipient["group_slug"]}
    mail_id = await outbox.queue_grouped(
        key_prefix=f"recap:{order_id}",
        kind=RECAP_KIND,
        to=user["email"],
        user=user_id,
        template="order_recap",
        ctx=ctx,
        send_after=now() + RECAP_GROUPING,
        context={
            "first_name": user["first_name"],
            "group_name": group["name"],
            "when": label(dist["starts_at"]),
            "ends": dist["ends_at"].astimezone(dist["starts_at"].tzinfo),
            "place": dist["place_name"],
            "address": dist["place_address"],
            "lines": [
                {
                    **line,
                    "unit_price": euros(line["unit_price_cents"]),
                    "total": euros(line["quantity"] * line["unit_price_cents"]),
                }
                for line in lines
            ],
            "total": euros(total),
            "url": f"{ctx.base_url}/g/{group['slug']}/commandes/{dist['id']}",
        },
    )
    return [mail_id] if mail_id else []
