"""Accounts: sign-up, login with throttling, password reset and change of e-mail."""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from domain import outbox, sessions, throttle
from domain.database import transaction
from domain.kernel import cpu, tokens
from domain.kernel.clock import now
from domain.kernel.errors import FieldErrors, InvalidLink
from domain.outbox import MailContext
from domain.tables import AccountToken, User

# ARGON2_FAST=1 (tests only) keeps argon2 but with low cost, so suites that create
# hundreds of accounts stay quick; production uses the library's recommended cost.
_hasher = (
    PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    if os.environ.get("ARGON2_FAST") == "1"
    else PasswordHasher()
)
# Verifying against this keeps the time of a login with an unknown e-mail the same.
_DUMMY_HASH = _hasher.hash("pas-un-vrai-mot-de-passe")

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 10
RESET_TTL = timedelta(hours=2)
EMAIL_CHANGE_TTL = timedelta(hours=24)


class TooManyAttempts(Exception):
    """Wait `seconds` before the next attempt."""

    def __init__(self, seconds: int):
        super().__init__(seconds)
        self.seconds = seconds


def normalize_email(email: str) -> str:
    return email.strip().lower()


def check_email(email: str, field: str = "email") -> dict[str, str]:
    if not email:
        return {field: "Indiquez une adresse e-mail."}
    if len(email) > 254 or not EMAIL_RE.match(email):
        return {field: "Cette adresse e-mail n'est pas valide."}
    return {}


def check_password(password: str, field: str = "password") -> dict[str, str]:
    if len(password) < MIN_PASSWORD:
        return {field: f"Le mot de passe doit contenir au moins {MIN_PASSWORD} caractères."}
    if len(password) > 1000:
        return {field: "Le mot de passe est trop long."}
    return {}


def hash_password(password: str) -> str:
    """The argon2 hash itself (~0.1 s of CPU, 64 MiB): from async code, `password_hash`."""
    return _hasher.hash(password)


# Mails sent on someone's request (a reset link, a sign-up): at most this many per address
# and per target e-mail in an hour, so that the forms cannot be used to flood a mailbox.
MAILS_PER_ADDRESS = 20
MAILS_PER_TARGET = 5
MAIL_WINDOW = 3600


async def limit_requests(kind: str, address: str, target: str) -> None:
    """Raises TooManyAttempts when this address or this target asked too often. Without an
    address the call is the platform's own (an import, the demo), not a visitor's."""
    if not address:
        return
    now_s = int(now().timestamp())
    for key, limit in (
        (f"{kind}:addr:{address}", MAILS_PER_ADDRESS),
        (f"{kind}:to:{target}", MAILS_PER_TARGET),
    ):
        if await throttle.reserve(key[:300], now_s, limit, MAIL_WINDOW) is None:
            raise TooManyAttempts(await throttle.wait_of(key[:300], now_s))


def _matches(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


async def password_hash(password: str) -> str:
    """`hash_password` in the bounded CPU pool, so that sign-ups never stall the loop."""
    return await cpu.run(hash_password, password)


async def password_matches(stored: str | None, password: str) -> bool:
    """Checked against a dummy hash when there is none, in the same time, off the loop."""
    return await cpu.run(_matches, stored or _DUMMY_HASH, password) and bool(stored)


def display_name(user: dict) -> str:
    name = f"{user.get('first_name', '')} {user.get('last_name', '')}".strip()
    return name or user["email"]


# ---- names: required before the first order ---------------------------------------------

_NAME_FIELDS = {"first_name": ("prénom", "Le prénom"), "last_name": ("nom", "Le nom")}


def check_names(first_name: str, last_name: str) -> dict[str, str]:
    """The errors of a person's names, already stripped: both given, 100 characters at most."""
    errors = {}
    for field, value in (("first_name", first_name), ("last_name", last_name)):
        word, the = _NAME_FIELDS[field]
        if not value:
            errors[field] = f"Indiquez votre {word}."
        elif len(value) > 100:
            errors[field] = f"{the} ne doit pas dépasser 100 caractères."
        elif any(ord(c) < 32 or ord(c) == 127 for c in value):
            errors[field] = f"{the} contient un caractère invalide."
    return errors


def lacks_names(user: dict) -> bool:
    """A client finishes their registration with their first and last names before their
    first order: an address an admin added (« Nouveau client », an import) has none yet."""
    return not (user.get("first_name") or "").strip() or not (user.get("last_name") or "").strip()


async def names_missing(user_id: int) -> bool:
    row = await User.select(User.first_name, User.last_name).where(User.id == user_id).first()
    return row is None or lacks_names(row)


async def set_names(user_id: int, first_name: str, last_name: str) -> None:
    """The person gives (or corrects) their names; FieldErrors at the fields."""
    first_name, last_name = first_name.strip(), last_name.strip()
    errors = check_names(first_name, last_name)
    if errors:
        raise FieldErrors(errors)
    async with transaction():
        await User.update({User.first_name: first_name, User.last_name: last_name}).where(
            User.id == user_id
        )


async def sign_up(
    *,
    email: str,
    password: str,
    first_name: str,
    last_name: str,
    ctx: MailContext,
    address: str = "",
) -> tuple[int, list[int]]:
    """Create an account and queue the welcome mail; returns (user id, outbox ids)."""
    email = normalize_email(email)
    first_name, last_name = first_name.strip(), last_name.strip()
    errors = check_email(email) | check_password(password) | check_names(first_name, last_name)
    if errors:
        raise FieldErrors(errors)
    await limit_requests("signup", address, email)
    new_hash = await password_hash(password)
    async with transaction():
        existing = await User.select(User.id, User.password_hash).where(User.email == email).first()
        if existing and existing["password_hash"]:
            raise FieldErrors(
                {"email": "Un compte existe déjà avec cette adresse. Connectez-vous."}
            )
        if existing:
            # A pending account (prepared by an admin) is finished only through the link
            # mailed to its address: typing the address is no proof of owning it.
            raise FieldErrors(
                {
                    "email": "Un compte vous attend à cette adresse : suivez le lien reçu par "
                    "e-mail pour finir votre inscription."
                }
            )
        rows = await User.insert(
            User(
                email=email,
                password_hash=new_hash,
                first_name=first_name,
                last_name=last_name,
            )
        ).returning(User.id)
        user_id = rows[0]["id"]
        mail_id = await outbox.queue(
            key=f"welcome:{user_id}",
            kind="welcome",
            to=email,
            template="welcome",
            ctx=ctx,
            context={"first_name": first_name, "url": ctx.base_url},
        )
    return user_id, [mail_id] if mail_id else []


# ---- login, throttled --------------------------------------------------------------------


async def authenticate(
    *,
    email: str,
    password: str,
    address: str,
    max_per_pair: int,
    max_per_account: int,
    window_seconds: int,
) -> int:
    """Return the user id, or raise FieldErrors / TooManyAttempts.

    Attempts are reserved in the database before the password is checked, per (account,
    address) pair: after `max_per_pair` in a window each next one waits longer (30 s,
    1 min, 2 min…), so a guesser is slowed down without locking the owner out elsewhere.
    Per account, a ceiling (`max_per_account` in a window, all addresses together) stops a
    guesser using many addresses; it still lets in an address that has not failed (the
    owner's first attempt from home), one try at a time."""
    email = normalize_email(email)
    now_s = int(now().timestamp())
    pair_key, account_key = f"pair:{email}|{address}"[:300], f"account:{email}"[:300]
    pair = await throttle.reserve(pair_key, now_s, max_per_pair, window_seconds)
    if pair is None:
        raise TooManyAttempts(await throttle.wait_of(pair_key, now_s))
    account = await throttle.reserve(account_key, now_s, max_per_account, window_seconds)
    if account is None and pair > 1:
        raise TooManyAttempts(await throttle.wait_of(account_key, now_s))
    user = await User.select(User.id, User.password_hash).where(User.email == email).first()
    stored = (user or {}).get("password_hash")
    if not await password_matches(stored, password):
        raise FieldErrors({"password": "E-mail ou mot de passe incorrect."})
    # The owner is in: this address starts afresh (the account's ceiling stays).
    await throttle.forget(pair_key)
    if _hasher.check_needs_rehash(stored):
        await User.update({User.password_hash: await password_hash(password)}).where(
            User.id == user["id"]
        )
    return user["id"]


async def prune(moment: datetime) -> int:
    """Links that can no longer be used (expired, or used over a day ago) and failed logins
    older than a day: nothing reads them any more."""
    day_ago = moment - timedelta(days=1)
    tokens = (
        await AccountToken.delete()
        .where((AccountToken.expires_at < moment) | (AccountToken.used_at < day_ago))
        .returning(AccountToken.id)
    )
    return len(tokens) + await throttle.prune(int(day_ago.timestamp()))


async def get_user(user_id: int) -> dict | None:
    return (
        await User.select(
            User.id, User.email, User.first_name, User.last_name, User.phone, User.password_hash
        )
        .where(User.id == user_id)
        .first()
    )


async def request_password_reset(email: str, ctx: MailContext, address: str = "") -> list[int]:
    """Queue a reset link; the links sent before stop working. Says nothing about whether
    the account exists (the rate limit applies to every address typed)."""
    email = normalize_email(email)
    await limit_requests("reset", address, email)
    user = await User.select(User.id, User.first_name).where(User.email == email).first()
    if not user:
        return []
    raw, digest = tokens.new_token()
    async with transaction():
        await AccountToken.update({AccountToken.used_at: now()}).where(
            (AccountToken.user == user["id"])
            & (AccountToken.purpose == "reset")
            & AccountToken.used_at.is_null()
        )
        await AccountToken.insert(
            AccountToken(
                user=user["id"], purpose="reset", token_hash=digest, expires_at=now() + RESET_TTL
            )
        )
        mail_id = await outbox.queue(
            key=f"reset:{digest}",
            kind="password_reset",
            to=email,
            template="password_reset",
            ctx=ctx,
            context={
                "first_name": user["first_name"],
                "url": f"{ctx.base_url}/compte/mot-de-passe/{raw}",
                "hours": int(RESET_TTL.total_seconds() // 3600),
            },
        )
    return [mail_id] if mail_id else []


async def _token_row(raw: str, purpose: str) -> dict | None:
    digest = tokens.digest(raw)
    row = (
        await AccountToken.select()
        .where((AccountToken.token_hash == digest) & (AccountToken.purpose == purpose))
        .first()
    )
    if not row or row["used_at"] is not None or row["expires_at"] <= now():
        return None
    return row


async def reset_token_valid(raw: str) -> bool:
    return await _token_row(raw, "reset") is not None


async def _claim_token(row: dict) -> bool:
    """Mark the token used; only one caller can win, so a link works once."""
    claimed = (
        await AccountToken.update({AccountToken.used_at: now()})
        .where((AccountToken.id == row["id"]) & AccountToken.used_at.is_null())
        .returning(AccountToken.id)
    )
    return bool(claimed)


async def reset_password(raw: str, password: str) -> int:
    """The new password, and every session of the account ends, in one transaction (the
    caller logs this browser in afresh)."""
    errors = check_password(password)
    if errors:
        raise FieldErrors(errors)
    new_hash = await password_hash(password)
    async with transaction():
        row = await _token_row(raw, "reset")
        if not row or not await _claim_token(row):
            raise InvalidLink()
        await User.update({User.password_hash: new_hash}).where(User.id == row["user"])
        await sessions.end_all(row["user"])
    return row["user"]


async def request_email_change(
    user_id: int, new_email: str, password: str, ctx: MailContext
) -> list[int]:
    """Send a confirmation link to the new address; the login changes only once it is used."""
    new_email = normalize_email(new_email)
    errors = check_email(new_email, "new_email")
    user = await get_user(user_id)
    assert user is not None
    if not await password_matches(user["password_hash"], password):
        errors["password"] = "Mot de passe incorrect."
    if not errors and new_email == user["email"]:
        errors["new_email"] = "C'est déjà l'adresse de votre compte."
    if not errors and await User.exists().where(User.email == new_email):
        errors["new_email"] = "Cette adresse est déjà utilisée par un autre compte."
    if errors:
        raise FieldErrors(errors)
    async with transaction():
        return await queue_email_change(user_id, user["first_name"], new_email, ctx)


async def queue_email_change(
    user_id: int, first_name: str, new_email: str, ctx: MailContext
) -> list[int]:
    """The confirmation link to `new_email` (checked by the caller), inside the caller's
    transaction: the login changes only once the link is opened."""
    raw, digest = tokens.new_token()
    await AccountToken.insert(
        AccountToken(
            user=user_id,
            purpose="email_change",
            token_hash=digest,
            new_email=new_email,
            expires_at=now() + EMAIL_CHANGE_TTL,
        )
    )
    mail_id = await outbox.queue(
        key=f"email_change:{digest}",
        kind="email_change",
        to=new_email,
        template="email_change",
        ctx=ctx,
        user=user_id,
        context={
            "first_name": first_name,
            "url": f"{ctx.base_url}/compte/email/{raw}",
            "new_email": new_email,
        },
    )
    return [mail_id] if mail_id else []


async def confirm_email_change(raw: str, ctx: MailContext, support: str = "") -> tuple[str, list]:
    """The new address becomes the login; the old one is told (someone who took over the
    account would otherwise change it silently). Returns (new address, mail ids)."""
    async with transaction():
        row = await _token_row(raw, "email_change")
        if not row:
            raise InvalidLink()
        if await User.exists().where(User.email == row["new_email"]):
            raise FieldErrors({"new_email": "Cette adresse est déjà utilisée par un autre compte."})
        if not await _claim_token(row):
            raise InvalidLink()
        user = await User.select(User.email, User.first_name).where(User.id == row["user"]).first()
        await User.update({User.email: row["new_email"]}).where(User.id == row["user"])
        mail_id = await outbox.queue(
            key=f"email_changed:{row['id']}",
            kind="email_changed",
            to=user["email"],
            user=row["user"],
            template="email_changed",
            ctx=ctx,
            context={
                "first_name": user["first_name"],
                "old_email": user["email"],
                "new_email": row["new_email"],
                "support": support,
            },
        )
    return row["new_email"], [mail_id] if mail_id else []


async def change_password(user_id: int, current: str, new: str) -> None:
    """With the current password; every session of the account ends in the same
    transaction (the caller logs this browser in afresh)."""
    user = await get_user(user_id)
    errors = check_password(new, "new_password")
    if not user or not await password_matches(user["password_hash"], current):
        errors["current_password"] = "Mot de passe actuel incorrect."
    if errors:
        raise FieldErrors(errors)
    new_hash = await password_hash(new)
    async with transaction():
        await User.update({User.password_hash: new_hash}).where(User.id == user_id)
        await sessions.end_all(user_id)
