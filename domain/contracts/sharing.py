"""Shared baskets (alternance): a subscription's second holder collects the basket in turn
with its holder. The turns follow the contract's distributions of the subscription's
period (cancelled ones left out), the holder first unless `partner_first` (« commencer par
l'autre »); an absence does not move the turns.

Who collects shows in each holder's MES CONTRATS (their own dates), on the liste
d'émargement (« retiré par … ») and in the reminders, which go to the one whose turn it is
(notifications.py asks `reroute`). The order, its debt and its payments stay the holder's:
the basket is one subscription.

The coordinator sets the second holder (SOUSCRIPTIONS), and so does the holder, from MES
CONTRATS, by the e-mail of a member of the group; an address that is no member's is
refused in the same words whether an account has it or not."""

from __future__ import annotations

from domain.accounts import check_email, display_name, normalize_email
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


async def _refuse_partner(group_id: int, catalog_id: int, sub: dict, partner_id: int) -> None:
    """Who may not be the second holder of this subscription, with the message at the
    field. A person already sharing another basket of the contract is refused: a member
    has one basket of a contract."""
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
    if await SharedBasket.exists().where(
        (SharedBasket.partner == partner_id)
        & (SharedBasket.subscription != sub["id"])
        & (SharedBasket.subscription.catalog == catalog_id)
        & SharedBasket.subscription.ended_at.is_null()
    ):
        raise FieldErrors({"partner": "Cette personne partage déjà un autre panier de ce contrat."})


async def _save(sub: dict, partner_id: int, partner_first: bool, by_user_id: int) -> None:
    await SharedBasket.insert(
        SharedBasket(
            subscription=sub["id"],
            partner=partner_id,
            partner_first=partner_first,
            updated_by=by_user_id,
        )
    ).on_conflict(
        target=SharedBasket.subscription,
        action="DO UPDATE",
        values=[SharedBasket.partner, SharedBasket.partner_first, SharedBasket.updated_by],
    )


async def set_partner(
    *,
    group_id: int,
    catalog_id: int,
    subscription_id: int,
    partner_id: int | None,
    partner_first: bool,
    by_user_id: int,
) -> None:
    """The coordinator's form: the second holder of a subscription (None: the basket is no
    longer shared), and who starts. One statement."""
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
    await _refuse_partner(group_id, catalog_id, sub, partner_id)
    await _save(sub, partner_id, partner_first, by_user_id)


# ---- the holder's own form (MES CONTRATS → « Partager mon panier ») ---------------------

NOT_A_MEMBER = (
    "Aucun membre du groupe n'a cette adresse e-mail : vérifiez-la, ou demandez à la "
    "personne de rejoindre le groupe d'abord."
)


async def own_subscription(catalog_id: int, user_id: int) -> dict | None:
    """The member's current subscription to the contract as its holder (a second holder
    has none: only the holder shares the basket)."""
    return (
        await Subscription.select(
            Subscription.id, Subscription.user, Subscription.catalog.group.as_alias("group_id")
        )
        .where(
            (Subscription.catalog == catalog_id)
            & (Subscription.user == user_id)
            & Subscription.ended_at.is_null()
        )
        .first()
    )


async def holder_page(group_id: int, catalog_id: int, user_id: int) -> dict:
    """The holder's subscription and its share (names as the group shows them); NotFound
    for anyone else."""
    sub = await own_subscription(catalog_id, user_id)
    if sub is None or sub["group_id"] != group_id:
        raise NotFound("Vous n'êtes pas titulaire d'une souscription à ce contrat.")
    share = await share_of(sub["id"])
    if share is not None:
        await consent.mask(group_id, [share], user_key="partner")
    return {"subscription": sub, "share": share}


async def share_as_holder(
    *, group_id: int, catalog_id: int, user_id: int, email: str, partner_first: bool
) -> dict:
    """The holder names their second holder by the e-mail of a member of the group. An
    address that is no member's gets one message, whether an account has it or not (one
    query either way). One statement once checked; the same form twice is the same row."""
    sub = (await holder_page(group_id, catalog_id, user_id))["subscription"]
    address = normalize_email(email or "")
    errors = check_email(address, "partner")
    if errors:
        raise FieldErrors(errors)
    found = (
        await Membership.select(Membership.user)
        .where((Membership.group == group_id) & (Membership.user.email == address))
        .first()
    )
    if found is None:
        raise FieldErrors({"partner": NOT_A_MEMBER})
    await _refuse_partner(group_id, catalog_id, sub, found["user"])
    await _save(sub, found["user"], partner_first, user_id)
    return (await holder_page(group_id, catalog_id, user_id))["share"]


async def unshare_as_holder(*, group_id: int, catalog_id: int, user_id: int) -> bool:
    """The holder's basket is no longer shared (one statement). False: it was not."""
    sub = (await holder_page(group_id, catalog_id, user_id))["subscription"]
    gone = (
        await SharedBasket.delete()
        .where(SharedBasket.subscription == sub["id"])
        .returning(SharedBasket.id)
    )
    return bool(gone)


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
