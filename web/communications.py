"""Mes communications (which automatic mails a user receives), the one-click unsubscribe
link of those mails, and the test e-mail page ("Envoyer un e-mail de test")."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, get, post

from domain import accounts, communications
from jobs import mail as mail_jobs
from web.access import Policy, policy
from web.accounts import client_address, mail_context
from web.forms import Form
from web.pages import flash, pop_flash, redirect, render


class PreferencesForm(msgspec.Struct):
    # Checkboxes name="kinds" value="<kind>": one checked box arrives as a string.
    kinds: list[str] | str = []


def _page_context(request: Request, prefs: dict[str, bool], saved: bool = False) -> dict:
    return {
        "kinds": [
            {
                "kind": kind,
                "label": label,
                "help": communications.KIND_HELP[kind],
                "on": prefs[kind],
            }
            for kind, label in communications.KINDS.items()
        ],
        "saved": saved,
        "flash": pop_flash(request),
    }


@get("/compte/communications", opt=policy(Policy.USER), name="communications")
async def communications_page(request: Request) -> object:
    prefs = await communications.preferences(request.state.user["id"])
    return render(
        request,
        "communications/page.html",
        _page_context(request, prefs),
        fragment="communications/_form.html",
    )


@post("/compte/communications", opt=policy(Policy.USER))
async def save_communications(request: Request, data: Annotated[PreferencesForm, Form]) -> object:
    kinds = {data.kinds} if isinstance(data.kinds, str) else set(data.kinds)
    prefs = await communications.set_preferences(request.state.user["id"], kinds)
    if request.htmx:
        return render(
            request,
            "communications/page.html",
            _page_context(request, prefs, saved=True),
            fragment="communications/_form.html",
        )
    flash(request, "Vos choix sont enregistrés.")
    return redirect(request, "/compte/communications")


# ---- one-click unsubscribe (RFC 8058) ---------------------------------------------------


def _read_token(request: Request, token: str) -> tuple[int, str] | None:
    return communications.read_unsubscribe_token(request.app.state.settings.secret_key, token)


@get("/desabonnement/{token:str}", opt=policy(Policy.ANONYMOUS), name="unsubscribe")
async def unsubscribe_page(request: Request, token: str) -> object:
    """The link of the mail, opened in a browser: a confirmation first (a link checker
    following every link of a mail must not unsubscribe anyone)."""
    found = _read_token(request, token)
    return render(
        request,
        "communications/unsubscribe.html",
        {
            "token": token,
            "valid": found is not None,
            "kind_label": communications.KINDS[found[1]] if found else "",
            "done": False,
        },
        status_code=200 if found else 404,
    )


@post(
    "/desabonnement/{token:str}",
    opt=policy(Policy.ANONYMOUS) | {"exclude_from_csrf": True},
)
async def unsubscribe(request: Request, token: str) -> object:
    """The confirmation's button, and mail programs' one-click POST
    ("List-Unsubscribe=One-Click"): no login and no CSRF token, the signed link is the
    proof, and it can only turn one kind of automatic mail off."""
    found = _read_token(request, token)
    if found is not None:
        await communications.unsubscribe(*found)
    return render(
        request,
        "communications/unsubscribe.html",
        {
            "token": token,
            "valid": found is not None,
            "kind_label": communications.KINDS[found[1]] if found else "",
            "done": found is not None,
        },
        status_code=200 if found else 404,
    )


# ---- test e-mail -----------------------------------------------------------------------


def _sender(request: Request) -> str:
    return request.app.state.settings.sender(request.state.instance)


def _test_context(request: Request, sent: str | None) -> dict:
    settings = request.app.state.settings
    dkim = settings.dkim(request.state.instance)
    return {
        "sender": _sender(request),
        "signed_for": dkim.domain if dkim else "",
        "support": settings.support_email,
        "sent": sent,
    }


@get("/compte/email-de-test", opt=policy(Policy.USER), name="test_email")
async def test_email_page(request: Request) -> object:
    return render(request, "communications/test_email.html", _test_context(request, None))


@post("/compte/email-de-test", opt=policy(Policy.USER))
async def send_test_email(request: Request) -> object:
    user = request.state.user
    try:
        dkim = request.app.state.settings.dkim(request.state.instance)
        mail_id = await communications.queue_test_mail(
            user,
            mail_context(request),
            _sender(request),
            client_address(request),
            signed_for=dkim.domain if dkim else "",
        )
    except accounts.TooManyAttempts:
        return render(
            request,
            "communications/test_email.html",
            _test_context(request, "limited"),
            fragment="communications/_test_result.html",
            status_code=429,
        )
    await mail_jobs.hand_over([mail_id])
    return render(
        request,
        "communications/test_email.html",
        _test_context(request, "sent" if mail_id else "already"),
        fragment="communications/_test_result.html",
    )


handlers = [
    communications_page,
    save_communications,
    unsubscribe_page,
    unsubscribe,
    test_email_page,
    send_test_email,
]
