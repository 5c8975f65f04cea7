"""Members ordering from their phone: COMMANDES, the ordering page, Mes commandes.

Each + / − sends one small htmx request answered by the line and the basket total;
without JavaScript the page is one form that still works. In an open market a
visitor fills a basket without an account and registers at "Valider ma commande".
"""

from __future__ import annotations

import secrets
from typing import Annotated

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.params import Body

from domain import members, ordering
from domain.ordering import BasketErrors, OrderingError
from jobs import mail as mail_jobs
from web.access import Policy, policy
from web.accounts import mail_context
from web.groups import group_context
from web.pages import redirect, render

RawForm = Body(media_type=RequestEncodingType.URL_ENCODED)


def new_key() -> str:
    return secrets.token_urlsafe(12)


def _is_open_market(group: dict) -> bool:
    return group["kind"] == "market" and group["registration"] == "open"


def _orderer(request: Request) -> int | None:
    """The member ordering, or None for a guest of an open market; refuses anyone else."""
    user, roles, group = request.state.user, request.state.roles, request.state.group
    if roles.member:
        return user["id"]
    if _is_open_market(group):
        return user["id"] if user else None
    if user is None:
        raise NotAuthorizedException("Connectez-vous pour commander.")
    raise PermissionDeniedException(
        "Vous n'êtes pas membre de ce groupe. Demandez à le rejoindre depuis sa page d'accueil."
    )


def _guest_basket(request: Request, distribution_id: int) -> dict[int, int]:
    raw = (request.session or {}).get(f"basket:{distribution_id}", {})
    return {int(k): int(v) for k, v in raw.items()}


def _save_guest_basket(request: Request, distribution_id: int, basket: dict[int, int]) -> None:
    session = dict(request.session or {})
    session[f"basket:{distribution_id}"] = {str(k): v for k, v in basket.items() if v}
    request.set_session(session)


async def _ensure_member(request: Request, user_id: int) -> None:
    """A logged-in visitor ordering in an open market becomes a member of it."""
    if not request.state.roles.member:
        mail_jobs.enqueue(
            await members.join_open_group(user_id, request.state.group["id"], mail_context(request))
        )


@get("/g/{slug:str}/commandes", opt=policy(Policy.GROUP_PUBLIC), name="group_commandes")
async def orders_tab(request: Request, slug: str) -> object:
    group = request.state.group
    if not request.state.roles.member and not _is_open_market(group):
        _orderer(request)  # raises the right refusal
    user = request.state.user
    coming = await ordering.open_distributions(group["id"], user["id"] if user else None)
    return render(
        request, "ordering/tab.html", group_context(request, active="commandes", coming=coming)
    )


async def _page(request: Request, distribution_id: int, **extra) -> object:
    group = request.state.group
    user_id = _orderer(request)
    guest = _guest_basket(request, distribution_id) if user_id is None else None
    basket = await ordering.basket(group["id"], distribution_id, user_id, guest)
    if basket is None:
        raise NotFoundException("Distribution introuvable.")
    context = group_context(
        request,
        active="commandes",
        basket=basket,
        guest=user_id is None,
        key=new_key(),
        new_key=new_key,
        label=ordering.label,
        errors=extra.pop("errors", {}),
        **extra,
    )
    return render(
        request,
        "ordering/page.html",
        context,
        status_code=422 if context["errors"] else 200,
    )


@get("/g/{slug:str}/commandes/{distribution_id:int}", opt=policy(Policy.GROUP_PUBLIC))
async def order_page(request: Request, slug: str, distribution_id: int) -> object:
    flash = (request.session or {}).pop("flash", None) if request.session else None
    return await _page(request, distribution_id, flash=flash)


@post(
    "/g/{slug:str}/commandes/{distribution_id:int}/ligne/{product_id:int}",
    opt=policy(Policy.GROUP_PUBLIC),
)
async def change_line(
    request: Request,
    slug: str,
    distribution_id: int,
    product_id: int,
    data: Annotated[dict[str, str], RawForm],
) -> object:
    """One quantity change: answers the line and the basket total, a few hundred bytes."""
    group = request.state.group
    user_id = _orderer(request)
    raw_quantity = data.get("q", data.get(f"q{product_id}", "0"))
    error = None
    if user_id is None:
        current, errors = await _guest_change(request, distribution_id, {product_id: raw_quantity})
        error = errors.get(product_id)
        product = current.products.get(product_id)
        quantity = current.quantities.get(product_id, 0)
        total, state, stock_left = current.total_cents, "draft", None
    else:
        await _ensure_member(request, user_id)
        try:
            result, mail_ids = await ordering.set_quantity(
                user_id=user_id,
                group_id=group["id"],
                distribution_id=distribution_id,
                product_id=product_id,
                quantity=raw_quantity,
                key=data.get("k"),
                ctx=mail_context(request),
            )
            mail_jobs.enqueue(mail_ids)
            product, quantity, total = result.product, result.quantity, result.total_cents
            state, stock_left = result.order_state, result.stock_left
        except OrderingError as refused:
            error = refused.message
            current = await ordering.basket(group["id"], distribution_id, user_id)
            if current is None:
                raise NotFoundException("Distribution introuvable.") from refused
            product = current.products.get(product_id)
            quantity = current.quantities.get(product_id, 0)
            total = current.total_cents
            state = current.order["state"] if current.order else "draft"
            stock_left = product["stock"] if product else None
    if product is None:
        raise NotFoundException("Ce produit n'est pas disponible à cette distribution.")
    if stock_left is not None:
        product = {**product, "stock": stock_left}
    context = {
        "group": group,
        "p": product,
        "q": quantity,
        "error": error,
        "total_cents": total,
        "order_state": state,
        "editable": True,
        "url": f"/g/{slug}/commandes/{distribution_id}",
        "new_key": new_key,
        "oob": True,
    }
    if request.headers.get("hx-request") != "true":
        # Without htmx this URL is not used by the page; answer with the page anyway.
        return redirect(request, f"/g/{slug}/commandes/{distribution_id}")
    return render(request, "ordering/_line.html", context)


async def _guest_change(
    request: Request, distribution_id: int, quantities: dict[int, str]
) -> tuple[ordering.Basket, dict[int, str]]:
    """A visitor's basket lives in their session until they register; like a member's form,
    one refused line and nothing is kept."""
    current, errors = await ordering.set_guest_quantities(
        request.state.group["id"],
        distribution_id,
        _guest_basket(request, distribution_id),
        quantities,
    )
    if current is None:
        raise NotFoundException("Distribution introuvable.")
    if not errors:
        _save_guest_basket(request, distribution_id, current.quantities)
    return current, errors


def _quantities_from(data: dict[str, str]) -> dict[int, str]:
    quantities = {}
    for name, value in data.items():
        if name.startswith("q") and name[1:].isdigit():
            quantities[int(name[1:])] = value
    bump = data.get("set", "")
    if ":" in bump:  # a + / − button without JavaScript: "product:quantity"
        product, _, quantity = bump.partition(":")
        if product.isdigit():
            quantities[int(product)] = quantity
    return quantities


@post("/g/{slug:str}/commandes/{distribution_id:int}", opt=policy(Policy.GROUP_PUBLIC))
async def submit_order(
    request: Request, slug: str, distribution_id: int, data: Annotated[dict[str, str], RawForm]
) -> object:
    """The whole form: quantities, and "Valider ma commande" (or a + / − without JavaScript)."""
    group = request.state.group
    user_id = _orderer(request)
    quantities = _quantities_from(data)
    validate = "valider" in data
    if user_id is None:
        return await _guest_submit(request, slug, distribution_id, quantities, validate)
    await _ensure_member(request, user_id)
    try:
        _, mail_ids = await ordering.submit_basket(
            user_id=user_id,
            group_id=group["id"],
            distribution_id=distribution_id,
            quantities=quantities,
            key=data.get("key"),
            ctx=mail_context(request),
            validate=validate,
        )
    except BasketErrors as error:
        return await _page(request, distribution_id, errors=error.errors)
    except OrderingError as error:
        return await _page(request, distribution_id, errors={0: error.message})
    mail_jobs.enqueue(mail_ids)
    if validate:
        request.session["flash"] = (
            "Votre commande est validée. Un récapitulatif vous est envoyé par e-mail."
        )
    return redirect(request, f"/g/{slug}/commandes/{distribution_id}")


async def _guest_submit(
    request: Request, slug: str, distribution_id: int, quantities: dict[int, str], validate: bool
) -> object:
    current, errors = await _guest_change(request, distribution_id, quantities)
    if errors:
        return await _page(request, distribution_id, errors=errors)
    if validate:
        if not any(current.quantities.values()):
            return await _page(request, distribution_id, errors={0: "Votre panier est vide."})
        return redirect(request, f"/g/{slug}/commandes/{distribution_id}/finaliser")
    return redirect(request, f"/g/{slug}/commandes/{distribution_id}")


@get("/g/{slug:str}/commandes/{distribution_id:int}/finaliser", opt=policy(Policy.GROUP_PUBLIC))
async def finish_guest_order(request: Request, slug: str, distribution_id: int) -> object:
    """A visitor's basket becomes their order once they have an account."""
    group = request.state.group
    user = request.state.user
    page = f"/g/{slug}/commandes/{distribution_id}"
    basket = _guest_basket(request, distribution_id)
    if user is None:
        return render(
            request,
            "ordering/finish.html",
            group_context(
                request,
                active="commandes",
                next=f"{page}/finaliser",
                count=sum(basket.values()),
            ),
        )
    if not basket:
        return redirect(request, page)
    if not request.state.roles.member:
        if not _is_open_market(group):
            raise PermissionDeniedException("Ce groupe n'accepte pas de nouveaux membres ainsi.")
        await _ensure_member(request, user["id"])
    try:
        _, mail_ids = await ordering.submit_basket(
            user_id=user["id"],
            group_id=group["id"],
            distribution_id=distribution_id,
            quantities=dict(basket),
            key=None,
            ctx=mail_context(request),
            validate=True,
        )
    except (BasketErrors, OrderingError):
        # Stock went meanwhile, or orders closed: the member sees the page with the reason.
        session = dict(request.session)
        session.pop(f"basket:{distribution_id}", None)
        request.set_session(session)
        request.session["flash"] = (
            "Votre panier n'a pas pu être validé tel quel : vérifiez les quantités."
        )
        return redirect(request, page)
    mail_jobs.enqueue(mail_ids)
    session = dict(request.session)
    session.pop(f"basket:{distribution_id}", None)
    session["flash"] = "Votre commande est validée. Un récapitulatif vous est envoyé par e-mail."
    request.set_session(session)
    return redirect(request, page)


@post("/g/{slug:str}/suivre", opt=policy(Policy.GROUP_PUBLIC))
async def follow_group(request: Request, slug: str) -> object:
    """ "Suivre ce marché": an account first, then membership of the open market."""
    group = request.state.group
    if request.state.user is None:
        raise NotAuthorizedException("Connectez-vous pour suivre ce marché.")
    if not request.state.roles.member:
        if group["registration"] != "open":
            raise PermissionDeniedException("Ce groupe n'accepte pas de nouveaux membres ainsi.")
        await _ensure_member(request, request.state.user["id"])
        request.session["flash"] = f"Vous suivez maintenant {group['name']}."
    return redirect(request, f"/g/{slug}")


@get("/commandes", opt=policy(Policy.USER), name="my_orders")
async def my_orders(request: Request) -> object:
    orders = await ordering.orders_of(request.state.user["id"], request.state.instance.key)
    return render(request, "ordering/mine.html", {"orders": orders})


handlers = [
    orders_tab,
    order_page,
    change_line,
    submit_order,
    finish_guest_order,
    follow_group,
    my_orders,
]
