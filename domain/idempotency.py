"""Form keys that make a replayed submission (double tap, retry on a flaky network) act once."""

from __future__ import annotations

import secrets

from domain.tables import RequestKey

KEY_MAX = 64


def new_key() -> str:
    """The key a form carries, made when its page is rendered (a few bytes: a phone page)."""
    return secrets.token_urlsafe(12)


class BadKey(ValueError):
    """A key no form of ours sends (too long)."""


async def prune(before) -> int:
    """Keys older than `before` guard against nothing any more (a replay comes in seconds)."""
    rows = await RequestKey.delete().where(RequestKey.created_at < before).returning(RequestKey.id)
    return len(rows)


async def claim(key: str | None, user_id: int | None) -> bool:
    """True the first time a form's key is seen; False for a replay. No key: always True.
    Run it inside the transaction of the change, so a rolled-back change frees its key."""
    if not key:
        return True
    if len(key) > KEY_MAX:
        raise BadKey(key)
    rows = (
        await RequestKey.insert(RequestKey(key=key, user=user_id))
        .on_conflict(target=RequestKey.key, action="DO NOTHING")
        .returning(RequestKey.id)
    )
    return bool(rows)
