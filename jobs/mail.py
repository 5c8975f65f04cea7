"""Sending the outbox: claim the row, send it, mark it sent. Safe to run twice."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import UTC, datetime

import dramatiq

from connectors.mailer import FileTransport, OutgoingMail, SendError, SmtpTransport, send
from domain import outbox
from jobs import broker as jobs_broker

log = logging.getLogger("jobs.mail")


class RetryLater(Exception):
    """A transient failure: dramatiq retries the message with a growing delay."""


def _transport():
    settings = jobs_broker.settings()
    if settings.smtp_url:
        return SmtpTransport.from_url(settings.smtp_url)
    return FileTransport(folder=str(settings.outbox_dir))


def _outgoing(row: dict) -> OutgoingMail:
    settings = jobs_broker.settings()
    try:
        instance = settings.instance(row["instance"])
    except KeyError:
        instance = settings.default_instance
    from_addr = instance.mail_from or settings.mail_from
    domain_part = from_addr.rsplit("@", 1)[-1]
    digest = hashlib.sha256(row["key"].encode()).hexdigest()[:16]
    return OutgoingMail(
        to=row["to_addr"],
        subject=row["subject"],
        text=row["body_text"],
        html=row["body_html"],
        from_name=instance.name,
        from_addr=from_addr,
        message_id=f"<{row['id']}.{digest}@{domain_part}>",
    )


async def deliver(mail_id: int) -> str:
    """Returns what happened: sent, skipped (someone else has it or it is done), failed."""
    row = await outbox.claim(mail_id)
    if row is None:
        until = await outbox.waiting_until(mail_id)
        if until is not None:
            # A grouped mail (order recap): come back when the burst of changes is over.
            delay = (until - datetime.now(UTC)).total_seconds()
            send_mail.send_with_options(args=(mail_id,), delay=int(max(delay, 0.1) * 1000) + 50)
            return "delayed"
        return "skipped"
    try:
        # Blocking SMTP in a thread: the AsyncIO middleware runs every async actor
        # of the process on one event loop, which a slow server must not stall.
        await asyncio.to_thread(send, _outgoing(row), _transport())
    except SendError as error:
        state = await outbox.release(mail_id, str(error), permanent=error.permanent)
        log.warning("mail %s not sent (%s): %s", mail_id, state, error)
        if state == "pending":
            raise RetryLater(str(error)) from error
        return "failed"
    except Exception as error:
        # A bug or a bad row: don't leave it 'sending' until the stale-claim sweep;
        # release it so retries count towards MAX_ATTEMPTS, then let dramatiq retry.
        await outbox.release(mail_id, f"{type(error).__name__}: {error}", permanent=False)
        raise
    await outbox.mark_sent(mail_id)
    log.info("mail %s sent to %s", mail_id, row["to_addr"])
    return "sent"


@dramatiq.actor(queue_name="mail", max_retries=10, min_backoff=2_000, max_backoff=600_000)
async def send_mail(mail_id: int) -> None:
    await deliver(mail_id)


@dramatiq.actor(queue_name="mail", max_retries=0)
async def sweep_outbox() -> None:
    """Enqueue again what a crash or a broker restart left behind."""
    for mail_id in await outbox.due_ids():
        send_mail.send(mail_id)


def enqueue(mail_ids: list[int | None]) -> None:
    """Call after the transaction that wrote the rows has committed."""
    for mail_id in mail_ids:
        if mail_id:
            send_mail.send(mail_id)
