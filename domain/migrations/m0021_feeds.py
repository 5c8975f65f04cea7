"""Calendar feeds and one's own data (RGPD).

- `calendar_feed`: a member's private calendar address per group; `distribution.sequence`,
  bumped when a distribution moves or is cancelled, so that calendar apps update their
  event;
- `app_user.last_seen_at` (last login or use of a session) and `inactivity_notice` (the
  warnings before an unused account is deleted, once each); `app_user.deleted_at` marks the
  anonymous placeholders that keep a deleted account's orders for its groups;
- an index of `membership_fee` by person.

Additive. The unique constraints and the index are made after Piccolo adds the tables and
columns, as m0011 makes them (a unique index; on PostgreSQL turned into the named
constraint), since Piccolo's ADD CONSTRAINT cannot run on SQLite. Existing distributions
get sequence 0."""

from piccolo.apps.migrations.auto.migration_manager import (
    AddConstraintCollection,
    MigrationManager,
)
from piccolo.columns.base import OnDelete
from piccolo.columns.base import OnUpdate
from piccolo.columns.column_types import Boolean
from piccolo.columns.column_types import Date
from piccolo.columns.column_types import ForeignKey
from piccolo.columns.column_types import Integer
from piccolo.columns.column_types import Serial
from piccolo.columns.column_types import Timestamptz
from piccolo.columns.column_types import Varchar
from piccolo.columns.defaults.date import DateNow
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.constraints import Unique
from piccolo.engine.finder import engine_finder
from piccolo.table import Table


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


ID = "2026-12-09T14:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "calendar feeds, inactivity notices, deleted-account placeholders"

UNIQUES = {
    "calendar_feed_pair": ("calendar_feed", '"user", "group"'),
    "inactivity_notice_once": ("inactivity_notice", '"user", since, stage'),
}
INDEXES = ['CREATE INDEX IF NOT EXISTS membership_fee_user ON membership_fee ("user")']


class AddThenIndex(MigrationManager):
    """The constraints and the index need the new tables: made right after Piccolo adds
    the tables and columns (its raw steps run before), never by Piccolo's own DDL."""

    async def _run_add_tables(self, backwards: bool = False):
        # Piccolo would write the constraints into CREATE TABLE (in a form SQLite refuses).
        declared, self.add_constraints = self.add_constraints, AddConstraintCollection()
        try:
            await super()._run_add_tables(backwards=backwards)
        finally:
            self.add_constraints = declared

    async def _run_add_columns(self, backwards: bool = False):
        await super()._run_add_columns(backwards=backwards)
        if backwards:
            return
        engine = engine_finder()
        for name, (table, columns) in UNIQUES.items():
            await engine.run_ddl(f"CREATE UNIQUE INDEX IF NOT EXISTS {name} ON {table} ({columns})")
            if engine.engine_type != "sqlite":
                found = await engine.run_ddl(
                    f"SELECT 1 FROM pg_constraint WHERE conname = '{name}'"
                )
                if not found:
                    await engine.run_ddl(
                        f"ALTER TABLE {table} ADD CONSTRAINT {name} UNIQUE USING INDEX {name}"
                    )
        for statement in INDEXES:
            await engine.run_ddl(statement)

    async def _run_add_constraints(self, backwards: bool = False):
        return None


async def forwards():
    manager = AddThenIndex(migration_id=ID, app_name="domain", description=DESCRIPTION)

    manager.add_table(
        class_name="CalendarFeed",
        tablename="calendar_feed",
        schema=None,
        columns=None,
    )

    manager.add_table(
        class_name="InactivityNotice",
        tablename="inactivity_notice",
        schema=None,
        columns=None,
    )

    manager.add_column(
        table_class_name="CalendarFeed",
        tablename="calendar_feed",
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
        table_class_name="CalendarFeed",
        tablename="calendar_feed",
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
        table_class_name="CalendarFeed",
        tablename="calendar_feed",
        column_name="version",
        db_column_name="version",
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
        table_class_name="CalendarFeed",
        tablename="calendar_feed",
        column_name="active",
        db_column_name="active",
        column_class_name="Boolean",
        column_class=Boolean,
        params={
            "default": True,
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
        table_class_name="CalendarFeed",
        tablename="calendar_feed",
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
        table_class_name="InactivityNotice",
        tablename="inactivity_notice",
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
        table_class_name="InactivityNotice",
        tablename="inactivity_notice",
        column_name="since",
        db_column_name="since",
        column_class_name="Date",
        column_class=Date,
        params={
            "default": DateNow(),
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
        table_class_name="InactivityNotice",
        tablename="inactivity_notice",
        column_name="stage",
        db_column_name="stage",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 20,
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
        table_class_name="InactivityNotice",
        tablename="inactivity_notice",
        column_name="queued_at",
        db_column_name="queued_at",
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
        table_class_name="CalendarFeed",
        tablename="calendar_feed",
        constraint_name="calendar_feed_pair",
        constraint_class=Unique,
        params={"columns": ["user", "group"], "nulls_distinct": True},
        schema=None,
    )

    manager.add_constraint(
        table_class_name="InactivityNotice",
        tablename="inactivity_notice",
        constraint_name="inactivity_notice_once",
        constraint_class=Unique,
        params={"columns": ["user", "since", "stage"], "nulls_distinct": True},
        schema=None,
    )

    manager.add_column(
        table_class_name="Distribution",
        tablename="distribution",
        column_name="sequence",
        db_column_name="sequence",
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
        table_class_name="User",
        tablename="app_user",
        column_name="deleted_at",
        db_column_name="deleted_at",
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
        table_class_name="User",
        tablename="app_user",
        column_name="last_seen_at",
        db_column_name="last_seen_at",
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



    return manager
