"""Members ordering from their phone: COMMANDES, the ordering page, Mes commandes.

Each + / − sends one small htmx request answered by the line and the basket total;
without JavaScript the page is one form that still works. In an open market a
visitor fills a basket without an account and registers at "Valider ma commande".
A person who never gave their names (an address an admin added) is asked for them
(« Vos prénom et nom ») when they open an ordering page, and at any change or validation
that reaches here without them, then comes back to their basket.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.params import Body

from domain.idempotency import new_key
from domain.kernel import forms
from domain.kernel.dates import label
from domain.members import RegistrationClosed, joining
from domain.ordering import (
    BasketErrors,
    OrderingError,
    access_ended_message,
    baskets,
    changes,
    history,
)
from domain.payments import account
from jobs import mail as mail_jobs
from web.access import Policy, policy
from web.accounts import mail_context, names_needed, names_url
from web.groups import group_context
from web.ordering.lines import change_answer, page_context, slots, view_query
from web.pages import redirect, render
from web.payments.common import words

RawForm = Body(media_type=RequestEncodingType.URL_ENCODED)


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
    """ "Suivre ce marché": a logged-in visitor becomes a member of the open market. (An
    order joins in its own transaction instead: a refused order makes no member.)"""
    if not request.state.roles.member:
        try:
            mail_ids = await joining.join_open_group(
                user_id, request.state.group["id"], mail_context(request)
            )
        except RegistrationClosed as closed:
            raise PermissionDeniedException(
                closed.message or "Ce groupe n'accepte pas de nouveaux membres ainsi."
            ) from closed
        await mail_jobs.hand_over(mail_ids)


@get("/g/{slug:str}/commandes", opt=policy(Policy.GROUP_PUBLIC), name="group_commandes")
async def orders_tab(request: Request, slug: str) -> object:
    group = request.state.group
    if not request.state.roles.member and not _is_open_market(group):
        _orderer(request)  # raises the right refusal
    user = request.state.user
    coming = await baskets.open_distributions(group["id"], user["id"] if user else None)
    upcoming = None if coming else await baskets.next_opening(group["id"])
    return render(
        request,
        "ordering/tab.html",
        group_context(request, active="commandes", coming=coming, upcoming=upcoming),
    )


def _page_url(request: Request, distribution_id: int) -> str:
    return f"/g/{request.state.group['slug']}/commandes/{distribution_id}"


async def _basket(
    request: Request, distribution_id: int, *, whole: bool = True, section: str | None = None
) -> tuple[baskets.Basket, int | None]:
    """`whole=False`: a large shop's page may read its shelves, the basket's products and
    those of `section` only (baskets.basket)."""
    user_id = _orderer(request)
    guest = _guest_basket(request, distribution_id) if user_id is None else None
    basket = await baskets.basket(
        request.state.group["id"], distribution_id, user_id, guest, whole=whole, section=section
    )
    if basket is None:
        raise NotFoundException("Distribution introuvable.")
    return basket, user_id


async def _page(
    request: Request,
    distribution_id: int,
    *,
    ask_names: bool = False,
    section: str | None = None,
    q: str | None = None,
    **extra,
):
    """The ordering page; `ask_names`: first the names form, if orders are open and the
    person ordering never gave their names. A large shop's: `section` open, or `q` searched."""
    group = request.state.group
    # A search reads every product; the headings and a section, a large shop's shelves.
    basket, user_id = await _basket(request, distribution_id, whole=bool(q), section=section)
    url = _page_url(request, distribution_id)
    if ask_names and user_id is not None and basket.state == "open" and names_needed(request):
        return redirect(request, names_url(url + view_query(section, q)))
    errors = extra.pop("errors", {})
    # A beneficiary whose access to the grocery ended: the page says why, nothing to change.
    ended = basket.access_ended_on
    payment = None
    if user_id is not None and basket.order and basket.order["state"] == "validated":
        # What the member owes for it and how to pay (None: the group keeps no accounts).
        payment = await account.order_payment(group["id"], user_id, basket.order["id"])
    context = group_context(
        request,
        active="commandes",
        basket=basket,
        guest=user_id is None,
        key=new_key(),
        label=label,
        payment=payment,
        access_message=access_ended_message(ended) if ended else "",
        **page_context(request, basket, url, section=section, q=q, errors=errors),
        **words(),
        **extra,
    )
    return render(
        request,
        "ordering/page.html",
        context,
        status_code=422 if context["errors"] else 200,
    )


@get("/g/{slug:str}/commandes/{distribution_id:int}", opt=policy(Policy.GROUP_PUBLIC))
async def order_page(
    request: Request,
    slug: str,
    distribution_id: int,
    section: str | None = None,
    q: str | None = None,
) -> object:
    """`section`: a large shop's section open (its heading's link without JavaScript), `q`:
    a search (the search form without JavaScript)."""
    flash = (request.session or {}).pop("flash", None) if request.session else None
    return await _page(request, distribution_id, ask_names=True, section=section, q=q, flash=flash)


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
    """One line's change, a few hundred bytes back (the line and the basket total): a + / −
    tap sends `delta` (relative: taps queued by the page add up), the quantity field its
    typed value (absolute); each request carries the key static/app.js made for it (`k`),
    so a replayed request acts once, and on a large shop's page which copies of the line
    the page holds (`w`, see web/ordering/lines.py)."""
    group = request.state.group
    user_id = _orderer(request)
    if user_id is not None and names_needed(request):
        # The page asks first; a change from a page opened before: the names, then back.
        return redirect(request, names_url(_page_url(request, distribution_id)))
    delta = data.get("delta")
    quantity = None if delta is not None else data.get("q", data.get(f"q{product_id}", "0"))
    key = data.get("k")
    error = None
    if user_id is None:
        current, errors = await _guest_change(
            request,
            distribution_id,
            {product_id: quantity} if delta is None else {},
            deltas={product_id: delta} if delta is not None else None,
            key=key,
        )
        error = errors.get(product_id)
        product = current.products.get(product_id)
        quantity = current.quantities.get(product_id, 0)
        total, state, stock_left = current.total_cents, "draft", None
    else:
        try:
            result, mail_ids = await changes.set_quantity(
                user_id=user_id,
                group_id=group["id"],
                distribution_id=distribution_id,
                product_id=product_id,
                quantity=quantity,
                delta=delta,
                key=key,
                ctx=mail_context(request),
                join=not request.state.roles.member,
                own=True,
            )
            await mail_jobs.hand_over(mail_ids)
            product, quantity, total = result.product, result.quantity, result.total_cents
            state, stock_left = result.order_state, result.stock_left
        except OrderingError as refused:
            error = refused.message
            current = await baskets.basket(group["id"], distribution_id, user_id)
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
        "s": slots(quantity),
        "error": error,
        "total_cents": total,
        "order_state": state,
        "editable": True,
        "url": f"/g/{slug}/commandes/{distribution_id}",
        "oob": True,
    }
    if not request.htmx:
        # Without htmx this URL is not used by the page; answer with the page anyway.
        return redirect(request, f"/g/{slug}/commandes/{distribution_id}")
    return change_answer(request, context, data.get("w", ""))


GUEST_KEYS_KEPT = 50  # a replay comes within seconds: the last taps' keys are enough


async def _guest_change(
    request: Request,
    distribution_id: int,
    quantities: dict[int, str],
    *,
    deltas: dict[int, str] | None = None,
    key: str | None = None,
) -> tuple[baskets.Basket, dict[int, str]]:
    """A visitor's basket lives in their session until they register; like a member's form,
    one refused line and nothing is kept. The keys of their last requests are kept there
    too: a replayed tap changes nothing."""
    seen = (request.session or {}).get(f"keys:{distribution_id}", [])
    key = key if key and len(key) <= 64 else None  # no form of ours sends a longer one
    replayed = key is not None and key in seen
    current, errors = await changes.set_guest_quantities(
        request.state.group["id"],
        distribution_id,
        _guest_basket(request, distribution_id),
        {} if replayed else quantities,
        deltas=None if replayed else deltas,
    )
    if current is None:
        raise NotFoundException("Distribution introuvable.")
    if not errors and not replayed:
        _save_guest_basket(request, distribution_id, current.quantities)
        if key:
            session = dict(request.session)
            session[f"keys:{distribution_id}"] = [*seen, key][-GUEST_KEYS_KEPT:]
            request.set_session(session)
    return current, errors


def _quantities_from(data: dict[str, str]) -> dict[int, str]:
    quantities = forms.prefixed(data, "q")
    bump = data.get("set", "")
    if ":" in bump:  # a + / − button without JavaScript: "product:quantity"
        product, _, quantity = bump.partition(":")
        product_id = forms.an_id(product)
        if product_id is not None:
            quantities[product_id] = quantity
    return quantities


@post("/g/{slug:str}/commandes/{distribution_id:int}", opt=policy(Policy.GROUP_PUBLIC))
async def submit_order(
    request: Request,
    slug: str,
    distribution_id: int,
    data: Annotated[dict[str, str], RawForm],
    section: str | None = None,
    q: str | None = None,
) -> object:
    """The whole form: quantities, and "Valider ma commande" (or a + / − without JavaScript).
    `section`, `q`: the view of a large shop's page the form was sent from, shown again."""
    group = request.state.group
    user_id = _orderer(request)
    quantities = _quantities_from(data)
    validate = "valider" in data
    view = {"section": section, "q": q}
    if user_id is None:
        return await _guest_submit(request, distribution_id, quantities, validate, view)
    # Without names the basket is kept as it is (not validated), and the names asked first.
    ask_names = names_needed(request)
    try:
        _, mail_ids = await changes.submit_basket(
            user_id=user_id,
            group_id=group["id"],
            distribution_id=distribution_id,
            quantities=quantities,
            key=data.get("key"),
            ctx=mail_context(request),
            validate=validate and not ask_names,
            join=not request.state.roles.member,
            own=True,
        )
    except BasketErrors as error:
        return await _page(request, distribution_id, errors=error.errors, **view)
    except OrderingError as error:  # shown at its line when it has one (a minimum)
        errors = {error.product_id or 0: error.message}
        return await _page(request, distribution_id, errors=errors, **view)
    await mail_jobs.hand_over(mail_ids)
    back = _page_url(request, distribution_id) + view_query(section, q)
    if ask_names:
        return redirect(request, names_url(back))
    if validate:
        request.session["flash"] = (
            "Votre commande est validée. Un récapitulatif vous est envoyé par e-mail."
        )
    return redirect(request, back)


async def _guest_submit(
    request: Request,
    distribution_id: int,
    quantities: dict[int, str],
    validate: bool,
    view: dict,
) -> object:
    current, errors = await _guest_change(request, distribution_id, quantities)
    if errors:
        return await _page(request, distribution_id, errors=errors, **view)
    page = _page_url(request, distribution_id)
    if validate:
        if not any(current.quantities.values()):
            return await _page(
                request, distribution_id, errors={0: "Votre panier est vide."}, **view
            )
        return redirect(request, f"{page}/finaliser")
    return redirect(request, page + view_query(view["section"], view["q"]))


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
    if not request.state.roles.member and not _is_open_market(group):
        raise PermissionDeniedException("Ce groupe n'accepte pas de nouveaux membres ainsi.")
    if names_needed(request):  # an account an admin made: the names, then back here
        return redirect(request, names_url(f"{page}/finaliser"))
    try:
        _, mail_ids = await changes.submit_basket(
            user_id=user["id"],
            group_id=group["id"],
            distribution_id=distribution_id,
            quantities=dict(basket),
            key=None,
            ctx=mail_context(request),
            validate=True,
            join=not request.state.roles.member,
            own=True,
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
    await mail_jobs.hand_over(mail_ids)
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
    orders = await history.orders_of(request.state.user["id"], request.state.instance.key)
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
