"""MEMBRES as a CSV for a French spreadsheet: the list as the page filters it (search and
« Afficher »), one row per member, read in batches so the memory stays flat.

What a row shows of a person is what the page shows (consent.py): for an added account not
accepted yet, its e-mail and what the admin typed, never the account's own names, phone or
address."""

from __future__ import annotations

from array import array
from collections.abc import AsyncIterator

from domain.kernel.csvio import cell
from domain.members import FILTERS, consent, this_year
from domain.members.directory import member_filter, pop_pending
from domain.tables import Membership, MembershipFee

EXPORT_BATCH = 500  # members read per query

HEADER = [
    "Nom",
    "Prénom",
    "E-mail",
    "Téléphone",
    "Adresse",
    "Code postal",
    "Ville",
    "Statut",
    "Adhésion {year}",
]
PAID_SHARED = "Payée (adhésion partagée)"
NOT_PAID = "Non payée"


def _order(query):
    return (
        query.order_by(consent.shown("last_name"))
        .order_by(consent.shown("first_name"))
        .order_by(Membership.user.email)
        .order_by(Membership.id)
    )


def status(row: dict) -> str:
    if row["pending"]:
        return "Invitation en attente"
    return "Administrateur" if row["is_admin"] else "Membre"


def fee_state(row: dict, paid_on: dict[int, object]) -> str:
    """« Payée le 12/03/2026 », or paid by the person the membership is shared with."""
    own = paid_on.get(row["id"])
    if own is not None:
        return f"Payée le {own:%d/%m/%Y}"
    if row["shared_with"] and row["shared_with"] in paid_on:
        return PAID_SHARED
    return NOT_PAID


async def _paid_on(group_id: int, year: int, user_ids: list[int]) -> dict[int, object]:
    """{user: the day of their first payment of `year`} for those of `user_ids` who paid."""
    fees = (
        await MembershipFee.select(MembershipFee.user, MembershipFee.paid_on)
        .where(
            (MembershipFee.group == group_id)
            & (MembershipFee.year == year)
            & MembershipFee.user.is_in(user_ids)
        )
        .order_by(MembershipFee.paid_on)
    )
    paid: dict[int, object] = {}
    for fee in fees:
        paid.setdefault(fee["user"], fee["paid_on"])
    return paid


async def member_batches(
    group_id: int, *, search: str = "", kind: str = "", batch: int = EXPORT_BATCH
) -> AsyncIterator[list[dict]]:
    """The members the list shows for this search and filter, in its order, `batch` at a
    time: [{id, email, first_name, last_name, phone, address, postal_code, city, is_admin,
    shared_with, pending, fee}]. The membership ids are read first (8 bytes a member); then
    each batch is two queries: one plus two per `batch` members, whatever their number, and
    a slow download holds no connection open."""
    kind = kind if kind in FILTERS and kind != "attente" else ""
    where = member_filter(group_id, search.strip()[:100], kind)
    ids = array(
        "q", [r["id"] for r in await _order(Membership.select(Membership.id).where(*where))]
    )
    year = this_year()
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch].tolist()
        rows = await Membership.select(
            Membership.id.as_alias("membership_id"),
            Membership.is_admin,
            Membership.shared_with,
            Membership.existing_account,
            Membership.accepted_at,
            Membership.user.id.as_alias("id"),
            Membership.user.email.as_alias("email"),
            *(consent.shown(c) for c in consent.TYPED),
            Membership.user.password_hash.as_alias("password_hash"),
        ).where(Membership.id.is_in(chunk) & (Membership.group == group_id))
        users = {r["id"] for r in rows} | {r["shared_with"] for r in rows if r["shared_with"]}
        paid = await _paid_on(group_id, year, sorted(users)) if users else {}
        rank = {membership: n for n, membership in enumerate(chunk)}
        rows.sort(key=lambda r: rank[r["membership_id"]])
        for row in rows:
            row["pending"] = pop_pending(row)
            row["fee"] = fee_state(row, paid)
        yield rows


async def member_rows(
    group_id: int, *, search: str = "", kind: str = "", batch: int = EXPORT_BATCH
) -> AsyncIterator[list[list]]:
    """The CSV rows: the header, then one row per member (text cells neutralised)."""
    yield [[h.format(year=this_year()) for h in HEADER]]
    async for members in member_batches(group_id, search=search, kind=kind, batch=batch):
        yield [
            [
                *(cell(m[c]) for c in ("last_name", "first_name", "email", "phone")),
                *(cell(m[c]) for c in ("address", "postal_code", "city")),
                status(m),
                m["fee"],
            ]
            for m in members
        ]
