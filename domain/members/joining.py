"""Joining a group on one's own: an open group at once, or the waiting list (« Liste
d'attente »), where admins accept or refuse each request."""

from __future__ import annotations

from domain import outbox
from domain.accounts import (
    display_name,
)
from domain.database import transaction
from domain.kernel.clock import now
from domain.kernel.dates import label
from domain.kernel.errors import FieldErrors
from domain.members import (
    ESCARCELLE_ONLY,
    NotAMember,
    RegistrationClosed,
    escarcelle_only,
    group_row,
    is_member,
    lock_group,
)
from domain.outbox import MailContext
from domain.tables import (
    JoinRequest,
    Membership,
    User,
)

# ---- joining an open group --------------------------------------------------------------


async def join_open_group(user_id: int, group_id: int, ctx) -> list[int]:
    """Becoming a member of an open group (ordering as a guest, or "Suivre ce marché").

    Joining twice is joining once; the welcome mail of the group goes out once.
    """
    group = await group_row(group_id)
    if await is_member(group_id, user_id):
        return []
    if group["registration"] != "open":
        raise RegistrationClosed()
    if await escarcelle_only(group_id):
        raise RegistrationClosed(ESCARCELLE_ONLY)
    user = await User.select(User.email, User.first_name).where(User.id == user_id).first()
    async with transaction():
        rows = (
            await Membership.insert(Membership(user=user_id, group=group_id, accepted_at=now()))
            .on_conflict(action="DO NOTHING")
            .returning(Membership.id)
        )
        if not rows:
            return []
        mail_id = await outbox.queue(
            key=f"group_welcome:{group_id}:{user_id}",
            kind="welcome",
            to=user["email"],
            user=user_id,
            template="group_welcome",
            ctx=ctx,
            context={
                "first_name": user["first_name"],
                "group_name": group["name"],
                "url": f"{ctx.base_url}/g/{group['slug']}",
            },
        )
    return [mail_id] if mail_id else []


# ---- the waiting list ("Liste d'attente") -----------------------------------------------


async def join_state(user_id: int | None, group_id: int) -> dict | None:
    """The visitor's last request to join this group, for its home page."""
    if user_id is None:
        return None
    row = (
        await JoinRequest.select(
            JoinRequest.id, JoinRequest.state, JoinRequest.created_at, JoinRequest.answer
        )
        .where((JoinRequest.user == user_id) & (JoinRequest.group == group_id))
        .order_by(JoinRequest.id, ascending=False)
        .first()
    )
    if row:
        row["label"] = label(row["created_at"])
    return row


async def ask_to_join(user_id: int, group_id: int, message: str, ctx: MailContext) -> list[int]:
    """A request to join a group in "liste d'attente" mode; every admin gets a mail with
    a link to it. A second request while one is pending does nothing."""
    message = message.strip()
    if len(message) > 2000:
        raise FieldErrors({"message": "Le message ne doit pas dépasser 2 000 caractères."})
    group = await group_row(group_id)
    if group["registration"] != "waiting_list":
        raise RegistrationClosed()
    if await escarcelle_only(group_id):
        raise RegistrationClosed(ESCARCELLE_ONLY)
    mail_ids: list[int | None] = []
    async with transaction():
        await lock_group(group_id)
        if await is_member(group_id, user_id) or await JoinRequest.exists().where(
            (JoinRequest.user == user_id)
            & (JoinRequest.group == group_id)
            & (JoinRequest.state == "pending")
        ):
            return []
        rows = await JoinRequest.insert(
            JoinRequest(user=user_id, group=group_id, message=message)
        ).returning(JoinRequest.id)
        request_id = rows[0]["id"]
        waiting_url = f"{ctx.base_url}/g/{group['slug']}/membres?filtre=attente"
        person = (
            await User.select(User.email, User.first_name, User.last_name)
            .where(User.id == user_id)
            .first()
        )
        admins = await Membership.select(
            Membership.user.id.as_alias("id"),
            Membership.user.email.as_alias("email"),
            Membership.user.first_name.as_alias("first_name"),
        ).where((Membership.group == group_id) & (Membership.is_admin == True))  # noqa: E712
        for admin in admins:
            mail_ids.append(
                await outbox.queue(
                    key=f"join_request:{request_id}:{admin['id']}",
                    kind="join_request",
                    to=admin["email"],
                    user=admin["id"],
                    template="join_request",
                    ctx=ctx,
                    context={
                        "first_name": admin["first_name"],
                        "group_name": group["name"],
                        "person": display_name(person),
                        "person_email": person["email"],
                        "message": message,
                        "url": f"{waiting_url}#r{request_id}",
                    },
                )
            )
    return [m for m in mail_ids if m]


async def waiting_list(group_id: int) -> list[dict]:
    rows = (
        await JoinRequest.select(
            JoinRequest.id,
            JoinRequest.message,
            JoinRequest.created_at,
            JoinRequest.user.id.as_alias("user_id"),
            JoinRequest.user.email.as_alias("email"),
            JoinRequest.user.first_name.as_alias("first_name"),
            JoinRequest.user.last_name.as_alias("last_name"),
        )
        .where((JoinRequest.group == group_id) & (JoinRequest.state == "pending"))
        .order_by(JoinRequest.created_at)
        .limit(500)
    )
    for row in rows:
        row["label"] = label(row["created_at"])
        row["name"] = display_name(row)
    return rows


async def waiting_count(group_id: int) -> int:
    return await JoinRequest.count().where(
        (JoinRequest.group == group_id) & (JoinRequest.state == "pending")
    )


async def _decide(group_id: int, request_id: int, admin_id: int, state: str, answer: str) -> dict:
    """Claim a pending request of this group (a double click decides once)."""
    rows = (
        await JoinRequest.update(
            {
                JoinRequest.state: state,
                JoinRequest.answer: answer,
                JoinRequest.decided_by: admin_id,
                JoinRequest.decided_at: now(),
            }
        )
        .where(
            (JoinRequest.id == request_id)
            & (JoinRequest.group == group_id)
            & (JoinRequest.state == "pending")
        )
        .returning(JoinRequest.user)
    )
    if not rows:
        raise NotAMember()
    return (
        await User.select(User.id, User.email, User.first_name, User.last_name)
        .where(User.id == rows[0]["user"])
        .first()
    )


async def accept_request(
    group_id: int, request_id: int, admin_id: int, ctx: MailContext
) -> list[int]:
    """The person becomes a member and gets the welcome mail; they can order."""
    group = await group_row(group_id)
    async with transaction():
        person = await _decide(group_id, request_id, admin_id, "accepted", "")
        added = (
            await Membership.insert(
                Membership(user=person["id"], group=group_id, accepted_at=now())
            )
            .on_conflict(action="DO NOTHING")
            .returning(Membership.id)
        )
        if not added:
            return []
        mail_id = await outbox.queue(
            key=f"join_accepted:{request_id}",
            kind="join_accepted",
            to=person["email"],
            user=person["id"],
            template="join_accepted",
            ctx=ctx,
            context={
                "first_name": person["first_name"],
                "group_name": group["name"],
                "url": f"{ctx.base_url}/g/{group['slug']}",
            },
        )
    return [mail_id] if mail_id else []


async def refuse_request(
    group_id: int, request_id: int, admin_id: int, answer: str, ctx: MailContext
) -> list[int]:
    """The person is told by mail, with the admin's message if there is one."""
    answer = answer.strip()
    if len(answer) > 2000:
        raise FieldErrors({"answer": "Le message ne doit pas dépasser 2 000 caractères."})
    group = await group_row(group_id)
    async with transaction():
        person = await _decide(group_id, request_id, admin_id, "refused", answer)
        mail_id = await outbox.queue(
            key=f"join_refused:{request_id}",
            kind="join_refused",
            to=person["email"],
            user=person["id"],
            template="join_refused",
            ctx=ctx,
            context={
                "first_name": person["first_name"],
                "group_name": group["name"],
                "answer": answer,
            },
        )
    return [mail_id] if mail_id else []
