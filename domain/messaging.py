"""MESSAGERIE: messages written by admins (or members with the messaging right) to a list
of the group's people. Each recipient's mail is an outbox row keyed message:<id>:<user>.

Members cannot opt out of their group's messages except by leaving the group, so these
mails carry no unsubscribe link. Every list is read through the group: a catalog or a
distribution of another group names no one.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from markupsafe import Markup, escape

from domain import idempotency, outbox
from domain.accounts import FieldErrors, display_name
from domain.database import transaction
from domain.distributions import label
from domain.tables import (
    Catalog,
    Distribution,
    GroupMessage,
    JoinRequest,
    Membership,
    Order,
    Subscription,
    User,
)

MAX_SUBJECT = 200
MAX_BODY = 20_000
MAX_ATTACHMENT = 2 * 1024 * 1024
MAX_ATTACHMENT_LABEL = "2 Mo"
HISTORY = 50

_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*", re.S)
# On escaped text: a URL may hold "&amp;" but stops at any other entity or tag.
_URL = re.compile(r"https?://(?:[^\s<&]|&amp;)+")
_TRAILING = ".,;:!?)"


# ---- formatting --------------------------------------------------------------------------


def _link(match: re.Match) -> str:
    url = match.group(0)
    tail = ""
    while url and url[-1] in _TRAILING:
        tail = url[-1] + tail
        url = url[:-1]
    return f'<a href="{url}">{url}</a>{tail}'


def format_body(text: str) -> Markup:
    """Simple formatting, safe: paragraphs (blank lines), line breaks, **gras**, and web
    addresses made into links. Everything else is escaped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    paragraphs = [p.strip("\n") for p in re.split(r"\n[ \t]*\n", text) if p.strip()]
    html = []
    for paragraph in paragraphs:
        escaped = str(escape(paragraph))
        escaped = _BOLD.sub(r"<strong>\1</strong>", escaped)
        escaped = _URL.sub(_link, escaped)
        html.append("<p>" + escaped.replace("\n", "<br>\n") + "</p>")
    return Markup("\n".join(html))


# ---- recipients ------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    value: str
    label: str  # for the form
    recipients_label: str  # "Destinataires : …" in the mail and the history


async def recipient_choices(group_id: int) -> list[Choice]:
    """All members, the subscribers of each catalog, the members with an order at each
    recent or coming distribution, the waiting list, the admins."""
    choices = [Choice("all", "Tous les membres", "tous les membres")]
    catalogs = (
        await Catalog.select(Catalog.id, Catalog.name, Catalog.vendor.name.as_alias("vendor"))
        .where(Catalog.group == group_id)
        .order_by(Catalog.name)
    )
    for catalog in catalogs:
        name = f"{catalog['vendor']} – {catalog['name']}"
        choices.append(
            Choice(f"catalog:{catalog['id']}", f"Abonnés : {name}", f"les abonnés de {name}")
        )
    since = datetime.now(UTC) - timedelta(days=31)
    dists = (
        await Distribution.select(Distribution.id, Distribution.starts_at)
        .where((Distribution.group == group_id) & (Distribution.starts_at >= since))
        .order_by(Distribution.starts_at)
        .limit(40)
    )
    for dist in dists:
        when = label(dist["starts_at"])
        choices.append(
            Choice(
                f"distribution:{dist['id']}",
                f"Commandes du {when}",
                f"les membres ayant commandé pour le {when}",
            )
        )
    choices.append(Choice("waiting", "Liste d'attente", "la liste d'attente"))
    choices.append(Choice("admins", "Administrateurs", "les administrateurs"))
    return choices


def _members_of(group_id: int):
    return Membership.select(Membership.user).where(Membership.group == group_id)


async def _choice_query(group_id: int, choice: str):
    """The users of a choice as a sub-select of user ids, or None if it names nothing
    of this group."""
    kind, _, raw_id = choice.partition(":")
    if choice == "all":
        return _members_of(group_id)
    if choice == "admins":
        return Membership.select(Membership.user).where(
            (Membership.group == group_id) & (Membership.is_admin == True)  # noqa: E712
        )
    if choice == "waiting":
        return JoinRequest.select(JoinRequest.user).where(
            (JoinRequest.group == group_id) & (JoinRequest.state == "pending")
        )
    if not raw_id.isdigit() or int(raw_id) >= 2**31:
        return None
    if kind == "catalog":
        if not await Catalog.exists().where(
            (Catalog.id == int(raw_id)) & (Catalog.group == group_id)
        ):
            return None
        return Subscription.select(Subscription.user).where(
            (Subscription.catalog == int(raw_id))
            & Subscription.ended_at.is_null()
            & (Subscription.ends_on >= date.today())
            & Subscription.user.is_in(_members_of(group_id))
        )
    if kind == "distribution":
        if not await Distribution.exists().where(
            (Distribution.id == int(raw_id)) & (Distribution.group == group_id)
        ):
            return None
        return Order.select(Order.user).where(
            (Order.distribution == int(raw_id))
            & (Order.state == "validated")
            & (Order.total_cents > 0)
            & Order.user.is_in(_members_of(group_id))
        )
    return None


async def recipients(group_id: int, choice: str) -> list[dict]:
    """[{id, email, first_name, last_name}] of a choice; FieldErrors if it is not one."""
    query = await _choice_query(group_id, choice)
    if query is None:
        raise FieldErrors({"recipients": "Choisissez les destinataires dans la liste."})
    return (
        await User.select(User.id, User.email, User.first_name, User.last_name)
        .where(User.id.is_in(query))
        .order_by(User.id)
    )


async def count(group_id: int, choice: str) -> int | None:
    """How many people a choice reaches; None if it names nothing of this group."""
    query = await _choice_query(group_id, choice)
    if query is None:
        return None
    return await User.count().where(User.id.is_in(query))


async def choice_of(group_id: int, value: str) -> Choice | None:
    for choice in await recipient_choices(group_id):
        if choice.value == value:
            return choice
    return None


# ---- writing and sending ---------------------------------------------------------------


@dataclass
class Draft:
    subject: str
    body: str
    recipients: str
    attachment_name: str = ""
    attachment: bytes | None = None


def _clean_filename(name: str) -> str:
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable() and c not in '"<>:|?*').strip(" .")
    return name[:200] or "piece-jointe"


async def check(group_id: int, draft: Draft) -> tuple[Draft, Choice, int]:
    """The draft cleaned, its recipients' choice and count; FieldErrors in French."""
    errors: dict[str, str] = {}
    subject = " ".join(draft.subject.split())
    body = draft.body.replace("\r\n", "\n").strip()
    if not subject:
        errors["subject"] = "Indiquez l'objet du message."
    elif len(subject) > MAX_SUBJECT:
        errors["subject"] = f"L'objet ne doit pas dépasser {MAX_SUBJECT} caractères."
    if not body:
        errors["body"] = "Écrivez le message."
    elif len(body) > MAX_BODY:
        errors["body"] = f"Le message ne doit pas dépasser {MAX_BODY:,} caractères.".replace(
            ",", "\u202f"
        )
    if draft.attachment is not None and len(draft.attachment) > MAX_ATTACHMENT:
        errors["attachment"] = (
            f"La pièce jointe ne doit pas dépasser {MAX_ATTACHMENT_LABEL} "
            "(envoyez plutôt un lien vers le document)."
        )
    choice = await choice_of(group_id, draft.recipients)
    total = await count(group_id, draft.recipients) if choice else None
    if choice is None or total is None:
        errors["recipients"] = "Choisissez les destinataires dans la liste."
    elif total == 0:
        errors["recipients"] = "Personne ne correspond à ce choix de destinataires."
    if errors:
        raise FieldErrors(errors)
    cleaned = Draft(
        subject=subject,
        body=body,
        recipients=draft.recipients,
        attachment_name=_clean_filename(draft.attachment_name) if draft.attachment else "",
        attachment=draft.attachment or None,
    )
    return cleaned, choice, total


def _mail_context(group: dict, author: dict, draft: Draft, choice: Choice, ctx) -> dict:
    if draft.recipients == "waiting":
        why = (
            "Vous recevez ce message parce que vous êtes sur la liste d'attente de "
            f"{group['name']}."
        )
    else:
        why = (
            f"Vous recevez les messages de {group['name']} parce que vous en êtes membre. "
            "Pour ne plus les recevoir, quittez ce groupe."
        )
    return {
        "site_name": ctx.site_name,
        "group_name": group["name"],
        "subject": draft.subject,
        "body": draft.body,
        "body_html": format_body(draft.body),
        "author": display_name(author),
        "recipients_label": choice.recipients_label,
        "attachment": draft.attachment_name,
        "why": why,
        "url": f"{ctx.base_url}/g/{group['slug']}",
    }


async def preview(group: dict, author: dict, draft: Draft, ctx) -> dict:
    """What the recipients will read, without sending: subject, HTML, count."""
    draft, choice, total = await check(group["id"], draft)
    subject, text, html = outbox.render(
        "group_message", _mail_context(group, author, draft, choice, ctx)
    )
    return {
        "subject": subject,
        "body_html": format_body(draft.body),
        "count": total,
        "choice": choice,
        "attachment": draft.attachment_name,
    }


async def send(
    group: dict, author: dict, draft: Draft, ctx, form_key: str = ""
) -> tuple[int | None, int]:
    """Record the message and one outbox row per recipient, in one transaction; returns
    (message id, recipients), or (None, 0) for a form sent twice (`form_key` seen
    already: a double click sends one message). The caller enqueues the message's mails
    after the commit."""
    draft, choice, _ = await check(group["id"], draft)
    people = await recipients(group["id"], draft.recipients)
    if not people:
        raise FieldErrors({"recipients": "Personne ne correspond à ce choix de destinataires."})
    subject, text, html = outbox.render(
        "group_message", _mail_context(group, author, draft, choice, ctx)
    )
    async with transaction():
        if form_key and not await idempotency.claim(f"message:{form_key[:48]}", author["id"]):
            return None, 0
        rows = await GroupMessage.insert(
            GroupMessage(
                group=group["id"],
                author=author["id"],
                subject=draft.subject,
                body=draft.body,
                recipients=draft.recipients,
                recipients_label=choice.recipients_label[:300],
                recipient_count=len(people),
                attachment_name=draft.attachment_name,
                attachment=draft.attachment,
            )
        ).returning(GroupMessage.id)
        message_id = rows[0]["id"]
        await outbox.queue_many(
            [
                outbox.NewMail(
                    key=f"message:{message_id}:{person['id']}",
                    kind="message",
                    to=person["email"],
                    subject=subject,
                    text=text,
                    html=html,
                    instance=ctx.instance,
                    user=person["id"],
                    message=message_id,
                    reply_to=author["email"],
                )
                for person in people
            ]
        )
    return message_id, len(people)


def attachment_type(filename: str) -> str:
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


async def attachment_stamp(message_id: int) -> tuple | None:
    """What identifies a message's attachment, without reading it; None if it has none."""
    row = (
        await GroupMessage.select(GroupMessage.created_at, GroupMessage.attachment_name)
        .where(GroupMessage.id == message_id)
        .first()
    )
    if not row or not row["attachment_name"]:
        return None
    return (message_id, row["created_at"], row["attachment_name"])


async def attachment_of(message_id: int) -> tuple[str, bytes] | None:
    row = (
        await GroupMessage.select(GroupMessage.attachment_name, GroupMessage.attachment)
        .where(GroupMessage.id == message_id)
        .first()
    )
    if not row or not row["attachment"]:
        return None
    return row["attachment_name"], bytes(row["attachment"])


# ---- history ---------------------------------------------------------------------------


async def history(group_id: int) -> list[dict]:
    """The group's last messages, newest first, with delivery counts: two queries."""
    messages = (
        await GroupMessage.select(
            GroupMessage.id,
            GroupMessage.subject,
            GroupMessage.body,
            GroupMessage.recipients_label,
            GroupMessage.recipient_count,
            GroupMessage.attachment_name,
            GroupMessage.created_at,
            GroupMessage.author.first_name.as_alias("author_first_name"),
            GroupMessage.author.last_name.as_alias("author_last_name"),
            GroupMessage.author.email.as_alias("author_email"),
        )
        .where(GroupMessage.group == group_id)
        .order_by(GroupMessage.created_at, ascending=False)
        .order_by(GroupMessage.id, ascending=False)
        .limit(HISTORY)
    )
    states = await outbox.states_of_messages([m["id"] for m in messages])
    for message in messages:
        counts = states.get(message["id"], {})
        message["label"] = label(message["created_at"])
        message["author"] = display_name(
            {
                "first_name": message["author_first_name"],
                "last_name": message["author_last_name"],
                "email": message["author_email"],
            }
        )
        message["body_html"] = format_body(message["body"])
        message["counts"] = {
            "queued": counts.get("pending", 0) + counts.get("sending", 0),
            "sent": counts.get("sent", 0),
            "failed": counts.get("failed", 0),
            "bounced": counts.get("bounced", 0),
        }
    return messages
