"""The member's side: Mon compte → Paiements (one page per group: operations and balance)
and « Je paierai par chèque » after « Valider ma commande »."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, get, post
from litestar.exceptions import NotFoundException

from domain import groups
from domain.kernel.errors import FieldErrors
from domain.payments import PLEDGES, account, records
from domain.payments.settings import settings_of
from web.access import Policy, policy
from web.forms import Form
from web.pages import flash, pop_flash, redirect, render, safe_next
from web.payments.common import words


class PledgeForm(msgspec.Struct):
    subject: str = ""
    means: str = ""
    next: str = ""


@get("/compte/paiements", opt=policy(Policy.USER), name="my_payments")
async def my_accounts(request: Request) -> object:
    found = await account.groups_of_user(request.state.user["id"], request.state.instance.key)
    return render(request, "payments/mine.html", {"accounts": found} | words())


@get("/compte/paiements/{group_id:int}", opt=policy(Policy.USER))
async def my_account(request: Request, group_id: int) -> object:
    """Only the user's own account, in a group of this site where they have one."""
    user_id = request.state.user["id"]
    group = await groups.group_by_id(group_id)
    if (
        group is None
        or group["instance"] != request.state.instance.key
        or not await account.has_account(group_id, user_id)
    ):
        raise NotFoundException("Vous n'avez pas de compte dans ce groupe.")
    mine = await account.account_of(group_id, user_id)
    return render(
        request,
        "payments/account.html",
        {
            "group": group,
            "account": mine,
            "options": await settings_of(group_id),
            "flash": pop_flash(request),
            "back": f"/compte/paiements/{group_id}",
        }
        | words(),
    )


@post("/g/{slug:str}/paiements/annonce", opt=policy(Policy.MEMBER))
async def pledge(request: Request, slug: str, data: Annotated[PledgeForm, Form]) -> object:
    """How the member says they will pay one of their debts; back to the page it came from."""
    back = safe_next(data.next, f"/g/{slug}/commandes")
    try:
        await records.pledge(
            group_id=request.state.group["id"],
            user_id=request.state.user["id"],
            subject=data.subject,
            means=data.means,
        )
    except FieldErrors as error:
        flash(request, next(iter(error.errors.values())))
        return redirect(request, back)
    flash(request, f"C'est noté : vous paierez {PLEDGES[data.means]}.")
    return redirect(request, back)


handlers = [my_accounts, my_account, pledge]
