"""The producer space: a producer's sales across the groups of this instance.

On an instance without producer space (the AMAP one, as in the seed), `/producteur` and any
old `/producteur/...` link answer 404 with the way through the group interface instead:
404 because the page does not exist on this site (link checkers and bookmarks learn it), with
a body that explains where the orders are and links to the producer's groups.
"""

from __future__ import annotations

from litestar import Request, get
from litestar.exceptions import NotAuthorizedException
from litestar.response import Redirect

from domain import producer_space
from domain.producer_space import producers
from web.access import Policy, policy
from web.pages import render
from web.producer_space import products, stocks


def _group_url(request: Request, group: dict) -> str:
    """CATALOGUES of the group, on the host that serves it (absolute when another one)."""
    path = f"/g/{group['slug']}/catalogues"
    if group["serving"] == request.state.instance.key:
        return path
    settings = request.app.state.settings
    try:
        return settings.instance(group["serving"]).url.rstrip("/") + path
    except KeyError:
        return ""


def _groups(request: Request, groups: list[dict], here: bool) -> list[dict]:
    """Groups served here (here=True) or by other sites, each once, with their link."""
    key = request.state.instance.key
    seen, result = set(), []
    for group in groups:
        if (group["serving"] == key) != here or group["id"] in seen:
            continue
        seen.add(group["id"])
        url = _group_url(request, group)
        if url:
            result.append(group | {"url": url, "site": _site_name(request, group["serving"])})
    return result


def _site_name(request: Request, key: str) -> str:
    try:
        return request.app.state.settings.instance(key).name
    except KeyError:
        return key


async def _unavailable(request: Request) -> object:
    user = request.state.user
    groups = await producer_space.selling_groups(user["id"]) if user else []
    return render(
        request,
        "producer_space/unavailable.html",
        {
            "here": _groups(request, groups, True),
            "elsewhere": _groups(request, groups, False),
        },
        status_code=404,
    )


@get("/producteur", opt=policy(Policy.ANONYMOUS), name="producer_space")
async def producer_space_page(request: Request) -> object:
    """ANONYMOUS so that the explanation shows to anyone on an instance without producer
    space; where it exists, a visitor is sent to the login page first."""
    instance = request.state.instance
    if not instance.producer_space:
        return await _unavailable(request)
    user = request.state.user
    if user is None:
        raise NotAuthorizedException("Connectez-vous pour voir votre espace producteur.")
    groups = await producer_space.selling_groups(user["id"])
    catalogs = await producer_space.sales(user["id"], instance.key, groups)
    return render(
        request,
        "producer_space/page.html",
        {
            "catalogs": catalogs,
            "groups": _groups(request, groups, True),
            "elsewhere": _groups(request, groups, False),
            "recent_cents": sum(c.recent_cents for c in catalogs),
            "recent_orders": sum(c.recent_orders for c in catalogs),
            "coming_cents": sum(c.coming_cents for c in catalogs),
            "coming_orders": sum(c.coming_orders for c in catalogs),
            "recent_weeks": producer_space.RECENT.days // 7,
            "coming_weeks": producer_space.COMING.days // 7,
            "spaces": await producers.producers_of(user["id"]),
        },
    )


@get("/producteur/{rest:path}", opt=policy(Policy.ANONYMOUS))
async def old_producer_link(request: Request, rest: str) -> object:
    """Old deep links of a producer space: its one page where it exists, else the way
    through the group interface."""
    if request.state.instance.producer_space:
        return Redirect("/producteur", status_code=303)
    return await _unavailable(request)


handlers = [producer_space_page, *products.handlers, *stocks.handlers, old_producer_link]
