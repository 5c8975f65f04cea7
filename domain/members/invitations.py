"""« Nouveau client »: an admin adds a person by e-mail (an existing account becomes a member;
otherwise a pending account is invited), or creates the account with the person's consent
(Mode création); and the invitation links that finish a pending account."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from domain import outbox
from domain.accounts import (
    check_email,
    check_names,
    check_password,
    normalize_email,
    password_hash,
)
from domain.database import transaction
from domain.kernel import tokens
from domain.kernel.clock import now
from domain.kernel.errors import FieldErrors, InvalidLink
from domain.members import (
    ESCARCELLE_ONLY,
    INVITE_RESEND_PAUSE,
    INVITE_TTL,
    PHONE_RE,
    NotAMember,
    claim_key,
    escarcelle_only,
    group_row,
    invitation_mail,
    is_member,
    welcome_mail,
)
from domain.members.consent import accept_finished_invitation, answer_links
from domain.members.fees import Fee, insert_fee
from domain.outbox import MailContext
from domain.tables import (
    AccountToken,
    ConsentRecord,
    Membership,
    OutboxMail,
    User,
)

HELD_INVITE = (
    "Ce compte a été créé en Mode création : aucun e-mail ne lui est envoyé. Remettez à la "
    "personne une fiche de reprise, ou envoyez le lien de reprise à l'adresse qu'elle vous "
    "donne."
)


def consent_statement(site_name: str, group_name: str) -> str:
    """The exact sentence the admin ticks in Mode création; recorded as it reads."""
    return (
        "J'ai obtenu le consentement de cette personne pour lui créer un compte sur "
        f"{site_name} et l'inscrire à {group_name}."
    )


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


async def queue_invitation(
    user: dict,
    group: dict | None,
    ctx: MailContext,
    next_path: str = "",
    kind: str = "invitation",
    note: str = "",
    answer: dict | None = None,
) -> int | None:
    """A new single-use link to finish registering; the mail welcomes to the group (with
    `answer`: its links to accept or decline it)."""
    raw, digest = tokens.new_token()
    await AccountToken.insert(
        AccountToken(
            user=user["id"], purpose="invite", token_hash=digest, expires_at=now() + INVITE_TTL
        )
    )
    mail = invitation_mail(
        user, group, raw, ctx, next_path=next_path, kind=kind, note=note, answer=answer
    )
    ids = await outbox.queue_many([mail])
    return ids[0] if ids else None


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
    secret: str | None = None,
) -> Added:
    """ "Nouveau client": an existing account becomes a member (welcome mail); otherwise a
    pending account is made and invited (welcome mail with the link to finish). Either
    way the mail can decline the group, and the membership waits for the person's yes:
    until then the admins see what they typed, never an existing account's own data
    (consent.py). `secret`: the key that signs the mail's links.

    Mode création (someone without computer or phone): names are required, the admin
    states that the person consented; the statement is recorded (it is their yes). The
    account is held (`takeover_pending`): no mail of any kind reaches it, whatever queues
    one (the outbox drops them), until the person takes it over (takeover.py).
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
    if not errors and await escarcelle_only(group_id):
        errors["email"] = ESCARCELLE_ONLY
    if errors:
        raise FieldErrors(errors)
    group = await group_row(group_id)
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
                User(
                    email=email,
                    first_name=first_name,
                    last_name=last_name,
                    phone=phone,
                    takeover_pending=creation,  # no mail until the person takes it over
                )
            ).returning(User.id)
            user = {"id": rows[0]["id"], "email": email, "first_name": first_name}
            user["password_hash"] = None
        elif user["password_hash"] is None and not user["first_name"]:
            # A pending account without names yet: the admin knows them.
            await User.update({User.first_name: first_name, User.last_name: last_name}).where(
                User.id == user["id"]
            )
            user["first_name"] = first_name
        membership = await Membership.insert(
            Membership(
                user=user["id"],
                group=group_id,
                accepted_at=now() if creation else None,
                existing_account=not created,
                invited_first_name=first_name,
                invited_last_name=last_name,
                invited_phone=phone,
            )
        ).returning(Membership.id)
        membership_id = membership[0]["id"]
        links = (
            answer_links(membership_id, user["id"], group_id, secret, ctx.base_url)
            if secret
            else {}
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
            # Finishing a new account is its yes; one another group made needs its own.
            answer = links if not created else {"decline_url": links.get("decline_url", "")}
            mail_ids.append(await queue_invitation(user, group, ctx, answer=answer))
        else:
            mail = welcome_mail(user, group, membership_id, ctx, links)
            mail_ids += await outbox.queue_many([mail])
        if fee is not None:
            await insert_fee(group_id, user["id"], fee, by_user_id)
    invited = not creation and user["password_hash"] is None
    return Added(user["id"], created, invited, [m for m in mail_ids if m])


async def resend_invitation(
    group_id: int, user_id: int, key: str | None, ctx: MailContext, secret: str | None = None
) -> list[int]:
    """A new link in one click; the links sent before stop working. An account of its own
    not accepted yet gets its welcome mail again (it looks the same to the admin)."""
    group = await group_row(group_id)
    async with transaction():
        user = (
            await User.select(
                User.id,
                User.email,
                User.first_name,
                User.password_hash,
                User.takeover_pending,
            )
            .where(User.id == user_id)
            .first()
        )
        membership = (
            await Membership.select(
                Membership.id, Membership.existing_account, Membership.accepted_at
            )
            .where((Membership.group == group_id) & (Membership.user == user_id))
            .first()
        )
        if user is None or membership is None:
            raise NotAMember()
        private = membership["existing_account"] and membership["accepted_at"] is None
        if user["takeover_pending"]:
            raise FieldErrors({"invite": HELD_INVITE})
        if user["password_hash"] is not None and not private:
            raise FieldErrors({"invite": "Cette personne a déjà fini son inscription."})
        if not await claim_key(key, None):
            return []
        links = (
            answer_links(membership["id"], user_id, group_id, secret, ctx.base_url)
            if secret
            else {}
        )
        if user["password_hash"] is not None:
            again = f"member_added:{membership['id']}:{secrets.token_hex(8)}"
            mail = welcome_mail(user, group, membership["id"], ctx, links, key=again)
            return await outbox.queue_many([mail])
        await AccountToken.update({AccountToken.used_at: now()}).where(
            (AccountToken.user == user_id)
            & (AccountToken.purpose == "invite")
            & AccountToken.used_at.is_null()
        )
        answer = links if private else {"decline_url": links.get("decline_url", "")}
        mail_id = await queue_invitation(user, group, ctx, answer=answer)
    return [mail_id] if mail_id else []


@dataclass
class PendingSignup:
    """A sign-up with the address of an account an admin prepared: the link sent to it
    (`mail_ids`), or, for an account made in Mode création (`held`), nothing: such an
    account gets no mail until the person takes it over with their takeover sheet."""

    mail_ids: list[int]
    held: bool = False


async def invite_pending_account(
    email: str, next_path: str, ctx: MailContext
) -> PendingSignup | None:
    """Sign-up (often at the end of a guest order) with the address of an account an admin
    prepared: the account is not taken over by whoever types the address; a link is sent to
    it instead (none to an account made in Mode création). None if the address is not a
    pending account."""
    email = normalize_email(email)
    user = (
        await User.select(
            User.id, User.email, User.first_name, User.password_hash, User.takeover_pending
        )
        .where(User.email == email)
        .first()
    )
    if user is None or user["password_hash"] is not None:
        return None
    if user["takeover_pending"]:
        return PendingSignup([], held=True)
    async with transaction():
        if await OutboxMail.exists().where(
            (OutboxMail.kind == "finish_signup")
            & (OutboxMail.to_addr == email)
            & (OutboxMail.created_at > now() - INVITE_RESEND_PAUSE)
        ):
            return PendingSignup([])  # one was just sent: no mail bombing through the form
        mail_id = await queue_invitation(user, None, ctx, next_path, kind="finish_signup")
    return PendingSignup([mail_id] if mail_id else [])


async def _invite_row(raw: str) -> dict | None:
    digest = tokens.digest(raw)
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
    errors = check_password(password) | check_names(first_name, last_name)
    if errors:
        raise FieldErrors(errors)
    new_hash = await password_hash(password)
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
                    User.password_hash: new_hash,
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
        await accept_finished_invitation(row["user"])
    return row["user"]
