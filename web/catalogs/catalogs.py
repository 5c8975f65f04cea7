"""CATALOGUES: the group's catalogs; creating and editing one (admins); its RÉCAPITULATIF."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, get, post

from domain import catalogs, distributions, producers
from domain.accounts import display_name
from domain.catalogs import CATALOG_KINDS
from domain.kernel import forms
from domain.kernel.errors import FieldErrors
from web.access import Policy, policy
from web.catalogs.menu import (
    catalog_context,
    catalog_of_group,
    catalog_view,
    managed_catalog,
    may_see_products,
)
from web.distributions import view as distribution_view
from web.forms import Form
from web.groups import group_context
from web.pages import flash, form_status, pop_flash, redirect, render


class CatalogForm(msgspec.Struct):
    name: str = ""
    vendor_id: str = ""
    kind: str = "variable"
    starts_on: str = ""
    ends_on: str = ""
    coordinator_id: str = ""
    description: str = ""
    # Checkboxes name="distribution_ids" value="{id}": one checked box arrives as a string.
    distribution_ids: list[str] | str = []


# ---- catalogs --------------------------------------------------------------------------


@get("/g/{slug:str}/catalogues", opt=policy(Policy.CATALOGS), name="group_catalogues")
async def catalogs_page(request: Request, slug: str) -> object:
    found = await catalogs.catalogs_of(request.state.group["id"])
    shown = [
        catalog_view(request, c)
        for c in found
        if request.state.roles.admin or may_see_products(request, c)
    ]
    return render(
        request,
        "catalogs/list.html",
        group_context(request, active="catalogues", catalogs=shown, flash=pop_flash(request)),
    )


async def _coming(group_id: int) -> list[dict]:
    """The distributions a catalog can be set to deliver at: the coming, not cancelled ones."""
    coming = await distributions.distributions_of(group_id)
    return [distribution_view(d) for d in coming if d["cancelled_at"] is None]


async def _catalog_page(
    request: Request, form: dict, errors: dict, catalog_id: int | None, status: int = 200
) -> object:
    """The new-catalog page (outside the menu), or MODIFIER LE CATALOGUE (inside it)."""
    group_id = request.state.group["id"]
    vendors = await producers.vendors_of(group_id)
    members = await catalogs.coordinator_choices(group_id)
    fields = {
        "form": form,
        "errors": errors,
        "catalog_id": catalog_id,
        "vendors": {"": "Choisissez un producteur"} | {str(v["id"]): v["name"] for v in vendors},
        "coordinators": {"": "Aucun"} | {str(m["id"]): display_name(m) for m in members},
        "catalog_kinds": CATALOG_KINDS,
        "coming": await _coming(group_id),
    }
    if catalog_id is None:
        template, context = "catalogs/form.html", group_context(request, active="catalogues")
    else:
        catalog = catalog_view(request, await catalog_of_group(request, catalog_id))
        template, context = "catalogs/edit.html", catalog_context(request, catalog, "modifier")
    return render(
        request,
        template,
        context | fields,
        fragment="catalogs/_form.html",
        status_code=status,
    )


@get("/g/{slug:str}/catalogues/nouveau", opt=policy(Policy.ADMIN))
async def new_catalog_page(request: Request, slug: str) -> object:
    form = {"kind": "variable", "distribution_ids": []}
    return await _catalog_page(request, form, {}, None)


@get("/g/{slug:str}/catalogues/{catalog_id:int}", opt=policy(Policy.ADMIN))
async def edit_catalog_page(request: Request, slug: str, catalog_id: int) -> object:
    catalog = await catalog_of_group(request, catalog_id)
    form = catalog | {
        "vendor_id": str(catalog["vendor"]),
        "coordinator_id": str(catalog["coordinator"] or ""),
        "starts_on": catalog["starts_on"].isoformat() if catalog["starts_on"] else "",
        "ends_on": catalog["ends_on"].isoformat() if catalog["ends_on"] else "",
        "distribution_ids": [str(i) for i in await catalogs.delivery_ids(catalog_id)],
    }
    return await _catalog_page(request, form, {}, catalog_id)


async def _save_catalog(request: Request, data: CatalogForm, catalog_id: int | None) -> object:
    group = request.state.group
    try:
        saved = await catalogs.save_catalog(
            group["id"],
            group["kind"],
            name=data.name,
            vendor_id=data.vendor_id,
            kind=data.kind,
            starts_on=data.starts_on,
            ends_on=data.ends_on,
            coordinator_id=data.coordinator_id,
            description=data.description,
            catalog_id=catalog_id,
            distribution_ids=forms.ids(data.distribution_ids),
            offered=[d["id"] for d in await _coming(group["id"])],
        )
    except FieldErrors as error:
        form = msgspec.structs.asdict(data)
        form["distribution_ids"] = [str(i) for i in forms.ids(data.distribution_ids)]
        return await _catalog_page(request, form, error.errors, catalog_id, form_status(request))
    flash(request, f"Catalogue « {saved['name']} » enregistré.")
    return redirect(request, f"/g/{group['slug']}/catalogues")


@post("/g/{slug:str}/catalogues/nouveau", opt=policy(Policy.ADMIN))
async def create_catalog(request: Request, slug: str, data: Annotated[CatalogForm, Form]) -> object:
    return await _save_catalog(request, data, None)


@post("/g/{slug:str}/catalogues/{catalog_id:int}", opt=policy(Policy.ADMIN))
async def update_catalog(
    request: Request, slug: str, catalog_id: int, data: Annotated[CatalogForm, Form]
) -> object:
    await catalog_of_group(request, catalog_id)
    return await _save_catalog(request, data, catalog_id)


# ---- RÉCAPITULATIF -----------------------------------------------------------------------


@get("/g/{slug:str}/catalogues/{catalog_id:int}/gerer", opt=policy(Policy.CATALOGS))
async def recap_page(request: Request, slug: str, catalog_id: int) -> object:
    catalog = await managed_catalog(request, catalog_id, edit=False)
    return render(
        request,
        "catalogs/recap.html",
        catalog_context(
            request,
            catalog,
            "recap",
            figures=await catalogs.summary(catalog_id),
            flash=pop_flash(request),
        ),
    )


handlers = [
    catalogs_page,
    new_catalog_page,
    edit_catalog_page,
    create_catalog,
    update_catalog,
    recap_page,
]
