"""The producer space's products: a producer (`producer`) owns products that every catalog
of its vendors may offer, with one stock; the product gets a category and its Escarcelle
fields (id, stock there, time of the last sync).

- `producer`: one per login account of vendors (the producer space is the account's),
  one per vendor without a login; `vendor.producer` points to it, and every existing
  product belongs to its catalog's vendor's producer.
- `product.catalog` becomes nullable: a product of the producer's list only, offered by
  catalogs through `catalog_offer` (one catalog per group: unique (product, group)).
- `product.category`, `product.escarcelle_id` (unique per producer),
  `product.escarcelle_stock`, `product.escarcelle_synced_at`: NULL for every product.

Piccolo declares everything (its snapshot matches domain/tables.py); the raw step, right
after the columns are added, makes the NOT NULL change, the indexes and unique
constraints (as m0009 and m0011 do) and the data. SQLite has no ALTER COLUMN: `product`
is rebuilt by the documented procedure, on a connection of its own with foreign keys
off, in one transaction with the indexes and the data. PostgreSQL: all of it inside
Piccolo's transaction. No backwards step.
"""

from piccolo.apps.migrations.auto.migration_manager import (
    AddConstraintCollection,
    MigrationManager,
)
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import ForeignKey, Integer, Serial, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.constraints import Unique
from piccolo.engine.finder import engine_finder
from piccolo.table import Table

ID = "2026-12-09T16:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "producer products: the producer space's list, offers, one stock"


class Catalog(Table, tablename="catalog", schema=None):
    id = Serial(primary_key=True)


class Group(Table, tablename="app_group", schema=None):
    id = Serial(primary_key=True)


class Producer(Table, tablename="producer", schema=None):
    id = Serial(primary_key=True)


class Product(Table, tablename="product", schema=None):
    id = Serial(primary_key=True)


UNIQUES = [
    ("CatalogOffer", "catalog_offer", "catalog_offer_pair", ["catalog", "product"]),
    ("CatalogOffer", "catalog_offer", "catalog_offer_group", ["product", "group"]),
    ("Product", "product", "product_producer_escarcelle", ["producer", "escarcelle_id"]),
]
INDEXES = [
    "CREATE INDEX IF NOT EXISTS vendor_producer ON vendor (producer)",
    "CREATE INDEX IF NOT EXISTS product_producer ON product (producer, name)",
] + [
    f'CREATE UNIQUE INDEX IF NOT EXISTS {name} ON {table} ({", ".join(chr(34) + c + chr(34) for c in columns)})'
    for _, table, name, columns in UNIQUES
]
# Every product belongs to its catalog's vendor's producer.
PRODUCTS = (
    "UPDATE product SET producer = (SELECT v.producer FROM catalog c "
    "JOIN vendor v ON v.id = c.vendor WHERE c.id = product.catalog) "
    "WHERE producer IS NULL AND catalog IS NOT NULL"
)


def producers_of(vendors: list[tuple]) -> list[tuple[str, list[int]]]:
    """(name, vendor ids) per producer to make: the vendors of one login account together
    (named after the first of them), each vendor without a login alone."""
    by_user: dict[int, list] = {}
    made: list[tuple[str, list[int]]] = []
    for vendor_id, name, user_id in sorted(vendors):
        if user_id is None:
            made.append((name, [vendor_id]))
        elif user_id in by_user:
            by_user[user_id][1].append(vendor_id)
        else:
            by_user[user_id] = (name, [vendor_id])
            made.append(by_user[user_id])
    return made


class Migration(MigrationManager):
    """Piccolo adds the tables and columns; its DDL for the constraints and the column
    change is skipped (the raw step does them), and the new table is created without
    inline constraints (they are named unique indexes, as everywhere else)."""

    async def _run_add_tables(self, backwards: bool = False):
        kept, self.add_constraints = self.add_constraints, AddConstraintCollection()
        try:
            await super()._run_add_tables(backwards=backwards)
        finally:
            self.add_constraints = kept

    async def _run_add_columns(self, backwards: bool = False):
        await super()._run_add_columns(backwards=backwards)
        if not backwards:
            engine = engine_finder()
            if engine.engine_type == "sqlite":
                await apply_sqlite(engine)
            else:
                await apply_postgres(engine)

    async def _run_alter_columns(self, backwards: bool = False):
        return None

    async def _run_add_constraints(self, backwards: bool = False):
        return None


# ---- PostgreSQL ------------------------------------------------------------------------


async def apply_postgres(engine) -> None:
    await engine.run_ddl('ALTER TABLE product ALTER COLUMN "catalog" DROP NOT NULL')
    for statement in INDEXES:
        await engine.run_ddl(statement)
    existing = {row["conname"] for row in await engine.run_ddl("SELECT conname FROM pg_constraint")}
    for _, table, name, _ in UNIQUES:
        if name not in existing:
            await engine.run_ddl(f"ALTER TABLE {table} ADD CONSTRAINT {name} UNIQUE USING INDEX {name}")
    vendors = await engine.run_ddl(
        'SELECT id, name, "user" FROM vendor WHERE producer IS NULL ORDER BY id'
    )
    for name, vendor_ids in producers_of([(v["id"], v["name"], v["user"]) for v in vendors]):
        rows = await engine.run_ddl(
            f"INSERT INTO producer (name, created_at) VALUES ({_quote(name)}, now()) RETURNING id"
        )
        ids = ", ".join(str(int(i)) for i in vendor_ids)
        await engine.run_ddl(f"UPDATE vendor SET producer = {rows[0]['id']} WHERE id IN ({ids})")
    await engine.run_ddl(PRODUCTS)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# ---- SQLite ----------------------------------------------------------------------------

NOT_NULL = '"catalog" INTEGER NOT NULL REFERENCES'


async def rebuild_product(connection) -> None:
    """Steps 4 to 9 of https://www.sqlite.org/lang_altertable.html#otheralter, the only
    change being the NOT NULL of "catalog"."""
    cursor = await connection.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'product'"
    )
    (sql,) = await cursor.fetchone()
    if NOT_NULL not in sql:
        return  # rebuilt already
    cursor = await connection.execute(
        "SELECT sql FROM sqlite_master "
        "WHERE tbl_name = 'product' AND type IN ('index', 'trigger') AND sql IS NOT NULL"
    )
    dependents = [row[0] for row in await cursor.fetchall()]
    cursor = await connection.execute('PRAGMA table_info("product")')
    columns = ", ".join(f'"{row[1]}"' for row in await cursor.fetchall())
    definition = sql.replace(NOT_NULL, '"catalog" INTEGER REFERENCES', 1)
    head = 'CREATE TABLE "product"'
    if not definition.startswith(head):
        raise RuntimeError(f"m0024: unexpected definition of product: {sql}")
    await connection.execute('CREATE TABLE "new_product"' + definition[len(head) :])
    await connection.execute(f'INSERT INTO "new_product" ({columns}) SELECT {columns} FROM product')
    await connection.execute("DROP TABLE product")
    await connection.execute('ALTER TABLE "new_product" RENAME TO product')
    for statement in dependents:
        await connection.execute(statement)


async def apply_sqlite(engine) -> None:
    import aiosqlite

    kwargs = {k: v for k, v in engine.connection_kwargs.items() if k != "detect_types"}
    async with aiosqlite.connect(**kwargs) as connection:
        await connection.execute("PRAGMA foreign_keys = OFF")  # outside any transaction
        cursor = await connection.execute("PRAGMA foreign_keys")
        if (await cursor.fetchone())[0] != 0:
            raise RuntimeError("m0024: foreign keys could not be disabled")
        try:
            await connection.execute("BEGIN IMMEDIATE")
            try:
                await rebuild_product(connection)
                for statement in INDEXES:
                    await connection.execute(statement)
                cursor = await connection.execute(
                    'SELECT id, name, "user" FROM vendor WHERE producer IS NULL ORDER BY id'
                )
                vendors = await cursor.fetchall()
                for name, vendor_ids in producers_of([tuple(v) for v in vendors]):
                    cursor = await connection.execute(
                        "INSERT INTO producer (name, created_at) VALUES (?, "
                        "strftime('%Y-%m-%d %H:%M:%f+00:00', 'now'))",
                        (name,),
                    )
                    marks = ", ".join("?" for _ in vendor_ids)
                    await connection.execute(
                        f"UPDATE vendor SET producer = ? WHERE id IN ({marks})",
                        (cursor.lastrowid, *vendor_ids),
                    )
                await connection.execute(PRODUCTS)
                cursor = await connection.execute("PRAGMA foreign_key_check")
                broken = await cursor.fetchall()
                if broken:
                    raise RuntimeError(f"m0024: foreign keys broken by the rebuild: {broken}")
                await connection.execute("COMMIT")
            except BaseException:
                await connection.execute("ROLLBACK")
                raise
        finally:
            await connection.execute("PRAGMA foreign_keys = ON")


# ---- the migration ---------------------------------------------------------------------


def _params(**values) -> dict:
    return {
        "null": False,
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
    } | values


def _key(references) -> dict:
    return {
        "references": references,
        "on_delete": OnDelete.cascade,
        "on_update": OnUpdate.cascade,
        "target_column": None,
    }


async def forwards():
    engine = engine_finder()
    sqlite = engine is not None and engine.engine_type == "sqlite"
    manager = Migration(
        migration_id=ID,
        app_name="domain",
        description=DESCRIPTION,
        # SQLite: the rebuild makes its own transaction on its own connection.
        wrap_in_transaction=not sqlite,
    )
    manager.add_table(class_name="Producer", tablename="producer", schema=None, columns=None)
    manager.add_table(
        class_name="CatalogOffer", tablename="catalog_offer", schema=None, columns=None
    )
    columns = [
        ("Producer", "producer", "name", Varchar, _params(length=120, default="")),
        ("Producer", "producer", "created_at", Timestamptz, _params(default=TimestamptzNow())),
        ("CatalogOffer", "catalog_offer", "catalog", ForeignKey, _params(**_key(Catalog))),
        ("CatalogOffer", "catalog_offer", "product", ForeignKey, _params(**_key(Product))),
        ("CatalogOffer", "catalog_offer", "group", ForeignKey, _params(**_key(Group))),
        ("Vendor", "vendor", "producer", ForeignKey, _params(**_key(Producer), null=True)),
        ("Product", "product", "producer", ForeignKey, _params(**_key(Producer), null=True)),
        ("Product", "product", "category", Varchar, _params(length=60, default=None, null=True)),
        (
            "Product",
            "product",
            "escarcelle_id",
            Varchar,
            _params(length=40, default=None, null=True),
        ),
        ("Product", "product", "escarcelle_stock", Integer, _params(default=None, null=True)),
        (
            "Product",
            "product",
            "escarcelle_synced_at",
            Timestamptz,
            _params(default=None, null=True),
        ),
    ]
    for class_name, table, name, column_class, params in columns:
        manager.add_column(
            table_class_name=class_name,
            tablename=table,
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
            schema=None,
        )
    manager.alter_column(
        table_class_name="Product",
        tablename="product",
        column_name="catalog",
        db_column_name="catalog",
        params={"null": True},
        old_params={"null": False},
        column_class=ForeignKey,
        old_column_class=ForeignKey,
        schema=None,
    )
    for class_name, table, name, unique_columns in UNIQUES:
        manager.add_constraint(
            table_class_name=class_name,
            tablename=table,
            constraint_name=name,
            constraint_class=Unique,
            params={"columns": unique_columns, "nulls_distinct": True},
            schema=None,
        )

    async def refuse_backwards():
        raise RuntimeError("m0024 has no backwards step: restore a backup instead.")

    manager.add_raw_backwards(refuse_backwards)
    return manager
