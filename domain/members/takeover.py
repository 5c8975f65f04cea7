"""Taking over an account an admin made in Mode création.

Until the person takes it over, the account receives no mail of any kind (the outbox drops
them, domain/outbox/kinds.py). The admin hands it over in one of two ways:

- a takeover sheet to print (`prepare_sheet`): a link and a short code, for a person who
  will type the code at /reprise on any device (or open the link);
- the link sent to an address the person gave (`send_link`, typed by the admin): the one
  mail such an account may receive; opening it proves the address, which becomes the
  account's login.

Either way the person chooses a password (`finish`) and the account is a normal one from
then on. Links and codes are valid 30 days and work once; a new sheet or link replaces the
ones given before. Only digests are stored: the link's SHA-256 like every link token
(domain/kernel/tokens.py), the code's HMAC with the secret key (a short code's plain hash
would be found by trying them all); the mail's body is removed once sent
(outbox.LINK_KINDS), so no working link stays in the database. Typing codes is throttled
per address (`check_code`), like the login.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain import accounts, outbox, throttle
from domain.accounts import TooManyAttempts, check_email, normalize_email
from domain.database import transaction
from domain.kernel import tokens
from domain.kernel.clock import now
from domain.kernel.errors import FieldErrors, InvalidLink
from domain.members import NotAMember, group_row
from domain.outbox import MailContext
from domain.tables import AccountToken, ConsentRecord, Membership, User

TAKEOVER_TTL = timedelta(days=30)
# 31 signs nobody confuses when reading a printed sheet aloud: no 0/O, 1/I/L.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8  # 31**8 ≈ 8.5e11 codes
LINK, CODE = "takeover", "takeover_code"
# Typing a code: per address, 10 tries at once, then waits that double (30 s, 1 min…).
CODE_TRIES = 10
CODE_WINDOW = 3600
TICKET_PURPOSE = "takeover-ticket"
TICKET_AGE = 3600  # a code accepted: its password form stays valid an hour
BAD_CODE = (
    "Ce code ne correspond à aucun compte à reprendre : vérifiez-le sur votre fiche "
    "(il a peut-être expiré, déjà servi, ou une fiche plus récente a été imprimée)."
)


@dataclass
class Sheet:
    """What the printed sheet says: who, where, the link, the code, until when."""

    first_name: str
    last_name: str
    email: str
    group_name: str
    url: str
    code_url: str
    code: str
    expires_at: datetime


@dataclass
class Finished:
    user_id: int
    email: str  # the login from now on
    mail_ids: list[int] = field(default_factory=list)
    confirm_to: str = ""  # a new address waiting for its confirmation link
    address_taken: str = ""  # the address the link came to, another account's login


def format_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def normalize_code(typed: str) -> str:
    """What the person typed, as the sheet prints it: case, spaces and dashes aside."""
    return re.sub(r"[\s\-.]", "", typed or "").upper()[:40]


def _code_digest(secret: str, code: str) -> str:
    return tokens.short_mac(secret, f"{CODE}:{code}", 64)


async def _held_member(group_id: int, user_id: int) -> dict:
    """The account, if the group made it in Mode création (its consent record is the
    group's) and nobody took it over yet; NotAMember if it is not this group's member."""
    row = (
        await Membership.select(
            Membership.user.id.as_alias("id"),
            Membership.user.email.as_alias("email"),
            Membership.user.first_name.as_alias("first_name"),
            Membership.user.last_name.as_alias("last_name"),
            Membership.user.takeover_pending.as_alias("held"),
        )
        .where((Membership.group == group_id) & (Membership.user == user_id))
        .first()
    )
    if row is None:
        raise NotAMember()
    made_here = await ConsentRecord.exists().where(
        (ConsentRecord.group == group_id) & (ConsentRecord.user == user_id)
    )
    if not made_here or not row["held"]:
        raise FieldErrors(
            {"takeover": "Ce compte n'est pas à reprendre : la personne l'utilise déjà."}
        )
    return row


async def _forget_earlier(user_id: int, moment: datetime) -> None:
    """The links and codes given before stop working."""
    await AccountToken.update({AccountToken.used_at: moment}).where(
        (AccountToken.user == user_id)
        & AccountToken.purpose.is_in([LINK, CODE])
        & AccountToken.used_at.is_null()
    )


async def prepare_sheet(
    group_id: int, user_id: int, *, secret: str, base_url: str, moment: datetime | None = None
) -> Sheet:
    """A new link and code for the sheet the admin prints (shown once: only digests are
    kept); the ones given before stop working."""
    moment = moment or now()
    group = await group_row(group_id)
    async with transaction():
        person = await _held_member(group_id, user_id)
        await _forget_earlier(user_id, moment)
        raw, digest = tokens.new_token()
        expires = moment + TAKEOVER_TTL
        await AccountToken.insert(
            AccountToken(user=user_id, purpose=LINK, token_hash=digest, expires_at=expires)
        )
        while True:  # a code another live sheet has (one chance in billions): another one
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            inserted = (
                await AccountToken.insert(
                    AccountToken(
                        user=user_id,
                        purpose=CODE,
                        token_hash=_code_digest(secret, code),
                        expires_at=expires,
                    )
                )
                .on_conflict(target=AccountToken.token_hash, action="DO NOTHING")
                .returning(AccountToken.id)
            )
            if inserted:
                break
    return Sheet(
        first_name=person["first_name"],
        last_name=person["last_name"],
        email=person["email"],
        group_name=group["name"],
        url=f"{base_url}/reprise/{raw}",
        code_url=f"{base_url}/reprise",
        code=format_code(code),
        expires_at=expires,
    )


async def send_link(
    group_id: int,
    user_id: int,
    address: str,
    *,
    by_user_id: int,
    ctx: MailContext,
    moment: datetime | None = None,
) -> list[int]:
    """The link, mailed to the address the person gave (typed by the admin): the one mail
    an account not taken over may receive. The links and codes given before stop working.
    At most a few an hour to one address (accounts.limit_requests)."""
    moment = moment or now()
    address = normalize_email(address)
    errors = check_email(address, "address")
    if errors:
        raise FieldErrors(errors)
    group = await group_row(group_id)
    await _held_member(group_id, user_id)  # refused before anything is counted
    await accounts.limit_requests("takeover", f"admin:{by_user_id}", address)
    by = await User.select(User.first_name, User.last_name, User.email).where(User.id == by_user_id)
    async with transaction():
        person = await _held_member(group_id, user_id)
        await _forget_earlier(user_id, moment)
        raw, digest = tokens.new_token()
        await AccountToken.insert(
            AccountToken(
                user=user_id,
                purpose=LINK,
                token_hash=digest,
                new_email=address,
                expires_at=moment + TAKEOVER_TTL,
            )
        )
        mail_id = await outbox.queue(
            key=f"takeover:{digest}",
            kind="takeover",
            to=address,
            user=user_id,
            template="takeover",
            ctx=ctx,
            context={
                "first_name": person["first_name"],
                "by": accounts.display_name(by[0]) if by else group["name"],
                "group_name": group["name"],
                "url": f"{ctx.base_url}/reprise/{raw}",
                "days": TAKEOVER_TTL.days,
                "email": address,
            },
        )
    return [mail_id] if mail_id else []


# ---- the person's side ------------------------------------------------------------------


async def _valid(where, moment: datetime) -> dict | None:
    row = (
        await AccountToken.select(
            AccountToken.id,
            AccountToken.user,
            AccountToken.purpose,
            AccountToken.new_email,
            AccountToken.used_at,
            AccountToken.expires_at,
            AccountToken.user.email.as_alias("email"),
            AccountToken.user.first_name.as_alias("first_name"),
            AccountToken.user.last_name.as_alias("last_name"),
            AccountToken.user.takeover_pending.as_alias("held"),
        )
        .where(where)
        .first()
    )
    if not row or row["used_at"] is not None or row["expires_at"] <= moment or not row["held"]:
        return None
    return row


async def of_link(raw: str, moment: datetime | None = None) -> dict | None:
    """The account a takeover link is for, if the link still works."""
    return await _valid(
        (AccountToken.token_hash == tokens.digest(raw)) & (AccountToken.purpose == LINK),
        moment or now(),
    )


async def check_code(
    typed: str, *, secret: str, address: str, moment: datetime | None = None
) -> tuple[str, dict]:
    """A code typed at /reprise: (a ticket, signed for an hour, for the password form; the
    account). Every try counts against the address (TooManyAttempts), a wrong code is a
    FieldErrors."""
    moment = moment or now()
    code = normalize_code(typed)
    if not code:
        raise FieldErrors({"code": "Indiquez le code de votre fiche de reprise."})
    now_s = int(moment.timestamp())
    key = f"takeover-code:{address}"[:300]
    if await throttle.reserve(key, now_s, CODE_TRIES, CODE_WINDOW) is None:
        raise TooManyAttempts(await throttle.wait_of(key, now_s))
    found = None
    if len(code) == CODE_LENGTH and set(code) <= set(CODE_ALPHABET):
        found = await _valid(
            (AccountToken.token_hash == _code_digest(secret, code))
            & (AccountToken.purpose == CODE),
            moment,
        )
    if found is None:
        raise FieldErrors({"code": BAD_CODE})
    return tokens.sign({"t": found["id"]}, secret, TICKET_PURPOSE), found


async def of_ticket(ticket: str, secret: str, moment: datetime | None = None) -> dict | None:
    """The account a ticket of an accepted code is for, if the code still works."""
    try:
        body = tokens.unsign(ticket or "", secret, TICKET_PURPOSE, TICKET_AGE)
    except tokens.Expired:
        return None
    if not isinstance(body, dict) or not isinstance(body.get("t"), int):
        return None
    return await _valid(
        (AccountToken.id == body["t"]) & (AccountToken.purpose == CODE), moment or now()
    )


async def finish_by_link(raw: str, *, password: str, email: str, ctx: MailContext) -> Finished:
    return await finish(await of_link(raw), password=password, email=email, ctx=ctx)


async def finish_by_ticket(
    ticket: str, *, secret: str, password: str, email: str, ctx: MailContext
) -> Finished:
    found = await of_ticket(ticket, secret)
    return await finish(found, password=password, email=email, ctx=ctx)


async def finish(
    found: dict | None,
    *,
    password: str,
    email: str,
    ctx: MailContext,
    moment: datetime | None = None,
) -> Finished:
    """The person chooses their password: the account is theirs and gets mails from now
    on. `found`: what `of_link` or `of_ticket` gave. `email`: the address they want to
    log in with; the one a link was mailed to is proven and becomes the login at once,
    another one gets the usual confirmation link (accounts.queue_email_change)."""
    moment = moment or now()
    if found is None:
        raise InvalidLink()
    email = normalize_email(email) or found["new_email"] or found["email"]
    errors = accounts.check_password(password) | check_email(email)
    if errors:
        raise FieldErrors(errors)
    new_hash = await accounts.password_hash(password)
    async with transaction():
        # Once: the first of two submissions claims the token, the second finds it used.
        claimed = (
            await AccountToken.update({AccountToken.used_at: moment})
            .where(
                (AccountToken.id == found["id"])
                & AccountToken.used_at.is_null()
                & (AccountToken.expires_at > moment)
            )
            .returning(AccountToken.id)
        )
        taken = (
            await User.update({User.password_hash: new_hash, User.takeover_pending: False})
            .where(
                (User.id == found["user"])
                & (User.takeover_pending == True)  # noqa: E712 - SQL
                & User.password_hash.is_null()
            )
            .returning(User.id, User.email, User.first_name)
        )
        if not claimed or not taken:
            raise InvalidLink()
        await _forget_earlier(found["user"], moment)
        user = taken[0]
        done = Finished(user_id=user["id"], email=user["email"])
        if email != user["email"]:
            elsewhere = await User.exists().where((User.email == email) & (User.id != user["id"]))
            if email == found["new_email"] and not elsewhere:
                await User.update({User.email: email}).where(User.id == user["id"])
                done.email = email
            elif email == found["new_email"]:
                done.address_taken = email
            elif elsewhere:
                raise FieldErrors({"email": "Cette adresse est déjà utilisée par un autre compte."})
            else:
                done.mail_ids = await accounts.queue_email_change(
                    user["id"], user["first_name"], email, ctx
                )
                done.confirm_to = email
    return done
