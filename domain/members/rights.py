"""Rights in a group, removing a member and leaving: never the last admin."""

from __future__ import annotations

from domain.database import transaction
from domain.kernel.clock import now
from domain.kernel.errors import FieldErrors
from domain.members import NotAMember, lock_group
from domain.tables import (
    Catalog,
    Distribution,
    DutySignup,
    Membership,
)

# ---- rights, removing, leaving ----------------------------------------------------------


LAST_ADMIN = "C'est le dernier administrateur du groupe : nommez d'abord un autre administrateur."


async def _other_admins(group_id: int, user_id: int) -> int:
    return await Membership.count().where(
        (Membership.group == group_id)
        & (Membership.is_admin == True)  # noqa: E712
        & (Membership.user != user_id)
    )


async def set_rights(
    group_id: int,
    user_id: int,
    *,
    is_admin: bool,
    can_messages: bool,
    can_members: bool,
    catalog_ids: list[int],
) -> None:
    """Rights granted inline by an admin. A catalog has one coordinator: ticking it here
    makes this member its coordinator; unticking leaves it without one."""
    async with transaction():
        await lock_group(group_id)
        current = (
            await Membership.select(Membership.is_admin)
            .where((Membership.group == group_id) & (Membership.user == user_id))
            .first()
        )
        if current is None:
            raise NotAMember()
        if current["is_admin"] and not is_admin and not await _other_admins(group_id, user_id):
            raise FieldErrors({"is_admin": LAST_ADMIN})
        await Membership.update(
            {
                Membership.is_admin: is_admin,
                Membership.can_messages: can_messages,
                Membership.can_members: can_members,
            }
        ).where((Membership.group == group_id) & (Membership.user == user_id))
        group_catalogs = Catalog.group == group_id
        wanted = [i for i in catalog_ids if 0 < i <= 2**31 - 1]
        if wanted:
            await Catalog.update({Catalog.coordinator: user_id}).where(
                group_catalogs & Catalog.id.is_in(wanted)
            )
            await Catalog.update({Catalog.coordinator: None}).where(
                group_catalogs & (Catalog.coordinator == user_id) & Catalog.id.not_in(wanted)
            )
        else:
            await Catalog.update({Catalog.coordinator: None}).where(
                group_catalogs & (Catalog.coordinator == user_id)
            )


async def _drop_membership(group_id: int, user_id: int, *, admin_may_go: bool) -> None:
    await lock_group(group_id)
    current = (
        await Membership.select(Membership.is_admin)
        .where((Membership.group == group_id) & (Membership.user == user_id))
        .first()
    )
    if current is None:
        raise NotAMember()
    if current["is_admin"]:
        if not admin_may_go:
            raise PermissionError("Seul un administrateur peut retirer un administrateur.")
        if not await _other_admins(group_id, user_id):
            raise FieldErrors({"member": LAST_ADMIN})
    await Membership.delete().where((Membership.group == group_id) & (Membership.user == user_id))
    await Membership.update({Membership.shared_with: None}).where(
        (Membership.group == group_id) & (Membership.shared_with == user_id)
    )
    await Catalog.update({Catalog.coordinator: None}).where(
        (Catalog.group == group_id) & (Catalog.coordinator == user_id)
    )
    # Their permanences of the coming distributions are free again (the past ones stay).
    await DutySignup.delete().where(
        (DutySignup.user == user_id)
        & DutySignup.distribution.is_in(
            Distribution.select(Distribution.id).where(
                (Distribution.group == group_id) & (Distribution.starts_at > now())
            )
        )
    )


async def remove_member(group_id: int, user_id: int, *, by_admin: bool) -> None:
    """The person stops being a member (their past orders stay, for the group's records)."""
    async with transaction():
        await _drop_membership(group_id, user_id, admin_may_go=by_admin)


async def leave_group(user_id: int, group_id: int) -> None:
    """ "Quitter ce marché": no more group messages or notifications. Orders reference the
    person and the distribution, not the membership: the admins still see past orders."""
    async with transaction():
        await _drop_membership(group_id, user_id, admin_may_go=True)
