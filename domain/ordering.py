"""Members ordering for a distribution: the basket, stock, validation, recap mails.

Rules hold whatever the client sends: orders must be open, quantities whole and
within the maximum, stock never below zero (a conditional UPDATE, so racing
members cannot oversell), and a replayed submission is applied once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from domain import idempotency, outbox
from domain.database import is_sqlite, transaction
from domain.distributions import label
from domain.tables import (
    CatalogDistribution,
    Distribution,
    Group,
    Order,
    OrderLine,
    Product,
    Subscription,
)

RECAP_GROUPING = timedelta(minutes=3)
MAX_QUANTITY = 9999


class OrderingError(Exception):
    """A rule refused the change; `message` is for the member, in French."""

    def __init__(self, message: str, *, product_id: int | None = None):
        super().__init__(message)
        self.message = message
        self.product_id = product_id


class BasketErrors(Exception):
    """Several products refused at once: {product_id: message}. Nothing was changed."""

    def __init__(self, errors: dict[int, str]):
        super().__init__(errors)
        self.errors = errors


def now() -> datetime:
    return datetime.now(UTC)


def window_state(dist: dict, moment: datetime | None = None) -> str:
    """open | not_open | closed | cancelled."""
    moment = moment or now()
    if dist["cancelled_at"] is not None:
        return "cancelled"
    if moment < dist["orders_open_at"]:
        return "not_open"
    if moment >= dist["orders_close_at"]:
        return "closed"
    if dist.get("validated_at") is not None:
        return "validated"
    return "open"


VALIDATED_MESSAGE = "Cette distribution est validée : les commandes ne peuvent plus être modifiées."
WINDOW_MESSAGES = {
    "not_open": "Les commandes ne sont pas encore ouvertes pour cette distribution.",
    "closed": "Les commandes sont fermées pour cette distribution.",
    "cancelled": "Cette distribution est annulée.",
    "validated": VALIDATED_MESSAGE,
}
CATALOG_WINDOW_MESSAGES = {
    "not_open": (
        "Les commandes de ce catalogue ne sont pas encore ouvertes pour cette distribution."
    ),
    "closed": "Les commandes de ce catalogue sont fermées pour cette distribution.",
}


def catalog_window_state(link: dict, moment: datetime) -> str:
    """A catalog's own order window at one date (CatalogDistribution.orders_open_at and
    orders_close_at; None: the distribution's), inside the distribution's window."""
    if link["orders_open_at"] is not None and moment < link["orders_open_at"]:
        return "not_open"
    if link["orders_close_at"] is not None and moment >= link["orders_close_at"]:
        return "closed"
    return "open"


async def closed_catalogs(distribution_id: int) -> dict[int, str]:
    """The catalogs of this date whose own window is not open: {catalog: state}. One query."""
    moment = now()
    links = await CatalogDistribution.select(
        CatalogDistribution.catalog,
        CatalogDistribution.orders_open_at,
        CatalogDistribution.orders_close_at,
    ).where(
        (CatalogDistribution.distribution == distribution_id)
        & (
            CatalogDistribution.orders_open_at.is_not_null()
            | CatalogDistribution.orders_close_at.is_not_null()
        )
    )
    states = {link["catalog"]: catalog_window_state(link, moment) for link in links}
    return {catalog: state for catalog, state in states.items() if state != "open"}


def parse_quantity(value: str | int) -> int:
    if isinstance(value, int):
        quantity = value
    else:
        text = str(value).strip()
        if not text:
            return 0
        if not text.isdigit():
            raise OrderingError("La quantité doit être un nombre entier positif ou zéro.")
        quantity = int(text)
    if quantity < 0:
        raise OrderingError("La quantité doit être un nombre entier positif ou zéro.")
    if quantity > MAX_QUANTITY:
        raise OrderingError(f"La quantité ne peut pas dépasser {MAX_QUANTITY}.")
    return quantity


# ---- reading ---------------------------------------------------------------------------


async def open_distributions(group_id: int, user_id: int | None) -> list[dict]:
    """COMMANDES tab: coming distributions whose orders are open, with their catalogs.

    Three queries whatever the number of distributions, catalogs or orders.
    """
    moment = now()
    dists = (
        await Distribution.select(
            *Distribution.all_columns(), Distribution.place.name.as_alias("place_name")
        )
        .where(
            (Distribution.group == group_id)
            & Distribution.cancelled_at.is_null()
            & (Distribution.orders_open_at <= moment)
            & (Distribution.orders_close_at > moment)
        )
        .order_by(Distribution.starts_at)
        .limit(100)
    )
    if not dists:
        return []
    ids = [d["id"] for d in dists]
    links = await CatalogDistribution.select(
        CatalogDistribution.distribution,
        CatalogDistribution.orders_open_at,
        CatalogDistribution.orders_close_at,
        CatalogDistribution.catalog.name.as_alias("catalog_name"),
        CatalogDistribution.catalog.vendor.name.as_alias("vendor_name"),
    ).where(CatalogDistribution.distribution.is_in(ids))
    links = [link for link in links if catalog_window_state(link, moment) == "open"]
    orders = []
    if user_id:
        orders = await Order.select(Order.distribution, Order.state, Order.total_cents).where(
            (Order.user == user_id) & Order.distribution.is_in(ids)
        )
    by_dist: dict[int, list[str]] = {}
    for link in links:
        by_dist.setdefault(link["distribution"], []).append(
            f"{link['vendor_name']} – {link['catalog_name']}"
        )
    order_of = {o["distribution"]: o for o in orders}
    return [
        {
            **d,
            "label": label(d["starts_at"]),
            "closes_label": label(d["orders_close_at"]),
            "catalogs": sorted(by_dist.get(d["id"], [])),
            "order": order_of.get(d["id"]),
        }
        for d in dists
        if by_dist.get(d["id"])
    ]


@dataclass
class Basket:
    distribution: dict
    state: str  # window state
    vendors: list[dict]  # [{name, products: [...]}]
    quantities: dict[int, int]
    order: dict | None
    total_cents: int
    products: dict[int, dict] = field(default_factory=dict)
    closed_catalogs: dict[int, str] = field(default_factory=dict)  # their own window is not open


async def _distribution(group_id: int, distribution_id: int) -> dict | None:
    return (
        await Distribution.select(
            *Distribution.all_columns(),
            Distribution.place.name.as_alias("place_name"),
            Distribution.place.address.as_alias("place_address"),
            Distribution.group.kind.as_alias("group_kind"),
        )
        .where((Distribution.id == distribution_id) & (Distribution.group == group_id))
        .first()
    )


def _orderable_query(distribution_id: int):
    """Products a member may order at this distribution: active, from a catalog that
    delivers there, variable orders only (fixed contracts are subscribed, not ordered)."""
    delivering = CatalogDistribution.select(CatalogDistribution.catalog).where(
        CatalogDistribution.distribution == distribution_id
    )
    return Product.select(
        Product.id,
        Product.catalog,
        Product.name,
        Product.unit,
        Product.price_cents,
        Product.stock,
        Product.max_per_order,
        Product.photo_version,
        Product.catalog.name.as_alias("catalog_name"),
        Product.catalog.kind.as_alias("catalog_kind"),
        Product.catalog.starts_on.as_alias("starts_on"),
        Product.catalog.ends_on.as_alias("ends_on"),
        Product.catalog.vendor.id.as_alias("vendor_id"),
        Product.catalog.vendor.name.as_alias("vendor_name"),
    ).where(
        (Product.active == True)  # noqa: E712 - SQL, not Python
        & Product.catalog.is_in(delivering)
        & (Product.catalog.kind == "variable")
    )


def _in_period(product: dict, dist: dict) -> bool:
    day = dist["starts_at"].astimezone(UTC).date()
    if product["starts_on"] and day < product["starts_on"]:
        return False
    return not (product["ends_on"] and day > product["ends_on"])


async def basket(
    group_id: int, distribution_id: int, user_id: int | None, guest: dict[int, int] | None = None
) -> Basket | None:
    """The ordering page: a fixed number of queries, however many products."""
    dist = await _distribution(group_id, distribution_id)
    if dist is None:
        return None
    rows = (
        await _orderable_query(distribution_id)
        .order_by(Product.catalog.vendor.name)
        .order_by(Product.position)
        .order_by(Product.name)
    )
    order = None
    quantities: dict[int, int] = {}
    if user_id:
        order = (
            await Order.select()
            .where((Order.user == user_id) & (Order.distribution == distribution_id))
            .first()
        )
        if order:
            lines = await OrderLine.select(OrderLine.product, OrderLine.quantity).where(
                OrderLine.order == order["id"]
            )
            quantities = {line["product"]: line["quantity"] for line in lines}
    elif guest:
        quantities = dict(guest)
    # A catalog whose own window is not open at this date is not offered; lines already in
    # the basket stay shown (and counted), but cannot change.
    closed = await closed_catalogs(distribution_id)
    products = [
        p
        for p in rows
        if _in_period(p, dist) and (p["catalog"] not in closed or quantities.get(p["id"]))
    ]
    vendors: list[dict] = []
    by_id: dict[int, dict] = {}
    for product in products:
        by_id[product["id"]] = product
        if not vendors or vendors[-1]["id"] != product["vendor_id"]:
            vendors.append(
                {"id": product["vendor_id"], "name": product["vendor_name"], "products": []}
            )
        vendors[-1]["products"].append(product)
    total = sum(by_id[pid]["price_cents"] * q for pid, q in quantities.items() if pid in by_id)
    return Basket(
        distribution=dist,
        state=window_state(dist),
        vendors=vendors,
        quantities=quantities,
        order=order,
        total_cents=total,
        products=by_id,
        closed_catalogs=closed,
    )


# ---- changing --------------------------------------------------------------------------


async def _claim_key(key: str | None, user_id: int | None) -> bool:
    """True the first time a form's key is seen; False for a replay (double tap, retry)."""
    try:
        return await idempotency.claim(key, user_id)
    except idempotency.BadKey as error:
        raise OrderingError("Formulaire invalide : rechargez la page.") from error


async def _orderable(distribution_id: int, product_id: int, dist: dict) -> dict:
    product = await _orderable_query(distribution_id).where(Product.id == product_id).first()
    if product is None or not _in_period(product, dist):
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


def _check_maximum(product: dict, quantity: int) -> None:
    if product["max_per_order"] is not None and quantity > product["max_per_order"]:
        raise OrderingError(
            f"Maximum {product['max_per_order']} par commande pour ce produit.",
            product_id=product["id"],
        )


def _not_enough(product_id: int, available: int) -> OrderingError:
    return OrderingError(
        f"Plus que {available} disponible{'s' if available > 1 else ''}.", product_id=product_id
    )


async def apply_line(
    order: dict, product: dict, quantity: int, subscription_id: int | None
) -> None:
    """Set one line; the stock moves by the difference, never below zero."""
    _check_maximum(product, quantity)
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
            raise _not_enough(product["id"], old + max(0, left["stock"] or 0))
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


async def _subscription_for(user_id: int, product: dict, dist: dict) -> int | None:
    """In an AMAP, ordering from a variable contract subscribes the member to it."""
    if dist["group_kind"] != "amap":
        return None
    existing = (
        await Subscription.select(Subscription.id)
        .where(
            (Subscription.user == user_id)
            & (Subscription.catalog == product["catalog"])
            & Subscription.ended_at.is_null()
        )
        .first()
    )
    if existing:
        return existing["id"]
    day = dist["starts_at"].astimezone(UTC).date()
    rows = await Subscription.insert(
        Subscription(
            user=user_id,
            catalog=product["catalog"],
            starts_on=product["starts_on"] or day,
            ends_on=product["ends_on"] or day,
        )
    ).returning(Subscription.id)
    return rows[0]["id"]


async def set_guest_quantities(
    group_id: int, distribution_id: int, guest: dict[int, int], quantities: dict[int, str | int]
) -> tuple[Basket | None, dict[int, str]]:
    """A visitor's basket (the caller keeps it, in their session): the member's rules, but
    the stock is only checked, not taken, until the visitor registers and validates.

    Returns the basket with every accepted change, and the refusals by product.
    """
    current = await basket(group_id, distribution_id, None, guest)
    if current is None:
        return None, {}
    errors: dict[int, str] = {}
    for product_id, raw in sorted(quantities.items()):
        try:
            if current.state != "open":
                raise OrderingError(WINDOW_MESSAGES[current.state])
            product = current.products.get(product_id)
            if product is None:
                raise OrderingError("Ce produit n'est pas disponible à cette distribution.")
            quantity = parse_quantity(raw)
            closed = current.closed_catalogs.get(product["catalog"])
            if closed and quantity != current.quantities.get(product_id, 0):
                raise OrderingError(CATALOG_WINDOW_MESSAGES[closed])
            _check_maximum(product, quantity)
            if product["stock"] is not None and quantity > product["stock"]:
                raise _not_enough(product_id, product["stock"])
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


@dataclass
class LineResult:
    product: dict
    quantity: int
    total_cents: int
    order_state: str
    stock_left: int | None
    replayed: bool = False


async def set_quantity(
    *,
    user_id: int,
    group_id: int,
    distribution_id: int,
    product_id: int,
    quantity: str | int,
    key: str | None,
    ctx=None,
) -> tuple[LineResult, list[int]]:
    """One + / − or typed quantity. Returns the line, and mail ids to send after commit."""
    qty = parse_quantity(quantity)
    dist = await _distribution(group_id, distribution_id)
    if dist is None:
        raise OrderingError("Distribution introuvable.")
    state = window_state(dist)
    if state != "open":
        raise OrderingError(WINDOW_MESSAGES[state], product_id=product_id)
    closed = await closed_catalogs(distribution_id)
    mail_ids: list[int] = []
    async with transaction():
        product = await _orderable(distribution_id, product_id, dist)
        if product["catalog"] in closed:
            raise OrderingError(
                CATALOG_WINDOW_MESSAGES[closed[product["catalog"]]], product_id=product_id
            )
        replayed = not await _claim_key(key, user_id)
        order = await order_for_update(user_id, distribution_id)
        if not replayed:
            subscription_id = await _subscription_for(user_id, product, dist) if qty else None
            await apply_line(order, product, qty, subscription_id)
            total = await refresh_total(order["id"])
            if order["state"] == "validated" and ctx is not None:
                mail_ids = await _queue_recap(order["id"], user_id, dist, ctx)
        else:
            total = order["total_cents"]
        line = (
            await OrderLine.select(OrderLine.quantity)
            .where((OrderLine.order == order["id"]) & (OrderLine.product == product_id))
            .first()
        )
        stock = await Product.select(Product.stock).where(Product.id == product_id).first()
    return (
        LineResult(
            product=product,
            quantity=line["quantity"] if line else 0,
            total_cents=total,
            order_state=order["state"],
            stock_left=stock["stock"],
            replayed=replayed,
        ),
        [m for m in mail_ids if m],
    )


async def submit_basket(
    *,
    user_id: int,
    group_id: int,
    distribution_id: int,
    quantities: dict[int, str | int],
    key: str | None,
    ctx,
    validate: bool = True,
) -> tuple[dict, list[int]]:
    """The whole basket at once (the page without JavaScript, or a guest's basket at sign-up).

    All or nothing: one refused line and nothing is changed, every refusal is reported.
    """
    dist = await _distribution(group_id, distribution_id)
    if dist is None:
        raise OrderingError("Distribution introuvable.")
    state = window_state(dist)
    if state != "open":
        raise OrderingError(WINDOW_MESSAGES[state])
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
                subscription_id = await _subscription_for(user_id, product, dist) if qty else None
                await apply_line(order, product, qty, subscription_id)
            except OrderingError as error:
                errors[product_id] = error.message
        if errors:
            raise BasketErrors(errors)  # leaves the transaction: everything is rolled back
        total = await refresh_total(order["id"])
        if validate:
            if total == 0:
                raise OrderingError("Votre panier est vide.")
            mail_ids = await _validate(order, user_id, dist, ctx)
    order = await Order.select().where(Order.id == order["id"]).first()
    return order, mail_ids


async def _validate(order: dict, user_id: int, dist: dict, ctx) -> list[int]:
    if order["state"] != "validated":
        await Order.update({Order.state: "validated", Order.validated_at: now()}).where(
            Order.id == order["id"]
        )
    return await _queue_recap(order["id"], user_id, dist, ctx)


async def validate_order(
    *, user_id: int, group_id: int, distribution_id: int, key: str | None, ctx
) -> tuple[dict, list[int]]:
    """'Valider ma commande'. Validating twice is one validation and one recap mail."""
    dist = await _distribution(group_id, distribution_id)
    if dist is None:
        raise OrderingError("Distribution introuvable.")
    state = window_state(dist)
    if state != "open":
        raise OrderingError(WINDOW_MESSAGES[state])
    async with transaction():
        order = await order_for_update(user_id, distribution_id)
        if not await _claim_key(key, user_id):
            return order, []
        if not await OrderLine.exists().where(OrderLine.order == order["id"]):
            raise OrderingError("Votre panier est vide.")
        mail_ids = await _validate(order, user_id, dist, ctx)
    order = await Order.select().where(Order.id == order["id"]).first()
    return order, mail_ids


# ---- recap mail ------------------------------------------------------------------------


async def order_lines(order_id: int) -> list[dict]:
    return (
        await OrderLine.select(
            OrderLine.quantity,
            OrderLine.unit_price_cents,
            OrderLine.product.name.as_alias("name"),
            OrderLine.product.unit.as_alias("unit"),
            OrderLine.product.catalog.vendor.name.as_alias("vendor_name"),
        )
        .where(OrderLine.order == order_id)
        .order_by(OrderLine.product.catalog.vendor.name)
        .order_by(OrderLine.product.name)
    )


def euros(cents: int) -> str:
    """1234567 -> '12 345,67 €' (narrow no-break space for thousands, no-break before €)."""
    return f"{cents / 100:,.2f}".replace(",", "\u202f").replace(".", ",") + "\u00a0€"


async def _queue_recap(order_id: int, user_id: int, dist: dict, ctx) -> list[int]:
    """One recap per burst of changes: a pending recap of the order is rewritten and its
    sending pushed back, so changes within a few minutes make one mail. None for a member
    who turned the recaps off ("Mes communications")."""
    from domain.notifications import opted_out
    from domain.tables import User

    if await opted_out(user_id, "order_recap"):
        return []
    user = await User.select(User.email, User.first_name).where(User.id == user_id).first()
    lines = await order_lines(order_id)
    total = sum(line["quantity"] * line["unit_price_cents"] for line in lines)
    group = await Group.select(Group.name, Group.slug).where(Group.id == dist["group"]).first()
    mail_id = await outbox.queue_grouped(
        key_prefix=f"recap:{order_id}",
        kind="order_recap",
        to=user["email"],
        user=user_id,
        template="order_recap",
        instance=ctx.instance,
        send_after=now() + RECAP_GROUPING,
        context={
            "first_name": user["first_name"],
            "site_name": ctx.site_name,
            "group_name": group["name"],
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
            "url": f"{ctx.base_url}/g/{group['slug']}/commandes/{dist['id']}",
        },
    )
    return [mail_id] if mail_id else []


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


async def catalog_of_product(product_id: int) -> int | None:
    row = await Product.select(Product.catalog).where(Product.id == product_id).first()
    return row["catalog"] if row else None


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
