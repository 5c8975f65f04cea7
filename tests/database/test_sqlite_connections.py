"""SQLite's kept connections (domain.database.AppSQLiteEngine) behave as fresh ones did:
they see every committed write, and none comes back holding a transaction or a lock."""

import asyncio
import os
import sqlite3

import pytest

from domain.database import close_idle, db, transaction
from domain.tables import User

pytestmark = pytest.mark.skipif(
    os.environ.get("TEST_DATABASE", "sqlite") != "sqlite", reason="SQLite only"
)


def _outside() -> sqlite3.Connection:
    """Another writer, as a second process is: it gives up at once if the file is locked."""
    return sqlite3.connect(db().path, timeout=0, isolation_level=None)


async def _user(email: str) -> None:
    await User.insert(User(email=email, password_hash="x", first_name="A", last_name="B"))


async def test_a_kept_connection_sees_what_another_connection_committed():
    await _user("un@exemple.test")
    assert await User.count() == 1  # a connection is kept after this read
    other = _outside()
    try:
        other.execute("DELETE FROM app_user")
    finally:
        other.close()
    assert await User.count() == 0


async def test_a_failed_transaction_leaves_no_lock_on_the_file():
    with pytest.raises(RuntimeError):
        async with transaction():
            await _user("deux@exemple.test")
            raise RuntimeError("refusé")
    assert await User.count() == 0
    other = _outside()
    try:
        other.execute("BEGIN IMMEDIATE")  # "database is locked" if a transaction stayed open
        other.execute("ROLLBACK")
    finally:
        other.close()


async def test_a_statement_that_opens_a_transaction_does_not_leave_it_open():
    await db().run_ddl("BEGIN IMMEDIATE")  # the connection goes back holding the write lock
    other = _outside()
    try:
        other.execute(
            "INSERT INTO app_user (email, password_hash, first_name, last_name) "
            "VALUES ('cinq@exemple.test', 'x', 'A', 'B')"
        )
    finally:
        other.close()
    assert await User.count() == 1


async def test_concurrent_queries_each_get_a_connection_of_their_own():
    await _user("quatre@exemple.test")

    async def read() -> int:
        async with db().transaction():  # twelve open at once, each on its connection
            first = await User.count()
            return first + await User.count()

    assert await asyncio.gather(*(read() for _ in range(12))) == [2] * 12
    await close_idle()
    assert await User.count() == 1  # closed ones are opened again
