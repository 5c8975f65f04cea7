"""Produits → Import/Export → Import Escarcelle: the preview, then the confirmation."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, get, post

from domain.escarcelle import catalogue
from domain.kernel.errors import FieldErrors
from domain.kernel.wording import plural
from jobs import escarcelle as escarcelle_jobs
from web.access import Policy, policy
from web.forms import Form
from web.pages import flash, redirect, render
from web.producer_space.common import base_url, producer_or_404, space_context


class ConfirmForm(msgspec.Struct):
    token: str = ""


def _page(request: Request, producer: dict, *, result=None, error=None, token="", status=200):
    return render(
        request,
        "escarcelle/import.html",
        space_context(
            producer,
            "produits",
            result=result,
            error=error,
            token=token,
            labels=catalogue.STATUS_LABELS,
            maximum=catalogue.MAX_PRODUCTS,
        ),
        status_code=status,
    )


@get("/espace-producteur/{producer_id:int}/produits/import-escarcelle", opt=policy(Policy.USER))
async def import_preview(request: Request, producer_id: int) -> object:
    """Escarcelle's products in stock (every page) against the list: nothing written."""
    producer = await producer_or_404(request, producer_id)
    try:
        items = await escarcelle_jobs.fetch_catalogue(producer_id)
        result = catalogue.preview(items, await catalogue.existing(producer_id))
    except (escarcelle_jobs.FetchError, catalogue.TooMany) as error:
        return _page(request, producer, error=error.message, status=422)
    changes = catalogue.items_to_import(result)
    token = (
        catalogue.sign(changes, request.app.state.settings.secret_key, producer_id)
        if changes
        else ""
    )
    return _page(request, producer, result=result, token=token)


@post("/espace-producteur/{producer_id:int}/produits/import-escarcelle", opt=policy(Policy.USER))
async def import_confirm(
    request: Request, producer_id: int, data: Annotated[ConfirmForm, Form]
) -> object:
    producer = await producer_or_404(request, producer_id)
    items = catalogue.read(data.token, request.app.state.settings.secret_key, producer_id)
    if items is None:
        message = "L'aperçu a expiré ou a été modifié : refaites l'import."
        return _page(request, producer, error=message, status=422)
    try:
        counts = await catalogue.confirm(producer_id, items, once=catalogue.once_key(data.token))
    except catalogue.ImportedAlready:
        flash(request, "Cet import a déjà été fait.")
        return redirect(request, f"{base_url(producer)}/produits")
    except FieldErrors as error:
        return _page(request, producer, error=error.errors["token"], status=422)
    out = (
        f", {plural(counts['out'], 'passé', 'passés')} à 0 (plus en stock dans Escarcelle)"
        if counts["out"]
        else ""
    )
    flash(
        request,
        f"Import Escarcelle terminé : {plural(counts['new'], 'produit créé', 'produits créés')}, "
        f"{plural(counts['update'], 'mis à jour', 'mis à jour')}{out}. "
        "Vérifiez-les avant de les ajouter dans un catalogue, et pensez à leur photo.",
    )
    return redirect(request, f"{base_url(producer)}/produits")


handlers = [import_preview, import_confirm]
