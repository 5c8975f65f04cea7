"""MEMBRES: the member list, invitations, waiting list, imports, adhésions; joining a group."""

from __future__ import annotations

from litestar import Request, get

from web.access import Policy, policy
from web.groups import group_context
from web.pages import render


@get("/g/{slug:str}/membres", opt=policy(Policy.MEMBERS), name="group_membres")
async def membres_page(request: Request, slug: str) -> object:
    return render(
        request, "groups/coming.html", group_context(request, active="membres", label="MEMBRES")
    )


handlers = [membres_page]
