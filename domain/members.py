"""Membership of a group: joining an open market, following it."""

from __future__ import annotations

from domain import outbox
from domain.database import transaction
from domain.tables import Group, Membership, User


class RegistrationClosed(Exception):
    """The group does not take members on its own (waiting list or closed)."""


async def join_open_group(user_id: int, group_id: int, ctx) -> list[int]:
    """Becoming a member of an open group (ordering as a guest, or "Suivre ce marché").

    Joining twice is joining once; the welcome mail of the group goes out once.
    """
    group = (
        await Group.select(Group.name, Group.slug, Group.registration)
        .where(Group.id == group_id)
        .first()
    )
    if await Membership.exists().where(
        (Membership.user == user_id) & (Membership.group == group_id)
    ):
        return []
    if group["registration"] != "open":
        raise RegistrationClosed()
    user = await User.select(User.email, User.first_name).where(User.id == user_id).first()
    async with transaction():
        rows = (
            await Membership.insert(Membership(user=user_id, group=group_id))
            .on_conflict(action="DO NOTHING")
            .returning(Membership.id)
        )
        if not rows:
            return []
        mail_id = await outbox.queue(
            key=f"group_welcome:{group_id}:{user_id}",
            kind="welcome",
            to=user["email"],
            template="group_welcome",
            instance=ctx.instance,
            context={
                "first_name": user["first_name"],
                "site_name": ctx.site_name,
                "group_name": group["name"],
                "url": f"{ctx.base_url}/g/{group['slug']}",
            },
        )
    return [mail_id] if mail_id else []
