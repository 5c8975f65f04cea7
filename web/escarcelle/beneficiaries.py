"""Membres → « Import Escarcelle »: the Export Mailing of Escarcelle's clients, a preview,
then everything in one transaction (domain/escarcelle/beneficiaries.py)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, get, post
from litestar.datastructures import UploadFile

from domain.escarcelle import beneficiaries
from domain.kernel.wording import plural
from domain.members.imports import STATUS_LABELS, ImportProblem
from jobs import mail as mail_jobs
from web.access import Policy, policy
from web.accounts import mail_context
from web.forms import Form, Multipart
from web.members.common import members_context, members_url
from web.pages import flash, redirect, render

STATUSES = STATUS_LABELS | {"member": "Déjà membre : son code client Escarcelle est enregistré"}


class ImportForm(msgspec.Struct):
    file: UploadFile | None = None


class ConfirmForm(msgspec.Struct):
    signed: str = ""


async def _page(request: Request, status: int = 200, **extra) -> object:
    grocery = await beneficiaries.grocery_of(request.state.group["id"])
    return render(
        request,
        "escarcelle/beneficiaries.html",
        members_context(
            request,
            sub="import-escarcelle",
            grocery=grocery,
            columns=beneficiaries.COLUMNS,
            required=beneficiaries.REQUIRED,
            statuses=STATUSES,
            problem=extra.pop("problem", None),
            preview=extra.pop("preview", None),
            signed=extra.pop("signed", ""),
            **extra,
        ),
        status_code=status,
    )


@get("/g/{slug:str}/membres/import-escarcelle", opt=policy(Policy.MEMBERS))
async def import_page(request: Request, slug: str) -> object:
    return await _page(request)


@post(
    "/g/{slug:str}/membres/import-escarcelle",
    opt=policy(Policy.MEMBERS),
    request_max_body_size=16 * 1024 * 1024,
)
async def import_preview(
    request: Request, slug: str, data: Annotated[ImportForm, Multipart]
) -> object:
    group_id = request.state.group["id"]
    if await beneficiaries.grocery_of(group_id) is None:
        return await _page(request, 422, problem=NOT_LINKED)
    content = await data.file.read() if data.file is not None else b""
    if not content:
        return await _page(request, 422, problem="Choisissez le fichier CSV de l'Export Mailing.")
    try:
        preview = await beneficiaries.preview(group_id, content)
    except ImportProblem as problem:
        return await _page(request, 422, problem=problem.message)
    signed = ""
    if preview.ok:
        signed = beneficiaries.sign(group_id, preview, request.app.state.settings.secret_key)
    return await _page(request, 200 if preview.ok else 422, preview=preview, signed=signed)


NOT_LINKED = (
    "Aucune épicerie liée à Escarcelle ne vend dans ce point de distribution : l'épicerie "
    "enregistre d'abord sa clé (espace producteur → Paramètres → Synchro Escarcelle)."
)


@post("/g/{slug:str}/membres/import-escarcelle/confirmer", opt=policy(Policy.MEMBERS))
async def import_confirm(request: Request, slug: str, data: Annotated[ConfirmForm, Form]) -> object:
    group_id = request.state.group["id"]
    grocery = await beneficiaries.grocery_of(group_id)
    if grocery is None:
        return await _page(request, 422, problem=NOT_LINKED)
    secret = request.app.state.settings.secret_key
    try:
        rows = beneficiaries.unsign(data.signed, group_id, secret)
        result = await beneficiaries.confirm(
            group_id,
            rows,
            mail_context(request),
            secret,
            by=request.state.user["id"],
            grocery=grocery["grocery_name"],
        )
    except ImportProblem as problem:
        return await _page(request, 422, problem=problem.message)
    await mail_jobs.hand_over(result.mail_ids)
    flash(
        request,
        "Import Escarcelle terminé : "
        + plural(result.created + result.linked, "bénéficiaire invité", "bénéficiaires invités")
        + ", "
        + plural(result.already, "déjà membre", "déjà membres")
        + " (code client enregistré).",
    )
    return redirect(request, members_url(request))


handlers = [import_page, import_preview, import_confirm]
