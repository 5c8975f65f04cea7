"""Database engines and transactions that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory


class AppPostgresEngine(PostgresEngine):
    """Uses the pool only from the event loop that created it.

    The in-process job worker runs its queries in its own loop; asyncpg pools
    are bound to one loop, so other loops get a fresh connection instead.
    """

    @property
    def pool(self):
        pool = self.__dict__.get("_app_pool")
        if pool is None:
            return None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return None
        return pool if getattr(pool, "_loop", loop) is loop else None

    @pool.setter
    def pool(self, value):
        self.__dict__["_app_pool"] = value

    async def close_connection_pool(self) -> None:
        pool = self.__dict__.get("_app_pool")
        if pool is not None:
            await pool.close()
            self.__dict__["_app_pool"] = None


class AppSQLiteEngine(SQLiteEngine):
    """Keeps its connections. Piccolo's engine opens a connection (a thread, the file, a
    PRAGMA) for every query outside a transaction and for every transaction, then closes
    it: 1.5 ms of CPU and several thread hops, against 0.15 ms for the query on an open
    connection. Connections here are in autocommit mode (Piccolo's `isolation_level=None`),
    so an idle one holds no snapshot and no lock; one that comes back inside a transaction
    (a failed COMMIT) is rolled back first."""

    __slots__ = ("_idle", "_idle_lock", "_idle_pid")
    MAX_IDLE = 8

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._idle: list = []
        self._idle_lock = threading.Lock()
        self._idle_pid = os.getpid()

    async def _acquire(self):
        with self._idle_lock:
            if self._idle_pid != os.getpid():
                # A forked child: the parent's connection threads do not exist here.
                self._idle, self._idle_pid = [], os.getpid()
            connection = self._idle.pop() if self._idle else None
        if connection is not None:
            return connection
        import aiosqlite

        connecting = aiosqlite.connect(**self.connection_kwargs)
        # Idle connections must not keep the interpreter from exiting (their thread waits
        # for work); an autocommit connection has nothing to lose when it is cut.
        connecting._thread.daemon = True
        connection = await connecting
        connection.row_factory = dict_factory
        await connection.execute("PRAGMA foreign_keys = 1")
        return connection

    async def _release(self, connection) -> None:
        try:
            if connection.in_transaction:
                await connection.rollback()
        except Exception:
            await connection.close()
            return
        with self._idle_lock:
            if self._idle_pid == os.getpid() and len(self._idle) < self.MAX_IDLE:
                self._idle.append(connection)
                return
        await connection.close()

    async def close_idle(self) -> None:
        with self._idle_lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            with contextlib.suppress(Exception):
                await connection.close()

    async def _run_in_new_connection(self, query, args=None, query_type="generic", table=None):
        connection = await self._acquire()
        try:
            return await self._run_in_existing_connection(
                connection, query, args, query_type=query_type, table=table
            )
        finally:
            await self._release(connection)

    async def _run_in_existing_connection(
        self, connection, query, args=None, query_type="generic", table=None
    ):
        # Piccolo repeats the PRAGMA before every statement; it is set once per connection.
        async with connection.execute(query, args or []) as cursor:
            return await cursor.fetchall()

    def transaction(
        self,
        transaction_type: TransactionType = TransactionType.deferred,
        allow_nested: bool = True,
    ) -> SQLiteTransaction:
        return _PooledTransaction(
            engine=self, transaction_type=transaction_type, allow_nested=allow_nested
        )


class _PooledTransaction(SQLiteTransaction):
    """Piccolo's transaction on a kept connection, given back whatever happens (Piccolo's
    own leaves the connection open and the transaction current if COMMIT fails)."""

    __slots__ = ()

    async def __aenter__(self) -> SQLiteTransaction:
        if self._parent is not None:
            return self._parent
        self.connection = await self.engine._acquire()
        try:
            await self.begin()
        except BaseException:
            await self.engine._release(self.connection)
            raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(self, exception_type, exception, traceback) -> bool:
        if self._parent:
            return exception is None
        try:
            if exception:
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.commit()
        finally:
            self.engine.current_transaction.reset(self.context)
            await self.engine._release(self.connection)
        return exception is None


def engine_for_url(url: str) -> Engine:
    parts = urlsplit(url)
    if parts.scheme in ("postgres", "postgresql"):
        return AppPostgresEngine(
            config={
                "host": parts.hostname or "127.0.0.1",
                "port": parts.port or 5432,
                "user": unquote(parts.username or "postgres"),
                "password": unquote(parts.password or "") or None,
                "database": parts.path.lstrip("/") or "postgres",
            }
        )
    path = url.split("sqlite:///", 1)[1] if url.startswith("sqlite:///") else "var/app.sqlite3"
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return AppSQLiteEngine(path=path, timeout=30)


def db() -> Engine:
    from piccolo.engine.finder import engine_finder

    engine = engine_finder()
    assert engine is not None, "piccolo_conf.py not found"
    return engine


def is_sqlite() -> bool:
    return isinstance(db(), SQLiteEngine)


def transaction():
    """A write transaction; on SQLite it takes the write lock at once (BEGIN IMMEDIATE)
    so that concurrent writers wait instead of failing with "database is locked"."""
    engine = db()
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()


async def prepare_engine() -> None:
    """Once per process: WAL for SQLite (readers don't block the writer)."""
    engine = db()
    if isinstance(engine, SQLiteEngine):
        await engine.run_ddl("PRAGMA journal_mode=WAL;")


async def _keep_session(connection) -> None:
    """A connection goes back to the pool as it is. asyncpg's default reset (advisory
    locks, cursors, LISTEN, RESET ALL) is one more round trip after every query; nothing
    here takes advisory locks, keeps cursors, listens or SETs a session variable. An open
    transaction is still rolled back by asyncpg before this runs."""


async def start_pool() -> None:
    engine = db()
    if isinstance(engine, PostgresEngine):
        with contextlib.suppress(Exception):
            await engine.close_connection_pool()
        await engine.start_connection_pool(min_size=1, max_size=10, reset=_keep_session)


async def close_pool() -> None:
    engine = db()
    if isinstance(engine, PostgresEngine):
        await engine.close_connection_pool()
    else:
        await close_idle()


async def close_idle() -> None:
    """SQLite: the kept connections are closed (the last one to close folds the WAL into
    the database file, as a command that ends should leave it). Nothing on PostgreSQL,
    whose pool is the app's."""
    engine = db()
    if isinstance(engine, AppSQLiteEngine):
        await engine.close_idle()


async def migrate() -> None:
    """Every migration not applied yet (the Procfile's release step, `python app.py migrate`)."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    response = await run_forwards(app_name="domain", migration_id="all", fake=False)
    if not response.success:
        raise RuntimeError(f"Échec des migrations : {response.message}")


_NUMBERED: dict[str, str] = {}


def _numbered(sql: str) -> str:
    text = _NUMBERED.get(sql)
    if text is None:
        first, *rest = sql.split("{}")
        text = _NUMBERED[sql] = first + "".join(f"${i}{part}" for i, part in enumerate(rest, 1))
    return text


async def fetch(table, sql: str, *args) -> list[dict]:
    """`table.raw(sql, *args)` for the hot paths: a fixed SQL text whose parameters are
    `{}`. On PostgreSQL it goes to asyncpg as it is (numbered once per text, prepared
    once per connection), in the running transaction if there is one: Piccolo would build
    and compile a query string on every call. Elsewhere (SQLite, another event loop than
    the pool's), `table.raw`."""
    engine = db()
    if isinstance(engine, PostgresEngine):
        transaction = engine.current_transaction.get()
        if transaction is not None:
            return await run_fixed(transaction.connection, _numbered(sql), args)
        pool = engine.pool
        if pool is not None:
            async with pool.acquire() as connection:
                return await run_fixed(connection, _numbered(sql), args)
    return await table.raw(sql, *args)


async def run_fixed(connection, text: str, args: tuple) -> list[dict]:
    """Where `fetch` meets asyncpg (tests.helpers.QueryCounter counts here too)."""
    return [dict(record) for record in await connection.fetch(text, *args)]


MAX_PARAMETERS = 30_000  # asyncpg allows 32,767 per statement, SQLite 32,766


async def insert_rows(
    table,
    columns: tuple[str, ...],
    rows: list[tuple],
    *,
    returning: tuple[str, ...] = (),
    skip_conflicts_on: str | None = None,
) -> list[dict]:
    """Rows in one INSERT per chunk, written out. Piccolo's insert renders a query per row
    (5,000 rows: seconds); here each chunk is one statement with parameters. Every column
    is given (defaults are the ORM's, not the database's). `skip_conflicts_on`: a unique
    column; rows clashing on it are skipped."""
    if not rows:
        return []
    names = ", ".join(f'"{c}"' for c in columns)
    one = "(" + ", ".join(["{}"] * len(columns)) + ")"
    size = max(1, MAX_PARAMETERS // len(columns))
    found: list[dict] = []
    for start in range(0, len(rows), size):
        chunk = rows[start : start + size]
        # Names come from the caller's code, never from input; every value is a parameter.
        sql = f'INSERT INTO "{table._meta.tablename}" ({names}) VALUES '  # noqa: S608
        sql += ", ".join([one] * len(chunk))
        if skip_conflicts_on is not None:
            sql += f' ON CONFLICT ("{skip_conflicts_on}") DO NOTHING'
        if returning:
            sql += " RETURNING " + ", ".join(f'"{c}"' for c in returning)
        found += await table.raw(sql, *[value for row in chunk for value in row]) or []
    return found


async def insert_many(objects: list, **options) -> list[dict]:
    """Table objects through `insert_rows`, with every column but the primary key, as the
    objects hold them (their defaults filled in by the ORM)."""
    if not objects:
        return []
    columns = [c for c in type(objects[0])._meta.columns if not c._meta.primary_key]
    return await insert_rows(
        type(objects[0]),
        tuple(c._meta.db_column_name for c in columns),
        [tuple(getattr(o, c._meta.name) for c in columns) for o in objects],
        **options,
    )
