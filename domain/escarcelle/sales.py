"""Step 5 of seed 002: the sales made here, pushed to Escarcelle when a distribution is
validated, so that every sale is in Escarcelle and counts in its stock.

From the validation record (catalog_orders/validation.py), consumed once (`prepare`, in the
transaction that writes the sales): one sale per member basket and linked grocery, with the
delivered quantities, for members and products that have an Escarcelle id. An absent
member's basket is skipped, and so are lines and baskets without ids, each with its reason.
A sale carries an idempotency key derived from (instance, distribution, basket): pushed
again after a retry or a worker killed mid-push, it is the same sale for Escarcelle.

A push claims its sales by CHUNK (pending → sending, a lease: one statement), posts them
one by one, and records those sent together (one transaction, two statements); a failure is
marked at once, retried hourly up to MAX_ATTEMPTS, then left for a manual retry
(abandoned). A push killed after Escarcelle made some sales of a chunk and before it
recorded them leaves them `sending`: once the lease is over, the next push posts them again
with the same key, Escarcelle answers with the sale it made, and they are recorded then:
still one sale per basket. A push whose lease is half gone records what it sent and gives
the rest back (`release`) before claiming again. After each
pass over a distribution, the grocery's admins get the report: sent, skipped and why,
failed and why, with a link to retry.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.catalog_orders import validation
from domain.database import fetch, insert_many, transaction
from domain.kernel import clock
from domain.kernel.dates import label
from domain.outbox import MailContext, queue
from domain.producer_space import producers
from domain.tables import (
    Distribution,
    EscarcelleLink,
    EscarcelleSale,
    Membership,
    Product,
)

CONSUMER = "escarcelle"
MAX_ATTEMPTS = 5  # the first push and four hourly retries
CHUNK = 50  # sales claimed together, then recorded sent together
RETRY_AFTER = timedelta(hours=1)
OPEN = ("pending", "sending")
REASONS = {
    "absent": "absent à la distribution",
    "no_client": "bénéficiaire sans ID Escarcelle",
    "no_product": "aucun produit avec un ID Escarcelle",
    "product": "produit sans ID Escarcelle",
}


def sale_key(
    base_url: str, instance: str, distribution_id: int, order_id: int, producer: int
) -> str:
    """The Idempotency-Key of a basket's sale: the same for every push of that basket."""
    raw = f"{base_url}|{instance}|{distribution_id}|{order_id}|{producer}"
    return "cc-" + hashlib.sha256(raw.encode()).hexdigest()[:40]


async def prepare(record: dict, *, base_url: str, instance: str) -> list[tuple[int, int]]:
    """Consumes the validation record once and writes its sales, one transaction. Returns
    the (producer, distribution) pairs to push; [] if the record was used already."""
    distribution_id = record["distribution"]
    orders = record["content"]["orders"]
    async with transaction():
        if not await validation.use(record["id"], CONSUMER):
            return []
        product_ids = sorted({line["product"] for o in orders for line in o["lines"]})
        products = {
            p["id"]: p
            for p in await Product.select(
                Product.id, Product.name, Product.producer, Product.escarcelle_id
            ).where(Product.id.is_in(product_ids or [0]))
        }
        linked = {
            row["producer"]
            for row in await EscarcelleLink.select(EscarcelleLink.producer).where(
                EscarcelleLink.producer.is_in(
                    sorted({p["producer"] for p in products.values() if p["producer"]}) or [0]
                )
            )
        }
        if not linked:
            return []
        dist = (
            await Distribution.select(Distribution.group)
            .where(Distribution.id == distribution_id)
            .first()
        )
        clients = {
            m["user"]: m["escarcelle_id"]
            for m in await Membership.select(
                Membership.user, Membership.escarcelle_id, Membership.accepted_at
            ).where(
                (Membership.group == dist["group"])
                & Membership.user.is_in(sorted({o["user"] for o in orders}) or [0])
            )
            if m["escarcelle_id"] and m["accepted_at"] is not None
        }
        rows = []
        for order in orders:
            for producer in sorted(linked):
                mine = [
                    line for line in order["lines"]
                    if products.get(line["product"], {}).get("producer") == producer
                ]  # fmt: skip
                if mine:
                    key = sale_key(base_url, instance, distribution_id, order["order"], producer)
                    rows.append(
                        _sale(order, mine, products, producer, clients, distribution_id, key)
                    )
        await insert_many(rows, skip_conflicts_on="idempotency_key")
    return [(producer, distribution_id) for producer in sorted(linked)]


def _sale(order, lines, products, producer, clients, distribution_id, key) -> EscarcelleSale:
    sent, skipped = [], []
    for line in lines:
        product = products[line["product"]]
        if product["escarcelle_id"]:
            sent.append(
                {"product_id": product["escarcelle_id"], "quantity": line["quantity"],
                 "unit_price_cents": line["unit_price_cents"], "name": product["name"]}
            )  # fmt: skip
        else:
            skipped.append(
                {"name": product["name"], "quantity": line["quantity"],
                 "reason": REASONS["product"]}
            )  # fmt: skip
    client = clients.get(order["user"])
    reason = ""
    if order["absent"]:
        reason = REASONS["absent"]
    elif client is None:
        reason = REASONS["no_client"]
    elif not sent:
        reason = REASONS["no_product"]
    return EscarcelleSale(
        producer=producer,
        distribution=distribution_id,
        order=order["order"],
        idempotency_key=key,
        state="skipped" if reason else "pending",
        reason=reason,
        lines=json.dumps(sent, ensure_ascii=False),
        skipped_lines=json.dumps(skipped, ensure_ascii=False),
        client_id=client,
        attempts=0,
        next_attempt_at=None,
        claimed_at=None,
        sent_at=None,
        escarcelle_sale_id="",
        created_at=clock.now(),
    )


# ---- pushing -----------------------------------------------------------------------------


async def to_push(producer_id: int, distribution_id: int) -> list[int]:
    rows = (
        await EscarcelleSale.select(EscarcelleSale.id)
        .where(
            (EscarcelleSale.producer == producer_id)
            & (EscarcelleSale.distribution == distribution_id)
            & EscarcelleSale.state.is_in(["pending", "sending", "failed"])
        )
        .order_by(EscarcelleSale.id)
    )
    return [row["id"] for row in rows]


async def claim(
    sale_ids: list[int], lease: timedelta, moment: datetime | None = None
) -> list[dict]:
    """Takes sales to push, in one statement: pending, failed and due again, or sending by
    a worker whose lease ran out (killed mid-push). Those not taken (someone else has them,
    or the grocery's link is broken) are left out. The claim's `moment` is each sale's
    `claimed_at`: what `release` checks that they are still this push's."""
    if not sale_ids:
        return []
    moment = moment or clock.now()
    ok = EscarcelleLink.select(EscarcelleLink.producer).where(EscarcelleLink.state == "ok")
    rows = (
        await EscarcelleSale.update(
            {
                EscarcelleSale.state: "sending",
                EscarcelleSale.claimed_at: moment,
                EscarcelleSale.attempts: EscarcelleSale.attempts + 1,
            }
        )
        .where(
            EscarcelleSale.id.is_in(sorted(sale_ids))
            & EscarcelleSale.producer.is_in(ok)
            & (
                (EscarcelleSale.state == "pending")
                | ((EscarcelleSale.state == "failed") & (EscarcelleSale.next_attempt_at <= moment))
                | (
                    (EscarcelleSale.state == "sending")
                    & (EscarcelleSale.claimed_at < moment - lease)
                )
            )
        )
        .returning(*EscarcelleSale.all_columns())
    )
    for sale in rows:
        sale["lines"] = json.loads(sale["lines"])
        sale["claimed_at"] = moment
    return sorted(rows, key=lambda sale: sale["id"])


# Parameters, per sale sent: its id and Escarcelle's sale id (the CASE), then the moment,
# then the ids again (the WHERE).
_SENT = (
    "UPDATE escarcelle_sale SET state = 'sent', reason = '', escarcelle_sale_id = CASE id"
    " {cases} END, sent_at = {{}} WHERE id IN ({ids}) AND state = 'sending' RETURNING id"
)
# Escarcelle's stock as last synced, less what the sales sold (0 at least), per product:
# parameters, per product: its Escarcelle id and quantity (twice); then the producer and
# the Escarcelle ids.
_SOLD = (
    "UPDATE product SET escarcelle_stock = CASE escarcelle_id {cases} ELSE escarcelle_stock"
    " END WHERE producer = {{}} AND escarcelle_id IN ({ids}) AND escarcelle_stock IS NOT NULL"
)
_SOLD_CASE = "WHEN {} THEN CASE WHEN escarcelle_stock > {} THEN escarcelle_stock - {} ELSE 0 END"


async def mark_sent(sent: list[tuple[dict, str]]) -> int:
    """The sales Escarcelle made, (sale, Escarcelle's id) of one grocery, in one transaction
    of two statements however many: sent, and Escarcelle's stock as last synced drops by
    what they sold (not below 0), so that the Stocks page still reads Escarcelle − reserved
    = available until the next sync. A sale no longer `sending` (another push recorded it)
    changes nothing, its stock included. Returns how many were marked."""
    if not sent:
        return 0
    marks = ", ".join("{}" for _ in sent)
    sql = _SENT.format(cases=" ".join("WHEN {} THEN {}" for _ in sent), ids=marks)
    args = [v for sale, receipt in sent for v in (sale["id"], str(receipt)[:40])]
    async with transaction():
        done = await fetch(
            EscarcelleSale, sql, *args, clock.now(), *(sale["id"] for sale, _ in sent)
        )
        marked = {row["id"] for row in done}
        sold: dict[str, int] = {}
        for sale, _ in sent:
            if sale["id"] in marked:
                for line in sale["lines"]:
                    product = str(line["product_id"])
                    sold[product] = sold.get(product, 0) + line["quantity"]
        if sold:
            products = sorted(sold)
            await fetch(
                Product,
                _SOLD.format(
                    cases=" ".join(_SOLD_CASE for _ in products),
                    ids=", ".join("{}" for _ in products),
                ),
                *(v for p in products for v in (p, sold[p], sold[p])),
                sent[0][0]["producer"],
                *products,
            )
    return len(marked)


# Parameters: the claim's moment, then the ids.
_RELEASE = (
    "UPDATE escarcelle_sale SET state = CASE WHEN next_attempt_at IS NULL THEN 'pending'"
    " ELSE 'failed' END, attempts = attempts - 1"
    " WHERE state = 'sending' AND claimed_at = {{}} AND id IN ({ids})"
)


async def release(sales: list[dict]) -> None:
    """Claimed sales given back untried (a push that stops early: the key refused, its
    lease half gone): pending or failed (and due) again as they were, the attempt not
    counted; those another push took meanwhile are left to it. One statement."""
    if not sales:
        return
    await fetch(
        EscarcelleSale,
        _RELEASE.format(ids=", ".join("{}" for _ in sales)),
        sales[0]["claimed_at"],
        *(sale["id"] for sale in sales),
    )


async def mark_failed(sale: dict, reason: str, moment: datetime | None = None) -> str:
    """Failed: retried in an hour, or abandoned (a manual retry) after MAX_ATTEMPTS."""
    moment = moment or clock.now()
    state = "abandoned" if sale["attempts"] >= MAX_ATTEMPTS else "failed"
    await EscarcelleSale.update(
        {
            EscarcelleSale.state: state,
            EscarcelleSale.reason: reason[:500],
            EscarcelleSale.next_attempt_at: moment + RETRY_AFTER if state == "failed" else None,
        }
    ).where((EscarcelleSale.id == sale["id"]) & (EscarcelleSale.state == "sending"))
    return state


async def due_retries(moment: datetime, lease: timedelta) -> list[tuple[int, int]]:
    """(producer, distribution) with sales to push again (the hourly run): failed and due,
    `sending` by a worker whose lease ran out (killed, and no message redelivered), or still
    `pending` a lease after they were written (their push message lost with the broker)."""
    stale = moment - lease
    rows = await EscarcelleSale.select(EscarcelleSale.producer, EscarcelleSale.distribution).where(
        ((EscarcelleSale.state == "failed") & (EscarcelleSale.next_attempt_at <= moment))
        | ((EscarcelleSale.state == "sending") & (EscarcelleSale.claimed_at < stale))
        | ((EscarcelleSale.state == "pending") & (EscarcelleSale.created_at < stale))
    )
    return sorted({(r["producer"], r["distribution"]) for r in rows})


async def retry(producer_id: int, distribution_id: int) -> int:
    """« Renvoyer » the failed and abandoned sales of a distribution: pending again, their
    attempts counted anew. One statement. Returns how many."""
    rows = (
        await EscarcelleSale.update(
            {
                EscarcelleSale.state: "pending",
                EscarcelleSale.attempts: 0,
                EscarcelleSale.next_attempt_at: None,
            }
        )  # fmt: skip
        .where(
            (EscarcelleSale.producer == producer_id)
            & (EscarcelleSale.distribution == distribution_id)
            & EscarcelleSale.state.is_in(["failed", "abandoned"])
        )
        .returning(EscarcelleSale.id)
    )
    return len(rows)


# ---- the report ----------------------------------------------------------------------------


@dataclass
class Report:
    distribution_id: int
    when: str
    group_name: str
    sent: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)  # failed or abandoned
    skipped_lines: list[dict] = field(default_factory=list)
    open: int = 0  # pending or being sent

    @property
    def finished(self) -> bool:
        return self.open == 0


async def report(producer_id: int, distribution_id: int) -> Report | None:
    dist = (
        await Distribution.select(
            Distribution.starts_at, Distribution.group.name.as_alias("group_name")
        )
        .where(Distribution.id == distribution_id)
        .first()
    )
    if dist is None:
        return None
    rows = (
        await EscarcelleSale.select(
            *EscarcelleSale.all_columns(),
            EscarcelleSale.order.user.first_name.as_alias("first_name"),
            EscarcelleSale.order.user.last_name.as_alias("last_name"),
            EscarcelleSale.order.user.email.as_alias("email"),
        )
        .where(
            (EscarcelleSale.producer == producer_id)
            & (EscarcelleSale.distribution == distribution_id)
        )
        .order_by(EscarcelleSale.id)
    )
    made = Report(distribution_id, label(dist["starts_at"]), dist["group_name"])
    for row in rows:
        row["who"] = (
            f"{(row['last_name'] or '').upper()} {row['first_name'] or ''}".strip() or row["email"]
        )
        row["lines"] = json.loads(row["lines"])
        for line in json.loads(row["skipped_lines"]):
            made.skipped_lines.append(line | {"who": row["who"]})
        if row["state"] == "sent":
            made.sent.append(row)
        elif row["state"] == "skipped":
            made.skipped.append(row)
        elif row["state"] in ("failed", "abandoned"):
            made.failed.append(row)
        else:
            made.open += 1
    return made


async def queue_report(
    producer_id: int, distribution_id: int, occasion: str, ctx: MailContext, url: str
) -> list[int]:
    """The synchronisation report to the grocery's admins, once per `occasion` (the first
    push, a manual retry, the retries given up), when nothing is left to send."""
    made = await report(producer_id, distribution_id)
    if made is None or not made.finished:
        return []
    ids = []
    async with transaction():
        for admin in await producers.admins_of(producer_id):
            ids.append(
                await queue(
                    key=f"escarcelle_report:{producer_id}:{distribution_id}:{occasion}:{admin['id']}",
                    kind="escarcelle_report",
                    to=admin["email"],
                    template="escarcelle_report",
                    context={"first_name": admin["first_name"], "report": made, "url": url},
                    ctx=ctx,
                    user=admin["id"],
                )
            )
    return [i for i in ids if i]


async def reports_of(producer_id: int, limit: int = 20) -> list[Report]:
    """The latest validated distributions' reports, for the Paramètres page."""
    rows = (
        await EscarcelleSale.select(EscarcelleSale.distribution)
        .where(EscarcelleSale.producer == producer_id)
        .order_by(EscarcelleSale.distribution, ascending=False)
    )
    seen: list[int] = []
    for row in rows:
        if row["distribution"] not in seen:
            seen.append(row["distribution"])
        if len(seen) >= limit:
            break
    return [r for r in [await report(producer_id, d) for d in seen] if r]
