"""Membership of a group: joining by registration mode, invitations, the waiting list,
accounts created by an admin with consent, adhésions, rights, leaving.

Rules hold in here, whatever the page: a pending account (no password yet) is a member
like any other and receives the group's mails; an invitation link is hashed, expires and
works once; the last admin of a group can never be removed, nor leave.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote

from domain import idempotency, outbox
from domain.accounts import (
    FieldErrors,
    MailContext,
    check_email,
    check_password,
    display_name,
    hash_password,
    normalize_email,
)
from domain.catalogs import parse_euros
from domain.database import is_sqlite, transaction
from domain.distributions import PARIS, label
from domain.tables import (
    AccountToken,
    Catalog,
    ConsentRecord,
    Group,
    JoinRequest,
    Membership,
    MembershipFee,
    Order,
    OutboxMail,
    Subscription,
    User,
)

INVITE_TTL = timedelta(days=30)
# A sign-up with the address of a pending account sends the link again, not more often.
INVITE_RESEND_PAUSE = timedelta(minutes=5)
PAGE_SIZE = 50
SEASON = timedelta(days=365)  # "cette saison": the last twelve months
MEANS = {
    "cheque": "Chèque",
    "especes": "Espèces",
    "virement": "Virement",
    "carte": "Carte bancaire",
    "autre": "Autre",
}
FILTERS = {
    "": "Tous les membres",
    "attente": "Liste d'attente",
    "invitation": "Invitation en attente",
    "sans-commande": "Sans commande cette saison",
    "adhesion": "Adhésion non payée",
}
PHONE_RE = re.compile(r"^[0-9+ ().-]{6,40}$")


class RegistrationClosed(Exception):
    """The group does not take members on its own (waiting list or closed)."""


class InvalidLink(Exception):
    """The invitation link is unknown, expired or already used."""


class NotAMember(Exception):
    """The person is not a member of this group (or the request is not of this group)."""


def now() -> datetime:
    return datetime.now(UTC)


def this_year() -> int:
    return now().astimezone(PARIS).year


def consent_statement(site_name: str, group_name: str) -> str:
    """The exact sentence the admin ticks in Mode création; recorded as it reads."""
    return (
        "J'ai obtenu le consentement de cette personne pour lui créer un compte sur "
        f"{site_name} et l'inscrire à {group_name}."
    )


def _new_token() -> tuple[str, str]:
    raw = secrets.token_urlsafe(32)
    return raw, hashlib.sha256(raw.encode()).hexdigest()


async def _lock_group(group_id: int) -> None:
    """Inside a transaction: rules counting the group's admins run one at a time.
    (SQLite's write transaction is already exclusive.)"""
    if not is_sqlite():
        await Group.select(Group.id).where(Group.id == group_id).lock_rows().first()


async def _claim_key(key: str | None, user_id: int | None) -> bool:
    """A form's random key: True the first time it is seen, so a double click acts once."""
    try:
        return await idempotency.claim(key, user_id)
    except idempotency.BadKey as error:
        raise FieldErrors({"key": "Formulaire invalide : rechargez la page."}) from error


async def _group(group_id: int) -> dict:
    return (
        await Group.select(Group.id, Group.name, Group.slug, Group.registration)
        .where(Group.id == group_id)
        .first()
    )


async def is_member(group_id: int, user_id: int) -> bool:
    return await Membership.exists().where(
        (Membership.user == user_id) & (Membership.group == group_id)
    )


# ---- joining an open group --------------------------------------------------------------


async def join_open_group(user_id: int, group_id: int, ctx) -> list[int]:
    """Becoming a member of an open group (ordering as a guest, or "Suivre ce marché").

    Joining twice is joining once; the welcome mail of the group goes out once.
    """
    group = await _group(group_id)
    if await is_member(group_id, user_id):
        return []
    if group["registration"] != "open":
        raise RegistrationClosed()
    user = await User.select(User.email, User.first_name).where(User.id == user_id).first()
    async with transaction():
        rows = (
            await Membership.insert(Membership(user=user_id, group=group_id))
            .on_conflict(action="DO NOTHING")
            .returning(Membership.id)
        )
        if not rows:
            return []
        mail_id = await outbox.queue(
            key=f"group_welcome:{group_id}:{user_id}",
            kind="welcome",
            to=user["email"],
            user=user_id,
            template="group_welcome",
            instance=ctx.instance,
            context={
                "first_name": user["first_name"],
                "site_name": ctx.site_name,
                "group_name": group["name"],
                "url": f"{ctx.base_url}/g/{group['slug']}",
            },
        )
    return [mail_id] if mail_id else []


# ---- the waiting list ("Liste d'attente") -----------------------------------------------


async def join_state(user_id: int | None, group_id: int) -> dict | None:
    """The visitor's last request to join this group, for its home page."""
    if user_id is None:
        return None
    row = (
        await JoinRequest.select(
            JoinRequest.id, JoinRequest.state, JoinRequest.created_at, JoinRequest.answer
        )
        .where((JoinRequest.user == user_id) & (JoinRequest.group == group_id))
        .order_by(JoinRequest.id, ascending=False)
        .first()
    )
    if row:
        row["label"] = label(row["created_at"])
    return row


async def ask_to_join(user_id: int, group_id: int, message: str, ctx: MailContext) -> list[int]:
    """A request to join a group in "liste d'attente" mode; every admin gets a mail with
    a link to it. A second request while one is pending does nothing."""
    message = message.strip()
    if len(message) > 2000:
        raise FieldErrors({"message": "Le message ne doit pas dépasser 2 000 caractères."})
    group = await _group(group_id)
    if group["registration"] != "waiting_list":
        raise RegistrationClosed()
    mail_ids: list[int | None] = []
    async with transaction():
        await _lock_group(group_id)
        if await is_member(group_id, user_id) or await JoinRequest.exists().where(
            (JoinRequest.user == user_id)
            & (JoinRequest.group == group_id)
            & (JoinRequest.state == "pending")
        ):
            return []
        rows = await JoinRequest.insert(
            JoinRequest(user=user_id, group=group_id, message=message)
        ).returning(JoinRequest.id)
        request_id = rows[0]["id"]
        waiting_url = f"{ctx.base_url}/g/{group['slug']}/membres?filtre=attente"
        person = (
            await User.select(User.email, User.first_name, User.last_name)
            .where(User.id == user_id)
            .first()
        )
        admins = await Membership.select(
            Membership.user.id.as_alias("id"),
            Membership.user.email.as_alias("email"),
            Membership.user.first_name.as_alias("first_name"),
        ).where((Membership.group == group_id) & (Membership.is_admin == True))  # noqa: E712
        for admin in admins:
            mail_ids.append(
                await outbox.queue(
                    key=f"join_request:{request_id}:{admin['id']}",
                    kind="join_request",
                    to=admin["email"],
                    user=admin["id"],
                    template="join_request",
                    instance=ctx.instance,
                    context={
                        "first_name": admin["first_name"],
                        "site_name": ctx.site_name,
                        "group_name": group["name"],
                        "person": display_name(person),
                        "person_email": person["email"],
                        "message": message,
                        "url": f"{waiting_url}#r{request_id}",
                    },
                )
            )
    return [m for m in mail_ids if m]


async def waiting_list(group_id: int) -> list[dict]:
    rows = (
        await JoinRequest.select(
            JoinRequest.id,
            JoinRequest.message,
            JoinRequest.created_at,
            JoinRequest.user.id.as_alias("user_id"),
            JoinRequest.user.email.as_alias("email"),
            JoinRequest.user.first_name.as_alias("first_name"),
            JoinRequest.user.last_name.as_alias("last_name"),
        )
        .where((JoinRequest.group == group_id) & (JoinRequest.state == "pending"))
        .order_by(JoinRequest.created_at)
        .limit(500)
    )
    for row in rows:
        row["label"] = label(row["created_at"])
        row["name"] = display_name(row)
    return rows


async def waiting_count(group_id: int) -> int:
    return await JoinRequest.count().where(
        (JoinRequest.group == group_id) & (JoinRequest.state == "pending")
    )


async def _decide(group_id: int, request_id: int, admin_id: int, state: str, answer: str) -> dict:
    """Claim a pending request of this group (a double click decides once)."""
    rows = (
        await JoinRequest.update(
            {
                JoinRequest.state: state,
                JoinRequest.answer: answer,
                JoinRequest.decided_by: admin_id,
                JoinRequest.decided_at: now(),
            }
        )
        .where(
            (JoinRequest.id == request_id)
            & (JoinRequest.group == group_id)
            & (JoinRequest.state == "pending")
        )
        .returning(JoinRequest.user)
    )
    if not rows:
        raise NotAMember()
    return (
        await User.select(User.id, User.email, User.first_name, User.last_name)
        .where(User.id == rows[0]["user"])
        .first()
    )


async def accept_request(
    group_id: int, request_id: int, admin_id: int, ctx: MailContext
) -> list[int]:
    """The person becomes a member and gets the welcome mail; they can order."""
    group = await _group(group_id)
    async with transaction():
        person = await _decide(group_id, request_id, admin_id, "accepted", "")
        added = (
            await Membership.insert(Membership(user=person["id"], group=group_id))
            .on_conflict(action="DO NOTHING")
            .returning(Membership.id)
        )
        if not added:
            return []
        mail_id = await outbox.queue(
            key=f"join_accepted:{request_id}",
            kind="join_accepted",
            to=person["email"],
            user=person["id"],
            template="join_accepted",
            instance=ctx.instance,
            context={
                "first_name": person["first_name"],
                "site_name": ctx.site_name,
                "group_name": group["name"],
                "url": f"{ctx.base_url}/g/{group['slug']}",
            },
        )
    return [mail_id] if mail_id else []


async def refuse_request(
    group_id: int, request_id: int, admin_id: int, answer: str, ctx: MailContext
) -> list[int]:
    """The person is told by mail, with the admin's message if there is one."""
    answer = answer.strip()
    if len(answer) > 2000:
        raise FieldErrors({"answer": "Le message ne doit pas dépasser 2 000 caractères."})
    group = await _group(group_id)
    async with transaction():
        person = await _decide(group_id, request_id, admin_id, "refused", answer)
        mail_id = await outbox.queue(
            key=f"join_refused:{request_id}",
            kind="join_refused",
            to=person["email"],
            user=person["id"],
            template="join_refused",
            instance=ctx.instance,
            context={
                "first_name": person["first_name"],
                "site_name": ctx.site_name,
                "group_name": group["name"],
                "answer": answer,
            },
        )
    return [mail_id] if mail_id else []


# ---- "Nouveau client", Mode création, invitations ---------------------------------------


@dataclass
class Fee:
    """An adhésion payment, checked."""

    year: int
    amount_cents: int
    paid_on: date
    means: str


def check_fee(year: str, amount: str, paid_on: str, means: str) -> tuple[Fee | None, dict]:
    errors: dict[str, str] = {}
    year_value = int(year) if year.strip().isdigit() else 0
    if not 2000 <= year_value <= 2100:
        errors["year"] = "Indiquez l'année de l'adhésion (par exemple 2026)."
    cents = parse_euros(amount)
    if cents is None or cents <= 0:
        errors["amount"] = "Indiquez un montant en euros, par exemple 15 ou 12,50."
    day = None
    try:
        day = date.fromisoformat(paid_on.strip())
    except ValueError:
        errors["paid_on"] = "Indiquez la date du paiement."
    if means not in MEANS:
        errors["means"] = "Choisissez le moyen de paiement."
    if errors:
        return None, errors
    return Fee(year_value, cents, day, means), {}


def _check_person(email: str, first_name: str, last_name: str, phone: str) -> dict[str, str]:
    errors = check_email(email)
    if len(first_name) > 100:
        errors["first_name"] = "Le prénom ne doit pas dépasser 100 caractères."
    if len(last_name) > 100:
        errors["last_name"] = "Le nom ne doit pas dépasser 100 caractères."
    if phone and not PHONE_RE.match(phone):
        errors["phone"] = "Indiquez un numéro de téléphone valide, par exemple 06 12 34 56 78."
    return errors


@dataclass
class Added:
    user_id: int
    created: bool  # a new (pending) account
    invited: bool  # an invitation link was sent
    mail_ids: list[int] = field(default_factory=list)


async def _queue_invitation(
    user: dict,
    group: dict | None,
    ctx: MailContext,
    next_path: str = "",
    kind: str = "invitation",
) -> int | None:
    """A new single-use link to finish registering; the mail welcomes to the group."""
    raw, digest = _new_token()
    await AccountToken.insert(
        AccountToken(
            user=user["id"], purpose="invite", token_hash=digest, expires_at=now() + INVITE_TTL
        )
    )
    url = f"{ctx.base_url}/invitation/{raw}"
    if next_path:
        url += f"?next={quote(next_path, safe='/')}"
    return await outbox.queue(
        key=f"invitation:{digest}",
        kind=kind,
        to=user["email"],
        user=user["id"],
        template="invitation",
        instance=ctx.instance,
        context={
            "first_name": user["first_name"],
            "site_name": ctx.site_name,
            "group_name": group["name"] if group else "",
            "group_url": f"{ctx.base_url}/g/{group['slug']}" if group else "",
            "url": url,
            "days": INVITE_TTL.days,
        },
    )


async def add_client(
    group_id: int,
    *,
    by_user_id: int,
    email: str,
    first_name: str = "",
    last_name: str = "",
    phone: str = "",
    creation: bool = False,
    consent: bool = False,
    fee: Fee | None = None,
    ctx: MailContext,
) -> Added:
    """ "Nouveau client": an existing account becomes a member (welcome mail); otherwise a
    pending account is made and invited (welcome mail with the link to finish).

    Mode création (someone without computer or phone): names are required, the admin
    states that the person consented; the statement is recorded, and no mail is sent.
    """
    email = normalize_email(email)
    first_name, last_name, phone = first_name.strip(), last_name.strip(), phone.strip()
    errors = _check_person(email, first_name, last_name, phone)
    if creation:
        if not first_name:
            errors["first_name"] = "Indiquez le prénom : il est obligatoire en Mode création."
        if not last_name:
            errors["last_name"] = "Indiquez le nom : il est obligatoire en Mode création."
        if not consent:
            errors["consent"] = (
                "Cochez cette case : le consentement de la personne est obligatoire "
                "pour lui créer un compte."
            )
    if errors:
        raise FieldErrors(errors)
    group = await _group(group_id)
    mail_ids: list[int | None] = []
    async with transaction():
        user = (
            await User.select(User.id, User.email, User.first_name, User.password_hash)
            .where(User.email == email)
            .first()
        )
        if user and await is_member(group_id, user["id"]):
            raise FieldErrors({"email": f"{email} est déjà membre du groupe."})
        if user and creation:
            raise FieldErrors(
                {
                    "email": "Un compte existe déjà avec cette adresse : décochez « Mode "
                    "création » pour inscrire cette personne au groupe."
                }
            )
        created = user is None
        if created:
            rows = await User.insert(
                User(email=email, first_name=first_name, last_name=last_name, phone=phone)
            ).returning(User.id)
            user = {"id": rows[0]["id"], "email": email, "first_name": first_name}
            user["password_hash"] = None
        elif user["password_hash"] is None and not user["first_name"]:
            # A pending account without names yet: the admin knows them.
            await User.update({User.first_name: first_name, User.last_name: last_name}).where(
                User.id == user["id"]
            )
            user["first_name"] = first_name
        membership = await Membership.insert(Membership(user=user["id"], group=group_id)).returning(
            Membership.id
        )
        if creation:
            await ConsentRecord.insert(
                ConsentRecord(
                    user=user["id"],
                    group=group_id,
                    recorded_by=by_user_id,
                    statement=consent_statement(ctx.site_name, group["name"]),
                )
            )
        elif user["password_hash"] is None:
            mail_ids.append(await _queue_invitation(user, group, ctx))
        else:
            mail_ids.append(
                await outbox.queue(
                    key=f"member_added:{membership[0]['id']}",
                    kind="welcome",
                    to=email,
                    user=user["id"],
                    template="group_welcome",
                    instance=ctx.instance,
                    context={
                        "first_name": user["first_name"],
                        "site_name": ctx.site_name,
                        "group_name": group["name"],
                        "url": f"{ctx.base_url}/g/{group['slug']}",
                    },
                )
            )
        if fee is not None:
            await _insert_fee(group_id, user["id"], fee, by_user_id)
    invited = not creation and user["password_hash"] is None
    return Added(user["id"], created, invited, [m for m in mail_ids if m])


async def resend_invitation(
    group_id: int, user_id: int, key: str | None, ctx: MailContext
) -> list[int]:
    """A new link in one click; the links sent before stop working."""
    group = await _group(group_id)
    async with transaction():
        user = (
            await User.select(User.id, User.email, User.first_name, User.password_hash)
            .where(User.id == user_id)
            .first()
        )
        if user is None or not await is_member(group_id, user_id):
            raise NotAMember()
        if user["password_hash"] is not None:
            raise FieldErrors({"invite": "Cette personne a déjà fini son inscription."})
        if not await _claim_key(key, None):
            return []
        await AccountToken.update({AccountToken.used_at: now()}).where(
            (AccountToken.user == user_id)
            & (AccountToken.purpose == "invite")
            & AccountToken.used_at.is_null()
        )
        mail_id = await _queue_invitation(user, group, ctx)
    return [mail_id] if mail_id else []


async def invite_pending_account(email: str, next_path: str, ctx: MailContext) -> list[int] | None:
    """Sign-up (often at the end of a guest order) with the address of an account an admin
    prepared: the account is not taken over by whoever types the address; a link is sent to
    it instead. None if the address is not a pending account."""
    email = normalize_email(email)
    user = (
        await User.select(User.id, User.email, User.first_name, User.password_hash)
        .where(User.email == email)
        .first()
    )
    if user is None or user["password_hash"] is not None:
        return None
    async with transaction():
        if await OutboxMail.exists().where(
            (OutboxMail.kind == "finish_signup")
            & (OutboxMail.to_addr == email)
            & (OutboxMail.created_at > now() - INVITE_RESEND_PAUSE)
        ):
            return []  # one was just sent: no mail bombing through the sign-up form
        mail_id = await _queue_invitation(user, None, ctx, next_path, kind="finish_signup")
    return [mail_id] if mail_id else []


async def _invite_row(raw: str) -> dict | None:
    digest = hashlib.sha256(raw.encode()).hexdigest()
    row = (
        await AccountToken.select(
            AccountToken.id,
            AccountToken.user,
            AccountToken.used_at,
            AccountToken.expires_at,
            AccountToken.user.email.as_alias("email"),
            AccountToken.user.first_name.as_alias("first_name"),
            AccountToken.user.last_name.as_alias("last_name"),
            AccountToken.user.password_hash.as_alias("password_hash"),
        )
        .where((AccountToken.token_hash == digest) & (AccountToken.purpose == "invite"))
        .first()
    )
    if not row or row["used_at"] is not None or row["expires_at"] <= now():
        return None
    if row["password_hash"] is not None:
        return None  # the account was activated another way (password reset)
    return row


async def invitation(raw: str) -> dict | None:
    """The pending account an invitation link is for, if the link still works."""
    row = await _invite_row(raw)
    if row is None:
        return None
    return {k: row[k] for k in ("user", "email", "first_name", "last_name")}


async def finish_invitation(raw: str, *, first_name: str, last_name: str, password: str) -> int:
    """The person chooses their password (and checks their names): the account is theirs."""
    first_name, last_name = first_name.strip(), last_name.strip()
    errors = check_password(password)
    if not first_name:
        errors["first_name"] = "Indiquez votre prénom."
    elif len(first_name) > 100:
        errors["first_name"] = "Le prénom ne doit pas dépasser 100 caractères."
    if not last_name:
        errors["last_name"] = "Indiquez votre nom."
    elif len(last_name) > 100:
        errors["last_name"] = "Le nom ne doit pas dépasser 100 caractères."
    if errors:
        raise FieldErrors(errors)
    password_hash = hash_password(password)
    async with transaction():
        row = await _invite_row(raw)
        if row is None:
            raise InvalidLink()
        claimed = (
            await AccountToken.update({AccountToken.used_at: now()})
            .where((AccountToken.id == row["id"]) & AccountToken.used_at.is_null())
            .returning(AccountToken.id)
        )
        if not claimed:
            raise InvalidLink()
        activated = (
            await User.update(
                {
                    User.password_hash: password_hash,
                    User.first_name: first_name,
                    User.last_name: last_name,
                }
            )
            .where((User.id == row["user"]) & User.password_hash.is_null())
            .returning(User.id)
        )
        if not activated:
            raise InvalidLink()
        # The other links sent to this account are now pointless.
        await AccountToken.update({AccountToken.used_at: now()}).where(
            (AccountToken.user == row["user"])
            & (AccountToken.purpose == "invite")
            & AccountToken.used_at.is_null()
        )
    return row["user"]


# ---- adhésions --------------------------------------------------------------------------


async def _insert_fee(group_id: int, user_id: int, fee: Fee, by_user_id: int) -> None:
    await MembershipFee.insert(
        MembershipFee(
            group=group_id,
            user=user_id,
            year=fee.year,
            amount_cents=fee.amount_cents,
            paid_on=fee.paid_on,
            means=fee.means,
            recorded_by=by_user_id,
        )
    )


async def record_fee(
    group_id: int, *, user_id: str, fee: Fee | None, errors: dict, by_user_id: int, key: str | None
) -> None:
    """A payment of a member of this group; a double click records it once."""
    member = int(user_id) if user_id.strip().isdigit() else 0
    if not member or member > 2**31 - 1 or not await is_member(group_id, member):
        errors = errors | {"user_id": "Choisissez un membre du groupe."}
    if errors or fee is None:
        raise FieldErrors(errors)
    async with transaction():
        if await _claim_key(key, by_user_id):
            await _insert_fee(group_id, member, fee, by_user_id)


async def fees_overview(group_id: int, year: int) -> dict:
    """Gestion adhérents: who is up to date for `year` (they or the person they share their
    membership with paid), who is not. Two queries whatever the number of members."""
    members = (
        await Membership.select(
            Membership.shared_with,
            Membership.user.id.as_alias("id"),
            Membership.user.email.as_alias("email"),
            Membership.user.first_name.as_alias("first_name"),
            Membership.user.last_name.as_alias("last_name"),
        )
        .where(Membership.group == group_id)
        .order_by(Membership.user.last_name)
        .order_by(Membership.user.first_name)
        .order_by(Membership.user.email)
    )
    fees = (
        await MembershipFee.select(
            MembershipFee.id,
            MembershipFee.user,
            MembershipFee.amount_cents,
            MembershipFee.paid_on,
            MembershipFee.means,
        )
        .where((MembershipFee.group == group_id) & (MembershipFee.year == year))
        .order_by(MembershipFee.paid_on)
    )
    paid: dict[int, list[dict]] = {}
    for fee in fees:
        fee["means_label"] = MEANS.get(fee["means"], fee["means"])
        paid.setdefault(fee["user"], []).append(fee)
    up_to_date, late = [], []
    for member in members:
        member["name"] = display_name(member)
        member["fees"] = paid.get(member["id"], [])
        shared = member["shared_with"]
        if member["fees"] or (shared and paid.get(shared)):
            up_to_date.append(member)
        else:
            late.append(member)
    total = sum(f["amount_cents"] for f in fees)
    return {"up_to_date": up_to_date, "late": late, "total_cents": total, "members": members}


# ---- the member list --------------------------------------------------------------------


def _member_filter(group_id: int, search: str, kind: str):
    where = Membership.group == group_id
    # SQLite's LIKE ignores case already (ASCII); PostgreSQL needs ILIKE.
    sqlite = is_sqlite()
    for word in search.replace("%", " ").split()[:5]:
        pattern = f"%{word}%"
        columns = (Membership.user.email, Membership.user.first_name, Membership.user.last_name)
        matches = [c.like(pattern) if sqlite else c.ilike(pattern) for c in columns]
        where &= matches[0] | matches[1] | matches[2]
    if kind == "invitation":
        where &= Membership.user.password_hash.is_null()
    elif kind == "sans-commande":
        ordered = Order.select(Order.user).where(
            Order.distribution.is_in(_group_distributions(group_id, now() - SEASON))
            & (Order.total_cents > 0)
        )
        where &= Membership.user.not_in(ordered)
    elif kind == "adhesion":
        paid = MembershipFee.select(MembershipFee.user).where(
            (MembershipFee.group == group_id) & (MembershipFee.year == this_year())
        )
        where &= Membership.user.not_in(paid) & (
            Membership.shared_with.is_null() | Membership.shared_with.not_in(paid)
        )
    return where


def _group_distributions(group_id: int, since: datetime):
    from domain.tables import Distribution

    return Distribution.select(Distribution.id).where(
        (Distribution.group == group_id) & (Distribution.starts_at >= since)
    )


async def member_list(group_id: int, *, search: str = "", kind: str = "", page: int = 1) -> dict:
    """One page of the MEMBRES list: two queries whatever the number of members."""
    kind = kind if kind in FILTERS else ""
    where = _member_filter(group_id, search.strip()[:100], kind)
    total = await Membership.count().where(where)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    rows = (
        await Membership.select(
            Membership.is_admin,
            Membership.can_messages,
            Membership.can_members,
            Membership.user.id.as_alias("id"),
            Membership.user.email.as_alias("email"),
            Membership.user.first_name.as_alias("first_name"),
            Membership.user.last_name.as_alias("last_name"),
            Membership.user.phone.as_alias("phone"),
            Membership.user.password_hash.as_alias("password_hash"),
        )
        .where(where)
        .order_by(Membership.user.last_name)
        .order_by(Membership.user.first_name)
        .order_by(Membership.user.email)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    )
    for row in rows:
        row["pending"] = row.pop("password_hash") is None
        row["name"] = f"{row['last_name']} {row['first_name']}".strip() or row["email"]
    return {"members": rows, "total": total, "page": page, "pages": pages, "kind": kind}


# ---- a member's page --------------------------------------------------------------------


BOUNCE_KINDS = {
    "welcome": "Bienvenue",
    "invitation": "Invitation",
    "finish_signup": "Invitation",
    "order_recap": "Récapitulatif de commande",
    "join_accepted": "Demande acceptée",
    "join_refused": "Demande refusée",
    "join_request": "Demande d'inscription",
    "password_reset": "Mot de passe oublié",
    "email_change": "Changement d'e-mail",
}


async def member(group_id: int, user_id: int) -> dict | None:
    """Everything the member's page shows: seven queries whatever the history."""
    row = (
        await Membership.select(
            Membership.id.as_alias("membership_id"),
            Membership.is_admin,
            Membership.can_messages,
            Membership.can_members,
            Membership.created_at,
            Membership.shared_with,
            Membership.shared_with.email.as_alias("shared_email"),
            Membership.shared_with.first_name.as_alias("shared_first_name"),
            Membership.shared_with.last_name.as_alias("shared_last_name"),
            Membership.user.id.as_alias("id"),
            Membership.user.email.as_alias("email"),
            Membership.user.first_name.as_alias("first_name"),
            Membership.user.last_name.as_alias("last_name"),
            Membership.user.phone.as_alias("phone"),
            Membership.user.address.as_alias("address"),
            Membership.user.postal_code.as_alias("postal_code"),
            Membership.user.city.as_alias("city"),
            Membership.user.password_hash.as_alias("password_hash"),
        )
        .where((Membership.group == group_id) & (Membership.user == user_id))
        .first()
    )
    if row is None:
        return None
    row["pending"] = row.pop("password_hash") is None
    row["name"] = display_name(row)
    row["joined"] = label(row["created_at"])
    if row["shared_with"]:
        row["shared_name"] = display_name(
            {
                "first_name": row["shared_first_name"],
                "last_name": row["shared_last_name"],
                "email": row["shared_email"],
            }
        )
    row["catalogs"] = (
        await Catalog.select(
            Catalog.id,
            Catalog.name,
            Catalog.coordinator,
            Catalog.coordinator.first_name.as_alias("coordinator_first_name"),
            Catalog.coordinator.last_name.as_alias("coordinator_last_name"),
            Catalog.vendor.name.as_alias("vendor_name"),
        )
        .where(Catalog.group == group_id)
        .order_by(Catalog.name)
    )
    orders = (
        await Order.select(
            Order.id,
            Order.state,
            Order.total_cents,
            Order.distribution.id.as_alias("distribution_id"),
            Order.distribution.starts_at.as_alias("starts_at"),
            Order.distribution.cancelled_at.as_alias("cancelled_at"),
            Order.distribution.place.name.as_alias("place_name"),
        )
        .where(
            (Order.user == user_id)
            & (Order.distribution.group == group_id)
            & (Order.total_cents > 0)
        )
        .order_by(Order.distribution.starts_at, ascending=False)
        .limit(100)
    )
    for order in orders:
        order["label"] = label(order["starts_at"])
    row["orders"] = orders
    row["subscriptions"] = (
        await Subscription.select(
            Subscription.id,
            Subscription.starts_on,
            Subscription.ends_on,
            Subscription.ended_at,
            Subscription.catalog.name.as_alias("catalog_name"),
            Subscription.catalog.vendor.name.as_alias("vendor_name"),
        )
        .where((Subscription.user == user_id) & (Subscription.catalog.group == group_id))
        .order_by(Subscription.starts_on, ascending=False)
        .limit(100)
    )
    fees = (
        await MembershipFee.select(
            MembershipFee.year,
            MembershipFee.amount_cents,
            MembershipFee.paid_on,
            MembershipFee.means,
        )
        .where((MembershipFee.group == group_id) & (MembershipFee.user == user_id))
        .order_by(MembershipFee.year, ascending=False)
        .limit(100)
    )
    for fee in fees:
        fee["means_label"] = MEANS.get(fee["means"], fee["means"])
    row["fees"] = fees
    consents = await ConsentRecord.select(
        ConsentRecord.recorded_at,
        ConsentRecord.statement,
        ConsentRecord.recorded_by.email.as_alias("email"),
        ConsentRecord.recorded_by.first_name.as_alias("first_name"),
        ConsentRecord.recorded_by.last_name.as_alias("last_name"),
    ).where((ConsentRecord.user == user_id) & (ConsentRecord.group == group_id))
    for consent in consents:
        consent["by"] = display_name(consent)
        consent["label"] = label(consent["recorded_at"])
    row["consents"] = consents
    # Mails of any group to this person may have bounced: only the date, the kind and the
    # server's answer are shown, never a subject or body written for another group.
    bounces = (
        await OutboxMail.select(
            OutboxMail.created_at,
            OutboxMail.kind,
            OutboxMail.state,
            OutboxMail.to_addr,
            OutboxMail.last_error,
        )
        .where(
            ((OutboxMail.to_addr == row["email"]) | (OutboxMail.user == user_id))
            & OutboxMail.state.is_in(["bounced", "failed"])
        )
        .order_by(OutboxMail.created_at, ascending=False)
        .limit(20)
    )
    for bounce in bounces:
        bounce["label"] = label(bounce["created_at"])
        bounce["kind_label"] = BOUNCE_KINDS.get(bounce["kind"], "Message")
    row["bounces"] = bounces
    return row


async def may_order_for(group_id: int, user_id: int) -> bool:
    """An admin orders for a member whose account they created with consent (Mode création)."""
    return await is_member(group_id, user_id) and await ConsentRecord.exists().where(
        (ConsentRecord.user == user_id) & (ConsentRecord.group == group_id)
    )


# ---- rights, removing, leaving ----------------------------------------------------------


LAST_ADMIN = "C'est le dernier administrateur du groupe : nommez d'abord un autre administrateur."


async def _other_admins(group_id: int, user_id: int) -> int:
    return await Membership.count().where(
        (Membership.group == group_id)
        & (Membership.is_admin == True)  # noqa: E712
        & (Membership.user != user_id)
    )


async def set_rights(
    group_id: int,
    user_id: int,
    *,
    is_admin: bool,
    can_messages: bool,
    can_members: bool,
    catalog_ids: list[int],
) -> None:
    """Rights granted inline by an admin. A catalog has one coordinator: ticking it here
    makes this member its coordinator; unticking leaves it without one."""
    async with transaction():
        await _lock_group(group_id)
        current = (
            await Membership.select(Membership.is_admin)
            .where((Membership.group == group_id) & (Membership.user == user_id))
            .first()
        )
        if current is None:
            raise NotAMember()
        if current["is_admin"] and not is_admin and not await _other_admins(group_id, user_id):
            raise FieldErrors({"is_admin": LAST_ADMIN})
        await Membership.update(
            {
                Membership.is_admin: is_admin,
                Membership.can_messages: can_messages,
                Membership.can_members: can_members,
            }
        ).where((Membership.group == group_id) & (Membership.user == user_id))
        group_catalogs = Catalog.group == group_id
        wanted = [i for i in catalog_ids if 0 < i <= 2**31 - 1]
        if wanted:
            await Catalog.update({Catalog.coordinator: user_id}).where(
                group_catalogs & Catalog.id.is_in(wanted)
            )
            await Catalog.update({Catalog.coordinator: None}).where(
                group_catalogs & (Catalog.coordinator == user_id) & Catalog.id.not_in(wanted)
            )
        else:
            await Catalog.update({Catalog.coordinator: None}).where(
                group_catalogs & (Catalog.coordinator == user_id)
            )


async def _drop_membership(group_id: int, user_id: int, *, admin_may_go: bool) -> None:
    await _lock_group(group_id)
    current = (
        await Membership.select(Membership.is_admin)
        .where((Membership.group == group_id) & (Membership.user == user_id))
        .first()
    )
    if current is None:
        raise NotAMember()
    if current["is_admin"]:
        if not admin_may_go:
            raise PermissionError("Seul un administrateur peut retirer un administrateur.")
        if not await _other_admins(group_id, user_id):
            raise FieldErrors({"member": LAST_ADMIN})
    await Membership.delete().where((Membership.group == group_id) & (Membership.user == user_id))
    await Membership.update({Membership.shared_with: None}).where(
        (Membership.group == group_id) & (Membership.shared_with == user_id)
    )
    await Catalog.update({Catalog.coordinator: None}).where(
        (Catalog.group == group_id) & (Catalog.coordinator == user_id)
    )


async def remove_member(group_id: int, user_id: int, *, by_admin: bool) -> None:
    """The person stops being a member (their past orders stay, for the group's records)."""
    async with transaction():
        await _drop_membership(group_id, user_id, admin_may_go=by_admin)


async def leave_group(user_id: int, group_id: int) -> None:
    """ "Quitter ce marché": no more group messages or notifications. Orders reference the
    person and the distribution, not the membership: the admins still see past orders."""
    async with transaction():
        await _drop_membership(group_id, user_id, admin_may_go=True)


async def followed_groups(user_id: int, instance: str) -> list[dict]:
    """Mes marchés suivis."""
    rows = (
        await Membership.select(
            Membership.is_admin,
            Membership.created_at,
            Membership.group.id.as_alias("id"),
            Membership.group.name.as_alias("name"),
            Membership.group.slug.as_alias("slug"),
            Membership.group.kind.as_alias("kind"),
        )
        .where((Membership.user == user_id) & (Membership.group.instance == instance))
        .order_by(Membership.group.name)
    )
    for row in rows:
        row["since"] = label(row["created_at"])
    return rows


async def followed_group(user_id: int, group_id: int, instance: str) -> dict | None:
    rows = [g for g in await followed_groups(user_id, instance) if g["id"] == group_id]
    return rows[0] if rows else None
