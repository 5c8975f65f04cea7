"""Sending the outbox: claim the row, send it, mark it sent. Safe to run twice.

Exactly once, as far as SMTP allows: the unique key makes one row per mail; a job sends
a row only after claiming it with a conditional UPDATE; pending rows (a lost broker
message, a crash) are enqueued again by the sweep. A claim is a lease the job renews
while it sends (MAIL_LEASE_SECONDS, 45 s): the claim of a worker killed mid-send is taken
back once its lease has run out, and a worker sweeps when it starts (`SweepAtBoot`), so
a crashed worker's mails go out within a minute of the next one starting. The one
window left is a worker dying after the server accepted the mail and before the row is
marked sent (milliseconds): that mail goes twice rather than never.

A worker told to stop (SIGTERM) finishes the sends under way, each bounded by the SMTP
timeouts (connectors/mailer.py), records them, and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import anyio
import dramatiq

from connectors.mailer import (
    Attachment,
    Dkim,
    FileTransport,
    OutgoingMail,
    SendError,
    SmtpTransport,
    send,
)
from domain import communications, messaging, notifications, outbox
from domain.kernel import clock
from domain.outbox import rendering
from jobs import broker as jobs_broker

log = logging.getLogger("jobs.mail")
RATE_KEY = "circuit-court:mail-rate"


def _transport():
    settings = jobs_broker.settings()
    if settings.smtp_url:
        return SmtpTransport.from_url(settings.smtp_url)
    return FileTransport(folder=str(settings.outbox_dir))


_dkim_cache: dict[tuple[str, str, str], Dkim] = {}


def _dkim(instance) -> Dkim | None:
    """The instance's own key (each instance signs for its own domain), read once."""
    found = jobs_broker.settings().dkim(instance)
    if found is None:
        return None
    key = (found.key_path, found.domain, found.selector)
    if key not in _dkim_cache:
        _dkim_cache[key] = Dkim(
            key=Path(found.key_path).read_bytes(), domain=found.domain, selector=found.selector
        )
    return _dkim_cache[key]


def _instance(key: str):
    settings = jobs_broker.settings()
    try:
        return settings.instance(key)
    except KeyError:
        return settings.default_instance


# A group message's attachment is read once for its many recipients (the small query
# for the message's stamp makes sure the cached one is this message's).
_attachments: dict[tuple, tuple[str, bytes] | None] = {}
_attachments_lock = threading.Lock()


async def _attachment(message_id: int) -> tuple[str, bytes] | None:
    stamp = await messaging.attachment_stamp(message_id)
    if stamp is None:
        return None
    with _attachments_lock:
        if stamp in _attachments:
            return _attachments[stamp]
    found = await messaging.attachment_of(message_id)
    with _attachments_lock:
        while len(_attachments) >= 4:
            _attachments.pop(next(iter(_attachments)))
        _attachments[stamp] = found
    return found


async def _outgoing(row: dict, headers: dict[str, str]) -> OutgoingMail:
    settings = jobs_broker.settings()
    instance = _instance(row["instance"])
    digest = hashlib.sha256(row["key"].encode()).hexdigest()[:16]
    text, html = row["body_text"], row["body_html"]
    headers = rendering.standard_headers(row["kind"]) | headers
    if row["kind"] in rendering.AUTOMATIC_KINDS and row["user"]:
        # RFC 8058 one-click unsubscribe, signed for this person and this kind of mail.
        token = communications.unsubscribe_token(settings.secret_key, row["user"], row["kind"])
        url = f"{instance.url}/desabonnement/{token}"
        headers = headers | {
            "List-Unsubscribe": f"<{url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
        text = text.replace(rendering.UNSUBSCRIBE_MARK, url)
        html = html.replace(rendering.UNSUBSCRIBE_MARK, url)
    elif rendering.UNSUBSCRIBE_MARK in text or rendering.UNSUBSCRIBE_MARK in html:
        url = f"{instance.url}/compte/communications"
        text = text.replace(rendering.UNSUBSCRIBE_MARK, url)
        html = html.replace(rendering.UNSUBSCRIBE_MARK, url)
    attachments = []
    if row.get("attachment") is not None and row.get("attachment_name"):
        # A file of this mail only (an order form's CSV), stored with its row.
        name = row["attachment_name"]
        attachments.append(
            Attachment(
                filename=name,
                data=bytes(row["attachment"]),
                content_type=messaging.attachment_type(name),
            )
        )
    if row["message"]:
        found = await _attachment(row["message"])
        if found:
            name, data = found
            attachments.append(
                Attachment(filename=name, data=data, content_type=messaging.attachment_type(name))
            )
    return OutgoingMail(
        to=row["to_addr"],
        subject=row["subject"],
        text=text,
        html=html,
        from_name=instance.name,
        from_addr=settings.sender(instance),
        # The instance's own host name on the right (a filter checks it is a real one).
        message_id=f"<{row['id']}.{digest}@{instance.host}>",
        headers=headers,
        reply_to=row["reply_to"],
        attachments=attachments,
    )


# ---- throttling ------------------------------------------------------------------------


class LocalRate:
    """A send rate for the processes of one machine without Redis (one process, in fact:
    the in-process worker). Each call reserves the next slot and says how long to wait."""

    def __init__(self, per_minute: int) -> None:
        self.interval = 60.0 / per_minute
        self.tolerance = self.interval * (max(1, per_minute // 60) - 1)  # ~1 s of burst
        self.next_slot = 0.0
        self.lock = threading.Lock()

    def reserve(self) -> float:
        with self.lock:
            now = time.monotonic()
            slot = max(self.next_slot, now)
            self.next_slot = slot + self.interval
            return max(0.0, slot - now - self.tolerance)


class RedisRate:
    """The same reservation, kept in Redis and timed by Redis's clock: every worker of
    every machine shares one rate (a GCRA in one Lua script, so reservations never race)."""

    SCRIPT = """
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    local interval = tonumber(ARGV[1])
    local tolerance = tonumber(ARGV[2])
    local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
    if slot < now then slot = now end
    local after = slot + interval
    redis.call('SET', KEYS[1], tostring(after), 'PX', math.ceil(after - now) + 1000)
    local wait = slot - now - tolerance
    if wait < 0 then wait = 0 end
    return wait
    """

    def __init__(self, url: str, per_minute: int, key: str = RATE_KEY) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.script = self.client.register_script(self.SCRIPT)
        self.interval_ms = 60_000 / per_minute
        self.tolerance_ms = self.interval_ms * (max(1, per_minute // 60) - 1)
        self.key = key

    def reserve(self) -> float:
        wait_ms = self.script(keys=[self.key], args=[self.interval_ms, self.tolerance_ms])
        return float(wait_ms) / 1000


_rates: dict[tuple[str, int], LocalRate | RedisRate] = {}


def _rate() -> LocalRate | RedisRate | None:
    settings = jobs_broker.settings()
    per_minute = settings.mail_rate_per_minute
    if per_minute <= 0:
        return None
    key = (settings.redis_url, per_minute)
    if key not in _rates:
        _rates[key] = (
            RedisRate(settings.redis_url, per_minute)
            if settings.redis_url
            else LocalRate(per_minute)
        )
    return _rates[key]


async def _throttle() -> None:
    rate = _rate()
    if rate is None:
        return
    try:
        wait = await asyncio.to_thread(rate.reserve)
    except Exception:  # noqa: BLE001 - Redis unreachable: slow down locally, don't stop
        log.warning("limiteur d'envoi Redis injoignable : limite locale", exc_info=True)
        settings = jobs_broker.settings()
        per_minute = settings.mail_rate_per_minute
        wait = _rates.setdefault(("", per_minute), LocalRate(per_minute)).reserve()
    if wait > 0:
        await asyncio.sleep(wait)


# ---- sending ---------------------------------------------------------------------------


def _later(mail_id: int, until: datetime) -> None:
    delay = (until - clock.now()).total_seconds()
    send_mail.send_with_options(args=(mail_id,), delay=int(max(delay, 0.1) * 1000) + 50)


def _lease() -> timedelta:
    return timedelta(seconds=jobs_broker.settings().mail_lease_seconds)


@contextlib.asynccontextmanager
async def _lease_kept(mail_id: int, attempts: int, lease: timedelta):
    """Renews the claim every third of its lease while the block runs (a slow server
    must not let another worker take the mail and send it a second time)."""

    async def renew_forever() -> None:
        while True:
            await asyncio.sleep(lease.total_seconds() / 3)
            try:
                if not await outbox.renew(mail_id, attempts):
                    log.warning("mail %s : bail perdu, un autre envoi l'a repris", mail_id)
                    return
            except Exception:  # noqa: BLE001 - the next renewal is another chance
                log.warning("mail %s : bail non renouvelé", mail_id, exc_info=True)

    renewing = asyncio.create_task(renew_forever())
    try:
        yield
    finally:
        renewing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewing


async def deliver(mail_id: int) -> str:
    """Returns what happened: sent, skipped (someone else has it or it is done), delayed
    (not due yet), retry (a transient failure: enqueued again for later), bounced (5xx),
    failed (too many attempts), dropped (a notification that lost its point, or any mail
    to an account made in Mode création that the person has not taken over)."""
    lease = _lease()
    row = await outbox.claim(mail_id, lease)
    if row is None:
        until = await outbox.waiting_until(mail_id)
        if until is not None:
            # A grouped mail (order recap) or a retry: come back when it is due.
            _later(mail_id, until)
            return "delayed"
        return "skipped"
    if row["state"] == "dropped":
        # An account made in Mode création, not taken over yet: nothing reaches it.
        log.info("mail %s abandonné : %s", mail_id, row["last_error"])
        return "dropped"
    attempts = row["attempts"]
    async with _lease_kept(mail_id, attempts, lease):
        try:
            headers, conditions = outbox.decode_headers(row["headers"])
            if conditions:
                reason = await notifications.still_useful(conditions)
                if reason:
                    await outbox.drop(mail_id, reason)
                    log.info("mail %s abandonné : %s", mail_id, reason)
                    return "dropped"
            mail = await _outgoing(row, headers)
            await _throttle()
            # Blocking SMTP in a thread: the AsyncIO middleware runs every async actor
            # of the process on one event loop, which a slow server must not stall.
            dkim = _dkim(_instance(row["instance"]))
            await asyncio.to_thread(send, mail, _transport(), dkim)
        except SendError as error:
            settings = jobs_broker.settings()
            state = await outbox.release(
                mail_id,
                str(error),
                permanent=error.permanent,
                retry_base=timedelta(seconds=settings.mail_retry_seconds),
                attempts=attempts,
            )
            log.warning("mail %s not sent (%s): %s", mail_id, state, error)
            if state == "pending":
                until = await outbox.waiting_until(mail_id)
                _later(mail_id, until or clock.now())
                return "retry"
            return state
        except Exception as error:
            # A bug or a bad row: don't leave it 'sending' until its lease runs out;
            # release it so retries count towards MAX_ATTEMPTS, then let dramatiq retry.
            await outbox.release(
                mail_id, f"{type(error).__name__}: {error}", permanent=False, attempts=attempts
            )
            raise
        await outbox.mark_sent(mail_id)
    log.info("mail %s sent to %s", mail_id, row["to_addr"])
    return "sent"


@dramatiq.actor(queue_name="mail", max_retries=10, min_backoff=2_000, max_backoff=600_000)
async def send_mail(mail_id: int) -> None:
    await deliver(mail_id)


@dramatiq.actor(queue_name="mail", max_retries=3)
async def send_message_mails(message_id: int) -> None:
    """A group message's mails, enqueued by a worker rather than by the web request:
    10,000 recipients make 10,000 broker messages."""
    for mail_id in await outbox.ids_of_message(message_id):
        send_mail.send(mail_id)


@dramatiq.actor(queue_name="mail", max_retries=0)
async def sweep_outbox(pending_for_seconds: float = 30) -> None:
    """Enqueue again what a crash or a broker restart left behind: mails pending for
    `pending_for_seconds` (or due again after a retry delay), and mails whose lease ran
    out."""
    due = await outbox.due_ids(older_than=timedelta(seconds=pending_for_seconds), lease=_lease())
    for mail_id in due:
        send_mail.send(mail_id)


class SweepAtBoot(dramatiq.Middleware):
    """In a worker process: a sweep as it starts, for what a worker killed a moment ago
    left (its prefetched messages wait in Redis until dramatiq notices the death), and
    another once any lease that worker held has run out. Its mails then go out within
    a minute, not at the next sweep of a web process or of the scheduler."""

    def __init__(self) -> None:
        self.timer: threading.Timer | None = None

    def _sweep(self) -> None:
        try:
            sweep_outbox.send(0)
        except Exception:  # noqa: BLE001 - the periodic sweeps still come
            log.exception("balayage au démarrage impossible")

    def after_worker_boot(self, broker, worker):
        self._sweep()
        self.timer = threading.Timer(jobs_broker.settings().mail_lease_seconds + 2, self._sweep)
        self.timer.daemon = True
        self.timer.start()

    def before_worker_shutdown(self, broker, worker):
        if self.timer is not None:
            self.timer.cancel()


def enqueue(mail_ids: list[int | None]) -> None:
    """Call after the transaction that wrote the rows has committed. A broker that cannot
    be reached (Redis down) loses nothing: the rows wait in the outbox, and the sweep
    enqueues them once it is back."""
    try:
        for mail_id in mail_ids:
            if mail_id:
                send_mail.send(mail_id)
    except Exception:  # noqa: BLE001 - the database is the system of record
        log.warning("broker injoignable : les e-mails attendent dans la boîte d'envoi")


def enqueue_message(message_id: int) -> None:
    """Call after the transaction that recorded a group message has committed."""
    try:
        send_message_mails.send(message_id)
    except Exception:  # noqa: BLE001 - the sweep sends the message's pending rows later
        log.warning("broker injoignable : le message attend dans la boîte d'envoi")


async def hand_over(mail_ids: list[int | None]) -> None:
    """`enqueue` from an async handler: the broker's network call runs in a thread, so a
    slow or unreachable Redis never holds the event loop."""
    if any(mail_ids):
        await anyio.to_thread.run_sync(enqueue, list(mail_ids))


async def hand_over_message(message_id: int) -> None:
    await anyio.to_thread.run_sync(enqueue_message, message_id)
