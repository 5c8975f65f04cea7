"""The transactional outbox: a mail is a row written with the change that causes it.

The row's unique key makes a second send of the same mail impossible; a job
claims the row with a conditional UPDATE, sends it, and marks it sent.

States: pending → sending → sent; a refused recipient (5xx) is `bounced`; a mail that
kept failing is `failed`; a notification that lost its point before it could go (the
distribution started, was cancelled or moved) is `dropped`.

`headers` holds a JSON object: real extra headers, and, under keys starting with "_",
conditions checked just before sending (`_expires_at`, `_distribution`, `_starts_at`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from piccolo.query.functions.aggregate import Count

from domain.database import insert_many
from domain.tables import OutboxMail, User

MAIL_TEMPLATES = Path(__file__).resolve().parent.parent / "web" / "templates" / "mail"
# A claim older than this is taken to be from a worker that died mid-send.
STALE_CLAIM = timedelta(minutes=10)
# With retries doubling from MAIL_RETRY_SECONDS (30 s) up to an hour: about 6 hours of
# trying before a mail is given up as failed.
MAX_ATTEMPTS = 12
MAX_RETRY_DELAY = timedelta(hours=1)
# The automatic notifications a user may turn off ("Mes communications"); each carries a
# one-click unsubscribe link. The link needs the secret key, so the template gets this
# mark and the sending job puts the signed link in its place.
AUTOMATIC_KINDS = {
    "orders_open": "Ouverture des commandes",
    "order_recap": "Récapitulatif de commande",
    "reminder_24h": "Rappel 24 h avant la distribution",
    "reminder_4h": "Rappel 4 h avant la distribution",
}
UNSUBSCRIBE_MARK = "__LIEN_DESABONNEMENT__"

_env = Environment(
    loader=FileSystemLoader(MAIL_TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(template: str, context: dict, kind: str = "") -> tuple[str, str, str]:
    """(subject, text, html) from mail/<template>.subject.txt, .txt and .html.

    An automatic notification ends with its unsubscribe link: the HTML layout shows
    `unsubscribe_url`, and the text gets a last paragraph."""
    automatic = kind in AUTOMATIC_KINDS
    if automatic:
        context = {
            **context,
            "unsubscribe_url": UNSUBSCRIBE_MARK,
            "unsubscribe_kind": AUTOMATIC_KINDS[kind],
        }
    subject = _env.get_template(f"{template}.subject.txt").render(context).strip()
    text = _env.get_template(f"{template}.txt").render(context)
    html = _env.get_template(f"{template}.html").render(context)
    if automatic:
        text = (
            text.rstrip("\n")
            + f"\n\n--\nNe plus recevoir les e-mails « {AUTOMATIC_KINDS[kind]} » :\n"
            + f"{UNSUBSCRIBE_MARK}\n"
        )
    return subject, text, html


def encode_headers(headers: dict | None = None, **conditions) -> str:
    """The `headers` column: extra headers, and conditions under "_" keys."""
    data = dict(headers or {})
    for name, value in conditions.items():
        if value is not None:
            data[f"_{name}"] = value.isoformat() if isinstance(value, datetime) else value
    return json.dumps(data, ensure_ascii=False) if data else ""


def decode_headers(raw: str) -> tuple[dict[str, str], dict]:
    """(real headers, conditions) of a row's `headers` column."""
    data = json.loads(raw) if raw else {}
    headers = {k: str(v) for k, v in data.items() if not k.startswith("_")}
    conditions = {k[1:]: v for k, v in data.items() if k.startswith("_")}
    if "expires_at" in conditions:
        conditions["expires_at"] = datetime.fromisoformat(conditions["expires_at"])
    if "starts_at" in conditions:
        conditions["starts_at"] = datetime.fromisoformat(conditions["starts_at"])
    return headers, conditions


@dataclass
class NewMail:
    """A rendered mail for `queue_many`."""

    key: str
    kind: str
    to: str
    subject: str
    text: str
    html: str
    instance: str = "main"
    user: int | None = None
    message: int | None = None
    reply_to: str = ""
    headers: str = ""

    def row(self) -> OutboxMail:
        return OutboxMail(
            key=self.key,
            kind=self.kind,
            instance=self.instance,
            to_addr=self.to,
            subject=self.subject[:300],
            body_text=self.text,
            body_html=self.html,
            user=self.user,
            message=self.message,
            reply_to=self.reply_to,
            headers=self.headers,
        )


def _row(key: str, kind: str, instance: str, to: str, rendered: tuple[str, str, str]):
    subject, text, html = rendered
    return OutboxMail(
        key=key,
        kind=kind,
        instance=instance,
        to_addr=to,
        subject=subject[:300],
        body_text=text,
        body_html=html,
    )


async def _user_for(to: str) -> int | None:
    """The account of this address, so that a bounce can be shown on the member's page."""
    row = await User.select(User.id).where(User.email == to.strip().lower()).first()
    return row["id"] if row else None


async def queue(
    *,
    key: str,
    kind: str,
    to: str,
    template: str,
    context: dict,
    instance: str = "main",
    user: int | None = None,
    reply_to: str = "",
    headers: dict[str, str] | None = None,
    expires_at: datetime | None = None,
) -> int | None:
    """Insert the mail unless one with this key exists; returns the new row's id or None.

    `user` is found from the address when not given; `expires_at`: not sent after that."""
    row = _row(key, kind, instance, to, render(template, context, kind))
    row.user = user if user is not None else await _user_for(to)
    row.reply_to = reply_to
    row.headers = encode_headers(headers, expires_at=expires_at)
    rows = (
        await OutboxMail.insert(row)
        .on_conflict(target=OutboxMail.key, action="DO NOTHING")
        .returning(OutboxMail.id)
    )
    return rows[0]["id"] if rows else None


async def queue_many(mails: list[NewMail]) -> list[int]:
    """Many rendered mails at once (a message to the whole group, due reminders): rows
    whose key exists already are skipped; returns the ids of the rows inserted."""
    rows = await insert_many(
        [mail.row() for mail in mails],
        skip_conflicts_on="key",
        returning=("id",),
    )
    return [row["id"] for row in rows]


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


def retry_delay(attempts: int, base: timedelta) -> timedelta:
    """Growing delays: base, 2×base, 4×base… up to an hour."""
    return min(base * (2 ** max(attempts - 1, 0)), MAX_RETRY_DELAY)


async def release(
    mail_id: int, error: str, *, permanent: bool, retry_base: timedelta | None = None
) -> str:
    """After a failed send: `bounced` when the server refused the recipient for good (5xx),
    `failed` after MAX_ATTEMPTS, else back to pending; with `retry_base`, not before a
    delay that doubles with each attempt (the sweep respects it too)."""
    row = await OutboxMail.select(OutboxMail.attempts).where(OutboxMail.id == mail_id).first()
    attempts = row["attempts"] if row else 0
    if permanent:
        state = "bounced"
    elif attempts >= MAX_ATTEMPTS:
        state = "failed"
    else:
        state = "pending"
    values: dict = {OutboxMail.state: state, OutboxMail.last_error: error[:2000]}
    if state == "pending" and retry_base is not None:
        values[OutboxMail.send_after] = _now() + retry_delay(attempts, retry_base)
    await OutboxMail.update(values).where(
        (OutboxMail.id == mail_id) & (OutboxMail.state == "sending")
    )
    return state


async def drop(mail_id: int, reason: str) -> None:
    """A claimed notification that must not go any more (see the module docstring)."""
    await OutboxMail.update({OutboxMail.state: "dropped", OutboxMail.last_error: reason}).where(
        (OutboxMail.id == mail_id) & (OutboxMail.state == "sending")
    )


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
    user: int | None = None,
) -> int | None:
    """A mail that stands for a burst of changes (an order recap): while one is still
    waiting, it is rewritten and pushed back; once it is taken, the next change starts a
    new one. Returns the id of the row to (re)enqueue."""
    import secrets

    subject, text, html = render(template, context, kind)
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
    row.user = user if user is not None else await _user_for(to)
    rows = await OutboxMail.insert(row).returning(OutboxMail.id)
    return rows[0]["id"]


# ---- reading, for the pages ------------------------------------------------------------


async def ids_of_message(message_id: int) -> list[int]:
    """The rows of a group message still to send (what its fan-out job enqueues)."""
    rows = await OutboxMail.select(OutboxMail.id).where(
        (OutboxMail.message == message_id) & (OutboxMail.state == "pending")
    )
    return [row["id"] for row in rows]


async def states_of_messages(message_ids: list[int]) -> dict[int, dict[str, int]]:
    """{message id: {state: count}} in one query, for the MESSAGERIE history."""
    if not message_ids:
        return {}
    rows = (
        await OutboxMail.select(OutboxMail.message, OutboxMail.state, Count(alias="n"))
        .where(OutboxMail.message.is_in(message_ids))
        .group_by(OutboxMail.message, OutboxMail.state)
    )
    counts: dict[int, dict[str, int]] = {}
    for row in rows:
        counts.setdefault(row["message"], {})[row["state"]] = row["n"]
    return counts


async def bounces_of(user_ids: list[int]) -> dict[int, dict]:
    """The last refused mail (5xx) of each of these users, for the member's page:
    {user id: {"at": when it was refused, "error": the server's answer}}."""
    if not user_ids:
        return {}
    rows = (
        await OutboxMail.select(
            OutboxMail.user,
            OutboxMail.to_addr,
            OutboxMail.claimed_at,
            OutboxMail.last_error,
            OutboxMail.user.email.as_alias("current_email"),
        )
        .where(OutboxMail.user.is_in(user_ids) & (OutboxMail.state == "bounced"))
        .order_by(OutboxMail.id)
    )
    # Only refusals of the address the account still has: a changed address starts clean.
    return {
        row["user"]: {"at": row["claimed_at"], "error": row["last_error"], "to": row["to_addr"]}
        for row in rows
        if row["to_addr"].lower() == (row["current_email"] or "").lower()
    }
