"""PARAMÈTRES → Permanences: how many days ahead members sign up, the instructions for
every volunteer, and the roles (of the group or of one catalog), their places and
instructions."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, get, post
from litestar.exceptions import NotFoundException

from domain.duties import NotFound, roles
from domain.kernel.errors import FieldErrors
from domain.kernel.wording import plural
from web.access import Policy, policy
from web.forms import Form
from web.groups import group_context
from web.pages import flash, form_status, pop_flash, redirect, render

BASE = "/g/{slug:str}/parametres/permanences"


class SettingsForm(msgspec.Struct):
    open_days: str = ""
    all_instructions: str = ""  # not `instructions`: a role's field on the same page


class RoleForm(msgspec.Struct):
    name: str = ""
    places: str = ""
    instructions: str = ""
    catalog: str = ""


def settings_url(request: Request) -> str:
    return f"/g/{request.state.group['slug']}/parametres/permanences"


def _settings_form(settings: dict) -> dict:
    return {"open_days": str(settings["open_days"]), "all_instructions": settings["instructions"]}


async def _page(
    request: Request,
    *,
    settings_form: dict | None = None,
    settings_errors: dict | None = None,
    role_form: dict | None = None,
    role_errors: dict | None = None,
    status: int = 200,
) -> object:
    group_id = request.state.group["id"]
    return render(
        request,
        "duties/settings.html",
        group_context(
            request,
            active="parametres",
            duty_roles=await roles.roles_of(group_id),
            choices=await roles.catalog_choices(group_id),
            settings_form=settings_form or _settings_form(await roles.settings_of(group_id)),
            settings_errors=settings_errors or {},
            role_form=role_form or {"places": "1", "catalog": ""},
            role_errors=role_errors or {},
            flash=pop_flash(request),
        ),
        status_code=status,
    )


@get(BASE, opt=policy(Policy.ADMIN), name="duty_settings")
async def settings_page(request: Request, slug: str) -> object:
    return await _page(request)


@post(BASE, opt=policy(Policy.ADMIN))
async def save_settings(request: Request, slug: str, data: Annotated[SettingsForm, Form]) -> object:
    try:
        await roles.save_settings(
            request.state.group["id"],
            open_days=data.open_days,
            instructions=data.all_instructions,
        )
    except FieldErrors as error:
        return await _page(
            request,
            settings_form=msgspec.structs.asdict(data),
            settings_errors=error.errors,
            status=form_status(request),
        )
    flash(request, "Réglages des permanences enregistrés.")
    return redirect(request, settings_url(request))


@post(BASE + "/roles", opt=policy(Policy.ADMIN))
async def create_role(request: Request, slug: str, data: Annotated[RoleForm, Form]) -> object:
    try:
        made = await roles.save_role(request.state.group["id"], **msgspec.structs.asdict(data))
    except FieldErrors as error:
        return await _page(
            request,
            role_form=msgspec.structs.asdict(data),
            role_errors=error.errors,
            status=form_status(request),
        )
    flash(request, f"Rôle « {made['name']} » ajouté.")
    return redirect(request, settings_url(request))


async def _role_or_404(request: Request, role_id: int) -> dict:
    found = await roles.role(request.state.group["id"], role_id)
    if found is None:
        raise NotFoundException("Ce rôle n'existe pas dans ce groupe.")
    return found


async def _role_page(request, role: dict, form: dict, errors: dict, status: int = 200):
    return render(
        request,
        "duties/role.html",
        group_context(
            request,
            active="parametres",
            role=role,
            form=form,
            errors=errors,
            choices=await roles.catalog_choices(request.state.group["id"]),
            volunteers=await roles.coming_volunteers(role["id"]),
        ),
        status_code=status,
    )


@get(BASE + "/roles/{role_id:int}", opt=policy(Policy.ADMIN), name="duty_role")
async def role_page(request: Request, slug: str, role_id: int) -> object:
    role = await _role_or_404(request, role_id)
    form = role | {"places": str(role["places"]), "catalog": str(role["catalog"] or "")}
    return await _role_page(request, role, form, {})


@post(BASE + "/roles/{role_id:int}", opt=policy(Policy.ADMIN))
async def save_role(
    request: Request, slug: str, role_id: int, data: Annotated[RoleForm, Form]
) -> object:
    role = await _role_or_404(request, role_id)
    try:
        saved = await roles.save_role(
            request.state.group["id"], role_id=role_id, **msgspec.structs.asdict(data)
        )
    except NotFound:
        raise NotFoundException("Ce rôle n'existe pas dans ce groupe.") from None
    except FieldErrors as error:
        return await _role_page(
            request, role, msgspec.structs.asdict(data), error.errors, form_status(request)
        )
    flash(request, f"Rôle « {saved['name']} » enregistré.")
    return redirect(request, settings_url(request))


@post(BASE + "/roles/{role_id:int}/supprimer", opt=policy(Policy.ADMIN))
async def remove_role(request: Request, slug: str, role_id: int) -> object:
    role = await _role_or_404(request, role_id)
    try:
        gone = await roles.remove_role(request.state.group["id"], role_id)
    except NotFound:
        raise NotFoundException("Ce rôle n'existe pas dans ce groupe.") from None
    told = f" {plural(gone, 'bénévole retiré', 'bénévoles retirés')}." if gone else ""
    flash(request, f"Rôle « {role['name']} » supprimé.{told}")
    return redirect(request, settings_url(request))


handlers = [settings_page, save_settings, create_role, role_page, save_role, remove_role]
