"""PAIEMENTS: the balance of every member of the group (and of former members whose
operations it keeps), who is behind, filters and search, and the same list as an
Excel-ready CSV streamed in batches.

What a row shows of a person is what MEMBRES shows (members/consent.py): for an added
account that has not accepted yet, its e-mail and what the admin typed, never the account's
own names. This area cannot import members (members records adhésions in the ledger), so
the rule's SQL is written here again, and tests/web/payments checks it shows the same.

Two queries per page whatever the number of members or operations (the group's totals
with the list's count, then the page), each reading the group's operations once; the CSV
reads the ordered ids once, then one query per batch."""

from __future__ import annotations

from array import array
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date

from domain.accounts import display_name
from domain.database import is_sqlite
from domain.kernel.csvio import cell
from domain.kernel.dates import format_moment
from domain.kernel.money import decimal
from domain.tables import Operation

PAGE_SIZE = 50
EXPORT_BATCH = 500
FILTERS = {
    "": "Tous les membres",
    "a-payer": "À payer",
    "a-jour": "À jour",
    "credit": "En avance",
}
SORTS = {"nom": "Par nom", "solde": "Les plus en retard d'abord"}
HEADER = [
    "Nom",
    "Prénom",
    "E-mail",
    "Membre",
    "Total dû",
    "Total payé",
    "Solde",
    "Dernier paiement",
    "Statut",
]
_WHERE_FILTER = {
    "a-payer": "COALESCE(s.balance, 0) < 0",
    "a-jour": "COALESCE(s.balance, 0) = 0",
    "credit": "COALESCE(s.balance, 0) > 0",
}


def _shown(column: str) -> str:
    """members.consent.shown_sql: what the admin typed while an added account has not
    accepted; the account's own otherwise (and for a former member, no membership)."""
    return (
        f"CASE WHEN m.existing_account AND m.accepted_at IS NULL "
        f"THEN m.invited_{column} ELSE u.{column} END"
    )


_SUMS = (
    'SELECT "user", SUM(amount_cents) AS balance, '
    "SUM(CASE WHEN kind IN ('order', 'subscription', 'membership', 'adjustment') "
    "THEN -amount_cents ELSE 0 END) AS owed, "
    "SUM(CASE WHEN kind IN ('payment', 'refund') THEN amount_cents ELSE 0 END) AS paid, "
    "MAX(CASE WHEN kind = 'payment' THEN paid_on END) AS last_paid "
    'FROM ledger_operation WHERE "group" = {} '
)
_COLUMNS = (
    f"u.id, u.email, {_shown('first_name')} AS first_name, {_shown('last_name')} AS last_name, "
    "m.id AS membership, COALESCE(s.balance, 0) AS balance, COALESCE(s.owed, 0) AS owed, "
    "COALESCE(s.paid, 0) AS paid, s.last_paid"
)


@dataclass
class Query:
    """The list's SQL in pieces: `cte` (WITH s AS: each member's sums, the operations read
    once), `source` (FROM the members and former members, joined to their sums) and
    `where` (the search and the filter), each with its parameters in the order they
    appear. Every value is a parameter; the SQL is made of this module's fixed pieces."""

    cte: str
    cte_params: list
    source: str
    source_params: list
    where: str
    where_params: list

    def select(self, columns: str, tail: str = "", tail_params: tuple = ()) -> tuple[str, list]:
        where = f" WHERE {self.where}" if self.where else ""
        sql = f"{self.cte} SELECT {columns} {self.source}{where} {tail}"
        return sql, [*self.cte_params, *self.source_params, *self.where_params, *tail_params]


def _in(values: list) -> str:
    return "(" + ", ".join(["{}"] * len(values)) + ")"


def _query(group_id: int, search: str, filtre: str, users: list[int] | None = None) -> Query:
    cte_params: list = [group_id]
    sums = _SUMS
    if users is not None:
        sums += f'AND "user" IN {_in(users)} '
        cte_params += users
    cte = f'WITH s AS ({sums}GROUP BY "user")'
    source = (
        'FROM (SELECT "user" FROM membership WHERE "group" = {} '
        'UNION SELECT "user" FROM s) p JOIN app_user u ON u.id = p."user" '
        'LEFT JOIN membership m ON m."user" = u.id AND m."group" = {} '
        'LEFT JOIN s ON s."user" = u.id'
    )
    conditions: list[str] = []
    params: list = []
    if users is not None:
        conditions.append(f"u.id IN {_in(users)}")
        params += users
    if filtre in _WHERE_FILTER:
        conditions.append(_WHERE_FILTER[filtre])
    like = "LIKE" if is_sqlite() else "ILIKE"
    for word in search.lower().split()[:5]:
        pattern = f"%{word}%"
        conditions.append(
            f"(LOWER(u.email) {like} {{}} OR LOWER({_shown('first_name')}) {like} {{}} "
            f"OR LOWER({_shown('last_name')}) {like} {{}})"
        )
        params += [pattern, pattern, pattern]
    return Query(cte, cte_params, source, [group_id, group_id], " AND ".join(conditions), params)


def _order(sort: str) -> str:
    names = f"LOWER({_shown('last_name')}), LOWER({_shown('first_name')}), u.email, u.id"
    return f"COALESCE(s.balance, 0), {names}" if sort == "solde" else names


def _day(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])  # SQLite's raw rows: text


def _row(row: dict) -> dict:
    row["balance"] = int(row["balance"])
    row["owed"] = int(row["owed"])
    row["paid"] = int(row["paid"])
    row["last_paid"] = _day(row["last_paid"])
    row["name"] = display_name(row)
    row["member"] = row["membership"] is not None
    row["state"] = state_of(row["balance"])
    return row


def state_of(balance: int) -> str:
    if balance < 0:
        return "À payer"
    return "En avance" if balance > 0 else "À jour"


async def _raw(sql: str, params: list) -> list[dict]:
    # The SQL is this module's fixed pieces and placeholders only: every value is a param.
    return await Operation.raw(sql, *params)


async def overview(
    group_id: int, *, search: str = "", filtre: str = "", sort: str = "nom", page: int = 1
) -> dict:
    """The page: {rows, count, page, pages, totals: {members, behind, owed_cents,
    credit_cents}}. Two queries, each reading the group's operations once."""
    filtre = filtre if filtre in FILTERS else ""
    sort = sort if sort in SORTS else "nom"
    search = search.strip()[:100]
    query = _query(group_id, search, filtre)
    # The group's totals and the list's count at once: the count's condition is a column.
    everyone = Query(query.cte, query.cte_params, query.source, query.source_params, "", [])
    matches = f"CASE WHEN {query.where} THEN 1 ELSE 0 END" if query.where else "1"
    sql, params = everyone.select(
        f"SUM({matches}) AS n, COUNT(*) AS members, "
        "SUM(CASE WHEN COALESCE(s.balance, 0) < 0 THEN 1 ELSE 0 END) AS behind, "
        "SUM(CASE WHEN s.balance < 0 THEN -s.balance ELSE 0 END) AS owed, "
        "SUM(CASE WHEN s.balance > 0 THEN s.balance ELSE 0 END) AS credit"
    )
    # The condition's parameters come with the columns, before the FROM's.
    params = [*query.cte_params, *query.where_params, *query.source_params]
    [totals] = await _raw(sql, params)
    count = int(totals["n"] or 0)
    pages = max(1, -(-count // PAGE_SIZE))
    page = max(1, min(page, pages))
    sql, params = query.select(
        _COLUMNS,
        f"ORDER BY {_order(sort)} LIMIT {{}} OFFSET {{}}",
        (PAGE_SIZE, (page - 1) * PAGE_SIZE),
    )
    rows = await _raw(sql, params)
    return {
        "rows": [_row(r) for r in rows],
        "count": count,
        "page": page,
        "pages": pages,
        "filtre": filtre,
        "sort": sort,
        "search": search,
        "totals": {
            "members": int(totals["members"] or 0),
            "behind": int(totals["behind"] or 0),
            "owed_cents": int(totals["owed"] or 0),
            "credit_cents": int(totals["credit"] or 0),
        },
    }


async def batches(
    group_id: int,
    *,
    search: str = "",
    filtre: str = "",
    sort: str = "nom",
    batch: int = EXPORT_BATCH,
) -> AsyncIterator[list[dict]]:
    """The list as the page filters and sorts it, `batch` members at a time: their ids
    first (8 bytes each), then one query per batch."""
    filtre = filtre if filtre in FILTERS else ""
    sort = sort if sort in SORTS else "nom"
    sql, params = _query(group_id, search.strip()[:100], filtre).select(
        "u.id", f"ORDER BY {_order(sort)}"
    )
    ids = array("q", [r["id"] for r in await _raw(sql, params)])
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch].tolist()
        sql, params = _query(group_id, "", "", users=chunk).select(_COLUMNS)
        rows = await _raw(sql, params)
        rank = {user: n for n, user in enumerate(chunk)}
        rows.sort(key=lambda r: rank[r["id"]])
        yield [_row(r) for r in rows]


async def csv_rows(group_id: int, **options) -> AsyncIterator[list[list]]:
    """The CSV: its header, then one row per member (text neutralised, amounts with a
    decimal comma)."""
    yield [HEADER]
    async for rows in batches(group_id, **options):
        yield [
            [
                cell(r["last_name"]),
                cell(r["first_name"]),
                cell(r["email"]),
                "Oui" if r["member"] else "Non (a quitté le groupe)",
                decimal(r["owed"]),
                decimal(r["paid"]),
                decimal(r["balance"]),
                format_moment(r["last_paid"], "day"),
                r["state"],
            ]
            for r in rows
        ]


async def person(group_id: int, user_id: int) -> dict | None:
    """A member of the group, or a former one whose operations it keeps, as the group's
    admins see them ({id, email, first_name, last_name, name, member}); None otherwise."""
    rows = await _raw(
        f"SELECT u.id, u.email, {_shown('first_name')} AS first_name, "  # noqa: S608
        f"{_shown('last_name')} AS last_name, m.id AS membership FROM app_user u "
        'LEFT JOIN membership m ON m."user" = u.id AND m."group" = {} '
        "WHERE u.id = {} AND (m.id IS NOT NULL OR EXISTS (SELECT 1 FROM ledger_operation o "
        'WHERE o."group" = {} AND o."user" = u.id))',
        [group_id, user_id, group_id],
    )
    if not rows:
        return None
    row = rows[0]
    row["name"] = display_name(row)
    row["member"] = row["membership"] is not None
    return row
