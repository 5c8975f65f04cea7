"""Mon compte → « Mes données »: download everything about oneself, delete one's account."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, Response, get, post
from litestar.response import Stream

from domain.accounts import TooManyAttempts
from domain.kernel import clock
from domain.kernel.errors import FieldErrors
from domain.privacy import deletion, export
from web.access import Policy, policy
from web.accounts import too_many
from web.downloads import attachment
from web.forms import Form
from web.pages import form_status, render
from web.sessions import log_out


class DeleteForm(msgspec.Struct):
    password: str = ""
    confirm: str = ""


async def _page(request: Request, errors: dict | None = None, status: int = 200):
    user = request.state.user
    return render(
        request,
        "privacy/page.html",
        {
            "errors": errors or {},
            "has_password": bool(user.get("password_hash")),
            "sole_admin": await deletion.sole_admin_of(user["id"]),
        },
        status_code=status,
    )


@get("/compte/donnees", opt=policy(Policy.USER))
async def page(request: Request) -> object:
    return await _page(request)


@get("/compte/donnees/mes-donnees.zip", opt=policy(Policy.USER))
async def archive(request: Request) -> Response:
    """The zip, streamed as it is written (bounded memory)."""
    user, moment = request.state.user, clock.now()
    try:
        await export.allow(user["id"], moment)
    except TooManyAttempts as error:
        return await _page(request, {"archive": too_many(error)}, 429)
    site = request.state.instance.name
    name = f"mes-donnees-{site}-{moment:%Y-%m-%d}.zip"
    return Stream(
        export.archive(user["id"], moment, site),
        media_type="application/zip",
        headers={
            "Content-Disposition": attachment(name, "mes-donnees.zip"),
            "Cache-Control": "no-store",
        },
    )


@post("/compte/donnees/supprimer", opt=policy(Policy.USER))
async def delete(request: Request, data: Annotated[DeleteForm, Form]) -> object:
    """With the password; every session of the account ends, this one too."""
    try:
        await deletion.delete_own_account(
            request.state.user, data.password, data.confirm, clock.now()
        )
    except FieldErrors as error:
        return await _page(request, error.errors, form_status(request))
    log_out(request)
    request.state.user = None
    return render(request, "privacy/deleted.html")


handlers = [page, archive, delete]
