"""Members ordering for a distribution: the rules every part applies. The parts: `baskets`
(what the ordering page shows), `sections` (a large shop's page: sections, search),
`changes` (a quantity, the whole basket, « Valider ma commande »), `recap` (the recap
mail), `history` (Mes commandes).

Rules hold whatever the client sends: orders must be open, quantities whole and within the
maximum, stock never below zero (a conditional UPDATE, so racing members cannot oversell),
a replayed submission is applied once, and nobody validates their own order without having
given their first and last names; a beneficiary of a solidarity grocery whose access
period has ended in Escarcelle (Membership.escarcelle_access_until, from the « Import
Escarcelle ») cannot order for themselves, nor be ordered for."""

from __future__ import annotations

from datetime import date, datetime

from domain.kernel import forms
from domain.kernel.clock import now
from domain.members import access_ended_on

MAX_QUANTITY = 9999


class OrderingError(Exception):
    """A rule refused the change; `message` is for the member, in French."""

    def __init__(self, message: str, *, product_id: int | None = None):
        super().__init__(message)
        self.message = message
        self.product_id = product_id


class NamesNeeded(OrderingError):
    """The person orders for themselves without having given their first and last names
    (an address an admin added): they give them first, their basket kept."""

    def __init__(self):
        super().__init__("Indiquez vos prénom et nom avant de valider votre commande.")


class BasketErrors(Exception):
    """Several products refused at once: {product_id: message}. Nothing was changed."""

    def __init__(self, errors: dict[int, str]):
        super().__init__(errors)
        self.errors = errors


def window_state(dist: dict, moment: datetime | None = None) -> str:
    """open | not_open | closed | cancelled."""
    moment = moment or now()
    if dist["cancelled_at"] is not None:
        return "cancelled"
    if moment < dist["orders_open_at"]:
        return "not_open"
    if moment >= dist["orders_close_at"]:
        return "closed"
    if dist.get("validated_at") is not None:
        return "validated"
    return "open"


VALIDATED_MESSAGE = "Cette distribution est validée : les commandes ne peuvent plus être modifiées."
WINDOW_MESSAGES = {
    "not_open": "Les commandes ne sont pas encore ouvertes pour cette distribution.",
    "closed": "Les commandes sont fermées pour cette distribution.",
    "cancelled": "Cette distribution est annulée.",
    "validated": VALIDATED_MESSAGE,
}
CATALOG_WINDOW_MESSAGES = {
    "not_open": (
        "Les commandes de ce catalogue ne sont pas encore ouvertes pour cette distribution."
    ),
    "closed": "Les commandes de ce catalogue sont fermées pour cette distribution.",
}


def access_ended_message(ended_on: date, *, own: bool = True) -> str:
    day = f"{ended_on:%d/%m/%Y}"
    if own:
        return (
            f"Votre accès à l'épicerie solidaire a pris fin le {day} : vous ne pouvez plus "
            "commander. Contactez l'épicerie pour le renouveler."
        )
    return (
        f"L'accès de ce bénéficiaire à l'épicerie solidaire a pris fin le {day} dans "
        "Escarcelle : renouvelez-le dans Escarcelle, puis refaites l'Import Escarcelle."
    )


def check_access(access_until: date | None, *, own: bool = True, moment=None) -> None:
    ended = access_ended_on(access_until, moment)
    if ended is not None:
        raise OrderingError(access_ended_message(ended, own=own))


def catalog_window_state(link: dict, moment: datetime) -> str:
    """A catalog's own order window at one date (CatalogDistribution.orders_open_at and
    orders_close_at; None: the distribution's), inside the distribution's window."""
    if link["orders_open_at"] is not None and moment < link["orders_open_at"]:
        return "not_open"
    if link["orders_close_at"] is not None and moment >= link["orders_close_at"]:
        return "closed"
    return "open"


def parse_quantity(value: str | int) -> int:
    if isinstance(value, int):
        quantity = value
    else:
        text = str(value).strip()
        if not text:
            return 0
        if not forms.digits(text):
            raise OrderingError("La quantité doit être un nombre entier positif ou zéro.")
        # Leading zeros aside, more digits than the maximum has is over it.
        significant = text.lstrip("0") or "0"
        quantity = int(significant) if len(significant) <= 9 else MAX_QUANTITY + 1
    if quantity < 0:
        raise OrderingError("La quantité doit être un nombre entier positif ou zéro.")
    if quantity > MAX_QUANTITY:
        raise OrderingError(f"La quantité ne peut pas dépasser {MAX_QUANTITY}.")
    return quantity


def parse_delta(value: str | int) -> int:
    """A relative change of one line (a + or − tap: 1 or -1), at most the maximum either way."""
    text = "" if isinstance(value, bool) else str(value).strip()
    sign, digits = (text[0], text[1:]) if text[:1] in ("-", "+") else ("", text)
    size = forms.whole(digits, maximum=MAX_QUANTITY) if forms.digits(digits) else None
    if size is None:
        raise OrderingError("Changement de quantité invalide : rechargez la page.")
    return -size if sign == "-" else size


def check_maximum(product: dict, quantity: int) -> None:
    if product["max_per_order"] is not None and quantity > product["max_per_order"]:
        raise OrderingError(
            f"Maximum {product['max_per_order']} par commande pour ce produit.",
            product_id=product["id"],
        )


def not_enough(product_id: int, available: int) -> OrderingError:
    if available <= 0:
        return OrderingError("Épuisé : il n'en reste plus.", product_id=product_id)
    return OrderingError(
        f"Plus que {available} disponible{'s' if available > 1 else ''}.", product_id=product_id
    )
