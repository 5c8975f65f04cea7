"""MEMBRES: the list (instant search with htmx, also a plain GET form) and a member's page."""

from __future__ import annotations

from urllib.parse import urlencode

from litestar import Request, get
from litestar.response import Stream

from domain import members
from domain.kernel import forms
from domain.kernel.clock import now
from domain.kernel.dates import local
from domain.members import (
    directory,
    exports,
    joining,
)
from domain.payments import account as payments_account
from web.access import Policy, policy
from web.downloads import csv_file
from web.members.common import _member_context, _member_or_404, members_context, members_url
from web.pages import pop_flash, render

# ---- the list ---------------------------------------------------------------------------


def _list_url(request: Request, q: str, filtre: str, page: int) -> str:
    params = {k: v for k, v in (("q", q), ("filtre", filtre)) if v}
    if page > 1:
        params["page"] = str(page)
    return members_url(request) + ("?" + urlencode(params) if params else "")


@get("/g/{slug:str}/membres", opt=policy(Policy.MEMBERS), name="group_membres")
async def membres_page(
    request: Request, slug: str, q: str = "", filtre: str = "", page: str = "1"
) -> object:
    """The list with its instant search (htmx swaps the list; without JS a GET form)."""
    group_id = request.state.group["id"]
    if filtre == "attente":
        listing = {"members": [], "total": 0, "page": 1, "pages": 1, "kind": "attente"}
        waiting = await joining.waiting_list(group_id)
    else:
        listing = await directory.member_list(
            group_id, search=q, kind=filtre, page=forms.page_number(page)
        )
        waiting = None
    pages = {
        "previous": _list_url(request, q, listing["kind"], listing["page"] - 1)
        if listing["page"] > 1
        else None,
        "next": _list_url(request, q, listing["kind"], listing["page"] + 1)
        if listing["page"] < listing["pages"]
        else None,
    }
    restoring = request.htmx.history_restore_request
    return render(
        request,
        "members/list.html",
        members_context(
            request,
            q=q,
            filtre=listing["kind"],
            filters=members.FILTERS,
            listing=listing,
            waiting=waiting,
            paging=pages,
            export_url=_export_url(request, q, listing["kind"])
            if request.state.roles.admin
            else "",
            flash=pop_flash(request),
            year=members.this_year(),
            waiting_count=len(waiting)
            if waiting is not None
            else await joining.waiting_count(group_id),
        ),
        fragment=None if restoring else "members/_list.html",
    )


def _export_url(request: Request, q: str, filtre: str) -> str:
    params = {k: v for k, v in (("q", q), ("filtre", filtre)) if v}
    return members_url(request) + "/export.csv" + ("?" + urlencode(params) if params else "")


@get("/g/{slug:str}/membres/export.csv", opt=policy(Policy.ADMIN))
async def members_csv(request: Request, slug: str, q: str = "", filtre: str = "") -> Stream:
    """The list as filtered on the page, for a spreadsheet: its admins only."""
    group = request.state.group
    rows = exports.member_rows(group["id"], search=q, kind=filtre)
    tab = "Clients" if group["kind"] == "market" else "Membres"
    return csv_file(rows, f"{tab} - {group['name']} - {local(now()):%Y-%m-%d}.csv")


@get("/g/{slug:str}/membres/{user_id:int}", opt=policy(Policy.MEMBERS))
async def member_page(request: Request, slug: str, user_id: int) -> object:
    person = await _member_or_404(request, user_id)
    may_order = request.state.roles.admin and await directory.may_order_for(
        request.state.group["id"], user_id
    )
    # Admins see the person's balance (PAIEMENTS is theirs).
    balance = (
        await payments_account.balance_of(request.state.group["id"], user_id)
        if request.state.roles.admin
        else None
    )
    return render(
        request,
        "members/member.html",
        _member_context(
            request, person, flash=pop_flash(request), may_order=may_order, balance=balance
        ),
    )


handlers = [
    membres_page,
    members_csv,
    member_page,
]
