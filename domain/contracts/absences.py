"""Absences: the distributions of a contract a subscriber will miss, declared in MES
CONTRATS within the contract's allowance (ContractTerms: up to `absences_max` between two
days, up to a deadline).

A declared absence removes the subscription's basket from that distribution's order (the
stock is given back, an order left empty is dropped) and the subscription's debt follows
by a new operation of the ledger (« – absence déclarée »), which lowers the cheques still
expected (instalments.py). A basket changed later is not made again at those dates
(subscriptions.py skips them).

Refused, with a French message, after the deadline, beyond the allowance, outside the
period, or for a distribution whose orders are closed (its basket is being prepared). One
transaction with the form's key (the same form twice is one change); the subscription is
locked (PostgreSQL; SQLite's write transaction is exclusive) so that two forms at once
cannot declare more than the allowance between them.

An absence is cancelled on the same terms (before the deadline, the distribution's orders
open): a fixed contract's basket comes back at that distribution, its stock taken again
(short of stock: refused, the absence stays), and the debt follows back (« – absence
annulée »); a variable contract's member orders again."""

from __future__ import annotations

from datetime import datetime

from domain import idempotency, subscriptions
from domain.contracts import Terms, catalog_dates, day_of, in_period, terms_of
from domain.database import is_sqlite, transaction
from domain.kernel.clock import now
from domain.kernel.dates import format_moment, label, paris_day
from domain.kernel.errors import FieldErrors
from domain.ordering import OrderingError, changes
from domain.payments import ledger
from domain.tables import Absence, Order, OrderLine, Product, SharedBasket, Subscription


async def subscription_of(catalog_id: int, user_id: int) -> dict | None:
    """The member's current subscription to the contract: their own, or the one they
    share as its second holder."""
    own = (
        await Subscription.select()
        .where(
            (Subscription.catalog == catalog_id)
            & (Subscription.user == user_id)
            & Subscription.ended_at.is_null()
        )
        .first()
    )
    if own is not None:
        return own
    shared = SharedBasket.select(SharedBasket.subscription).where(SharedBasket.partner == user_id)
    return (
        await Subscription.select()
        .where(
            (Subscription.catalog == catalog_id)
            & Subscription.id.is_in(shared)
            & Subscription.ended_at.is_null()
        )
        .first()
    )


async def declared(subscription_id: int) -> set[int]:
    rows = await Absence.select(Absence.distribution).where(Absence.subscription == subscription_id)
    return {r["distribution"] for r in rows}


def too_late(terms: Terms, moment: datetime) -> bool:
    return terms.absences_deadline is not None and paris_day(moment) > terms.absences_deadline


def may_change(dist: dict, terms: Terms, moment: datetime) -> bool:
    """An absence may still be declared for this distribution."""
    return (
        not too_late(terms, moment)
        and moment < dist["closes_at"]
        and dist["validated_at"] is None
        and moment < dist["starts_at"]
    )


def choices(terms: Terms, subscription: dict, dates: list[dict], absent: set[int], moment):
    """The subscription's distributions in the absence period, each with `absent` and
    `open` (may still be declared)."""
    if not terms.allows_absences:
        return []
    found = []
    for dist in in_period(dates, subscription):
        day = day_of(dist)
        if terms.absences_from and day < terms.absences_from:
            continue
        if terms.absences_until and day > terms.absences_until:
            continue
        found.append(
            dist
            | {
                "absent": dist["id"] in absent,
                "open": may_change(dist, terms, moment),
                "label": label(dist["starts_at"]),
            }
        )
    return found


async def absence_page(catalog_id: int, user_id: int, moment: datetime | None = None) -> dict:
    """What the member's absences page shows (None subscription: not subscribed)."""
    moment = moment or now()
    sub = await subscription_of(catalog_id, user_id)
    terms = await terms_of(catalog_id)
    if sub is None:
        return {"subscription": None, "terms": terms, "choices": [], "count": 0}
    absent = await declared(sub["id"])
    options = choices(terms, sub, await catalog_dates(catalog_id), absent, moment)
    return {
        "subscription": sub,
        "terms": terms,
        "choices": options,
        "count": len(absent),
        "left": max(0, terms.absences_max - len(absent)),
        "too_late": too_late(terms, moment),
    }


async def _lock(subscription_id: int) -> None:
    query = Subscription.select(Subscription.id).where(Subscription.id == subscription_id)
    if not is_sqlite():
        query = query.lock_rows()
    await query.first()


async def _remove_baskets(sub: dict, distribution_ids: list[int]) -> list[int]:
    """The subscription's lines at these distributions removed, stock given back; returns
    the orders touched (those left empty are deleted)."""
    touched = []
    for dist_id in sorted(distribution_ids):
        query = Order.select(Order.id).where(
            (Order.user == sub["user"]) & (Order.distribution == dist_id)
        )
        if not is_sqlite():
            query = query.lock_rows()
        order = await query.first()
        if order is None:
            continue
        lines = await OrderLine.select(
            OrderLine.id,
            OrderLine.product,
            OrderLine.quantity,
            OrderLine.product.stock.as_alias("stock"),
        ).where((OrderLine.order == order["id"]) & (OrderLine.subscription == sub["id"]))
        for line in sorted(lines, key=lambda x: x["product"]):  # id order: no deadlocks
            if line["stock"] is not None:
                await Product.update({Product.stock: Product.stock + line["quantity"]}).where(
                    Product.id == line["product"]
                )
            await OrderLine.delete().where(OrderLine.id == line["id"])
        if not await OrderLine.exists().where(OrderLine.order == order["id"]):
            await Order.delete().where(Order.id == order["id"])
        else:
            await changes.refresh_total(order["id"])
        touched.append(order["id"])
    return touched


async def declare(
    *,
    catalog_id: int,
    user_id: int,
    distribution_ids: list[int],
    key: str | None,
    moment: datetime | None = None,
) -> int | None:
    """Declare these distributions absences of the member's subscription. Returns how many
    were added; None for a replayed form."""
    moment = moment or now()
    sub = await subscription_of(catalog_id, user_id)
    if sub is None:
        raise FieldErrors({"form": "Vous n'avez pas souscrit à ce contrat."})
    terms = await terms_of(catalog_id)
    if not terms.allows_absences:
        raise FieldErrors({"form": "Ce contrat ne prévoit pas d'absences."})
    if too_late(terms, moment):
        raise FieldErrors(
            {
                "form": "La date limite pour déclarer vos absences était le "
                f"{format_moment(terms.absences_deadline, 'day')}."
            }
        )
    wanted = sorted(set(distribution_ids))
    if not wanted:
        raise FieldErrors({"form": "Choisissez au moins une distribution."})
    async with transaction():
        try:
            if not await idempotency.claim(key, user_id):
                return None
        except idempotency.BadKey as error:
            raise FieldErrors({"form": "Formulaire invalide : rechargez la page."}) from error
        await _lock(sub["id"])
        absent = await declared(sub["id"])
        options = {
            c["id"]: c for c in choices(terms, sub, await catalog_dates(catalog_id), absent, moment)
        }
        new = [d for d in wanted if d not in absent]
        for dist_id in new:
            option = options.get(dist_id)
            if option is None:
                raise FieldErrors(
                    {"form": "Cette distribution ne fait pas partie de la période d'absences."}
                )
            if not option["open"]:
                raise FieldErrors(
                    {
                        "form": f"Trop tard pour la distribution du {option['label']} : "
                        "ses commandes sont fermées."
                    }
                )
        if len(absent) + len(new) > terms.absences_max:
            most = terms.absences_max
            raise FieldErrors(
                {
                    "form": f"Ce contrat permet {most} absence{'s' if most > 1 else ''} au "
                    f"plus : vous en avez déjà déclaré {len(absent)}."
                }
            )
        if not new:
            return 0
        await Absence.insert(
            *[Absence(subscription=sub["id"], distribution=d, declared_by=user_id) for d in new]
        ).on_conflict(action="DO NOTHING")
        orders = await _remove_baskets(sub, new)
        await ledger.follow(orders, [sub["id"]], by=user_id, why="absence déclarée")
    return len(new)


async def _restore_basket(sub: dict, dist_id: int) -> list[int]:
    """A fixed contract's basket made again at this distribution (the subscription's lines,
    as `subscriptions` makes it), the stock taken back; a product short of stock refuses the
    whole change. A variable contract has no basket to make: the member orders again."""
    basket = await subscriptions.basket_of(sub["id"])
    if not basket:
        return []
    products = {
        p["id"]: p
        for p in await Product.select(
            Product.id, Product.name, Product.price_cents, Product.max_per_order, Product.stock
        ).where(Product.id.is_in(sorted(basket)))
    }
    order = await changes.order_for_update(sub["user"], dist_id)
    for product_id in sorted(basket):  # id order: no deadlocks
        product = products.get(product_id)
        if product is None or not basket[product_id]:
            continue
        try:
            await changes.apply_line(order, product, basket[product_id], sub["id"])
        except OrderingError as error:
            raise FieldErrors(
                {
                    "form": f"Votre panier ne peut pas être refait : {product['name']} : "
                    f"{error.message}"
                }
            ) from error
    await changes.refresh_total(order["id"])
    if order["state"] != "validated":
        await Order.update({Order.state: "validated", Order.validated_at: now()}).where(
            Order.id == order["id"]
        )
    return [order["id"]]


async def cancel(
    *,
    catalog_id: int,
    user_id: int,
    distribution_id: int | None,
    key: str | None,
    moment: datetime | None = None,
) -> int | None:
    """Undo a declared absence, up to the same deadline as declaring it and while the
    distribution's orders are open: the basket of a fixed contract comes back (if the stock
    allows it, or nothing changes), the subscription's debt follows (« – absence
    annulée »). Returns how many baskets came back (0 for a variable contract: the member
    orders again); None: a replayed form (one change)."""
    moment = moment or now()
    sub = await subscription_of(catalog_id, user_id)
    if sub is None:
        raise FieldErrors({"form": "Vous n'avez pas souscrit à ce contrat."})
    terms = await terms_of(catalog_id)
    if too_late(terms, moment):
        raise FieldErrors(
            {
                "form": "La date limite pour modifier vos absences était le "
                f"{format_moment(terms.absences_deadline, 'day')}."
            }
        )
    if distribution_id is None:
        raise FieldErrors({"form": "Choisissez l'absence à annuler."})
    async with transaction():
        try:
            if not await idempotency.claim(key, user_id):
                return None
        except idempotency.BadKey as error:
            raise FieldErrors({"form": "Formulaire invalide : rechargez la page."}) from error
        await _lock(sub["id"])
        if distribution_id not in await declared(sub["id"]):
            raise FieldErrors({"form": "Cette distribution n'est pas une de vos absences."})
        dist = next(
            (d for d in await catalog_dates(catalog_id) if d["id"] == distribution_id), None
        )
        if dist is None or not may_change(dist, terms, moment):
            when = f" du {label(dist['starts_at'])}" if dist else ""
            raise FieldErrors(
                {"form": f"Trop tard pour annuler l'absence{when} : ses commandes sont fermées."}
            )
        await Absence.delete().where(
            (Absence.subscription == sub["id"]) & (Absence.distribution == distribution_id)
        )
        orders = []
        if dist["starts_at"] > moment and sub["starts_on"] <= day_of(dist) <= sub["ends_on"]:
            orders = await _restore_basket(sub, distribution_id)
        await ledger.follow(orders, [sub["id"]], by=user_id, why="absence annulée")
    return len(orders)
