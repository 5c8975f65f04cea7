"""The database says what the code relies on, and money totals take 64 bits.

- Composite unique indexes (m0002, m0004, m0006) become Piccolo `Unique` constraints of
  the same name: on PostgreSQL, `ADD CONSTRAINT ... UNIQUE USING INDEX` turns each index
  into a named UNIQUE constraint (no second index); on SQLite they stay unique indexes,
  which is what SQLite enforces without a table rebuild.
- CHECK constraints, named: product.stock >= 0 (NULL, unlimited, passes),
  order_line.quantity > 0, subscription_line.quantity > 0.
- member_order.total_cents and membership_fee.amount_cents become BIGINT on PostgreSQL.
  On SQLite an INTEGER is 64-bit already, and Piccolo's BigInt is INTEGER there: no change.

Piccolo's own DDL for these would not work: on SQLite there is no ALTER COLUMN or
ADD CONSTRAINT, and on PostgreSQL ADD CONSTRAINT UNIQUE would build a duplicate of each
index. So `forwards` declares the changes to Piccolo (its migration snapshot then matches
domain/tables.py and an auto-migration finds nothing missing) and `RawDDL` skips Piccolo's
DDL for them; the raw step `apply` makes them, per engine.

SQLite: the tables that get a CHECK are rebuilt by the documented 12-step procedure, on a
connection of its own, outside Piccolo's transaction (this migration disables it on
SQLite): PRAGMA foreign_keys=OFF cannot take effect inside a transaction, and with
foreign keys on, DROP TABLE product would cascade-delete every order line.

Rows the new constraints refuse but the code treats as nothing are normalised first: a
line of quantity 0 is deleted (as `apply_line` does), a stock below zero becomes 0 (none
left). A negative quantity has no meaning: the migration then fails and changes nothing.

Re-running it is harmless (each step checks what is there). It has no backwards step.
"""

import re

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import BigInt, Integer
from piccolo.constraints import Check, Unique
from piccolo.engine.finder import engine_finder

ID = "2026-11-23T11:02:44:000000"
VERSION = "1.38.0"
DESCRIPTION = "constraints declared next to their tables; money totals in 64 bits"

# (table class, table, constraint, columns): unique indexes of m0002, m0004 and m0006.
UNIQUES = [
    ("Membership", "membership", "membership_user_group", ["user", "group"]),
    ("Order", "member_order", "member_order_user_distribution", ["user", "distribution"]),
    ("OrderLine", "order_line", "order_line_order_product", ["order", "product"]),
    ("CatalogDistribution", "catalog_distribution", "catalog_distribution_pair",
     ["catalog", "distribution"]),
    ("SubscriptionLine", "subscription_line", "subscription_line_pair",
     ["subscription", "product"]),
    ("MailOptOut", "mail_opt_out", "mail_opt_out_pair", ["user", "kind"]),
    ("RedirectCount", "redirect_count", "redirect_count_day", ["group", "day"]),
]

# (table class, table, constraint, condition)
CHECKS = [
    ("Product", "product", "product_stock_not_negative", '"stock" >= 0'),
    ("OrderLine", "order_line", "order_line_quantity_positive", '"quantity" > 0'),
    ("SubscriptionLine", "subscription_line", "subscription_line_quantity_positive",
     '"quantity" > 0'),
]

# (table class, table, column): Integer -> BigInt
MONEY = [
    ("Order", "member_order", "total_cents"),
    ("MembershipFee", "membership_fee", "amount_cents"),
]

NORMALISE = [
    'DELETE FROM order_line WHERE quantity = 0',
    'DELETE FROM subscription_line WHERE quantity = 0',
    'UPDATE product SET stock = 0 WHERE stock < 0',
]


class RawDDL(MigrationManager):
    """Declares column changes and constraints to Piccolo's snapshot without running
    Piccolo's DDL for them: this migration's raw step does it."""

    async def _run_alter_columns(self, backwards: bool = False):
        return None

    async def _run_add_constraints(self, backwards: bool = False):
        return None


# ---- PostgreSQL ------------------------------------------------------------------------


async def apply_postgres(engine) -> None:
    """Inside Piccolo's transaction: all or nothing."""
    tables = sorted({t for _, t, _, _ in UNIQUES + CHECKS})
    names = ", ".join(f"'{t}'" for t in tables)
    existing = {
        row["conname"]
        for row in await engine.run_ddl(
            "SELECT conname FROM pg_constraint "
            f"WHERE conrelid IN (SELECT oid FROM pg_class WHERE relname IN ({names}))"
        )
    }
    for statement in NORMALISE:
        await engine.run_ddl(statement)
    for _, table, column in MONEY:
        await engine.run_ddl(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE BIGINT')
    for _, table, name, condition in CHECKS:
        if name not in existing:
            await engine.run_ddl(f'ALTER TABLE "{table}" ADD CONSTRAINT {name} CHECK ({condition})')
    for _, table, name, _ in UNIQUES:
        if name not in existing:
            await engine.run_ddl(
                f'ALTER TABLE "{table}" ADD CONSTRAINT {name} UNIQUE USING INDEX {name}'
            )


# ---- SQLite ----------------------------------------------------------------------------


def new_definition(sql: str, table: str, constraints: list[str]) -> str:
    """The table's CREATE TABLE as `new_<table>`, with `constraints` added at the end."""
    head = re.match(rf'\s*CREATE TABLE\s+(?:"{table}"|{table}|`{table}`|\[{table}\])\s*\(', sql)
    body = sql.rstrip()
    if head is None or not body.endswith(")"):
        raise RuntimeError(f"m0009: unexpected definition of {table}: {sql}")
    columns = body[head.end() : -1]
    return f'CREATE TABLE "new_{table}" ({columns}, {", ".join(constraints)})'


async def rebuild(connection, table: str, checks: list[tuple[str, str]]) -> None:
    """Steps 4 to 9 of https://www.sqlite.org/lang_altertable.html#otheralter."""
    cursor = await connection.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    )
    (sql,) = await cursor.fetchone()
    if all(f"CONSTRAINT {name} " in sql for name, _ in checks):
        return  # rebuilt already
    cursor = await connection.execute(
        "SELECT sql FROM sqlite_master "
        "WHERE tbl_name = ? AND type IN ('index', 'trigger') AND sql IS NOT NULL",
        (table,),
    )
    dependents = [row[0] for row in await cursor.fetchall()]
    cursor = await connection.execute(f'PRAGMA table_info("{table}")')
    columns = ", ".join(f'"{row[1]}"' for row in await cursor.fetchall())
    constraints = [f"CONSTRAINT {name} CHECK ({condition})" for name, condition in checks]
    await connection.execute(new_definition(sql, table, constraints))
    await connection.execute(
        f'INSERT INTO "new_{table}" ({columns}) SELECT {columns} FROM "{table}"'
    )
    await connection.execute(f'DROP TABLE "{table}"')
    await connection.execute(f'ALTER TABLE "new_{table}" RENAME TO "{table}"')
    for statement in dependents:
        await connection.execute(statement)


async def apply_sqlite(engine) -> None:
    import aiosqlite

    by_table: dict[str, list[tuple[str, str]]] = {}
    for _, table, name, condition in CHECKS:
        by_table.setdefault(table, []).append((name, condition))
    kwargs = {k: v for k, v in engine.connection_kwargs.items() if k != "detect_types"}
    async with aiosqlite.connect(**kwargs) as connection:
        # Step 1, outside any transaction (where the pragma would do nothing).
        await connection.execute("PRAGMA foreign_keys = OFF")
        cursor = await connection.execute("PRAGMA foreign_keys")
        if (await cursor.fetchone())[0] != 0:
            raise RuntimeError("m0009: foreign keys could not be disabled")
        try:
            await connection.execute("BEGIN IMMEDIATE")  # step 2
            try:
                for statement in NORMALISE:
                    await connection.execute(statement)
                for table, checks in by_table.items():
                    await rebuild(connection, table, checks)
                # Step 10: the children of the rebuilt tables still hold.
                cursor = await connection.execute("PRAGMA foreign_key_check")
                broken = await cursor.fetchall()
                if broken:
                    raise RuntimeError(f"m0009: foreign keys broken by the rebuild: {broken}")
                await connection.execute("COMMIT")  # step 11
            except BaseException:
                await connection.execute("ROLLBACK")
                raise
        finally:
            await connection.execute("PRAGMA foreign_keys = ON")  # step 12


# ---- the migration ---------------------------------------------------------------------


async def forwards():
    engine = engine_finder()
    sqlite = engine is not None and engine.engine_type == "sqlite"
    manager = RawDDL(
        migration_id=ID,
        app_name="domain",
        description=DESCRIPTION,
        # SQLite: the rebuild makes its own transaction on its own connection.
        wrap_in_transaction=not sqlite,
    )

    for class_name, table, column in MONEY:
        manager.alter_column(
            table_class_name=class_name,
            tablename=table,
            column_name=column,
            db_column_name=column,
            params={},
            old_params={},
            column_class=BigInt,
            old_column_class=Integer,
            schema=None,
        )
    for class_name, table, name, columns in UNIQUES:
        manager.add_constraint(
            table_class_name=class_name,
            tablename=table,
            constraint_name=name,
            constraint_class=Unique,
            params={"columns": columns, "nulls_distinct": True},
            schema=None,
        )
    for class_name, table, name, condition in CHECKS:
        manager.add_constraint(
            table_class_name=class_name,
            tablename=table,
            constraint_name=name,
            constraint_class=Check,
            params={"condition": condition},
            schema=None,
        )

    async def apply():
        engine = engine_finder()
        if engine.engine_type == "sqlite":
            await apply_sqlite(engine)
        else:
            await apply_postgres(engine)

    async def refuse_backwards():
        raise RuntimeError("m0009 has no backwards step: restore a backup instead.")

    manager.add_raw(apply)
    manager.add_raw_backwards(refuse_backwards)
    return manager
