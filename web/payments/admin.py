"""PAIEMENTS for the group's admins: every member's balance (filters, search, a CSV), and a
member's account, where a payment, a refund or a correction of a debt is recorded."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Stream

from domain.kernel import forms
from domain.kernel.clock import now
from domain.kernel.dates import local
from domain.kernel.errors import FieldErrors
from domain.payments import account, overview, records
from domain.payments.settings import settings_of
from web.access import Policy, policy
from web.downloads import csv_file
from web.forms import Form
from web.pages import flash, form_status, pop_flash, redirect, render
from web.payments.common import payments_context, payments_url

BASE = "/g/{slug:str}/paiements"
MEMBER = BASE + "/membres/{user_id:int}"


def _list_query(q: str, filtre: str, tri: str, page: int | None = None) -> str:
    values = {k: v for k, v in (("q", q), ("filtre", filtre), ("tri", tri)) if v}
    if page and page > 1:
        values["page"] = str(page)
    return urlencode(values)


@get(BASE, opt=policy(Policy.ADMIN), name="group_paiements")
async def overview_page(
    request: Request, slug: str, q: str = "", filtre: str = "", tri: str = "", page: str = ""
) -> object:
    group_id = request.state.group["id"]
    listing = await overview.overview(
        group_id, search=q, filtre=filtre, sort=tri, page=forms.page_number(page)
    )
    base = payments_url(request)
    paging = {
        "previous": f"{base}?{_list_query(q, listing['filtre'], tri, listing['page'] - 1)}"
        if listing["page"] > 1
        else "",
        "next": f"{base}?{_list_query(q, listing['filtre'], tri, listing['page'] + 1)}"
        if listing["page"] < listing["pages"]
        else "",
    }
    return render(
        request,
        "payments/overview.html",
        payments_context(
            request,
            listing=listing,
            paging=paging,
            filters=overview.FILTERS,
            sorts=overview.SORTS,
            export_url=f"{base}/export.csv?{_list_query(q, listing['filtre'], tri)}",
            options=await settings_of(group_id),
            flash=pop_flash(request),
        ),
        fragment="payments/_overview_list.html",
    )


@get(BASE + "/export.csv", opt=policy(Policy.ADMIN))
async def overview_csv(
    request: Request, slug: str, q: str = "", filtre: str = "", tri: str = ""
) -> Stream:
    group = request.state.group
    rows = overview.csv_rows(group["id"], search=q, filtre=filtre, sort=tri)
    return csv_file(rows, f"Paiements - {group['name']} - {local(now()):%Y-%m-%d}.csv")


async def _person_or_404(request: Request, user_id: int) -> dict:
    found = await overview.person(request.state.group["id"], user_id)
    if found is None:
        raise NotFoundException("Cette personne n'a pas de compte dans ce groupe.")
    return found


async def _member_page(
    request: Request,
    user_id: int,
    *,
    errors: dict | None = None,
    form: dict | None = None,
    which: str = "",
) -> object:
    person = await _person_or_404(request, user_id)
    group_id = request.state.group["id"]
    mine = await account.account_of(group_id, user_id)
    return render(
        request,
        "payments/member.html",
        payments_context(
            request,
            person=person,
            account=mine,
            options=await settings_of(group_id),
            errors=errors or {},
            form=form or {},
            which=which,
            today=str(records.today()),
            flash=pop_flash(request),
        ),
        status_code=form_status(request) if errors else 200,
    )


@get(MEMBER, opt=policy(Policy.ADMIN))
async def member_page(request: Request, slug: str, user_id: int) -> object:
    return await _member_page(request, user_id)


def _settles(data: dict[str, str]) -> list[str]:
    """The debts ticked (debt<n> = subject), in the page's order."""
    return [str(v) for _, v in sorted(forms.prefixed(data, "debt").items())]


def _form(data: dict[str, str]) -> records.PaymentForm:
    return records.PaymentForm(
        amount=data.get("amount", ""),
        means=data.get("means", ""),
        paid_on=data.get("paid_on", ""),
        reference=data.get("reference", ""),
        reason=data.get("reason", ""),
    )


@post(MEMBER + "/paiement", opt=policy(Policy.ADMIN))
async def record_payment(
    request: Request, slug: str, user_id: int, data: Annotated[dict[str, str], Form]
) -> object:
    return await _record(request, user_id, data, refund=False)


@post(MEMBER + "/remboursement", opt=policy(Policy.ADMIN))
async def record_refund(
    request: Request, slug: str, user_id: int, data: Annotated[dict[str, str], Form]
) -> object:
    return await _record(request, user_id, data, refund=True)


async def _record(request: Request, user_id: int, data: dict[str, str], *, refund: bool):
    await _person_or_404(request, user_id)
    which = "refund" if refund else "payment"
    try:
        done = await records.record_payment(
            group_id=request.state.group["id"],
            user_id=user_id,
            by_user_id=request.state.user["id"],
            form=_form(data),
            settles=[] if refund else _settles(data),
            key=data.get("key"),
            refund=refund,
        )
    except FieldErrors as error:
        return await _member_page(request, user_id, errors=error.errors, form=data, which=which)
    if done is not None:
        flash(request, "Remboursement enregistré." if refund else "Paiement enregistré.")
    return redirect(request, f"{payments_url(request)}/membres/{user_id}")


@post(MEMBER + "/correction", opt=policy(Policy.ADMIN))
async def correct_debt(
    request: Request, slug: str, user_id: int, data: Annotated[dict[str, str], Form]
) -> object:
    await _person_or_404(request, user_id)
    try:
        done = await records.correct_debt(
            group_id=request.state.group["id"],
            user_id=user_id,
            by_user_id=request.state.user["id"],
            subject=data.get("subject", ""),
            amount=data.get("amount", ""),
            reason=data.get("reason", ""),
            key=data.get("key"),
        )
    except FieldErrors as error:
        return await _member_page(
            request, user_id, errors=error.errors, form=data, which="correction"
        )
    if done is not None:
        flash(request, "Correction enregistrée.")
    return redirect(request, f"{payments_url(request)}/membres/{user_id}")


handlers = [
    overview_page,
    overview_csv,
    member_page,
    record_payment,
    record_refund,
    correct_debt,
]
