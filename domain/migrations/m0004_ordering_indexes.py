"""Unique and lookup indexes of the ordering tables, as raw SQL portable to SQLite."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-23T09:14:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ordering indexes"

STATEMENTS = [
    "CREATE UNIQUE INDEX IF NOT EXISTS member_order_user_distribution "
    'ON member_order ("user", distribution)',
    'CREATE UNIQUE INDEX IF NOT EXISTS order_line_order_product ON order_line ("order", product)',
    "CREATE UNIQUE INDEX IF NOT EXISTS catalog_distribution_pair "
    "ON catalog_distribution (catalog, distribution)",
    "CREATE UNIQUE INDEX IF NOT EXISTS subscription_line_pair "
    "ON subscription_line (subscription, product)",
    "CREATE INDEX IF NOT EXISTS product_catalog ON product (catalog, position)",
    "CREATE INDEX IF NOT EXISTS order_line_product ON order_line (product)",
    "CREATE INDEX IF NOT EXISTS member_order_distribution ON member_order (distribution)",
    'CREATE INDEX IF NOT EXISTS distribution_group_start ON distribution ("group", starts_at)',
    "CREATE INDEX IF NOT EXISTS catalog_distribution_distribution "
    "ON catalog_distribution (distribution)",
    'CREATE INDEX IF NOT EXISTS subscription_user ON subscription ("user", catalog)',
    'CREATE INDEX IF NOT EXISTS membership_group ON membership ("group")',
    'CREATE INDEX IF NOT EXISTS vendor_group ON vendor ("group")',
    'CREATE INDEX IF NOT EXISTS catalog_group ON catalog ("group")',
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="domain", description=DESCRIPTION)

    async def create_indexes():
        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
