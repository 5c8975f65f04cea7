"""One member's account in a group: their operations, oldest first with the balance after
each, which debts are « Payé » or « À payer », what they said they would pay with. What
the member sees of themselves (Mon compte → Paiements, after « Valider ma commande ») and
what the group's admins see of them: the same rows, read through the group."""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.accounts import display_name
from domain.payments import DEBT_KINDS, MEANS, PAYMENT_KINDS, PLEDGES, order_subject
from domain.payments.settings import LEDGER_BY_KIND, settings_of
from domain.payments.status import Debt, Settled, settle
from domain.tables import Group, Membership, Operation, PaymentPledge, Settlement

STATE_LABELS = {"paid": "Payé", "due": "À payer", "cancelled": "Annulée"}


@dataclass
class Account:
    operations: list[dict]  # newest first, each with its `running` balance
    debts: list[Debt]  # oldest first
    settled: Settled
    pledges: dict[str, str] = field(default_factory=dict)  # subject -> means

    @property
    def balance_cents(self) -> int:
        return self.settled.balance_cents

    @property
    def due_cents(self) -> int:
        return self.settled.due_cents

    @property
    def open_debts(self) -> list[Debt]:
        return [d for d in self.debts if d.state == "due"]


async def settlements_of(payment_ids: list[int]) -> dict[int, list[str]]:
    if not payment_ids:
        return {}
    rows = (
        await Settlement.select(Settlement.payment, Settlement.subject)
        .where(Settlement.payment.is_in(payment_ids))
        .order_by(Settlement.id)
    )
    found: dict[int, list[str]] = {}
    for row in rows:
        found.setdefault(row["payment"], []).append(row["subject"])
    return found


async def operations_of(group_id: int, user_id: int) -> list[dict]:
    return (
        await Operation.select(
            *Operation.all_columns(),
            Operation.recorded_by.first_name.as_alias("by_first_name"),
            Operation.recorded_by.last_name.as_alias("by_last_name"),
            Operation.recorded_by.email.as_alias("by_email"),
        )
        .where((Operation.group == group_id) & (Operation.user == user_id))
        .order_by(Operation.id)
    )


async def account_of(group_id: int, user_id: int) -> Account:
    """Three queries whatever the member's history: operations, settlements, pledges."""
    ops = await operations_of(group_id, user_id)
    links = await settlements_of([o["id"] for o in ops if o["kind"] in PAYMENT_KINDS])
    settled = settle(ops, links)
    pledges = {
        p["subject"]: p["means"]
        for p in await PaymentPledge.select(PaymentPledge.subject, PaymentPledge.means).where(
            (PaymentPledge.group == group_id) & (PaymentPledge.user == user_id)
        )
    }
    running = 0
    firsts = {d.first_id for d in settled.debts.values()}
    for op in ops:
        running += op["amount_cents"]
        op["running"] = running
        op["who"] = (
            display_name(
                {
                    "first_name": op["by_first_name"],
                    "last_name": op["by_last_name"],
                    "email": op["by_email"],
                }
            )
            if op["recorded_by"]
            else ""
        )
        op["is_debt"] = op["kind"] in DEBT_KINDS
        op["means_label"] = MEANS.get(op["means"], op["means"])
        op["debt"] = settled.debts.get(op["subject"]) if op["id"] in firsts else None
        op["settles"] = links.get(op["id"], [])
    debts = list(settled.debts.values())
    return Account(operations=ops[::-1], debts=debts, settled=settled, pledges=pledges)


def state_label(debt: Debt) -> str:
    return STATE_LABELS[debt.state]


async def has_account(group_id: int, user_id: int) -> bool:
    """A member of the group, or a former one whose operations the group keeps."""
    if await Membership.exists().where(
        (Membership.group == group_id) & (Membership.user == user_id)
    ):
        return True
    return await Operation.exists().where(
        (Operation.group == group_id) & (Operation.user == user_id)
    )


async def order_payment(group_id: int, user_id: int, order_id: int) -> dict | None:
    """After « Valider ma commande »: what the member owes for this order and in all, how
    the group is paid, what they said they would pay with. None: the group keeps no
    accounts (or this order has no debt: validated before the ledger)."""
    options = await settings_of(group_id)
    if not options["ledger"]:
        return None
    account = await account_of(group_id, user_id)
    debt = account.settled.debts.get(order_subject(order_id))
    if debt is None:
        return None
    return {
        "debt": debt,
        "state": state_label(debt),
        "balance_cents": account.balance_cents,
        "due_cents": account.due_cents,
        "pledge": account.pledges.get(debt.subject, ""),
        "pledges": {t: PLEDGES[t] for t in options["types"]},
        "settings": options,
        "subject": debt.subject,
    }


async def groups_of_user(user_id: int, instance: str) -> list[dict]:
    """Mon compte → Paiements: the user's groups on this instance with an account (they
    are a member, or the group keeps operations of theirs), each with its balance."""
    rows = await Group.raw(
        "SELECT g.id, g.name, g.slug, g.kind, "
        "(SELECT COALESCE(SUM(o.amount_cents), 0) FROM ledger_operation o "
        'WHERE o."group" = g.id AND o."user" = {}) AS balance, '
        '(SELECT COUNT(*) FROM ledger_operation o WHERE o."group" = g.id AND o."user" = {}) '
        "AS operations, s.ledger "
        'FROM app_group g LEFT JOIN payment_settings s ON s."group" = g.id '
        "WHERE g.instance = {} AND (g.id IN "
        '(SELECT m."group" FROM membership m WHERE m."user" = {}) OR g.id IN '
        '(SELECT o."group" FROM ledger_operation o WHERE o."user" = {})) '
        "ORDER BY g.name, g.id",
        user_id,
        user_id,
        instance,
        user_id,
        user_id,
    )
    for row in rows:
        on = row["ledger"] if row["ledger"] is not None else LEDGER_BY_KIND.get(row["kind"], True)
        row["ledger"] = bool(on)
        row["balance"] = int(row["balance"] or 0)
    return [r for r in rows if r["ledger"] or r["operations"]]


async def balance_of(group_id: int, user_id: int) -> int:
    """The member's balance in the group (one query)."""
    row = (
        await Operation.select(Operation.amount_cents.as_alias("x"))
        .where((Operation.group == group_id) & (Operation.user == user_id))
        .output(as_list=True)
    )
    return sum(row)
