"""What the MEMBRES pages share: their URL, their context, form keys."""

from __future__ import annotations

from litestar import Request
from litestar.exceptions import NotFoundException

from domain.idempotency import new_key
from domain.kernel import forms
from domain.members import (
    directory,
    takeover,
)
from web.groups import group_context


def members_url(request: Request) -> str:
    return f"/g/{request.state.group['slug']}/membres"


def members_context(request: Request, **extra) -> dict:
    return group_context(request, active="membres", new_key=new_key, **extra)


def int_or(value: str, default: int = 0) -> int:
    number = forms.whole(value or "", maximum=999_999_999)
    return default if number is None else number


async def _member_or_404(request: Request, user_id: int) -> dict:
    found = await directory.member(request.state.group["id"], user_id)
    if found is None:
        raise NotFoundException("Cette personne n'est pas membre de ce groupe.")
    return found


def _member_context(request: Request, person: dict, **extra) -> dict:
    return members_context(
        request,
        person=person,
        errors=extra.pop("errors", {}),
        saved=extra.pop("saved", False),
        takeover_days=takeover.TAKEOVER_TTL.days,
        **extra,
    )
