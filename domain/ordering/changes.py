"""Changing a basket: one line (+, −, a typed quantity), the whole basket (the page without
JavaScript, a guest's basket at sign-up), « Valider ma commande », and giving back the
stock of baskets never validated."""

from __future__ import annotations

from domain import idempotency
from domain.accounts import names_missing
from domain.database import is_sqlite, transaction
from domain.kernel.clock import now
from domain.members import consent
from domain.ordering import (
    CATALOG_WINDOW_MESSAGES,
    VALIDATED_MESSAGE,
    WINDOW_MESSAGES,
    BasketErrors,
    NamesNeeded,
    OrderingError,
    check_access,
    check_maximum,
    minimums,
    not_enough,
    parse_delta,
    parse_quantity,
    window_state,
)
from domain.ordering.baskets import (
    Basket,
    basket,
    closed_catalogs,
    distribution_of,
    in_period,
    orderable,
)
from domain.ordering.one_line import LineResult, change_line, join_with_order, subscription_for
from domain.ordering.recap import queue_recap
from domain.payments import ledger
from domain.tables import (
    Distribution,
    Order,
    OrderLine,
    Product,
)

# ---- changing --------------------------------------------------------------------------


async def _claim_key(key: str | None, user_id: int | None) -> bool:
    """True the first time a form's key is seen; False for a replay (double tap, retry)."""
    try:
        return await idempotency.claim(key, user_id)
    except idempotency.BadKey as error:
        raise OrderingError("Formulaire invalide : rechargez la page.") from error


async def _orderable(distribution_id: int, product_id: int, dist: dict) -> dict:
    product = await orderable(distribution_id, product_id)
    if product is None or not in_period(product, dist):
        raise OrderingError(
            "Ce produit n'est pas disponible à cette distribution.", product_id=product_id
        )
    return product


async def refuse_if_validated(distribution_id: int) -> None:
    """Orders of a validated distribution are read-only, whoever changes them. On PostgreSQL
    the distribution is share-locked until the transaction ends: a validation running at the
    same time waits for this change, or this change for the validation (then it is refused)."""
    query = Distribution.select(Distribution.validated_at).where(Distribution.id == distribution_id)
    if not is_sqlite():
        query = query.lock_rows("SHARE")
    row = await query.first()
    if row is not None and row["validated_at"] is not None:
        raise OrderingError(VALIDATED_MESSAGE)


async def order_for_update(user_id: int, distribution_id: int) -> dict:
    """Get or create the member's order, and lock it (PostgreSQL) so that two requests
    of the same member for the same order run one after the other. Every change of an
    order's lines goes through here: a validated distribution refuses it."""
    await refuse_if_validated(distribution_id)
    await Order.insert(Order(user=user_id, distribution=distribution_id)).on_conflict(
        action="DO NOTHING"
    )
    query = Order.select().where((Order.user == user_id) & (Order.distribution == distribution_id))
    if not is_sqlite():
        query = query.lock_rows()
    return await query.first()


async def apply_line(
    order: dict, product: dict, quantity: int, subscription_id: int | None
) -> None:
    """Set one line; the stock moves by the difference, never below zero."""
    check_maximum(product, quantity)
    line = (
        await OrderLine.select(OrderLine.id, OrderLine.quantity)
        .where((OrderLine.order == order["id"]) & (OrderLine.product == product["id"]))
        .first()
    )
    old = line["quantity"] if line else 0
    delta = quantity - old
    if delta > 0 and product["stock"] is not None:
        taken = (
            await Product.update({Product.stock: Product.stock - delta})
            .where((Product.id == product["id"]) & (Product.stock >= delta))
            .returning(Product.id)
        )
        if not taken:
            left = await Product.select(Product.stock).where(Product.id == product["id"]).first()
            raise not_enough(product["id"], old + max(0, left["stock"] or 0))
    elif delta < 0 and product["stock"] is not None:
        await Product.update({Product.stock: Product.stock - delta}).where(
            Product.id == product["id"]
        )
    if quantity == 0:
        if line:
            await OrderLine.delete().where(OrderLine.id == line["id"])
    elif line:
        await OrderLine.update(
            {OrderLine.quantity: quantity, OrderLine.unit_price_cents: product["price_cents"]}
        ).where(OrderLine.id == line["id"])
    else:
        await OrderLine.insert(
            OrderLine(
                order=order["id"],
                product=product["id"],
                quantity=quantity,
                unit_price_cents=product["price_cents"],
                subscription=subscription_id,
            )
        )


async def refresh_total(order_id: int) -> int:
    lines = await OrderLine.select(OrderLine.quantity, OrderLine.unit_price_cents).where(
        OrderLine.order == order_id
    )
    total = sum(line["quantity"] * line["unit_price_cents"] for line in lines)
    await Order.update({Order.total_cents: total, Order.updated_at: now()}).where(
        Order.id == order_id
    )
    return total


async def set_guest_quantities(
    group_id: int,
    distribution_id: int,
    guest: dict[int, int],
    quantities: dict[int, str | int],
    *,
    deltas: dict[int, str | int] | None = None,
) -> tuple[Basket | None, dict[int, str]]:
    """A visitor's basket (the caller keeps it, in their session): the member's rules, but
    the stock is only checked, not taken, until the visitor registers and validates.
    `deltas`: + / − taps, relative to the basket as it is (never below zero).

    Returns the basket with every accepted change, and the refusals by product.
    """
    current = await basket(group_id, distribution_id, None, guest)
    if current is None:
        return None, {}
    errors: dict[int, str] = {}
    changes = [(pid, raw, False) for pid, raw in quantities.items()]
    changes += [(pid, raw, True) for pid, raw in (deltas or {}).items()]
    for product_id, raw, relative in sorted(changes, key=lambda change: change[0]):
        try:
            if current.state != "open":
                raise OrderingError(WINDOW_MESSAGES[current.state])
            product = current.products.get(product_id)
            if product is None:
                raise OrderingError("Ce produit n'est pas disponible à cette distribution.")
            if relative:
                step = parse_delta(raw)
                quantity = parse_quantity(max(0, current.quantities.get(product_id, 0) + step))
            else:
                quantity = parse_quantity(raw)
            closed = current.closed_catalogs.get(product["catalog"])
            if closed and quantity != current.quantities.get(product_id, 0):
                raise OrderingError(CATALOG_WINDOW_MESSAGES[closed])
            check_maximum(product, quantity)
            if product["stock"] is not None and quantity > product["stock"]:
                raise not_enough(product_id, product["stock"])
        except OrderingError as error:
            errors[product_id] = error.message
            continue
        current.quantities[product_id] = quantity
    current.total_cents = sum(
        current.products[pid]["price_cents"] * q
        for pid, q in current.quantities.items()
        if pid in current.products
    )
    return current, errors


async def set_quantity(
    *,
    user_id: int,
    group_id: int,
    distribution_id: int,
    product_id: int,
    quantity: str | int | None = None,
    delta: str | int | None = None,
    key: str | None,
    ctx=None,
    join: bool = False,
    own: bool = False,
) -> tuple[LineResult, list[int]]:
    """One line's change: a typed `quantity` (absolute), or a + / − tap (`delta`, relative
    to the line as it is when the change runs, so taps sent one after the other add up; never
    below zero, a − at zero changes nothing). `key` makes a replayed request act once. Returns
    the line, and mail ids to send after commit.

    `join`: a visitor of an open market becomes a member with this change, in its
    transaction: a refused change (or a product not sold there) makes no member. `own`:
    the person orders for themselves, which is their yes to a group an admin added them
    to (members.consent)."""
    step = parse_delta(delta) if delta is not None else None
    qty = parse_quantity(quantity if quantity is not None else 0) if step is None else None
    if not is_sqlite():  # the same rules in two statements (domain/ordering/one_line.py)
        async with transaction():
            return await change_line(
                user_id=user_id,
                group_id=group_id,
                distribution_id=distribution_id,
                product_id=product_id,
                qty=qty,
                step=step,
                key=key,
                ctx=ctx,
                join=join,
                own=own,
            )
    dist = await distribution_of(group_id, distribution_id, user_id)
    if dist is None:
        raise OrderingError("Distribution introuvable.")
    state = window_state(dist)
    if state != "open":
        raise OrderingError(WINDOW_MESSAGES[state], product_id=product_id)
    check_access(dist["access_until"], own=own)
    closed = await closed_catalogs(distribution_id)
    mail_ids: list[int] = []
    async with transaction():
        product = await _orderable(distribution_id, product_id, dist)
        if product["catalog"] in closed:
            raise OrderingError(
                CATALOG_WINDOW_MESSAGES[closed[product["catalog"]]], product_id=product_id
            )
        replayed = not await _claim_key(key, user_id)
        # Locked (PostgreSQL) or alone (SQLite's write lock): the line read below is the one
        # this change moves from, whatever other taps of the member are running.
        order = await order_for_update(user_id, distribution_id)
        old = await _line_quantity(order["id"], product_id)
        if step is not None:
            qty = parse_quantity(max(0, old + step))  # over the maximum: refused
        if not replayed and qty != old:
            subscription_id = await subscription_for(user_id, product, dist) if qty else None
            await apply_line(order, product, qty, subscription_id)
            total = await refresh_total(order["id"])
            if order["state"] == "validated":
                if qty < old and dist["group_kind"] == "amap":  # a contract's minimums
                    await minimums.check(
                        order["id"], lowered=[product["catalog"]], product_id=product_id
                    )
                await ledger.follow([order["id"]])  # its debt follows the validated order
                if ctx is not None:
                    mail_ids = await queue_recap(order["id"], user_id, dist, ctx)
        else:
            qty, total = old, order["total_cents"]
        if join:
            mail_ids += await join_with_order(user_id, group_id, ctx)
        if own:
            await consent.accept_by_order(user_id, group_id)
        stock = await Product.select(Product.stock).where(Product.id == product_id).first()
    return (
        LineResult(
            product=product,
            quantity=qty,
            total_cents=total,
            order_state=order["state"],
            stock_left=stock["stock"],
            replayed=replayed,
        ),
        [m for m in mail_ids if m],
    )


async def _line_quantity(order_id: int, product_id: int) -> int:
    line = (
        await OrderLine.select(OrderLine.quantity)
        .where((OrderLine.order == order_id) & (OrderLine.product == product_id))
        .first()
    )
    return line["quantity"] if line else 0


async def submit_basket(
    *,
    user_id: int,
    group_id: int,
    distribution_id: int,
    quantities: dict[int, str | int],
    key: str | None,
    ctx,
    validate: bool = True,
    join: bool = False,
    own: bool = False,
) -> tuple[dict, list[int]]:
    """The whole basket at once (the page without JavaScript, or a guest's basket at sign-up).

    All or nothing: one refused line and nothing is changed, every refusal is reported; with
    `join`, the visitor of an open market becomes a member only with a basket accepted;
    `own` as for set_quantity. A beneficiary whose access to the grocery ended is refused
    (OrderingError), whoever orders. NamesNeeded: the person validates their own order without
    having given their names (nothing changed).
    """
    dist = await distribution_of(group_id, distribution_id, user_id)
    if dist is None:
        raise OrderingError("Distribution introuvable.")
    state = window_state(dist)
    if state != "open":
        raise OrderingError(WINDOW_MESSAGES[state])
    check_access(dist["access_until"], own=own)
    if validate and own and await names_missing(user_id):
        raise NamesNeeded()
    parsed: dict[int, int] = {}
    errors: dict[int, str] = {}
    for product_id, value in quantities.items():
        try:
            parsed[product_id] = parse_quantity(value)
        except OrderingError as error:
            errors[product_id] = error.message
    if errors:
        raise BasketErrors(errors)
    closed = await closed_catalogs(distribution_id)
    mail_ids: list[int] = []
    async with transaction():
        if not await _claim_key(key, user_id):
            order = (
                await Order.select()
                .where((Order.user == user_id) & (Order.distribution == distribution_id))
                .first()
            )
            return order or {}, []
        order = await order_for_update(user_id, distribution_id)
        # A validated order of an AMAP: what its contracts' minimums compare the change with.
        watched = order["state"] == "validated" and dist["group_kind"] == "amap"
        old_lines = await minimums.lines_of(order["id"]) if watched else []
        kept = {}
        if closed:
            lines = await OrderLine.select(OrderLine.product, OrderLine.quantity).where(
                OrderLine.order == order["id"]
            )
            kept = {line["product"]: line["quantity"] for line in lines}
        for product_id, qty in sorted(parsed.items()):  # id order: no deadlocks between baskets
            try:
                product = await _orderable(distribution_id, product_id, dist)
                if product["catalog"] in closed:
                    if qty == kept.get(product_id, 0):
                        continue  # an unchanged line of a closed catalog is kept as it is
                    raise OrderingError(
                        CATALOG_WINDOW_MESSAGES[closed[product["catalog"]]], product_id=product_id
                    )
                subscription_id = await subscription_for(user_id, product, dist) if qty else None
                await apply_line(order, product, qty, subscription_id)
            except OrderingError as error:
                errors[product_id] = error.message
        if errors:
            raise BasketErrors(errors)  # leaves the transaction: everything is rolled back
        total = await refresh_total(order["id"])
        before = minimums.totals_of(old_lines)
        less = [
            line["product"]
            for line in old_lines
            if parsed.get(line["product"], line["quantity"]) < line["quantity"]
        ]
        shown_at = min(less) if less else None  # a refusal is shown at a line lowered
        if validate:
            if total == 0:
                raise OrderingError("Votre panier est vide.")
            # A variable contract's minimums (per distribution, over the contract).
            await minimums.check(order["id"], validating=True, before=before, product_id=shown_at)
            mail_ids = await _validate(order, user_id, dist, ctx)
            # The debt arises with the validation (the ledger being on), or follows it.
            await ledger.follow([order["id"]], create=True)
        elif order["state"] == "validated":
            if watched:
                await minimums.check(order["id"], before=before, product_id=shown_at)
            await ledger.follow([order["id"]])
        if join:
            mail_ids += await join_with_order(user_id, group_id, ctx)
        if own:
            await consent.accept_by_order(user_id, group_id)
    order = await Order.select().where(Order.id == order["id"]).first()
    return order, mail_ids


async def _validate(order: dict, user_id: int, dist: dict, ctx) -> list[int]:
    if order["state"] != "validated":
        await Order.update({Order.state: "validated", Order.validated_at: now()}).where(
            Order.id == order["id"]
        )
    return await queue_recap(order["id"], user_id, dist, ctx)


async def release_abandoned_baskets() -> int:
    """After orders close, a basket never validated gives its stock back and is dropped."""
    moment = now()
    closed_drafts = await Order.select(Order.id).where(
        (Order.state == "draft") & (Order.distribution.orders_close_at <= moment)
    )
    released = 0
    for row in closed_drafts:
        async with transaction():
            lines = await OrderLine.select(OrderLine.product, OrderLine.quantity).where(
                OrderLine.order == row["id"]
            )
            # Claimed by the conditional delete: a basket validated meanwhile is kept.
            deleted = (
                await Order.delete()
                .where((Order.id == row["id"]) & (Order.state == "draft"))
                .returning(Order.id)
            )
            if not deleted:
                continue
            for line in lines:
                await Product.update({Product.stock: Product.stock + line["quantity"]}).where(
                    (Product.id == line["product"]) & Product.stock.is_not_null()
                )
            released += 1
    return released
