"""Unique and lookup indexes of migration m0005's tables, as raw SQL portable to SQLite."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-23T11:02:41:000000"
VERSION = "1.38.0"
DESCRIPTION = "indexes of the catalog menu, members, mail and instance tables"

STATEMENTS = [
    'CREATE UNIQUE INDEX IF NOT EXISTS mail_opt_out_pair ON mail_opt_out ("user", kind)',
    'CREATE UNIQUE INDEX IF NOT EXISTS redirect_count_day ON redirect_count ("group", day)',
    'CREATE INDEX IF NOT EXISTS join_request_group ON join_request ("group", state)',
    'CREATE INDEX IF NOT EXISTS membership_fee_group ON membership_fee ("group", year)',
    'CREATE INDEX IF NOT EXISTS consent_record_user ON consent_record ("user")',
    "CREATE INDEX IF NOT EXISTS catalog_document_catalog ON catalog_document (catalog)",
    'CREATE INDEX IF NOT EXISTS group_message_group ON group_message ("group", created_at)',
    'CREATE INDEX IF NOT EXISTS outbox_mail_user ON outbox_mail ("user")',
    "CREATE INDEX IF NOT EXISTS outbox_mail_message ON outbox_mail (message)",
    'CREATE INDEX IF NOT EXISTS membership_user ON membership ("user")',
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="domain", description=DESCRIPTION)

    async def create_indexes():
        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
