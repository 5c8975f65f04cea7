"""Groups (AMAP, marché, épicerie solidaire), their settings and who holds which role."""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass

from domain.accounts import FieldErrors
from domain.database import transaction
from domain.tables import Catalog, Group, Membership, Vendor

KINDS = {"amap": "AMAP", "market": "Marché", "grocery": "Épicerie solidaire"}
REGISTRATIONS = {"open": "Ouvert", "waiting_list": "Liste d'attente", "closed": "Fermé"}


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:60] or "groupe"


def _check(name: str, kind: str, registration: str, description: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not name.strip():
        errors["name"] = "Indiquez le nom du groupe."
    elif len(name.strip()) > 120:
        errors["name"] = "Le nom ne doit pas dépasser 120 caractères."
    if kind not in KINDS:
        errors["kind"] = "Choisissez le type : AMAP, marché ou épicerie solidaire."
    if registration not in REGISTRATIONS:
        errors["registration"] = (
            "Choisissez le mode d'inscription : ouvert, liste d'attente ou fermé."
        )
    if len(description) > 5000:
        errors["description"] = "La description ne doit pas dépasser 5 000 caractères."
    return errors


async def create_group(
    *, user_id: int, name: str, kind: str, registration: str, description: str, instance: str
) -> dict:
    """The creator becomes the group's first admin."""
    errors = _check(name, kind, registration, description)
    if errors:
        raise FieldErrors(errors)
    base = slugify(name)
    async with transaction():
        slug = base
        while await Group.exists().where(Group.slug == slug):
            slug = f"{base}-{secrets.token_hex(2)}"
        rows = await Group.insert(
            Group(
                name=name.strip(),
                slug=slug,
                kind=kind,
                registration=registration,
                description=description.strip(),
                instance=instance,
            )
        ).returning(Group.id)
        group_id = rows[0]["id"]
        await Membership.insert(
            Membership(
                user=user_id, group=group_id, is_admin=True, can_messages=True, can_members=True
            )
        )
    return await group_by_id(group_id)


async def update_settings(
    group_id: int, *, name: str, kind: str, registration: str, description: str
) -> dict:
    errors = _check(name, kind, registration, description)
    if errors:
        raise FieldErrors(errors)
    await Group.update(
        {
            Group.name: name.strip(),
            Group.kind: kind,
            Group.registration: registration,
            Group.description: description.strip(),
        }
    ).where(Group.id == group_id)
    return await group_by_id(group_id)


async def group_by_id(group_id: int) -> dict:
    return await Group.select().where(Group.id == group_id).first()


async def group_by_slug(slug: str) -> dict | None:
    return await Group.select().where(Group.slug == slug).first()


async def groups_of(user_id: int, instance: str) -> list[dict]:
    """The user's groups on this instance, with their role, for the home page."""
    return (
        await Membership.select(
            Membership.group.id.as_alias("id"),
            Membership.group.name.as_alias("name"),
            Membership.group.slug.as_alias("slug"),
            Membership.group.kind.as_alias("kind"),
            Membership.is_admin,
        )
        .where((Membership.user == user_id) & (Membership.group.instance == instance))
        .order_by(Membership.group.name)
    )


@dataclass(frozen=True)
class Roles:
    """What one user is in one group; computed once per request."""

    member: bool = False
    admin: bool = False
    can_messages: bool = False
    can_members: bool = False
    producer: bool = False  # linked to a vendor of the group
    coordinator: bool = False  # coordinates at least one catalog of the group

    @property
    def any(self) -> bool:
        return self.member or self.producer


async def roles_of(user_id: int | None, group_id: int) -> Roles:
    if user_id is None:
        return Roles()
    membership = (
        await Membership.select(
            Membership.is_admin, Membership.can_messages, Membership.can_members
        )
        .where((Membership.user == user_id) & (Membership.group == group_id))
        .first()
    )
    producer = await Vendor.exists().where((Vendor.group == group_id) & (Vendor.user == user_id))
    coordinator = await Catalog.exists().where(
        (Catalog.group == group_id) & (Catalog.coordinator == user_id)
    )
    if membership is None:
        return Roles(producer=producer)
    admin = membership["is_admin"]
    return Roles(
        member=True,
        admin=admin,
        can_messages=admin or membership["can_messages"],
        can_members=admin or membership["can_members"],
        producer=producer,
        coordinator=coordinator,
    )


def tabs_for(group: dict, roles: Roles) -> list[tuple[str, str]]:
    """The tab bar of the seeds; a tab the user may not use is not shown."""
    tabs: list[tuple[str, str]] = []
    if roles.member:
        tabs.append(("commandes", "COMMANDES"))
        if group["kind"] == "amap":
            tabs.append(("contrats", "MES CONTRATS"))
        tabs.append(("producteurs", "PRODUCTEURS"))
    if roles.can_members:
        tabs.append(("membres", "MEMBRES"))
    if roles.member:
        tabs.append(("distributions", "DISTRIBUTIONS"))
    if roles.admin or roles.coordinator or roles.producer:
        tabs.append(("catalogues", "CATALOGUES"))
    if roles.can_messages:
        tabs.append(("messagerie", "MESSAGERIE"))
    if roles.admin:
        tabs.append(("parametres", "PARAMÈTRES"))
    return tabs
