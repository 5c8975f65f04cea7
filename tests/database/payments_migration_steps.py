"""Steps of test_payments_migration, each in a process of its own on the database of its
DATABASE_URL (piccolo_conf picks the engine at import):

    python -m tests.database.payments_migration_steps before   # up to the migration before m0022
    python -m tests.database.payments_migration_steps fill     # adhésions, a validation record
    python -m tests.database.payments_migration_steps all      # every migration
    python -m tests.database.payments_migration_steps dump     # JSON: the ledger's rows
    python -m tests.database.payments_migration_steps again    # m0022's data steps once more
"""

from __future__ import annotations

import asyncio
import importlib
import json
import pkgutil
import sys
from datetime import UTC, date, datetime, timedelta

from piccolo.apps.migrations.commands.forwards import run_forwards

import domain.migrations

M0022 = importlib.import_module("domain.migrations.m0022_payments")


def previous_id() -> str:
    """The migration just before m0022, whatever migrations came in between."""
    ids = []
    for module in pkgutil.iter_modules(domain.migrations.__path__):
        found = importlib.import_module(f"domain.migrations.{module.name}")
        if getattr(found, "ID", None):
            ids.append(found.ID)
    return max(i for i in ids if i < M0022.ID)


async def forwards(migration_id: str) -> None:
    response = await run_forwards(app_name="domain", migration_id=migration_id)
    if not response.success:
        raise SystemExit(response.message)


async def fill() -> None:
    """Written out as SQL: the tables as the migrations before m0022 left them."""
    from domain.tables import Group

    async def insert(sql: str, *values) -> int:
        rows = await Group.raw(sql + " RETURNING id", *values)
        return rows[0]["id"]

    alice = await insert(
        "INSERT INTO app_user (email, password_hash, first_name, last_name, phone, address, "
        "postal_code, city, created_at) VALUES ({}, 'x', 'Alice', 'A', '', '', '', '', {})",
        "alice@example.org",
        datetime(2026, 1, 1, tzinfo=UTC),
    )
    bob = await insert(
        "INSERT INTO app_user (email, password_hash, first_name, last_name, phone, address, "
        "postal_code, city, created_at) VALUES ({}, NULL, 'Bob', 'B', '', '', '', '', {})",
        "bob@example.org",
        datetime(2026, 1, 1, tzinfo=UTC),
    )
    group = await insert(
        "INSERT INTO app_group (name, slug, kind, registration, description, instance, "
        "created_at, previous_instance) VALUES ('AMAP', 'amap', 'amap', 'open', '', 'main', "
        "{}, '')",
        datetime(2026, 1, 1, tzinfo=UTC),
    )
    fees = [
        (bob, 2026, 1500, date(2026, 1, 10), "cheque", alice),
        (alice, 2026, 2**31 - 1, date(2026, 1, 11), "autre", None),
        (bob, 2025, 1200, date(2025, 2, 1), "", alice),
    ]
    for user, year, cents, paid_on, means, by in fees:
        await insert(
            'INSERT INTO membership_fee ("group", "user", year, amount_cents, paid_on, means, '
            "recorded_by, created_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {})",
            group,
            user,
            year,
            cents,
            paid_on,
            means,
            by,
            datetime(year, 3, 1, 12, 0, tzinfo=UTC),
        )
    place = await insert(
        "INSERT INTO place (\"group\", name, address) VALUES ({}, 'Halle', '')", group
    )
    starts = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    dist = await insert(
        'INSERT INTO distribution ("group", place, starts_at, ends_at, orders_open_at, '
        "orders_close_at, validated_at, validated_by) VALUES ({}, {}, {}, {}, {}, {}, {}, {})",
        group,
        place,
        starts,
        starts + timedelta(hours=2),
        starts - timedelta(days=7),
        starts - timedelta(days=1),
        starts + timedelta(hours=3),
        alice,
    )
    await insert(
        "INSERT INTO validation_record (distribution, validated_by, validated_at, content) "
        "VALUES ({}, {}, {}, {})",
        dist,
        alice,
        starts + timedelta(hours=3),
        json.dumps({"orders": []}),
    )


def plain(value):
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    return value


async def dump() -> dict:
    from domain.tables import Group

    found = {}
    for table in ("ledger_operation", "ledger_settlement", "validation_use", "membership_fee"):
        rows = await Group.raw(f'SELECT * FROM "{table}" ORDER BY id')  # noqa: S608 - fixed
        found[table] = [{k: plain(v) for k, v in row.items()} for row in rows]
    return found


async def main(argv: list[str]) -> None:
    command = argv[0]
    if command == "before":
        await forwards(previous_id())
    elif command == "all":
        await forwards("all")
    elif command == "fill":
        await fill()
    elif command == "dump":
        print(json.dumps(await dump()))
    elif command == "again":
        await M0022.fill()
    else:
        raise SystemExit(f"unknown step {command}")
    from domain.database import close_pool

    await close_pool()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
