"""Mode création: the accounts an admin made for a person, held from every mail until the
person takes them over (`app_user.takeover_pending`), and the proof of the person's
consent attached to its record (`consent_record.proof*`).

Additive, like m0016; its data step runs right after the columns are added: an account
made in Mode création before this migration (a consent record, no password yet) is held
too, since nobody has taken it over."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Boolean, Bytea, Integer, Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.engine.finder import engine_finder

ID = "2026-12-09T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "mode creation: held accounts and consent proofs"

HOLD_EXISTING = (
    "UPDATE app_user SET takeover_pending = TRUE WHERE password_hash IS NULL "
    'AND id IN (SELECT "user" FROM consent_record)'
)


class AddThenFill(MigrationManager):
    """The data step needs the new columns: it runs after Piccolo adds them (its raw steps
    run before)."""

    async def _run_add_columns(self, backwards: bool = False):
        await super()._run_add_columns(backwards=backwards)
        if not backwards:
            await engine_finder().run_ddl(HOLD_EXISTING)


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
    manager.add_column(
        table_class_name="User",
        tablename="app_user",
        column_name="takeover_pending",
        db_column_name="takeover_pending",
        column_class_name="Boolean",
        column_class=Boolean,
        params=_params(default=False),
        schema=None,
    )
    columns = (
        ("proof", "Bytea", Bytea, _params(default=None, null=True)),
        ("proof_name", "Varchar", Varchar, _params(length=120, default="")),
        ("proof_type", "Varchar", Varchar, _params(length=40, default="")),
        ("proof_size", "Integer", Integer, _params(default=0)),
        ("proof_at", "Timestamptz", Timestamptz, _params(default=None, null=True)),
    )
    for name, class_name, column_class, params in columns:
        manager.add_column(
            table_class_name="ConsentRecord",
            tablename="consent_record",
            column_name=name,
            db_column_name=name,
            column_class_name=class_name,
            column_class=column_class,
            params=params,
            schema=None,
        )
    return manager
