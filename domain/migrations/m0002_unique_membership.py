"""Composite unique indexes, as raw SQL: SQLite cannot ALTER TABLE ... ADD CONSTRAINT,
and Piccolo runs raw steps before creating tables, so they live in their own migration."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-23T09:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique (user, group) on membership"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="domain", description=DESCRIPTION)

    async def create_indexes():
        await engine_finder().run_ddl(
            'CREATE UNIQUE INDEX IF NOT EXISTS membership_user_group ON membership ("user", "group")'
        )

    manager.add_raw(create_indexes)
    return manager
