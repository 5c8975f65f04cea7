"""A market's statement per producer over a period (admins): a page and its CSV."""

from __future__ import annotations

from litestar import Request, get
from litestar.response import Stream

from domain.kernel.clock import now
from domain.kernel.dates import paris_day
from domain.payments import producers
from web.access import Policy, policy
from web.downloads import csv_file
from web.pages import render
from web.payments.common import payments_context

URL = "/g/{slug:str}/paiements/producteurs"


@get(URL, opt=policy(Policy.ADMIN))
async def statement_page(request: Request, slug: str, du: str = "", au: str = "") -> object:
    first, last, errors = producers.period(du, au, paris_day(now()))
    found = [] if errors else await producers.statement(request.state.group["id"], first, last)
    return render(
        request,
        "payments/producers.html",
        payments_context(
            request,
            producers=found,
            first=first,
            last=last,
            errors=errors,
            form={"du": du or str(first), "au": au or str(last)},
            totals={
                "ordered": sum(p.ordered_cents for p in found),
                "paid": sum(p.paid_cents for p in found),
                "left": sum(p.left_cents for p in found),
            },
        ),
        status_code=422 if errors else 200,
    )


@get(URL + ".csv", opt=policy(Policy.ADMIN))
async def statement_csv(request: Request, slug: str, du: str = "", au: str = "") -> Stream:
    group = request.state.group
    first, last, errors = producers.period(du, au, paris_day(now()))
    if errors:
        first, last, _ = producers.period("", "", paris_day(now()))
    rows = producers.csv_rows(group["id"], first, last)
    return csv_file(
        rows, f"Relevé producteurs - {group['name']} - {first:%Y-%m-%d} au {last:%Y-%m-%d}.csv"
    )


handlers = [statement_page, statement_csv]
