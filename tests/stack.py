"""The real stack for the suites that need it (tests/web, tests/jobs, tests/database…): a
fresh database (SQLite or PostgreSQL, from TEST_DATABASE), a real SMTP server (aiosmtpd),
and the app with its in-process job worker, its background sweep off (tests drive it).

Registered once for the whole run by tests/conftest.py (`pytest_plugins`), so that its
session fixtures exist once; nothing happens until a test asks for one: unit and browser
tests never do, and their process environment is left alone. The engine must be chosen
before piccolo_conf is imported (on the first query), which `database` does first.
"""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import tempfile
import threading
import time
import uuid
from email import message_from_bytes, policy
from email.message import EmailMessage

import dramatiq
import pytest
from dramatiq.common import current_millis
from dramatiq.middleware import SkipMessage

ENGINE = os.environ.get("TEST_DATABASE", "sqlite")
PG_ADMIN = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "database": "postgres"}
_WORLD: dict[str, str] = {}


def pytest_configure(config) -> None:
    # Before collection: the test modules import domain.accounts, whose password hasher
    # reads ARGON2_FAST once, at import (at the production cost a hash is 0.1 s and 64 MiB).
    os.environ.setdefault("ARGON2_FAST", "1")


def configure() -> dict[str, str]:
    """Once per run: a temporary folder, a database name, and the environment that the
    settings and piccolo_conf read (before any query)."""
    if _WORLD:
        return _WORLD
    tmp = tempfile.mkdtemp(prefix="cc-tests-")
    pg_name = f"cc_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    for name in ("REDIS_URL", "SMTP_URL", "INSTANCES", "PORT", "HOST"):
        os.environ.pop(name, None)
    os.environ |= {
        "VAR_DIR": tmp,
        "BASE_URL": "http://localhost",
        "SECRET_KEY": "test-secret-key-0123456789abcdef",
        "LOG_LEVEL": "WARNING",
        "ARGON2_FAST": "1",
        "DATABASE_URL": (
            f"postgresql://postgres@127.0.0.1:5432/{pg_name}"
            if ENGINE == "postgres"
            else f"sqlite:///{tmp}/test.sqlite3"
        ),
    }
    _WORLD.update(tmp=tmp, pg_name=pg_name)
    return _WORLD


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(**PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@functools.cache
def tables_in_delete_order() -> list[str]:
    """Every table of domain.tables, children before parents."""
    from piccolo.conf.apps import Finder
    from piccolo.table import sort_table_classes

    tables = sort_table_classes(Finder().get_table_classes())
    return [table._meta.tablename for table in reversed(tables)]


@pytest.fixture(scope="session")
async def database():
    world = configure()
    if ENGINE == "postgres":
        await _pg_admin(f'CREATE DATABASE "{world["pg_name"]}"')
        # A commit does not wait for the disk (1 to 4 ms here, thousands of commits a run):
        # the tests never lose PostgreSQL itself, and every commit is still atomic.
        await _pg_admin(f'ALTER DATABASE "{world["pg_name"]}" SET synchronous_commit = off')
    from domain.database import migrate

    await migrate()
    yield ENGINE
    from domain.database import close_pool

    await close_pool()
    if ENGINE == "postgres":
        await _pg_admin(f'DROP DATABASE IF EXISTS "{world["pg_name"]}" WITH (FORCE)')
    shutil.rmtree(world["tmp"], ignore_errors=True)


class EarlierJobs(dramatiq.Middleware):
    """On the in-process broker: a job queued before this test began (a mail delayed three
    minutes, a retry) is skipped. Ids start again in every test, and a delivery meant for a
    row of the last test would take a row of this one (a mail the test delivers itself, or
    one never meant to be sent)."""

    since = 0

    def before_process_message(self, broker, message) -> None:
        if message.message_timestamp < self.since:
            raise SkipMessage("laissé par un test précédent")

    def start_test(self) -> None:
        from jobs import broker as jobs_broker

        self.since = current_millis()
        if jobs_broker.is_in_process():
            broker = dramatiq.get_broker()
            if self not in broker.middleware:
                broker.add_middleware(self)


EARLIER_JOBS = EarlierJobs()


@pytest.fixture
async def clean_tables(database):
    from domain.database import db

    EARLIER_JOBS.start_test()
    engine = db()
    if ENGINE == "postgres":
        # DELETE, not TRUNCATE: a TRUNCATE of every table makes new files for each and
        # took about a second per test; these tables hold a few rows (20 ms). One DO block:
        # one statement, which a prepared statement can hold.
        deletes = " ".join(f"DELETE FROM {t};" for t in tables_in_delete_order())  # noqa: S608
        await engine.run_ddl(
            f"DO $$ BEGIN {deletes} PERFORM setval(format('%I.%I', schemaname, sequencename)"
            "::regclass, 1, false) FROM pg_sequences WHERE schemaname = 'public'; END $$"
        )
    else:
        for table in tables_in_delete_order():
            await engine.run_ddl(f"DELETE FROM {table}")  # noqa: S608 - fixed names
    yield


class Mailbox:
    """What a real SMTP server received."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's API
        message = message_from_bytes(envelope.content, policy=policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        with self.lock:
            self.messages.append(message)
        return "250 OK"

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()

    def to(self, address: str, subject: str = "") -> list[EmailMessage]:
        with self.lock:
            return [
                m
                for m in self.messages
                if address in m["X-Envelope-To"] and subject in str(m["Subject"])
            ]

    async def wait_for(
        self, address: str, count: int = 1, seconds: float = 15, subject: str = ""
    ) -> list:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = self.to(address, subject)
            if len(found) >= count:
                return found
            await asyncio.sleep(0.05)
        raise AssertionError(
            f"{count} mail(s) attendu(s) pour {address}, reçu(s) : {self.to(address)}"
        )


async def wait_until(check, seconds: float = 15, what: str = "la condition"):
    """Polls `await check()` until it returns something true (returned), within `seconds`:
    for what another thread or process does (a worker marking a mail sent)."""
    deadline = time.monotonic() + seconds
    while True:
        found = await check()
        if found:
            return found
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} : toujours faux après {seconds} s")
        await asyncio.sleep(0.05)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def text_of(message: EmailMessage) -> str:
    """The text part as a reader sees it: quoted-printable text keeps the wire's CRLF line
    ends once decoded; a mail program shows plain line breaks."""
    return message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


@pytest.fixture(scope="session")
def smtp_server():
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    mailbox.url = f"smtp://127.0.0.1:{port}"
    yield mailbox
    controller.stop()


@pytest.fixture
def mailbox(smtp_server):
    smtp_server.clear()
    return smtp_server


@pytest.fixture(scope="session")
def settings(database, smtp_server):
    from domain.settings import load_settings

    os.environ["SMTP_URL"] = smtp_server.url
    return load_settings()


@pytest.fixture(scope="session")
async def app(settings):
    from litestar.testing import AsyncTestClient

    from app import create_app

    application = create_app(settings, background=False)
    # Entering the client runs the lifespan once: pool, in-process worker (no sweeper).
    async with AsyncTestClient(app=application, base_url="http://localhost"):
        yield application


@pytest.fixture
async def client(app):
    """A browser of its own (cookies) per test, on the app started once."""
    from litestar.testing import AsyncTestClient

    return AsyncTestClient(app=app, base_url="http://localhost")


# ---- Escarcelle: the simulator of its assumed API, a process of its own ---------------


class EscarcelleSimulator:
    """The simulator of Escarcelle's API (connectors/escarcelle_simulator.py), a process of
    its own on a free port; its control calls for the tests."""

    def __init__(self, url: str, process) -> None:
        self.url = url
        self.process = process

    def _control(self, method: str, path: str, data: dict | None = None, **params) -> dict:
        import httpx

        response = httpx.request(method, self.url + path, json=data, params=params, timeout=10)
        response.raise_for_status()
        return response.json()

    def reset(self, products: int = 40, key: str | None = None) -> None:
        from connectors.escarcelle_simulator import DEMO_KEY

        self._control("POST", "/_sim/reset", {"products": products, "key": key or DEMO_KEY})

    def fault(self, mode: str, **options) -> None:
        self._control("POST", "/_sim/fault", {"mode": mode, **options})

    def grocery(self, key: str, pdv_id: str, name: str, **options) -> None:
        self._control(
            "POST", "/_sim/groceries", {"key": key, "pdv_id": pdv_id, "name": name, **options}
        )

    def state(self, key: str | None = None) -> dict:
        from connectors.escarcelle_simulator import DEMO_KEY

        return self._control("GET", "/_sim/state", key=key or DEMO_KEY)

    def till(self, product_id: str, qty: int, key: str | None = None) -> int:
        from connectors.escarcelle_simulator import DEMO_KEY

        body = {"product_id": product_id, "qty": qty, "key": key or DEMO_KEY}
        return self._control("POST", "/_sim/till", body)["stock"]

    def set_stock(self, product_id: str, qty: int, key: str | None = None) -> int:
        from connectors.escarcelle_simulator import DEMO_KEY

        body = {"product_id": product_id, "qty": qty, "key": key or DEMO_KEY}
        return self._control("POST", "/_sim/stock", body)["stock"]

    def client(self, client_id: str, key: str | None = None, **fields) -> dict:
        """A client changed in Escarcelle: `access_until="2026-03-31"` ("": no end), `email`…"""
        from connectors.escarcelle_simulator import DEMO_KEY

        body = {**fields, "id": client_id, "key": key or DEMO_KEY}
        return self._control("POST", "/_sim/client", body)

    def export_mailing(self, key: str | None = None) -> bytes:
        """Clients → Export Mailing, the CSV as Escarcelle gives it."""
        import httpx

        from connectors.escarcelle_simulator import DEMO_KEY

        response = httpx.get(
            self.url + "/_sim/export-mailing", params={"key": key or DEMO_KEY}, timeout=10
        )
        response.raise_for_status()
        return response.content

    def calls(self, path: str = "", method: str = "") -> list[dict]:
        return [
            c
            for c in self.state()["calls"]
            if c["path"].startswith(path) and (not method or c["method"] == method)
        ]


@pytest.fixture(scope="session")
def escarcelle_process():
    """The simulator, started once for the run: `python -m connectors.escarcelle_simulator`."""
    import subprocess
    import sys

    import httpx

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "connectors.escarcelle_simulator", "--port", str(port)],
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(url + "/_sim/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"simulateur Escarcelle absent : {process.stderr.read()!r}")
        time.sleep(0.05)
    yield EscarcelleSimulator(url, process)
    process.kill()
    process.wait(timeout=10)


@pytest.fixture
def simulator(escarcelle_process):
    """The simulator, reset for this test (the demo grocery, 40 products, no fault)."""
    escarcelle_process.reset()
    return escarcelle_process


@pytest.fixture
def escarcelle_url(settings, simulator, monkeypatch):
    """The jobs' settings point at the simulator, for this test only."""
    import msgspec

    from jobs import broker as jobs_broker

    # Retries wait 0.05 s, 0.1 s…: the same retries, without seconds of waiting.
    changed = msgspec.structs.replace(
        settings, escarcelle_url=simulator.url, escarcelle_timeout=2.0, escarcelle_backoff=0.05
    )
    monkeypatch.setattr(jobs_broker, "_settings", changed)
    return simulator.url
