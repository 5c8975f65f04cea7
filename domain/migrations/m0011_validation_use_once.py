"""A validation record is used once by each consumer: unique (record, consumer), declared
to Piccolo as a `Unique` and made by a raw step, as m0009 does (a unique index; on
PostgreSQL turned into the named constraint)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.constraints import Unique
from piccolo.engine.finder import engine_finder

ID = "2026-12-01T22:41:48:000000"
VERSION = "1.38.0"
DESCRIPTION = "validation use once"
NAME = "validation_use_once"


class RawDDL(MigrationManager):
    async def _run_add_constraints(self, backwards: bool = False):
        return None


async def forwards():
    manager = RawDDL(migration_id=ID, app_name="domain", description=DESCRIPTION)
    manager.add_constraint(
        table_class_name="ValidationUse",
        tablename="validation_use",
        constraint_name=NAME,
        constraint_class=Unique,
        params={"columns": ["record", "consumer"], "nulls_distinct": True},
        schema=None,
    )

    async def create():
        engine = engine_finder()
        await engine.run_ddl(
            f"CREATE UNIQUE INDEX IF NOT EXISTS {NAME} ON validation_use (record, consumer)"
        )
        if engine.engine_type != "sqlite":
            found = await engine.run_ddl(f"SELECT 1 FROM pg_constraint WHERE conname = '{NAME}'")
            if not found:
                await engine.run_ddl(
                    f"ALTER TABLE validation_use ADD CONSTRAINT {NAME} UNIQUE USING INDEX {NAME}"
                )

    manager.add_raw(create)
    return manager
