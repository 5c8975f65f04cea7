"""The sales sent to Escarcelle: « Renvoyer » the failed ones of a distribution."""

from __future__ import annotations

from litestar import Request, post

from domain.escarcelle import sales
from domain.kernel import clock
from domain.kernel.wording import plural
from jobs import escarcelle as escarcelle_jobs
from web.access import Policy, policy
from web.escarcelle.settings import settings_url
from web.pages import flash, redirect
from web.producer_space.common import producer_or_404


@post(
    "/espace-producteur/{producer_id:int}/ventes/{distribution_id:int}/renvoyer",
    opt=policy(Policy.USER),
)
async def retry_sales(request: Request, producer_id: int, distribution_id: int) -> object:
    producer = await producer_or_404(request, producer_id)
    count = await sales.retry(producer_id, distribution_id)
    if count:
        occasion = f"renvoi {clock.now().isoformat(timespec='seconds')}"
        escarcelle_jobs.push_sales.send(producer_id, distribution_id, occasion)
        flash(
            request,
            f"{plural(count, 'vente renvoyée', 'ventes renvoyées')} à Escarcelle : "
            "le rapport suit par e-mail.",
        )
    else:
        flash(request, "Aucune vente en échec à renvoyer pour cette distribution.")
    return redirect(request, settings_url(producer))


handlers = [retry_sales]
