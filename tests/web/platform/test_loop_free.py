"""Password hashes run beside the event loop, a few at a time, never on it: while they
work, /healthz still answers (photos: tests/web/catalogs/test_photo_uploads.py).

No timing threshold: the hash is replaced by one that waits, inside its thread, for the
test to open a gate (tests/web/gate.py).
"""

from __future__ import annotations

import asyncio

from domain import accounts
from domain.kernel import cpu
from domain.tables import User
from tests.helpers import PASSWORD, login, make_user, post_form
from tests.stack import wait_until
from tests.web.gate import Gate, healthz_while_held, loop_client


async def test_sign_ups_hash_in_a_bounded_pool_while_healthz_answers(app, monkeypatch):
    gate = Gate(accounts.hash_password)
    monkeypatch.setattr(accounts, "hash_password", gate)
    cpu.configure(2)
    try:

        async def sign_up(n: int):
            async with loop_client(app) as browser:
                return await post_form(
                    browser,
                    "/inscription",
                    {
                        "email": f"nouveau{n}@example.org",
                        "password": PASSWORD,
                        "first_name": "Nina",
                        "last_name": f"Durand{n}",
                    },
                )

        async def third_waits() -> bool:
            return cpu.statistics() == (2, 1)

        sign_ups = [asyncio.create_task(sign_up(n)) for n in range(3)]
        await gate.wait_inside(2)
        # Two hashes at work, the third waits for a thread: the pool is bounded.
        await wait_until(third_waits, what="deux hachages en cours et un en attente")
        async with loop_client(app) as probe:
            await healthz_while_held(probe, gate, holding=2)
        gate.opened.set()
        responses = await asyncio.wait_for(asyncio.gather(*sign_ups), timeout=30)
    finally:
        gate.opened.set()
        cpu.configure(0)
    assert [r.status_code for r in responses] == [303, 303, 303]
    assert await User.count() == 3


async def test_login_checks_the_password_off_the_loop(app, monkeypatch):
    await make_user("anne@example.org", "Anne")
    gate = Gate(accounts._matches)
    monkeypatch.setattr(accounts, "_matches", gate)

    async with loop_client(app) as browser, loop_client(app) as probe:
        logging_in = asyncio.create_task(login(browser, "anne@example.org"))
        await gate.wait_inside(1)
        await healthz_while_held(probe, gate, holding=1)
        gate.opened.set()
        response = await asyncio.wait_for(logging_in, timeout=30)
        assert response.status_code == 303
        assert (await browser.get("/compte")).status_code == 200
