"""Paramètres → Synchro Escarcelle: the key (checked by the caller with GET /me, sealed,
shown masked, replaceable, removable) and « Statut de la synchronisation »."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from domain.database import transaction
from domain.escarcelle import SEAL_PURPOSE
from domain.kernel import clock, sealing
from domain.kernel.errors import FieldErrors
from domain.members import consent
from domain.outbox import MailContext, queue
from domain.producer_space import producers
from domain.tables import EscarcelleLink, Group, Membership, Product

KEY_MAX = 200


def check_key(text: str) -> str:
    """The pasted key, trimmed; FieldErrors({"key": …}) if it cannot be one."""
    key = (text or "").strip()
    if not key:
        raise FieldErrors({"key": "Collez votre clé Escarcelle."})
    if len(key) > KEY_MAX or not re.fullmatch(r"[\x21-\x7e]+", key):
        raise FieldErrors(
            {"key": "Ce n'est pas une clé Escarcelle : copiez-la telle quelle depuis "
             "Escarcelle, Paramètres, puis API."}
        )  # fmt: skip
    return key


async def save_link(
    producer_id: int, *, key: str, pdv_id: str, grocery_name: str, secret: str, user_id: int
) -> dict:
    """Links the producer to the grocery `GET /me` answered for this key (the caller checked
    it), or replaces its key. One transaction. Refused: the grocery is linked to another
    producer (its stock would be counted twice), or the new key is another grocery's."""
    pdv_id = str(pdv_id)[:40]
    async with transaction():
        taken = (
            await EscarcelleLink.select(EscarcelleLink.producer)
            .where((EscarcelleLink.pdv_id == pdv_id) & (EscarcelleLink.producer != producer_id))
            .first()
        )
        if taken:
            raise FieldErrors(
                {"key": f"L'épicerie Escarcelle « {grocery_name} » est déjà liée à un autre "
                 "producteur : ses stocks seraient comptés deux fois. Une épicerie ne se lie "
                 "qu'à un seul producteur."}
            )  # fmt: skip
        current = (
            await EscarcelleLink.select().where(EscarcelleLink.producer == producer_id).first()
        )
        values = {
            EscarcelleLink.key_sealed: sealing.seal(key, secret, SEAL_PURPOSE),
            EscarcelleLink.key_hint: sealing.hint(key),
            EscarcelleLink.grocery_name: grocery_name[:200],
            EscarcelleLink.state: "ok",
            EscarcelleLink.broken_at: None,
            EscarcelleLink.last_error: "",
            EscarcelleLink.last_error_at: None,
            EscarcelleLink.linked_at: clock.now(),
            EscarcelleLink.linked_by: user_id,
        }
        if current is not None:
            if current["pdv_id"] != pdv_id:
                raise FieldErrors(
                    {"key": f"Cette clé est celle d'une autre épicerie (« {grocery_name} ») : "
                     "supprimez d'abord la clé actuelle."}
                )  # fmt: skip
            await EscarcelleLink.update(values).where(EscarcelleLink.producer == producer_id)
        else:
            await EscarcelleLink.insert(
                EscarcelleLink(
                    producer=producer_id,
                    pdv_id=pdv_id,
                    **{column._meta.name: value for column, value in values.items()},
                )
            )
    return await EscarcelleLink.select().where(EscarcelleLink.producer == producer_id).first()


async def remove_link(producer_id: int) -> bool:
    """The key is forgotten (the limitations lift); the products keep their Escarcelle id
    and the sales already pushed stay as they are. One statement."""
    rows = (
        await EscarcelleLink.delete()
        .where(EscarcelleLink.producer == producer_id)
        .returning(EscarcelleLink.id)
    )
    return bool(rows)


async def mark_broken(producer_id: int, message: str, ctx: MailContext, url: str) -> list[int]:
    """Escarcelle refused the key (401): the link is broken until the key is replaced, and
    the grocery's admins get one mail for it. Returns the mails' ids."""
    moment = clock.now()
    async with transaction():
        rows = (
            await EscarcelleLink.update(
                {
                    EscarcelleLink.state: "broken",
                    EscarcelleLink.broken_at: moment,
                    EscarcelleLink.last_error: message,
                    EscarcelleLink.last_error_at: moment,
                }
            )
            .where((EscarcelleLink.producer == producer_id) & (EscarcelleLink.state == "ok"))
            .returning(EscarcelleLink.id, EscarcelleLink.grocery_name)
        )
        if not rows:
            return []  # broken already: one mail per breakage
        ids = []
        for admin in await producers.admins_of(producer_id):
            mail = await queue(
                key=f"escarcelle_broken:{rows[0]['id']}:{admin['id']}:{moment.isoformat()}",
                kind="escarcelle_broken",
                to=admin["email"],
                template="escarcelle_broken",
                context={
                    "first_name": admin["first_name"],
                    "grocery_name": rows[0]["grocery_name"],
                    "message": message,
                    "url": url,
                },
                ctx=ctx,
                user=admin["id"],
            )
            ids.append(mail)
    return [i for i in ids if i]


async def record_error(producer_id: int, message: str) -> None:
    """A call that failed for a while (429, 5xx, timeout): kept for the Stocks page; the
    last known stock stays."""
    await EscarcelleLink.update(
        {EscarcelleLink.last_error: message[:500], EscarcelleLink.last_error_at: clock.now()}
    ).where(EscarcelleLink.producer == producer_id)


# ---- « Statut de la synchronisation » ---------------------------------------------------

SHOWN = 50  # names listed per block (the rest counted)


@dataclass
class Share:
    total: int = 0
    linked: int = 0
    missing: list[dict] = field(default_factory=list)  # the first SHOWN without an id

    @property
    def percent(self) -> int:
        return 100 if not self.total else (100 * self.linked) // self.total

    @property
    def unlinked(self) -> int:
        return self.total - self.linked


@dataclass
class Status:
    products: Share
    beneficiaries: dict[int, Share]  # per group where the grocery sells
    groups: dict[int, dict]
    checked_at: datetime


async def status(producer_id: int, viewer_id: int) -> Status:
    """The share of the producer's products, and of each of its groups' members, that have
    an Escarcelle id, with those that have none: named (as the group's admins see them) in
    the groups `viewer_id` administers, counted only in the others. A few queries."""
    products = (
        await Product.select(Product.id, Product.name, Product.reference, Product.escarcelle_id)
        .where(Product.producer == producer_id)
        .order_by(Product.name)
    )
    share = Share(total=len(products))
    for product in products:
        if product["escarcelle_id"]:
            share.linked += 1
        elif len(share.missing) < SHOWN:
            share.missing.append(product)
    group_ids = await producers.group_ids(producer_id)
    groups = {
        g["id"]: g
        for g in await Group.select(Group.id, Group.name, Group.slug).where(
            Group.id.is_in(group_ids or [0])
        )
    }
    administered = {
        row["group"]
        for row in await Membership.select(Membership.group).where(
            (Membership.user == viewer_id)
            & Membership.group.is_in(group_ids or [0])
            & (Membership.is_admin == True)  # noqa: E712
        )
    }
    members = await Membership.select(
        Membership.group,
        Membership.user.as_alias("user_id"),
        Membership.escarcelle_id,
        Membership.accepted_at,
        Membership.is_admin,
        Membership.user.email.as_alias("email"),
        Membership.user.first_name.as_alias("first_name"),
        Membership.user.last_name.as_alias("last_name"),
    ).where(Membership.group.is_in(group_ids or [0]) & (Membership.is_admin == False))  # noqa: E712
    beneficiaries = {gid: Share() for gid in groups}
    for member in sorted(members, key=lambda m: (m["last_name"].lower(), m["email"])):
        block = beneficiaries[member["group"]]
        block.total += 1
        if member["escarcelle_id"] and member["accepted_at"] is not None:
            block.linked += 1
        elif member["group"] in administered and len(block.missing) < SHOWN:
            block.missing.append(member)
    for group_id, block in beneficiaries.items():
        await consent.mask(group_id, block.missing)
    for group_id, group in groups.items():
        group["administered"] = group_id in administered
    return Status(share, beneficiaries, groups, clock.now())
