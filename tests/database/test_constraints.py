"""The database says what the code relies on: every constraint and index declared in
domain/tables.py exists in the session's database (SQLite or PostgreSQL), and the
database refuses what it should."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest
from piccolo.apps.migrations.commands.new import AutoMigrationManager
from piccolo.columns import BigInt, Integer, Serial
from piccolo.conf.apps import Finder
from piccolo.constraints import Check, Unique

from domain import catalogs
from domain.catalog_orders import recaps
from domain.catalogs import statistics
from domain.database import db, is_sqlite
from domain.demo import world as build
from domain.kernel import clock
from domain.ordering import changes
from domain.tables import (
    INDEXES,
    MembershipFee,
    Order,
    OrderLine,
    Product,
    Subscription,
    SubscriptionLine,
)

REFUSED = (sqlite3.IntegrityError, asyncpg.IntegrityConstraintViolationError)
BIG_PRICE = 999_999_999  # 9 999 999,99 €, the largest price parse_euros accepts


def tables():
    return Finder().get_app_config("domain").table_classes


async def indexes_of(table: str) -> dict[str, tuple[bool, tuple[str, ...]]]:
    """name -> (unique, columns in order), every index of the table, as the database has it."""
    if is_sqlite():
        found = {}
        for row in await db().run_ddl(f'PRAGMA index_list("{table}")'):
            info = await db().run_ddl(f'PRAGMA index_info("{row["name"]}")')
            columns = tuple(c["name"] for c in sorted(info, key=lambda c: c["seqno"]))
            found[row["name"]] = (bool(row["unique"]), columns)
        return found
    rows = await Product.raw(
        "SELECT c.relname AS name, ix.indisunique AS is_unique, ARRAY("
        " SELECT a.attname FROM unnest(ix.indkey) WITH ORDINALITY AS k(attnum, n)"
        " JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum"
        " ORDER BY k.n) AS columns "
        "FROM pg_index ix JOIN pg_class c ON c.oid = ix.indexrelid "
        "JOIN pg_class t ON t.oid = ix.indrelid "
        "JOIN pg_namespace s ON s.oid = t.relnamespace "
        "WHERE t.relname = {} AND s.nspname = current_schema()",
        table,
    )
    return {r["name"]: (r["is_unique"], tuple(r["columns"])) for r in rows}


async def pg_constraints(table: str, kind: str) -> dict[str, str]:
    """name -> definition of the table's constraints of a kind ('u' unique, 'c' check)."""
    rows = await Product.raw(
        "SELECT conname, pg_get_constraintdef(oid) AS definition, convalidated "
        "FROM pg_constraint WHERE conrelid = CAST({} AS regclass) AND CAST(contype AS text) = {}",
        table,
        kind,
    )
    assert all(r["convalidated"] for r in rows)
    return {r["conname"]: r["definition"] for r in rows}


async def sqlite_definition(table: str) -> str:
    rows = await Product.raw(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = {}", table
    )
    return rows[0]["sql"]


def declared(kind: type) -> list[tuple[str, object]]:
    return [
        (table._meta.tablename, constraint)
        for table in tables()
        for constraint in table._meta.constraints
        if isinstance(constraint, kind)
    ]


# ---- the schema --------------------------------------------------------------------------


def test_the_declarations_cover_the_unique_indexes_the_code_relies_on():
    uniques = {(t, c._meta.name, tuple(c.get_column_names())) for t, c in declared(Unique)}
    assert uniques == {
        ("membership", "membership_user_group", ("user", "group")),
        ("member_order", "member_order_user_distribution", ("user", "distribution")),
        ("order_line", "order_line_order_product", ("order", "product")),
        ("catalog_distribution", "catalog_distribution_pair", ("catalog", "distribution")),
        ("subscription_line", "subscription_line_pair", ("subscription", "product")),
        ("mail_opt_out", "mail_opt_out_pair", ("user", "kind")),
        ("redirect_count", "redirect_count_day", ("group", "day")),
        ("validation_use", "validation_use_once", ("record", "consumer")),
        ("calendar_feed", "calendar_feed_pair", ("user", "group")),
        ("inactivity_notice", "inactivity_notice_once", ("user", "since", "stage")),
        ("ledger_settlement", "ledger_settlement_pair", ("payment", "subject")),
        ("duty_signup", "duty_signup_person", ("distribution", "user")),
        ("duty_signup", "duty_signup_place", ("role", "distribution", "place")),
        ("order_form", "order_form_pair", ("catalog", "distribution")),
        ("catalog_offer", "catalog_offer_pair", ("catalog", "product")),
        ("catalog_offer", "catalog_offer_group", ("product", "group")),
        ("product", "product_producer_escarcelle", ("producer", "escarcelle_id")),
        ("escarcelle_sale", "escarcelle_sale_basket", ("producer", "distribution", "order")),
        ("contract_absence", "contract_absence_pair", ("subscription", "distribution")),
    }
    checks = {(t, c._meta.name) for t, c in declared(Check)}
    assert checks == {
        ("product", "product_stock_not_negative"),
        ("order_line", "order_line_quantity_positive"),
        ("subscription_line", "subscription_line_quantity_positive"),
    }


async def test_every_declared_unique_constraint_exists():
    for table, constraint in declared(Unique):
        name, columns = constraint._meta.name, tuple(constraint.get_column_names())
        assert (await indexes_of(table)).get(name) == (True, columns), (table, name)
        if not is_sqlite():
            # A real UNIQUE constraint of that name (what Piccolo would create), no twin index.
            assert name in await pg_constraints(table, "u"), (table, name)
            same = [n for n, (u, c) in (await indexes_of(table)).items() if c == columns]
            assert same == [name], (table, same)


async def test_every_declared_check_constraint_exists():
    for table, constraint in declared(Check):
        name, condition = constraint._meta.name, constraint.get_condition_str()
        if is_sqlite():
            assert f"CONSTRAINT {name} CHECK ({condition})" in await sqlite_definition(table)
        else:
            definition = (await pg_constraints(table, "c")).get(name, "")
            expected = condition.replace('"', "")
            assert definition == f"CHECK (({expected}))", (table, name, definition)


async def test_every_declared_index_exists():
    assert len(INDEXES) == len({i.name for i in INDEXES}) == 32
    for index in INDEXES:
        assert (await indexes_of(index.table)).get(index.name) == (False, index.columns), index


async def test_column_level_unique_and_index_exist():
    for table in tables():
        found = set((await indexes_of(table._meta.tablename)).values())
        for column in table._meta.columns:
            name = (column._meta.db_column_name,)
            if column._meta.unique:
                assert (True, name) in found, (table, name)
            if column._meta.index:
                assert (False, name) in found or (True, name) in found, (table, name)


async def test_integer_columns_have_the_declared_width():
    """BigInt columns are 64-bit in the database: BIGINT on PostgreSQL; on SQLite every
    INTEGER is (Piccolo declares BigInt as INTEGER there)."""
    big = {
        (t._meta.tablename, c._meta.db_column_name)
        for t in tables()
        for c in t._meta.columns
        if isinstance(c, BigInt)
    }
    assert {("member_order", "total_cents"), ("membership_fee", "amount_cents")} <= big
    for table in tables():
        name = table._meta.tablename
        if is_sqlite():
            types = {
                r["name"]: r["type"] for r in await db().run_ddl(f'PRAGMA table_info("{name}")')
            }
        else:
            rows = await Product.raw(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = {} AND table_schema = current_schema()",
                name,
            )
            types = {r["column_name"]: r["data_type"] for r in rows}
        for column in table._meta.columns:
            if isinstance(column, Serial) or not isinstance(column, (Integer, BigInt)):
                continue
            expected = "bigint" if isinstance(column, BigInt) else "integer"
            if is_sqlite():
                expected = "INTEGER"
            assert types[column._meta.db_column_name] == expected, (name, column)


async def test_the_migrations_give_what_the_tables_declare():
    """Piccolo's auto-migration finds nothing missing: the migrations' snapshot matches
    domain/tables.py. (Piccolo always re-emits an `alter_column` for a ForeignKey given as
    a string, with identical old and new params: those change nothing and are left out.)"""
    app_config = Finder().get_app_config("domain")
    statements = await AutoMigrationManager(auto_input="y").get_alter_statements(app_config)
    changes = [
        line
        for group in statements
        for line in group.statements
        if not re.search(
            r"params=(\{[^}]*\}), old_params=\1, column_class=ForeignKey, "
            r"old_column_class=ForeignKey",
            line,
        )
    ]
    assert changes == []


# ---- what the database refuses -----------------------------------------------------------


async def world() -> dict:
    """A member of a group, a distribution of yesterday, a catalog of three products at the
    largest price: limited stock (5), unlimited, sold out."""
    user = await build.person("c@example.org")
    group = await build.group(user)
    place = await build.place(group["id"])
    starts = clock.now() - timedelta(days=1)
    dist = await build.distribution(
        group["id"], place, starts, closes_at=starts - timedelta(days=2)
    )
    catalog = await build.catalog(group["id"], await build.producer(group["id"], "Ferme"))
    products = [
        await build.product(catalog, name, BIG_PRICE, stock=stock)
        for name, stock in (("Tracteur", 5), ("Moissonneuse", None), ("Charrue", 0))
    ]
    return {
        "user": user,
        "group": group["id"],
        "distribution": dist,
        "catalog": catalog,
        "products": products,
    }


async def test_a_stock_below_zero_is_refused_and_null_means_unlimited():
    w = await world()
    limited, unlimited, _ = w["products"]
    with pytest.raises(REFUSED):
        await Product.update({Product.stock: Product.stock - 6}).where(Product.id == limited)
    assert (await Product.select(Product.stock).where(Product.id == limited).first()) == {
        "stock": 5
    }
    await Product.update({Product.stock: 0}).where(Product.id == limited)
    await Product.update({Product.stock: None}).where(Product.id == limited)
    assert await Product.count().where(Product.stock.is_null()) == 2
    with pytest.raises(REFUSED):
        await Product.insert(Product(catalog=w["catalog"], name="X", price_cents=1, stock=-1))
    assert (await Product.select(Product.stock).where(Product.id == unlimited).first()) == {
        "stock": None
    }


async def test_a_second_order_of_a_member_for_a_distribution_is_refused():
    w = await world()
    await Order.insert(Order(user=w["user"], distribution=w["distribution"]))
    with pytest.raises(REFUSED):
        await Order.insert(Order(user=w["user"], distribution=w["distribution"]))
    assert await Order.count() == 1


async def test_lines_of_quantity_zero_are_refused():
    w = await world()
    order = (
        await Order.insert(Order(user=w["user"], distribution=w["distribution"])).returning(
            Order.id
        )
    )[0]["id"]
    product = w["products"][0]
    with pytest.raises(REFUSED):
        await OrderLine.insert(
            OrderLine(order=order, product=product, quantity=0, unit_price_cents=1)
        )
    await OrderLine.insert(OrderLine(order=order, product=product, quantity=1, unit_price_cents=1))
    with pytest.raises(REFUSED):
        await OrderLine.insert(
            OrderLine(order=order, product=product, quantity=2, unit_price_cents=1)
        )
    with pytest.raises(REFUSED):
        await OrderLine.update({OrderLine.quantity: -1}).where(OrderLine.order == order)
    subscription = (
        await Subscription.insert(
            Subscription(
                user=w["user"], catalog=w["catalog"], starts_on=date.today(), ends_on=date.today()
            )
        ).returning(Subscription.id)
    )[0]["id"]
    with pytest.raises(REFUSED):
        await SubscriptionLine.insert(
            SubscriptionLine(subscription=subscription, product=product, quantity=0)
        )


# ---- money in 64 bits --------------------------------------------------------------------


async def test_a_total_beyond_32_bits_is_stored_and_read_back_exactly():
    w = await world()
    total = BIG_PRICE * 3  # 29 999 999,97 €: more than 2**31 - 1 cents
    assert total > 2**31 - 1
    order = (
        await Order.insert(
            Order(user=w["user"], distribution=w["distribution"], total_cents=total)
        ).returning(Order.id)
    )[0]["id"]
    assert (await Order.select(Order.total_cents).where(Order.id == order).first()) == {
        "total_cents": total
    }
    await MembershipFee.insert(
        MembershipFee(
            group=w["group"], user=w["user"], year=2026, amount_cents=total, paid_on=date.today()
        )
    )
    assert (await MembershipFee.select(MembershipFee.amount_cents).first()) == {
        "amount_cents": total
    }


async def test_line_totals_beyond_32_bits_are_summed_exactly():
    """The order's total (refresh_total) and the recaps' SQL sums: a line of 3 × 9 999 999,99 €
    is more than a 32-bit integer holds, on its own."""
    w = await world()
    order = (
        await Order.insert(
            Order(
                user=w["user"],
                distribution=w["distribution"],
                state="validated",
                validated_at=datetime.now(UTC),
            )
        ).returning(Order.id)
    )[0]["id"]
    await OrderLine.insert(
        *[
            OrderLine(order=order, product=p, quantity=3, unit_price_cents=BIG_PRICE)
            for p in w["products"]
        ]
    )
    total = 9 * BIG_PRICE
    assert await changes.refresh_total(order) == total
    assert (await Order.select(Order.total_cents).first())["total_cents"] == total
    catalog, dist = w["catalog"], w["distribution"]
    assert (await recaps.totals(catalog, dist))["total_cents"] == total
    assert (await recaps.by_member(catalog, dist)).total_cents == total
    assert (await recaps.by_product(catalog, dist)).total_cents == total
    sales = await statistics.sales_by_distribution(catalog)
    assert [s["amount_cents"] for s in sales] == [total]
    assert [p["amount_cents"] for p in await statistics.top_products(catalog)] == [
        3 * BIG_PRICE
    ] * 3
    assert (await catalogs.summary(catalog))["sales_cents"] == total
