"""The BON DE COMMANDE page of a catalog: where its forms go, the forms sent so far, and
the catalog's choice to copy its coordinator."""

from __future__ import annotations

from domain.kernel.dates import label
from domain.order_forms.sending import recipients
from domain.tables import Catalog, OrderForm


async def addresses(catalog_id: int) -> dict:
    """{"producer": address or "", "coordinator": address or "" (if copied), "copy": bool,
    "has_coordinator": bool}."""
    catalog, people = await recipients(catalog_id)
    by_role = {p["role"]: p["email"] for p in people}
    return {
        "producer": by_role.get("producer", ""),
        "coordinator": by_role.get("coordinator", ""),
        "copy": bool(catalog["order_form_copy"]),
        "has_coordinator": catalog["coordinator"] is not None,
    }


async def sent_forms(catalog_id: int, limit: int = 30) -> list[dict]:
    """The catalog's forms, the latest distribution first: its date, the version sent, when."""
    rows = (
        await OrderForm.select(
            OrderForm.distribution,
            OrderForm.version,
            OrderForm.sent_at,
            OrderForm.distribution.starts_at.as_alias("starts_at"),
        )
        .where(OrderForm.catalog == catalog_id)
        .order_by(OrderForm.distribution.starts_at, ascending=False)
        .limit(limit)
    )
    return [
        r | {"when": label(r["starts_at"]), "sent": label(r["sent_at"]) if r["sent_at"] else ""}
        for r in rows
    ]


async def set_copy(catalog_id: int, copy: bool) -> None:
    """The coordinator receives a copy of each form (or not). One statement."""
    await Catalog.update({Catalog.order_form_copy: copy}).where(Catalog.id == catalog_id)
