"""Steps of test_migration_on_data, run in a process of its own on the database of its
DATABASE_URL (piccolo_conf picks the engine at import, so never the session's):

    python -m tests.database.migration_steps forwards <migration id | all>
    python -m tests.database.migration_steps fill     # data in every table m0009 touches
    python -m tests.database.migration_steps fill-creation  # Mode création accounts (m0017)
    python -m tests.database.migration_steps fill-producers  # vendors and products (m0024)
    python -m tests.database.migration_steps probe-list  # JSON: what m0024 allows and refuses
    python -m tests.database.migration_steps dump     # JSON: rows, foreign keys, indexes
    python -m tests.database.migration_steps probe    # JSON: what the database refuses
    python -m tests.database.migration_steps reapply  # m0009's raw step once more
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from datetime import UTC, date, datetime, timedelta

from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.conf.apps import Finder

M0008 = "2026-11-23T11:02:43:000000"
M0016 = "2026-12-08T10:00:00:000000"
M0022 = "2026-12-09T15:00:00:000000"


def engine():
    return Finder().get_engine()


def sqlite() -> bool:
    return engine().engine_type == "sqlite"


async def forwards(migration_id: str) -> None:
    response = await run_forwards(app_name="domain", migration_id=migration_id)
    if not response.success:
        raise SystemExit(response.message)


async def fill() -> None:
    from domain.tables import (
        Catalog,
        CatalogDistribution,
        Distribution,
        Group,
        Membership,
        MembershipFee,
        Order,
        OrderLine,
        Place,
        Product,
        Subscription,
        SubscriptionLine,
        User,
        Vendor,
    )

    # Columns of later migrations, which the tables as m0008 left them do not have yet.
    later = {
        "app_user": ("last_seen_at", "deleted_at"),
        "distribution": ("sequence",),
        "vendor": ("producer",),  # m0024
        "product": ("producer", "category", "escarcelle_id", "escarcelle_stock")
        + ("escarcelle_synced_at",),
    }

    async def one(row) -> int:
        table = type(row)
        if table._meta.tablename not in later:
            return (await table.insert(row).returning(table.id))[0]["id"]
        columns = [
            c
            for c in table._meta.columns
            if not c._meta.primary_key
            and c._meta.db_column_name not in later[table._meta.tablename]
        ]
        names = ", ".join(f'"{c._meta.db_column_name}"' for c in columns)
        values = ", ".join(["{}"] * len(columns))
        found = await table.raw(
            # Names from the table class, values as parameters.
            f'INSERT INTO "{table._meta.tablename}" ({names}) VALUES ({values}) RETURNING id',  # noqa: S608
            *[getattr(row, c._meta.name) for c in columns],
        )
        return found[0]["id"]

    async def account(email: str, password_hash: str | None, first_name: str, city: str = ""):
        # Written out: the table as m0008 left it, without the columns of later migrations.
        rows = await User.raw(
            "INSERT INTO app_user (email, password_hash, first_name, last_name, phone, "
            "address, postal_code, city, created_at) VALUES ({}, {}, {}, '', '', '', '', {}, {}) "
            "RETURNING id",
            email, password_hash, first_name, city, datetime(2026, 1, 1, tzinfo=UTC),
        )  # fmt: skip
        return rows[0]["id"]

    alice = await account("alice@example.org", "x", "Alice")
    bob = await account("bob@example.org", None, "Bob", city="Lyon")
    paul = await account("paul@example.org", "y", "Paul")
    group = await one(Group(name="AMAP", slug="amap", kind="amap"))
    # Written out: the table as m0008 left it, without the columns of later migrations.
    await Membership.raw(
        'INSERT INTO membership ("user", "group", is_admin, can_messages, can_members, '
        "created_at, shared_with) VALUES ({}, {}, {}, {}, {}, {}, NULL), "
        "({}, {}, {}, {}, {}, {}, {})",
        *(alice, group, True, False, False, datetime(2026, 1, 2, 8, 0, tzinfo=UTC)),
        *(bob, group, False, False, False, datetime(2026, 2, 3, 9, 30, tzinfo=UTC), alice),
    )
    vendor = await one(Vendor(group=group, name="Ferme", user=paul))
    # Written out too: the catalog as m0008 left it, without m0020's order_form_copy.
    [row] = await Catalog.raw(
        'INSERT INTO catalog ("group", vendor, name, coordinator, kind, description) '
        "VALUES ({}, {}, {}, {}, {}, {}) RETURNING id",
        *(group, vendor, "Légumes", alice, "fixed", ""),
    )
    catalog = row["id"]
    place = await one(Place(group=group, name="Halle"))
    starts = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    dists = [
        await one(
            Distribution(
                group=group,
                place=place,
                starts_at=starts + timedelta(days=7 * week),
                ends_at=starts + timedelta(days=7 * week, hours=2),
                orders_open_at=starts - timedelta(days=7),
                orders_close_at=starts + timedelta(days=7 * week - 2),
            )
        )
        for week in range(2)
    ]
    for dist in dists:
        await CatalogDistribution.insert(CatalogDistribution(catalog=catalog, distribution=dist))
    products = [
        await one(
            Product(
                catalog=catalog,
                name=name,
                price_cents=price,
                stock=stock,
                max_per_order=3 if stock else None,
                photo=b"\xff\xd8\x00binary\x00" if stock == 5 else None,
                position=i,
            )
        )
        for i, (name, price, stock) in enumerate(
            [
                ("Carottes", 250, 5),
                ("Pain", 999_999_999, None),  # unlimited
                ("Oeufs", 40, 0),
                ("Miel", 1200, -2),  # below zero: m0009 makes it 0
            ]
        )
    ]
    subscription = await one(
        Subscription(
            user=bob, catalog=catalog, starts_on=date(2026, 12, 1), ends_on=date(2027, 6, 1)
        )
    )
    await SubscriptionLine.insert(
        SubscriptionLine(subscription=subscription, product=products[0], quantity=2),
        SubscriptionLine(subscription=subscription, product=products[1], quantity=1),
        SubscriptionLine(subscription=subscription, product=products[2], quantity=0),  # dropped
    )
    for user, total in ((alice, 2**31 - 1), (bob, 1_000_000_499)):
        for dist in dists:
            order = await one(
                Order(
                    user=user,
                    distribution=dist,
                    state="validated",
                    validated_at=starts - timedelta(days=3),
                    total_cents=total,
                )
            )
            await OrderLine.insert(
                OrderLine(order=order, product=products[0], quantity=2, unit_price_cents=250),
                OrderLine(
                    order=order,
                    product=products[1],
                    quantity=1,
                    unit_price_cents=999_999_999,
                    subscription=subscription if user == bob else None,
                ),
                OrderLine(order=order, product=products[3], quantity=0, unit_price_cents=1200),
            )
    await MembershipFee.insert(
        MembershipFee(
            group=group, user=bob, year=2026, amount_cents=1500, paid_on=date(2026, 1, 10)
        ),
        MembershipFee(
            group=group, user=alice, year=2026, amount_cents=2**31 - 1, paid_on=date(2026, 1, 11)
        ),
    )


async def fill_creation() -> None:
    """Accounts as m0016 leaves them: two made in Mode création (one taken over since),
    one invited by e-mail, one of its own; the consent records of the first two."""
    from domain.tables import Group, User

    async def insert(sql: str, *values) -> int:
        return (await User.raw(sql + " RETURNING id", *values))[0]["id"]

    when = datetime(2026, 3, 1, tzinfo=UTC)
    ids = {}
    for email, password_hash in (
        ("creee@example.org", None),
        ("reprise@example.org", "h"),
        ("invitee@example.org", None),
        ("seule@example.org", "h"),
    ):
        ids[email] = await insert(
            "INSERT INTO app_user (email, password_hash, first_name, last_name, phone, "
            "address, postal_code, city, created_at) VALUES ({}, {}, 'P', 'N', '', '', '', '', {})",
            email, password_hash, when,
        )  # fmt: skip
    # The groups' table is as m0017 leaves it.
    group = (await Group.insert(Group(name="AMAP", slug="amap", kind="amap")).returning(Group.id))[
        0
    ]["id"]
    for email in ("creee@example.org", "reprise@example.org"):
        await insert(
            'INSERT INTO consent_record ("user", "group", recorded_by, recorded_at, statement) '
            "VALUES ({}, {}, {}, {}, 'accord')",
            ids[email], group, ids["seule@example.org"], when,
        )  # fmt: skip


async def fill_producers() -> None:
    """As m0022 leaves them: one account selling in two groups (two vendors), a producer
    without login, and products in their catalogs."""
    from domain.tables import User

    async def insert(sql: str, *values) -> int:
        return (await User.raw(sql + " RETURNING id", *values))[0]["id"]

    when = datetime(2026, 3, 1, tzinfo=UTC)
    jean = await insert(
        "INSERT INTO app_user (email, password_hash, first_name, last_name, phone, address, "
        "postal_code, city, created_at) VALUES ('jean@example.org', 'h', 'Jean', '', '', '', "
        "'', '', {})",
        when,
    )
    groups = [
        await insert(
            "INSERT INTO app_group (name, slug, kind, registration, description, instance, "
            "created_at, previous_instance) VALUES ({}, {}, 'market', 'open', '', 'main', {}, '')",
            name,
            name.lower(),
            when,
        )  # fmt: skip
        for name in ("AMAP", "Marché")
    ]
    vendors = [
        await insert(
            'INSERT INTO vendor ("group", name, description, email, phone, address, "user") '
            "VALUES ({}, {}, '', '', '', '', {})",
            group,
            name,
            user,
        )  # fmt: skip
        for group, name, user in (
            (groups[0], "Ferme (AMAP)", jean),
            (groups[1], "Ferme (marché)", jean),
            (groups[1], "Fromagerie", None),
        )
    ]
    for i, vendor in enumerate(vendors):
        catalog = await insert(
            'INSERT INTO catalog ("group", vendor, name, kind, description) '
            "VALUES ({}, {}, 'Catalogue', 'variable', '')",
            groups[0] if i == 0 else groups[1], vendor,
        )  # fmt: skip
        for n in range(2):
            await insert(
                "INSERT INTO product (catalog, name, unit, price_cents, vat_rate, stock, "
                "max_per_order, reference, active, photo, photo_version, position) "
                "VALUES ({}, {}, 'pièce', 100, 550, 5, NULL, '', TRUE, NULL, '', {})",
                catalog, f"Produit {i}-{n}", n,
            )  # fmt: skip


async def probe_list() -> dict:
    """What the tables of m0024 allow and refuse."""
    from domain.tables import Product

    space = (await Product.raw("SELECT MIN(id) AS id FROM producer"))[0]["id"]
    listed = not await refused(
        "INSERT INTO product (catalog, producer, name, unit, price_cents, vat_rate, reference, "
        "active, photo_version, position) VALUES (NULL, {}, 'Liste', 'pièce', 1, 550, "
        "'', TRUE, '', 0)",
        space,
    )
    pid = (await Product.raw("SELECT MAX(id) AS id FROM product"))[0]["id"]
    catalogs = await Product.raw('SELECT id, "group" FROM catalog ORDER BY id')
    first, second = catalogs[1], catalogs[2]  # the market's two catalogs
    await Product.raw(
        'INSERT INTO catalog_offer (catalog, product, "group") VALUES ({}, {}, {})',
        first["id"], pid, first["group"],
    )  # fmt: skip
    second_offer = await refused(
        'INSERT INTO catalog_offer (catalog, product, "group") VALUES ({}, {}, {})',
        second["id"], pid, second["group"],
    )  # fmt: skip
    await Product.raw("UPDATE product SET escarcelle_id = 'E1' WHERE id = {}", pid)
    twice = await refused(
        "UPDATE product SET escarcelle_id = 'E1' WHERE id = "
        "(SELECT MIN(id) FROM product WHERE producer = {})",
        space,
    )
    return {
        "list_product": listed,
        "second_offer_in_group": second_offer,
        "second_escarcelle_id": twice,
    }


def plain(value):
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


async def dump() -> dict:
    from domain.tables import Product

    tables = [
        t._meta.tablename
        for t in Finder().get_app_config("domain").table_classes
        if await t.table_exists()  # tables of later migrations are not there yet
    ]
    rows = {}
    for table in tables:
        found = await Product.raw(f'SELECT * FROM "{table}" ORDER BY id')  # noqa: S608
        rows[table] = [{k: plain(v) for k, v in row.items()} for row in found]
    if sqlite():
        foreign_keys = {
            t: sorted(
                (r["from"], r["table"], r["to"], r["on_delete"], r["on_update"])
                for r in await engine().run_ddl(f'PRAGMA foreign_key_list("{t}")')
            )
            for t in tables
        }
        indexes = {
            t: sorted(r["name"] for r in await engine().run_ddl(f'PRAGMA index_list("{t}")'))
            for t in tables
        }
        broken = await engine().run_ddl("PRAGMA foreign_key_check")
        integrity = [r["integrity_check"] for r in await engine().run_ddl("PRAGMA integrity_check")]
    else:
        found = await Product.raw(
            "SELECT conrelid::regclass::text AS t, conname, pg_get_constraintdef(oid) AS d "
            "FROM pg_constraint WHERE contype = 'f' ORDER BY 1, 2"
        )
        foreign_keys = {
            t: sorted((r["conname"], r["d"]) for r in found if r["t"] == t) for t in tables
        }
        found = await Product.raw("SELECT tablename, indexname FROM pg_indexes")
        indexes = {t: sorted(r["indexname"] for r in found if r["tablename"] == t) for t in tables}
        broken, integrity = [], ["ok"]
    return {
        "rows": rows,
        "foreign_keys": foreign_keys,
        "indexes": indexes,
        "broken": [dict(r) for r in broken],
        "integrity": integrity,
    }


async def refused(sql: str, *values) -> bool:
    from domain.tables import Product

    try:
        await Product.raw(sql, *values)
    except Exception as error:  # the engine's integrity error, whatever the driver
        name = type(error).__name__
        assert "Integrity" in name or "Violation" in name, (name, error)
        return True
    return False


async def probe() -> dict:
    from domain.tables import Order

    big = 999_999_999 * 3
    await Order.update({Order.total_cents: big}).where(Order.id == 1)
    total = (await Order.select(Order.total_cents).where(Order.id == 1).first())["total_cents"]
    order_lines = 'INSERT INTO order_line ("order", product, quantity, unit_price_cents) VALUES '
    return {
        "negative_stock": await refused("UPDATE product SET stock = -1 WHERE id = 1"),
        "null_stock": not await refused("UPDATE product SET stock = NULL WHERE id = 3"),
        "zero_line": await refused(order_lines + "(1, 3, 0, 1)"),
        "zero_subscription_line": await refused(
            "INSERT INTO subscription_line (subscription, product, quantity) VALUES (1, 3, 0)"
        ),
        "second_order": await refused(
            'INSERT INTO member_order ("user", distribution, state, updated_at, total_cents, '
            'absent) SELECT "user", distribution, state, updated_at, 0, absent '
            "FROM member_order WHERE id = 1"
        ),
        "second_line": await refused(order_lines + "(1, 1, 1, 1)"),
        "unknown_product": await refused(order_lines + "(1, 999999, 1, 1)"),
        "big_total": total == big,
    }


async def reapply() -> None:
    migration = importlib.import_module("domain.migrations.m0009_constraints_and_money")
    manager = await migration.forwards()
    for step in manager.raw:
        await step()


async def main(argv: list[str]) -> None:
    command = argv[0]
    if command == "forwards":
        await forwards(argv[1])
    elif command == "fill":
        await fill()
    elif command == "fill-creation":
        await fill_creation()
    elif command == "fill-producers":
        await fill_producers()
    elif command == "probe-list":
        print(json.dumps(await probe_list()))
    elif command == "dump":
        print(json.dumps(await dump()))
    elif command == "probe":
        print(json.dumps(await probe()))
    elif command == "reapply":
        await reapply()
    else:
        raise SystemExit(f"unknown step {command}")
    from domain.database import close_pool

    await close_pool()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
