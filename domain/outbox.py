"""The transactional outbox: a mail is a row written with the change that causes it.

The row's unique key makes a second send of the same mail impossible; a job
claims the row with a conditional UPDATE, sends it, and marks it sent.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from domain.tables import OutboxMail

MAIL_TEMPLATES = Path(__file__).resolve().parent.parent / "web" / "templates" / "mail"
# A claim older than this is taken to be from a worker that died mid-send.
STALE_CLAIM = timedelta(minutes=10)
MAX_ATTEMPTS = 8

_env = Environment(
    loader=FileSystemLoader(MAIL_TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(template: str, context: dict) -> tuple[str, str, str]:
    """(subject, text, html) from mail/<template>.subject.txt, .txt and .html."""
    subject = _env.get_template(f"{template}.subject.txt").render(context).strip()
    text = _env.get_template(f"{template}.txt").render(context)
    html = _env.get_template(f"{template}.html").render(context)
    return subject, text, html


def _row(key: str, kind: str, instance: str, to: str, rendered: tuple[str, str, str]):
    subject, text, html = rendered
    return OutboxMail(
        key=key,
        kind=kind,
        instance=instance,
        to_addr=to,
        subject=subject,
        body_text=text,
        body_html=html,
    )


async def queue(
    *, key: str, kind: str, to: str, template: str, context: dict, instance: str = "main"
) -> int | None:
    """Insert the mail unless one with this key exists; returns the new row's id or None."""
    rows = (
        await OutboxMail.insert(_row(key, kind, instance, to, render(template, context)))
        .on_conflict(target=OutboxMail.key, action="DO NOTHING")
        .returning(OutboxMail.id)
    )
    return rows[0]["id"] if rows else None


def _now() -> datetime:
    return datetime.now(UTC)


async def claim(mail_id: int) -> dict | None:
    """Take the row for sending; None if it is sent, failed, or being sent by a live worker."""
    now = _now()
    rows = (
        await OutboxMail.update(
            {
                OutboxMail.state: "sending",
                OutboxMail.claimed_at: now,
                OutboxMail.attempts: OutboxMail.attempts + 1,
            }
        )
        .where(
            (OutboxMail.id == mail_id)
            & (
                (
                    (OutboxMail.state == "pending")
                    & (OutboxMail.send_after.is_null() | (OutboxMail.send_after <= now))
                )
                | ((OutboxMail.state == "sending") & (OutboxMail.claimed_at < now - STALE_CLAIM))
            )
        )
        .returning(*OutboxMail.all_columns())
    )
    return rows[0] if rows else None


async def waiting_until(mail_id: int) -> datetime | None:
    """When a pending mail that must wait (a grouped recap) may go; None if it need not wait."""
    row = (
        await OutboxMail.select(OutboxMail.send_after)
        .where((OutboxMail.id == mail_id) & (OutboxMail.state == "pending"))
        .first()
    )
    if row and row["send_after"] and row["send_after"] > _now():
        return row["send_after"]
    return None


async def mark_sent(mail_id: int) -> None:
    await OutboxMail.update(
        {OutboxMail.state: "sent", OutboxMail.sent_at: _now(), OutboxMail.last_error: ""}
    ).where(OutboxMail.id == mail_id)


async def release(mail_id: int, error: str, *, permanent: bool) -> str:
    """After a failed send: back to pending for a retry, or failed for good."""
    row = await OutboxMail.select(OutboxMail.attempts).where(OutboxMail.id == mail_id).first()
    failed = permanent or (row is not None and row["attempts"] >= MAX_ATTEMPTS)
    state = "failed" if failed else "pending"
    await OutboxMail.update({OutboxMail.state: state, OutboxMail.last_error: error[:2000]}).where(
        OutboxMail.id == mail_id
    )
    return state


async def due_ids(older_than: timedelta = timedelta(seconds=30), limit: int = 500) -> list[int]:
    """Rows a sweep should enqueue again: pending for a while, or claimed by a dead worker."""
    now = _now()
    rows = (
        await OutboxMail.select(OutboxMail.id)
        .where(
            (
                (OutboxMail.state == "pending")
                & (OutboxMail.created_at < now - older_than)
                & (OutboxMail.send_after.is_null() | (OutboxMail.send_after <= now))
            )
            | ((OutboxMail.state == "sending") & (OutboxMail.claimed_at < now - STALE_CLAIM))
        )
        .order_by(OutboxMail.id)
        .limit(limit)
    )
    return [row["id"] for row in rows]


async def queue_grouped(
    *,
    key_prefix: str,
    kind: str,
    to: str,
    template: str,
    context: dict,
    send_after: datetime,
    instance: str = "main",
) -> int | None:
    """A mail that stands for a burst of changes (an order recap): while one is still
    waiting, it is rewritten and pushed back; once it is taken, the next change starts a
    new one. Returns the id of the row to (re)enqueue."""
    import secrets

    subject, text, html = render(template, context)
    rows = (
        await OutboxMail.update(
            {
                OutboxMail.to_addr: to,
                OutboxMail.subject: subject,
                OutboxMail.body_text: text,
                OutboxMail.body_html: html,
                OutboxMail.send_after: send_after,
            }
        )
        .where(
            OutboxMail.key.like(f"{key_prefix}:%")
            & (OutboxMail.state == "pending")
            & (OutboxMail.kind == kind)
        )
        .returning(OutboxMail.id)
    )
    if rows:
        return rows[0]["id"]
    row = _row(f"{key_prefix}:{secrets.token_hex(8)}", kind, instance, to, (subject, text, html))
    row.send_after = send_after
    rows = await OutboxMail.insert(row).returning(OutboxMail.id)
    return rows[0]["id"]
