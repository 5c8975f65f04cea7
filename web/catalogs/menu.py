"""Who may see and change a catalog, and the menu after « Gérer » that every page of a
catalog shows."""

from __future__ import annotations

from litestar import Request
from litestar.exceptions import NotFoundException, PermissionDeniedException

from domain import catalogs
from domain.kernel.dates import format_moment
from web.groups import group_context

SHORT_KINDS = {"variable": "Commande variable", "fixed": "Commande fixe"}

# ---- who may see and change a catalog --------------------------------------------------


async def catalog_of_group(request: Request, catalog_id: int) -> dict:
    """The catalog, if it belongs to the request's group; 404 otherwise."""
    found = await catalogs.catalog(request.state.group["id"], catalog_id)
    if found is None:
        raise NotFoundException("Ce catalogue n'existe pas dans ce groupe.")
    return found


def may_edit_products(request: Request, catalog: dict) -> bool:
    """Admins, and the catalog's own coordinator."""
    return request.state.roles.admin or catalog["coordinator"] == request.state.user["id"]


def may_see_products(request: Request, catalog: dict) -> bool:
    """Those who may edit them, and the catalog's producer."""
    return may_edit_products(request, catalog) or catalog["vendor_user"] == request.state.user["id"]


async def catalog_for_products(request: Request, catalog_id: int, *, edit: bool) -> dict:
    catalog = await catalog_of_group(request, catalog_id)
    allowed = may_edit_products(request, catalog) if edit else may_see_products(request, catalog)
    if not allowed:
        raise PermissionDeniedException("Vous ne gérez pas ce catalogue.")
    return catalog


async def managed_catalog(request: Request, catalog_id: int, *, edit: bool) -> dict:
    """The catalog of a "Gérer" page, or 404/403: its producer reads (`edit=False`); admins
    and its coordinator change. The view has what the menu needs."""
    return catalog_view(request, await catalog_for_products(request, catalog_id, edit=edit))


# The left menu after "Gérer", in the seed's order: (key, label, path, who may see it).
# "edit": admins and the catalog's coordinator; "read": also the catalog's producer;
# "admin": group admins only.
CATALOG_MENU = (
    ("recap", "RÉCAPITULATIF", "gerer", "read"),
    ("modifier", "MODIFIER LE CATALOGUE", "", "admin"),
    ("produits", "PRODUITS", "produits", "read"),
    ("distributions", "DISTRIBUTIONS", "distributions", "edit"),
    ("commandes", "COMMANDES", "commandes", "read"),
    ("souscriptions", "SOUSCRIPTIONS", "souscriptions", "read"),
    ("contrat", "CONDITIONS", "contrat", "edit"),
    ("echeancier", "ÉCHÉANCIER", "echeancier", "edit"),
    ("documents", "DOCUMENTS", "documents", "edit"),
    ("statistiques", "STATISTIQUES", "statistiques", "read"),
    ("gros", "COMMANDE EN GROS", "commande-en-gros", "read"),
    ("bon", "BON DE COMMANDE", "bon-de-commande", "read"),
)


AMAP_ONLY = {"souscriptions", "contrat", "echeancier"}  # the contracts' pages


def catalog_menu(request: Request, catalog: dict) -> list[dict]:
    """The menu items this user may use for this catalog (SOUSCRIPTIONS: AMAP contracts)."""
    base = f"/g/{request.state.group['slug']}/catalogues/{catalog['id']}"
    allowed = {
        "read": may_see_products(request, catalog),
        "edit": may_edit_products(request, catalog),
        "admin": request.state.roles.admin,
    }
    return [
        {"key": key, "label": label, "url": f"{base}/{path}".rstrip("/")}
        for key, label, path, who in CATALOG_MENU
        if allowed[who] and (key not in AMAP_ONLY or request.state.group["kind"] == "amap")
    ]


def catalog_context(request: Request, catalog: dict, menu: str, **extra) -> dict:
    """The context of a page of the catalog menu (templates extend catalogs/manage.html)."""
    return group_context(
        request,
        active="catalogues",
        catalog=catalog,
        menu=catalog_menu(request, catalog),
        menu_active=menu,
        **extra,
    )


def period(catalog: dict) -> str:
    start, end = catalog["starts_on"], catalog["ends_on"]
    if start and end:
        return f"du {format_moment(start, 'day')} au {format_moment(end, 'day')}"
    if start:
        return f"à partir du {format_moment(start, 'day')}"
    if end:
        return f"jusqu'au {format_moment(end, 'day')}"
    return ""


def catalog_view(request: Request, catalog: dict) -> dict:
    first, last = catalog["coordinator_first_name"], catalog["coordinator_last_name"]
    coordinator = f"{first or ''} {last or ''}"
    return catalog | {
        "kind_label": SHORT_KINDS.get(catalog["kind"], catalog["kind"]),
        "period": period(catalog),
        "coordinator_name": coordinator.strip() if catalog["coordinator"] else "",
        "may_edit_products": may_edit_products(request, catalog),
        "may_manage": may_see_products(request, catalog),
    }


def products_url(request: Request, catalog_id: int) -> str:
    return f"/g/{request.state.group['slug']}/catalogues/{catalog_id}/produits"
