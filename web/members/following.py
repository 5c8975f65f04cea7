"""Mes marchés suivis: the groups a person follows, and leaving one."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.exceptions import NotFoundException

from domain import groups
from domain.kernel.errors import FieldErrors
from domain.members import (
    following,
    rights,
)
from web.access import Policy, policy
from web.pages import flash, pop_flash, redirect, render


@get("/compte/marches", opt=policy(Policy.USER), name="followed_groups")
async def followed_page(request: Request) -> object:
    followed = await following.followed_groups(request.state.user["id"], request.state.instance.key)
    return render(
        request,
        "members/followed.html",
        {"followed": followed, "kinds": groups.KINDS, "flash": pop_flash(request)},
    )


async def _followed_or_404(request: Request, group_id: int) -> dict:
    found = await following.followed_group(
        request.state.user["id"], group_id, request.state.instance.key
    )
    if found is None:
        raise NotFoundException("Vous ne suivez pas ce groupe.")
    return found


@get("/compte/marches/{group_id:int}/quitter", opt=policy(Policy.USER))
async def leave_page(request: Request, group_id: int) -> object:
    found = await _followed_or_404(request, group_id)
    return render(request, "members/leave.html", {"g": found, "errors": {}})


@post("/compte/marches/{group_id:int}/quitter", opt=policy(Policy.USER))
async def leave(request: Request, group_id: int) -> object:
    """ "Quitter ce marché" (after the confirmation step)."""
    found = await _followed_or_404(request, group_id)
    try:
        await rights.leave_group(request.state.user["id"], group_id)
    except FieldErrors as error:
        return render(
            request, "members/leave.html", {"g": found, "errors": error.errors}, status_code=422
        )
    flash(request, f"Vous ne suivez plus {found['name']}.")
    return redirect(request, "/compte/marches")


handlers = [
    followed_page,
    leave_page,
    leave,
]
