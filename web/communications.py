"""Mes communications (which automatic mails a user receives), the one-click unsubscribe
link of those mails, and the test e-mail page ("Envoyer un e-mail de test")."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import msgspec
from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body

from domain import notifications, outbox
from jobs import mail as mail_jobs
from web.access import Policy, policy
from web.pages import flash, pop_flash, redirect, render

Form = Body(media_type=RequestEncodingType.URL_ENCODED)


class PreferencesForm(msgspec.Struct):
    # Checkboxes name="kinds" value="<kind>": one checked box arrives as a string.
    kinds: list[str] | str = []


def _page_context(request: Request, prefs: dict[str, bool], saved: bool = False) -> dict:
    return {
        "kinds": [
            {
                "kind": kind,
                "label": label,
                "help": notifications.KIND_HELP[kind],
                "on": prefs[kind],
            }
            for kind, label in notifications.KINDS.items()
        ],
        "saved": saved,
        "flash": pop_flash(request),
    }


@get("/compte/communications", opt=policy(Policy.USER), name="communications")
async def communications_page(request: Request) -> object:
    prefs = await notifications.preferences(request.state.user["id"])
    return render(
        request,
        "communications/page.html",
        _page_context(request, prefs),
        fragment="communications/_form.html",
    )


@post("/compte/communications", opt=policy(Policy.USER))
async def save_communications(request: Request, data: Annotated[PreferencesForm, Form]) -> object:
    kinds = {data.kinds} if isinstance(data.kinds, str) else set(data.kinds)
    prefs = await notifications.set_preferences(request.state.user["id"], kinds)
    if request.headers.get("hx-request") == "true":
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
    return notifications.read_unsubscribe_token(request.app.state.settings.secret_key, token)


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
            "kind_label": notifications.KINDS[found[1]] if found else "",
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
        await notifications.unsubscribe(*found)
    return render(
        request,
        "communications/unsubscribe.html",
        {
            "token": token,
            "valid": found is not None,
            "kind_label": notifications.KINDS[found[1]] if found else "",
            "done": found is not None,
        },
        status_code=200 if found else 404,
    )


# ---- test e-mail -----------------------------------------------------------------------


def _sender(request: Request) -> str:
    return request.state.instance.mail_from or request.app.state.settings.mail_from


def _test_context(request: Request, sent: str | None) -> dict:
    return {
        "sender": _sender(request),
        "support": request.app.state.settings.support_email,
        "sent": sent,
    }


@get("/compte/email-de-test", opt=policy(Policy.USER), name="test_email")
async def test_email_page(request: Request) -> object:
    return render(request, "communications/test_email.html", _test_context(request, None))


@post("/compte/email-de-test", opt=policy(Policy.USER))
async def send_test_email(request: Request) -> object:
    """One test mail per minute at most: the key names the minute."""
    user = request.state.user
    instance = request.state.instance
    minute = datetime.now(UTC).strftime("%Y%m%d%H%M")
    mail_id = await outbox.queue(
        key=f"test:{user['id']}:{minute}",
        kind="test",
        to=user["email"],
        template="test_mail",
        instance=instance.key,
        user=user["id"],
        context={
            "first_name": user["first_name"],
            "site_name": instance.name,
            "sender": _sender(request),
            "url": f"{instance.url}/compte/email-de-test",
        },
    )
    mail_jobs.enqueue([mail_id])
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
