"""Groups (AMAP, marché, épicerie solidaire), their settings and who holds which role."""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass

from domain.database import fetch, transaction
from domain.kernel.clock import now
from domain.kernel.errors import FieldErrors
from domain.tables import Group, Membership

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
                user=user_id,
                group=group_id,
                is_admin=True,
                can_messages=True,
                can_members=True,
                accepted_at=now(),
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
    # The names of the one this member shares their membership with (a household), if any.
    household: tuple[str, str] | None = None

    @property
    def any(self) -> bool:
        return self.member or self.producer


_GROUP_COLUMNS = ", ".join(f'g."{c._meta.db_column_name}"' for c in Group._meta.columns)
_GROUP_AND_ROLES = (
    f"SELECT {_GROUP_COLUMNS}, m.id AS membership, m.is_admin, m.can_messages, "  # noqa: S608
    "m.can_members, "
    'EXISTS (SELECT 1 FROM vendor v WHERE v."group" = g.id AND v."user" = {}) AS producer, '
    'EXISTS (SELECT 1 FROM catalog c WHERE c."group" = g.id AND c.coordinator = {}) '
    "AS coordinator, "
    # A household sharing one membership: the other one's names, for the header.
    "(SELECT u.first_name FROM app_user u WHERE u.id = m.shared_with) AS shared_first_name, "
    "(SELECT u.last_name FROM app_user u WHERE u.id = m.shared_with) AS shared_last_name "
    'FROM app_group g LEFT JOIN membership m ON m."group" = g.id AND m."user" = {} '
    "WHERE g.slug = {}"
)
_ROLE_COLUMNS = (
    "membership",
    "is_admin",
    "can_messages",
    "can_members",
    "producer",
    "coordinator",
    "shared_first_name",
    "shared_last_name",
)


def _roles(row: dict) -> Roles:
    producer, coordinator = bool(row["producer"]), bool(row["coordinator"])
    if row["membership"] is None:
        return Roles(producer=producer)
    admin = bool(row["is_admin"])
    return Roles(
        member=True,
        admin=admin,
        can_messages=admin or bool(row["can_messages"]),
        can_members=admin or bool(row["can_members"]),
        producer=producer,
        coordinator=coordinator,
        household=(row["shared_first_name"] or "", row["shared_last_name"] or "")
        if row["shared_first_name"] is not None
        else None,
    )


async def group_and_roles(slug: str, user_id: int | None) -> tuple[dict, Roles] | None:
    """The group of a URL and what the user is in it, in one query (every group page)."""
    rows = await fetch(Group, _GROUP_AND_ROLES, user_id, user_id, user_id, slug)
    if not rows:
        return None
    row = rows[0]
    roles = _roles(row) if user_id is not None else Roles()
    return {k: v for k, v in row.items() if k not in _ROLE_COLUMNS}, roles


def household_name(user: dict, roles: Roles) -> str:
    """« MARIUZZO-RAYNAUD Paul et BOURSIER Mélissa »: a household sharing one membership,
    as the header of the seed's screens names it; "" for anyone else."""
    if roles.household is None:
        return ""
    people = [(user.get("first_name") or "", user.get("last_name") or ""), roles.household]
    names = [f"{last.upper()} {first}".strip() for first, last in people]
    return " et ".join(n for n in names if n)


def tabs_for(group: dict, roles: Roles) -> list[tuple[str, str]]:
    """The tab bar of the seeds; a tab the user may not use is not shown."""
    tabs: list[tuple[str, str]] = []
    if roles.member:
        tabs.append(("commandes", "COMMANDES"))
        if group["kind"] == "amap":
            tabs.append(("contrats", "MES CONTRATS"))
        tabs.append(("producteurs", "PRODUCTEURS"))
    if roles.can_members:
        # A market's people are its clients (« la page CLIENTS de votre marché »).
        tabs.append(("membres", "CLIENTS" if group["kind"] == "market" else "MEMBRES"))
    if roles.member:
        tabs.append(("distributions", "DISTRIBUTIONS"))
    if roles.admin or roles.coordinator or roles.producer:
        tabs.append(("catalogues", "CATALOGUES"))
    if roles.can_messages:
        tabs.append(("messagerie", "MESSAGERIE"))
    if roles.admin:
        tabs.append(("paiements", "PAIEMENTS"))
        tabs.append(("parametres", "PARAMÈTRES"))
    return tabs
