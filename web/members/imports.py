"""« Importer des clients »: a CSV, its preview, then everything in one transaction."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile

from domain.kernel.wording import plural
from domain.members import (
    imports,
)
from domain.members.imports import ImportProblem
from jobs import mail as mail_jobs
from web.access import Policy, policy
from web.accounts import mail_context
from web.downloads import attachment
from web.forms import Form, Multipart
from web.members.common import members_context, members_url
from web.pages import flash, redirect, render

# ---- "Importer des clients" -------------------------------------------------------------


class ImportForm(msgspec.Struct):
    file: UploadFile | None = None


class ConfirmForm(msgspec.Struct):
    signed: str = ""


def _import_page(request: Request, status: int = 200, **extra) -> object:
    preview = extra.pop("preview", None)
    return render(
        request,
        "members/import.html",
        members_context(
            request,
            columns=imports.COLUMNS,
            required=imports.REQUIRED,
            max_mb=imports.MAX_BYTES // 1024 // 1024,
            problem=extra.pop("problem", None),
            preview=preview,
            statuses=imports.status_labels(preview) if preview else imports.STATUS_LABELS,
            signed=extra.pop("signed", ""),
            **extra,
        ),
        status_code=status,
    )


@get("/g/{slug:str}/membres/import", opt=policy(Policy.MEMBERS))
async def import_page(request: Request, slug: str) -> object:
    return _import_page(request)


@get("/g/{slug:str}/membres/import/modele.csv", opt=policy(Policy.MEMBERS))
async def import_template(request: Request, slug: str) -> Response:
    return Response(
        imports.template_csv(),
        media_type="text/csv",  # Litestar adds "; charset=utf-8"
        headers={"Content-Disposition": attachment("modele-import-clients.csv")},
    )


# The file may be up to imports.MAX_BYTES; a larger upload (up to this) is still read,
# so that its sender gets the page with the reason rather than a bare error.
@post(
    "/g/{slug:str}/membres/import",
    opt=policy(Policy.MEMBERS),
    request_max_body_size=16 * 1024 * 1024,
)
async def import_preview(
    request: Request, slug: str, data: Annotated[ImportForm, Multipart]
) -> object:
    """The preview: every row with its status, every bad row with its line and reason."""
    upload = data.file
    content = await upload.read() if upload is not None else b""
    if upload is None or (not content and not upload.filename):
        return _import_page(request, 422, problem="Choisissez le fichier CSV à importer.")
    try:
        preview = await imports.preview(request.state.group["id"], content)
    except ImportProblem as problem:
        return _import_page(request, 422, problem=problem.message)
    signed = ""
    if preview.ok:
        signed = imports.sign(
            request.state.group["id"], preview, request.app.state.settings.secret_key
        )
    return _import_page(
        request, 200 if preview.ok else 422, preview=preview, signed=signed, name=upload.filename
    )


@post("/g/{slug:str}/membres/import/confirmer", opt=policy(Policy.MEMBERS))
async def import_confirm(request: Request, slug: str, data: Annotated[ConfirmForm, Form]) -> object:
    """Exactly the previewed rows, all in one transaction; the mails after the commit."""
    group_id = request.state.group["id"]
    try:
        rows = imports.unsign(data.signed, group_id, request.app.state.settings.secret_key)
        result = await imports.confirm(
            group_id, rows, mail_context(request), request.app.state.settings.secret_key
        )
    except ImportProblem as problem:
        return _import_page(request, 422, problem=problem.message)
    await mail_jobs.hand_over(result.mail_ids)
    flash(
        request,
        "Import terminé : "
        + plural(
            result.created + result.linked,
            "personne invitée et ajoutée au groupe",
            "personnes invitées et ajoutées au groupe",
        )
        + ", "
        + plural(result.already, "personne déjà membre", "personnes déjà membres")
        + ".",
    )
    return redirect(request, members_url(request))


handlers = [
    import_page,
    import_template,
    import_preview,
    import_confirm,
]
