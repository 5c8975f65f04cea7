"""Payments: the ledger (operations, the debts a payment settles, members' pledges) and the
groups' « Paiements » settings.

After the tables, in the same transaction (the steps of `Ledger`, run after Piccolo's):
- the unique (payment, subject) of a settlement and the lookup indexes, as raw SQL
  portable to SQLite (as m0006 and m0011 make theirs);
- existing adhésions (membership_fee) enter the ledger: each one a debt « Adhésion <year> »
  and its payment (same amount, day, means and recorder), the payment settling the debt;
- validation records written before the ledger existed are marked used by the ledger's
  consumer: their orders had no debt to correct.

Every data step inserts only what is missing: run again, it adds nothing."""

from piccolo.apps.migrations.auto.migration_manager import (
    AddConstraintCollection,
    MigrationManager,
)
from piccolo.columns.base import OnDelete
from piccolo.columns.base import OnUpdate
from piccolo.columns.column_types import BigInt
from piccolo.columns.column_types import Boolean
from piccolo.columns.column_types import Date
from piccolo.columns.column_types import ForeignKey
from piccolo.columns.column_types import Serial
from piccolo.columns.column_types import Text
from piccolo.columns.column_types import Timestamptz
from piccolo.columns.column_types import Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.constraints import Unique
from piccolo.engine.finder import engine_finder
from piccolo.table import Table


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


class Operation(Table, tablename="ledger_operation", schema=None):
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


ID = "2026-12-09T15:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "payments ledger; existing adhésions enter it"


SETTLEMENT_PAIR = "ledger_settlement_pair"
INDEXES = [
    'CREATE INDEX IF NOT EXISTS ledger_operation_account ON ledger_operation ("group", "user")',
    "CREATE INDEX IF NOT EXISTS ledger_operation_subject ON ledger_operation (subject)",
    'CREATE INDEX IF NOT EXISTS payment_pledge_account ON payment_pledge ("group", "user")',
]
FEE_SUBJECT = "'fee:' || CAST(f.id AS TEXT)"
COLUMNS = (
    '"group", "user", kind, amount_cents, subject, label, means, reference, paid_on, '
    "distribution, recorded_by, created_at"
)
FEE_DEBTS = (
    f"INSERT INTO ledger_operation ({COLUMNS}) "
    f"SELECT f.\"group\", f.\"user\", 'membership', -f.amount_cents, {FEE_SUBJECT}, "
    "'Adhésion ' || CAST(f.year AS TEXT), '', '', f.paid_on, NULL, f.recorded_by, f.created_at "
    "FROM membership_fee f WHERE NOT EXISTS (SELECT 1 FROM ledger_operation o "
    f"WHERE o.subject = {FEE_SUBJECT} AND o.kind = 'membership') ORDER BY f.id"
)
FEE_PAYMENTS = (
    f"INSERT INTO ledger_operation ({COLUMNS}) "
    f"SELECT f.\"group\", f.\"user\", 'payment', f.amount_cents, {FEE_SUBJECT}, "
    "'Paiement de l''adhésion ' || CAST(f.year AS TEXT), f.means, '', f.paid_on, NULL, "
    "f.recorded_by, f.created_at "
    "FROM membership_fee f WHERE NOT EXISTS (SELECT 1 FROM ledger_operation o "
    f"WHERE o.subject = {FEE_SUBJECT} AND o.kind = 'payment') ORDER BY f.id"
)
FEE_SETTLEMENTS = (
    "INSERT INTO ledger_settlement (payment, subject) SELECT o.id, o.subject "
    "FROM ledger_operation o WHERE o.kind = 'payment' AND o.subject LIKE 'fee:%' "
    "AND NOT EXISTS (SELECT 1 FROM ledger_settlement s WHERE s.payment = o.id) ORDER BY o.id"
)
OLD_RECORDS = (
    "INSERT INTO validation_use (record, consumer, done_at) SELECT r.id, 'payments', r.validated_at "
    "FROM validation_record r WHERE NOT EXISTS (SELECT 1 FROM validation_use u "
    "WHERE u.record = r.id AND u.consumer = 'payments') ORDER BY r.id"
)


async def fill() -> None:
    """The data steps (also run again by the tests: they add nothing the second time)."""
    engine = engine_finder()
    for statement in (FEE_DEBTS, FEE_PAYMENTS, FEE_SETTLEMENTS, OLD_RECORDS):
        await engine.run_ddl(statement)


class Ledger(MigrationManager):
    """Piccolo's steps, then the unique constraint and indexes, then the data. The unique
    constraint is declared to Piccolo's snapshot (`add_constraint`) but made here: SQLite
    refuses the CREATE TABLE that Piccolo would write with it."""

    async def _run_add_tables(self, backwards: bool = False):
        declared, self.add_constraints = self.add_constraints, AddConstraintCollection()
        try:
            await super()._run_add_tables(backwards=backwards)
        finally:
            self.add_constraints = declared

    async def _run_add_constraints(self, backwards: bool = False):
        if backwards:
            return None
        engine = engine_finder()
        await engine.run_ddl(
            f"CREATE UNIQUE INDEX IF NOT EXISTS {SETTLEMENT_PAIR} "
            "ON ledger_settlement (payment, subject)"
        )
        if engine.engine_type != "sqlite":
            found = await engine.run_ddl(
                f"SELECT 1 FROM pg_constraint WHERE conname = '{SETTLEMENT_PAIR}'"
            )
            if not found:
                await engine.run_ddl(
                    f"ALTER TABLE ledger_settlement ADD CONSTRAINT {SETTLEMENT_PAIR} "
                    f"UNIQUE USING INDEX {SETTLEMENT_PAIR}"
                )
        for statement in INDEXES:
            await engine.run_ddl(statement)
        await fill()


async def forwards():
    manager = Ledger(migration_id=ID, app_name="domain", description=DESCRIPTION)

    manager.add_table(
        class_name="PaymentPledge",
        tablename="payment_pledge",
        schema=None,
        columns=None,
    )

    manager.add_table(
        class_name="Operation",
        tablename="ledger_operation",
        schema=None,
        columns=None,
    )

    manager.add_table(
        class_name="PaymentSettings",
        tablename="payment_settings",
        schema=None,
        columns=None,
    )

    manager.add_table(
        class_name="Settlement",
        tablename="ledger_settlement",
        schema=None,
        columns=None,
    )

    manager.add_column(
        table_class_name="PaymentPledge",
        tablename="payment_pledge",
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
        table_class_name="PaymentPledge",
        tablename="payment_pledge",
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
        table_class_name="PaymentPledge",
        tablename="payment_pledge",
        column_name="subject",
        db_column_name="subject",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 40,
            "default": "",
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
        table_class_name="PaymentPledge",
        tablename="payment_pledge",
        column_name="means",
        db_column_name="means",
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
        table_class_name="PaymentPledge",
        tablename="payment_pledge",
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
        table_class_name="Operation",
        tablename="ledger_operation",
        column_name="group",
        db_column_name="group",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params={
            "references": Group,
            "on_delete": OnDelete.restrict,
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
        table_class_name="Operation",
        tablename="ledger_operation",
        column_name="user",
        db_column_name="user",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params={
            "references": User,
            "on_delete": OnDelete.restrict,
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
        table_class_name="Operation",
        tablename="ledger_operation",
        column_name="kind",
        db_column_name="kind",
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
        table_class_name="Operation",
        tablename="ledger_operation",
        column_name="amount_cents",
        db_column_name="amount_cents",
        column_class_name="BigInt",
        column_class=BigInt,
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
        table_class_name="Operation",
        tablename="ledger_operation",
        column_name="subject",
        db_column_name="subject",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 40,
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
        table_class_name="Operation",
        tablename="ledger_operation",
        column_name="label",
        db_column_name="label",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 300,
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
        table_class_name="Operation",
        tablename="ledger_operation",
        column_name="means",
        db_column_name="means",
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
        table_class_name="Operation",
        tablename="ledger_operation",
        column_name="reference",
        db_column_name="reference",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 100,
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
        table_class_name="Operation",
        tablename="ledger_operation",
        column_name="paid_on",
        db_column_name="paid_on",
        column_class_name="Date",
        column_class=Date,
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
        table_class_name="Operation",
        tablename="ledger_operation",
        column_name="distribution",
        db_column_name="distribution",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params={
            "references": Distribution,
            "on_delete": OnDelete.restrict,
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
        table_class_name="Operation",
        tablename="ledger_operation",
        column_name="recorded_by",
        db_column_name="recorded_by",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params={
            "references": User,
            "on_delete": OnDelete.restrict,
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
        table_class_name="Operation",
        tablename="ledger_operation",
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
        table_class_name="PaymentSettings",
        tablename="payment_settings",
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
        table_class_name="PaymentSettings",
        tablename="payment_settings",
        column_name="ledger",
        db_column_name="ledger",
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
        table_class_name="PaymentSettings",
        tablename="payment_settings",
        column_name="types",
        db_column_name="types",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 100,
            "default": "especes,cheque",
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
        table_class_name="PaymentSettings",
        tablename="payment_settings",
        column_name="cheque_payee",
        db_column_name="cheque_payee",
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

    manager.add_column(
        table_class_name="PaymentSettings",
        tablename="payment_settings",
        column_name="iban",
        db_column_name="iban",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 50,
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
        table_class_name="PaymentSettings",
        tablename="payment_settings",
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
        table_class_name="PaymentSettings",
        tablename="payment_settings",
        column_name="updated_at",
        db_column_name="updated_at",
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
        table_class_name="PaymentSettings",
        tablename="payment_settings",
        column_name="updated_by",
        db_column_name="updated_by",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params={
            "references": User,
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
        table_class_name="Settlement",
        tablename="ledger_settlement",
        column_name="payment",
        db_column_name="payment",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params={
            "references": Operation,
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
        table_class_name="Settlement",
        tablename="ledger_settlement",
        column_name="subject",
        db_column_name="subject",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 40,
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

    manager.add_constraint(
        table_class_name="Settlement",
        tablename="ledger_settlement",
        constraint_name="ledger_settlement_pair",
        constraint_class=Unique,
        params={"columns": ["payment", "subject"], "nulls_distinct": True},
        schema=None,
    )



    return manager
