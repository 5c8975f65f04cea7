"""A contract's terms (« CONDITIONS ») and its « ÉCHÉANCIER » in the catalog menu: the
coordinator's pages (admins and the catalog's coordinator; another catalog's coordinator
is refused, another group's URL is not found)."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, get, post
from litestar.exceptions import NotFoundException

from domain.catalogs import products
from domain.contracts import instalments, terms, terms_of
from domain.idempotency import new_key
from domain.kernel import forms
from domain.kernel.errors import FieldErrors
from domain.payments import TYPES, records
from web.access import Policy, policy
from web.catalogs.menu import catalog_context, managed_catalog
from web.forms import Form
from web.pages import flash, form_status, pop_flash, redirect, render

BASE = "/g/{slug:str}/catalogues/{catalog_id:int}"


def _amap_only(request: Request) -> None:
    if request.state.group["kind"] != "amap":
        raise NotFoundException("Les contrats n'existent que dans les AMAP.")


def _url(request: Request, catalog_id: int, tail: str) -> str:
    return f"/g/{request.state.group['slug']}/catalogues/{catalog_id}/{tail}"


def _terms_values(found) -> dict:
    """The form's values from the saved terms."""
    return {
        "instalments": ", ".join(f"{d:%d/%m/%Y}" for d in found.instalments),
        "absences_max": str(found.absences_max),
        "absences_from": found.absences_from.isoformat() if found.absences_from else "",
        "absences_until": found.absences_until.isoformat() if found.absences_until else "",
        "absences_deadline": found.absences_deadline.isoformat() if found.absences_deadline else "",
        "minimum_order": _euro_text(found.minimum_order_cents),
        "minimum_total": _euro_text(found.minimum_total_cents),
        **{f"d{p}": str(q) for p, q in found.default_order.items()},
    }


def _euro_text(cents: int) -> str:
    if not cents:
        return ""
    return f"{cents // 100},{cents % 100:02d}"


async def _terms_page(request: Request, catalog_id: int, errors=None, form=None) -> object:
    catalog = await managed_catalog(request, catalog_id, edit=True)
    found = await terms_of(catalog_id)
    return render(
        request,
        "contracts/terms.html",
        catalog_context(
            request,
            catalog,
            "contrat",
            values=form if form is not None else _terms_values(found),
            errors=errors or {},
            products=[p for p in await products.products_of(catalog_id) if p["active"]],
            flash=pop_flash(request),
        ),
        status_code=form_status(request) if errors else 200,
    )


@get(BASE + "/contrat", opt=policy(Policy.COORDINATOR), name="contract_terms")
async def terms_page(request: Request, slug: str, catalog_id: int) -> object:
    _amap_only(request)
    return await _terms_page(request, catalog_id)


@post(BASE + "/contrat", opt=policy(Policy.COORDINATOR))
async def save_terms(
    request: Request, slug: str, catalog_id: int, data: Annotated[dict[str, str], Form]
) -> object:
    _amap_only(request)
    catalog = await managed_catalog(request, catalog_id, edit=True)
    form = terms.TermsForm(
        instalments=data.get("instalments", ""),
        absences_max=data.get("absences_max", ""),
        absences_from=data.get("absences_from", ""),
        absences_until=data.get("absences_until", ""),
        absences_deadline=data.get("absences_deadline", ""),
        minimum_order=data.get("minimum_order", ""),
        minimum_total=data.get("minimum_total", ""),
        default_order=forms.prefixed(data, "d"),
    )
    try:
        await terms.save_terms(catalog, request.state.user["id"], form)
    except FieldErrors as error:
        return await _terms_page(request, catalog_id, error.errors, data)
    flash(request, "Les conditions du contrat sont enregistrées.")
    return redirect(request, _url(request, catalog_id, "contrat"))


async def _plan_page(
    request: Request, catalog_id: int, errors=None, form=None, which=0, page: object = ""
):
    catalog = await managed_catalog(request, catalog_id, edit=True)
    found = await instalments.contract_plan(request.state.group["id"], catalog_id)
    number = found.page_of(which) if which else forms.page_number(page)
    number, members = found.page(number)
    here = _url(request, catalog_id, "echeancier")
    return render(
        request,
        "contracts/plan.html",
        catalog_context(
            request,
            catalog,
            "echeancier",
            plan=found,
            members=members,
            page=number,
            page_size=instalments.PAGE_SIZE,
            paging={
                "previous": f"{here}?page={number - 1}" if number > 1 else "",
                "next": f"{here}?page={number + 1}" if number < found.pages else "",
            },
            errors=errors or {},
            form=form or {},
            which=which,
            types_labels=TYPES,
            new_key=new_key,
            today=str(records.today()),
            flash=pop_flash(request),
        ),
        status_code=form_status(request) if errors else 200,
    )


@get(BASE + "/echeancier", opt=policy(Policy.COORDINATOR), name="contract_plan")
async def plan_page(request: Request, slug: str, catalog_id: int, page: str = "") -> object:
    """Each subscriber's plan: cheques received, expected, what is left (a page of them);
    the contract's."""
    _amap_only(request)
    return await _plan_page(request, catalog_id, page=page)


@get(BASE + "/echeancier/cheques", opt=policy(Policy.COORDINATOR))
async def cheques_page(request: Request, slug: str, catalog_id: int) -> object:
    """The cheques to collect, to print (A4)."""
    _amap_only(request)
    catalog = await managed_catalog(request, catalog_id, edit=True)
    found = await instalments.contract_plan(request.state.group["id"], catalog_id)
    return render(
        request,
        "contracts/cheques.html",
        catalog_context(request, catalog, "echeancier", plan=found),
    )


@post(BASE + "/echeancier/{subscription_id:int}/cheque", opt=policy(Policy.COORDINATOR))
async def record_cheque(
    request: Request,
    slug: str,
    catalog_id: int,
    subscription_id: int,
    data: Annotated[dict[str, str], Form],
) -> object:
    _amap_only(request)
    catalog = await managed_catalog(request, catalog_id, edit=True)
    form = records.PaymentForm(
        amount=data.get("amount", ""),
        means=data.get("means", ""),
        paid_on=data.get("paid_on", ""),
        reference=data.get("reference", ""),
    )
    try:
        done = await instalments.record_cheque(
            group_id=request.state.group["id"],
            catalog=catalog,
            subscription_id=subscription_id,
            by_user_id=request.state.user["id"],
            form=form,
            key=data.get("key"),
        )
    except instalments.NotFound as error:
        raise NotFoundException("Cette souscription n'existe pas dans ce contrat.") from error
    except FieldErrors as error:
        return await _plan_page(request, catalog_id, error.errors, data, subscription_id)
    if done is not None:
        flash(request, "Paiement enregistré.")
    page = forms.page_number(data.get("page", ""))
    tail = f"?page={page}" if page > 1 else ""
    return redirect(request, _url(request, catalog_id, f"echeancier{tail}#s{subscription_id}"))


handlers = [terms_page, save_terms, plan_page, cheques_page, record_cheque]
