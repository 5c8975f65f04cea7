"""Ordering for a person whose account the admin created with consent (Mode création)."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException

from domain.kernel import forms
from domain.kernel.dates import label
from domain.members import (
    directory,
)
from domain.ordering import BasketErrors, OrderingError, baskets, changes
from jobs import mail as mail_jobs
from web.access import Policy, policy
from web.accounts import mail_context
from web.forms import Form
from web.members.common import _member_context, _member_or_404, members_url, new_key
from web.pages import flash, pop_flash, redirect, render

# ---- ordering for a person whose account the admin created (Mode création) -------------


async def _may_order_for(request: Request, user_id: int) -> dict:
    person = await _member_or_404(request, user_id)
    if not await directory.may_order_for(request.state.group["id"], user_id):
        raise PermissionDeniedException(
            "Vous ne pouvez commander que pour une personne dont vous avez créé le compte "
            "(Mode création)."
        )
    return person


@get("/g/{slug:str}/membres/{user_id:int}/commander", opt=policy(Policy.ADMIN))
async def order_for_list(request: Request, slug: str, user_id: int) -> object:
    person = await _may_order_for(request, user_id)
    coming = await baskets.open_distributions(request.state.group["id"], user_id)
    return render(
        request, "members/order_for_list.html", _member_context(request, person, coming=coming)
    )


async def _order_for_page(
    request: Request, person: dict, distribution_id: int, errors: dict | None = None
) -> object:
    basket = await baskets.basket(request.state.group["id"], distribution_id, person["id"])
    if basket is None:
        raise NotFoundException("Distribution introuvable.")
    return render(
        request,
        "members/order_for.html",
        _member_context(
            request,
            person,
            basket=basket,
            label=label,
            key=new_key(),
            errors=errors or {},
            flash=pop_flash(request),
        ),
        status_code=422 if errors else 200,
    )


@get(
    "/g/{slug:str}/membres/{user_id:int}/commander/{distribution_id:int}",
    opt=policy(Policy.ADMIN),
)
async def order_for_page(request: Request, slug: str, user_id: int, distribution_id: int) -> object:
    person = await _may_order_for(request, user_id)
    return await _order_for_page(request, person, distribution_id)


@post(
    "/g/{slug:str}/membres/{user_id:int}/commander/{distribution_id:int}",
    opt=policy(Policy.ADMIN),
)
async def order_for(
    request: Request,
    slug: str,
    user_id: int,
    distribution_id: int,
    data: Annotated[dict[str, str], Form],
) -> object:
    """The whole basket of the person, validated at once; the admin's session is unchanged
    and the order is the person's (their recap mail, their line in the recaps)."""
    person = await _may_order_for(request, user_id)
    quantities = forms.prefixed(data, "q")
    try:
        _, mail_ids = await changes.submit_basket(
            user_id=user_id,
            group_id=request.state.group["id"],
            distribution_id=distribution_id,
            quantities=quantities,
            key=data.get("key"),
            ctx=mail_context(request),
            validate=True,
        )
    except BasketErrors as error:
        return await _order_for_page(request, person, distribution_id, error.errors)
    except OrderingError as error:
        return await _order_for_page(request, person, distribution_id, {0: error.message})
    await mail_jobs.hand_over(mail_ids)
    flash(request, f"Commande validée pour {person['name']}.")
    return redirect(request, f"{members_url(request)}/{user_id}/commander/{distribution_id}")


handlers = [
    order_for_list,
    order_for_page,
    order_for,
]
