"""MES CONTRATS: the group's contracts, and for each one the member subscribed to (or
shares), their coming dates (absences marked; for a shared basket, whose turn each one
is), their absences left and their payment plan."""

from __future__ import annotations

from datetime import datetime

from domain import subscriptions
from domain.contracts import absences, catalog_dates, in_period, instalments, sharing, terms_of
from domain.kernel.clock import now
from domain.kernel.dates import label
from domain.members import consent
from domain.ordering import minimums
from domain.tables import OrderLine, User


async def my_contracts(group_id: int, user_id: int, moment: datetime | None = None) -> list:
    moment = moment or now()
    contracts = await subscriptions.contracts_of(group_id, user_id)
    for contract in contracts:
        sub = contract["subscription"]
        if sub is None:
            continue
        terms = await terms_of(contract["id"])
        absent = await absences.declared(sub["id"])
        every = await catalog_dates(contract["id"])
        dates = in_period(every, sub)
        share = await sharing.share_of(sub["id"])
        if share is not None:  # names as the group shows them (members.consent)
            await consent.mask(group_id, [share], user_key="partner")
        partner_turns = sharing.turns(dates, sub, share)
        holder = sub["user"] == user_id
        other = ""
        if share is not None:
            other = sharing.name(share) if holder else await _holder_name(group_id, sub["user"])
        contract["terms"] = terms
        contract["shared_with"] = other
        contract["holder"] = holder
        contract["dates"] = []
        for d in dates:
            if d["starts_at"] <= moment:
                continue
            theirs = partner_turns.get(d["id"], False)
            mine = share is None or theirs != holder
            contract["dates"].append(
                {
                    "id": d["id"],
                    "label": label(d["starts_at"]),
                    "absent": d["id"] in absent,
                    "mine": mine,
                    "collector": "" if mine else other,
                }
            )
        contract["absences"] = len(absent)
        if contract["kind"] == "variable" and terms.minimum_total_cents:
            contract["ordered_cents"] = await _ordered(sub["id"])
            # Pro-rated to the member's dates, enforced from their last one (ordering).
            where = minimums.standing(terms.minimum_total_cents, every, sub, absent)
            contract["minimum"] = where
            contract["last_label"] = label(where.last["starts_at"]) if where.last else ""
        contract["plan"] = await instalments.plan_of(group_id, sub)
    return contracts


async def _holder_name(group_id: int, user_id: int) -> str:
    row = (
        await User.select(User.id, User.first_name, User.last_name, User.email)
        .where(User.id == user_id)
        .first()
    )
    if row is None:
        return ""
    await consent.mask(group_id, [row], user_key="id")
    return sharing.name(row)


async def _ordered(subscription_id: int) -> int:
    """What the member ordered of a variable contract so far (validated orders)."""
    lines = await OrderLine.select(OrderLine.quantity, OrderLine.unit_price_cents).where(
        (OrderLine.subscription == subscription_id) & (OrderLine.order.state == "validated")
    )
    return sum(line["quantity"] * line["unit_price_cents"] for line in lines)
