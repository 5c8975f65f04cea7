"""A large shop's ordering page, its fragments (domain/ordering/sections.py): a section's
lines when its heading is opened, and the search's results as the member types. Both are
GETs of the page's queries (the same as the page's, whatever the number of products or
sections); without htmx they lead to the page showing the same (?section=…, ?q=…).

They carry the member's quantities: `Cache-Control: private, no-cache` (no shared cache
keeps them; the browser asks again each time) with an ETag of the content, so that a
fragment asked again unchanged (a search typed back) is a 304 with no body.
"""

from __future__ import annotations

import hashlib

from litestar import Request, Response, get
from litestar.enums import MediaType
from litestar.exceptions import NotFoundException

from domain.ordering import sections
from web.access import Policy, policy
from web.ordering.lines import lines_of, page_context, view_query
from web.ordering.pages import _basket, _page_url
from web.pages import redirect

FRAGMENT = "ordering/_sections.html"


def private_fragment(request: Request, html: str) -> Response:
    tag = f'W/"{hashlib.sha256(html.encode()).hexdigest()[:24]}"'
    headers = {
        "Cache-Control": "private, no-cache",
        "ETag": tag,
        "Vary": "HX-Request, Cookie",
    }
    asked = request.headers.get("if-none-match", "")
    if tag in (value.strip() for value in asked.split(",")):
        return Response(b"", status_code=304, headers=headers)
    return Response(html, media_type=MediaType.HTML, headers=headers)


def _html(request: Request, context: dict) -> str:
    return request.app.template_engine.engine.get_template(FRAGMENT).render(context)


@get(
    "/g/{slug:str}/commandes/{distribution_id:int}/rayons/{section:str}",
    opt=policy(Policy.GROUP_PUBLIC),
)
async def section_lines(request: Request, slug: str, distribution_id: int, section: str) -> object:
    """One section, open, with its lines (replaces its heading's link)."""
    url = _page_url(request, distribution_id)
    if not request.htmx:
        return redirect(request, url + view_query(section, None))
    basket, _ = await _basket(request, distribution_id, whole=False, section=section)
    found = sections.section_of(
        list(basket.products.values()), basket.quantities, section, basket.shelves
    )
    if found is None:
        raise NotFoundException("Ce rayon n'existe plus : rechargez la page.")
    editable = basket.state == "open" and basket.access_ended_on is None
    [shown] = lines_of(request, [found.products], basket.quantities, url, editable, {})
    return private_fragment(request, _html(request, {"section": found, "shown_lines": shown}))


@get(
    "/g/{slug:str}/commandes/{distribution_id:int}/recherche",
    opt=policy(Policy.GROUP_PUBLIC),
)
async def search_lines(
    request: Request, slug: str, distribution_id: int, q: str | None = None
) -> object:
    """The products matching `q` across the sections (or, `q` emptied, the headings again)."""
    url = _page_url(request, distribution_id)
    if not request.htmx:
        return redirect(request, url + view_query(None, q))
    basket, _ = await _basket(request, distribution_id)
    return private_fragment(request, _html(request, page_context(request, basket, url, q=q)))


handlers = [section_lines, search_lines]
