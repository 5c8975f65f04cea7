"""Builders of the payments ledger and the volunteer duties (re-exported by world)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from domain.demo.rows import insert, one
from domain.kernel import clock
from domain.tables import DutyRole, DutySettings, DutySignup, Operation

# ---- payments -------------------------------------------------------------------------------


async def operations(
    group_id: int,
    users: Sequence[int],
    per_member: int,
    *,
    recorded_by: int | None = None,
    moment: datetime | None = None,
) -> int:
    """`per_member` ledger operations for each of `users`, as a season leaves them: order
    debts and their payments in turn (one payment in three short by a euro, one debt in ten
    corrected), dated a day apart back from `moment` (now). Returns how many were made."""
    moment = moment or clock.now()
    rows = []
    for user in users:
        for n in range(per_member):
            order = user * 10_000 + n // 2
            at = moment - timedelta(days=per_member - n)
            if n % 2 == 0:
                kind, cents, label = "order", -(1000 + (user * 7 + n) % 2500), "Commande"
            elif n % 3 == 0:
                kind, cents, label = "payment", 900 + (user * 7 + n - 1) % 2500, "Paiement"
            else:
                kind, cents, label = "payment", 1000 + (user * 7 + n - 1) % 2500, "Paiement"
            if n % 20 == 19:
                kind, cents, label = "adjustment", 150, "Correction"
            rows.append(
                {
                    "group": group_id,
                    "user": user,
                    "kind": kind,
                    "amount_cents": cents,
                    "subject": f"order:{order}" if kind != "payment" else "",
                    "label": label,
                    "means": "cheque" if kind == "payment" else "",
                    "paid_on": at.date() if kind == "payment" else None,
                    "recorded_by": recorded_by if kind != "order" else None,
                    "created_at": at,
                }
            )
    await insert(Operation, rows)
    return len(rows)


# ---- permanences ---------------------------------------------------------------------------


async def duty_role(
    group_id: int,
    name: str = "Accueil",
    places: int = 1,
    *,
    catalog: int | None = None,
    instructions: str = "",
    position: int = 0,
) -> int:
    """A volunteer role of the group (or of one of its catalogs, with `catalog`)."""
    return await one(
        DutyRole,
        group=group_id,
        catalog=catalog,
        name=name,
        places=places,
        instructions=instructions,
        position=position,
    )


async def duty_settings(group_id: int, *, open_days: int = 60, instructions: str = "") -> None:
    await DutySettings.insert(
        DutySettings(group=group_id, open_days=open_days, instructions=instructions)
    )


async def volunteers(role_id: int, distribution_id: int, users: Iterable[int]) -> list[int]:
    """These people hold the role at the distribution, places 1, 2, 3… (bulk)."""
    return await insert(
        DutySignup,
        [
            {"role": role_id, "distribution": distribution_id, "user": u, "place": n}
            for n, u in enumerate(users, start=1)
        ],
    )
