"""The scheduler looks for due reminders across all groups, by start time."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-23T11:02:42:000000"
VERSION = "1.38.0"
DESCRIPTION = "distribution start index for the scheduler"

STATEMENTS = [
    "CREATE INDEX IF NOT EXISTS distribution_start ON distribution (starts_at)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="domain", description=DESCRIPTION)

    async def create_indexes():
        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
