"""MEMBRES: the member list, "Nouveau client" (and Mode création), the waiting list,
a member's page with their rights, "Gestion adhérents", "Importer des clients";
joining a group from its home page; "Mes marchés suivis"; finishing an invitation.

Every page of a member checks that the person is a member of the URL's group: an admin
of another group gets a 404, never someone else's member.
"""

from __future__ import annotations

import secrets
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import Body

from domain import groups, member_import, members, ordering
from domain.accounts import FieldErrors
from domain.distributions import label
from domain.member_import import ImportProblem
from domain.members import InvalidLink, NotAMember, RegistrationClosed
from domain.ordering import BasketErrors, OrderingError
from jobs import mail as mail_jobs
from web.access import Policy, policy
from web.accounts import log_in, mail_context
from web.groups import group_context, group_home_context
from web.pages import flash, form_status, pop_flash, redirect, render, safe_next

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
Multipart = Body(media_type=RequestEncodingType.MULTI_PART)


def new_key() -> str:
    return secrets.token_urlsafe(12)


def _base(request: Request) -> str:
    return f"/g/{request.state.group['slug']}/membres"


def _context(request: Request, **extra) -> dict:
    return group_context(request, active="membres", new_key=new_key, **extra)


def _int(value: str, default: int = 0) -> int:
    value = (value or "").strip()
    return int(value) if value.isdigit() and len(value) < 10 else default


# ---- the list ---------------------------------------------------------------------------


def _list_url(request: Request, q: str, filtre: str, page: int) -> str:
    params = {k: v for k, v in (("q", q), ("filtre", filtre)) if v}
    if page > 1:
        params["page"] = str(page)
    return _base(request) + ("?" + urlencode(params) if params else "")


@get("/g/{slug:str}/membres", opt=policy(Policy.MEMBERS), name="group_membres")
async def membres_page(
    request: Request, slug: str, q: str = "", filtre: str = "", page: str = "1"
) -> object:
    """The list with its instant search (htmx swaps the list; without JS a GET form)."""
    group_id = request.state.group["id"]
    if filtre == "attente":
        listing = {"members": [], "total": 0, "page": 1, "pages": 1, "kind": "attente"}
        waiting = await members.waiting_list(group_id)
    else:
        number = int(page) if page.isdigit() else 1
        listing = await members.member_list(
            group_id, search=q, kind=filtre, page=min(number, 10**6)
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
    restoring = request.headers.get("hx-history-restore-request") == "true"
    return render(
        request,
        "members/list.html",
        _context(
            request,
            q=q,
            filtre=listing["kind"],
            filters=members.FILTERS,
            listing=listing,
            waiting=waiting,
            paging=pages,
            flash=pop_flash(request),
            year=members.this_year(),
            waiting_count=len(waiting)
            if waiting is not None
            else await members.waiting_count(group_id),
        ),
        fragment=None if restoring else "members/_list.html",
    )


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
        _context(
            request,
            form=form,
            errors=errors,
            adherent=adherent,
            means={"": "Choisissez"} | members.MEANS,
            statement=members.consent_statement(request.state.instance.name, group["name"]),
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
        fee, errors = members.check_fee(data.year, data.amount, data.paid_on, data.means)
    try:
        if errors:
            raise FieldErrors(errors)
        added = await members.add_client(
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
        )
    except FieldErrors as error:
        form = msgspec.structs.asdict(data)
        return _client_page(
            request, form, errors | error.errors, adherent=adherent, status=form_status(request)
        )
    mail_jobs.enqueue(added.mail_ids)
    email = data.email.strip().lower()
    if data.creation:
        text = f"Compte créé pour {email} (Mode création) : aucun e-mail ne lui a été envoyé."
    elif added.invited:
        text = f"{email} est inscrit : une invitation à finir son inscription lui est envoyée."
    else:
        text = f"{email} est inscrit : un e-mail de bienvenue lui est envoyé."
    flash(request, text)
    target = f"{_base(request)}/adhesions" if adherent else f"{_base(request)}/{added.user_id}"
    return redirect(request, target)


@post("/g/{slug:str}/membres/nouveau", opt=policy(Policy.MEMBERS))
async def new_client(request: Request, slug: str, data: Annotated[ClientForm, Form]) -> object:
    return await _add_client(request, data, adherent=False)


@post("/g/{slug:str}/membres/adhesions/nouveau", opt=policy(Policy.MEMBERS))
async def new_adherent(request: Request, slug: str, data: Annotated[ClientForm, Form]) -> object:
    return await _add_client(request, data, adherent=True)


# ---- the waiting list -------------------------------------------------------------------


class AnswerForm(msgspec.Struct):
    answer: str = ""


@post("/g/{slug:str}/membres/attente/{request_id:int}/accepter", opt=policy(Policy.MEMBERS))
async def accept_request(request: Request, slug: str, request_id: int) -> object:
    try:
        mail_ids = await members.accept_request(
            request.state.group["id"], request_id, request.state.user["id"], mail_context(request)
        )
    except NotAMember as error:
        raise NotFoundException("Cette demande n'existe pas ou a déjà reçu une réponse.") from error
    mail_jobs.enqueue(mail_ids)
    flash(request, "Demande acceptée : la personne est membre et reçoit l'e-mail de bienvenue.")
    return redirect(request, f"{_base(request)}?filtre=attente")


@post("/g/{slug:str}/membres/attente/{request_id:int}/refuser", opt=policy(Policy.MEMBERS))
async def refuse_request(
    request: Request, slug: str, request_id: int, data: Annotated[AnswerForm, Form]
) -> object:
    try:
        mail_ids = await members.refuse_request(
            request.state.group["id"],
            request_id,
            request.state.user["id"],
            data.answer,
            mail_context(request),
        )
    except NotAMember as error:
        raise NotFoundException("Cette demande n'existe pas ou a déjà reçu une réponse.") from error
    except FieldErrors as error:
        flash(request, error.errors["answer"])
        return redirect(request, f"{_base(request)}?filtre=attente")
    mail_jobs.enqueue(mail_ids)
    flash(request, "Demande refusée : la personne en est informée par e-mail.")
    return redirect(request, f"{_base(request)}?filtre=attente")


# ---- a member's page --------------------------------------------------------------------


async def _member_or_404(request: Request, user_id: int) -> dict:
    found = await members.member(request.state.group["id"], user_id)
    if found is None:
        raise NotFoundException("Cette personne n'est pas membre de ce groupe.")
    return found


def _member_context(request: Request, person: dict, **extra) -> dict:
    return _context(
        request,
        person=person,
        errors=extra.pop("errors", {}),
        saved=extra.pop("saved", False),
        **extra,
    )


@get("/g/{slug:str}/membres/{user_id:int}", opt=policy(Policy.MEMBERS))
async def member_page(request: Request, slug: str, user_id: int) -> object:
    person = await _member_or_404(request, user_id)
    may_order = request.state.roles.admin and await members.may_order_for(
        request.state.group["id"], user_id
    )
    return render(
        request,
        "members/member.html",
        _member_context(request, person, flash=pop_flash(request), may_order=may_order),
    )


class RightsForm(msgspec.Struct):
    is_admin: str = ""
    can_messages: str = ""
    can_members: str = ""
    catalog_ids: list[str] | str = []


@post("/g/{slug:str}/membres/{user_id:int}/droits", opt=policy(Policy.ADMIN))
async def save_rights(
    request: Request, slug: str, user_id: int, data: Annotated[RightsForm, Form]
) -> object:
    """Rights granted inline: each tick sends the form (htmx), or "Enregistrer" without JS."""
    ids = [data.catalog_ids] if isinstance(data.catalog_ids, str) else data.catalog_ids
    errors: dict[str, str] = {}
    try:
        await members.set_rights(
            request.state.group["id"],
            user_id,
            is_admin=bool(data.is_admin),
            can_messages=bool(data.can_messages),
            can_members=bool(data.can_members),
            catalog_ids=[_int(i) for i in ids if _int(i)],
        )
    except NotAMember as error:
        raise NotFoundException("Cette personne n'est pas membre de ce groupe.") from error
    except FieldErrors as error:
        errors = error.errors
    person = await _member_or_404(request, user_id)
    if not errors and request.headers.get("hx-request") != "true":
        flash(request, "Droits enregistrés.")
        return redirect(request, f"{_base(request)}/{user_id}")
    return render(
        request,
        "members/member.html",
        _member_context(request, person, errors=errors, saved=not errors, may_order=False),
        fragment="members/_rights.html",
        status_code=form_status(request) if errors else 200,
    )


class KeyForm(msgspec.Struct):
    key: str = ""


@post("/g/{slug:str}/membres/{user_id:int}/invitation", opt=policy(Policy.MEMBERS))
async def resend_invitation(
    request: Request, slug: str, user_id: int, data: Annotated[KeyForm, Form]
) -> object:
    """Re-send the invitation in one click: a new link, the old ones stop working."""
    try:
        mail_ids = await members.resend_invitation(
            request.state.group["id"], user_id, data.key, mail_context(request)
        )
    except NotAMember as error:
        raise NotFoundException("Cette personne n'est pas membre de ce groupe.") from error
    except FieldErrors as error:
        flash(request, next(iter(error.errors.values())))
        return redirect(request, f"{_base(request)}/{user_id}")
    mail_jobs.enqueue(mail_ids)
    flash(request, "Invitation envoyée à nouveau : le lien envoyé avant ne fonctionne plus.")
    return redirect(request, f"{_base(request)}/{user_id}")


@get("/g/{slug:str}/membres/{user_id:int}/retirer", opt=policy(Policy.MEMBERS))
async def remove_page(request: Request, slug: str, user_id: int) -> object:
    person = await _member_or_404(request, user_id)
    return render(request, "members/remove.html", _member_context(request, person))


@post("/g/{slug:str}/membres/{user_id:int}/retirer", opt=policy(Policy.MEMBERS))
async def remove_member(request: Request, slug: str, user_id: int) -> object:
    person = await _member_or_404(request, user_id)
    try:
        await members.remove_member(
            request.state.group["id"], user_id, by_admin=request.state.roles.admin
        )
    except PermissionError as error:
        raise PermissionDeniedException(str(error)) from error
    except FieldErrors as error:
        return render(
            request,
            "members/remove.html",
            _member_context(request, person, errors=error.errors),
            status_code=422,
        )
    flash(request, f"{person['name']} ne fait plus partie du groupe.")
    return redirect(request, _base(request))


# ---- ordering for a person whose account the admin created (Mode création) -------------


async def _may_order_for(request: Request, user_id: int) -> dict:
    person = await _member_or_404(request, user_id)
    if not await members.may_order_for(request.state.group["id"], user_id):
        raise PermissionDeniedException(
            "Vous ne pouvez commander que pour une personne dont vous avez créé le compte "
            "(Mode création)."
        )
    return person


@get("/g/{slug:str}/membres/{user_id:int}/commander", opt=policy(Policy.ADMIN))
async def order_for_list(request: Request, slug: str, user_id: int) -> object:
    person = await _may_order_for(request, user_id)
    coming = await ordering.open_distributions(request.state.group["id"], user_id)
    return render(
        request, "members/order_for_list.html", _member_context(request, person, coming=coming)
    )


async def _order_for_page(
    request: Request, person: dict, distribution_id: int, errors: dict | None = None
) -> object:
    basket = await ordering.basket(request.state.group["id"], distribution_id, person["id"])
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
    quantities = {
        int(name[1:]): value
        for name, value in data.items()
        if name.startswith("q") and name[1:].isdigit() and len(name) < 11
    }
    try:
        _, mail_ids = await ordering.submit_basket(
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
    mail_jobs.enqueue(mail_ids)
    flash(request, f"Commande validée pour {person['name']}.")
    return redirect(request, f"{_base(request)}/{user_id}/commander/{distribution_id}")


# ---- Gestion adhérents ------------------------------------------------------------------


class FeeForm(msgspec.Struct):
    user_id: str = ""
    year: str = ""
    amount: str = ""
    paid_on: str = ""
    means: str = ""
    key: str = ""


async def _fees_page(
    request: Request, year: int, form: dict | None = None, errors: dict | None = None
) -> object:
    overview = await members.fees_overview(request.state.group["id"], year)
    choices = {"": "Choisissez un membre"} | {
        str(m["id"]): f"{m['name']} ({m['email']})" if m["name"] != m["email"] else m["email"]
        for m in overview["members"]
    }
    return render(
        request,
        "members/fees.html",
        _context(
            request,
            year=year,
            overview=overview,
            choices=choices,
            means={"": "Choisissez"} | members.MEANS,
            form=form or {"year": str(year), "paid_on": str(date.today())},
            errors=errors or {},
            key=new_key(),
            flash=pop_flash(request),
        ),
        status_code=form_status(request) if errors else 200,
    )


@get("/g/{slug:str}/membres/adhesions", opt=policy(Policy.MEMBERS))
async def fees_page(request: Request, slug: str, annee: str = "") -> object:
    year = _int(annee, members.this_year())
    return await _fees_page(request, year if 2000 <= year <= 2100 else members.this_year())


@post("/g/{slug:str}/membres/adhesions", opt=policy(Policy.MEMBERS))
async def record_fee(request: Request, slug: str, data: Annotated[FeeForm, Form]) -> object:
    fee, errors = members.check_fee(data.year, data.amount, data.paid_on, data.means)
    try:
        await members.record_fee(
            request.state.group["id"],
            user_id=data.user_id,
            fee=fee,
            errors=errors,
            by_user_id=request.state.user["id"],
            key=data.key,
        )
    except FieldErrors as error:
        year = _int(data.year, members.this_year())
        year = year if 2000 <= year <= 2100 else members.this_year()
        return await _fees_page(request, year, msgspec.structs.asdict(data), error.errors)
    flash(request, "Adhésion enregistrée.")
    return redirect(request, f"{_base(request)}/adhesions?annee={fee.year}")


# ---- "Importer des clients" -------------------------------------------------------------


class ImportForm(msgspec.Struct):
    file: UploadFile | None = None


class ConfirmForm(msgspec.Struct):
    signed: str = ""


def _import_page(request: Request, status: int = 200, **extra) -> object:
    return render(
        request,
        "members/import.html",
        _context(
            request,
            columns=member_import.COLUMNS,
            required=member_import.REQUIRED,
            max_mb=member_import.MAX_BYTES // 1024 // 1024,
            statuses=member_import.STATUS_LABELS,
            problem=extra.pop("problem", None),
            preview=extra.pop("preview", None),
            signed=extra.pop("signed", ""),
            **extra,
        ),
        status_code=status,
    )


@get("/g/{slug:str}/membres/import", opt=policy(Policy.MEMBERS))
async def import_page(request: Request, slug: str) -> object:
    return _import_page(request)


@get("/g/{slug:str}/membres/import/modele.csv", opt=policy(Policy.MEMBERS))
async def import_template(request: Request, slug: str) -> Response:
    return Response(
        member_import.template_csv(),
        media_type="text/csv",  # Litestar adds "; charset=utf-8"
        headers={"Content-Disposition": 'attachment; filename="modele-import-clients.csv"'},
    )


# The file may be up to member_import.MAX_BYTES; a larger upload (up to this) is still read,
# so that its sender gets the page with the reason rather than a bare error.
@post(
    "/g/{slug:str}/membres/import",
    opt=policy(Policy.MEMBERS),
    request_max_body_size=16 * 1024 * 1024,
)
async def import_preview(
    request: Request, slug: str, data: Annotated[ImportForm, Multipart]
) -> object:
    """The preview: every row with its status, every bad row with its line and reason."""
    upload = data.file
    content = await upload.read() if upload is not None else b""
    if upload is None or (not content and not upload.filename):
        return _import_page(request, 422, problem="Choisissez le fichier CSV à importer.")
    try:
        preview = await member_import.preview(request.state.group["id"], content)
    except ImportProblem as problem:
        return _import_page(request, 422, problem=problem.message)
    signed = ""
    if preview.ok:
        signed = member_import.sign(
            request.state.group["id"], preview, request.app.state.settings.secret_key
        )
    return _import_page(
        request, 200 if preview.ok else 422, preview=preview, signed=signed, name=upload.filename
    )


@post("/g/{slug:str}/membres/import/confirmer", opt=policy(Policy.MEMBERS))
async def import_confirm(request: Request, slug: str, data: Annotated[ConfirmForm, Form]) -> object:
    """Exactly the previewed rows, all in one transaction; the mails after the commit."""
    group_id = request.state.group["id"]
    try:
        rows = member_import.unsign(data.signed, group_id, request.app.state.settings.secret_key)
        result = await member_import.confirm(group_id, rows, mail_context(request))
    except ImportProblem as problem:
        return _import_page(request, 422, problem=problem.message)
    mail_jobs.enqueue(result.mail_ids)
    flash(
        request,
        f"Import terminé : {result.created} compte(s) créé(s) et invité(s), "
        f"{result.linked} compte(s) existant(s) ajouté(s), {result.already} déjà membre(s).",
    )
    return redirect(request, _base(request))


# ---- joining from the group's home page -------------------------------------------------


@get("/g/{slug:str}/suivre", opt=policy(Policy.GROUP_PUBLIC))
async def follow_page(request: Request, slug: str) -> object:
    """ "Suivre ce marché" for a visitor: an account first (created or logged into), then
    back here to confirm; a member goes to the group."""
    group = request.state.group
    if request.state.roles.member or group["registration"] != "open":
        return redirect(request, f"/g/{slug}")
    return render(request, "members/follow.html", group_context(request, active="accueil"))


class JoinForm(msgspec.Struct):
    message: str = ""


@post("/g/{slug:str}/rejoindre", opt=policy(Policy.USER))
async def ask_to_join(request: Request, slug: str, data: Annotated[JoinForm, Form]) -> object:
    """Liste d'attente: a request with an optional message; the admins get a mail."""
    group = request.state.group
    if request.state.roles.member:
        return redirect(request, f"/g/{slug}")
    try:
        mail_ids = await members.ask_to_join(
            request.state.user["id"], group["id"], data.message, mail_context(request)
        )
    except RegistrationClosed as error:
        raise PermissionDeniedException(
            "Ce groupe ne prend pas de demandes d'inscription."
        ) from error
    except FieldErrors as error:
        return render(
            request,
            "groups/home_group.html",
            await group_home_context(
                request, join_form=msgspec.structs.asdict(data), errors=error.errors
            ),
            status_code=form_status(request),
        )
    mail_jobs.enqueue(mail_ids)
    flash(
        request,
        f"Votre demande est envoyée aux administrateurs de {group['name']}. "
        "Vous recevrez un e-mail dès qu'ils y auront répondu.",
    )
    return redirect(request, f"/g/{slug}")


# ---- the person's side: invitation, Mes marchés suivis ----------------------------------


class InvitationForm(msgspec.Struct):
    first_name: str = ""
    last_name: str = ""
    password: str = ""
    next: str = ""


@get("/invitation/{token:str}", opt=policy(Policy.ANONYMOUS))
async def invitation_page(request: Request, token: str, next: str = "") -> object:
    found = await members.invitation(token)
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
        user_id = await members.finish_invitation(
            token, first_name=data.first_name, last_name=data.last_name, password=data.password
        )
    except FieldErrors as error:
        found = await members.invitation(token)
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


@get("/compte/marches", opt=policy(Policy.USER), name="followed_groups")
async def followed_page(request: Request) -> object:
    followed = await members.followed_groups(request.state.user["id"], request.state.instance.key)
    return render(
        request,
        "members/followed.html",
        {"followed": followed, "kinds": groups.KINDS, "flash": pop_flash(request)},
    )


async def _followed_or_404(request: Request, group_id: int) -> dict:
    found = await members.followed_group(
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
        await members.leave_group(request.state.user["id"], group_id)
    except FieldErrors as error:
        return render(
            request, "members/leave.html", {"g": found, "errors": error.errors}, status_code=422
        )
    flash(request, f"Vous ne suivez plus {found['name']}.")
    return redirect(request, "/compte/marches")


handlers = [
    membres_page,
    new_client_page,
    new_client,
    new_adherent_page,
    new_adherent,
    accept_request,
    refuse_request,
    member_page,
    save_rights,
    resend_invitation,
    remove_page,
    remove_member,
    order_for_list,
    order_for_page,
    order_for,
    fees_page,
    record_fee,
    import_page,
    import_template,
    import_preview,
    import_confirm,
    follow_page,
    ask_to_join,
    invitation_page,
    finish_invitation,
    followed_page,
    leave_page,
    leave,
]
