"""What one's archive reads, table by table (export.py writes it): each reader yields the
CSV rows of its file in batches of BATCH, so that memory stays flat."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from domain.kernel.dates import format_moment
from domain.kernel.money import decimal
from domain.outbox import LINK_KINDS
from domain.tables import (
    CalendarFeed,
    ConsentRecord,
    DutySignup,
    GroupMessage,
    JoinRequest,
    MailOptOut,
    Membership,
    MembershipFee,
    Operation,
    OrderLine,
    OutboxMail,
    SharedBasket,
    Subscription,
    SubscriptionLine,
    User,
    Vendor,
    WebSession,
)

BATCH = 500


def when(value) -> str:
    return (
        format_moment(value, "short")
        if isinstance(value, datetime)
        else (format_moment(value, "day") if value else "")
    )


async def paged(query_of, batch: int = BATCH) -> AsyncIterator[list[dict]]:
    """`query_of(last_id)`: the next rows after `last_id`, ordered by id, `batch` at most."""
    last = 0
    while True:
        rows = await query_of(last).limit(batch)
        if not rows:
            return
        yield rows
        last = rows[-1]["id"]
        if len(rows) < batch:
            return


async def account(user_id: int) -> dict:
    user = await User.select().where(User.id == user_id).first()
    opted_out = await MailOptOut.select(MailOptOut.kind).where(MailOptOut.user == user_id)
    feeds = await CalendarFeed.select(
        CalendarFeed.group.name.as_alias("group"), CalendarFeed.created_at, CalendarFeed.active
    ).where(CalendarFeed.user == user_id)
    return {
        "email": user["email"],
        "prenom": user["first_name"],
        "nom": user["last_name"],
        "telephone": user["phone"],
        "adresse": user["address"],
        "code_postal": user["postal_code"],
        "ville": user["city"],
        "compte_cree_le": user["created_at"].isoformat(),
        "derniere_visite": user["last_seen_at"].isoformat() if user["last_seen_at"] else None,
        "mot_de_passe": "défini (seule son empreinte est gardée)"
        if user["password_hash"]
        else "aucun",
        "emails_automatiques_desactives": sorted(r["kind"] for r in opted_out),
        "calendriers": [
            {"groupe": f["group"], "cree_le": f["created_at"].isoformat(), "actif": f["active"]}
            for f in feeds
        ],
    }


# ---- the CSV files: (name, header, batches of rows) ---------------------------------------


async def memberships(user_id: int):
    rows = await Membership.select(
        Membership.group.name.as_alias("group"),
        Membership.created_at,
        Membership.accepted_at,
        Membership.is_admin,
        Membership.can_messages,
        Membership.can_members,
        Membership.shared_with.email.as_alias("shared"),
    ).where(Membership.user == user_id)
    yield [
        [
            r["group"],
            when(r["created_at"]),
            when(r["accepted_at"]),
            "oui" if r["is_admin"] else "non",
            "oui" if r["can_messages"] else "non",
            "oui" if r["can_members"] else "non",
            r["shared"] or "",
        ]
        for r in rows
    ]


async def orders(user_id: int):
    def query(last: int):
        return (
            OrderLine.select(
                OrderLine.id,
                OrderLine.order.distribution.group.name.as_alias("group"),
                OrderLine.order.distribution.starts_at.as_alias("starts_at"),
                OrderLine.order.distribution.place.name.as_alias("place"),
                OrderLine.order.state.as_alias("state"),
                OrderLine.product.name.as_alias("product"),
                OrderLine.product.catalog.vendor.name.as_alias("vendor"),
                OrderLine.product.producer.name.as_alias("producer"),
                OrderLine.quantity,
                OrderLine.product.unit.as_alias("unit"),
                OrderLine.unit_price_cents,
            )
            .where((OrderLine.order.user == user_id) & (OrderLine.id > last))
            .order_by(OrderLine.id)
        )

    async for rows in paged(query):
        yield [
            [
                r["group"],
                when(r["starts_at"]),
                r["place"],
                "validée" if r["state"] == "validated" else "non validée",
                r["product"],
                r["vendor"] or r["producer"] or "",  # a producer's list: no catalog's vendor
                r["quantity"],
                r["unit"],
                decimal(r["unit_price_cents"]),
                decimal(r["quantity"] * r["unit_price_cents"]),
            ]
            for r in rows
        ]


async def subscriptions(user_id: int):
    subs = await Subscription.select(
        Subscription.id,
        Subscription.catalog.group.name.as_alias("group"),
        Subscription.catalog.name.as_alias("catalog"),
        Subscription.catalog.vendor.name.as_alias("vendor"),
        Subscription.starts_on,
        Subscription.ends_on,
        Subscription.ended_at,
    ).where(Subscription.user == user_id)
    lines = await SubscriptionLine.select(
        SubscriptionLine.subscription,
        SubscriptionLine.quantity,
        SubscriptionLine.product.name.as_alias("product"),
    ).where(SubscriptionLine.subscription.is_in([s["id"] for s in subs] or [-1]))
    basket: dict[int, list[str]] = {}
    for line in lines:
        basket.setdefault(line["subscription"], []).append(
            f"{line['quantity']} × {line['product']}"
        )
    yield [
        [
            s["group"],
            s["catalog"],
            s["vendor"],
            when(s["starts_on"]),
            when(s["ends_on"]),
            when(s["ended_at"]),
            ", ".join(basket.get(s["id"], [])),
        ]
        for s in subs
    ]


async def fees(user_id: int):
    rows = await MembershipFee.select(
        MembershipFee.group.name.as_alias("group"),
        MembershipFee.year,
        MembershipFee.amount_cents,
        MembershipFee.paid_on,
        MembershipFee.means,
    ).where(MembershipFee.user == user_id)
    yield [
        [r["group"], r["year"], decimal(r["amount_cents"]), when(r["paid_on"]), r["means"]]
        for r in rows
    ]


async def operations(user_id: int):
    def query(last: int):
        return (
            Operation.select(
                Operation.id,
                Operation.group.name.as_alias("group"),
                Operation.created_at,
                Operation.kind,
                Operation.label,
                Operation.amount_cents,
                Operation.means,
                Operation.reference,
                Operation.paid_on,
            )
            .where((Operation.user == user_id) & (Operation.id > last))
            .order_by(Operation.id)
        )

    async for rows in paged(query):
        yield [
            [
                r["group"],
                when(r["created_at"]),
                r["kind"],
                r["label"],
                decimal(r["amount_cents"]),
                r["means"],
                r["reference"],
                when(r["paid_on"]),
            ]
            for r in rows
        ]


async def duties(user_id: int):
    rows = await DutySignup.select(
        DutySignup.role.group.name.as_alias("group"),
        DutySignup.role.name.as_alias("role"),
        DutySignup.distribution.starts_at.as_alias("starts_at"),
        DutySignup.created_at,
    ).where(DutySignup.user == user_id)
    yield [[r["group"], r["role"], when(r["starts_at"]), when(r["created_at"])] for r in rows]


async def shared_baskets(user_id: int):
    """The contracts whose basket one shares as its second holder."""
    rows = await SharedBasket.select(
        SharedBasket.subscription.catalog.group.name.as_alias("group"),
        SharedBasket.subscription.catalog.name.as_alias("catalog"),
        SharedBasket.subscription.user.first_name.as_alias("first_name"),
        SharedBasket.subscription.user.last_name.as_alias("last_name"),
        SharedBasket.subscription.starts_on.as_alias("starts_on"),
        SharedBasket.subscription.ends_on.as_alias("ends_on"),
    ).where(SharedBasket.partner == user_id)
    yield [
        [
            r["group"],
            r["catalog"],
            f"{r['first_name'] or ''} {r['last_name'] or ''}".strip(),
            str(r["starts_on"]),
            str(r["ends_on"]),
        ]
        for r in rows
    ]


async def mails(user_id: int, email: str):
    def query(last: int):
        return (
            OutboxMail.select(
                OutboxMail.id,
                OutboxMail.created_at,
                OutboxMail.sent_at,
                OutboxMail.to_addr,
                OutboxMail.subject,
                OutboxMail.kind,
                OutboxMail.state,
                OutboxMail.body_text,
            )
            .where(
                ((OutboxMail.user == user_id) | (OutboxMail.to_addr == email))
                & (OutboxMail.id > last)
            )
            .order_by(OutboxMail.id)
        )

    async for rows in paged(query, batch=100):  # bodies: smaller batches
        yield [
            [
                when(r["created_at"]),
                when(r["sent_at"]),
                r["to_addr"],
                r["subject"],
                r["kind"],
                r["state"],
                # A link still to be sent opens the account: not copied out.
                "(lien personnel, non repris ici)"
                if r["kind"] in LINK_KINDS and r["state"] != "sent"
                else r["body_text"],
            ]
            for r in rows
        ]


async def consents(user_id: int):
    rows = await ConsentRecord.select(
        ConsentRecord.group.name.as_alias("group"),
        ConsentRecord.recorded_at,
        ConsentRecord.recorded_by.first_name.as_alias("by_first"),
        ConsentRecord.recorded_by.last_name.as_alias("by_last"),
        ConsentRecord.statement,
    ).where(ConsentRecord.user == user_id)
    yield [
        [
            r["group"],
            when(r["recorded_at"]),
            f"{r['by_first']} {r['by_last']}".strip(),
            r["statement"],
        ]
        for r in rows
    ]


async def requests(user_id: int):
    rows = await JoinRequest.select(
        JoinRequest.group.name.as_alias("group"),
        JoinRequest.created_at,
        JoinRequest.message,
        JoinRequest.state,
        JoinRequest.answer,
    ).where(JoinRequest.user == user_id)
    yield [[r["group"], when(r["created_at"]), r["message"], r["state"], r["answer"]] for r in rows]


async def messages(user_id: int):
    def query(last: int):
        return (
            GroupMessage.select(
                GroupMessage.id,
                GroupMessage.group.name.as_alias("group"),
                GroupMessage.created_at,
                GroupMessage.subject,
                GroupMessage.body,
                GroupMessage.recipients_label,
            )
            .where((GroupMessage.author == user_id) & (GroupMessage.id > last))
            .order_by(GroupMessage.id)
        )

    async for rows in paged(query, batch=100):
        yield [
            [r["group"], when(r["created_at"]), r["subject"], r["body"], r["recipients_label"]]
            for r in rows
        ]


async def producers(user_id: int):
    rows = await Vendor.select(Vendor.group.name.as_alias("group"), Vendor.name).where(
        Vendor.user == user_id
    )
    yield [[r["group"], r["name"]] for r in rows]


async def sessions(user_id: int):
    rows = await WebSession.select(WebSession.created_at, WebSession.expires_at).where(
        WebSession.user == user_id
    )
    yield [[when(r["created_at"]), when(r["expires_at"])] for r in rows]
