"""Mes commandes: a member's past and coming orders across their groups."""

from __future__ import annotations

from domain.kernel.clock import now
from domain.kernel.dates import label
from domain.tables import (
    Order,
)

# ---- member's orders -------------------------------------------------------------------


async def orders_of(user_id: int, instance: str) -> list[dict]:
    """Mes commandes: past and coming orders across the member's groups."""
    rows = (
        await Order.select(
            Order.id,
            Order.state,
            Order.total_cents,
            Order.distribution.id.as_alias("distribution_id"),
            Order.distribution.starts_at.as_alias("starts_at"),
            Order.distribution.cancelled_at.as_alias("cancelled_at"),
            Order.distribution.place.name.as_alias("place_name"),
            Order.distribution.group.name.as_alias("group_name"),
            Order.distribution.group.slug.as_alias("group_slug"),
        )
        .where(
            (Order.user == user_id)
            & (Order.total_cents > 0)
            & (Order.distribution.group.instance == instance)
        )
        .order_by(Order.distribution.starts_at, ascending=False)
        .limit(200)
    )
    moment = now()
    for row in rows:
        row["label"] = label(row["starts_at"])
        row["coming"] = row["starts_at"] >= moment
    return rows
