"""STOCKS of the producer space."""

from __future__ import annotations

from litestar import Request, get

from domain.producer_space import stocks
from web.access import Policy, policy
from web.pages import pop_flash, render
from web.producer_space.common import producer_or_404, space_context


@get("/espace-producteur/{producer_id:int}/stocks", opt=policy(Policy.USER))
async def stocks_page(request: Request, producer_id: int) -> object:
    producer = await producer_or_404(request, producer_id)
    return render(
        request,
        "producer_space/stocks.html",
        space_context(
            producer,
            "stocks",
            products=await stocks.stocks(producer_id),
            flash=pop_flash(request),
        ),
    )


handlers = [stocks_page]
