"""« Valider la distribution »: after the distribution an admin adjusts the delivered
quantities, marks absent members and validates it.

Once validated, the orders of that date are read-only for everyone (the check lives in
`ordering.changes.order_for_update`, which every change of an order goes through), and a
validation record is written in the same transaction: what each member received, and who
was absent. Later work (the Escarcelle sales push, the payments ledger) consumes it, each
consumer once, so that nothing is lost to a crash between the validation and that work."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from domain.catalog_orders import recaps
from domain.catalogs import offers
from domain.database import transaction
from domain.kernel import forms
from domain.kernel.clock import now
from domain.kernel.dates import label
from domain.kernel.errors import FieldErrors
from domain.members import consent
from domain.ordering import VALIDATED_MESSAGE, OrderingError, parse_quantity
from domain.ordering.changes import apply_line, order_for_update, refresh_total
from domain.payments import collect, ledger
from domain.payments.settings import settings_of
from domain.tables import Distribution, Order, OrderLine, ValidationRecord, ValidationUse

STATE_MESSAGES = {
    "cancelled": "Cette distribution est annulée : elle ne peut pas être validée.",
    "not_started": "La distribution n'a pas encore commencé : vous pourrez la valider à partir "
    "du {when}.",
    "validated": VALIDATED_MESSAGE,
}


class NotFound(Exception):
    """The line or order is not one of this catalog at this distribution."""


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
            OrderLine.order.user.as_alias("user_id"),
            OrderLine.order.user.first_name.as_alias("first_name"),
            OrderLine.order.user.last_name.as_alias("last_name"),
            OrderLine.order.user.phone.as_alias("phone"),
            OrderLine.product.id.as_alias("product_id"),
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
    # Products taken from a producer's list: their vendor is the offering catalog's.
    taken = {line["product_id"] for line in lines if line["vendor_name"] is None}
    if taken:
        names = await offers.vendor_names(sorted(taken), group_id)
        for line in lines:
            if line["vendor_name"] is None:
                line["vendor_name"] = names.get(line["product_id"], "")
        lines.sort(
            key=lambda x: (
                x["last_name"],
                x["first_name"],
                x["order"],
                x["vendor_name"].casefold(),
                x["name"].casefold(),
            )
        )
    # Names and phones as the group's admins may see them, and in the order shown.
    if await consent.mask(group_id, lines):
        lines.sort(key=lambda x: (x["last_name"], x["first_name"], x["order"]))
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
    return set(forms.prefixed(values, prefix))


async def save(
    *,
    group_id: int,
    distribution_id: int,
    user_id: int,
    values: dict[str, str],
    validate: bool,
    key: str | None = None,
) -> None:
    """The admin's corrections of what was handed over, the payments received at the table,
    and the validation when asked.

    `values`: q<line id> = delivered quantity (0: not delivered), shown<order id> for each
    member on the form and absent<order id> for those marked absent; paid<order id>,
    means<order id> and ref<order id> for a payment received (collect.parse_received). All
    or nothing: one refused value and nothing is saved (FieldErrors keyed by the field, or
    "form"). `key`: the form's, so that the same form sent twice acts once."""
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
    received: list[collect.Received] = []
    if (await settings_of(group_id))["ledger"]:
        received, refused = collect.parse_received(values, await collect.orders_at(distribution_id))
        errors |= refused
    if errors:
        raise FieldErrors(errors)
    async with transaction():
        if not await ledger.claim_key(key, user_id):
            return  # the same form again: the first one did it all
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
        if orders and not validate:
            # Corrections saved before the validation: the debts follow them now. With the
            # validation, the record below is what they follow (its quantities handed over).
            await ledger.follow(sorted(orders), by=user_id, why="corrigée à la distribution")
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
        await collect.add_received(
            group_id=group_id,
            distribution_id=distribution_id,
            received=received,
            by_user_id=user_id,
        )
        if validate:
            moment = now()
            await Distribution.update(
                {Distribution.validated_at: moment, Distribution.validated_by: user_id}
            ).where(Distribution.id == distribution_id)
            record = await _record(distribution_id, user_id, moment)
            # The ledger uses the record at once, in the validation's transaction (and only
            # once: its sweep finds it used).
            await ledger.use_validation(record)


async def _record(distribution_id: int, user_id: int, moment: datetime) -> dict:
    """The validation record, in the validation's transaction: each validated order with
    its delivered lines (a line corrected to 0 is gone; `subscription`: the contract whose
    basket the line is) and whether the member was absent."""
    orders = await Order.select(Order.id, Order.user, Order.absent, Order.total_cents).where(
        (Order.distribution == distribution_id) & (Order.state == "validated")
    )
    lines = await OrderLine.select(
        OrderLine.order,
        OrderLine.product,
        OrderLine.quantity,
        OrderLine.unit_price_cents,
        OrderLine.subscription,
        OrderLine.product.catalog.as_alias("catalog"),
    ).where(
        (OrderLine.order.distribution == distribution_id) & (OrderLine.order.state == "validated")
    )
    # A product of a producer's list belongs to the catalog of this group that offers it.
    taken = [line["product"] for line in lines if line["catalog"] is None]
    if taken:
        group = await Distribution.select(Distribution.group).where(
            Distribution.id == distribution_id
        )
        catalog_of = await offers.catalogs_of_products(taken, group[0]["group"])
        for line in lines:
            if line["catalog"] is None:
                line["catalog"] = catalog_of.get(line["product"])
    by_order: dict[int, list[dict]] = {}
    for line in sorted(lines, key=lambda x: (x["order"], x["product"])):
        by_order.setdefault(line.pop("order"), []).append(line)
    content = {
        "orders": [
            {
                "order": o["id"],
                "user": o["user"],
                "absent": o["absent"],
                "total_cents": o["total_cents"],
                "lines": by_order.get(o["id"], []),
            }
            for o in sorted(orders, key=lambda x: x["id"])
        ]
    }
    rows = await ValidationRecord.insert(
        ValidationRecord(
            distribution=distribution_id,
            validated_by=user_id,
            validated_at=moment,
            content=json.dumps(content, separators=(",", ":")),
        )
    ).returning(ValidationRecord.id)
    return {"id": rows[0]["id"], "validated_by": user_id, "content": content}


# ---- what later work reads -------------------------------------------------------------


async def record_of(distribution_id: int) -> dict | None:
    """The validation record of a distribution, its content read: {"orders": [...]}."""
    row = (
        await ValidationRecord.select()
        .where(ValidationRecord.distribution == distribution_id)
        .first()
    )
    if row is None:
        return None
    return row | {"content": json.loads(row["content"])}


async def records_to_use(consumer: str, limit: int = 100) -> list[dict]:
    """The records this consumer has not used yet, oldest first."""
    used = ValidationUse.select(ValidationUse.record).where(ValidationUse.consumer == consumer)
    rows = (
        await ValidationRecord.select()
        .where(ValidationRecord.id.not_in(used))
        .order_by(ValidationRecord.id)
        .limit(limit)
    )
    return [row | {"content": json.loads(row["content"])} for row in rows]


async def use(record_id: int, consumer: str) -> bool:
    """Claims the record for this consumer: True the first time only. Call it inside the
    transaction of the consumer's own writes, so that a failure leaves the record to use
    again, and a success can never be repeated (unique (record, consumer))."""
    rows = (
        await ValidationUse.insert(ValidationUse(record=record_id, consumer=consumer))
        .on_conflict(action="DO NOTHING")
        .returning(ValidationUse.id)
    )
    return bool(rows)
