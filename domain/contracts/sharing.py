"""Shared baskets (alternance): a subscription's second holder collects the basket in turn
with its holder. The turns follow the contract's distributions of the subscription's
period (cancelled ones left out), the holder first unless `partner_first` (« commencer par
l'autre »); an absence does not move the turns.

Who collects shows in each holder's MES CONTRATS (their own dates), on the liste
d'émargement (« retiré par … ») and in the reminders, which go to the one whose turn it is
(notifications.py asks `reroute`). The order, its debt and its payments stay the holder's:
the basket is one subscription."""

from __future__ import annotations

from domain.accounts import display_name
from domain.contracts import catalog_dates, in_period
from domain.kernel.errors import FieldErrors
from domain.members import consent
from domain.tables import MailOptOut, Membership, Order, OrderLine, SharedBasket, Subscription


class NotFound(LookupError):
    """A subscription that is not this contract's (the web layer answers 404)."""


def partner_turn(index: int, partner_first: bool) -> bool:
    """The `index`-th distribution (from 0) of the period is the second holder's."""
    return (index % 2 == 0) == partner_first


def turns(dates: list[dict], subscription: dict, share: dict | None) -> dict[int, bool]:
    """{distribution id: the second holder's turn} over the subscription's period."""
    if share is None:
        return {}
    return {
        d["id"]: partner_turn(i, share["partner_first"])
        for i, d in enumerate(in_period(dates, subscription))
    }


def name(person: dict) -> str:
    """ "BOURSIER Mélissa", as the sign-off sheet and the header write people."""
    text = f"{(person.get('last_name') or '').upper()} {person.get('first_name') or ''}".strip()
    return text or display_name(person)


async def share_of(subscription_id: int) -> dict | None:
    return (
        await SharedBasket.select(
            SharedBasket.partner,
            SharedBasket.partner_first,
            SharedBasket.partner.first_name.as_alias("first_name"),
            SharedBasket.partner.last_name.as_alias("last_name"),
            SharedBasket.partner.email.as_alias("email"),
        )
        .where(SharedBasket.subscription == subscription_id)
        .first()
    )


async def shares_of_catalog(catalog_id: int) -> dict[int, dict]:
    """{subscription id: its share}, the names as the group's admins may see them."""
    rows = await SharedBasket.select(
        SharedBasket.subscription,
        SharedBasket.partner,
        SharedBasket.partner_first,
        SharedBasket.partner.first_name.as_alias("first_name"),
        SharedBasket.partner.last_name.as_alias("last_name"),
        SharedBasket.partner.email.as_alias("email"),
        SharedBasket.subscription.catalog.group.as_alias("group_id"),
    ).where(SharedBasket.subscription.catalog == catalog_id)
    if rows:
        await consent.mask(rows[0]["group_id"], rows, user_key="partner")
    return {r["subscription"]: r for r in rows}


async def set_partner(
    *,
    group_id: int,
    catalog_id: int,
    subscription_id: int,
    partner_id: int | None,
    partner_first: bool,
    by_user_id: int,
) -> None:
    """The second holder of a subscription (None: the basket is no longer shared), and who
    starts. One statement."""
    sub = (
        await Subscription.select(Subscription.id, Subscription.user)
        .where((Subscription.id == subscription_id) & (Subscription.catalog == catalog_id))
        .first()
    )
    if sub is None:
        raise NotFound("Souscription introuvable.")
    if partner_id is None:
        await SharedBasket.delete().where(SharedBasket.subscription == subscription_id)
        return
    if partner_id == sub["user"]:
        raise FieldErrors({"partner": "Le second titulaire doit être une autre personne."})
    if not await Membership.exists().where(
        (Membership.user == partner_id) & (Membership.group == group_id)
    ):
        raise FieldErrors({"partner": "Cette personne n'est pas membre du groupe."})
    if await Subscription.exists().where(
        (Subscription.user == partner_id)
        & (Subscription.catalog == catalog_id)
        & Subscription.ended_at.is_null()
    ):
        raise FieldErrors({"partner": "Cette personne a déjà sa propre souscription à ce contrat."})
    await SharedBasket.insert(
        SharedBasket(
            subscription=subscription_id,
            partner=partner_id,
            partner_first=partner_first,
            updated_by=by_user_id,
        )
    ).on_conflict(
        target=SharedBasket.subscription,
        action="DO UPDATE",
        values=[SharedBasket.partner, SharedBasket.partner_first, SharedBasket.updated_by],
    )


async def collectors(catalog_id: int, distribution_id: int) -> dict[int, str]:
    """The liste d'émargement: {order id: who collects} for the shared baskets of this
    date. One query without shared baskets, three with."""
    shares = await shares_of_catalog(catalog_id)
    if not shares:
        return {}
    subs = await Subscription.select(
        Subscription.id,
        Subscription.user,
        Subscription.starts_on,
        Subscription.ends_on,
        Subscription.user.first_name.as_alias("first_name"),
        Subscription.user.last_name.as_alias("last_name"),
        Subscription.user.email.as_alias("email"),
        Subscription.catalog.group.as_alias("group_id"),
    ).where(Subscription.id.is_in(list(shares)))
    await consent.mask(subs[0]["group_id"], subs, user_key="user")
    dates = await catalog_dates(catalog_id)
    orders = {
        o["user"]: o["id"]
        for o in await Order.select(Order.id, Order.user).where(
            (Order.distribution == distribution_id) & Order.user.is_in([s["user"] for s in subs])
        )
    }
    found = {}
    for sub in subs:
        order_id = orders.get(sub["user"])
        if order_id is None:
            continue
        share = shares[sub["id"]]
        partner = turns(dates, sub, share).get(distribution_id, False)
        found[order_id] = name(share if partner else sub)
    return found


async def reroute(kind: str, recipients: list[dict]) -> list[dict]:
    """Reminders of a distribution (rows: order_id, distribution, user_id, email,
    first_name, total_cents): an order whose shared basket is the second holder's turn
    reminds the second holder (unless they turned this reminder off), and no longer its
    holder if the basket is all the order holds."""
    if not recipients:
        return recipients
    orders = [r["order_id"] for r in recipients]
    lines = await OrderLine.select(
        OrderLine.order, OrderLine.subscription, OrderLine.product.catalog.as_alias("catalog")
    ).where(OrderLine.order.is_in(orders))
    basket_lines = [line for line in lines if line["subscription"] is not None]
    if not basket_lines:
        return recipients
    share_ids = {
        s["subscription"]
        for s in await SharedBasket.select(SharedBasket.subscription).where(
            SharedBasket.subscription.is_in(sorted({x["subscription"] for x in basket_lines}))
        )
    }
    if not share_ids:
        return recipients
    subs = {
        s["id"]: s
        for s in await Subscription.select(
            Subscription.id, Subscription.catalog, Subscription.starts_on, Subscription.ends_on
        ).where(Subscription.id.is_in(sorted(share_ids)))
    }
    shares = {
        s["subscription"]: s
        for s in await SharedBasket.select(
            SharedBasket.subscription,
            SharedBasket.partner,
            SharedBasket.partner_first,
            SharedBasket.partner.email.as_alias("email"),
            SharedBasket.partner.first_name.as_alias("first_name"),
        ).where(SharedBasket.subscription.is_in(sorted(share_ids)))
    }
    off = {
        o["user"]
        for o in await MailOptOut.select(MailOptOut.user).where(
            (MailOptOut.kind == kind)
            & MailOptOut.user.is_in(sorted({s["partner"] for s in shares.values()}))
        )
    }
    dates = {c: await catalog_dates(c) for c in sorted({s["catalog"] for s in subs.values()})}
    by_order: dict[int, list[dict]] = {}
    for line in lines:
        by_order.setdefault(line["order"], []).append(line)
    out = []
    for rcpt in recipients:
        keep_holder, extra = False, {}
        for line in by_order.get(rcpt["order_id"], []):
            sub_id = line["subscription"]
            if sub_id not in share_ids:
                keep_holder = True
                continue
            sub, share = subs[sub_id], shares[sub_id]
            if turns(dates[sub["catalog"]], sub, share).get(rcpt["distribution"], False):
                extra[share["partner"]] = share
            else:
                keep_holder = True
        if keep_holder:
            out.append(rcpt)
        for partner, share in extra.items():
            if partner not in off and partner != rcpt["user_id"]:
                out.append(
                    rcpt
                    | {
                        "user_id": partner,
                        "email": share["email"],
                        "first_name": share["first_name"],
                    }
                )
    return out
