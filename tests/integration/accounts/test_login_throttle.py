"""Login throttling: attempts reserved atomically in the database before the password is
checked, per (account, address) pair, with a per-account ceiling that does not lock the
owner out from an address that never failed."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from domain import accounts, throttle
from domain.accounts import TooManyAttempts
from domain.kernel import clock
from domain.kernel.errors import FieldErrors
from tests.helpers import PASSWORD, make_user

LIMITS = {"max_per_pair": 5, "max_per_account": 12, "window_seconds": 900}


async def attempt(password: str, address: str = "10.0.0.1", email: str = "bob@example.org"):
    """'ok', 'wrong' or 'wait'."""
    try:
        await accounts.authenticate(email=email, password=password, address=address, **LIMITS)
    except FieldErrors:
        return "wrong"
    except TooManyAttempts:
        return "wait"
    return "ok"


async def test_a_burst_gets_at_most_the_limit_checked():
    """50 wrong passwords at once from one address: 5 are checked, the rest wait."""
    await make_user("bob@example.org")
    results = await asyncio.gather(*[attempt("mauvais-mot") for _ in range(50)])
    assert results.count("wrong") == 5 and results.count("wait") == 45


async def test_a_right_password_in_a_burst_is_checked_only_within_the_limit():
    """It logs in only if it was one of the 5 attempts reserved; then the address starts
    afresh (the owner is in), and what is left of the burst gets 5 more at most (fewer
    when the login lands late in the burst)."""
    await make_user("bob@example.org")
    burst = [attempt("mauvais-mot") for _ in range(30)]
    burst.insert(20, attempt(PASSWORD))
    results = await asyncio.gather(*burst)
    checked = results.count("ok") + results.count("wrong")
    if "ok" in results:
        assert results.count("wrong") <= 4 + 5, results
    else:
        assert checked == 5, results
    assert results.count("wait") == 31 - checked


async def test_an_address_that_failed_is_slowed_down_more_and_more():
    await make_user("bob@example.org")
    start = clock.now()

    def at(seconds: int):
        return clock.frozen(start + timedelta(seconds=seconds))

    with at(0):
        assert [await attempt("mauvais-mot") for _ in range(5)] == ["wrong"] * 5
        assert await attempt(PASSWORD) == "wait"
    moment = 0
    for delay in (30, 60, 120):
        with at(moment + delay - 1):
            assert await attempt("mauvais-mot") == "wait"  # a second too early
        moment += delay
        with at(moment):
            assert await attempt("mauvais-mot") == "wrong"
    with at(moment + 240):
        assert await attempt(PASSWORD) == "ok"
        assert await attempt("mauvais-mot") == "wrong"  # the address starts afresh


async def test_the_owner_logs_in_from_another_address_while_one_is_throttled():
    """A whole school behind one address is not locked out by one guesser, nor the owner."""
    await make_user("bob@example.org")
    await make_user("ana@example.org")
    for _ in range(8):
        await attempt("mauvais-mot", address="203.0.113.9")
    assert await attempt(PASSWORD, address="203.0.113.9") == "wait"
    assert await attempt(PASSWORD, address="198.51.100.7") == "ok"
    assert await attempt(PASSWORD, address="203.0.113.9", email="ana@example.org") == "ok"


async def test_the_account_ceiling_stops_guessing_from_many_addresses_but_not_the_owner():
    await make_user("bob@example.org")
    results = [await attempt("mauvais-mot", address=f"10.1.{n}.1") for n in range(12)]
    assert results == ["wrong"] * 12  # the ceiling is reached
    # A second try from an address that failed once is refused without being checked…
    assert await attempt(PASSWORD, address="10.1.0.1") == "wait"
    # …while a first try from an address that never failed is still checked.
    assert await attempt("mauvais-mot", address="10.9.9.9") == "wrong"
    assert await attempt(PASSWORD, address="10.8.8.8") == "ok"


async def test_the_window_ends():
    await make_user("bob@example.org")
    start = clock.now()
    with clock.frozen(start):
        for _ in range(6):
            await attempt("mauvais-mot")
    with clock.frozen(start + timedelta(seconds=901)):
        assert await attempt(PASSWORD) == "ok"


@pytest.mark.parametrize(("attempts", "delay"), [(1, 0), (4, 0), (5, 30), (6, 60), (10, 900)])
def test_delays(attempts, delay):
    assert throttle.delay(attempts, 5, 900) == delay


async def test_attempts_reaching_the_database_out_of_clock_order_still_get_the_limit():
    """A burst straddling a second: attempts that read 12:00:01 may run before one that
    read 12:00:00. The late one is still among the 5, and the delay never moves back."""
    key, t = "pair:out-of-order", 1_000_000
    got = [await throttle.reserve(key, t + 1, 5, 900) for _ in range(4)]
    got.append(await throttle.reserve(key, t, 5, 900))
    assert got == [1, 2, 3, 4, 5]
    assert await throttle.reserve(key, t + 1, 5, 900) is None
    assert await throttle.wait_of(key, t + 1) == 29  # 30 s after the fifth, read at t
    assert await throttle.reserve(key, t + 29, 5, 900) is None
    assert await throttle.reserve(key, t + 30, 5, 900) == 6
