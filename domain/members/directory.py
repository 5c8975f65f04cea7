"""MEMBRES: the list (search, filters, pages) and a member's page."""

from __future__ import annotations

from datetime import datetime

from domain import outbox
from domain.accounts import (
    display_name,
)
from domain.database import is_sqlite
from domain.kernel.clock import now
from domain.kernel.dates import label
from domain.members import (
    FILTERS,
    MEANS,
    PAGE_SIZE,
    SEASON,
    access_ended_on,
    consent,
    is_member,
    this_year,
)
from domain.outbox import kinds
from domain.tables import (
    Catalog,
    ConsentRecord,
    Membership,
    MembershipFee,
    Order,
    Subscription,
)

# ---- the member list --------------------------------------------------------------------


def member_filter(group_id: int, search: str, kind: str) -> list:
    """The conditions of the list: searched on what the page shows of each person (never an
    added account's own names before its yes)."""
    where: list = [Membership.group == group_id]
    # SQLite's LIKE ignores case already (ASCII); PostgreSQL needs ILIKE.
    where += consent.search(search.replace("%", " ").split()[:5], is_sqlite())
    if kind == "invitation":
        where.append(Membership.user.password_hash.is_null() | consent.private())
    elif kind == "sans-commande":
        ordered = Order.select(Order.user).where(
            Order.distribution.is_in(_group_distributions(group_id, now() - SEASON))
            & (Order.total_cents > 0)
        )
        where.append(Membership.user.not_in(ordered))
    elif kind == "adhesion":
        paid = MembershipFee.select(MembershipFee.user).where(
            (MembershipFee.group == group_id) & (MembershipFee.year == this_year())
        )
        where.append(
            Membership.user.not_in(paid)
            & (Membership.shared_with.is_null() | Membership.shared_with.not_in(paid))
        )
    return where


def _group_distributions(group_id: int, since: datetime):
    from domain.tables import Distribution

    return Distribution.select(Distribution.id).where(
        (Distribution.group == group_id) & (Distribution.starts_at >= since)
    )


async def member_list(group_id: int, *, search: str = "", kind: str = "", page: int = 1) -> dict:
    """One page of the MEMBRES list: two queries whatever the number of members (three
    when the page shows an account made here in Mode création, not taken over yet)."""
    kind = kind if kind in FILTERS else ""
    where = member_filter(group_id, search.strip()[:100], kind)
    total = await Membership.count().where(*where)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    rows = (
        await Membership.select(
            Membership.is_admin,
            Membership.can_messages,
            Membership.can_members,
            Membership.existing_account,
            Membership.accepted_at,
            Membership.escarcelle_access_until,
            Membership.user.id.as_alias("id"),
            Membership.user.email.as_alias("email"),
            consent.shown("first_name"),
            consent.shown("last_name"),
            consent.shown("phone"),
            Membership.user.password_hash.as_alias("password_hash"),
            Membership.user.takeover_pending.as_alias("takeover_pending"),
        )
        .where(*where)
        .order_by(consent.shown("last_name"))
        .order_by(consent.shown("first_name"))
        .order_by(Membership.user.email)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    )
    held = [row["id"] for row in rows if row.pop("takeover_pending")]
    # Made here in Mode création and not taken over: a third query, for such a page only.
    made_here = (
        {
            r["user"]
            for r in await ConsentRecord.select(ConsentRecord.user).where(
                (ConsentRecord.group == group_id) & ConsentRecord.user.is_in(held)
            )
        }
        if held
        else set()
    )
    moment = now()
    for row in rows:
        row["pending"] = pop_pending(row)
        row["held"] = row["id"] in made_here
        # A beneficiary whose access to the grocery ended in Escarcelle cannot order.
        row["access_ended_on"] = access_ended_on(row.pop("escarcelle_access_until"), moment)
        row["name"] = f"{row['last_name']} {row['first_name']}".strip() or row["email"]
    return {"members": rows, "total": total, "page": page, "pages": pages, "kind": kind}


def pop_pending(row: dict) -> bool:
    """« Invitation en attente »: an account to finish, or an added account not accepted
    yet; the same badge for both, so that it does not tell which."""
    private = bool(row.pop("existing_account")) and row.pop("accepted_at") is None
    return row.pop("password_hash") is None or private


# ---- a member's page --------------------------------------------------------------------


async def member(group_id: int, user_id: int) -> dict | None:
    """Everything the member's page shows: seven queries whatever the history."""
    row = (
        await Membership.select(
            Membership.id.as_alias("membership_id"),
            Membership.is_admin,
            Membership.can_messages,
            Membership.can_members,
            Membership.created_at,
            Membership.shared_with,
            Membership.shared_with.email.as_alias("shared_email"),
            Membership.shared_with.first_name.as_alias("shared_first_name"),
            Membership.shared_with.last_name.as_alias("shared_last_name"),
            Membership.existing_account,
            Membership.accepted_at,
            Membership.escarcelle_id,
            Membership.escarcelle_access_until,
            Membership.user.id.as_alias("id"),
            Membership.user.email.as_alias("email"),
            *(consent.shown(c) for c in consent.TYPED),
            Membership.user.password_hash.as_alias("password_hash"),
            Membership.user.takeover_pending.as_alias("takeover_pending"),
        )
        .where((Membership.group == group_id) & (Membership.user == user_id))
        .first()
    )
    if row is None:
        return None
    private = bool(row["existing_account"]) and row["accepted_at"] is None
    row["pending"] = pop_pending(row)
    row["name"] = display_name(row)
    row["joined"] = label(row["created_at"])
    row["access_ended_on"] = access_ended_on(row["escarcelle_access_until"])
    if row["shared_with"]:
        partner = {
            "user_id": row["shared_with"],
            "first_name": row["shared_first_name"],
            "last_name": row["shared_last_name"],
            "email": row["shared_email"],
        }
        await consent.mask(group_id, [partner])
        row["shared_name"] = display_name(partner)
    row["catalogs"] = (
        await Catalog.select(
            Catalog.id,
            Catalog.name,
            Catalog.coordinator,
            Catalog.coordinator.first_name.as_alias("coordinator_first_name"),
            Catalog.coordinator.last_name.as_alias("coordinator_last_name"),
            Catalog.vendor.name.as_alias("vendor_name"),
        )
        .where(Catalog.group == group_id)
        .order_by(Catalog.name)
    )
    orders = (
        await Order.select(
            Order.id,
            Order.state,
            Order.total_cents,
            Order.distribution.id.as_alias("distribution_id"),
            Order.distribution.starts_at.as_alias("starts_at"),
            Order.distribution.cancelled_at.as_alias("cancelled_at"),
            Order.distribution.place.name.as_alias("place_name"),
        )
        .where(
            (Order.user == user_id)
            & (Order.distribution.group == group_id)
            & (Order.total_cents > 0)
        )
        .order_by(Order.distribution.starts_at, ascending=False)
        .limit(100)
    )
    for order in orders:
        order["label"] = label(order["starts_at"])
    row["orders"] = orders
    row["subscriptions"] = (
        await Subscription.select(
            Subscription.id,
            Subscription.starts_on,
            Subscription.ends_on,
            Subscription.ended_at,
            Subscription.catalog.name.as_alias("catalog_name"),
            Subscription.catalog.vendor.name.as_alias("vendor_name"),
        )
        .where((Subscription.user == user_id) & (Subscription.catalog.group == group_id))
        .order_by(Subscription.starts_on, ascending=False)
        .limit(100)
    )
    fees = (
        await MembershipFee.select(
            MembershipFee.year,
            MembershipFee.amount_cents,
            MembershipFee.paid_on,
            MembershipFee.means,
        )
        .where((MembershipFee.group == group_id) & (MembershipFee.user == user_id))
        .order_by(MembershipFee.year, ascending=False)
        .limit(100)
    )
    for fee in fees:
        fee["means_label"] = MEANS.get(fee["means"], fee["means"])
    row["fees"] = fees
    consents = await ConsentRecord.select(
        ConsentRecord.id,
        ConsentRecord.proof_type,
        ConsentRecord.proof_size,
        ConsentRecord.proof_at,
        ConsentRecord.recorded_at,
        ConsentRecord.statement,
        ConsentRecord.recorded_by.email.as_alias("email"),
        ConsentRecord.recorded_by.first_name.as_alias("first_name"),
        ConsentRecord.recorded_by.last_name.as_alias("last_name"),
    ).where((ConsentRecord.user == user_id) & (ConsentRecord.group == group_id))
    for record in consents:
        record["by"] = display_name(record)
        record["label"] = label(record["recorded_at"])
    row["consents"] = consents
    # Made here in Mode création, not taken over yet: no mail reaches it (takeover.py).
    row["held"] = bool(row.pop("takeover_pending")) and bool(consents)
    # Mails of any group to this person may have bounced: only the date, the kind and the
    # server's answer are shown, never a subject or body written for another group.
    # Not accepted yet, an account of its own shows only the mails of this group to it.
    only = f"member_added:{row['membership_id']}" if private else ""
    bounces = await outbox.refused_mails(user_id, row["email"], key_prefix=only)
    for bounce in bounces:
        bounce["label"] = label(bounce["created_at"])
        bounce["kind_label"] = kinds.label(bounce["kind"])
    row["bounces"] = bounces
    return row


async def may_order_for(group_id: int, user_id: int) -> bool:
    """An admin orders for a member whose account they created with consent (Mode création)."""
    return await is_member(group_id, user_id) and await ConsentRecord.exists().where(
        (ConsentRecord.user == user_id) & (ConsentRecord.group == group_id)
    )
