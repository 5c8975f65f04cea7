"""The transactional outbox: a mail is a row written with the change that causes it.

The row's unique key makes a second send of the same mail impossible; a job
claims the row with a conditional UPDATE, sends it, and marks it sent.

A claim is a lease: `claimed_at` is when it was taken or last renewed (`renew`, every
third of the lease while the worker sends). A claim not renewed for a lease's length is
a dead worker's: `claim` takes it back and the sweep (`due_ids`) enqueues it again.

States: pending → sending → sent; a refused recipient (5xx) is `bounced`; a mail that
kept failing is `failed`; a notification that lost its point before it could go (the
distribution started, was cancelled or moved) is `dropped`, and so is every mail to an
account made in Mode création that the person has not taken over yet (`claim`).

`headers` holds a JSON object: real extra headers, and, under keys starting with "_",
conditions checked just before sending (`_expires_at`, `_distribution`, `_starts_at`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from piccolo.columns.combination import WhereRaw
from piccolo.query.functions.aggregate import Count

from domain.database import fetch, insert_many, is_sqlite
from domain.kernel import clock
from domain.outbox import kinds
from domain.outbox.rendering import render
from domain.tables import OutboxMail, User

# A claim not renewed for this long is a dead worker's (the MAIL_LEASE_SECONDS setting).
LEASE = timedelta(seconds=45)
STALE_CLAIM = LEASE  # its name when claims were not renewed
# With retries doubling from MAIL_RETRY_SECONDS (30 s) up to an hour: about 6 hours of
# trying before a mail is given up as failed.
MAX_ATTEMPTS = 12
MAX_RETRY_DELAY = timedelta(hours=1)


@dataclass
class MailContext:
    """What mails need to know of the instance the person is using."""

    instance: str
    site_name: str
    base_url: str


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
    attachment_name: str = ""  # a file of this mail only (an order form's CSV)
    attachment: bytes | None = None

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
            attachment_name=self.attachment_name if self.attachment is not None else "",
            attachment=self.attachment,
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
    ctx: MailContext | None = None,
    instance: str = "main",
    user: int | None = None,
    reply_to: str = "",
    headers: dict[str, str] | None = None,
    expires_at: datetime | None = None,
) -> int | None:
    """Insert the mail unless one with this key exists; returns the new row's id or None.

    `ctx`: the instance the mail speaks for (its name is the mail's `site_name`); `user` is
    found from the address when not given; `expires_at`: not sent after that."""
    if ctx is not None:
        instance, context = ctx.instance, {"site_name": ctx.site_name} | context
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


_now = clock.now


# The recipient is an account an admin made in Mode création that the person has not taken
# over (by the row's account or its address), and the kind is not one that may reach it.
_HELD_SQL = (
    "outbox_mail.kind NOT IN ("  # noqa: S608 - constant kinds only
    + ", ".join(f"'{kind}'" for kind in sorted(kinds.TO_HELD_ACCOUNTS))
    + ") AND EXISTS (SELECT 1 FROM app_user held WHERE held.takeover_pending = TRUE "
    'AND (held.id = outbox_mail."user" OR held.email = outbox_mail.to_addr))'
)
_HELD = WhereRaw(_HELD_SQL)
_NOT_HELD = WhereRaw(f"NOT ({_HELD_SQL})")


async def claim(mail_id: int, lease: timedelta = LEASE) -> dict | None:
    """Take the row for sending; None if it is sent, failed, or leased by a live worker.
    The row's `attempts` (one more) identifies this claim for `renew`.

    Every mail passes here, so this is where an account not taken over yet is kept from
    every mail (kinds.TO_HELD_ACCOUNTS aside): such a row is marked `dropped` (never sent,
    never retried) and returned with that state."""
    now = _now()
    claimable = (OutboxMail.id == mail_id) & (
        (
            (OutboxMail.state == "pending")
            & (OutboxMail.send_after.is_null() | (OutboxMail.send_after <= now))
        )
        | ((OutboxMail.state == "sending") & (OutboxMail.claimed_at < now - lease))
    )
    rows = (
        await OutboxMail.update(
            {
                OutboxMail.state: "sending",
                OutboxMail.claimed_at: now,
                OutboxMail.attempts: OutboxMail.attempts + 1,
            }
        )
        .where(claimable, _NOT_HELD)
        .returning(*OutboxMail.all_columns())
    )
    if rows:
        return rows[0]
    rows = (
        await OutboxMail.update(
            {OutboxMail.state: "dropped", OutboxMail.last_error: kinds.HELD_REASON}
        )
        .where(claimable, _HELD)
        .returning(*OutboxMail.all_columns())
    )
    return rows[0] if rows else None


async def renew(mail_id: int, attempts: int) -> bool:
    """Extend this claim's lease; False if it is no longer ours (it ran out and another
    worker took the row, or the row is done)."""
    rows = (
        await OutboxMail.update({OutboxMail.claimed_at: _now()})
        .where(
            (OutboxMail.id == mail_id)
            & (OutboxMail.state == "sending")
            & (OutboxMail.attempts == attempts)
        )
        .returning(OutboxMail.id)
    )
    return bool(rows)


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


# Mails whose body holds a link that opens an account (reset, invitation, e-mail change,
# takeover):
# once delivered, their body is not kept (a copy of the table must open nothing).
LINK_KINDS = ("password_reset", "email_change", "invitation", "finish_signup", "takeover")
LINK_REMOVED = "(Contenu retiré après l'envoi : il contenait un lien personnel.)"


async def mark_sent(mail_id: int) -> None:
    # The body first: a row seen as sent never holds its link any more.
    await OutboxMail.update(
        {OutboxMail.body_text: LINK_REMOVED, OutboxMail.body_html: LINK_REMOVED}
    ).where((OutboxMail.id == mail_id) & OutboxMail.kind.is_in(list(LINK_KINDS)))
    await OutboxMail.update(
        {OutboxMail.state: "sent", OutboxMail.sent_at: _now(), OutboxMail.last_error: ""}
    ).where(OutboxMail.id == mail_id)


def retry_delay(attempts: int, base: timedelta) -> timedelta:
    """Growing delays: base, 2×base, 4×base… up to an hour."""
    doublings = min(max(attempts - 1, 0), 32)  # 2**32 × base is far past the cap already
    return min(base * (2**doublings), MAX_RETRY_DELAY)


async def release(
    mail_id: int,
    error: str,
    *,
    permanent: bool,
    retry_base: timedelta | None = None,
    attempts: int | None = None,
) -> str:
    """After a failed send: `bounced` when the server refused the recipient for good (5xx),
    `failed` after MAX_ATTEMPTS, else back to pending; with `retry_base`, not before a
    delay that doubles with each attempt (the sweep respects it too). With `attempts` (the
    claim's), only if the claim is still this one: a worker whose lease ran out must not
    put back a row another worker is sending."""
    if attempts is None:
        row = await OutboxMail.select(OutboxMail.attempts).where(OutboxMail.id == mail_id).first()
        attempts = row["attempts"] if row else 0
        ours = OutboxMail.state == "sending"
    else:
        ours = (OutboxMail.state == "sending") & (OutboxMail.attempts == attempts)
    if permanent:
        state = "bounced"
    elif attempts >= MAX_ATTEMPTS:
        state = "failed"
    else:
        state = "pending"
    values: dict = {OutboxMail.state: state, OutboxMail.last_error: error[:2000]}
    if state == "pending" and retry_base is not None:
        values[OutboxMail.send_after] = _now() + retry_delay(attempts, retry_base)
    await OutboxMail.update(values).where((OutboxMail.id == mail_id) & ours)
    return state


async def drop(mail_id: int, reason: str) -> None:
    """A claimed notification that must not go any more (see the module docstring)."""
    await OutboxMail.update({OutboxMail.state: "dropped", OutboxMail.last_error: reason}).where(
        (OutboxMail.id == mail_id) & (OutboxMail.state == "sending")
    )


async def due_ids(
    older_than: timedelta = timedelta(seconds=30), limit: int = 500, lease: timedelta = LEASE
) -> list[int]:
    """Rows a sweep should enqueue again: pending for a while, or leased by a dead worker."""
    now = _now()
    rows = (
        await OutboxMail.select(OutboxMail.id)
        .where(
            (
                (OutboxMail.state == "pending")
                & (OutboxMail.created_at < now - older_than)
                & (OutboxMail.send_after.is_null() | (OutboxMail.send_after <= now))
            )
            | ((OutboxMail.state == "sending") & (OutboxMail.claimed_at < now - lease))
        )
        .order_by(OutboxMail.id)
        .limit(limit)
    )
    return [row["id"] for row in rows]


_COLUMNS = [c for c in OutboxMail._meta.columns if not c._meta.primary_key]
# A grouped mail as CTEs of a statement (a caller may add its own, as the "+" of a
# validated order does with its debt): the burst's pending mail rewritten and pushed back
# (`grouped_up`), else a new one (`grouped_new`), one round trip. A mail being taken by a
# worker at that moment is not pending any more once its claim commits: the UPDATE skips
# it and the INSERT starts the next mail, as the two statements did. Parameters:
# `grouped_args`; the caller selects GROUPED_ID.
GROUPED = (
    "grouped_up AS (UPDATE outbox_mail SET to_addr = {}, subject = {}, body_text = {},"  # noqa: S608 - column names only
    " body_html = {}, send_after = {} WHERE key LIKE {} AND state = 'pending' AND kind = {}"
    " RETURNING id), grouped_new AS (INSERT INTO outbox_mail ("
    + ", ".join(f'"{c._meta.db_column_name}"' for c in _COLUMNS)
    + ") SELECT "
    + ", ".join("{}" for _ in _COLUMNS)
    + " WHERE NOT EXISTS (SELECT 1 FROM grouped_up) RETURNING id)"
)
GROUPED_ID = "(SELECT id FROM grouped_up UNION ALL SELECT id FROM grouped_new LIMIT 1)"
_GROUPED = f"WITH {GROUPED} SELECT {GROUPED_ID} AS id"


async def _grouped_row(
    *,
    key_prefix: str,
    kind: str,
    to: str,
    template: str,
    context: dict,
    send_after: datetime,
    ctx: MailContext | None = None,
    instance: str = "main",
    user: int | None = None,
) -> OutboxMail:
    """The mail of a burst rendered: the row a new one would be (its key: the prefix and a
    random part)."""
    import secrets

    if ctx is not None:
        instance, context = ctx.instance, {"site_name": ctx.site_name} | context
    rendered = render(template, context, kind)
    row = _row(f"{key_prefix}:{secrets.token_hex(8)}", kind, instance, to, rendered)
    row.send_after = send_after
    row.user = user if user is not None else await _user_for(to)
    return row


def _pending_of(row: OutboxMail):
    """The burst's mail still waiting: same kind, same key prefix."""
    prefix = row.key.rpartition(":")[0]
    return (
        OutboxMail.key.like(f"{prefix}:%")
        & (OutboxMail.state == "pending")
        & (OutboxMail.kind == row.kind)
    )


_REWRITTEN = (OutboxMail.to_addr, OutboxMail.subject, OutboxMail.body_text)
_REWRITTEN += (OutboxMail.body_html, OutboxMail.send_after)


async def grouped_args(**mail) -> tuple:
    """GROUPED's parameters (`mail`: `queue_grouped`'s)."""
    row = await _grouped_row(**mail)
    prefix = row.key.rpartition(":")[0]
    return (
        *(getattr(row, c._meta.name) for c in _REWRITTEN),
        f"{prefix}:%",
        row.kind,
        *(getattr(row, c._meta.name) for c in _COLUMNS),
    )


async def queue_grouped(**mail) -> int | None:
    """A mail that stands for a burst of changes (an order recap): while one is still
    waiting, it is rewritten and pushed back; once it is taken, the next change starts a
    new one. Returns the id of the row to (re)enqueue. `mail`: key_prefix, kind, to,
    template, context, send_after, and ctx, instance, user (found from `to` if None)."""
    if not is_sqlite():
        [found] = await fetch(OutboxMail, _GROUPED, *await grouped_args(**mail))
        return found["id"]
    row = await _grouped_row(**mail)
    rows = (
        await OutboxMail.update({c: getattr(row, c._meta.name) for c in _REWRITTEN})
        .where(_pending_of(row))
        .returning(OutboxMail.id)
    )
    if rows:
        return rows[0]["id"]
    rows = await OutboxMail.insert(row).returning(OutboxMail.id)
    return rows[0]["id"]


async def prune(before: datetime) -> int:
    """Mails delivered (or dropped) before `before` are deleted: their bodies may hold
    personal data and links, and nothing reads them once sent. Refused mails (bounced,
    failed) stay: the member's page shows them."""
    rows = (
        await OutboxMail.delete()
        .where(
            OutboxMail.state.is_in(["sent", "dropped"])
            & (OutboxMail.created_at < before)
            & (OutboxMail.sent_at.is_null() | (OutboxMail.sent_at < before))
        )
        .returning(OutboxMail.id)
    )
    return len(rows)


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


async def refused_mails(
    user_id: int, email: str, limit: int = 20, key_prefix: str = ""
) -> list[dict]:
    """This person's mails that a server refused (5xx) or that kept failing, newest first,
    for their member page: found by the address and by the account (a refusal of an
    address the account had before is part of its history). `key_prefix`: only the mails
    of that key (and its resends, "<prefix>:…")."""
    query = (
        OutboxMail.select(
            OutboxMail.created_at,
            OutboxMail.kind,
            OutboxMail.state,
            OutboxMail.to_addr,
            OutboxMail.last_error,
        )
        .where(
            ((OutboxMail.to_addr == email) | (OutboxMail.user == user_id))
            & OutboxMail.state.is_in(["bounced", "failed"])
        )
        .order_by(OutboxMail.created_at, ascending=False)
        .limit(limit)
    )
    if key_prefix:
        query = query.where((OutboxMail.key == key_prefix) | OutboxMail.key.like(f"{key_prefix}:%"))
    return await query
