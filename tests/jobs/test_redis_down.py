"""Redis down: the database is the system of record. With a Redis server of the test's own
(started on a free port, never the shared one) stopped, members still log in, order and
validate; their mails wait in the outbox and go out once Redis is back."""

from __future__ import annotations

import shutil
import subprocess
import time
from datetime import timedelta

import msgspec
import pytest
import redis
from litestar.testing import AsyncTestClient

from domain.tables import Order, OutboxMail
from jobs import broker as jobs_broker
from jobs import mail as mail_jobs
from tests.helpers import login, make_distribution_world, make_user, post_form
from tests.stack import free_port, wait_until

REDIS_SERVER = shutil.which("redis-server")


class OwnRedis:
    """A redis-server process of this test: started, stopped, started again on one port."""

    def __init__(self, folder) -> None:
        self.port = free_port()
        self.folder = folder
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 15
        while True:
            try:
                client.ping()
                break
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=15)


@pytest.fixture
def own_redis(tmp_path):
    if REDIS_SERVER is None:
        pytest.skip("redis-server absent")
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.stop()


async def test_members_log_in_order_and_validate_with_redis_down(
    own_redis, settings, smtp_server, start_worker
):
    import dramatiq

    from app import create_app

    admin = await make_user("admin@example.org")
    world = await make_distribution_world(admin, products=2, stock=10)
    await make_user("ana@example.org")
    found, found_settings = dramatiq.get_broker(), jobs_broker._settings
    with_redis = msgspec.structs.replace(settings, redis_url=own_redis.url)
    application = create_app(with_redis, background=False)
    try:
        async with AsyncTestClient(app=application, base_url="http://localhost") as browser:
            own_redis.stop()
            response = await login(browser, "ana@example.org")
            assert response.status_code in (200, 303)
            assert (await browser.get("/compte")).status_code == 200
            [product, _] = world["products"]
            page = await browser.get(world["url"])
            assert page.status_code == 200
            response = await post_form(browser, world["url"], {f"q{product}": "2", "valider": "1"})
            assert response.status_code == 200, response.text
            order = await Order.select().where(Order.user.email == "ana@example.org").first()
            assert order["state"] == "validated" and order["total_cents"] > 0
            health = await browser.get("/healthz")
            assert health.status_code == 503 and health.json()["database"] == "ok"
        waiting = await OutboxMail.select(OutboxMail.state).where(
            OutboxMail.to_addr == "ana@example.org"
        )
        assert waiting and all(row["state"] == "pending" for row in waiting)

        # Redis is back: a worker starts, the sweep enqueues what waited, all of it goes.
        own_redis.start()
        start_worker(REDIS_URL=own_redis.url)
        await OutboxMail.update(
            {OutboxMail.created_at: OutboxMail.created_at - timedelta(minutes=5)}
        ).where(OutboxMail.state == "pending")  # older than the sweep's 30 s, not waited for
        await OutboxMail.update({OutboxMail.send_after: None}).where(OutboxMail.state == "pending")
        mail_jobs.sweep_outbox.send()

        async def all_sent():
            rows = await OutboxMail.select(OutboxMail.state).where(
                OutboxMail.to_addr == "ana@example.org"
            )
            return rows if all(r["state"] == "sent" for r in rows) else None

        await wait_until(all_sent, seconds=60, what="e-mails envoyés après le retour de Redis")
        await smtp_server.wait_for("ana@example.org", subject="Votre commande du")
    finally:
        jobs_broker.use(found)
        jobs_broker._settings = found_settings
