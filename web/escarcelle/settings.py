"""Paramètres → Synchro Escarcelle: paste the key (checked at once), see it masked, replace
or remove it; « Statut de la synchronisation »."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, get, post

from domain import escarcelle
from domain.escarcelle import links, sales
from domain.kernel.errors import FieldErrors
from jobs import escarcelle as escarcelle_jobs
from web.access import Policy, policy
from web.forms import Form
from web.pages import flash, form_status, pop_flash, redirect, render
from web.producer_space.common import base_url, producer_or_404, space_context


class KeyForm(msgspec.Struct):
    key: str = ""


def settings_url(producer: dict) -> str:
    return base_url(producer) + escarcelle.SETTINGS_PATH


async def _page(request: Request, producer: dict, errors: dict | None = None, status=200):
    link = await escarcelle.link_of(producer["id"])
    return render(
        request,
        "escarcelle/settings.html",
        space_context(
            producer,
            "parametres",
            link=link,
            state=await links.status(producer["id"], request.state.user["id"]) if link else None,
            reports=await sales.reports_of(producer["id"]) if link else [],
            errors=errors or {},
            flash=pop_flash(request),
        ),
        status_code=status,
    )


@get("/espace-producteur/{producer_id:int}/parametres", opt=policy(Policy.USER))
async def settings_page(request: Request, producer_id: int) -> object:
    return await _page(request, await producer_or_404(request, producer_id))


@post("/espace-producteur/{producer_id:int}/parametres/escarcelle", opt=policy(Policy.USER))
async def save_key(request: Request, producer_id: int, data: Annotated[KeyForm, Form]) -> object:
    """The key checked by Escarcelle (GET /me) then stored sealed; refused with a French
    message at the field."""
    producer = await producer_or_404(request, producer_id)
    try:
        link = await escarcelle_jobs.connect(producer_id, data.key, request.state.user["id"])
    except FieldErrors as error:
        return await _page(request, producer, error.errors, form_status(request))
    flash(
        request,
        f"Clé enregistrée : votre compte est lié à « {link['grocery_name']} » dans Escarcelle.",
    )
    return redirect(request, settings_url(producer))


@post(
    "/espace-producteur/{producer_id:int}/parametres/escarcelle/supprimer",
    opt=policy(Policy.USER),
)
async def remove_key(request: Request, producer_id: int) -> object:
    producer = await producer_or_404(request, producer_id)
    removed = await links.remove_link(producer_id)
    flash(
        request,
        "Clé Escarcelle supprimée : la synchronisation est arrêtée et les limitations levées."
        if removed
        else "Aucune clé Escarcelle n'était enregistrée.",
    )
    return redirect(request, settings_url(producer))


handlers = [settings_page, save_key, remove_key]
