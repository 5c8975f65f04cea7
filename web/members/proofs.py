"""The proof of a Mode création consent (the signed form): attached and read by the
group's admins only, from the member's page."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException

from domain.kernel.errors import FieldErrors
from domain.members import proofs
from web.access import Policy, policy
from web.downloads import attachment
from web.forms import Multipart
from web.members.common import _member_context, _member_or_404, members_url
from web.pages import flash, form_status, redirect, render

PATH = "/g/{slug:str}/membres/{user_id:int}/consentement/{consent_id:int}/piece"


class ProofForm(msgspec.Struct):
    proof: UploadFile | None = None


@post(PATH, opt=policy(Policy.ADMIN))
async def attach_proof(
    request: Request,
    slug: str,
    user_id: int,
    consent_id: int,
    data: Annotated[ProofForm, Multipart],
) -> object:
    upload = data.proof
    content = await upload.read(proofs.MAX_BYTES + 1) if upload is not None else b""
    try:
        await proofs.attach(request.state.group["id"], user_id, consent_id, content)
    except proofs.NoSuchRecord as error:
        raise NotFoundException("Ce consentement n'existe pas.") from error
    except FieldErrors as error:
        person = await _member_or_404(request, user_id)
        return render(
            request,
            "members/member.html",
            _member_context(
                request, person, errors=error.errors, proof_for=consent_id, may_order=False
            ),
            status_code=form_status(request),
        )
    flash(request, "Pièce justificative du consentement enregistrée.")
    return redirect(request, f"{members_url(request)}/{user_id}#consentement")


@get(PATH, opt=policy(Policy.ADMIN))
async def download_proof(request: Request, slug: str, user_id: int, consent_id: int) -> Response:
    """Private: never kept in a cache, never shown inline (a download)."""
    found = await proofs.proof_of(request.state.group["id"], user_id, consent_id)
    if found is None:
        raise NotFoundException("Aucune pièce justificative pour ce consentement.")
    extension = "pdf" if found["proof_type"] == proofs.PDF else "jpg"
    name = f"Consentement - {found['first_name']} {found['last_name']}".strip() + f".{extension}"
    return Response(
        content=found["proof"],
        media_type=found["proof_type"],
        headers={
            "Content-Disposition": attachment(name, f"consentement.{extension}"),
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


handlers = [attach_proof, download_proof]
