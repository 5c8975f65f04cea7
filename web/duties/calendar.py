"""The calendar of coming distributions and their roles; a member signs up or leaves.

Without JavaScript a sign-up is a plain form: the page comes back (a redirect after it
went in, the page with its message at the distribution when refused). With htmx only the
distribution's card is swapped, with its message."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.exceptions import NotFoundException

from domain.duties import NotFound, Refused, signups
from domain.duties import calendar as duty_calendar
from jobs import mail as mail_jobs
from web.access import Policy, policy
from web.accounts import mail_context
from web.groups import group_context
from web.pages import flash, pop_flash, redirect, render

ROLE = "/g/{slug:str}/permanences/{distribution_id:int}/{role_id:int}"
DONE = {
    signups.SIGNED: "C'est noté : merci pour votre permanence !",
    signups.ALREADY: "Vous aviez déjà ce rôle : rien n'a changé.",
}


def calendar_url(request: Request, distribution_id: int | None = None) -> str:
    base = f"/g/{request.state.group['slug']}/permanences"
    return f"{base}#d{distribution_id}" if distribution_id else base


async def _page(request: Request, *, message: str = "", at: int | None = None, status: int = 200):
    found = await duty_calendar.calendar(request.state.group["id"], request.state.user["id"])
    return render(
        request,
        "duties/calendar.html",
        group_context(
            request,
            active="distributions",
            **found,
            message=message,
            message_at=at,
            refused=bool(message),
            flash=pop_flash(request),
        ),
        status_code=status,
    )


async def _card(request: Request, distribution_id: int, message: str, status: int):
    found = await duty_calendar.one_distribution(
        request.state.group["id"], distribution_id, request.state.user["id"]
    )
    if found is None:
        raise NotFoundException("Cette distribution n'existe pas dans ce groupe.")
    return render(
        request,
        "duties/_distribution.html",
        {
            "group": request.state.group,
            "roles": request.state.roles,
            "d": found,
            "message": message,
            "message_at": found["id"],
            "refused": status >= 400,
        },
        status_code=status,
    )


async def answer(request: Request, distribution_id: int, message: str, refused: bool) -> object:
    """htmx: the card with its message; a page: back to the calendar (or, refused, the
    calendar with the message at that distribution)."""
    status = 422 if refused else 200
    if request.htmx:
        return await _card(request, distribution_id, message, status)
    if refused:
        return await _page(request, message=message, at=distribution_id, status=status)
    flash(request, message)
    return redirect(request, calendar_url(request, distribution_id))


@get("/g/{slug:str}/permanences", opt=policy(Policy.MEMBER), name="duties")
async def calendar_page(request: Request, slug: str) -> object:
    return await _page(request)


@post(ROLE + "/inscription", opt=policy(Policy.MEMBER))
async def sign_up(request: Request, slug: str, distribution_id: int, role_id: int) -> object:
    try:
        done = await signups.sign_up(
            request.state.group["id"], distribution_id, role_id, request.state.user["id"]
        )
    except NotFound:
        raise NotFoundException("Ce rôle n'existe pas à cette distribution.") from None
    except Refused as refusal:
        return await answer(request, distribution_id, refusal.message, refused=True)
    return await answer(request, distribution_id, DONE[done], refused=False)


@post(ROLE + "/desistement", opt=policy(Policy.MEMBER))
async def leave(request: Request, slug: str, distribution_id: int, role_id: int) -> object:
    try:
        mail_ids = await signups.leave(
            request.state.group["id"],
            distribution_id,
            role_id,
            request.state.user["id"],
            mail_context(request),
        )
    except NotFound:
        raise NotFoundException("Ce rôle n'existe pas à cette distribution.") from None
    except Refused as refusal:
        return await answer(request, distribution_id, refusal.message, refused=True)
    await mail_jobs.hand_over(mail_ids)
    return await answer(request, distribution_id, "Vous n'avez plus ce rôle.", refused=False)


handlers = [calendar_page, sign_up, leave]
