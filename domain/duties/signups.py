"""Signing up for a role at a distribution, leaving it; an admin's assigning and removing.

Each change is one transaction. A sign-up takes the lowest free place of the role by an
INSERT that skips on conflict: the database's unique constraints (one role per person and
distribution, one person per place) decide every race, on SQLite (writers take turns) as
on PostgreSQL (the second INSERT waits for the first to commit, then skips). When it
skipped, the sign-up looks again: the person's own sign-up that just went in (twice is
once), or the next free place, or the role is full and the person is told."""

from __future__ import annotations

from datetime import datetime

from domain import outbox
from domain.database import transaction
from domain.duties import LATE_LEAVE, NotFound, Refused, opens_at
from domain.duties.roles import settings_of
from domain.kernel.clock import now
from domain.kernel.dates import label
from domain.members import consent
from domain.tables import (
    CatalogDistribution,
    Distribution,
    DutyRole,
    DutySignup,
    MailOptOut,
    Membership,
    User,
)

SIGNED = "signed"
ALREADY = "already"


async def _distribution(group_id: int, distribution_id: int) -> dict:
    row = (
        await Distribution.select(
            Distribution.id,
            Distribution.starts_at,
            Distribution.cancelled_at,
            Distribution.place.name.as_alias("place_name"),
            Distribution.group.name.as_alias("group_name"),
            Distribution.group.slug.as_alias("group_slug"),
            Distribution.group.instance.as_alias("instance"),
        )
        .where((Distribution.id == distribution_id) & (Distribution.group == group_id))
        .first()
    )
    if row is None:
        raise NotFound()
    return row


async def role_at(group_id: int, distribution_id: int, role_id: int) -> tuple[dict, dict]:
    """(distribution, role), if the role is one of the group's needed at that distribution
    (a catalog's role: the catalog delivers there); NotFound otherwise."""
    dist = await _distribution(group_id, distribution_id)
    role = (
        await DutyRole.select(DutyRole.id, DutyRole.name, DutyRole.places, DutyRole.catalog)
        .where(
            (DutyRole.id == role_id) & (DutyRole.group == group_id) & DutyRole.removed_at.is_null()
        )
        .first()
    )
    if role is None:
        raise NotFound()
    if role["catalog"] is not None and not await CatalogDistribution.exists().where(
        (CatalogDistribution.catalog == role["catalog"])
        & (CatalogDistribution.distribution == distribution_id)
    ):
        raise NotFound()
    return dist, role


def _open_for_changes(dist: dict, moment: datetime) -> None:
    if dist["cancelled_at"] is not None:
        raise Refused("Cette distribution est annulée.")
    if moment >= dist["starts_at"]:
        raise Refused("Cette distribution a commencé : les permanences ne changent plus.")


async def _held(distribution_id: int, user_id: int) -> dict | None:
    return (
        await DutySignup.select(
            DutySignup.id, DutySignup.role, DutySignup.role.name.as_alias("role_name")
        )
        .where((DutySignup.distribution == distribution_id) & (DutySignup.user == user_id))
        .first()
    )


def _elsewhere(held: dict, who: str | None) -> Refused:
    if who is None:
        return Refused(
            f"Vous avez déjà le rôle « {held['role_name']} » à cette distribution : "
            "quittez-le d'abord pour en prendre un autre."
        )
    return Refused(f"{who} a déjà le rôle « {held['role_name']} » à cette distribution.")


FULL = "Toutes les places de ce rôle sont prises."


async def _take_place(
    dist: dict, role: dict, user_id: int, assigned_by: int | None, who: str | None
) -> str:
    """Inside the caller's transaction: SIGNED or ALREADY; Refused if the person holds
    another role there, or the role is full."""
    for _ in range(role["places"] + 1):
        held = await _held(dist["id"], user_id)
        if held is not None:
            if held["role"] == role["id"]:
                return ALREADY
            raise _elsewhere(held, who)
        taken = {
            r["place"]
            for r in await DutySignup.select(DutySignup.place).where(
                (DutySignup.role == role["id"]) & (DutySignup.distribution == dist["id"])
            )
        }
        free = [n for n in range(1, role["places"] + 1) if n not in taken]
        if len(taken) >= role["places"] or not free:
            raise Refused(FULL)
        rows = (
            await DutySignup.insert(
                DutySignup(
                    role=role["id"],
                    distribution=dist["id"],
                    user=user_id,
                    place=free[0],
                    assigned_by=assigned_by,
                )
            )
            .on_conflict(action="DO NOTHING")
            .returning(DutySignup.id)
        )
        if rows:
            return SIGNED
        # Someone took that place meanwhile, or this very person signed up: look again.
    raise Refused(FULL)


async def sign_up(
    group_id: int,
    distribution_id: int,
    role_id: int,
    user_id: int,
    moment: datetime | None = None,
) -> str:
    """A member signs up: SIGNED, or ALREADY (twice is once). Refused before sign-ups open,
    once the distribution started, when they hold another role there, when it is full."""
    moment = moment or now()
    async with transaction():
        dist, role = await role_at(group_id, distribution_id, role_id)
        _open_for_changes(dist, moment)
        days = (await settings_of(group_id))["open_days"]
        if moment < opens_at(dist["starts_at"], days):
            raise Refused(
                "Les inscriptions pour cette distribution ouvrent le "
                f"{label(opens_at(dist['starts_at'], days))}."
            )
        return await _take_place(dist, role, user_id, None, None)


async def _admins_to_tell(group_id: int) -> list[dict]:
    return await Membership.select(
        Membership.user.id.as_alias("id"),
        Membership.user.email.as_alias("email"),
        Membership.user.first_name.as_alias("first_name"),
    ).where(
        (Membership.group == group_id)
        & (Membership.is_admin == True)  # noqa: E712
        & Membership.user.not_in(
            MailOptOut.select(MailOptOut.user).where(MailOptOut.kind == "duty_left")
        )
    )


async def leave(
    group_id: int,
    distribution_id: int,
    role_id: int,
    user_id: int,
    ctx: outbox.MailContext,
    moment: datetime | None = None,
) -> list[int]:
    """A member leaves their role; leaving twice is leaving once. Less than 48 hours before
    the start, the group's admins are told (one mail each, in the same transaction).
    Returns the ids of the mails to enqueue."""
    moment = moment or now()
    async with transaction():
        dist, role = await role_at(group_id, distribution_id, role_id)
        _open_for_changes(dist, moment)
        gone = (
            await DutySignup.delete()
            .where(
                (DutySignup.distribution == distribution_id)
                & (DutySignup.role == role_id)
                & (DutySignup.user == user_id)
            )
            .returning(DutySignup.id)
        )
        if not gone or dist["starts_at"] - moment >= LATE_LEAVE:
            return []
        person = (
            await User.select(User.first_name, User.last_name).where(User.id == user_id).first()
        )
        name = f"{person['first_name']} {person['last_name']}".strip() or "Un bénévole"
        left = await DutySignup.count().where(
            (DutySignup.distribution == distribution_id) & (DutySignup.role == role_id)
        )
        ids = []
        for admin in await _admins_to_tell(group_id):
            ids.append(
                await outbox.queue(
                    key=f"duty_left:{admin['id']}:{gone[0]['id']}",
                    kind="duty_left",
                    to=admin["email"],
                    template="duty_left",
                    ctx=ctx,
                    user=admin["id"],
                    context={
                        "first_name": admin["first_name"],
                        "volunteer": name,
                        "role": role["name"],
                        "when": label(dist["starts_at"]),
                        "place": dist["place_name"],
                        "group_name": dist["group_name"],
                        "free": role["places"] - left,
                        "url": f"{ctx.base_url}/g/{dist['group_slug']}/permanences/{dist['id']}",
                    },
                    expires_at=dist["starts_at"],
                )
            )
        return ids


# ---- an admin's assigning and removing -------------------------------------------------------


async def _member_name(group_id: int, user_id: int) -> str:
    row = (
        await Membership.select(
            consent.shown("first_name"), consent.shown("last_name"), Membership.user.email
        )
        .where((Membership.group == group_id) & (Membership.user == user_id))
        .first()
    )
    if row is None:
        raise Refused("Choisissez un membre du groupe.")
    return f"{row['first_name']} {row['last_name']}".strip() or row["user.email"]


async def assign(
    group_id: int,
    distribution_id: int,
    role_id: int,
    user_id: int | None,
    admin_id: int,
    moment: datetime | None = None,
) -> str:
    """An admin puts a member in a role (whenever sign-ups open): SIGNED or ALREADY."""
    moment = moment or now()
    async with transaction():
        dist, role = await role_at(group_id, distribution_id, role_id)
        _open_for_changes(dist, moment)
        if user_id is None:
            raise Refused("Choisissez un membre du groupe.")
        who = await _member_name(group_id, user_id)
        return await _take_place(dist, role, user_id, admin_id, who)


async def remove(
    group_id: int,
    distribution_id: int,
    role_id: int,
    user_id: int | None,
    moment: datetime | None = None,
) -> bool:
    """An admin takes a volunteer off a role; False if they were not in it."""
    moment = moment or now()
    async with transaction():
        dist, _ = await role_at(group_id, distribution_id, role_id)
        _open_for_changes(dist, moment)
        if user_id is None:
            return False
        gone = (
            await DutySignup.delete()
            .where(
                (DutySignup.distribution == distribution_id)
                & (DutySignup.role == role_id)
                & (DutySignup.user == user_id)
            )
            .returning(DutySignup.id)
        )
        return bool(gone)
