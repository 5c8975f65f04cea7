"""The person's yes to a membership an admin made, and what the group's admins see until
then.

Any user can create a group and add an existing account by e-mail. Until the person
accepts (« Rejoindre … » in the welcome mail, or their first order in the group), the
admins of that group see the e-mail and what they typed for it (`Membership.invited_*`),
never the account's names, phone or address: the same as for an account the add made, so
that neither says whether the account existed. « Ne pas rejoindre ce groupe » removes the
membership, the person's coming orders and subscriptions of the group, and the group's
mails still waiting for them: nothing of the group reaches them any more.

The links carry the membership signed with the secret key (no row to store); a link
checker opening them only gets a page with a button: the POST acts.
"""

from __future__ import annotations

from piccolo.query.functions import Case, When
from piccolo.querystring import QueryString

from domain.database import transaction
from domain.kernel import tokens
from domain.kernel.clock import now
from domain.members import lock_group
from domain.members.rights import leave_group
from domain.outbox import decode_headers
from domain.payments import ledger
from domain.tables import (
    Distribution,
    GroupMessage,
    Membership,
    Order,
    OrderLine,
    OutboxMail,
    Product,
    Subscription,
)

PURPOSE = "membership-answer"
LINK_DAYS = 90
TYPED = ("first_name", "last_name", "phone", "address", "postal_code", "city")

# ---- the links of the welcome mail ------------------------------------------------------


def answer_links(membership_id: int, user_id: int, group_id: int, secret: str, base_url: str):
    """{"accept_url", "decline_url"}: the two links of the mail, for this membership only."""
    token = tokens.sign({"m": membership_id, "u": user_id, "g": group_id}, secret, PURPOSE)
    return {
        "accept_url": f"{base_url}/adhesion/{token}/rejoindre",
        "decline_url": f"{base_url}/adhesion/{token}/refuser",
    }


async def membership_of_link(token: str, secret: str) -> dict | None:
    """The membership a link names, with its group; None when the link was altered, is
    too old, or its membership is gone (declined, removed: a new one needs a new link)."""
    try:
        body = tokens.unsign(token, secret, PURPOSE, LINK_DAYS * 86400)
    except tokens.Expired:
        return None
    if not isinstance(body, dict) or not all(isinstance(body.get(k), int) for k in "mug"):
        return None
    row = (
        await Membership.select(
            Membership.id,
            Membership.user,
            Membership.group,
            Membership.accepted_at,
            Membership.group.name.as_alias("group_name"),
            Membership.group.slug.as_alias("group_slug"),
        )
        .where(
            (Membership.id == body["m"])
            & (Membership.user == body["u"])
            & (Membership.group == body["g"])
        )
        .first()
    )
    return row


async def accept(token: str, secret: str) -> dict | None:
    """« Rejoindre … »: the membership is accepted (once; a second click changes nothing)."""
    found = await membership_of_link(token, secret)
    if found is not None and found["accepted_at"] is None:
        await Membership.update({Membership.accepted_at: now()}).where(
            (Membership.id == found["id"]) & Membership.accepted_at.is_null()
        )
    return found


class AlreadyAccepted(Exception):
    """The person accepted: the mail's link no longer removes them."""


async def decline(token: str, secret: str) -> dict | None:
    """« Ne pas rejoindre ce groupe »: out of the group, and nothing of it any more."""
    found = await membership_of_link(token, secret)
    if found is None:
        return None
    if found["accepted_at"] is not None:
        raise AlreadyAccepted()
    user_id, group_id = found["user"], found["group"]
    async with transaction():
        await lock_group(group_id)
        current = (
            await Membership.select(Membership.accepted_at)
            .where(Membership.id == found["id"])
            .first()
        )
        if current is None:
            return None
        if current["accepted_at"] is not None:
            raise AlreadyAccepted()
        await leave_group(user_id, group_id)  # with the rights it was given meanwhile
        await _drop_coming_orders(user_id, group_id)
        await Subscription.update({Subscription.ended_at: now()}).where(
            (Subscription.user == user_id)
            & Subscription.catalog.is_in(_catalogs_of(group_id))
            & Subscription.ended_at.is_null()
        )
        await _drop_waiting_mails(user_id, group_id, found["id"])
    return found


def _catalogs_of(group_id: int):
    from domain.tables import Catalog

    return Catalog.select(Catalog.id).where(Catalog.group == group_id)


async def _drop_coming_orders(user_id: int, group_id: int) -> None:
    """Orders an admin made for the person (a contract's basket) at coming distributions:
    deleted, their stock given back. (Their own order would have been their yes.)"""
    coming = Distribution.select(Distribution.id).where(
        (Distribution.group == group_id) & (Distribution.starts_at > now())
    )
    orders = await Order.select(Order.id).where(
        (Order.user == user_id) & Order.distribution.is_in(coming)
    )
    ids = [o["id"] for o in orders]
    if not ids:
        return
    lines = await OrderLine.select(
        OrderLine.product, OrderLine.quantity, OrderLine.subscription
    ).where(OrderLine.order.is_in(ids))
    for line in lines:
        await Product.update({Product.stock: Product.stock + line["quantity"]}).where(
            (Product.id == line["product"]) & Product.stock.is_not_null()
        )
    await OrderLine.delete().where(OrderLine.order.is_in(ids))
    await Order.delete().where(Order.id.is_in(ids))
    # Their debts (and their baskets' share of a subscription's) are cancelled.
    subscriptions = {line["subscription"] for line in lines if line["subscription"]}
    await ledger.follow(ids, subscriptions, why="supprimée")


# Keys of the group's mails that name a distribution or an order before the person's id.
_BY_DISTRIBUTION = ("moved", "cancelled")


async def _drop_waiting_mails(user_id: int, group_id: int, membership_id: int) -> None:
    """The group's mails queued for the person and not sent yet are dropped: its messages,
    notifications of its distributions, recaps of its orders, the welcome itself."""
    waiting = await OutboxMail.select(
        OutboxMail.id, OutboxMail.key, OutboxMail.headers, OutboxMail.message
    ).where((OutboxMail.user == user_id) & (OutboxMail.state == "pending"))
    if not waiting:
        return
    dists = {
        d["id"]
        for d in await Distribution.select(Distribution.id).where(Distribution.group == group_id)
    }
    messages = {
        m["id"]
        for m in await GroupMessage.select(GroupMessage.id).where(GroupMessage.group == group_id)
    }
    orders = {
        o["id"]
        for o in await Order.select(Order.id).where(
            (Order.user == user_id) & Order.distribution.is_in(list(dists) or [-1])
        )
    }
    drop = []
    for mail in waiting:
        kind, _, rest = mail["key"].partition(":")
        first = rest.partition(":")[0]
        _, conditions = decode_headers(mail["headers"])
        if (
            mail["message"] in messages
            or conditions.get("distribution") in dists
            or (kind in _BY_DISTRIBUTION and first.isdigit() and int(first) in dists)
            or (kind == "recap" and first.isdigit() and int(first) in orders)
            or mail["key"] == f"member_added:{membership_id}"
            or mail["key"].startswith(f"member_added:{membership_id}:")
        ):
            drop.append(mail["id"])
    if drop:
        await OutboxMail.update(
            {OutboxMail.state: "dropped", OutboxMail.last_error: "n'a pas rejoint le groupe"}
        ).where(OutboxMail.id.is_in(drop) & (OutboxMail.state == "pending"))


# ---- other ways of saying yes -----------------------------------------------------------


async def accept_by_order(user_id: int, group_id: int) -> None:
    """The person's own order in the group is their yes (inside the order's transaction)."""
    await Membership.update({Membership.accepted_at: now()}).where(
        (Membership.user == user_id)
        & (Membership.group == group_id)
        & Membership.accepted_at.is_null()
    )


async def accept_finished_invitation(user_id: int) -> None:
    """An invitation finished: the person took the account an admin made for them, with
    its memberships. Those of an account that existed before (another group added it)
    wait for their own yes: the invitation link does not name a group."""
    await Membership.update({Membership.accepted_at: now()}).where(
        (Membership.user == user_id)
        & (Membership.existing_account == False)  # noqa: E712 - SQL
        & Membership.accepted_at.is_null()
    )


# ---- what the group's admins see ----------------------------------------------------------


def private():
    """On Membership: an added account that has not accepted yet."""
    return (Membership.existing_account == True) & Membership.accepted_at.is_null()  # noqa: E712


def shown(column: str):
    """A Membership query's column of the person (first_name, last_name, phone, address,
    postal_code, city): what the admin typed while private, else the account's."""
    return Case(
        When(private(), then=getattr(Membership, f"invited_{column}")),
        default=getattr(Membership.user, column),
        alias=column,
    )


def shown_sql(column: str, m: str = "m", u: str = "u") -> str:
    """The same in raw SQL, `m` a membership LEFT JOINed to the account `u` (no membership:
    the account's, as for a person who left the group)."""
    return (
        f"CASE WHEN {m}.existing_account AND {m}.accepted_at IS NULL "
        f"THEN {m}.invited_{column} ELSE {u}.{column} END"
    )


def search(words: list[str], sqlite: bool) -> list[QueryString]:
    """Conditions of a search by name or e-mail on what is shown."""
    found = []
    for word in words:
        pattern = f"%{word}%"
        matches = [
            c.like(pattern) if sqlite else c.ilike(pattern)
            for c in (Membership.user.email, shown("first_name"), shown("last_name"))
        ]
        # A column's LIKE is a Where, an expression's a QueryString: both as SQL.
        parts = [getattr(m, "querystring", m) for m in matches]
        found.append(QueryString("({} OR {} OR {})", *parts))
    return found


async def typed_for(group_id: int, user_ids) -> dict[int, dict]:
    """{user: what the admin typed} for those of `user_ids` whose membership of the group is
    private: what a page shows of them instead of their account. One query."""
    ids = sorted({i for i in user_ids if i})
    if not ids:
        return {}
    rows = await Membership.select(
        Membership.user, *(getattr(Membership, f"invited_{c}") for c in TYPED)
    ).where((Membership.group == group_id) & Membership.user.is_in(ids) & private())
    return {r["user"]: {c: r[f"invited_{c}"] for c in TYPED} for r in rows}


async def mask(group_id: int, rows: list[dict], user_key: str = "user_id") -> bool:
    """Rows of people (first_name, last_name, phone… as the account has them) changed in
    place to what the admin typed, for those not accepted yet; True if any was. One query."""
    typed = await typed_for(group_id, [r[user_key] for r in rows])
    for row in rows:
        if row[user_key] in typed:
            row.update({k: v for k, v in typed[row[user_key]].items() if k in row})
    return bool(typed)
