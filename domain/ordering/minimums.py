"""A variable contract's minimum order per distribution (ContractTerms.minimum_order_cents,
set by its coordinator in domain/contracts): « Valider ma commande » is refused while the
order's lines of that contract are above zero and below it. Read from the table here, so
that ordering needs nothing of the contracts area (which builds on ordering)."""

from __future__ import annotations

from domain.database import fetch
from domain.kernel.money import euros
from domain.ordering import OrderingError
from domain.tables import ContractTerms, OrderLine

# The order's lines with the catalog each was ordered in: a product's own catalog, or for a
# product of a producer's list the catalog of the order's group that offers it
# (catalogs/offers.py). Parameter: the order.
_LINES = (
    "SELECT l.quantity, l.unit_price_cents, COALESCE(p.catalog, co.catalog) AS catalog"
    ' FROM order_line l JOIN member_order o ON o.id = l."order"'
    " JOIN distribution d ON d.id = o.distribution JOIN product p ON p.id = l.product"
    ' LEFT JOIN catalog_offer co ON co.product = p.id AND co."group" = d."group"'
    ' WHERE l."order" = {}'
)


async def check(order_id: int) -> None:
    """Two queries: the order's lines by catalog, the minimums of those catalogs."""
    lines = await fetch(OrderLine, _LINES, order_id)
    totals: dict[int, int] = {}
    for line in lines:
        totals[line["catalog"]] = (
            totals.get(line["catalog"], 0) + line["quantity"] * line["unit_price_cents"]
        )
    if not totals:
        return
    terms = await ContractTerms.select(
        ContractTerms.catalog,
        ContractTerms.minimum_order_cents,
        ContractTerms.catalog.name.as_alias("name"),
        ContractTerms.catalog.kind.as_alias("kind"),
    ).where(ContractTerms.catalog.is_in(sorted(totals)) & (ContractTerms.minimum_order_cents > 0))
    for row in terms:
        total = totals[row["catalog"]]
        if row["kind"] == "variable" and 0 < total < row["minimum_order_cents"]:
            raise OrderingError(
                f"Le contrat « {row['name']} » demande une commande d'au moins "
                f"{euros(row['minimum_order_cents'])} par distribution (votre commande : "
                f"{euros(total)})."
            )
