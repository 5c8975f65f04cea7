"""DOCUMENTS of a catalog (PDF), and their download by those allowed to read them."""

from __future__ import annotations

import re
from typing import Annotated

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException, PermissionDeniedException

from domain.catalogs import documents
from domain.kernel.errors import FieldErrors
from web.access import Policy, policy
from web.catalogs.menu import catalog_context, managed_catalog
from web.downloads import attachment
from web.forms import Multipart
from web.pages import flash, form_status, pop_flash, redirect, render

DOCUMENT_NAME = re.compile(r"(\d{1,9})\.pdf")


# ---- DOCUMENTS ---------------------------------------------------------------------------


class DocumentForm(msgspec.Struct):
    visibility: str = "members"
    file: UploadFile | None = None


def _documents_url(request: Request, catalog_id: int) -> str:
    return f"/g/{request.state.group['slug']}/catalogues/{catalog_id}/documents"


async def _documents_page(
    request: Request,
    catalog: dict,
    *,
    errors: dict | None = None,
    form: dict | None = None,
    status: int = 200,
) -> object:
    return render(
        request,
        "catalogs/documents.html",
        catalog_context(
            request,
            catalog,
            "documents",
            documents=await documents.documents_of(catalog["id"]),
            visibilities=documents.VISIBILITIES,
            errors=errors or {},
            form=form or {"visibility": "members"},
            flash=pop_flash(request),
        ),
        status_code=status,
    )


@get("/g/{slug:str}/catalogues/{catalog_id:int}/documents", opt=policy(Policy.COORDINATOR))
async def documents_page(request: Request, slug: str, catalog_id: int) -> object:
    catalog = await managed_catalog(request, catalog_id, edit=True)
    return await _documents_page(request, catalog)


@post("/g/{slug:str}/catalogues/{catalog_id:int}/documents", opt=policy(Policy.COORDINATOR))
async def upload_document(
    request: Request, slug: str, catalog_id: int, data: Annotated[DocumentForm, Multipart]
) -> object:
    catalog = await managed_catalog(request, catalog_id, edit=True)
    upload = data.file
    content = await upload.read(documents.MAX_BYTES + 1) if upload is not None else b""
    try:
        saved = await documents.save_document(
            catalog_id,
            filename=upload.filename if upload is not None else "",
            content_type=upload.content_type if upload is not None else "",
            data=content,
            visibility=data.visibility,
            user_id=request.state.user["id"],
        )
    except FieldErrors as error:
        return await _documents_page(
            request,
            catalog,
            errors=error.errors,
            form={"visibility": data.visibility},
            status=form_status(request),
        )
    flash(request, f"Document « {saved['name']} » ajouté.")
    return redirect(request, _documents_url(request, catalog_id))


@post(
    "/g/{slug:str}/catalogues/{catalog_id:int}/documents/{document_id:int}/supprimer",
    opt=policy(Policy.COORDINATOR),
)
async def delete_document(request: Request, slug: str, catalog_id: int, document_id: int) -> object:
    await managed_catalog(request, catalog_id, edit=True)
    if not await documents.delete_document(catalog_id, document_id):
        raise NotFoundException("Ce document n'existe pas dans ce catalogue.")
    flash(request, "Document supprimé.")
    return redirect(request, _documents_url(request, catalog_id))


@get("/g/{slug:str}/documents/{name:str}", opt=policy(Policy.USER))
async def download_document(request: Request, slug: str, name: str) -> Response:
    """`/g/<slug>/documents/12.pdf`, for those the document's visibility lets in; never
    kept in a cache (it is private)."""
    match = DOCUMENT_NAME.fullmatch(name)
    doc = (
        await documents.document(request.state.group["id"], int(match.group(1))) if match else None
    )
    if doc is None:
        raise NotFoundException("Ce document n'existe pas.")
    roles = request.state.roles
    if not await documents.may_read(
        doc, request.state.user["id"], admin=roles.admin, member=roles.member
    ):
        raise PermissionDeniedException("Ce document ne vous est pas destiné.")
    return Response(
        content=doc["content"],
        media_type="application/pdf",
        headers={
            "Content-Disposition": attachment(doc["name"], "document.pdf"),
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


handlers = [
    documents_page,
    upload_document,
    delete_document,
    download_document,
]
