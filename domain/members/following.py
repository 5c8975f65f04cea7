"""Mes marchés suivis: the groups a person follows on this instance."""

from __future__ import annotations

from domain.kernel.dates import label
from domain.tables import (
    Membership,
)


async def followed_groups(user_id: int, instance: str) -> list[dict]:
    """Mes marchés suivis."""
    rows = (
        await Membership.select(
            Membership.is_admin,
            Membership.created_at,
            Membership.group.id.as_alias("id"),
            Membership.group.name.as_alias("name"),
            Membership.group.slug.as_alias("slug"),
            Membership.group.kind.as_alias("kind"),
        )
        .where((Membership.user == user_id) & (Membership.group.instance == instance))
        .order_by(Membership.group.name)
    )
    for row in rows:
        row["since"] = label(row["created_at"])
    return rows


async def followed_group(user_id: int, group_id: int, instance: str) -> dict | None:
    rows = [g for g in await followed_groups(user_id, instance) if g["id"] == group_id]
    return rows[0] if rows else None
