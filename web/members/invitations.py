"""« Nouveau client », Mode création, a new invitation link, and the person's side: the
invitation link that finishes a pending account."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import msgspec
from litestar import Request, get, post
from litestar.exceptions import NotFoundException

from domain import members
from domain.kernel.errors import FieldErrors, InvalidLink
from domain.members import (
    NotAMember,
    fees,
    invitations,
)
from jobs import mail as mail_jobs
from web.access import Policy, policy
from web.accounts import mail_context
from web.forms import Form
from web.members.common import members_context, members_url
from web.pages import flash, form_status, redirect, render, safe_next
from web.sessions import log_in

# ---- "Nouveau client", Mode création ----------------------------------------------------


class ClientForm(msgspec.Struct):
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    creation: str = ""
    consent: str = ""
    # Gestion adhérents → nouvel adhérent: the payment, if one is recorded at once.
    with_fee: str = ""
    year: str = ""
    amount: str = ""
    paid_on: str = ""
    means: str = ""


def _client_page(
    request: Request, form: dict, errors: dict, *, adherent: bool, status: int = 200
) -> object:
    group = request.state.group
    return render(
        request,
        "members/new.html",
        members_context(
            request,
            form=form,
            errors=errors,
            adherent=adherent,
            means={"": "Choisissez"} | members.MEANS,
            statement=invitations.consent_statement(request.state.instance.name, group["name"]),
        ),
        fragment="members/_client_form.html",
        status_code=status,
    )


def _fresh_form(adherent: bool) -> dict:
    form = {"creation": "", "consent": ""}
    if adherent:
        form |= {"with_fee": "1", "year": str(members.this_year()), "paid_on": str(date.today())}
    return form


@get("/g/{slug:str}/membres/nouveau", opt=policy(Policy.MEMBERS))
async def new_client_page(request: Request, slug: str) -> object:
    return _client_page(request, _fresh_form(False), {}, adherent=False)


@get("/g/{slug:str}/membres/adhesions/nouveau", opt=policy(Policy.MEMBERS))
async def new_adherent_page(request: Request, slug: str) -> object:
    return _client_page(request, _fresh_form(True), {}, adherent=True)


async def _add_client(request: Request, data: ClientForm, *, adherent: bool) -> object:
    group = request.state.group
    fee, errors = None, {}
    if adherent and data.with_fee:
        fee, errors = fees.check_fee(data.year, data.amount, data.paid_on, data.means)
    try:
        if errors:
            raise FieldErrors(errors)
        added = await invitations.add_client(
            group["id"],
            by_user_id=request.state.user["id"],
            email=data.email,
            first_name=data.first_name,
            last_name=data.last_name,
            phone=data.phone,
            creation=bool(data.creation),
            consent=bool(data.consent),
            fee=fee,
            ctx=mail_context(request),
            secret=request.app.state.settings.secret_key,
        )
    except FieldErrors as error:
        form = msgspec.structs.asdict(data)
        return _client_page(
            request, form, errors | error.errors, adherent=adherent, status=form_status(request)
        )
    await mail_jobs.hand_over(added.mail_ids)
    email = data.email.strip().lower()
    if data.creation:
        text = (
            f"Compte créé pour {email} (Mode création) : aucun e-mail ne lui est envoyé tant "
            "que la personne n'a pas repris son compte. Remettez-lui sa fiche de reprise "
            "quand elle le souhaite."
        )
    else:
        # The same with an account or without: whether one exists is not the group's.
        text = f"{email} est inscrit : un e-mail l'invite à rejoindre le groupe."
    flash(request, text)
    target = (
        f"{members_url(request)}/adhesions"
        if adherent
        else f"{members_url(request)}/{added.user_id}"
    )
    return redirect(request, target)


@post("/g/{slug:str}/membres/nouveau", opt=policy(Policy.MEMBERS))
async def new_client(request: Request, slug: str, data: Annotated[ClientForm, Form]) -> object:
    return await _add_client(request, data, adherent=False)


@post("/g/{slug:str}/membres/adhesions/nouveau", opt=policy(Policy.MEMBERS))
async def new_adherent(request: Request, slug: str, data: Annotated[ClientForm, Form]) -> object:
    return await _add_client(request, data, adherent=True)


class KeyForm(msgspec.Struct):
    key: str = ""


@post("/g/{slug:str}/membres/{user_id:int}/invitation", opt=policy(Policy.MEMBERS))
async def resend_invitation(
    request: Request, slug: str, user_id: int, data: Annotated[KeyForm, Form]
) -> object:
    """Re-send the invitation in one click: a new link, the old ones stop working."""
    try:
        mail_ids = await invitations.resend_invitation(
            request.state.group["id"],
            user_id,
            data.key,
            mail_context(request),
            request.app.state.settings.secret_key,
        )
    except NotAMember as error:
        raise NotFoundException("Cette personne n'est pas membre de ce groupe.") from error
    except FieldErrors as error:
        flash(request, next(iter(error.errors.values())))
        return redirect(request, f"{members_url(request)}/{user_id}")
    await mail_jobs.hand_over(mail_ids)
    flash(request, "Invitation envoyée à nouveau : le lien envoyé avant ne fonctionne plus.")
    return redirect(request, f"{members_url(request)}/{user_id}")


# ---- the person's side: invitation, Mes marchés suivis ----------------------------------


class InvitationForm(msgspec.Struct):
    first_name: str = ""
    last_name: str = ""
    password: str = ""
    next: str = ""


@get("/invitation/{token:str}", opt=policy(Policy.ANONYMOUS))
async def invitation_page(request: Request, token: str, next: str = "") -> object:
    found = await invitations.invitation(token)
    return render(
        request,
        "members/invitation.html",
        {"token": token, "person": found, "form": found or {}, "errors": {}, "next": next},
        status_code=200 if found else 410,
    )


@post("/invitation/{token:str}", opt=policy(Policy.ANONYMOUS))
async def finish_invitation(
    request: Request, token: str, data: Annotated[InvitationForm, Form]
) -> object:
    try:
        user_id = await invitations.finish_invitation(
            token, first_name=data.first_name, last_name=data.last_name, password=data.password
        )
    except FieldErrors as error:
        found = await invitations.invitation(token)
        return render(
            request,
            "members/invitation.html",
            {
                "token": token,
                "person": found,
                "form": msgspec.structs.asdict(data) | {"password": ""},
                "errors": error.errors,
                "next": data.next,
            },
            status_code=form_status(request) if found else 410,
        )
    except InvalidLink:
        return render(
            request,
            "members/invitation.html",
            {"token": token, "person": None, "form": {}, "errors": {}, "next": ""},
            status_code=410,
        )
    log_in(request, user_id)
    request.session["flash"] = "Votre inscription est terminée : bienvenue !"
    return redirect(request, safe_next(data.next))


handlers = [
    new_client_page,
    new_adherent_page,
    new_client,
    new_adherent,
    resend_invitation,
    invitation_page,
    finish_invitation,
]
