"""The test world: a fresh database (SQLite or PostgreSQL, from TEST_DATABASE), a real
SMTP server (aiosmtpd), and the app with its in-process job worker.

The engine must be chosen before piccolo_conf is imported, hence the work at import.
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

import pytest

ENGINE = os.environ.get("TEST_DATABASE", "sqlite")
TMP = tempfile.mkdtemp(prefix="cc-tests-")
PG_ADMIN = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "database": "postgres"}
PG_NAME = f"cc_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"

os.environ["VAR_DIR"] = TMP
os.environ.pop("REDIS_URL", None)
os.environ.pop("SMTP_URL", None)
os.environ.pop("INSTANCES", None)
os.environ["BASE_URL"] = "http://localhost"
os.environ["SECRET_KEY"] = "test-secret-key-0123456789abcdef"
os.environ["LOG_LEVEL"] = "WARNING"
os.environ["ARGON2_FAST"] = "1"
if ENGINE == "postgres":
    os.environ["DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:5432/{PG_NAME}"
else:
    os.environ["DATABASE_URL"] = f"sqlite:///{TMP}/test.sqlite3"


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


@pytest.fixture(scope="session", autouse=True)
async def database():
    if ENGINE == "postgres":
        await _pg_admin(f'CREATE DATABASE "{PG_NAME}"')
    from app import migrate

    await migrate()
    yield ENGINE
    from domain.database import close_pool

    await close_pool()
    if ENGINE == "postgres":
        await _pg_admin(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)')
    shutil.rmtree(TMP, ignore_errors=True)


@pytest.fixture(autouse=True)
async def clean_tables(database):
    from domain.database import db

    engine = db()
    if ENGINE == "postgres":
        await engine.run_ddl(
            f"TRUNCATE {', '.join(tables_in_delete_order())} RESTART IDENTITY CASCADE"
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


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


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
def settings(smtp_server):
    from domain.settings import load_settings

    os.environ["SMTP_URL"] = smtp_server.url
    return load_settings()


@pytest.fixture(scope="session")
async def app(settings):
    from litestar.testing import AsyncTestClient

    from app import create_app

    application = create_app(settings)
    # Entering the client runs the lifespan once: pool, in-process worker, sweeper.
    async with AsyncTestClient(app=application, base_url="http://localhost"):
        yield application


@pytest.fixture
async def client(app):
    """A browser of its own (cookies) per test, on the app started once."""
    from litestar.testing import AsyncTestClient

    return AsyncTestClient(app=app, base_url="http://localhost")
