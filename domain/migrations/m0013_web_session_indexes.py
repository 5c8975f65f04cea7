"""Lookup indexes of the sessions: by account (ending its sessions) and by expiry (pruning)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-01T23:25:46:000000"
VERSION = "1.38.0"
DESCRIPTION = "session indexes"

STATEMENTS = [
    'CREATE INDEX IF NOT EXISTS web_session_user ON web_session ("user")',
    "CREATE INDEX IF NOT EXISTS web_session_expires ON web_session (expires_at)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="domain", description=DESCRIPTION)

    async def create_indexes():
        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
