"""« Valider la distribution » (admins): what was handed over, then the validation."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, get, post
from litestar.exceptions import NotFoundException

from domain.catalog_orders import NotFound, validation
from domain.kernel.errors import FieldErrors
from domain.payments import collect
from jobs import escarcelle as escarcelle_jobs
from web.access import Policy, policy
from web.forms import Form
from web.groups import group_context
from web.pages import flash, form_status, pop_flash, redirect, render
from web.payments.common import new_key, words

# ---- "Valider la distribution" (admins) -------------------------------------------------

VALIDATE = "/g/{slug:str}/distributions/{distribution_id:int}/valider"


async def _validation_page(
    request: Request, distribution_id: int, errors: dict, form: dict, status: int = 200
) -> object:
    sheet = await validation.sheet(request.state.group["id"], distribution_id)
    if sheet is None:
        raise NotFoundException("Cette distribution n'existe pas dans ce groupe.")
    # The payments received at the table, member by member (the ledger being on).
    dues = await collect.dues_at(request.state.group["id"], distribution_id)
    return render(
        request,
        "catalog_orders/validate.html",
        group_context(
            request,
            active="distributions",
            sheet=sheet,
            d=sheet.distribution,
            message=validation.state_message(sheet.distribution),
            errors=errors,
            form=form,
            flash=pop_flash(request),
            dues=dues,
            key=new_key(),
            **words(),
        ),
        status_code=status,
    )


@get(VALIDATE, opt=policy(Policy.ADMIN))
async def validation_page(request: Request, slug: str, distribution_id: int) -> object:
    return await _validation_page(request, distribution_id, {}, {})


@post(VALIDATE, opt=policy(Policy.ADMIN))
async def validate_distribution(
    request: Request,
    slug: str,
    distribution_id: int,
    data: Annotated[dict[str, str], Form],
) -> object:
    """Save the delivered quantities, absences and payments received; with "Valider",
    validate the date. « Enregistrer les paiements » (before the distribution, or once it
    is validated): the payments alone."""
    action = data.get("action")
    validate = action == "valider"
    paid = any(v.strip() for k, v in data.items() if k.startswith("paid"))
    try:
        if action == "paiements":
            await collect.record_received(
                group_id=request.state.group["id"],
                distribution_id=distribution_id,
                by_user_id=request.state.user["id"],
                values=data,
                key=data.get("key"),
            )
        else:
            await validation.save(
                group_id=request.state.group["id"],
                distribution_id=distribution_id,
                user_id=request.state.user["id"],
                values=data,
                validate=validate,
                key=data.get("key"),
            )
    except NotFound as missing:
        raise NotFoundException("Cette distribution n'existe pas dans ce groupe.") from missing
    except FieldErrors as error:
        return await _validation_page(
            request, distribution_id, error.errors, data, form_status(request)
        )
    if validate:
        escarcelle_jobs.after_validation()  # a linked grocery's sales, after the commit
    if action == "paiements":
        flash(request, "Paiements enregistrés.")
    elif validate:
        flash(request, "Distribution validée." + (" Paiements enregistrés." if paid else ""))
    else:
        flash(
            request,
            "Corrections et paiements enregistrés." if paid else "Corrections enregistrées.",
        )
    return redirect(request, f"/g/{slug}/distributions/{distribution_id}/valider")


handlers = [
    validation_page,
    validate_distribution,
]
