"""What was handed over: the catalog's managers correct members' orders, then after the
distribution an admin adjusts delivered quantities, marks absent members and validates it.

Once validated, the orders of that date are read-only for everyone (the check lives in
ordering.order_for_update, which every change of an order goes through) and the hooks
registered with `on_validated` run: later work (the Escarcelle sales push) plugs in there.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from domain import recaps
from domain.accounts import FieldErrors
from domain.database import transaction
from domain.distributions import label
from domain.ordering import (
    VALIDATED_MESSAGE,
    OrderingError,
    apply_line,
    now,
    order_for_update,
    parse_quantity,
    refresh_total,
)
from domain.tables import Distribution, Order, OrderLine, Product, Subscription

log = logging.getLogger(__name__)
MAX_ID = 2**31 - 1

STATE_MESSAGES = {
    "cancelled": "Cette distribution est annulée : elle ne peut pas être validée.",
    "not_started": "La distribution n'a pas encore commencé : vous pourrez la valider à partir "
    "du {when}.",
    "validated": VALIDATED_MESSAGE,
}


class NotFound(Exception):
    """The line or order is not one of this catalog at this distribution."""


# ---- after the validation: hooks --------------------------------------------------------

ValidatedHook = Callable[[int], Awaitable[None]]
_validated_hooks: list[ValidatedHook] = []


def on_validated(hook: ValidatedHook) -> ValidatedHook:
    """Registers `hook(distribution_id)`, run after a validation is committed (usable as a
    decorator). A hook should only record or enqueue its work (an outbox row, a job), so
    that it is retried by its own means if it fails."""
    _validated_hooks.append(hook)
    return hook


async def on_distribution_validated(distribution_id: int) -> None:
    """The hook point of a validated distribution (the Escarcelle sales push will use it).

    Runs after the commit; a failing hook is logged and the others still run: the
    validation itself is done and must not look failed to the admin."""
    for hook in list(_validated_hooks):
        try:
            await hook(distribution_id)
        except Exception:  # noqa: BLE001 - one broken hook must not stop the others
            log.exception("hook de validation %r en échec (distribution %s)", hook, distribution_id)


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
    *, group_id: int, catalog_id: int, distribution_id: int, line_id: int, quantity: str
) -> int:
    """Set (0: remove) the quantity of one line of a member's validated order. Stock and the
    maximum per order hold as for the member; the price paid stays the one of the order.
    Returns the order's id; FieldErrors {"quantite": ...} and nothing changed otherwise."""
    try:
        qty = parse_quantity(quantity)
    except OrderingError as error:
        raise _refused(error) from error
    _editable(await recaps.distribution(group_id, distribution_id))
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
                & (OrderLine.product.catalog == catalog_id)
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
    return line["order"]


async def add_line(
    *,
    group_id: int,
    catalog_id: int,
    distribution_id: int,
    order_id: int,
    product_id: str,
    quantity: str,
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
    pid = int(product_id) if product_id.strip().isdigit() else 0
    product = None
    if 0 < pid <= MAX_ID:
        product = (
            await Product.select(
                Product.id, Product.price_cents, Product.stock, Product.max_per_order
            )
            .where(
                (Product.id == pid) & (Product.catalog == catalog_id) & (Product.active == True)  # noqa: E712
            )
            .first()
        )
    if product is None:
        errors["produit"] = "Choisissez un produit de ce catalogue."
    if errors:
        raise FieldErrors(errors)
    _editable(await recaps.distribution(group_id, distribution_id))
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


# ---- "Valider la distribution" ----------------------------------------------------------


def state_of(dist: dict) -> str:
    """cancelled | validated | not_started | open (may be validated now)."""
    if dist["cancelled_at"] is not None:
        return "cancelled"
    if dist["validated_at"] is not None:
        return "validated"
    if not dist["started"]:
        return "not_started"
    return "open"


def state_message(dist: dict) -> str:
    state = state_of(dist)
    if state == "open":
        return ""
    return STATE_MESSAGES[state].format(when=label(dist["starts_at"]))


@dataclass
class Sheet:
    distribution: dict
    state: str
    members: list[dict]  # order_id, name, phone, absent, lines, total_cents
    total_cents: int


async def sheet(group_id: int, distribution_id: int) -> Sheet | None:
    """Every member of the date with their lines of all catalogs. Two queries."""
    dist = await recaps.distribution(group_id, distribution_id)
    if dist is None:
        return None
    lines = (
        await OrderLine.select(
            OrderLine.id,
            OrderLine.order,
            OrderLine.quantity,
            OrderLine.unit_price_cents,
            OrderLine.order.absent.as_alias("absent"),
            OrderLine.order.user.first_name.as_alias("first_name"),
            OrderLine.order.user.last_name.as_alias("last_name"),
            OrderLine.order.user.phone.as_alias("phone"),
            OrderLine.product.name.as_alias("name"),
            OrderLine.product.unit.as_alias("unit"),
            OrderLine.product.catalog.vendor.name.as_alias("vendor_name"),
        )
        .where(
            (OrderLine.order.distribution == distribution_id)
            & (OrderLine.order.state == "validated")
        )
        .order_by(
            OrderLine.order.user.last_name,
            OrderLine.order.user.first_name,
            OrderLine.order,
            OrderLine.product.catalog.vendor.name,
            OrderLine.product.name,
        )
    )
    members: list[dict] = []
    for line in lines:
        line["total_cents"] = line["quantity"] * line["unit_price_cents"]
        if not members or members[-1]["order_id"] != line["order"]:
            members.append(
                {
                    "order_id": line["order"],
                    "name": recaps.member_name(line),
                    "phone": line["phone"],
                    "absent": line["absent"],
                    "lines": [],
                    "total_cents": 0,
                }
            )
        members[-1]["lines"].append(line)
        members[-1]["total_cents"] += line["total_cents"]
    return Sheet(
        distribution=dist,
        state=state_of(dist),
        members=members,
        total_cents=sum(m["total_cents"] for m in members),
    )


def _ids(values: dict[str, str], prefix: str) -> set[int]:
    found = set()
    for key in values:
        rest = key[len(prefix) :] if key.startswith(prefix) else ""
        if rest.isdigit() and 0 < int(rest) <= MAX_ID:
            found.add(int(rest))
    return found


async def save(
    *, group_id: int, distribution_id: int, user_id: int, values: dict[str, str], validate: bool
) -> None:
    """The admin's corrections of what was handed over, and the validation when asked.

    `values`: q<line id> = delivered quantity (0: not delivered), shown<order id> for each
    member on the form and absent<order id> for those marked absent. All or nothing: one
    refused quantity and nothing is saved (FieldErrors keyed q<line id>, or "form")."""
    dist = await recaps.distribution(group_id, distribution_id)
    if dist is None:
        raise NotFound
    if state_of(dist) != "open":
        raise FieldErrors({"form": state_message(dist)})
    errors: dict[str, str] = {}
    wanted: dict[int, int] = {}
    for line_id in _ids(values, "q"):
        try:
            wanted[line_id] = parse_quantity(values[f"q{line_id}"])
        except OrderingError as error:
            errors[f"q{line_id}"] = error.message
    if errors:
        raise FieldErrors(errors)
    async with transaction():
        # Taken first, on the distribution's row: corrections of its orders running at the
        # same time (they share-lock it) finish before, or are refused after.
        locked = (
            await Distribution.update({Distribution.validated_at: None})
            .where(
                (Distribution.id == distribution_id)
                & Distribution.validated_at.is_null()
                & Distribution.cancelled_at.is_null()
            )
            .returning(Distribution.id)
        )
        if not locked:
            raise FieldErrors({"form": VALIDATED_MESSAGE})
        lines = await OrderLine.select(
            OrderLine.id,
            OrderLine.order,
            OrderLine.quantity,
            OrderLine.unit_price_cents,
            OrderLine.product,
            OrderLine.order.user.as_alias("user_id"),
            OrderLine.product.stock.as_alias("stock"),
            OrderLine.product.max_per_order.as_alias("max_per_order"),
        ).where(
            (OrderLine.order.distribution == distribution_id)
            & (OrderLine.order.state == "validated")
        )
        changed = [
            line
            for line in lines
            if line["id"] in wanted and wanted[line["id"]] != line["quantity"]
        ]
        orders: dict[int, dict] = {}
        for line in sorted(changed, key=lambda x: (x["order"], x["product"])):
            try:
                if line["order"] not in orders:
                    orders[line["order"]] = await order_for_update(line["user_id"], distribution_id)
                product = {
                    "id": line["product"],
                    "stock": line["stock"],
                    "price_cents": line["unit_price_cents"],
                    "max_per_order": line["max_per_order"],
                }
                await apply_line(orders[line["order"]], product, wanted[line["id"]], None)
            except OrderingError as error:
                errors[f"q{line['id']}"] = error.message
        if errors:
            raise FieldErrors(errors)  # leaves the transaction: everything is rolled back
        for order_id in sorted(orders):
            await refresh_total(order_id)
        shown = _ids(values, "shown")
        if shown:
            mine = await Order.select(Order.id).where(
                (Order.distribution == distribution_id) & (Order.state == "validated")
            )
            shown &= {o["id"] for o in mine}
            absent = shown & _ids(values, "absent")
            if absent:
                await Order.update({Order.absent: True}).where(Order.id.is_in(sorted(absent)))
            if shown - absent:
                await Order.update({Order.absent: False}).where(
                    Order.id.is_in(sorted(shown - absent))
                )
        if validate:
            await Distribution.update(
                {Distribution.validated_at: now(), Distribution.validated_by: user_id}
            ).where(Distribution.id == distribution_id)
    if validate:
        await on_distribution_validated(distribution_id)
