"""The one clock the domain asks.

Rules that depend on the time take a `moment` where they can; the others ask `now()`.
Tests move this clock (`frozen`, `travel`) instead of sleeping or reading the wall clock.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta


def _wall() -> datetime:
    return datetime.now(UTC)


_source: Callable[[], datetime] = _wall


def now() -> datetime:
    """An aware UTC datetime (what Timestamptz columns store)."""
    return _source()


@contextlib.contextmanager
def frozen(moment: datetime) -> Iterator[None]:
    """Inside the block, `now()` is `moment`."""
    global _source
    previous, _source = _source, (lambda: moment)
    try:
        yield
    finally:
        _source = previous


@contextlib.contextmanager
def travel(offset: timedelta) -> Iterator[None]:
    """Inside the block the clock runs `offset` ahead (or behind) of the wall clock."""
    global _source
    previous = _source
    _source = lambda: previous() + offset  # noqa: E731
    try:
        yield
    finally:
        _source = previous
