"""Groups: the user's home, creating a group, its public page, its tabs and PARAMÈTRES."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body

from domain import groups
from domain.accounts import FieldErrors
from web.access import Policy, policy
from web.pages import redirect, render

Form = Body(media_type=RequestEncodingType.URL_ENCODED)


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
        "share_url": f"{instance.url}/g/{group['slug']}",
        "kinds": groups.KINDS,
        "registrations": groups.REGISTRATIONS,
        **extra,
    }


@get("/", opt=policy(Policy.ANONYMOUS), name="home")
async def home(request: Request) -> object:
    user = request.state.user
    my_groups = await groups.groups_of(user["id"], request.state.instance.key) if user else []
    flash = request.session.pop("flash", None) if user and request.session else None
    return render(request, "groups/home.html", {"my_groups": my_groups, "flash": flash})


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
            status_code=200 if request.headers.get("hx-request") else 422,
        )
    return redirect(request, f"/g/{group['slug']}")


@get("/g/{slug:str}", opt=policy(Policy.GROUP_PUBLIC), name="group_home")
async def group_home(request: Request, slug: str) -> object:
    flash = request.session.pop("flash", None) if request.session else None
    return render(
        request, "groups/home_group.html", group_context(request, active="accueil", flash=flash)
    )


@get("/g/{slug:str}/parametres", opt=policy(Policy.ADMIN), name="group_settings")
async def settings_page(request: Request, slug: str) -> object:
    group = request.state.group
    return render(
        request,
        "groups/settings.html",
        group_context(request, active="parametres", form=dict(group), errors={}, saved=False),
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
            ),
            fragment="groups/_settings_form.html",
            status_code=200 if request.headers.get("hx-request") else 422,
        )
    return render(
        request,
        "groups/settings.html",
        group_context(
            request, active="parametres", form=dict(request.state.group), errors={}, saved=True
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
