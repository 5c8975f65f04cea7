"""The product lines of the ordering page (ordering/_line.html): each line rendered once per
state of its product and reused for every member, only their quantity filled in; the
basket's copies of a large shop's page; and the answer to a change, which refreshes every
copy of the line the page holds.

A large shop's page (domain/ordering/sections.py) may show a product twice: in the basket
(`bp<id>`, its − and + and the quantity) and in an opened section or the search's results
(`p<id>`, the line of every page). static/app.js says with each change which of them the
page holds (`w`: "B" the basket, "b" the basket's line of that product, "p" its line below),
and the answer is the line tapped, the other one out of band (added to the basket when it
was not there yet), and the total.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import urlencode

from litestar import Request
from markupsafe import Markup

from domain.ordering import sections
from web.pages import render


class Slots(NamedTuple):
    """What a product line shows of the member's quantity (ordering/_line.html)."""

    cls: str  # the line's class: it holds a quantity
    less: str  # the quantity "−" sets without JavaScript
    off: str  # "−" disabled at zero
    q: str
    more: str  # the quantity "+" sets without JavaScript


def slots(q: int) -> Slots:
    return Slots(
        Markup(' class="in"') if q else "",
        str(max(q - 1, 0)),
        "" if q else Markup(" disabled"),
        str(q),
        str(q + 1),
    )


# A line rendered with these marks in the slots, split there: its fixed pieces.
_MARKS = Slots(*(Markup(f"\x00{i}\x00") for i in range(len(Slots._fields))))
_SLOT_NAMES = {str(i) for i in range(len(Slots._fields))}
# (url, editable, the product's row) -> (pieces, slot of each gap, the line at quantity 0).
# A line is a function of its key alone (every column the page reads of the product is in
# it, stock included): nothing to invalidate, in one process or many; bounded in size.
_LINES: dict[tuple, tuple[tuple[str, ...], tuple[int, ...], str]] = {}
LINES_KEPT = 20_000


def _fill(pieces: tuple[str, ...], gaps: tuple[int, ...], values: Slots) -> str:
    out = [pieces[0]]
    for gap, piece in zip(gaps, pieces[1:], strict=True):
        out.append(values[gap])
        out.append(piece)
    return "".join(out)


def _line_parts(macro, product: dict, url: str, editable: bool):
    key = (url, editable, tuple(product.values()))
    parts = _LINES.get(key)
    if parts is None:
        split = str(macro(product, _MARKS, None, url, editable)).split("\x00")
        if len(split) % 2 == 0 or not set(split[1::2]) <= _SLOT_NAMES:
            return None  # a NUL in the data: this line is rendered whole, every time
        pieces, gaps = tuple(split[0::2]), tuple(int(gap) for gap in split[1::2])
        parts = (pieces, gaps, _fill(pieces, gaps, slots(0)))
        if len(_LINES) >= LINES_KEPT:
            _LINES.clear()
        _LINES[key] = parts
    return parts


def _macros(request: Request):
    return request.app.template_engine.engine.get_template("ordering/_line.html").module


def lines_of(
    request: Request,
    groups: list[list[dict]],
    quantities: dict[int, int],
    url: str,
    editable: bool,
    errors: dict,
) -> list[Markup]:
    """The lines of each group of products (a producer's, a section's, a search's): each
    line rendered once (for the first member who sees it in that state), then only the
    member's quantity filled in."""
    macro = _macros(request).line
    rendered = []
    for products in groups:
        chunks = []
        for product in products:
            q = quantities.get(product["id"], 0)
            error = errors.get(product["id"])
            parts = None if error else _line_parts(macro, product, url, editable)
            if parts is None:
                chunks.append(str(macro(product, slots(q), error, url, editable)))
            else:
                chunks.append(_fill(parts[0], parts[1], slots(q)) if q else parts[2])
        rendered.append(Markup("".join(chunks)))
    return rendered


def basket_lines(
    request: Request,
    products: list[dict],
    quantities: dict[int, int],
    url: str,
    editable: bool,
    errors: dict,
) -> Markup:
    """The basket's copies of its lines (a large shop's page): a few, rendered each time."""
    macro = _macros(request).basket_line
    return Markup(
        "".join(
            str(macro(p, slots(quantities.get(p["id"], 0)), errors.get(p["id"]), url, editable))
            for p in products
        )
    )


def change_answer(request: Request, context: dict, shown: str) -> object:
    """The answer to one line's change: the line tapped (the basket's copy when the request
    came from it: HX-Target), the page's other copy of it out of band (`shown`, the `w` of
    static/app.js), and the total."""
    target = (request.htmx.target or "") if request.htmx else ""
    in_basket = target.startswith("b")
    shown = shown if isinstance(shown, str) else ""
    context = {
        **context,
        "in_basket": in_basket,
        # the other copy: replaced where the page has it, or added to the basket
        "also_line": in_basket and "p" in shown,
        "also_basket": not in_basket and "b" in shown,
        "add_to_basket": not in_basket
        and "B" in shown
        and "b" not in shown
        and int(context["s"].q) > 0,
    }
    return render(request, "ordering/_line.html", context)


def view_query(section: str | None, q: str | None) -> str:
    """The query string of a large shop's view (a section open, or a search), so that the
    form without JavaScript comes back to it."""
    if q and q.strip():
        return "?" + urlencode({"q": q.strip()[: sections.QUERY_MAX]})
    if section:
        return "?" + urlencode({"section": section[:80]})
    return ""


def page_context(
    request: Request,
    basket,
    url: str,
    *,
    section: str | None = None,
    q: str | None = None,
    errors: dict | None = None,
) -> dict:
    """The lines of the page: every producer's (a small shop), or a large shop's view: the
    basket's copies, the headings, the section open or the search's results."""
    errors = errors or {}
    editable = basket.state == "open" and basket.access_ended_on is None
    quantities = basket.quantities
    view = sections.view(
        list(basket.products.values()),
        quantities,
        section=section,
        query=q,
        shelves=basket.shelves,
    )
    found = {"view": view, "editable": editable, "url": url, "errors": errors}
    if not view.sectioned:
        groups = [v["products"] for v in basket.vendors]
        rendered = lines_of(request, groups, quantities, url, editable, errors)
        return found | {"lines": rendered, "view_query": ""}
    shown = view.shown
    below = {p["id"] for p in shown}
    basket_errors = {pid: e for pid, e in errors.items() if pid not in below}
    [shown_lines] = lines_of(request, [shown], quantities, url, editable, errors)
    return found | {
        "shown_lines": shown_lines,
        "basket_html": basket_lines(request, view.basket, quantities, url, editable, basket_errors),
        "view_query": view_query(
            view.section.key if view.section else None,
            view.query if view.results is not None else None,
        ),
    }
