"""MESSAGERIE: messages written by admins to the group's members."""

from __future__ import annotations

from litestar import Request, get

from web.access import Policy, policy
from web.groups import group_context
from web.pages import render


@get("/g/{slug:str}/messagerie", opt=policy(Policy.MESSAGES), name="group_messagerie")
async def messagerie_page(request: Request, slug: str) -> object:
    return render(
        request,
        "groups/coming.html",
        group_context(request, active="messagerie", label="MESSAGERIE"),
    )


handlers = [messagerie_page]
