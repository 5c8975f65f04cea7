"""Escarcelle's calls (connectors/escarcelle.py) and the background work around them: the
key's check, the product import's fetch, the hourly stock sync and the sales push.

The web process calls `connect` and `fetch_catalogue` directly (a person waits for the
answer); the sync and the push are dramatiq actors, enqueued after a commit or by the
scheduler's tick. Each is safe to run twice: the sync is claimed per grocery, a sale per
basket, and Escarcelle honours the sale's Idempotency-Key.
"""

from __future__ import annotations

import logging

import dramatiq
import msgspec

from connectors import escarcelle as esc
from domain import escarcelle
from domain.escarcelle import limits, links
from domain.kernel.errors import FieldErrors
from domain.outbox import MailContext
from jobs import broker as jobs_broker

log = logging.getLogger("jobs.escarcelle")
NOT_CONFIGURED = (
    "La synchronisation Escarcelle n'est pas configurée sur ce site (ESCARCELLE_URL) : "
    "demandez à l'hébergeur de la plateforme."
)
DOWN = "Escarcelle ne répond pas pour l'instant : réessayez dans quelques minutes."


def client(key: str) -> esc.Client:
    settings = jobs_broker.settings()
    return esc.Client(
        settings.escarcelle_url,
        key,
        timeout=settings.escarcelle_timeout,
        backoff=settings.escarcelle_backoff,
    )


def mail_context() -> MailContext:
    instance = jobs_broker.settings().default_instance
    return MailContext(instance=instance.key, site_name=instance.name, base_url=instance.url)


def space_url(producer_id: int, path: str = "") -> str:
    base = jobs_broker.settings().default_instance.url.rstrip("/")
    return f"{base}/espace-producteur/{producer_id}{path}"


async def connect(producer_id: int, key_text: str, user_id: int) -> dict:
    """Paramètres → Synchro Escarcelle: the key checked at once (GET /me), then saved sealed
    with the grocery Escarcelle names. FieldErrors({"key": …}) in French otherwise."""
    key = links.check_key(key_text)
    settings = jobs_broker.settings()
    if not settings.escarcelle_url:
        raise FieldErrors({"key": NOT_CONFIGURED})
    try:
        async with client(key) as api:
            grocery = await api.me()
    except esc.Unauthorized as error:
        raise FieldErrors(
            {"key": "Escarcelle refuse cette clé : vérifiez que vous l'avez copiée en entier "
             "(Escarcelle, Paramètres, puis API)."}
        ) from error  # fmt: skip
    except esc.Forbidden as error:
        raise FieldErrors(
            {"key": "Cette clé n'ouvre pas l'accès aux données de l'épicerie."}
        ) from error
    except esc.EscarcelleError as error:
        log.warning("vérification de clé Escarcelle impossible : %s", error.message)
        raise FieldErrors({"key": DOWN}) from error
    return await links.save_link(
        producer_id,
        key=key,
        pdv_id=str(grocery.pdv_id),
        grocery_name=grocery.name,
        secret=settings.secret_key,
        user_id=user_id,
    )


async def _key(producer_id: int) -> str | None:
    return await escarcelle.key_of(producer_id, jobs_broker.settings().secret_key)


async def broken(producer_id: int, error: esc.EscarcelleError) -> None:
    """A 401: the link is marked broken, its admins mailed (after the commit)."""
    from jobs import mail as mail_jobs

    ids = await links.mark_broken(
        producer_id,
        "clé refusée (401)",
        mail_context(),
        space_url(producer_id, escarcelle.SETTINGS_PATH),
    )
    mail_jobs.enqueue(ids)


class FetchError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


async def fetch_catalogue(producer_id: int) -> list[dict]:
    """Every page of the grocery's products in stock, as dicts; FetchError (in French) when
    Escarcelle refuses or fails, TooMany past 600 (the first page says how many)."""
    from domain.escarcelle.catalogue import MAX_PRODUCTS, TooMany

    key = await _key(producer_id)
    if key is None:
        raise FetchError("Enregistrez d'abord votre clé Escarcelle (Paramètres).")
    if not jobs_broker.settings().escarcelle_url:
        raise FetchError(NOT_CONFIGURED)
    try:
        async with client(key) as api:
            first = await api.products_page(1)
            if first.total > MAX_PRODUCTS:
                raise TooMany(first.total)
            items = list(first.items)
            page = 1
            while first.items and len(items) < first.total:
                page += 1
                batch = await api.products_page(page)
                if not batch.items:
                    break
                items += batch.items
    except esc.Unauthorized as error:
        await broken(producer_id, error)
        raise FetchError(
            "Escarcelle refuse votre clé : remplacez-la dans Paramètres → Synchro Escarcelle."
        ) from error
    except esc.EscarcelleError as error:
        log.warning("import Escarcelle impossible : %s", error.message)
        raise FetchError(f"{DOWN} Rien n'a été importé.") from error
    if len(items) > MAX_PRODUCTS:
        raise TooMany(len(items))
    return [msgspec.structs.asdict(item) for item in items]


# ---- step 4: the stock sync ------------------------------------------------------------


async def sync(producer_id: int) -> str:
    """One grocery's stock sync: done | busy (another runs) | broken (401) | unavailable
    (429, 5xx, timeout: the last known stock stays, the next hour tries again) | unlinked."""
    from domain.escarcelle import stocks
    from jobs import mail as mail_jobs

    if not await stocks.claim(producer_id):
        return "busy" if await escarcelle.link_of(producer_id) else "unlinked"
    try:
        key = await _key(producer_id)
        if key is None or not jobs_broker.settings().escarcelle_url:
            return "unlinked"
        linked = await stocks.linked_products(producer_id)
        try:
            async with client(key) as api:
                levels = await api.stocks(sorted(linked)) if linked else {}
        except esc.Unauthorized as error:
            await broken(producer_id, error)
            return "broken"
        except esc.EscarcelleError as error:
            log.warning("synchronisation des stocks impossible : %s", error.message)
            await links.record_error(producer_id, error.message)
            return "unavailable"
        result = await stocks.apply(
            producer_id, {pid: levels.get(eid, 0) for eid, pid in linked.items()}
        )
        ids = await stocks.report_over(
            producer_id, result.over, mail_context(), space_url(producer_id, "/stocks")
        )
        mail_jobs.enqueue(ids)
        return "done"
    finally:
        await stocks.release(producer_id)


@dramatiq.actor(queue_name="escarcelle", max_retries=0, time_limit=300_000)
async def sync_stocks(producer_id: int) -> None:
    """The hourly sync of one grocery (enqueued by the scheduler's tick)."""
    outcome = await sync(producer_id)
    log.info("synchronisation Escarcelle du producteur %s : %s", producer_id, outcome)


async def tick(moment) -> int:
    """The scheduler's part: each linked grocery's sync once per hour (two schedulers
    ticking at once enqueue it once). Returns how many were enqueued."""
    from domain.escarcelle import sales, stocks

    due = await stocks.due_this_hour(moment)
    for producer_id in due:
        sync_stocks.send(producer_id)
    # The records no push consumed yet (a broker message lost), and the hourly retries.
    consume.send()
    for producer_id, distribution_id in await sales.due_retries(moment):
        push_sales.send(producer_id, distribution_id, f"essai {stocks.hour_of(moment)}")
    return len(due)


# ---- step 5: the sales pushed back ---------------------------------------------------------


async def consume_records() -> int:
    """The validation records not used yet by the sales push: each consumed once, its sales
    written, their push enqueued (after the commit). Returns how many were consumed."""
    from domain.catalog_orders import validation
    from domain.escarcelle import sales

    settings = jobs_broker.settings()
    instance = settings.default_instance
    done = 0
    for record in await validation.records_to_use(sales.CONSUMER):
        pairs = await sales.prepare(record, base_url=instance.url, instance=instance.key)
        for producer_id, distribution_id in pairs:
            push_sales.send(producer_id, distribution_id, "premier envoi")
        done += 1
    return done


async def push(producer_id: int, distribution_id: int, occasion: str) -> dict[str, int]:
    """Pushes the distribution's sales for this grocery that are due, then the report to its
    admins once nothing is left to send. Returns counts by outcome."""
    from datetime import timedelta

    from domain.escarcelle import sales
    from jobs import mail as mail_jobs

    settings = jobs_broker.settings()
    lease = timedelta(seconds=settings.escarcelle_lease_seconds)
    outcome = {"sent": 0, "failed": 0, "abandoned": 0, "busy": 0}
    key = await _key(producer_id)
    if key is None or not settings.escarcelle_url:
        return outcome
    async with client(key) as api:
        for sale_id in await sales.to_push(producer_id, distribution_id):
            sale = await sales.claim(sale_id, lease)
            if sale is None:
                outcome["busy"] += 1
                continue
            ticket = esc.Sale(
                lines=[
                    esc.SaleLine(
                        product_id=line["product_id"],
                        quantity=line["quantity"],
                        unit_price_cents=line["unit_price_cents"],
                    )
                    for line in sale["lines"]
                ],
                client_id=sale["client_id"],
                reference=f"{settings.default_instance.name} · distribution {distribution_id}",
            )
            try:
                receipt, _ = await api.post_sale(ticket, sale["idempotency_key"])
            except esc.Unauthorized as error:
                await sales.mark_failed(sale, "clé refusée par Escarcelle")
                await broken(producer_id, error)
                outcome["failed"] += 1
                break
            except esc.Rejected as error:
                reason = f"refusée par Escarcelle : {error.detail or error.message}"
                outcome[await sales.mark_failed(sale, reason)] += 1
            except esc.Conflict as error:
                reason = f"stock insuffisant dans Escarcelle ({error.detail or 'conflit'})"
                outcome[await sales.mark_failed(sale, reason)] += 1
            except esc.EscarcelleError as error:
                outcome[await sales.mark_failed(sale, error.message)] += 1
            else:
                await sales.mark_sent(sale, str(receipt.id))
                outcome["sent"] += 1
    # An hourly retry reports only what it changed; the first push and « Renvoyer » always.
    quiet = occasion.startswith("essai") and not (outcome["sent"] or outcome["abandoned"])
    occasions = ["abandon"] if outcome["abandoned"] else [] if quiet else [occasion]
    for name in occasions:
        ids = await sales.queue_report(
            producer_id,
            distribution_id,
            name,
            mail_context(),
            space_url(producer_id, escarcelle.SETTINGS_PATH),
        )
        mail_jobs.enqueue(ids)
    return outcome


@dramatiq.actor(queue_name="escarcelle", max_retries=3, time_limit=600_000)
async def push_sales(producer_id: int, distribution_id: int, occasion: str) -> None:
    """Push one distribution's sales to one grocery (after its validation, an hourly retry,
    or « Renvoyer »). Safe twice: each sale is claimed, and Escarcelle honours its key."""
    outcome = await push(producer_id, distribution_id, occasion)
    log.info("ventes Escarcelle %s/%s : %s", producer_id, distribution_id, outcome)


@dramatiq.actor(queue_name="escarcelle", max_retries=3)
async def consume() -> None:
    """After « Valider la distribution »'s commit (the scheduler's tick does it too)."""
    await consume_records()


def after_validation() -> None:
    """Kick the sales push after a validation's commit; if the broker is down, the
    scheduler's tick consumes the record later (it stays unused until then)."""
    try:
        consume.send()
    except Exception:  # noqa: BLE001 - the validation is saved; the sweep does the rest
        log.exception("envoi des ventes Escarcelle remis au prochain tour")


# ---- step 7: the barcodes of products made by hand ---------------------------------------

MAX_LOOKUPS = 200  # barcodes checked per form or file


async def known_barcodes(producer_id: int, references: list[str]) -> dict[str, dict]:
    """Escarcelle's products of these barcodes, by normalised barcode (GET /products?barcode=
    each, at most MAX_LOOKUPS). FetchError when Escarcelle cannot say."""
    codes = sorted({c for c in map(escarcelle.normalise_barcode, references) if c})
    if len(codes) > MAX_LOOKUPS:
        raise FetchError(
            f"Plus de {MAX_LOOKUPS} nouveaux codes-barres à vérifier : importez en plusieurs fois."
        )
    key = await _key(producer_id)
    if not codes or key is None:
        return {}
    found: dict[str, dict] = {}
    try:
        async with client(key) as api:
            for code in codes:
                for item in await api.products_by_barcode(code):
                    for barcode in item.barcodes:
                        if escarcelle.normalise_barcode(barcode) == code:
                            found[code] = msgspec.structs.asdict(item)
    except esc.EscarcelleError as error:
        raise FetchError(
            "Escarcelle ne répond pas : le code-barres ne peut pas être vérifié, rien n'a été "
            "enregistré. Réessayez dans quelques minutes."
        ) from error
    return found


async def check_new_product(producer_id: int | None, reference: str) -> tuple[dict, str | None]:
    """(the Escarcelle columns the new product gets, or why it is refused) for a linked
    producer; ({}, None) for one that is not linked."""
    if await limits.linked_producer(producer_id) is None:
        return {}, None
    try:
        known = await known_barcodes(producer_id, [reference])
    except FetchError as error:
        return {}, error.message
    refused = limits.refusal(reference, known)
    return ({}, refused) if refused else (limits.link_values(reference, known), None)


async def check_import_rows(producer_id: int | None, rows: list) -> None:
    """The new rows of a product CSV import (domain.catalogs.product_files.ImportRow) whose
    référence is no Escarcelle barcode get an error: nothing is imported then."""
    if await limits.linked_producer(producer_id) is None:
        return
    new = [row for row in rows if row.status == "new"]
    if not new:
        return
    try:
        known = await known_barcodes(producer_id, [row.fields.get("reference", "") for row in new])
    except FetchError as error:
        new[0].errors.append(error.message)
        new[0].status = "error"
        return
    for row in new:
        refused = limits.refusal(row.fields.get("reference", ""), known)
        if refused:
            row.errors.append(refused)
            row.status = "error"
