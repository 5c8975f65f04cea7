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
from datetime import date, timedelta
from urllib.parse import urlsplit

from markupsafe import Markup, escape
from piccolo.columns.combination import WhereRaw

from domain import idempotency, outbox
from domain.accounts import display_name
from domain.database import transaction
from domain.kernel import clock, forms
from domain.kernel.dates import label
from domain.kernel.errors import FieldErrors
from domain.kernel.wording import plural
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
    since = clock.now() - timedelta(days=31)
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
    if forms.an_id(raw_id) is None:
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
    """[{id, email, first_name, last_name, takeover_pending}] of a choice; FieldErrors if
    it is not one."""
    query = await _choice_query(group_id, choice)
    if query is None:
        raise FieldErrors({"recipients": "Choisissez les destinataires dans la liste."})
    return (
        await User.select(
            User.id, User.email, User.first_name, User.last_name, User.takeover_pending
        )
        .where(User.id.is_in(query))
        .order_by(User.id)
    )


@dataclass(frozen=True)
class Reach:
    """Who a choice names, and how many of them a mail will not reach: accounts made in
    Mode création and not taken over (the outbox drops their mails), addresses whose
    server refused the last mail sent to them (bounced, nothing sent since)."""

    total: int
    held: int = 0
    bounced: int = 0

    @property
    def unreachable(self) -> int:
        return self.held + self.bounced

    @property
    def detail(self) -> str:
        """« 1 compte créé en Mode création, pas encore repris par la personne ; 2 adresses
        refusées par leur serveur au dernier envoi »."""
        parts = []
        if self.held:
            parts.append(
                plural(
                    self.held,
                    "compte créé en Mode création, pas encore repris par la personne",
                    "comptes créés en Mode création, pas encore repris par les personnes",
                )
            )
        if self.bounced:
            parts.append(
                plural(
                    self.bounced,
                    "adresse refusée par son serveur au dernier envoi",
                    "adresses refusées par leur serveur au dernier envoi",
                )
            )
        return " ; ".join(parts)


# The account's current address was refused (5xx) and nothing was delivered to it since.
_BOUNCED = WhereRaw(
    "app_user.takeover_pending = FALSE AND EXISTS (SELECT 1 FROM outbox_mail b "
    "WHERE b.\"user\" = app_user.id AND b.to_addr = app_user.email AND b.state = 'bounced' "
    'AND NOT EXISTS (SELECT 1 FROM outbox_mail s WHERE s."user" = app_user.id '
    "AND s.to_addr = app_user.email AND s.state = 'sent' AND s.created_at > b.created_at))"
)


async def reach(group_id: int, choice: str) -> Reach | None:
    """The count of a choice with those it will not reach by mail (three queries); None
    if it names nothing of this group."""
    query = await _choice_query(group_id, choice)
    if query is None:
        return None
    total = await User.count().where(User.id.is_in(query))
    if not total:
        return Reach(0)
    held = await User.count().where(
        User.id.is_in(query) & (User.takeover_pending == True)  # noqa: E712 - SQL
    )
    bounced = await User.count().where(User.id.is_in(query), _BOUNCED)
    return Reach(total, held, bounced)


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


async def check(group_id: int, draft: Draft) -> tuple[Draft, Choice, Reach]:
    """The draft cleaned, its recipients' choice and count (with those it will not reach
    by mail); FieldErrors in French."""
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
    reached = await reach(group_id, draft.recipients) if choice else None
    if choice is None or reached is None:
        errors["recipients"] = "Choisissez les destinataires dans la liste."
    elif reached.total == 0:
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
    return cleaned, choice, reached


def _mail_context(group: dict, author: dict, draft: Draft, choice: Choice, ctx) -> dict:
    if draft.recipients == "waiting":
        why = (
            "Vous recevez ce message parce que vous êtes sur la liste d'attente de "
            f"{group['name']}."
        )
    else:
        why = (
            f"Vous recevez les messages de {group['name']} parce que vous en êtes membre : "
            "ils sont envoyés à tous les membres."
        )
    return {
        "group_name": group["name"],
        "subject": draft.subject,
        "body": draft.body,
        "body_html": format_body(draft.body),
        "author": display_name(author),
        "recipients_label": choice.recipients_label,
        "attachment": draft.attachment_name,
        "why": why,
        "leave_url": "" if draft.recipients == "waiting" else f"{ctx.base_url}/compte/marches",
        "url": f"{ctx.base_url}/g/{group['slug']}",
    }


def list_id(group: dict, base_url: str) -> str:
    """The group's `List-Id` (RFC 2919): its name, then <slug.instance host>; mail
    programs group and filter its messages by it, and auto-responders stay quiet."""
    host = (urlsplit(base_url).hostname or "localhost").lower()
    name = " ".join(re.sub(r"[^\w' -]", " ", group["name"]).split())
    return f"{name} <{group['slug']}.{host}>" if name else f"<{group['slug']}.{host}>"


async def preview(group: dict, author: dict, draft: Draft, ctx) -> dict:
    """What the recipients will read, without sending: subject, HTML, count."""
    draft, choice, reached = await check(group["id"], draft)
    subject, text, html = outbox.render(
        "group_message", _mail_context(group, author, draft, choice, ctx), site_name=ctx.site_name
    )
    return {
        "subject": subject,
        "body_html": format_body(draft.body),
        "count": reached.total,
        "reach": reached,
        "choice": choice,
        "attachment": draft.attachment_name,
    }


async def send(
    group: dict, author: dict, draft: Draft, ctx, form_key: str = ""
) -> tuple[int | None, Reach]:
    """Record the message and one outbox row per recipient, in one transaction; returns
    (message id, its recipients and those it will not reach by mail), or (None, 0
    recipients) for a form sent twice (`form_key` seen already: a double click sends one
    message). The caller enqueues the message's mails after the commit. A row is written
    for an account made in Mode création too: the outbox drops it (outbox.claim)."""
    draft, choice, reached = await check(group["id"], draft)
    people = await recipients(group["id"], draft.recipients)
    if not people:
        raise FieldErrors({"recipients": "Personne ne correspond à ce choix de destinataires."})
    subject, text, html = outbox.render(
        "group_message", _mail_context(group, author, draft, choice, ctx), site_name=ctx.site_name
    )
    headers = outbox.encode_headers({"List-Id": list_id(group, ctx.base_url)})
    async with transaction():
        if form_key and not await idempotency.claim(f"message:{form_key[:48]}", author["id"]):
            return None, Reach(0)
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
                    headers=headers,
                )
                for person in people
            ]
        )
    held = sum(1 for person in people if person["takeover_pending"])
    return message_id, Reach(len(people), held, reached.bounced)


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
            # Never sent: accounts not taken over, people who declined the group.
            "dropped": counts.get("dropped", 0),
        }
    return messages
