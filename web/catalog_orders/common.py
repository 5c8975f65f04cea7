"""What the COMMANDES pages share: their URLs, the date of the URL, a member's block."""

from __future__ import annotations

from litestar import Request
from litestar.exceptions import NotFoundException

from domain.catalog_orders import recaps
from web.pages import render

BASE = "/g/{slug:str}/catalogues/{catalog_id:int}"
DATE = BASE + "/commandes/{distribution_id:int}"
VIEWS = ("produits", "adherents")


def catalog_url(request: Request, catalog_id: int) -> str:
    return f"/g/{request.state.group['slug']}/catalogues/{catalog_id}"


def date_url(request: Request, catalog_id: int, distribution_id: int) -> str:
    return f"{catalog_url(request, catalog_id)}/commandes/{distribution_id}"


async def date_of(catalog_id: int, distribution_id: int) -> dict:
    """The date of the URL, through its catalog (already checked to be of the group)."""
    dist = await recaps.distribution_of_catalog(catalog_id, distribution_id)
    if dist is None:
        raise NotFoundException("Ce catalogue n'a pas de commandes à cette distribution.")
    return dist


def may_correct(catalog: dict, dist: dict) -> bool:
    """Admins and the catalog's coordinator, until the distribution is validated."""
    return (
        catalog["may_edit_products"]
        and dist["validated_at"] is None
        and dist["cancelled_at"] is None
    )


def totals_of(recap) -> dict:
    return {"members": recap.count, "quantity": recap.quantity, "total_cents": recap.total_cents}


def member_page_url(request: Request, catalog_id: int, dist_id: int, page: int, anchor: str):
    return f"{date_url(request, catalog_id, dist_id)}?vue=adherents&page={page}#{anchor}"


async def member_block(
    request: Request,
    catalog: dict,
    dist: dict,
    order_id: int,
    *,
    page: int,
    opened: bool = False,
    error_line: int | None = None,
    errors: dict | None = None,
    form: dict | None = None,
    oob: bool = False,
) -> object:
    """The rows of one member (a <tbody>), open for corrections or not, and after a change
    the recap's totals (out of band)."""
    editable = may_correct(catalog, dist)
    member = await recaps.member_order(catalog["id"], dist["id"], order_id)
    summary = await recaps.totals(catalog["id"], dist["id"]) if oob else {}
    products = await recaps.orderable_products(catalog["id"]) if editable and opened else []
    context = {
        "group": request.state.group,
        "m": member,
        "order_id": order_id,
        "editable": editable,
        "editing": order_id if opened else None,
        "error_line": error_line,
        "errors": errors or {},
        "form": form or {},
        "products": products,
        "page": page,
        "date_url": date_url(request, catalog["id"], dist["id"]),
        "summary": summary,
        "oob": oob,
    }
    return render(request, "catalog_orders/_member.html", context)
