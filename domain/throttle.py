"""Throttling across processes, in the database (it keeps working with Redis down).

`reserve(key)` takes one attempt for a key (a login per (account, address), a reset link
per address…) in one conditional UPSERT: up to `limit` attempts in a window go at once,
then each next one waits longer (30 s, 1 min, 2 min… up to the window). The check and the
count are the same statement, so a burst of any size gets only what the delays allow.
"""

from __future__ import annotations

from domain.tables import Throttle

# The delay imposed before the next attempt after the n-th one in a window (n counted from 1):
# none up to the limit, then doubling from BASE up to the window itself.
BASE = 30


def delay(attempts: int, limit: int, window: int) -> int:
    """Seconds to wait after the `attempts`-th attempt of a window before the next one."""
    if attempts < limit:
        return 0
    return min(BASE * 2 ** min(attempts - limit, 20), window)


def _delay_sql(limit: int, window: int) -> str:
    """`delay` of the attempt being made (the row's attempts + 1), as SQL: a CASE of
    constants, the same on SQLite and PostgreSQL."""
    steps = [f"WHEN throttle.attempts + 1 < {limit} THEN 0"]
    n = limit
    while (seconds := delay(n, limit, window)) < window:
        steps.append(f"WHEN throttle.attempts + 1 = {n} THEN {seconds}")
        n += 1
    return f"CASE {' '.join(steps)} ELSE {window} END"


def _reserve_sql(limit: int, window: int) -> str:
    # Placeholders: key, now, now | since | since, now | since, now, now, now | since, now.
    # Only constants are put in the text (the limit, the window, the delays).
    # Concurrent attempts may reach the database out of the order of their clocks (one read
    # 12:00:00, the next 12:00:01 and ran first): the first `limit` of a window go whatever
    # their clock says, and `next_at` never moves back.
    fresh = "throttle.first_at <= {}"
    later = f"{{}} + {_delay_sql(limit, window)}"
    return (
        'INSERT INTO throttle ("key", attempts, first_at, next_at) '  # noqa: S608
        "VALUES ({}, 1, {}, {}) "
        'ON CONFLICT ("key") DO UPDATE SET '
        f"attempts = CASE WHEN {fresh} THEN 1 ELSE throttle.attempts + 1 END, "
        f"first_at = CASE WHEN {fresh} THEN {{}} ELSE throttle.first_at END, "
        f"next_at = CASE WHEN {fresh} THEN {{}} "
        f"WHEN throttle.next_at > {later} THEN throttle.next_at ELSE {later} END "
        f"WHERE {fresh} OR throttle.attempts < {limit} OR throttle.next_at <= {{}} "
        "RETURNING attempts"
    )


async def reserve(key: str, now_s: int, limit: int, window: int) -> int | None:
    """One attempt for `key`, atomically: its number in the window, or None if it must wait
    (the row's `next_at` is still ahead). A burst of any size gets through only as many
    attempts as the delays allow, since each reservation moves `next_at` in the same
    statement that checks it."""
    since = now_s - window
    rows = await Throttle.raw(
        _reserve_sql(limit, window),
        key, now_s, now_s, since, since, now_s, since, now_s, now_s, now_s, since, now_s,
    )  # fmt: skip
    return rows[0]["attempts"] if rows else None


async def wait_of(key: str, now_s: int) -> int:
    row = await Throttle.select(Throttle.next_at).where(Throttle.key == key).first()
    return max(1, (row["next_at"] - now_s) if row else 1)


async def forget(key: str) -> None:
    """The key starts afresh (the owner logged in)."""
    await Throttle.delete().where(Throttle.key == key)


async def prune(before_s: int) -> int:
    rows = await Throttle.delete().where(Throttle.next_at < before_s).returning(Throttle.id)
    return len(rows)
