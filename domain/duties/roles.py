"""PARAMÈTRES → Permanences: the group's volunteer roles (of the group, or of one of its
catalogs), how many people each needs, its instructions; how many days ahead members may
sign up, and the instructions every volunteer gets."""

from __future__ import annotations

from datetime import datetime

from domain.database import transaction
from domain.duties import DEFAULT_OPEN_DAYS, MAX_NAME, MAX_OPEN_DAYS, MAX_PLACES, NotFound
from domain.kernel import forms
from domain.kernel.clock import now
from domain.kernel.errors import FieldErrors
from domain.tables import Catalog, Distribution, DutyRole, DutySettings, DutySignup

# ---- the group's settings ----------------------------------------------------------------


async def settings_of(group_id: int) -> dict:
    """{"open_days", "instructions"}: the defaults when the group never saved any."""
    row = (
        await DutySettings.select(DutySettings.open_days, DutySettings.instructions)
        .where(DutySettings.group == group_id)
        .first()
    )
    return row or {"open_days": DEFAULT_OPEN_DAYS, "instructions": ""}


async def save_settings(group_id: int, *, open_days: str, instructions: str) -> dict:
    errors: dict[str, str] = {}
    days = forms.parse_whole(open_days, "open_days", errors, optional=False)
    if days is not None and not 1 <= days <= MAX_OPEN_DAYS:
        errors["open_days"] = f"Indiquez un nombre de jours entre 1 et {MAX_OPEN_DAYS}."
    forms.check_length(errors, "instructions", instructions, forms.LONG_TEXT)
    if errors:
        raise FieldErrors(errors)
    row = DutySettings(group=group_id, open_days=days, instructions=instructions.strip())
    await DutySettings.insert(row).on_conflict(
        target=DutySettings.group,
        action="DO UPDATE",
        values=[DutySettings.open_days, DutySettings.instructions],
    )
    return await settings_of(group_id)


# ---- roles -------------------------------------------------------------------------------

_ROLE_COLUMNS = (
    DutyRole.id,
    DutyRole.group,
    DutyRole.catalog,
    DutyRole.name,
    DutyRole.places,
    DutyRole.instructions,
    DutyRole.position,
    DutyRole.catalog.name.as_alias("catalog_name"),
    DutyRole.catalog.vendor.name.as_alias("vendor_name"),
)


def _view(role: dict) -> dict:
    where = (
        f"{role['vendor_name']} – {role['catalog_name']}" if role["catalog"] else "Tout le groupe"
    )
    return role | {"where": where}


async def roles_of(group_id: int) -> list[dict]:
    """The group's roles (not removed): the group's first, then by catalog, in their order."""
    rows = (
        await DutyRole.select(*_ROLE_COLUMNS)
        .where((DutyRole.group == group_id) & DutyRole.removed_at.is_null())
        .order_by(DutyRole.position, DutyRole.id)
    )
    return [_view(r) for r in sorted(rows, key=lambda r: (r["catalog"] is not None, r["position"]))]


async def role(group_id: int, role_id: int) -> dict | None:
    row = (
        await DutyRole.select(*_ROLE_COLUMNS)
        .where(
            (DutyRole.id == role_id) & (DutyRole.group == group_id) & DutyRole.removed_at.is_null()
        )
        .first()
    )
    return _view(row) if row else None


async def catalog_choices(group_id: int) -> dict[str, str]:
    """The choices of a role's « Pour » field: the whole group, or one of its catalogs."""
    rows = (
        await Catalog.select(Catalog.id, Catalog.name, Catalog.vendor.name.as_alias("vendor"))
        .where(Catalog.group == group_id)
        .order_by(Catalog.vendor.name, Catalog.name)
    )
    return {"": "Tout le groupe (chaque distribution)"} | {
        str(r["id"]): f"{r['vendor']} – {r['name']} (ses distributions)" for r in rows
    }


async def _check(group_id: int, name: str, places: str, instructions: str, catalog: str):
    errors: dict[str, str] = {}
    name = " ".join(name.split())
    if not name:
        errors["name"] = "Indiquez le nom du rôle, par exemple « Accueil »."
    elif len(name) > MAX_NAME:
        errors["name"] = f"Le nom ne doit pas dépasser {MAX_NAME} caractères."
    count = forms.parse_whole(places, "places", errors, optional=False)
    if count is not None and not 1 <= count <= MAX_PLACES:
        errors["places"] = f"Indiquez un nombre de personnes entre 1 et {MAX_PLACES}."
    forms.check_length(errors, "instructions", instructions, forms.LONG_TEXT)
    catalog_id = None
    if catalog.strip():
        catalog_id = forms.an_id(catalog)
        if catalog_id is None or not await Catalog.exists().where(
            (Catalog.id == catalog_id) & (Catalog.group == group_id)
        ):
            errors["catalog"] = "Choisissez le groupe ou un de ses catalogues."
    if errors:
        raise FieldErrors(errors)
    return name, count, instructions.strip(), catalog_id


async def save_role(
    group_id: int,
    *,
    name: str,
    places: str,
    instructions: str,
    catalog: str = "",
    role_id: int | None = None,
) -> dict:
    """A new role (at the end of the list), or changes to one. With fewer places, the
    volunteers of the coming distributions keep theirs (the role is full beyond them)."""
    name, count, instructions, catalog_id = await _check(
        group_id, name, places, instructions, catalog
    )
    values = {
        DutyRole.name: name,
        DutyRole.places: count,
        DutyRole.instructions: instructions,
        DutyRole.catalog: catalog_id,
    }
    async with transaction():
        if role_id is not None:
            rows = (
                await DutyRole.update(values)
                .where(
                    (DutyRole.id == role_id)
                    & (DutyRole.group == group_id)
                    & DutyRole.removed_at.is_null()
                )
                .returning(DutyRole.id)
            )
            if not rows:
                raise NotFound()
            await _compact_places(role_id)
        else:
            last = await DutyRole.select(DutyRole.position).where(DutyRole.group == group_id)
            position = max((r["position"] for r in last), default=-1) + 1
            rows = await DutyRole.insert(
                DutyRole(
                    group=group_id,
                    position=position,
                    **{c._meta.name: v for c, v in values.items()},
                )
            ).returning(DutyRole.id)
            role_id = rows[0]["id"]
    return await role(group_id, role_id)


async def _compact_places(role_id: int) -> None:
    """The role's volunteers at each coming distribution hold places 1, 2, 3… in the order
    they had: once places are fewer, everyone within the count holds a place the count
    covers, so that no new sign-up finds one free while the role is full. Ascending
    moves never collide (each lands on a number below its own, already vacated)."""
    rows = (
        await DutySignup.select(DutySignup.id, DutySignup.distribution, DutySignup.place)
        .where(
            (DutySignup.role == role_id)
            & DutySignup.distribution.is_in(
                Distribution.select(Distribution.id).where(Distribution.starts_at > now())
            )
        )
        .order_by(DutySignup.distribution)
        .order_by(DutySignup.place)
    )
    number: dict[int, int] = {}
    for row in rows:
        target = number[row["distribution"]] = number.get(row["distribution"], 0) + 1
        if row["place"] != target:
            await DutySignup.update({DutySignup.place: target}).where(DutySignup.id == row["id"])


async def remove_role(group_id: int, role_id: int, moment: datetime | None = None) -> int:
    """The role is needed no more: its volunteers of the coming distributions are taken
    off (the past ones stay, for the group's records). Returns how many were."""
    moment = moment or now()
    async with transaction():
        rows = (
            await DutyRole.update({DutyRole.removed_at: moment})
            .where(
                (DutyRole.id == role_id)
                & (DutyRole.group == group_id)
                & DutyRole.removed_at.is_null()
            )
            .returning(DutyRole.id)
        )
        if not rows:
            raise NotFound()
        gone = (
            await DutySignup.delete()
            .where(
                (DutySignup.role == role_id)
                & DutySignup.distribution.is_in(
                    Distribution.select(Distribution.id).where(Distribution.starts_at > moment)
                )
            )
            .returning(DutySignup.id)
        )
    return len(gone)


async def coming_volunteers(role_id: int) -> int:
    """How many people hold the role at coming distributions (the removal's warning)."""
    return await DutySignup.count().where(
        (DutySignup.role == role_id)
        & DutySignup.distribution.is_in(
            Distribution.select(Distribution.id).where(Distribution.starts_at > now())
        )
    )
