"""STOCKS of the producer space; for a grocery linked to Escarcelle, Escarcelle's stock,
what is reserved here, the last sync and « Synchroniser maintenant »."""

from __future__ import annotations

from litestar import Request, get, post

from domain import escarcelle
from domain.escarcelle import stocks as escarcelle_stocks
from domain.producer_space import stocks
from jobs import escarcelle as escarcelle_jobs
from web.access import Policy, policy
from web.pages import flash, pop_flash, redirect, render
from web.producer_space.common import base_url, producer_or_404, space_context

OUTCOMES = {
    "done": "Stocks synchronisés avec Escarcelle.",
    "busy": "Une synchronisation est déjà en cours : ses stocks s'affichent dès qu'elle finit.",
    "broken": "Escarcelle refuse votre clé : remplacez-la dans Paramètres → Synchro Escarcelle.",
    "unavailable": "Escarcelle ne répond pas pour l'instant : les derniers stocks connus sont "
    "gardés, la synchronisation réessaie dans l'heure.",
    "unlinked": "Enregistrez d'abord votre clé Escarcelle dans Paramètres.",
}


@get("/espace-producteur/{producer_id:int}/stocks", opt=policy(Policy.USER))
async def stocks_page(request: Request, producer_id: int) -> object:
    producer = await producer_or_404(request, producer_id)
    link = await escarcelle.link_of(producer_id)
    rows = (
        await stocks.stocks(producer_id, escarcelle_stocks.RESERVED_SQL, parameters=2)
        if link
        else await stocks.stocks(producer_id)
    )
    return render(
        request,
        "producer_space/stocks.html",
        space_context(producer, "stocks", products=rows, link=link, flash=pop_flash(request)),
    )


@post("/espace-producteur/{producer_id:int}/stocks/synchroniser", opt=policy(Policy.USER))
async def sync_now(request: Request, producer_id: int) -> object:
    """« Synchroniser maintenant »: the same sync as the hourly one (one at a time)."""
    producer = await producer_or_404(request, producer_id)
    flash(request, OUTCOMES[await escarcelle_jobs.sync(producer_id)])
    return redirect(request, f"{base_url(producer)}/stocks")


handlers = [stocks_page, sync_now]
