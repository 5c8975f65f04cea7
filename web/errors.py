"""Every refusal and failure as a French page (or, for htmx, an answer htmx shows).

Litestar's own exceptions carry English details ("Not Found", "Method Not Allowed",
"Validation failed for POST …"): they are replaced by French ones; the details our handlers
write are French already and are shown as they are.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from urllib.parse import urlsplit

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.response import Redirect, Template

from web.access import login_url
from web.routing import UNKNOWN_HOST_PAGE

log = logging.getLogger("web.errors")

TITLES = {
    400: "Requête invalide",
    403: "Accès refusé",
    404: "Page introuvable",
    405: "Action impossible",
    410: "Lien expiré",
    413: "Fichier trop volumineux",
    429: "Trop de requêtes",
    500: "Erreur du serveur",
}
DETAILS = {
    400: "La requête n'est pas valide : rechargez la page et recommencez.",
    403: "Vous n'avez pas accès à cette page.",
    404: "Cette page n'existe pas.",
    405: "Cette action n'est pas possible sur cette page.",
    413: "Le fichier envoyé est trop volumineux.",
    429: "Trop de requêtes : réessayez dans un moment.",
    500: "Une erreur est survenue de notre côté. Réessayez dans un moment.",
}
CSRF_EXPIRED = "Le formulaire a expiré. Rechargez la page et recommencez."


def detail_of(exc: Exception, status: int) -> str:
    """The French sentence for this refusal."""
    if status >= 500 or not isinstance(exc, HTTPException):
        return DETAILS.get(status, DETAILS[500])
    detail = str(exc.detail or "")
    if status == 403 and "CSRF" in detail:
        return CSRF_EXPIRED
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
    if isinstance(exc, ValidationException) or status in (405, 413) or detail in ("", phrase):
        return DETAILS.get(status, detail or phrase)
    return detail


def _page_of(request: Request) -> str:
    """The local path (and query) of the page an htmx request came from."""
    current = urlsplit(request.headers.get("hx-current-url", ""))
    path = current.path or "/"
    return (
        path
        + (f"?{current.query}" if current.query else "")
        + (f"#{current.fragment}" if current.fragment else "")
    )


def error_handler(request: Request, exc: Exception) -> Response:
    if "instance" not in request.state:
        # No route matched, so the instance middleware did not run: resolve the host here.
        settings = request.app.state.settings
        instance = settings.instance_for_host(request.headers.get("host", ""))
        if instance is None:
            return Response(UNKNOWN_HOST_PAGE, status_code=404, media_type="text/html")
        request.state.instance = instance
    if isinstance(exc, NotAuthorizedException):
        if request.htmx:
            # Back, after the login, to the page the request was made from.
            return Response(
                "", status_code=401, headers={"HX-Redirect": login_url(_page_of(request))}
            )
        target = login_url(
            request.url.path + (f"?{request.url.query}" if request.url.query else "")
        )
        return Redirect(target, status_code=303)
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status >= 500:
        log.exception("erreur non gérée", exc_info=exc)
    if request.htmx:
        # htmx swaps no error: static/app.js shows this sentence where the user acted.
        return Response(
            detail_of(exc, status),
            status_code=status,
            media_type="text/plain",
            headers={"HX-Reswap": "none"},
        )
    return Template(
        template_name="errors/error.html",
        context={
            "status": status,
            "title": TITLES.get(status, "Erreur"),
            "detail": detail_of(exc, status),
        },
        status_code=status,
        media_type="text/html",
    )
