"""DISTRIBUTIONS of a catalog: the dates it delivers at, and its own order window."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, get, post
from litestar.exceptions import NotFoundException

from domain import catalogs, distributions
from domain.catalogs import deliveries
from domain.catalogs.deliveries import DeliveryError
from domain.kernel import forms
from domain.kernel.dates import format_moment, label
from domain.kernel.errors import FieldErrors
from web.access import Policy, policy
from web.catalogs.menu import catalog_context, managed_catalog
from web.forms import Form
from web.pages import flash, form_status, pop_flash, redirect, render

# ---- DISTRIBUTIONS -----------------------------------------------------------------------


def _deliveries_url(request: Request, catalog_id: int) -> str:
    return f"/g/{request.state.group['slug']}/catalogues/{catalog_id}/distributions"


def _moment_input(moment) -> str:
    """A datetime-local input's value, in Paris time."""
    return format_moment(moment, "input")


async def _deliveries_page(
    request: Request,
    catalog: dict,
    *,
    errors: dict | None = None,
    error_for: int | None = None,
    form: dict | None = None,
    status: int = 200,
) -> object:
    rows = await deliveries.deliveries(catalog["id"])
    moment = distributions.now()
    for row in rows:
        row["when"] = label(row["starts_at"])
        row["opens_label"] = label(row["opens"])
        row["closes_label"] = label(row["closes"])
        row["dist_opens_label"] = label(row["dist_open_at"])
        row["dist_closes_label"] = label(row["dist_close_at"])
        row["opens_input"] = _moment_input(row["orders_open_at"])
        row["closes_input"] = _moment_input(row["orders_close_at"])
        if form and row["id"] == error_for:
            row["opens_input"], row["closes_input"] = form["opens"], form["closes"]
    addable = await deliveries.addable_distributions(request.state.group["id"], catalog["id"])
    return render(
        request,
        "catalogs/distributions.html",
        catalog_context(
            request,
            catalog,
            "distributions",
            coming=[r for r in rows if r["ends_at"] >= moment],
            past=[r for r in reversed(rows) if r["ends_at"] < moment],
            addable=[d | {"when": label(d["starts_at"])} for d in addable],
            errors=errors or {},
            error_for=error_for,
            flash=pop_flash(request),
        ),
        status_code=status,
    )


@get(
    "/g/{slug:str}/catalogues/{catalog_id:int}/distributions",
    opt=policy(Policy.COORDINATOR),
)
async def deliveries_page(request: Request, slug: str, catalog_id: int) -> object:
    catalog = await managed_catalog(request, catalog_id, edit=True)
    return await _deliveries_page(request, catalog)


class DeliveryForm(msgspec.Struct):
    distribution_id: str = ""


class WindowForm(msgspec.Struct):
    opens: str = ""
    closes: str = ""


@post(
    "/g/{slug:str}/catalogues/{catalog_id:int}/distributions",
    opt=policy(Policy.COORDINATOR),
)
async def add_delivery(
    request: Request, slug: str, catalog_id: int, data: Annotated[DeliveryForm, Form]
) -> object:
    catalog = await managed_catalog(request, catalog_id, edit=True)
    ids = forms.ids(data.distribution_id)
    try:
        await deliveries.add_delivery(request.state.group["id"], catalog_id, ids[0] if ids else -1)
    except DeliveryError as error:
        return await _deliveries_page(
            request, catalog, errors={"add": error.message}, status=form_status(request)
        )
    flash(request, "Distribution ajoutée.")
    return redirect(request, _deliveries_url(request, catalog_id))


async def _delivery_or_404(catalog_id: int, distribution_id: int) -> None:
    if distribution_id not in await catalogs.delivery_ids(catalog_id):
        raise NotFoundException("Ce catalogue n'est pas livré à cette distribution.")


@post(
    "/g/{slug:str}/catalogues/{catalog_id:int}/distributions/{distribution_id:int}/retirer",
    opt=policy(Policy.COORDINATOR),
)
async def remove_delivery(
    request: Request, slug: str, catalog_id: int, distribution_id: int
) -> object:
    catalog = await managed_catalog(request, catalog_id, edit=True)
    await _delivery_or_404(catalog_id, distribution_id)
    try:
        await deliveries.remove_delivery(catalog_id, distribution_id)
    except DeliveryError as error:
        return await _deliveries_page(
            request,
            catalog,
            errors={"remove": error.message},
            error_for=distribution_id,
            status=form_status(request),
        )
    flash(request, "Distribution retirée de ce catalogue.")
    return redirect(request, _deliveries_url(request, catalog_id))


@post(
    "/g/{slug:str}/catalogues/{catalog_id:int}/distributions/{distribution_id:int}/dates",
    opt=policy(Policy.COORDINATOR),
)
async def delivery_window(
    request: Request,
    slug: str,
    catalog_id: int,
    distribution_id: int,
    data: Annotated[WindowForm, Form],
) -> object:
    """This catalog's own order dates at one distribution (empty: the distribution's)."""
    catalog = await managed_catalog(request, catalog_id, edit=True)
    await _delivery_or_404(catalog_id, distribution_id)
    try:
        await deliveries.set_delivery_window(
            catalog_id, distribution_id, opens=data.opens, closes=data.closes
        )
    except FieldErrors as error:
        return await _deliveries_page(
            request,
            catalog,
            errors=error.errors,
            error_for=distribution_id,
            form=msgspec.structs.asdict(data),
            status=form_status(request),
        )
    flash(request, "Dates de commande enregistrées.")
    return redirect(request, _deliveries_url(request, catalog_id))


handlers = [
    deliveries_page,
    add_delivery,
    remove_delivery,
    delivery_window,
]
