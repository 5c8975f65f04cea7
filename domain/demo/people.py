"""People of the worlds: accounts that log in, pending ones, thousands at once."""

from __future__ import annotations

from domain import accounts
from domain.demo.rows import insert, one
from domain.outbox import MailContext
from domain.tables import User

PASSWORD = "motdepasse-solide"
_HASHES: dict[str, str] = {}


def password_hash(password: str) -> str:
    """One argon2 hash per password and process: a thousand accounts cost one hash."""
    if password not in _HASHES:
        _HASHES[password] = accounts.hash_password(password)
    return _HASHES[password]


async def person(
    email: str,
    first_name: str = "Alice",
    last_name: str = "Durand",
    phone: str = "",
    *,
    password: str | None = PASSWORD,
    signup: MailContext | None = None,
) -> int:
    """An account that logs in with `password` (None: an account still pending). With
    `signup`, made by the sign-up itself: checked, and its welcome mail queued."""
    if signup is not None:
        user_id, _ = await accounts.sign_up(
            email=email,
            password=password or PASSWORD,
            first_name=first_name,
            last_name=last_name,
            ctx=signup,
        )
        if phone:
            await User.update({User.phone: phone}).where(User.id == user_id)
        return user_id
    return await one(
        User,
        email=accounts.normalize_email(email),
        password_hash=password_hash(password) if password else None,
        first_name=first_name,
        last_name=last_name,
        phone=phone,
    )


async def people(
    count: int,
    *,
    email: str = "membre{i}@example.org",
    first_name: str = "Prénom{i}",
    last_name: str = "Nom{i}",
    phone: str = "",
    password: str | None = None,
    start: int = 0,
) -> list[int]:
    """`count` accounts at once; the fields are templates of their number `i` (from
    `start`). Without `password`, pending accounts (as an import leaves them)."""
    hashed = password_hash(password) if password else None
    return await insert(
        User,
        [
            {
                "email": email.format(i=i).lower(),
                "password_hash": hashed,
                "first_name": first_name.format(i=i),
                "last_name": last_name.format(i=i),
                "phone": phone.format(i=i),
            }
            for i in range(start, start + count)
        ],
    )
