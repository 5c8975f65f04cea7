"""What every page of a producer's space shares: the producer, loaded through the account
(another producer's id answers 404), and the space's menu."""

from __future__ import annotations

from litestar import Request
from litestar.exceptions import NotFoundException

from domain.producer_space import producers

TABS = (
    ("ventes", "Ventes", ""),
    ("produits", "Produits", "/produits"),
    ("stocks", "Stocks", "/stocks"),
    ("parametres", "Paramètres", "/parametres"),
)


async def producer_or_404(request: Request, producer_id: int) -> dict:
    """The producer this account runs, on an instance with a producer space."""
    if not request.state.instance.producer_space:
        raise NotFoundException("Il n'y a pas d'espace producteur sur ce site.")
    found = await producers.producer_of(request.state.user["id"], producer_id)
    if found is None:
        raise NotFoundException("Cet espace producteur n'est pas le vôtre.")
    return found


def base_url(producer: dict) -> str:
    return f"/espace-producteur/{producer['id']}"


def space_context(producer: dict, active: str, **extra) -> dict:
    return {
        "producer": producer,
        "base": base_url(producer),
        "tabs": TABS,
        "active": active,
        **extra,
    }
