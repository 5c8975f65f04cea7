"""Accounts: sign-up, login with throttling, password reset and change of e-mail."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from domain import outbox
from domain.database import transaction
from domain.tables import AccountToken, LoginFailure, User

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


class FieldErrors(Exception):
    """Bad input: French messages keyed by the form field they concern."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


class TooManyAttempts(Exception):
    def __init__(self, minutes: int):
        super().__init__(minutes)
        self.minutes = minutes


def now() -> datetime:
    return datetime.now(UTC)


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
    return _hasher.hash(password)


def _token() -> tuple[str, str]:
    raw = secrets.token_urlsafe(32)
    return raw, hashlib.sha256(raw.encode()).hexdigest()


def display_name(user: dict) -> str:
    name = f"{user.get('first_name', '')} {user.get('last_name', '')}".strip()
    return name or user["email"]


@dataclass
class MailContext:
    """What mails need to know of the instance the person is using."""

    instance: str
    site_name: str
    base_url: str


async def sign_up(
    *, email: str, password: str, first_name: str, last_name: str, ctx: MailContext
) -> tuple[int, list[int]]:
    """Create an account and queue the welcome mail; returns (user id, outbox ids)."""
    email = normalize_email(email)
    first_name, last_name = first_name.strip(), last_name.strip()
    errors = check_email(email) | check_password(password)
    if not first_name:
        errors["first_name"] = "Indiquez votre prénom."
    if not last_name:
        errors["last_name"] = "Indiquez votre nom."
    if errors:
        raise FieldErrors(errors)
    password_hash = hash_password(password)
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
                password_hash=password_hash,
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
            instance=ctx.instance,
            context={"first_name": first_name, "site_name": ctx.site_name, "url": ctx.base_url},
        )
    return user_id, [mail_id] if mail_id else []


async def _recent_failures(key: str, window: timedelta) -> int:
    return await LoginFailure.count().where(
        (LoginFailure.key == key) & (LoginFailure.at > now() - window)
    )


async def authenticate(
    *,
    email: str,
    password: str,
    address: str,
    max_per_account: int,
    max_per_address: int,
    window_seconds: int,
) -> int:
    """Return the user id, or raise FieldErrors / TooManyAttempts.

    Failures are kept in the database so that the limit holds across web processes.
    """
    email = normalize_email(email)
    window = timedelta(seconds=window_seconds)
    account_key, address_key = f"account:{email}", f"address:{address}"
    if (
        await _recent_failures(account_key, window) >= max_per_account
        or await _recent_failures(address_key, window) >= max_per_address
    ):
        raise TooManyAttempts(max(1, window_seconds // 60))
    user = await User.select(User.id, User.password_hash).where(User.email == email).first()
    stored = (user or {}).get("password_hash") or _DUMMY_HASH
    try:
        ok = _hasher.verify(stored, password) and bool(user and user["password_hash"])
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        await LoginFailure.insert(LoginFailure(key=account_key), LoginFailure(key=address_key))
        raise FieldErrors({"password": "E-mail ou mot de passe incorrect."})
    await LoginFailure.delete().where(LoginFailure.key == account_key)
    if _hasher.check_needs_rehash(stored):
        await User.update({User.password_hash: hash_password(password)}).where(
            User.id == user["id"]
        )
    return user["id"]


async def get_user(user_id: int) -> dict | None:
    return (
        await User.select(
            User.id, User.email, User.first_name, User.last_name, User.phone, User.password_hash
        )
        .where(User.id == user_id)
        .first()
    )


async def request_password_reset(email: str, ctx: MailContext) -> list[int]:
    """Queue a reset link. Says nothing about whether the account exists."""
    email = normalize_email(email)
    user = await User.select(User.id, User.first_name).where(User.email == email).first()
    if not user:
        return []
    raw, digest = _token()
    async with transaction():
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
            instance=ctx.instance,
            context={
                "first_name": user["first_name"],
                "site_name": ctx.site_name,
                "url": f"{ctx.base_url}/compte/mot-de-passe/{raw}",
                "hours": int(RESET_TTL.total_seconds() // 3600),
            },
        )
    return [mail_id] if mail_id else []


async def _token_row(raw: str, purpose: str) -> dict | None:
    digest = hashlib.sha256(raw.encode()).hexdigest()
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


class InvalidLink(Exception):
    """The link is unknown, expired or already used."""


async def reset_password(raw: str, password: str) -> int:
    errors = check_password(password)
    if errors:
        raise FieldErrors(errors)
    password_hash = hash_password(password)
    async with transaction():
        row = await _token_row(raw, "reset")
        if not row or not await _claim_token(row):
            raise InvalidLink()
        await User.update({User.password_hash: password_hash}).where(User.id == row["user"])
    return row["user"]


async def request_email_change(
    user_id: int, new_email: str, password: str, ctx: MailContext
) -> list[int]:
    """Send a confirmation link to the new address; the login changes only once it is used."""
    new_email = normalize_email(new_email)
    errors = check_email(new_email, "new_email")
    user = await get_user(user_id)
    assert user is not None
    try:
        if not _hasher.verify(user["password_hash"] or _DUMMY_HASH, password):
            raise VerificationError()
    except (VerificationError, InvalidHashError):
        errors["password"] = "Mot de passe incorrect."
    if not errors and new_email == user["email"]:
        errors["new_email"] = "C'est déjà l'adresse de votre compte."
    if not errors and await User.exists().where(User.email == new_email):
        errors["new_email"] = "Cette adresse est déjà utilisée par un autre compte."
    if errors:
        raise FieldErrors(errors)
    raw, digest = _token()
    async with transaction():
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
            instance=ctx.instance,
            context={
                "first_name": user["first_name"],
                "site_name": ctx.site_name,
                "url": f"{ctx.base_url}/compte/email/{raw}",
                "new_email": new_email,
            },
        )
    return [mail_id] if mail_id else []


async def confirm_email_change(raw: str) -> str:
    async with transaction():
        row = await _token_row(raw, "email_change")
        if not row:
            raise InvalidLink()
        if await User.exists().where(User.email == row["new_email"]):
            raise FieldErrors({"new_email": "Cette adresse est déjà utilisée par un autre compte."})
        if not await _claim_token(row):
            raise InvalidLink()
        await User.update({User.email: row["new_email"]}).where(User.id == row["user"])
    return row["new_email"]
