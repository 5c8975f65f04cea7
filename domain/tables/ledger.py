"""Tables of the payments ledger (domain/payments)."""

from piccolo.columns import (
    BigInt,
    Boolean,
    Date,
    ForeignKey,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.constraints import Unique
from piccolo.table import Table

from domain.tables.base import index
from domain.tables.core import Distribution, Group, User

# ---- payments: the ledger (domain/payments) ------------------------------------------------


class PaymentSettings(Table, tablename="payment_settings"):
    """A group's « Paiements » settings. No row: the defaults of its kind (the ledger on for
    an AMAP or a market, off for a solidarity grocery; cash and cheques accepted)."""

    group = ForeignKey(Group, null=False, unique=True)
    ledger = Boolean(default=True)
    types = Varchar(length=100, default="especes,cheque")  # accepted payment types
    cheque_payee = Varchar(length=200, default="")  # « à l'ordre de … »
    iban = Varchar(length=50, default="")
    instructions = Text(default="")  # more words for the members (when, where…)
    updated_at = Timestamptz(default=TimestamptzNow())
    updated_by = ForeignKey(User, null=True, default=None)


class Operation(Table, tablename="ledger_operation"):
    """One line of a member's account in a group: never updated, never deleted (a
    correction is a new line). Debts are negative (an order, a subscription, an adhésion,
    an admin's correction), payments positive (a refund negative), in cents; the balance
    is their sum, computed, never stored.

    `subject` names the debt a line belongs to ("order:12", "subscription:3", "fee:5"):
    the debt's amount is the sum of its lines. A payment's `subject` is the debt it was
    recorded for (""), the debts it settles are its `Settlement` rows."""

    group = ForeignKey(Group, null=False, on_delete=OnDelete.restrict)
    user = ForeignKey(User, null=False, on_delete=OnDelete.restrict)
    kind = Varchar(length=20)  # order | subscription | membership | adjustment | payment | refund
    amount_cents = BigInt()
    subject = Varchar(length=40, default="")
    label = Varchar(length=300, default="")
    means = Varchar(length=20, default="")  # especes | cheque | virement | carte (payments)
    reference = Varchar(length=100, default="")  # a cheque's number, a transfer's reference
    paid_on = Date(null=True, default=None)
    distribution = ForeignKey(Distribution, null=True, default=None, on_delete=OnDelete.restrict)
    recorded_by = ForeignKey(User, null=True, default=None, on_delete=OnDelete.restrict)
    created_at = Timestamptz(default=TimestamptzNow())


index(Operation, "ledger_operation_account", Operation.group, Operation.user)
index(Operation, "ledger_operation_subject", Operation.subject)


class Settlement(Table, tablename="ledger_settlement"):
    """A payment settles these debts (its subjects), first: what it does not cover goes
    to the member's oldest debts still to pay (domain/payments/status.py)."""

    payment = ForeignKey(Operation, null=False)
    subject = Varchar(length=40)

    ledger_settlement_pair = Unique([payment, subject])


class PaymentPledge(Table, tablename="payment_pledge"):
    """« Je paierai par chèque »: how a member says they will pay a debt. Not money: it
    changes no balance, and the member may change their mind (one row per debt)."""

    group = ForeignKey(Group, null=False)
    user = ForeignKey(User, null=False)
    subject = Varchar(length=40, unique=True)
    means = Varchar(length=20)
    created_at = Timestamptz(default=TimestamptzNow())


index(PaymentPledge, "payment_pledge_account", PaymentPledge.group, PaymentPledge.user)
