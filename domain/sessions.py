"""Sessions of browsers, stored in the database.

A session is created only when there is something to keep (a login, a visitor's basket), by
the web layer after the handler ran; a token sent by a browser that names no session is
never adopted; each login, logout, password change or reset and e-mail change gives a new
token (the web layer asks `rotate`), and a password reset ends every session of the account.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from domain.database import fetch
from domain.kernel import tokens
from domain.tables import User, WebSession

LIFETIME = timedelta(days=30)
# The expiry moves with use, but is written at most this often (no write per page).
REFRESH_AFTER = timedelta(days=1)

_LOAD = (
    "SELECT s.id AS session_id, s.data, s.expires_at, "
    "u.id, u.email, u.first_name, u.last_name, u.phone, u.password_hash "
    'FROM web_session s LEFT JOIN app_user u ON u.id = s."user" '
    "WHERE s.key_hash = {} AND s.expires_at > {}"
)


async def load(token: str, moment: datetime) -> tuple[dict, dict | None, dict] | None:
    """(the session's data, its user or None, what `save` needs) in one query; None when the
    token names no live session."""
    if not token or len(token) > 200:
        return None
    rows = await fetch(WebSession, _LOAD, tokens.digest(token), moment)  # noqa: S608 - constant
    if not rows:
        return None
    row = rows[0]
    data = json.loads(row["data"]) if row["data"] else {}
    user = None
    if row["id"] is not None:
        user = {k: row[k] for k in ("id", "email", "first_name", "last_name", "phone")}
        user["password_hash"] = row["password_hash"]
    meta = {
        "id": row["session_id"],
        "key_hash": tokens.digest(token),
        "expires_at": row["expires_at"],
        "data": row["data"],
    }
    return data, user, meta


def _encode(data: dict) -> str:
    return json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def _user_of(data: dict) -> int | None:
    user_id = data.get("user_id")
    return user_id if isinstance(user_id, int) else None


async def create(data: dict, moment: datetime) -> str:
    """A new session holding `data`; returns the token for the cookie."""
    raw, digest = tokens.new_token()
    await WebSession.insert(
        WebSession(
            key_hash=digest,
            user=_user_of(data),
            data=_encode(data),
            created_at=moment,
            expires_at=moment + LIFETIME,
        )
    )
    await seen(_user_of(data), moment)
    return raw


async def seen(user_id: int | None, moment: datetime) -> None:
    """The account was used at `moment` (a login, or a session kept alive, at most once a
    day): what tells an account in use from an abandoned one (domain/privacy)."""
    if user_id is not None:
        await User.update({User.last_seen_at: moment}).where(User.id == user_id)


async def save(meta: dict, data: dict, moment: datetime) -> bool:
    """Writes the session back only if its data changed or its expiry is due a refresh;
    returns whether it wrote."""
    encoded = _encode(data)
    refresh = meta["expires_at"] - moment < LIFETIME - REFRESH_AFTER
    if encoded == meta["data"] and not refresh:
        return False
    await WebSession.update(
        {
            WebSession.data: encoded,
            WebSession.user: _user_of(data),
            WebSession.expires_at: moment + LIFETIME,
        }
    ).where(WebSession.id == meta["id"])
    if refresh:
        await seen(_user_of(data), moment)
    return True


async def delete(meta: dict) -> None:
    await WebSession.delete().where(WebSession.id == meta["id"])


async def end_all(user_id: int) -> int:
    """Every session of this account ends (a password reset or change): the other browsers
    are logged out; the one that asked gets a new session after."""
    rows = await WebSession.delete().where(WebSession.user == user_id).returning(WebSession.id)
    return len(rows)


async def prune(moment: datetime) -> int:
    rows = await WebSession.delete().where(WebSession.expires_at <= moment).returning(WebSession.id)
    return len(rows)
