"""`ledger.follow([order])` of one order, as part of a caller's statement (PostgreSQL): the
"+" of a validated order writes its debt in the statement that writes its recap mail, one
round trip instead of five.

The caller's transaction must hold the account's advisory lock (`ledger.account_key`)
since an earlier statement: a statement reads as of its start, so the debt is read as the
last writer under that lock left it, and two changes at once add their differences once
each, as with `follow`. The operation written is `follow`'s, to the byte: none when the
debt does not exist (`create=False`) or is right already, else one for the difference,
named after the debt's first line (« … – modifiée »).

Only an order without basket lines (a fixed contract's, whose debt is the
subscription's): `FOLLOWED` is false for one with some (or an order that is gone), nothing
was written, and `ledger.follow` must run."""

from __future__ import annotations

from domain.payments import FOLLOWING_KINDS, order_subject
from domain.tables import Operation

_KINDS = ", ".join(f"'{kind}'" for kind in FOLLOWING_KINDS)  # constants
# CTEs for the caller's WITH. Parameters: `args`.
FOLLOW_ORDER = (  # constant text, every value a parameter
    'ledger_order AS (SELECT o."user", o.distribution, d."group", o.state = \'validated\''  # noqa: S608
    " AS owes FROM member_order o JOIN distribution d ON d.id = o.distribution"
    " WHERE o.id = {}),"
    " ledger_lines AS (SELECT COALESCE(bool_or(l.subscription IS NOT NULL"
    " AND c.kind = 'fixed'), FALSE) AS basket,"
    " COALESCE(SUM(l.quantity::bigint * l.unit_price_cents), 0)::bigint AS cents"
    " FROM order_line l JOIN product p ON p.id = l.product"
    ' LEFT JOIN catalog c ON c.id = p.catalog WHERE l."order" = {}),'
    " ledger_chain AS (SELECT (-SUM(amount_cents))::bigint AS cents,"
    " (array_agg(label ORDER BY id))[1] AS label FROM ledger_operation"
    f" WHERE subject = {{}} AND kind IN ({_KINDS}) HAVING count(*) > 0),"
    " ledger_owed AS (SELECT o.*, CASE WHEN o.owes THEN l.cents ELSE 0 END AS cents"
    " FROM ledger_order o, ledger_lines l WHERE NOT l.basket),"
    " ledger_debt AS (INSERT INTO ledger_operation"
    ' ("group", "user", kind, amount_cents, subject, label, means, reference, paid_on,'
    " distribution, recorded_by, created_at)"
    ' SELECT w."group", w."user", \'order\', c.cents - w.cents, {}, left(c.label || {}, 300),'
    " '', '', NULL, w.distribution, {}, {} FROM ledger_owed w, ledger_chain c"
    " WHERE c.cents <> w.cents RETURNING id)"
)
# The caller's SELECT: true when the debt followed (written, or right already).
FOLLOWED = "EXISTS (SELECT 1 FROM ledger_owed)"


def args(order_id: int, *, by: int | None = None, why: str = "modifiée") -> tuple:
    """The parameters of FOLLOW_ORDER (`by`, `why`: as `ledger.follow`'s)."""
    subject = order_subject(order_id)
    created_at = Operation.created_at.get_default_value().python()  # as Operation() holds it
    return (order_id, order_id, subject, subject, f" – {why}", by, created_at)
