"""The acceptance of a membership: when the person said yes (None until then), whether the
account existed before an admin added it, and what the admin typed for it (names, phone,
address).

Additive, like m0008; its data step runs right after the columns are added: every existing
membership counts as accepted (at its creation)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Boolean, Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.engine.finder import engine_finder

ID = "2026-12-08T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "membership acceptance"


class AddThenFill(MigrationManager):
    """The data step needs the new columns: it runs after Piccolo adds them (its raw steps
    run before)."""

    async def _run_add_columns(self, backwards: bool = False):
        await super()._run_add_columns(backwards=backwards)
        if not backwards:
            await engine_finder().run_ddl(
                "UPDATE membership SET accepted_at = created_at WHERE accepted_at IS NULL"
            )


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


async def forwards():
    manager = AddThenFill(migration_id=ID, app_name="domain", description=DESCRIPTION)
    columns = (
        ("accepted_at", "Timestamptz", Timestamptz, _params(default=None, null=True)),
        ("existing_account", "Boolean", Boolean, _params(default=False)),
        ("invited_first_name", "Varchar", Varchar, _params(length=100, default="")),
        ("invited_last_name", "Varchar", Varchar, _params(length=100, default="")),
        ("invited_phone", "Varchar", Varchar, _params(length=40, default="")),
        ("invited_address", "Varchar", Varchar, _params(length=200, default="")),
        ("invited_postal_code", "Varchar", Varchar, _params(length=10, default="")),
        ("invited_city", "Varchar", Varchar, _params(length=100, default="")),
    )
    for name, class_name, column_class, params in columns:
        manager.add_column(
            table_class_name="Membership",
            tablename="membership",
            column_name=name,
            db_column_name=name,
            column_class_name=class_name,
            column_class=column_class,
            params=params,
            schema=None,
        )
    return manager
