"""Who runs a producer space: the accounts linked to its vendors (`Vendor.user`, set by the
groups' admins on the PRODUCTEURS tab). An account's vendors share one producer: the
first vendor linked to an account makes it, the next ones join it."""

from __future__ import annotations

from domain.tables import Catalog, EscarcelleLink, Producer, Vendor


async def for_login(user_id: int | None, name: str) -> int:
    """The producer a new vendor belongs to: the one of its login's vendors, else a new one
    named after it. Call it in the vendor's transaction."""
    if user_id is not None:
        found = (
            await Vendor.select(Vendor.producer)
            .where((Vendor.user == user_id) & Vendor.producer.is_not_null())
            .order_by(Vendor.id)
            .first()
        )
        if found:
            return found["producer"]
    rows = await Producer.insert(Producer(name=name)).returning(Producer.id)
    return rows[0]["id"]


async def producers_of(user_id: int) -> list[dict]:
    """The producer spaces this account runs, by name: [{id, name}]."""
    rows = await Vendor.select(
        Vendor.producer.id.as_alias("id"), Vendor.producer.name.as_alias("name")
    ).where((Vendor.user == user_id) & Vendor.producer.is_not_null())
    unique = {row["id"]: row for row in rows}
    return sorted(unique.values(), key=lambda r: (r["name"].lower(), r["id"]))


async def producer_of(user_id: int, producer_id: int) -> dict | None:
    """The producer if this account runs it, else None (its pages answer 404)."""
    row = (
        await Vendor.select(
            Vendor.producer.id.as_alias("id"), Vendor.producer.name.as_alias("name")
        )
        .where((Vendor.user == user_id) & (Vendor.producer == producer_id))
        .first()
    )
    return row


async def admins_of(producer_id: int) -> list[dict]:
    """The accounts that run the producer (its mails go to them): [{id, email, first_name}]."""
    rows = await Vendor.select(
        Vendor.user.id.as_alias("id"),
        Vendor.user.email.as_alias("email"),
        Vendor.user.first_name.as_alias("first_name"),
    ).where((Vendor.producer == producer_id) & Vendor.user.is_not_null())
    unique = {row["id"]: row for row in rows}
    return [unique[k] for k in sorted(unique)]


async def group_ids(producer_id: int) -> list[int]:
    """The groups where the producer sells (through one of its vendors)."""
    rows = await Vendor.select(Vendor.group).where(Vendor.producer == producer_id)
    return sorted({row["group"] for row in rows})


async def catalogs_of(producer_id: int) -> list[dict]:
    """The catalogs of its vendors, by group then name: where its products may be added
    (the variable ones; a fixed contract's products are its own)."""
    return (
        await Catalog.select(
            Catalog.id,
            Catalog.name,
            Catalog.kind,
            Catalog.group.id.as_alias("group_id"),
            Catalog.group.name.as_alias("group_name"),
            Catalog.group.slug.as_alias("group_slug"),
        )
        .where(Catalog.vendor.producer == producer_id)
        .order_by(Catalog.group.name)
        .order_by(Catalog.name)
    )


async def is_linked(producer_id: int) -> bool:
    """Whether the producer is linked to its grocery in Escarcelle (domain/escarcelle)."""
    return await EscarcelleLink.exists().where(EscarcelleLink.producer == producer_id)
