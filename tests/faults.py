"""A write that fails half-way, on purpose: a trigger of the test database refuses one kind
of write to one table (a disk full, a constraint the code did not expect), on SQLite and
PostgreSQL alike. A form whose writes are all in one transaction then changes nothing.

    async with failing_writes("catalog_distribution", "INSERT"):
        response = await browser.post(...)  # a 500, and nothing of the form is kept

The trigger is dropped on the way out, whatever happened inside.
"""

from __future__ import annotations

import contextlib
import re

from tests.stack import ENGINE

MESSAGE = "écriture refusée par le test"
_NAME = re.compile(r"[a-z_]+")


@contextlib.asynccontextmanager
async def failing_writes(table: str, operation: str = "INSERT", when: str = ""):
    """`operation`: INSERT, UPDATE or DELETE; `when`: an SQL condition on NEW or OLD (the
    same text on both engines, from the test's code only) that limits the refusal."""
    from domain.database import db

    assert _NAME.fullmatch(table) and operation in ("INSERT", "UPDATE", "DELETE")
    engine = db()
    name = f"test_fails_{table}_{operation.lower()}"
    condition = f" WHEN ({when})" if when else ""
    if ENGINE == "postgres":
        await engine.run_ddl(
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$"
        )
        await engine.run_ddl(
            f"CREATE TRIGGER {name} BEFORE {operation} ON {table} FOR EACH ROW{condition} "
            f"EXECUTE FUNCTION {name}()"
        )
    else:
        await engine.run_ddl(
            f"CREATE TRIGGER {name} BEFORE {operation} ON {table} FOR EACH ROW{condition} "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        )
    try:
        yield
    finally:
        if ENGINE == "postgres":
            await engine.run_ddl(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            await engine.run_ddl(f"DROP FUNCTION IF EXISTS {name}()")
        else:
            await engine.run_ddl(f"DROP TRIGGER IF EXISTS {name}")
