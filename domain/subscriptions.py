"""AMAP contracts: a member subscribes for the catalog's period.

A fixed contract's basket is chosen once and becomes the member's order at every
coming distribution of the period; a variable contract is ordered per distribution
(see ordering.py, which subscribes the member at the first order).
"""

from __future__ import annotations

from datetime import UTC, date

from domain import ordering
from domain.accounts import names_missing
from domain.database import fetch, transaction
from domain.kernel.clock import now
from domain.kernel.errors import FieldErrors
from domain.members import consent
from domain.ordering import changes
from domain.payments import ledger
from domain.tables import (
    Absence,
    Catalog,
    CatalogDistribution,
    Distribution,
    Membership,
    Order,
    OrderLine,
    Product,
    SharedBasket,
    Subscription,
    SubscriptionLine,
)


async def contracts_of(group_id: int, user_id: int) -> list[dict]:
    """MES CONTRATS: the group's contracts and the member's subscription to each."""
    catalogs = (
        await Catalog.select(
            *Catalog.all_columns(),
            Catalog.vendor.name.as_alias("vendor_name"),
        )
        .where(Catalog.group == group_id)
        .order_by(Catalog.name)
    )
    # Their own subscriptions, and those they share as second holder (contracts/sharing).
    shared = SharedBasket.select(SharedBasket.subscription).where(SharedBasket.partner == user_id)
    subs = await Subscription.select().where(
        ((Subscription.user == user_id) | Subscription.id.is_in(shared))
        & Subscription.ended_at.is_null()
        & Subscription.catalog.is_in([c["id"] for c in catalogs] or [-1])
    )
    sub_of = {s["catalog"]: s for s in subs}
    return [{**c, "subscription": sub_of.get(c["id"])} for c in catalogs]


async def _coming_distributions(catalog: dict, starts_on: date, ends_on: date) -> list[dict]:
    """The catalog's distributions within the period that have not started yet."""
    delivering = CatalogDistribution.select(CatalogDistribution.distribution).where(
        CatalogDistribution.catalog == catalog["id"]
    )
    rows = (
        await Distribution.select(Distribution.id, Distribution.starts_at)
        .where(
            Distribution.id.is_in(delivering)
            & Distribution.cancelled_at.is_null()
            & (Distribution.starts_at > now())
        )
        .order_by(Distribution.starts_at)
    )
    return [r for r in rows if starts_on <= r["starts_at"].astimezone(UTC).date() <= ends_on]


async def basket_of(subscription_id: int) -> dict[int, int]:
    rows = await SubscriptionLine.select(SubscriptionLine.product, SubscriptionLine.quantity).where(
        SubscriptionLine.subscription == subscription_id
    )
    return {row["product"]: row["quantity"] for row in rows}


async def subscribe(
    *,
    group_id: int,
    catalog_id: int,
    user_id: int,
    quantities: dict[int, str],
    own: bool = False,
) -> dict:
    """Subscribe (or change the basket of) a fixed contract; all or nothing.

    The basket becomes the member's validated order at each coming distribution. `own`:
    the member subscribes themselves, their yes to a group an admin added them to (as a
    first order is: members.consent); an admin subscribing them is not. A member who never
    gave their names gives them first (as before a first order).
    """
    catalog = (
        await Catalog.select()
        .where((Catalog.id == catalog_id) & (Catalog.group == group_id))
        .first()
    )
    if catalog is None:
        raise FieldErrors({"catalog": "Contrat introuvable."})
    if catalog["kind"] != "fixed":
        raise FieldErrors(
            {"catalog": "Ce contrat est à commande variable : commandez à chaque distribution."}
        )
    if not await Membership.exists().where(
        (Membership.user == user_id) & (Membership.group == group_id)
    ):
        raise FieldErrors({"user": "Cette personne n'est pas membre du groupe."})
    if own and await names_missing(user_id):
        raise FieldErrors({"basket": "Indiquez vos prénom et nom avant de souscrire."})
    if await SharedBasket.exists().where(
        (SharedBasket.partner == user_id)
        & (SharedBasket.subscription.catalog == catalog_id)
        & SharedBasket.subscription.ended_at.is_null()
    ):
        raise FieldErrors(
            {"basket": "Ce panier est partagé : seul son titulaire peut le modifier."}
        )
    if catalog["ends_on"] and catalog["ends_on"] < now().date():
        raise FieldErrors({"catalog": "Ce contrat est terminé."})
    products = {
        p["id"]: p
        for p in await Product.select(
            Product.id, Product.price_cents, Product.max_per_order, Product.stock
        ).where((Product.catalog == catalog_id) & (Product.active == True))  # noqa: E712
    }
    errors: dict[str, str] = {}
    basket: dict[int, int] = {}
    for product_id, raw in quantities.items():
        if product_id not in products:
            errors[f"q{product_id}"] = "Ce produit ne fait pas partie du contrat."
            continue
        try:
            quantity = ordering.parse_quantity(raw)
        except ordering.OrderingError as error:
            errors[f"q{product_id}"] = error.message
            continue
        limit = products[product_id]["max_per_order"]
        if limit is not None and quantity > limit:
            errors[f"q{product_id}"] = f"Maximum {limit} par distribution pour ce produit."
        basket[product_id] = quantity
    if not errors and not any(basket.values()):
        errors["basket"] = "Choisissez au moins un produit pour votre panier."
    if errors:
        raise FieldErrors(errors)
    starts_on = max(catalog["starts_on"] or now().date(), now().date())
    ends_on = catalog["ends_on"] or starts_on
    async with transaction():
        existing = (
            await Subscription.select(Subscription.id)
            .where(
                (Subscription.user == user_id)
                & (Subscription.catalog == catalog_id)
                & Subscription.ended_at.is_null()
            )
            .first()
        )
        if existing:
            sub_id = existing["id"]
            await SubscriptionLine.delete().where(SubscriptionLine.subscription == sub_id)
        else:
            sub_id = (
                await Subscription.insert(
                    Subscription(
                        user=user_id, catalog=catalog_id, starts_on=starts_on, ends_on=ends_on
                    )
                ).returning(Subscription.id)
            )[0]["id"]
        lines = [
            SubscriptionLine(subscription=sub_id, product=pid, quantity=q)
            for pid, q in sorted(basket.items())
            if q
        ]
        await SubscriptionLine.insert(*lines)
        orders = await _apply_to_distributions(catalog, sub_id, user_id, basket, starts_on, ends_on)
        # The subscription's total is a debt, from now (the ledger being on); a basket
        # changed later changes it.
        await ledger.follow(orders, [sub_id], create=True, why="souscription modifiée")
        if own:
            await consent.accept_by_order(user_id, group_id)
    return await Subscription.select().where(Subscription.id == sub_id).first()


async def _apply_to_distributions(
    catalog: dict, sub_id: int, user_id: int, basket: dict[int, int], starts_on, ends_on
) -> list[int]:
    """The basket at each coming distribution of the period; returns the orders."""
    touched = []
    products = {
        p["id"]: p
        for p in await Product.select(
            Product.id, Product.price_cents, Product.max_per_order, Product.stock
        ).where(Product.catalog == catalog["id"])
    }
    # The distributions the member declared absences for get no basket (contracts/absences).
    absent = await Absence.select(Absence.distribution).where(Absence.subscription == sub_id)
    skipped = {a["distribution"] for a in absent}
    for dist in await _coming_distributions(catalog, starts_on, ends_on):
        if dist["id"] in skipped:
            continue
        order = await changes.order_for_update(user_id, dist["id"])
        for product_id in sorted(set(basket) | set(products)):
            if product_id not in basket:
                continue
            try:
                await changes.apply_line(order, products[product_id], basket[product_id], sub_id)
            except ordering.OrderingError as error:
                raise FieldErrors({f"q{product_id}": error.message}) from error
        await changes.refresh_total(order["id"])
        if order["state"] != "validated":
            await Order.update({Order.state: "validated", Order.validated_at: now()}).where(
                Order.id == order["id"]
            )
        touched.append(order["id"])
    return touched


async def subscription_of_catalog(catalog_id: int, subscription_id: int) -> dict | None:
    """A subscription, through the catalog of the URL: another catalog's is None (of the
    same group too: its coordinator is not this catalog's)."""
    return (
        await Subscription.select()
        .where((Subscription.id == subscription_id) & (Subscription.catalog == catalog_id))
        .first()
    )


async def end_subscription(catalog_id: int, subscription_id: int) -> None:
    """End it now: the lines of coming distributions are removed (stock given back)."""
    if await subscription_of_catalog(catalog_id, subscription_id) is None:
        raise FieldErrors({"subscription": "Souscription introuvable."})
    async with transaction():
        await Subscription.update({Subscription.ended_at: now()}).where(
            (Subscription.id == subscription_id) & Subscription.ended_at.is_null()
        )
        lines = await OrderLine.select(
            OrderLine.id,
            OrderLine.order,
            OrderLine.product,
            OrderLine.quantity,
            OrderLine.product.stock.as_alias("stock"),
        ).where(
            (OrderLine.subscription == subscription_id)
            & (OrderLine.order.distribution.starts_at > now())
        )
        touched = set()
        for line in lines:
            if line["stock"] is not None:
                await Product.update({Product.stock: Product.stock + line["quantity"]}).where(
                    Product.id == line["product"]
                )
            await OrderLine.delete().where(OrderLine.id == line["id"])
            touched.add(line["order"])
        for order_id in touched:
            await changes.refresh_total(order_id)
        await ledger.follow(touched, [subscription_id], why="souscription terminée")


_TOTALS = (
    "SELECT l.subscription, SUM(CAST(l.quantity AS BIGINT) * l.unit_price_cents) AS total"
    " FROM order_line l WHERE l.subscription IN"
    " (SELECT s.id FROM subscription s WHERE s.catalog = {}) GROUP BY l.subscription"
)


async def subscriptions_of_catalog(catalog_id: int) -> list[dict]:
    """SOUSCRIPTIONS: every subscription with its basket and total over its distributions."""
    subs = (
        await Subscription.select(
            *Subscription.all_columns(),
            Subscription.user.first_name.as_alias("first_name"),
            Subscription.user.last_name.as_alias("last_name"),
            Subscription.user.email.as_alias("email"),
            Subscription.catalog.group.as_alias("group_id"),
        )
        .where(Subscription.catalog == catalog_id)
        .order_by(Subscription.user.last_name)
    )
    # Names as the group's admins may see them (consent.py), in the order shown.
    if subs and await consent.mask(subs[0]["group_id"], subs, user_key="user"):
        subs.sort(key=lambda s: s["last_name"])
    # The catalog's subscriptions by a subquery (not a list of ids: its cost would grow with
    # them), the totals summed by the database (bench/instalments_bench.py).
    mine = Subscription.select(Subscription.id).where(Subscription.catalog == catalog_id)
    lines = await SubscriptionLine.select(
        SubscriptionLine.subscription,
        SubscriptionLine.quantity,
        SubscriptionLine.product.name.as_alias("name"),
        SubscriptionLine.product.price_cents.as_alias("price_cents"),
    ).where(SubscriptionLine.subscription.is_in(mine))
    by_sub: dict[int, list[dict]] = {}
    for line in lines:
        by_sub.setdefault(line["subscription"], []).append(line)
    total_of = {
        row["subscription"]: row["total"] for row in await fetch(OrderLine, _TOTALS, catalog_id)
    }
    return [
        {**s, "basket": by_sub.get(s["id"], []), "total_cents": total_of.get(s["id"], 0)}
        for s in subs
    ]
