"""DISTRIBUTIONS: the coming distributions; admins manage places, create (series of)
distributions, move and cancel them (members who ordered are told by mail)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, get, post
from litestar.exceptions import NotFoundException

from domain import distributions
from domain.distributions import DistributionForm
from domain.kernel import clock
from domain.kernel.dates import format_moment, label, local
from domain.kernel.errors import FieldErrors
from domain.kernel.wording import plural
from jobs import mail as mail_jobs
from web.access import Policy, policy
from web.accounts import mail_context
from web.forms import Form
from web.groups import group_context
from web.pages import flash, form_status, pop_flash, redirect, render


class PlaceForm(msgspec.Struct):
    name: str = ""
    address: str = ""


class DistributionData(msgspec.Struct):
    place_id: str = ""
    day: str = ""
    start: str = ""
    end: str = ""
    opens: str = ""
    closes: str = ""
    until: str = ""


def view(d: dict) -> dict:
    """A distribution with its dates as people read them, in Paris time; `window`: whether
    its orders are not open yet, open, or closed now."""
    moment = clock.now()
    window = (
        "later"
        if moment < d["orders_open_at"]
        else "open"
        if moment < d["orders_close_at"]
        else "closed"
    )
    return d | {
        "window": window,
        "when": label(d["starts_at"]),
        "ends": format_moment(d["ends_at"], "time"),
        "opens_label": label(d["orders_open_at"]),
        "closes_label": label(d["orders_close_at"]),
    }


def _told(mail_ids: list[int | None]) -> str:
    count = len([i for i in mail_ids if i])
    return (
        f" {plural(count, 'adhérent prévenu', 'adhérents prévenus')} par e-mail." if count else ""
    )


def _list_url(request: Request) -> str:
    return f"/g/{request.state.group['slug']}/distributions"


def _form(data: DistributionData, group_id: int) -> DistributionForm:
    return DistributionForm(
        group_id=group_id,
        place_id=data.place_id,
        day=data.day,
        start=data.start,
        end=data.end,
        opens=data.opens,
        closes=data.closes,
    )


async def _distribution_or_404(request: Request, distribution_id: int) -> dict:
    found = await distributions.distribution(request.state.group["id"], distribution_id)
    if found is None:
        raise NotFoundException("Cette distribution n'existe pas dans ce groupe.")
    return view(found)


async def _place_choices(group_id: int) -> dict[str, str]:
    places = await distributions.places_of(group_id)
    return {"": "Choisissez un lieu"} | {str(p["id"]): p["name"] for p in places}


@get("/g/{slug:str}/distributions", opt=policy(Policy.MEMBER), name="group_distributions")
async def distributions_page(request: Request, slug: str) -> object:
    coming = await distributions.distributions_of(request.state.group["id"])
    return render(
        request,
        "distributions/list.html",
        group_context(
            request,
            active="distributions",
            distributions=[view(d) for d in coming],
            flash=pop_flash(request),
        ),
    )


# ---- places ----------------------------------------------------------------------------


async def _places_page(request: Request, form: dict, errors: dict, status: int = 200) -> object:
    places = await distributions.places_of(request.state.group["id"])
    return render(
        request,
        "distributions/places.html",
        group_context(
            request,
            active="distributions",
            places=places,
            form=form,
            errors=errors,
            place_id=None,
            flash=pop_flash(request),
        ),
        fragment="distributions/_place_form.html",
        status_code=status,
    )


@get("/g/{slug:str}/distributions/lieux", opt=policy(Policy.ADMIN))
async def places_page(request: Request, slug: str) -> object:
    return await _places_page(request, {}, {})


@post("/g/{slug:str}/distributions/lieux", opt=policy(Policy.ADMIN))
async def create_place(request: Request, slug: str, data: Annotated[PlaceForm, Form]) -> object:
    try:
        place = await distributions.save_place(request.state.group["id"], data.name, data.address)
    except FieldErrors as error:
        form = msgspec.structs.asdict(data)
        return await _places_page(request, form, error.errors, form_status(request))
    flash(request, f"Lieu « {place['name']} » ajouté.")
    return redirect(request, f"{_list_url(request)}/lieux")


async def _place_or_404(request: Request, place_id: int) -> dict:
    place = await distributions.place(request.state.group["id"], place_id)
    if place is None:
        raise NotFoundException("Ce lieu n'existe pas dans ce groupe.")
    return place


def _place_form_page(request: Request, form: dict, errors: dict, place_id: int, status=200):
    return render(
        request,
        "distributions/place.html",
        group_context(request, active="distributions", form=form, errors=errors, place_id=place_id),
        fragment="distributions/_place_form.html",
        status_code=status,
    )


@get("/g/{slug:str}/distributions/lieux/{place_id:int}", opt=policy(Policy.ADMIN))
async def edit_place_page(request: Request, slug: str, place_id: int) -> object:
    return _place_form_page(request, await _place_or_404(request, place_id), {}, place_id)


@post("/g/{slug:str}/distributions/lieux/{place_id:int}", opt=policy(Policy.ADMIN))
async def update_place(
    request: Request, slug: str, place_id: int, data: Annotated[PlaceForm, Form]
) -> object:
    await _place_or_404(request, place_id)
    try:
        await distributions.save_place(
            request.state.group["id"], data.name, data.address, place_id=place_id
        )
    except FieldErrors as error:
        form = msgspec.structs.asdict(data)
        return _place_form_page(request, form, error.errors, place_id, form_status(request))
    flash(request, "Lieu enregistré.")
    return redirect(request, f"{_list_url(request)}/lieux")


# ---- creating, moving, cancelling ------------------------------------------------------


async def _new_page(request: Request, form: dict, errors: dict, status: int = 200) -> object:
    return render(
        request,
        "distributions/new.html",
        group_context(
            request,
            active="distributions",
            form=form,
            errors=errors,
            places=await _place_choices(request.state.group["id"]),
        ),
        fragment="distributions/_new_form.html",
        status_code=status,
    )


@get("/g/{slug:str}/distributions/nouvelle", opt=policy(Policy.ADMIN))
async def new_distribution_page(request: Request, slug: str) -> object:
    places = await distributions.places_of(request.state.group["id"])
    form = {"place_id": str(places[0]["id"])} if len(places) == 1 else {}
    return await _new_page(request, form, {})


@post("/g/{slug:str}/distributions/nouvelle", opt=policy(Policy.ADMIN))
async def create_distributions(
    request: Request, slug: str, data: Annotated[DistributionData, Form]
) -> object:
    try:
        created = await distributions.create_distributions(
            _form(data, request.state.group["id"]), until=data.until
        )
    except FieldErrors as error:
        return await _new_page(
            request, msgspec.structs.asdict(data), error.errors, form_status(request)
        )
    flash(
        request,
        "Distribution créée."
        if len(created) == 1
        else f"{len(created)} distributions créées, une par semaine.",
    )
    return redirect(request, _list_url(request))


def _move_form(d: dict) -> dict:
    return {
        "place_id": str(d["place"]),
        "day": local(d["starts_at"]).date().isoformat(),
        "start": format_moment(d["starts_at"], "time"),
        "end": d["ends"],
        "opens": "",
        "closes": "",
    }


async def _move_page(
    request: Request, dist: dict, form: dict, errors: dict, status: int = 200
) -> object:
    return render(
        request,
        "distributions/move.html",
        group_context(
            request,
            active="distributions",
            distribution=dist,
            form=form,
            errors=errors,
            places=await _place_choices(request.state.group["id"]),
        ),
        fragment="distributions/_move_form.html",
        status_code=status,
    )


@get("/g/{slug:str}/distributions/{distribution_id:int}/deplacer", opt=policy(Policy.ADMIN))
async def move_page(request: Request, slug: str, distribution_id: int) -> object:
    dist = await _distribution_or_404(request, distribution_id)
    return await _move_page(request, dist, _move_form(dist), {})


@post("/g/{slug:str}/distributions/{distribution_id:int}/deplacer", opt=policy(Policy.ADMIN))
async def move(
    request: Request, slug: str, distribution_id: int, data: Annotated[DistributionData, Form]
) -> object:
    dist = await _distribution_or_404(request, distribution_id)
    try:
        mail_ids = await distributions.move_distribution(
            request.state.group["id"],
            distribution_id,
            _form(data, request.state.group["id"]),
            mail_context(request),
        )
    except FieldErrors as error:
        form = msgspec.structs.asdict(data)
        return await _move_page(request, dist, form, error.errors, form_status(request))
    await mail_jobs.hand_over(mail_ids)
    moved = await _distribution_or_404(request, distribution_id)
    told = _told(mail_ids)
    flash(request, f"Distribution déplacée au {moved['when']}.{told}")
    return redirect(request, _list_url(request))


@get("/g/{slug:str}/distributions/{distribution_id:int}/annuler", opt=policy(Policy.ADMIN))
async def cancel_page(request: Request, slug: str, distribution_id: int) -> object:
    dist = await _distribution_or_404(request, distribution_id)
    return render(
        request,
        "distributions/cancel.html",
        group_context(request, active="distributions", distribution=dist),
    )


@post("/g/{slug:str}/distributions/{distribution_id:int}/annuler", opt=policy(Policy.ADMIN))
async def cancel(request: Request, slug: str, distribution_id: int) -> object:
    dist = await _distribution_or_404(request, distribution_id)
    mail_ids = await distributions.cancel_distribution(
        request.state.group["id"], distribution_id, mail_context(request)
    )
    await mail_jobs.hand_over(mail_ids)
    told = _told(mail_ids)
    flash(request, f"Distribution du {dist['when']} annulée.{told}")
    return redirect(request, _list_url(request))


handlers = [
    distributions_page,
    places_page,
    create_place,
    edit_place_page,
    update_place,
    new_distribution_page,
    create_distributions,
    move_page,
    move,
    cancel_page,
    cancel,
]
