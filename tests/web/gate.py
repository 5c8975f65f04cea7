"""For the tests that the event loop stays free: a gate for CPU-heavy calls, and a client
whose requests run on the test's own event loop.

The heavy function is replaced by one that waits, inside its thread, for the test to open
the gate. If it ran on the event loop, nothing else could run until the gate's own
timeout, and /healthz would answer only after the call gave up: no timing threshold.

Litestar's AsyncTestClient cannot show it: it runs each request to its end on a loop of
its own while the caller's loop waits, so two of its requests never overlap. httpx's
ASGITransport runs the app on the caller's loop, as uvicorn does; the app was started
(lifespan) by the `app` fixture.
"""

from __future__ import annotations

import asyncio
import threading

import httpx


def loop_client(app) -> httpx.AsyncClient:
    """A browser (cookies kept) whose requests run concurrently on the test's loop."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost")


class Gate:
    """Calls `fn` only once the test opens the gate; says how many calls wait inside."""

    def __init__(self, fn, timeout: float = 5) -> None:
        self.fn = fn
        self.timeout = timeout
        self.opened = threading.Event()
        self.changed = threading.Condition()
        self.inside = 0
        self.threads: set[int] = set()

    def __call__(self, *args, **kwargs):
        with self.changed:
            self.inside += 1
            self.threads.add(threading.get_ident())
            self.changed.notify_all()
        try:
            if not self.opened.wait(self.timeout):
                raise TimeoutError("porte jamais ouverte : l'appel bloquait la boucle")
            return self.fn(*args, **kwargs)
        finally:
            with self.changed:
                self.inside -= 1
                self.changed.notify_all()

    async def wait_inside(self, count: int, seconds: float = 10) -> None:
        def wait() -> bool:
            with self.changed:
                return self.changed.wait_for(lambda: self.inside >= count, seconds)

        assert await asyncio.to_thread(wait), f"{self.inside} appel(s) en cours, {count} attendus"


async def healthz_while_held(client, gate: Gate, holding: int) -> None:
    response = await asyncio.wait_for(client.get("/healthz"), timeout=10)
    assert response.status_code == 200 and response.json()["status"] == "ok"
    assert gate.inside == holding, "l'appel lourd a fini avant la réponse de /healthz"
    assert threading.get_ident() not in gate.threads  # never the event loop's thread
