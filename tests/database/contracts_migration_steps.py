"""Steps of test_contracts_migration, each in a process of its own on the database of its
DATABASE_URL (piccolo_conf picks the engine at import):

    python -m tests.database.contracts_migration_steps before  # up to the migration before m0026
    python -m tests.database.contracts_migration_steps fill    # a contract, its subscription, debt
    python -m tests.database.contracts_migration_steps all     # every migration
    python -m tests.database.contracts_migration_steps dump    # JSON: the rows m0026 may touch
    python -m tests.database.contracts_migration_steps use     # JSON: the contract read by the app
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from datetime import UTC, datetime, timedelta

from tests.database.payments_migration_steps import forwards, plain

M0026 = importlib.import_module("domain.migrations.m0026_contracts")
TABLES = (
    "subscription",
    "subscription_line",
    "member_order",
    "order_line",
    "ledger_operation",
    "contract_terms",
    "contract_absence",
    "shared_basket",
)


def previous_id() -> str:
    import pkgutil

    import domain.migrations

    ids = []
    for module in pkgutil.iter_modules(domain.migrations.__path__):
        found = importlib.import_module(f"domain.migrations.{module.name}")
        if getattr(found, "ID", None):
            ids.append(found.ID)
    return max(i for i in ids if i < M0026.ID)


async def fill() -> None:
    """Written out as SQL: the tables as the migrations before m0026 left them."""
    from domain.tables import Group

    async def insert(sql: str, *values) -> int:
        rows = await Group.raw(sql + " RETURNING id", *values)
        return rows[0]["id"]

    at = datetime(2026, 10, 1, tzinfo=UTC)
    user = await insert(
        "INSERT INTO app_user (email, password_hash, first_name, last_name, phone, address, "
        "postal_code, city, created_at) VALUES ({}, 'x', 'Paul', 'P', '', '', '', '', {})",
        "paul@example.org",
        at,
    )
    group = await insert(
        "INSERT INTO app_group (name, slug, kind, registration, description, instance, "
        "created_at, previous_instance) VALUES ('AMAP', 'amap', 'amap', 'open', '', 'main', "
        "{}, '')",
        at,
    )
    await insert(
        'INSERT INTO membership ("user", "group", is_admin, can_messages, can_members, '
        "created_at) VALUES ({}, {}, false, false, false, {})",
        user,
        group,
        at,
    )
    place = await insert(
        "INSERT INTO place (\"group\", name, address) VALUES ({}, 'Halle', '')", group
    )
    vendor = await insert(
        'INSERT INTO vendor ("group", name, description, email, phone, address) '
        "VALUES ({}, 'Ferme', '', '', '', '')",
        group,
    )
    catalog = await insert(
        'INSERT INTO catalog ("group", vendor, name, kind, starts_on, ends_on, description, '
        "order_form_copy) VALUES ({}, {}, 'Légumes', 'fixed', {}, {}, '', false)",
        group,
        vendor,
        at.date(),
        (at + timedelta(days=90)).date(),
    )
    product = await insert(
        "INSERT INTO product (catalog, name, unit, price_cents, vat_rate, reference, active, "
        "photo_version, position) VALUES ({}, 'Panier', 'pièce', 1500, 550, '', true, '', 0)",
        catalog,
    )
    starts = at + timedelta(days=10)
    dist = await insert(
        'INSERT INTO distribution ("group", place, starts_at, ends_at, orders_open_at, '
        "orders_close_at, sequence) VALUES ({}, {}, {}, {}, {}, {}, 0)",
        group,
        place,
        starts,
        starts + timedelta(hours=2),
        starts - timedelta(days=7),
        starts - timedelta(days=1),
    )
    await insert(
        "INSERT INTO catalog_distribution (catalog, distribution) VALUES ({}, {})",
        catalog,
        dist,
    )
    sub = await insert(
        'INSERT INTO subscription ("user", catalog, starts_on, ends_on, created_at) '
        "VALUES ({}, {}, {}, {}, {})",
        user,
        catalog,
        at.date(),
        (at + timedelta(days=90)).date(),
        at,
    )
    await insert(
        "INSERT INTO subscription_line (subscription, product, quantity) VALUES ({}, {}, 2)",
        sub,
        product,
    )
    order = await insert(
        'INSERT INTO member_order ("user", distribution, state, validated_at, updated_at, '
        "total_cents, absent) VALUES ({}, {}, 'validated', {}, {}, 3000, false)",
        user,
        dist,
        at,
        at,
    )
    await insert(
        'INSERT INTO order_line ("order", product, quantity, unit_price_cents, subscription) '
        "VALUES ({}, {}, 2, 1500, {})",
        order,
        product,
        sub,
    )
    await insert(
        'INSERT INTO ledger_operation ("group", "user", kind, amount_cents, subject, label, '
        "means, reference, created_at) VALUES ({}, {}, 'subscription', -3000, {}, "
        "'Souscription : Légumes (Ferme)', '', '', {})",
        group,
        user,
        f"subscription:{sub}",
        at,
    )


async def dump() -> dict:
    from domain.tables import Group

    found = {}
    for table in TABLES:
        try:
            rows = await Group.raw(f'SELECT * FROM "{table}" ORDER BY id')  # noqa: S608
        except Exception:  # noqa: BLE001 - a table the migrations before m0026 do not have
            found[table] = None
            continue
        found[table] = [{k: plain(v) for k, v in row.items()} for row in rows]
    return found


async def use() -> dict:
    """The migrated contract as the app reads it, and what the new constraint refuses."""
    from domain.contracts import instalments
    from domain.database import transaction
    from domain.tables import Absence, Catalog, Distribution, Subscription

    catalog = await Catalog.select().first()
    plan = await instalments.contract_plan(catalog["group"], catalog["id"])
    sub = await Subscription.select().first()
    dist = await Distribution.select().first()
    await Absence.insert(Absence(subscription=sub["id"], distribution=dist["id"]))
    refused = False
    try:
        async with transaction():
            await Absence.insert(Absence(subscription=sub["id"], distribution=dist["id"]))
    except Exception:  # noqa: BLE001 - the engine's own error class
        refused = True
    await Absence.delete(force=True)
    return {
        "due": plan.due_cents,
        "left": plan.left_cents,
        "instalments": [(i.cents, i.received) for m in plan.members for i in m.instalments],
        "absence_twice_refused": refused,
    }


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
    elif command == "use":
        print(json.dumps(await use()))
    else:
        raise SystemExit(f"unknown step {command}")
    from domain.database import close_pool

    await close_pool()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
