"""The order recap mail: one per burst of changes."""

from __future__ import annotations

import json
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

# A line's product and vendor (`l`: a line, GROUP: the distribution's group), in the
# mail's order.
_OF_LINE = (
    "JOIN product p ON p.id = l.product "
    'LEFT JOIN catalog_offer co ON co.product = p.id AND co."group" = GROUP '
    "JOIN catalog c ON c.id = COALESCE(p.catalog, co.catalog) "
    "LEFT JOIN vendor v ON v.id = c.vendor"
)
_ORDER = "v.name, p.name, l.id"
_LINES = (
    "SELECT l.quantity, l.unit_price_cents, p.name, p.unit, v.name AS vendor_name "
    'FROM order_line l JOIN member_order o ON o.id = l."order" '
    "JOIN distribution d ON d.id = o.distribution "
    + _OF_LINE.replace("GROUP", 'd."group"')
    + f' WHERE l."order" = {{}} ORDER BY {_ORDER}'
)


def lines_json(rows: str) -> str:
    """A scalar subquery: the lines `rows` (a FROM item: id, product, quantity,
    unit_price_cents), as `order_lines` gives them, in one JSON array (NULL: none);
    parameters: those of `rows`, then the distribution's group."""
    fields = ", ".join(
        f"'{name}', {column}"
        for name, column in (
            ("quantity", "l.quantity"),
            ("unit_price_cents", "l.unit_price_cents"),
            ("name", "p.name"),
            ("unit", "p.unit"),
            ("vendor_name", "v.name"),
        )
    )
    joins = _OF_LINE.replace("GROUP", "{}")
    aggregate = f"json_agg(json_build_object({fields}) ORDER BY {_ORDER})"
    return f"(SELECT {aggregate} FROM {rows} l {joins})"  # noqa: S608 - constant texts


def decoded_lines(value: str | None) -> list[dict]:
    """What `lines_json` returned, as `order_lines` gives it."""
    return json.loads(value) if value else []


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


def mail(order_id: int, user_id: int, dist: dict, ctx, recipient: dict, lines: list[dict]):
    """The recap as `outbox.queue_grouped`'s arguments."""
    total = sum(line["quantity"] * line["unit_price_cents"] for line in lines)
    return {
        "key_prefix": f"recap:{order_id}",
        "kind": RECAP_KIND,
        "to": recipient["email"],
        "user": user_id,
        "template": "order_recap",
        "ctx": ctx,
        "send_after": now() + RECAP_GROUPING,
        "context": {
            "first_name": recipient["first_name"],
            "group_name": recipient["group_name"],
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
            "url": f"{ctx.base_url}/g/{recipient['group_slug']}/commandes/{dist['id']}",
        },
    }


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
    mail_id = await outbox.queue_grouped(**mail(order_id, user_id, dist, ctx, recipient, lines))
    return [mail_id] if mail_id else []
