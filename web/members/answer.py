"""The person's answer to a group an admin added them to: « Rejoindre … » and « Ne pas
rejoindre ce groupe », from the links of the welcome mail. No login needed (the signed link
names the membership); the GET only shows the button, so that a link checker opening the
mail decides nothing: the POST acts."""

from __future__ import annotations

from litestar import Request, get, post

from domain.kernel.errors import FieldErrors
from domain.members import consent
from web.access import Policy, policy
from web.pages import render

BASE = "/adhesion/{token:str}"


def _secret(request: Request) -> str:
    return request.app.state.settings.secret_key


def _page(request: Request, action: str, token: str, found: dict | None, **extra) -> object:
    """The confirmation (or what was done); 410 for a link that no longer works."""
    return render(
        request,
        "members/answer.html",
        {"action": action, "token": token, "m": found, "done": False, "error": ""} | extra,
        status_code=200 if found else 410,
    )


@get(BASE + "/rejoindre", opt=policy(Policy.ANONYMOUS))
async def accept_page(request: Request, token: str) -> object:
    return _page(
        request, "rejoindre", token, await consent.membership_of_link(token, _secret(request))
    )


@post(BASE + "/rejoindre", opt=policy(Policy.ANONYMOUS))
async def accept(request: Request, token: str) -> object:
    found = await consent.accept(token, _secret(request))
    return _page(request, "rejoindre", token, found, done=found is not None)


@get(BASE + "/refuser", opt=policy(Policy.ANONYMOUS))
async def decline_page(request: Request, token: str) -> object:
    return _page(
        request, "refuser", token, await consent.membership_of_link(token, _secret(request))
    )


@post(BASE + "/refuser", opt=policy(Policy.ANONYMOUS))
async def decline(request: Request, token: str) -> object:
    found = await consent.membership_of_link(token, _secret(request))
    try:
        gone = await consent.decline(token, _secret(request))
    except consent.AlreadyAccepted:
        return _page(request, "refuser", token, found, error="accepted")
    except FieldErrors as error:  # the last admin of the group
        return _page(request, "refuser", token, found, error=next(iter(error.errors.values())))
    return _page(request, "refuser", token, gone, done=gone is not None)


handlers = [accept_page, accept, decline_page, decline]
