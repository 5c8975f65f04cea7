"""« Échéancier »: a subscription's payment plan, read from the ledger each time.

A subscription's debt (« Souscription : … », domain/payments) is what the member owes for
the contract; the plan's days (ContractTerms.instalments) say when its cheques are cashed.
The cheques received are the ledger's payments settling that debt, oldest first: they fill
the first instalments; what the debt still asks is split over the instalments left (equal
parts, the first ones taking the odd cents). So an absence that lowers the debt lowers the
cheques still expected, and a cheque of another amount changes the ones after it, without
anything stored but operations.

The coordinator records each cheque received as a payment of the ledger settling the
subscription's debt, in one transaction with its form key (the same form twice is one
cheque; two people recording at once both count: a payment is an INSERT)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from domain import subscriptions
from domain.contracts import Terms, terms_of
from domain.database import fetch, transaction
from domain.kernel.errors import FieldErrors
from domain.payments import DEBT_KINDS, ledger, records, subscription_subject
from domain.payments.status import settle
from domain.tables import Operation, Subscription

PAGE_SIZE = 50  # subscriptions per page of the ÉCHÉANCIER (the list to print has them all)


class NotFound(LookupError):
    """A subscription that is not this contract's (the web layer answers 404)."""


def split(total_cents: int, count: int) -> list[int]:
    """`total_cents` in `count` parts as equal as cents allow, the first ones larger."""
    if count <= 0:
        return [total_cents]
    base, extra = divmod(total_cents, count)
    return [base + (1 if i < extra else 0) for i in range(count)]


@dataclass
class Instalment:
    number: int
    day: date | None  # when it is cashed (None: beyond the plan, or no plan)
    cents: int
    cheque: dict | None = None  # the payment received for it

    @property
    def received(self) -> bool:
        return self.cheque is not None


def plan(left_cents: int, days: list[date], cheques: list[dict]) -> list[Instalment]:
    """The instalments: those the cheques received paid, then what is left over the days
    left (one more if the plan's days are used up and money is still due)."""
    rows = [
        Instalment(i + 1, days[i] if i < len(days) else None, c["amount_cents"], c)
        for i, c in enumerate(cheques)
    ]
    if left_cents > 0:
        rest: list[date | None] = list(days[len(cheques) :]) or [None]
        for j, cents in enumerate(split(left_cents, len(rest))):
            rows.append(Instalment(len(rows) + 1, rest[j], cents))
    return rows


@dataclass
class MemberPlan:
    subscription: dict
    due_cents: int  # what the subscription's debt asks
    left_cents: int  # what it still asks
    instalments: list[Instalment] = field(default_factory=list)
    has_debt: bool = True  # False: subscribed before the ledger, or a group without it

    @property
    def paid_cents(self) -> int:
        return self.due_cents - self.left_cents

    @property
    def expected(self) -> list[Instalment]:
        return [i for i in self.instalments if not i.received]

    @property
    def received(self) -> list[Instalment]:
        return [i for i in self.instalments if i.received]


# The accounts of a contract's subscribers (or of one member): fixed SQL texts read through
# `database.fetch`, the members chosen by a subquery, not by a list of ids, so that the
# cost of building the query does not grow with the subscriptions (bench/instalments_bench.py).
_WHO = {
    "catalog": 'o."user" IN (SELECT s."user" FROM subscription s WHERE s.catalog = {})',
    "user": 'o."user" = {}',
}
_OPERATIONS = (
    'SELECT o.id, o."user", o.kind, o.amount_cents, o.subject, o.label, o.means,'
    ' o.reference, o.paid_on FROM ledger_operation o WHERE o."group" = {} AND '
)
_SETTLEMENTS = (
    "SELECT l.payment, l.subject FROM ledger_settlement l"
    ' JOIN ledger_operation o ON o.id = l.payment WHERE o."group" = {} AND '
)


async def _accounts(group_id: int, who: str, value: int) -> tuple[dict, dict]:
    """Every operation of these members in the group, and the payments' settlements: two
    queries. `who`: "catalog" (the subscribers of the contract `value`) or "user"."""
    ops = await fetch(Operation, _OPERATIONS + _WHO[who] + " ORDER BY o.id", group_id, value)
    by_user: dict[int, list[dict]] = {}
    for op in ops:
        by_user.setdefault(op["user"], []).append(op)
    links: dict[int, list[str]] = {}
    for row in await fetch(Operation, _SETTLEMENTS + _WHO[who] + " ORDER BY l.id", group_id, value):
        links.setdefault(row["payment"], []).append(row["subject"])
    return by_user, links


def member_plan(sub: dict, ops: list[dict], links: dict, terms: Terms) -> MemberPlan:
    subject = subscription_subject(sub["id"])
    debt = settle(ops, links).debts.get(subject)
    cheques = [
        o
        for o in ops
        if o["kind"] == "payment" and subject in links.get(o["id"], ()) and o["amount_cents"] > 0
    ]
    if debt is None:
        total = sub.get("total_cents", 0)
        return MemberPlan(sub, total, total, plan(total, terms.instalments, []), has_debt=False)
    left = debt.left_cents
    return MemberPlan(sub, max(0, debt.due_cents), left, plan(left, terms.instalments, cheques))


@dataclass
class ContractPlan:
    terms: Terms
    members: list[MemberPlan]

    @property
    def due_cents(self) -> int:
        return sum(m.due_cents for m in self.members)

    @property
    def left_cents(self) -> int:
        return sum(m.left_cents for m in self.members)

    @property
    def paid_cents(self) -> int:
        return self.due_cents - self.left_cents

    @property
    def to_collect(self) -> list[tuple[MemberPlan, Instalment]]:
        """The cheques still expected, by member then instalment (the list to print)."""
        return [(m, i) for m in self.members for i in m.expected]

    @property
    def pages(self) -> int:
        return max(1, -(-len(self.members) // PAGE_SIZE))

    def page_of(self, subscription_id: int) -> int:
        """The page where this subscription is shown (1 if it is not the contract's)."""
        for index, member in enumerate(self.members):
            if member.subscription["id"] == subscription_id:
                return index // PAGE_SIZE + 1
        return 1

    def page(self, number: int) -> tuple[int, list[MemberPlan]]:
        """The page `number` (within the pages) and its subscriptions: the ÉCHÉANCIER shows
        PAGE_SIZE of them at a time, with the contract's totals over all of them."""
        number = max(1, min(number, self.pages))
        start = (number - 1) * PAGE_SIZE
        return number, self.members[start : start + PAGE_SIZE]


async def contract_plan(group_id: int, catalog_id: int) -> ContractPlan:
    """Every subscription of the contract with its plan: four queries whatever the number
    of members (subscriptions and their baskets' totals, operations, settlements)."""
    terms = await terms_of(catalog_id)
    subs = await subscriptions.subscriptions_of_catalog(catalog_id)
    by_user, links = await _accounts(group_id, "catalog", catalog_id)
    return ContractPlan(
        terms, [member_plan(s, by_user.get(s["user"], []), links, terms) for s in subs]
    )


async def plan_of(group_id: int, subscription: dict) -> MemberPlan:
    """One member's plan (MES CONTRATS)."""
    terms = await terms_of(subscription["catalog"])
    by_user, links = await _accounts(group_id, "user", subscription["user"])
    return member_plan(subscription, by_user.get(subscription["user"], []), links, terms)


async def record_cheque(
    *,
    group_id: int,
    catalog: dict,
    subscription_id: int,
    by_user_id: int,
    form: records.PaymentForm,
    key: str | None,
) -> int | None:
    """A cheque (or another payment) received for a subscription of this contract: a
    payment of the ledger settling the subscription's debt. None: the form was replayed."""
    sub = (
        await Subscription.select(Subscription.id, Subscription.user)
        .where((Subscription.id == subscription_id) & (Subscription.catalog == catalog["id"]))
        .first()
    )
    if sub is None:
        raise NotFound("Souscription introuvable.")
    errors: dict[str, str] = {}
    cents = records.parse_amount(form.amount, "amount", errors)
    means = records.parse_means(form.means or "cheque", "means", errors)
    day = records.parse_day(form.paid_on, "paid_on", errors)
    reference = records.parse_reference(form.reference, "reference", errors)
    if errors:
        raise FieldErrors(errors)
    subject = subscription_subject(subscription_id)
    async with transaction():
        if not await ledger.claim_key(key, by_user_id):
            return None
        await ledger.lock_accounts([(group_id, sub["user"])])
        if not await Operation.exists().where(
            (Operation.group == group_id)
            & (Operation.user == sub["user"])
            & (Operation.subject == subject)
            & Operation.kind.is_in(list(DEBT_KINDS))
        ):
            raise FieldErrors(
                {"amount": "Cette souscription n'a pas de dette dans les paiements du groupe."}
            )
        label = records.payment_label(means, reference) + f" : contrat {catalog['name']}"
        return await ledger.add_payment(
            group_id=group_id,
            user_id=sub["user"],
            amount_cents=cents,
            means=means,
            paid_on=day,
            label=label,
            by_user_id=by_user_id,
            reference=reference,
            settles=[subject],
        )
