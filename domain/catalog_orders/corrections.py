"""The catalog's managers correct members' orders of a date (before the distribution is
validated): a changed quantity, a product added; stock and the maximum still apply."""

from __future__ import annotations

from domain.catalog_orders import NotFound, recaps
from domain.catalogs import offers
from domain.database import transaction
from domain.kernel import forms
from domain.kernel.errors import FieldErrors
from domain.ordering import VALIDATED_MESSAGE, OrderingError, parse_quantity
from domain.ordering.changes import apply_line, order_for_update, refresh_total
from domain.payments import ledger
from domain.tables import Order, OrderLine, Product, Subscription

# ---- corrections of a member's order by the catalog's managers --------------------------


def _refused(error: OrderingError, field: str = "quantite") -> FieldErrors:
    return FieldErrors({field: error.message})


def _editable(dist: dict | None) -> None:
    if dist is None:
        raise NotFound
    if dist["cancelled_at"] is not None:
        raise FieldErrors({"quantite": "Cette distribution est annulée."})
    if dist["validated_at"] is not None:
        raise FieldErrors({"quantite": VALIDATED_MESSAGE})


async def change_line(
    *,
    catalog_id: int,
    distribution_id: int,
    line_id: int,
    quantity: str,
    by_user_id: int | None = None,
) -> int:
    """Set (0: remove) the quantity of one line of a member's validated order. Stock and the
    maximum per order hold as for the member; the price paid stays the one of the order.
    Returns the order's id; FieldErrors {"quantite": ...} and nothing changed otherwise."""
    try:
        qty = parse_quantity(quantity)
    except OrderingError as error:
        raise _refused(error) from error
    _editable(await recaps.distribution_of_catalog(catalog_id, distribution_id))
    async with transaction():
        line = (
            await OrderLine.select(
                OrderLine.id,
                OrderLine.order,
                OrderLine.unit_price_cents,
                OrderLine.product,
                OrderLine.order.user.as_alias("user_id"),
                OrderLine.product.stock.as_alias("stock"),
                OrderLine.product.max_per_order.as_alias("max_per_order"),
            )
            .where(
                (OrderLine.id == line_id)
                & (OrderLine.order.distribution == distribution_id)
                & (OrderLine.order.state == "validated")
                & offers.line_offered(catalog_id)
            )
            .first()
        )
        if line is None:
            raise NotFound
        try:
            order = await order_for_update(line["user_id"], distribution_id)
            product = {
                "id": line["product"],
                "stock": line["stock"],
                "price_cents": line["unit_price_cents"],
                "max_per_order": line["max_per_order"],
            }
            await apply_line(order, product, qty, None)
        except OrderingError as error:
            raise _refused(error) from error
        await refresh_total(order["id"])
        await ledger.follow([order["id"]], by=by_user_id, why="corrigée")
    return line["order"]


async def add_line(
    *,
    catalog_id: int,
    distribution_id: int,
    order_id: int,
    product_id: str,
    quantity: str,
    by_user_id: int | None = None,
) -> None:
    """Add a product of the catalog to a member's validated order, at today's price."""
    errors: dict[str, str] = {}
    qty = 0
    try:
        qty = parse_quantity(quantity)
        if qty == 0:
            errors["quantite"] = "Indiquez une quantité d'au moins 1."
    except OrderingError as error:
        errors["quantite"] = error.message
    pid = forms.an_id(product_id)
    product = None
    if pid is not None:
        product = (
            await Product.select(
                Product.id, Product.price_cents, Product.stock, Product.max_per_order
            )
            .where(
                (Product.id == pid) & offers.offered(catalog_id) & (Product.active == True)  # noqa: E712
            )
            .first()
        )
    if product is None:
        errors["produit"] = "Choisissez un produit de ce catalogue."
    if errors:
        raise FieldErrors(errors)
    _editable(await recaps.distribution_of_catalog(catalog_id, distribution_id))
    async with transaction():
        order = (
            await Order.select(Order.id, Order.user)
            .where(
                (Order.id == order_id)
                & (Order.distribution == distribution_id)
                & (Order.state == "validated")
            )
            .first()
        )
        if order is None:
            raise NotFound
        if await OrderLine.exists().where(
            (OrderLine.order == order_id) & (OrderLine.product == pid)
        ):
            raise FieldErrors(
                {"produit": "Ce produit est déjà dans la commande : modifiez sa ligne."}
            )
        subscription = (
            await Subscription.select(Subscription.id)
            .where(
                (Subscription.user == order["user"])
                & (Subscription.catalog == catalog_id)
                & Subscription.ended_at.is_null()
            )
            .first()
        )
        try:
            locked = await order_for_update(order["user"], distribution_id)
            await apply_line(locked, product, qty, subscription["id"] if subscription else None)
        except OrderingError as error:
            raise _refused(error) from error
        await refresh_total(order_id)
        await ledger.follow([order_id], by=by_user_id, why="corrigée")
