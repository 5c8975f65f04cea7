"""A variable contract's default order (ContractTerms.default_order): when the orders of
one of its distributions close, each subscriber who has not ordered from it (and declared
no absence) gets it, as a validated order whose debt arises as any order's. Before that,
while the orders are open and close within `NOTICE_BEFORE`, they are told by mail (kind
`default_order`, key `default_order:<user>:<distribution>:<catalog>`, dropped once the
orders close).

Both are steps of the scheduler's tick (jobs/scheduler.py), with the moment passed in.
Idempotent: the default is applied only to an order with no line of the contract, checked
again once the order is locked (PostgreSQL; SQLite's write transaction is exclusive), so
two schedulers at once apply it once; the notice's outbox key makes it one mail."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain import outbox
from domain.contracts import catalog_dates, in_period, parse_default
from domain.database import transaction
from domain.kernel.clock import now
from domain.kernel.dates import label
from domain.kernel.money import euros
from domain.ordering import OrderingError, changes
from domain.payments import ledger
from domain.tables import (
    Absence,
    ContractTerms,
    Order,
    OrderLine,
    Product,
    Subscription,
)

NOTICE_BEFORE = timedelta(hours=48)
KIND = "default_order"


async def _contracts() -> list[dict]:
    """Variable contracts of AMAPs with a default order."""
    rows = await ContractTerms.select(
        ContractTerms.catalog,
        ContractTerms.default_order,
        ContractTerms.catalog.name.as_alias("name"),
        ContractTerms.catalog.group.as_alias("group_id"),
        ContractTerms.catalog.group.slug.as_alias("group_slug"),
        ContractTerms.catalog.group.name.as_alias("group_name"),
        ContractTerms.catalog.group.instance.as_alias("instance"),
    ).where(
        (ContractTerms.default_order != "")
        & (ContractTerms.catalog.kind == "variable")
        & (ContractTerms.catalog.group.kind == "amap")
    )
    for row in rows:
        row["basket"] = parse_default(row["default_order"])
    return [r for r in rows if r["basket"]]


async def _waiting(contract: dict, dist: dict) -> list[dict]:
    """The contract's subscribers at this date with no line of it and no absence."""
    subs = await Subscription.select(
        Subscription.id,
        Subscription.user,
        Subscription.starts_on,
        Subscription.ends_on,
        Subscription.user.email.as_alias("email"),
        Subscription.user.first_name.as_alias("first_name"),
    ).where((Subscription.catalog == contract["catalog"]) & Subscription.ended_at.is_null())
    subs = [s for s in subs if in_period([dist], s)]
    if not subs:
        return []
    absent = {
        a["subscription"]
        for a in await Absence.select(Absence.subscription).where(
            Absence.distribution == dist["id"]
        )
    }
    ordered = {
        line["user"]
        for line in await OrderLine.select(OrderLine.order.user.as_alias("user")).where(
            (OrderLine.order.distribution == dist["id"])
            & (OrderLine.product.catalog == contract["catalog"])
        )
    }
    return [s for s in subs if s["id"] not in absent and s["user"] not in ordered]


async def _apply(contract: dict, dist: dict, sub: dict) -> bool:
    async with transaction():
        order = await changes.order_for_update(sub["user"], dist["id"])
        if await OrderLine.exists().where(
            (OrderLine.order == order["id"]) & (OrderLine.product.catalog == contract["catalog"])
        ):
            return False  # ordered meanwhile, or applied by another scheduler
        products = {
            p["id"]: p
            for p in await Product.select(
                Product.id, Product.price_cents, Product.max_per_order, Product.stock
            ).where(
                (Product.catalog == contract["catalog"]) & (Product.active == True)  # noqa: E712
            )
        }
        applied = False
        for product_id, quantity in sorted(contract["basket"].items()):
            if product_id not in products:
                continue
            try:
                await changes.apply_line(order, products[product_id], quantity, sub["id"])
                applied = True
            except OrderingError:
                continue  # sold out, or over the maximum: the rest still applies
        if not applied:
            # An order made only for this (nothing applied, nothing else in it) is dropped.
            if not await OrderLine.exists().where(OrderLine.order == order["id"]):
                await Order.delete().where((Order.id == order["id"]) & (Order.state == "draft"))
            return False
        await changes.refresh_total(order["id"])
        if order["state"] != "validated":
            await Order.update({Order.state: "validated", Order.validated_at: now()}).where(
                Order.id == order["id"]
            )
        await ledger.follow([order["id"]], create=True, why="commande par défaut")
    return True


async def apply_defaults(moment: datetime | None = None) -> int:
    """The default orders due at `moment`: dates whose orders closed and that have not
    started nor been validated. Returns how many orders got one."""
    moment = moment or now()
    count = 0
    for contract in await _contracts():
        for dist in await catalog_dates(contract["catalog"]):
            if not (dist["closes_at"] <= moment < dist["starts_at"]) or dist["validated_at"]:
                continue
            for sub in await _waiting(contract, dist):
                count += await _apply(contract, dist, sub)
    return count


async def queue_notices(contexts: dict, moment: datetime | None = None) -> list[int]:
    """Tell each subscriber who has not ordered yet that the default order will apply,
    while the orders are open and close within NOTICE_BEFORE. Returns the new mails' ids."""
    moment = moment or now()
    mails: list[outbox.NewMail] = []
    for contract in await _contracts():
        dates = [
            d
            for d in await catalog_dates(contract["catalog"])
            if d["opens_at"] <= moment < d["closes_at"] <= moment + NOTICE_BEFORE
        ]
        if not dates:
            continue
        names = {
            p["id"]: p
            for p in await Product.select(Product.id, Product.name, Product.price_cents).where(
                Product.id.is_in(sorted(contract["basket"]))
            )
        }
        lines = [
            {"quantity": q, "name": names[p]["name"], "total": euros(q * names[p]["price_cents"])}
            for p, q in sorted(contract["basket"].items())
            if p in names
        ]
        ctx = contexts.get(contract["instance"]) or next(iter(contexts.values()))
        for dist in dates:
            for sub in await _waiting(contract, dist):
                context = {
                    "first_name": sub["first_name"],
                    "group_name": contract["group_name"],
                    "contract": contract["name"],
                    "when": label(dist["starts_at"]),
                    "closes": label(dist["closes_at"]),
                    "lines": lines,
                    "url": f"{ctx.base_url}/g/{contract['group_slug']}/commandes/{dist['id']}",
                }
                subject, text, html = outbox.render(KIND, context, KIND, site_name=ctx.site_name)
                mails.append(
                    outbox.NewMail(
                        key=f"{KIND}:{sub['user']}:{dist['id']}:{contract['catalog']}",
                        kind=KIND,
                        to=sub["email"],
                        subject=subject,
                        text=text,
                        html=html,
                        instance=contract["instance"],
                        user=sub["user"],
                        headers=outbox.encode_headers(
                            expires_at=dist["closes_at"],
                            distribution=dist["id"],
                            starts_at=dist["starts_at"],
                        ),
                    )
                )
    return await outbox.queue_many(mails) if mails else []
