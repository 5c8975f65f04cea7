"""Groups: the user's home, creating a group, its public page, its tabs and PARAMÈTRES."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, get, post

from domain import groups, instances, producer_space
from domain.kernel.errors import FieldErrors
from domain.members import joining
from web.access import Policy, policy
from web.forms import Form
from web.pages import form_status, redirect, render


class GroupForm(msgspec.Struct):
    name: str = ""
    kind: str = ""
    registration: str = ""
    description: str = ""


def group_context(request: Request, **extra) -> dict:
    group = request.state.group
    roles = request.state.roles
    instance = request.state.instance
    return {
        "group": group,
        "roles": roles,
        "tabs": groups.tabs_for(group, roles),
        "household": groups.household_name(request.state.user or {}, roles),
        "share_url": f"{instance.url}/g/{group['slug']}",
        "kinds": groups.KINDS,
        "registrations": groups.REGISTRATIONS,
        **extra,
    }


def migration_of(request: Request, group: dict) -> dict | None:
    """PARAMÈTRES shows where a moved group came from and its redirection dates."""
    return instances.migration_of(group, request.app.state.settings.instances)


@get("/", opt=policy(Policy.ANONYMOUS), name="home")
async def home(request: Request) -> object:
    user = request.state.user
    my_groups = await groups.groups_of(user["id"], request.state.instance.key) if user else []
    flash = request.session.pop("flash", None) if user and request.session else None
    # Producers: the groups where they sell here, and the producer space where it exists.
    selling = await producer_space.selling_groups(user["id"]) if user else []
    # Moves: a group shows on its old site until the move date, then with its new address.
    moved = []
    if user:
        my_groups, moved = await instances.home_groups(
            user["id"], request.state.instance.key, my_groups
        )
    settings = request.app.state.settings
    return render(
        request,
        "groups/home.html",
        {
            "my_groups": my_groups,
            "flash": flash,
            "selling": [g for g in selling if g["serving"] == request.state.instance.key],
            # Groups that moved from here to another site: with their new address.
            "selling_elsewhere": [
                g | {"site": i.name, "url": f"{i.url.rstrip('/')}/g/{g['slug']}/catalogues"}
                for g in selling
                if g["serving"] != request.state.instance.key
                and g["previous_instance"] == request.state.instance.key
                for i in settings.instances
                if i.key == g["serving"]
            ],
            "is_producer": bool(selling),
            "moved": [
                g | {"site": i.name, "url": f"{i.url.rstrip('/')}/g/{g['slug']}"}
                for g in moved
                for i in settings.instances
                if i.key == g["instance"]
            ],
        },
    )


@get("/groupes/nouveau", opt=policy(Policy.USER))
async def new_group_page(request: Request) -> object:
    return render(
        request,
        "groups/new.html",
        {
            "form": {"kind": "amap", "registration": "open"},
            "errors": {},
            "kinds": groups.KINDS,
            "registrations": groups.REGISTRATIONS,
        },
    )


@post("/groupes/nouveau", opt=policy(Policy.USER))
async def create_group(request: Request, data: Annotated[GroupForm, Form]) -> object:
    try:
        group = await groups.create_group(
            user_id=request.state.user["id"],
            name=data.name,
            kind=data.kind,
            registration=data.registration,
            description=data.description,
            instance=request.state.instance.key,
        )
    except FieldErrors as error:
        return render(
            request,
            "groups/new.html",
            {
                "form": msgspec.structs.asdict(data),
                "errors": error.errors,
                "kinds": groups.KINDS,
                "registrations": groups.REGISTRATIONS,
            },
            status_code=form_status(request),
        )
    return redirect(request, f"/g/{group['slug']}")


async def group_home_context(request: Request, **extra) -> dict:
    """The home page, with the visitor's way in: following an open group, their request
    to join a group with a waiting list (joining.join_state)."""

    user, group = request.state.user, request.state.group
    join = None
    if user and not request.state.roles.member and group["registration"] == "waiting_list":
        join = await joining.join_state(user["id"], group["id"])
    flash = request.session.pop("flash", None) if request.session else None
    # The group's calendar (web/calendars.py), as a webcal:// link: one click subscribes.
    url = f"{request.state.instance.url}/g/{group['slug']}/calendrier.ics"
    context = {
        "join": join,
        "join_form": {},
        "errors": {},
        "flash": flash,
        "calendar_webcal": "webcal://" + url.split("://", 1)[1],
    } | extra
    return group_context(request, active="accueil", **context)


@get("/g/{slug:str}", opt=policy(Policy.GROUP_PUBLIC), name="group_home")
async def group_home(request: Request, slug: str) -> object:
    return render(request, "groups/home_group.html", await group_home_context(request))


@get("/g/{slug:str}/parametres", opt=policy(Policy.ADMIN), name="group_settings")
async def settings_page(request: Request, slug: str) -> object:
    group = request.state.group
    return render(
        request,
        "groups/settings.html",
        group_context(
            request,
            active="parametres",
            form=dict(group),
            errors={},
            saved=False,
            migration=migration_of(request, group),
        ),
        fragment="groups/_settings_form.html",
    )


@post("/g/{slug:str}/parametres", opt=policy(Policy.ADMIN))
async def save_settings(request: Request, slug: str, data: Annotated[GroupForm, Form]) -> object:
    group = request.state.group
    try:
        request.state.group = await groups.update_settings(
            group["id"],
            name=data.name,
            kind=data.kind,
            registration=data.registration,
            description=data.description,
        )
    except FieldErrors as error:
        return render(
            request,
            "groups/settings.html",
            group_context(
                request,
                active="parametres",
                form=msgspec.structs.asdict(data),
                errors=error.errors,
                saved=False,
                migration=migration_of(request, group),
            ),
            fragment="groups/_settings_form.html",
            status_code=form_status(request),
        )
    return render(
        request,
        "groups/settings.html",
        group_context(
            request,
            active="parametres",
            form=dict(request.state.group),
            errors={},
            saved=True,
            migration=migration_of(request, request.state.group),
        ),
        fragment="groups/_settings_form.html",
    )


handlers = [
    home,
    new_group_page,
    create_group,
    group_home,
    settings_page,
    save_settings,
]
