"""Fixtures for the mail jobs: settings switched per test, an SMTP server that refuses,
an in-process broker and worker, and for the Redis tests a real `dramatiq` worker process.

Every fixture that swaps the global dramatiq broker puts back the very broker it found:
the app fixture's in-process worker consumes that object.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from tests.stack import free_port

ROOT = Path(__file__).resolve().parents[2]
DRAMATIQ = Path(sys.executable).parent / "dramatiq"
REDIS_TEST_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/11")


@pytest.fixture(autouse=True)
async def _fresh_tables(clean_tables):
    """Every test starts on empty tables."""
    yield


@pytest.fixture
def use_settings(settings, monkeypatch):
    """`use_settings(smtp_url=…)`: the settings the mail job reads, for this test only."""
    from jobs import broker as jobs_broker

    def use(**changes):
        changed = msgspec.structs.replace(settings, **changes)
        monkeypatch.setattr(jobs_broker, "_settings", changed)
        return changed

    use()
    return use


class RefusingHandler:
    """An SMTP server that knows no one: 550 to every RCPT TO."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        return "550 5.1.1 Destinataire inconnu"


@pytest.fixture(scope="session")
def refusing_smtp_url():
    from aiosmtpd.controller import Controller

    port = free_port()
    controller = Controller(RefusingHandler(), hostname="127.0.0.1", port=port)
    controller.start()
    yield f"smtp://127.0.0.1:{port}"
    controller.stop()


@pytest.fixture
def closed_smtp_url():
    """Nothing listens there: the connection is refused at once."""
    return f"smtp://127.0.0.1:{free_port()}"


@pytest.fixture
def stub_worker():
    """A fresh in-memory broker and Worker, as the app runs them without Redis."""
    import dramatiq

    from jobs import broker as jobs_broker

    found = dramatiq.get_broker()
    broker = jobs_broker.InProcessBroker()
    broker.emit_after("process_boot")
    jobs_broker.use(broker)
    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
    worker.start()
    try:
        yield broker
    finally:
        worker.stop()
        broker.close()
        jobs_broker.use(found)


async def join(broker, seconds: float = 20) -> None:
    """Wait until the mail queue is empty and every message acknowledged."""
    await asyncio.to_thread(broker.join, "mail", timeout=int(seconds * 1000))


@pytest.fixture
def redis_url():
    """Redis database 11, flushed before and after; skipped if unreachable (failed if CI=true)."""
    import redis

    client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=1, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as error:
        client.close()
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis injoignable ({REDIS_TEST_URL}) alors que CI=true : {error}")
        pytest.skip(
            f"Redis injoignable ({REDIS_TEST_URL}) : tests avec un vrai worker dramatiq "
            f"sautés ; lancez redis-server sur 127.0.0.1:6379 (avec CI=true ils échouent). "
            f"{error}"
        )
    client.flushdb()
    try:
        yield REDIS_TEST_URL
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def redis_broker(settings, redis_url):
    """The test process enqueues into Redis; then the broker it found is put back."""
    import dramatiq

    from jobs import broker as jobs_broker

    found = dramatiq.get_broker()
    found_settings = jobs_broker._settings
    broker = jobs_broker.setup(msgspec.structs.replace(settings, redis_url=redis_url))
    try:
        yield broker
    finally:
        jobs_broker.use(found)
        jobs_broker._settings = found_settings
        broker.close()


class WorkerProcess:
    """`dramatiq jobs.worker` in its own process group, output kept for failure messages."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in kill()
        self.proc = subprocess.Popen(
            [str(DRAMATIQ), "jobs.worker", "--processes", "1", "--threads", "2"],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def assert_running(self) -> None:
        assert self.proc.poll() is None, f"le worker s'est arrêté :\n{self.output()}"

    def kill(self) -> None:
        """SIGKILL to our own process group (start_new_session): the master and its forked
        worker. Tests join the queue first, so nothing is in flight; a graceful SIGTERM
        would cost ~5 s per test, and Redis is flushed afterwards anyway."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self._log.close()


@pytest.fixture
def start_worker(redis_url, smtp_server, tmp_path):
    """`start_worker()` runs a real worker process on the test database and SMTP server;
    `start_worker(SMTP_URL=…, MAIL_RETRY_SECONDS="1")` changes its environment."""
    workers: list[WorkerProcess] = []

    def start(**overrides: str) -> WorkerProcess:
        env = {
            **os.environ,
            "DATABASE_URL": os.environ["DATABASE_URL"],
            "VAR_DIR": os.environ["VAR_DIR"],
            "SECRET_KEY": os.environ["SECRET_KEY"],
            "SMTP_URL": smtp_server.url,
            "REDIS_URL": redis_url,
            "PYTHONUNBUFFERED": "1",
            **overrides,
        }
        worker = WorkerProcess(env, tmp_path / f"worker-{len(workers)}.log")
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.kill()
