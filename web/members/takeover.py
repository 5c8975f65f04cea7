"""Taking over an account made in Mode création: the admin's takeover sheet and link (on
the member's page), and the person's side: the link, or the code typed at /reprise."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, get, post
from litestar.exceptions import NotFoundException

from domain.accounts import TooManyAttempts
from domain.kernel.errors import FieldErrors, InvalidLink
from domain.members import NotAMember, takeover
from jobs import mail as mail_jobs
from web.access import Policy, policy
from web.accounts import client_address, mail_context, too_many
from web.forms import Form
from web.members.common import _member_context, _member_or_404, members_url
from web.pages import flash, form_status, redirect, render
from web.sessions import log_in

# ---- the admin's side -------------------------------------------------------------------


class LinkForm(msgspec.Struct):
    address: str = ""


@post("/g/{slug:str}/membres/{user_id:int}/reprise/fiche", opt=policy(Policy.MEMBERS))
async def takeover_sheet(request: Request, slug: str, user_id: int) -> object:
    """The sheet to print: a new link and code (shown this once), the earlier ones void."""
    try:
        sheet = await takeover.prepare_sheet(
            request.state.group["id"],
            user_id,
            secret=request.app.state.settings.secret_key,
            base_url=request.state.instance.url,
        )
    except NotAMember as error:
        raise NotFoundException("Cette personne n'est pas membre de ce groupe.") from error
    except FieldErrors as error:
        flash(request, next(iter(error.errors.values())))
        return redirect(request, f"{members_url(request)}/{user_id}")
    page = render(
        request,
        "members/takeover_sheet.html",
        _member_context(request, {"id": user_id}, sheet=sheet),
    )
    page.headers["Cache-Control"] = "no-store"  # the live link and code, shown this once
    return page


@post("/g/{slug:str}/membres/{user_id:int}/reprise/lien", opt=policy(Policy.MEMBERS))
async def send_takeover_link(
    request: Request, slug: str, user_id: int, data: Annotated[LinkForm, Form]
) -> object:
    """The link, to the address the person gave (the one mail such an account receives)."""
    status, errors = 200, {}
    try:
        mail_ids = await takeover.send_link(
            request.state.group["id"],
            user_id,
            data.address,
            by_user_id=request.state.user["id"],
            ctx=mail_context(request),
        )
    except NotAMember as error:
        raise NotFoundException("Cette personne n'est pas membre de ce groupe.") from error
    except TooManyAttempts as error:
        status, errors = 429, {"address": too_many(error)}
    except FieldErrors as error:
        status, errors = form_status(request), error.errors
    if errors:
        person = await _member_or_404(request, user_id)
        return render(
            request,
            "members/member.html",
            _member_context(
                request, person, errors=errors, form={"address": data.address}, may_order=False
            ),
            status_code=status,
        )
    await mail_jobs.hand_over(mail_ids)
    flash(
        request,
        f"Lien de reprise envoyé à {data.address.strip().lower()} : valable "
        f"{takeover.TAKEOVER_TTL.days} jours, une seule fois. La fiche ou le lien remis "
        "avant ne fonctionnent plus.",
    )
    return redirect(request, f"{members_url(request)}/{user_id}")


# ---- the person's side ------------------------------------------------------------------


class CodeForm(msgspec.Struct):
    code: str = ""


class TakeoverForm(msgspec.Struct):
    password: str = ""
    email: str = ""
    ticket: str = ""


def _page(request: Request, status: int = 200, **context) -> object:
    values = {
        "found": None,
        "ticket": "",
        "token": "",
        "form": {},
        "errors": {},
        "step": "password",
    } | context
    if values["found"] and not values["form"].get("email"):
        found = values["found"]
        values["form"] = values["form"] | {"email": found["new_email"] or found["email"]}
    return render(request, "members/takeover.html", values, status_code=status)


@get("/reprise", opt=policy(Policy.ANONYMOUS))
async def code_page(request: Request) -> object:
    return _page(request, step="code")


@post("/reprise", opt=policy(Policy.ANONYMOUS))
async def check_code(request: Request, data: Annotated[CodeForm, Form]) -> object:
    """The code of the sheet (throttled per address): then the password form."""
    try:
        ticket, found = await takeover.check_code(
            data.code,
            secret=request.app.state.settings.secret_key,
            address=client_address(request),
        )
    except TooManyAttempts as error:
        errors = {"code": too_many(error)}
        return _page(request, 429, step="code", form={"code": data.code}, errors=errors)
    except FieldErrors as error:
        return _page(
            request,
            form_status(request),
            step="code",
            form={"code": data.code},
            errors=error.errors,
        )
    return _page(request, found=found, ticket=ticket)


def _finished(request: Request, done: takeover.Finished) -> object:
    log_in(request, done.user_id)
    text = f"Votre compte est à vous : vous vous connectez désormais avec {done.email}."
    if done.confirm_to:
        text += (
            f" Pour utiliser {done.confirm_to}, ouvrez le lien de confirmation que nous "
            "venons d'y envoyer."
        )
    if done.address_taken:
        text += f" L'adresse {done.address_taken} est déjà celle d'un autre compte."
    request.session["flash"] = text
    return redirect(request, "/")


@post("/reprise/mot-de-passe", opt=policy(Policy.ANONYMOUS))
async def finish_with_code(request: Request, data: Annotated[TakeoverForm, Form]) -> object:
    secret = request.app.state.settings.secret_key
    try:
        done = await takeover.finish_by_ticket(
            data.ticket,
            secret=secret,
            password=data.password,
            email=data.email,
            ctx=mail_context(request),
        )
    except FieldErrors as error:
        found = await takeover.of_ticket(data.ticket, secret)
        return _page(
            request,
            form_status(request) if found else 410,
            found=found,
            ticket=data.ticket,
            form={"email": data.email},
            errors=error.errors,
        )
    except InvalidLink:
        return _page(request, 410)
    await mail_jobs.hand_over(done.mail_ids)
    return _finished(request, done)


@get("/reprise/{token:str}", opt=policy(Policy.ANONYMOUS))
async def link_page(request: Request, token: str) -> object:
    found = await takeover.of_link(token)
    return _page(request, 200 if found else 410, found=found, token=token)


@post("/reprise/{token:str}", opt=policy(Policy.ANONYMOUS))
async def finish_with_link(
    request: Request, token: str, data: Annotated[TakeoverForm, Form]
) -> object:
    try:
        done = await takeover.finish_by_link(
            token, password=data.password, email=data.email, ctx=mail_context(request)
        )
    except FieldErrors as error:
        found = await takeover.of_link(token)
        return _page(
            request,
            form_status(request) if found else 410,
            found=found,
            token=token,
            form={"email": data.email},
            errors=error.errors,
        )
    except InvalidLink:
        return _page(request, 410)
    await mail_jobs.hand_over(done.mail_ids)
    return _finished(request, done)


handlers = [
    takeover_sheet,
    send_takeover_link,
    code_page,
    check_code,
    finish_with_code,
    link_page,
    finish_with_link,
]
