"""Which debts are « Payé », which are « À payer »: derived from the operations each time,
never stored, so that it cannot drift from them.

A payment first settles the debts it was recorded for (its settlements), each up to what
is still due; what it does not use there, and every payment recorded for nothing in
particular, goes to the member's oldest debts still to pay. A refund takes money back: from
what no debt used first, then from the newest debts paid. A debt brought to zero or below
(a deleted order, an admin's correction) is « Annulée »; below zero it is money owed to the
member, like a payment.

So, whatever the operations: what the debts still ask (« À payer ») minus the money no debt
used (the credit; below zero if more was refunded than paid) is exactly minus the balance."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from domain.payments import DEBT_KINDS, PAYMENT_KINDS


@dataclass
class Debt:
    subject: str
    first_id: int  # its first operation: the order of the debts
    label: str
    due_cents: int = 0  # what the debt asks, corrections included
    paid_cents: int = 0  # what payments settle of it

    @property
    def left_cents(self) -> int:
        return max(0, self.due_cents - self.paid_cents)

    @property
    def state(self) -> str:
        """paid | due | cancelled."""
        if self.due_cents <= 0:
            return "cancelled"
        return "paid" if self.paid_cents >= self.due_cents else "due"


@dataclass
class Settled:
    debts: dict[str, Debt]  # by subject, oldest first
    # Money no debt used; below zero when more was refunded than was ever paid.
    credit_cents: int
    balance_cents: int

    @property
    def due_cents(self) -> int:
        return sum(d.left_cents for d in self.debts.values())


def settle(operations: Iterable[Mapping], settlements: Mapping[int, Iterable[str]]) -> Settled:
    """`operations`: one member's in one group ({id, kind, amount_cents, subject, label});
    `settlements`: {payment id: the subjects it settles, in order}."""
    ops = sorted(operations, key=lambda op: op["id"])
    debts: dict[str, Debt] = {}
    for op in ops:
        if op["kind"] in DEBT_KINDS:
            debt = debts.get(op["subject"])
            if debt is None:
                debt = debts[op["subject"]] = Debt(op["subject"], op["id"], op["label"])
            debt.due_cents -= op["amount_cents"]
    pool = sum(-d.due_cents for d in debts.values() if d.due_cents < 0)
    for op in ops:
        if op["kind"] not in PAYMENT_KINDS:
            continue
        amount = op["amount_cents"]
        if amount <= 0:
            pool += amount  # a refund
            continue
        for subject in settlements.get(op["id"], ()):
            debt = debts.get(subject)
            if debt is None or amount <= 0:
                continue
            used = min(amount, debt.left_cents)
            debt.paid_cents += used
            amount -= used
        pool += amount
    for debt in debts.values():  # the rest, oldest debts first
        if pool <= 0:
            break
        used = min(pool, debt.left_cents)
        debt.paid_cents += used
        pool -= used
    for debt in reversed(list(debts.values())):  # refunds beyond the credit: newest first
        if pool >= 0:
            break
        back = min(-pool, debt.paid_cents)
        debt.paid_cents -= back
        pool += back
    balance = sum(op["amount_cents"] for op in ops)
    return Settled(debts=debts, credit_cents=pool, balance_cents=balance)
