"""Volunteer duties (permanences) and the order forms sent to producers; a mail's own
attachment (an order form's CSV) on its outbox row; a catalog's choice to copy its
coordinator on the order form.

Additive: four new tables, three new columns with defaults. The composite unique
constraints are declared to Piccolo (its snapshot then matches domain/tables.py) and made
as m0011 makes them: a unique index on both engines, turned into the named UNIQUE
constraint on PostgreSQL (Piccolo's ADD CONSTRAINT cannot run on SQLite). They run after
the tables are made, with the plain indexes the queries rely on."""

from piccolo.apps.migrations.auto.migration_manager import (
    AddConstraintCollection,
    MigrationManager,
)
from piccolo.columns.base import OnDelete
from piccolo.columns.base import OnUpdate
from piccolo.columns.column_types import Boolean
from piccolo.columns.column_types import Bytea
from piccolo.columns.column_types import ForeignKey
from piccolo.columns.column_types import Integer
from piccolo.columns.column_types import Serial
from piccolo.columns.column_types import Text
from piccolo.columns.column_types import Timestamptz
from piccolo.columns.column_types import Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.constraints import Unique
from piccolo.engine.finder import engine_finder
from piccolo.table import Table

UNIQUES = (
    ("order_form", "order_form_pair", ("catalog", "distribution")),
    ("duty_signup", "duty_signup_person", ("distribution", "user")),
    ("duty_signup", "duty_signup_place", ("role", "distribution", "place")),
)
INDEXES = (
    ("duty_role", "duty_role_group", ("group",)),
    ("duty_signup", "duty_signup_user", ("user",)),
    ("order_form", "order_form_distribution", ("distribution",)),
)


def _columns(columns: tuple[str, ...]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


async def make_indexes() -> None:
    """Idempotent: each step checks what is there."""
    engine = engine_finder()
    for table, name, columns in UNIQUES:
        await engine.run_ddl(
            f'CREATE UNIQUE INDEX IF NOT EXISTS {name} ON "{table}" ({_columns(columns)})'
        )
        if engine.engine_type != "sqlite":
            found = await engine.run_ddl(f"SELECT 1 FROM pg_constraint WHERE conname = '{name}'")
            if not found:
                await engine.run_ddl(
                    f'ALTER TABLE "{table}" ADD CONSTRAINT {name} UNIQUE USING INDEX {name}'
                )
    for table, name, columns in INDEXES:
        await engine.run_ddl(
            f'CREATE INDEX IF NOT EXISTS {name} ON "{table}" ({_columns(columns)})'
        )


class WithIndexes(MigrationManager):
    """The constraints are declared, not run by Piccolo (it would add them to the CREATE
    TABLE by an ALTER TABLE that SQLite refuses): `make_indexes` makes them once the new
    tables and columns exist (Piccolo's raw steps run before those)."""

    async def _run_add_tables(self, backwards: bool = False):
        declared, self.add_constraints = self.add_constraints, AddConstraintCollection()
        try:
            await super()._run_add_tables(backwards=backwards)
        finally:
            self.add_constraints = declared

    async def _run_add_constraints(self, backwards: bool = False):
        if not backwards:
            await make_indexes()


class Catalog(Table, tablename="catalog", schema=None):
    id = Serial(
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name="id",
        secret=False,
    )


class Distribution(Table, tablename="distribution", schema=None):
    id = Serial(
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name="id",
        secret=False,
    )


class DutyRole(Table, tablename="duty_role", schema=None):
    id = Serial(
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name="id",
        secret=False,
    )


class Group(Table, tablename="app_group", schema=None):
    id = Serial(
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name="id",
        secret=False,
    )


class GroupMessage(Table, tablename="group_message", schema=None):
    id = Serial(
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name="id",
        secret=False,
    )


class Subscription(Table, tablename="subscription", schema=None):
    id = Serial(
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name="id",
        secret=False,
    )


class User(Table, tablename="app_user", schema=None):
    id = Serial(
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name="id",
        secret=False,
    )


ID = "2026-12-09T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "volunteer duties, order forms, a mail's own attachment"


async def forwards():
    manager = WithIndexes(migration_id=ID, app_name="domain", description=DESCRIPTION)

    manager.add_table(class_name="OrderForm", tablename="order_form", schema=None, columns=None)

    manager.add_table(
        class_name="DutySettings",
        tablename="duty_settings",
        schema=None,
        columns=None,
    )

    manager.add_table(class_name="DutyRole", tablename="duty_role", schema=None, columns=None)

    manager.add_table(
        class_name="DutySignup",
        tablename="duty_signup",
        schema=None,
        columns=None,
    )

    manager.add_column(
        table_class_name="OrderForm",
        tablename="order_form",
        column_name="catalog",
        db_column_name="catalog",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params={
            "references": Catalog,
            "on_delete": OnDelete.cascade,
            "on_update": OnUpdate.cascade,
            "target_column": None,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="OrderForm",
        tablename="order_form",
        column_name="distribution",
        db_column_name="distribution",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params={
            "references": Distribution,
            "on_delete": OnDelete.cascade,
            "on_update": OnUpdate.cascade,
            "target_column": None,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="OrderForm",
        tablename="order_form",
        column_name="version",
        db_column_name="version",
        column_class_name="Integer",
        column_class=Integer,
        params={
            "default": 0,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="OrderForm",
        tablename="order_form",
        column_name="digest",
        db_column_name="digest",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 64,
            "default": "",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="OrderForm",
        tablename="order_form",
        column_name="sent_at",
        db_column_name="sent_at",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
        params={
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="OrderForm",
        tablename="order_form",
        column_name="seen_digest",
        db_column_name="seen_digest",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 64,
            "default": "",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="OrderForm",
        tablename="order_form",
        column_name="seen_at",
        db_column_name="seen_at",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
        params={
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="DutySettings",
        tablename="duty_settings",
        column_name="group",
        db_column_name="group",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params={
            "references": Group,
            "on_delete": OnDelete.cascade,
            "on_update": OnUpdate.cascade,
            "target_column": None,
            "null": False,
            "primary_key": False,
            "unique": True,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="DutySettings",
        tablename="duty_settings",
        column_name="open_days",
        db_column_name="open_days",
        column_class_name="Integer",
        column_class=Integer,
        params={
            "default": 60,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="DutySettings",
        tablename="duty_settings",
        column_name="instructions",
        db_column_name="instructions",
        column_class_name="Text",
        column_class=Text,
        params={
            "default": "",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="DutyRole",
        tablename="duty_role",
        column_name="group",
        db_column_name="group",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params={
            "references": Group,
            "on_delete": OnDelete.cascade,
            "on_update": OnUpdate.cascade,
            "target_column": None,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="DutyRole",
        tablename="duty_role",
        column_name="catalog",
        db_column_name="catalog",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params={
            "references": Catalog,
            "on_delete": OnDelete.cascade,
            "on_update": OnUpdate.cascade,
            "target_column": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="DutyRole",
        tablename="duty_role",
        column_name="name",
        db_column_name="name",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 120,
            "default": "",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="DutyRole",
        tablename="duty_role",
        column_name="places",
        db_column_name="places",
        column_class_name="Integer",
        column_class=Integer,
        params={
            "default": 1,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="DutyRole",
        tablename="duty_role",
        column_name="instructions",
        db_column_name="instructions",
        column_class_name="Text",
        column_class=Text,
        params={
            "default": "",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="DutyRole",
        tablename="duty_role",
        column_name="position",
        db_column_name="position",
        column_class_name="Integer",
        column_class=Integer,
        params={
            "default": 0,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="DutyRole",
        tablename="duty_role",
        column_name="removed_at",
        db_column_name="removed_at",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
        params={
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="DutyRole",
        tablename="duty_role",
        column_name="created_at",
        db_column_name="created_at",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
        params={
            "default": TimestamptzNow(),
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="DutySignup",
        tablename="duty_signup",
        column_name="role",
        db_column_name="role",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params={
            "references": DutyRole,
            "on_delete": OnDelete.cascade,
            "on_update": OnUpdate.cascade,
            "target_column": None,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="DutySignup",
        tablename="duty_signup",
        column_name="distribution",
        db_column_name="distribution",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params={
            "references": Distribution,
            "on_delete": OnDelete.cascade,
            "on_update": OnUpdate.cascade,
            "target_column": None,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="DutySignup",
        tablename="duty_signup",
        column_name="user",
        db_column_name="user",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params={
            "references": User,
            "on_delete": OnDelete.cascade,
            "on_update": OnUpdate.cascade,
            "target_column": None,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="DutySignup",
        tablename="duty_signup",
        column_name="place",
        db_column_name="place",
        column_class_name="Integer",
        column_class=Integer,
        params={
            "default": 1,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="DutySignup",
        tablename="duty_signup",
        column_name="assigned_by",
        db_column_name="assigned_by",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params={
            "references": User,
            "on_delete": OnDelete.set_null,
            "on_update": OnUpdate.cascade,
            "target_column": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="DutySignup",
        tablename="duty_signup",
        column_name="created_at",
        db_column_name="created_at",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
        params={
            "default": TimestamptzNow(),
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_constraint(
        table_class_name="OrderForm",
        tablename="order_form",
        constraint_name="order_form_pair",
        constraint_class=Unique,
        params={"columns": ["catalog", "distribution"], "nulls_distinct": True},
        schema=None,
    )

    manager.add_constraint(
        table_class_name="DutySignup",
        tablename="duty_signup",
        constraint_name="duty_signup_person",
        constraint_class=Unique,
        params={"columns": ["distribution", "user"], "nulls_distinct": True},
        schema=None,
    )

    manager.add_constraint(
        table_class_name="DutySignup",
        tablename="duty_signup",
        constraint_name="duty_signup_place",
        constraint_class=Unique,
        params={
            "columns": ["role", "distribution", "place"],
            "nulls_distinct": True,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="Catalog",
        tablename="catalog",
        column_name="order_form_copy",
        db_column_name="order_form_copy",
        column_class_name="Boolean",
        column_class=Boolean,
        params={
            "default": False,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="OutboxMail",
        tablename="outbox_mail",
        column_name="attachment",
        db_column_name="attachment",
        column_class_name="Bytea",
        column_class=Bytea,
        params={
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="OutboxMail",
        tablename="outbox_mail",
        column_name="attachment_name",
        db_column_name="attachment_name",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 200,
            "default": "",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
