"""What the scheduler sends: each catalog's order form once its orders closed, and an
updated form after corrections. `queue_due(contexts, moment)`, time passed in.

Every minute, for the catalogs whose orders closed at a distribution not started yet
(within HORIZON), one query reads a stamp of their lines: how many, their quantities and
amounts, which lines. The form is built only when there is something to send:

- no OrderForm row and lines: the first form. Its row is inserted ON CONFLICT DO
  NOTHING; the scheduler whose INSERT went in writes the mails, in the same transaction;
- a row whose stamp differs from the lines': they changed since the last form. The new
  stamp is noted (`seen_*`); once it has stayed the same for QUIET, the row goes from
  version n to n + 1 by an UPDATE … WHERE version = n, and the scheduler whose UPDATE
  went in writes the updated form's mails.

So two schedulers at once send each version once: the other's INSERT or UPDATE finds the
row taken, and it writes nothing. A crash before the commit leaves neither claim nor
mails, and the next minute does it again."""

from __future__ import annotations

import hashlib
from datetime import datetime

from domain import outbox
from domain.database import transaction
from domain.kernel.clock import now
from domain.order_forms import HORIZON, KIND, QUIET
from domain.order_forms.content import Heading, csv_bytes, file_name, mail_context, read
from domain.tables import Catalog, CatalogDistribution, Distribution, OrderForm, OrderLine

CHUNK = 500


def _ids(values) -> str:
    return ", ".join(str(int(v)) for v in values)


async def closed(moment: datetime) -> list[dict]:
    """(catalog, distribution) pairs whose orders are closed at `moment`, the distribution
    not started nor cancelled and within HORIZON. One query."""
    links = await CatalogDistribution.select(
        CatalogDistribution.catalog,
        CatalogDistribution.distribution,
        CatalogDistribution.orders_close_at,
        CatalogDistribution.distribution.orders_close_at.as_alias("dist_close"),
    ).where(
        CatalogDistribution.distribution.cancelled_at.is_null()
        & (CatalogDistribution.distribution.starts_at > moment)
        & (CatalogDistribution.distribution.starts_at <= moment + HORIZON)
        & (
            (CatalogDistribution.distribution.orders_close_at <= moment)
            | (CatalogDistribution.orders_close_at <= moment)
        )
    )
    return [
        link
        for link in links
        # A catalog's own window narrows the distribution's (as in domain/ordering).
        if min(link["dist_close"], link["orders_close_at"] or link["dist_close"]) <= moment
    ]


# Only integers are put in the text. The stamp changes with any line added, removed, or
# changed in quantity (line ids only grow: a line made anew is another id).
_STAMPS = (
    "SELECT p.catalog AS catalog, o.distribution AS distribution, COUNT(*) AS n, "  # noqa: S608
    "SUM(l.quantity) AS q, SUM(l.quantity * CAST(l.unit_price_cents AS BIGINT)) AS cents, "
    "SUM(CAST(l.id % 1000003 AS BIGINT) * l.quantity) AS weighted, MAX(l.id) AS last "
    'FROM order_line l JOIN member_order o ON o.id = l."order" '
    "JOIN product p ON p.id = l.product "
    "WHERE o.state = 'validated' AND o.distribution IN ({ids}) "
    "GROUP BY p.catalog, o.distribution"
)


async def stamps(pairs: list[dict]) -> dict[tuple[int, int], str]:
    """{(catalog, distribution): stamp of its validated lines} ("" when there are none)."""
    found: dict[tuple[int, int], str] = {}
    dists = sorted({p["distribution"] for p in pairs})
    for start in range(0, len(dists), CHUNK):
        rows = await OrderLine.raw(_STAMPS.format(ids=_ids(dists[start : start + CHUNK])))
        for r in rows:
            text = f"{r['n']}:{r['q']}:{r['cents']}:{r['weighted']}:{r['last']}"
            found[(r["catalog"], r["distribution"])] = hashlib.sha256(text.encode()).hexdigest()
    return {
        (p["catalog"], p["distribution"]): found.get((p["catalog"], p["distribution"]), "")
        for p in pairs
    }


async def _forms_of(pairs: list[dict]) -> dict[tuple[int, int], dict]:
    rows: list[dict] = []
    dists = sorted({p["distribution"] for p in pairs})
    for start in range(0, len(dists), CHUNK):
        rows += await OrderForm.select().where(
            OrderForm.distribution.is_in(dists[start : start + CHUNK])
        )
    return {(r["catalog"], r["distribution"]): r for r in rows}


async def queue_due(contexts: dict, moment: datetime | None = None) -> list[int]:
    """Queue the order forms due at `moment`: the ids of the new outbox rows (to enqueue
    once this returns). `contexts`: {instance key: MailContext}."""
    moment = moment or now()
    pairs = await closed(moment)
    if not pairs:
        return []
    current = await stamps(pairs)
    forms = await _forms_of(pairs)
    ids: list[int] = []
    for pair, stamp in current.items():
        form = forms.get(pair)
        if form is None:
            if stamp:
                ids += await _first(pair, stamp, contexts, moment)
        elif stamp == form["digest"]:
            if form["seen_digest"] != stamp:  # changed, then changed back: nothing to say
                await _seen(form["id"], stamp, moment)
        elif stamp != form["seen_digest"]:
            await _seen(form["id"], stamp, moment)
        elif form["seen_at"] is not None and form["seen_at"] <= moment - QUIET:
            ids += await _update(form, stamp, contexts, moment)
    return ids


async def _seen(form_id: int, stamp: str, moment: datetime) -> None:
    await OrderForm.update({OrderForm.seen_digest: stamp, OrderForm.seen_at: moment}).where(
        (OrderForm.id == form_id) & (OrderForm.seen_digest != stamp)
    )


async def _first(pair, stamp: str, contexts: dict, moment: datetime) -> list[int]:
    catalog_id, distribution_id = pair
    async with transaction():
        claimed = (
            await OrderForm.insert(
                OrderForm(
                    catalog=catalog_id,
                    distribution=distribution_id,
                    version=1,
                    digest=stamp,
                    sent_at=moment,
                    seen_digest=stamp,
                    seen_at=moment,
                )
            )
            .on_conflict(action="DO NOTHING")
            .returning(OrderForm.id)
        )
        if not claimed:
            return []  # another scheduler has it
        return await _queue(catalog_id, distribution_id, 1, None, contexts)


async def _update(form: dict, stamp: str, contexts: dict, moment: datetime) -> list[int]:
    version = form["version"] + 1
    async with transaction():
        claimed = (
            await OrderForm.update(
                {
                    OrderForm.version: version,
                    OrderForm.digest: stamp,
                    OrderForm.sent_at: moment,
                }
            )
            .where((OrderForm.id == form["id"]) & (OrderForm.version == form["version"]))
            .returning(OrderForm.id)
        )
        if not claimed:
            return []
        return await _queue(
            form["catalog"], form["distribution"], version, form["sent_at"], contexts
        )


async def recipients(catalog_id: int) -> tuple[dict, list[dict]]:
    """(the catalog with its group and producer, [{role, email, user, first_name}]): the
    producer's address, or else their account's; the coordinator's copy if the catalog
    says so (once, when it is the same address)."""
    catalog = (
        await Catalog.select(
            Catalog.id,
            Catalog.name,
            Catalog.order_form_copy,
            Catalog.vendor.name.as_alias("vendor_name"),
            Catalog.vendor.email.as_alias("vendor_email"),
            Catalog.vendor.user.as_alias("vendor_user"),
            Catalog.vendor.user.email.as_alias("vendor_user_email"),
            Catalog.vendor.user.first_name.as_alias("vendor_first_name"),
            Catalog.coordinator.as_alias("coordinator"),
            Catalog.coordinator.email.as_alias("coordinator_email"),
            Catalog.coordinator.first_name.as_alias("coordinator_first_name"),
            Catalog.group.name.as_alias("group_name"),
            Catalog.group.slug.as_alias("group_slug"),
            Catalog.group.instance.as_alias("instance"),
        )
        .where(Catalog.id == catalog_id)
        .first()
    )
    out = []
    producer = (catalog["vendor_email"] or catalog["vendor_user_email"] or "").strip().lower()
    if producer:
        out.append(
            {
                "role": "producer",
                "email": producer,
                "user": catalog["vendor_user"],
                "first_name": catalog["vendor_first_name"] or "",
            }
        )
    copy = (catalog["coordinator_email"] or "").strip().lower()
    if catalog["order_form_copy"] and catalog["coordinator"] and copy and copy != producer:
        out.append(
            {
                "role": "coordinator",
                "email": copy,
                "user": catalog["coordinator"],
                "first_name": catalog["coordinator_first_name"] or "",
            }
        )
    return catalog, out


async def _queue(
    catalog_id: int,
    distribution_id: int,
    version: int,
    previous_at: datetime | None,
    contexts: dict,
) -> list[int]:
    """Inside the claim's transaction: the form's mails, the CSV stored with each."""
    catalog, people = await recipients(catalog_id)
    if not people:
        return []  # the page says why: no address for the producer
    dist = (
        await Distribution.select(
            Distribution.starts_at, Distribution.place.name.as_alias("place_name")
        )
        .where(Distribution.id == distribution_id)
        .first()
    )
    heading = Heading(
        vendor=catalog["vendor_name"],
        catalog=catalog["name"],
        group=catalog["group_name"],
        starts_at=dist["starts_at"],
        place=dist["place_name"],
        version=version,
        previous_at=previous_at,
    )
    content = await read(catalog_id, distribution_id)
    attachment = csv_bytes(content, heading)
    context = mail_context(content, heading)
    ctx = contexts.get(catalog["instance"]) or next(iter(contexts.values()))
    mails = []
    for person in people:
        subject, text, html = outbox.render(
            "order_form", context | {"first_name": person["first_name"]}, KIND, ctx.site_name
        )
        mails.append(
            outbox.NewMail(
                key=f"{KIND}:{catalog_id}:{distribution_id}:{version}:{person['role']}",
                kind=KIND,
                to=person["email"],
                subject=subject,
                text=text,
                html=html,
                instance=catalog["instance"],
                user=person["user"],
                attachment_name=file_name(heading),
                attachment=attachment,
            )
        )
    return await outbox.queue_many(mails)
