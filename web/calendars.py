"""Calendar feeds: the group's (anyone, linked from its home page), a member's own behind
their private address, and the page where a member gets, changes or turns off that address.

The feeds are fetched by calendar apps, which carry no session: the group is loaded by the
guard (GROUP_PUBLIC), the member by their address (domain/calendars.py)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

import msgspec
from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException

from domain import calendars
from domain.kernel import clock
from domain.kernel.errors import FieldErrors
from web.access import Policy, policy
from web.forms import Form
from web.groups import group_context
from web.pages import flash, form_status, pop_flash, redirect, render

MEDIA_TYPE = "text/calendar"  # Litestar adds "; charset=utf-8"


class AddressForm(msgspec.Struct):
    action: str = ""


def _uid_domain(request: Request) -> str:
    """The default instance's host: the UIDs stay the same when a group moves."""
    return urlsplit(request.app.state.settings.default_instance.url).hostname or "localhost"


def _ics(body: bytes, name: str, *, private: bool) -> Response:
    headers = {
        "Content-Disposition": f'inline; filename="{name}"',
        # A private address may be turned off: no shared cache keeps its feed.
        "Cache-Control": "private, no-store" if private else "public, max-age=900",
    }
    if private:
        headers["X-Robots-Tag"] = "noindex"
    return Response(body, media_type=MEDIA_TYPE, headers=headers)


@get("/g/{slug:str}/calendrier.ics", opt=policy(Policy.GROUP_PUBLIC))
async def group_feed(request: Request, slug: str) -> Response:
    group, moment = request.state.group, clock.now()
    dists = await calendars.distributions_for_feed(group["id"], moment)
    body = calendars.group_feed(
        group,
        dists,
        base_url=request.state.instance.url,
        uid_domain=_uid_domain(request),
        moment=moment,
    )
    return _ics(body, f"{group['slug']}.ics", private=False)


@get("/g/{slug:str}/calendrier/{address:str}", opt=policy(Policy.GROUP_PUBLIC))
async def member_feed(request: Request, slug: str, address: str) -> Response:
    group, moment = request.state.group, clock.now()
    user_id = None
    if address.endswith(".ics"):
        user_id = await calendars.member_of_address(
            group["id"], address[: -len(".ics")], request.app.state.settings.secret_key
        )
    if user_id is None:
        raise NotFoundException("Cette adresse de calendrier n'existe pas ou plus.")
    dists = await calendars.distributions_for_feed(group["id"], moment)
    body = calendars.member_feed(
        group,
        user_id,
        dists,
        await calendars.member_lines(user_id, dists),
        base_url=request.state.instance.url,
        uid_domain=_uid_domain(request),
        moment=moment,
    )
    return _ics(body, f"{group['slug']}-perso.ics", private=True)


def feed_urls(request: Request, path: str) -> dict:
    """The https address and its webcal:// twin (one click subscribes in most apps)."""
    url = f"{request.state.instance.url}{path}"
    return {"url": url, "webcal": "webcal://" + url.split("://", 1)[1]}


async def _page(request: Request, errors: dict | None = None, status: int = 200):
    group, user = request.state.group, request.state.user
    feed = await calendars.feed_of(user["id"], group["id"])
    mine = None
    if feed is not None:
        token = calendars.token_of(feed, request.app.state.settings.secret_key)
        mine = feed_urls(request, f"/g/{group['slug']}/calendrier/{token}.ics")
    context = group_context(
        request,
        active="calendrier",
        public=feed_urls(request, f"/g/{group['slug']}/calendrier.ics"),
        mine=mine,
        errors=errors or {},
        flash=pop_flash(request),
    )
    return render(request, "calendars/page.html", context, status_code=status)


@get("/g/{slug:str}/calendrier", opt=policy(Policy.MEMBER))
async def page(request: Request, slug: str) -> object:
    return await _page(request)


@post("/g/{slug:str}/calendrier", opt=policy(Policy.MEMBER))
async def change_address(request: Request, slug: str, data: Annotated[AddressForm, Form]) -> object:
    group, user = request.state.group, request.state.user
    try:
        notice = await calendars.change_address(user["id"], group["id"], data.action)
    except FieldErrors as error:
        return await _page(request, error.errors, form_status(request))
    flash(request, notice)
    return redirect(request, f"/g/{group['slug']}/calendrier")


handlers = [group_feed, member_feed, page, change_address]
