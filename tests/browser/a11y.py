"""What the accessibility tests share: the world (tests/browser/a11y_world.py), the app's GET
routes turned into URLs of that world, a logged-in context per role, and axe-core.

`ROUTES` says, for every GET route of the app's route table, which URL(s) of the world
open it, or why it is not a page to scan (a file, a fragment scanned after its htmx
action…). A route of the table missing from `ROUTES` fails the scan: a new page must be
scanned or excused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, expect

from domain.demo.people import PASSWORD
from tests.browser.a11y_world import EMAILS

ROLES = ("visitor", "member", "producer", "coordinator", "admin")
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
AXE = Axe()


@pytest.fixture(scope="session")
def a11y_world(server) -> dict:
    """Seeded once per server (its slugs and e-mails are fixed): each test module that
    imports this fixture has a session fixture of its own, so the world is kept in the
    server's folder and read back by the next ones."""
    kept = server.var_dir / "a11y-world.json"
    if not kept.exists():
        kept.write_text(json.dumps(server.seed(a11y=True)))
    return json.loads(kept.read_text())


def log_in(page: Page, email: str) -> None:
    page.goto("/connexion")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1, name="Mes groupes")).to_be_visible()


def role_context(browser: Browser, server, role: str, **options) -> BrowserContext:
    """A French context logged in as `role` of the world (`visitor`: nobody)."""
    options.setdefault("viewport", {"width": 375, "height": 740})
    context = browser.new_context(base_url=server.base_url, locale="fr-FR", **options)
    context.set_default_timeout(30_000)
    if role != "visitor":
        page = context.new_page()
        log_in(page, EMAILS[role])
        page.close()
    return context


def axe_violations(page: Page, context: str | dict | None = None) -> list[dict]:
    """The WCAG 2.0/2.1 A and AA violations axe-core finds on the page as it is now."""
    return AXE.run(page, context=context, options=AXE_OPTIONS).response["violations"]


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        targets = [", ".join(node["target"]) for node in v["nodes"][:4]]
        lines.append(f"  {v['id']} ({v['impact']}) : {v['help']} — {targets}")
    return "\n".join(lines)


def wait_for_htmx(page: Page) -> None:
    page.wait_for_function("() => window.htmx !== undefined")


# ---- the route table -----------------------------------------------------------------------

NOT_A_PAGE = "pas une page HTML : fichier téléchargé"
FRAGMENT = "fragment htmx : scanné dans sa page après l'action (test_pages_after_htmx_actions)"

# Routes that are not pages: why each one is not scanned.
EXCUSED: dict[str, str] = {
    "/compte/donnees/mes-donnees.zip": NOT_A_PAGE,
    "/favicon.ico": "icône",
    "/g/{slug:str}/calendrier.ics": NOT_A_PAGE + " (calendrier iCalendar)",
    "/g/{slug:str}/calendrier/{address:str}": NOT_A_PAGE + " (calendrier iCalendar)",
    "/g/{slug:str}/catalogues/{catalog_id:int}/commande-en-gros.csv": NOT_A_PAGE,
    "/g/{slug:str}/catalogues/{catalog_id:int}/commandes/{distribution_id:int}/adherents.csv": (
        NOT_A_PAGE
    ),
    "/g/{slug:str}/catalogues/{catalog_id:int}/commandes/{distribution_id:int}/produits.csv": (
        NOT_A_PAGE
    ),
    "/g/{slug:str}/catalogues/{catalog_id:int}/commandes/{distribution_id:int}"
    "/adherents/{order_id:int}": FRAGMENT,
    "/g/{slug:str}/catalogues/{catalog_id:int}/produits/export.csv": NOT_A_PAGE,
    "/g/{slug:str}/catalogues/{catalog_id:int}/produits/{product_id:int}/ligne": FRAGMENT,
    "/g/{slug:str}/catalogues/{catalog_id:int}/produits/{product_id:int}/ligne/{field:str}": (
        FRAGMENT
    ),
    "/g/{slug:str}/documents/{name:str}": NOT_A_PAGE + " (document d'un contrat)",
    "/g/{slug:str}/membres/export.csv": NOT_A_PAGE,
    "/g/{slug:str}/membres/import/modele.csv": NOT_A_PAGE,
    "/g/{slug:str}/membres/{user_id:int}/consentement/{consent_id:int}/piece": NOT_A_PAGE,
    "/g/{slug:str}/messagerie/destinataires": FRAGMENT,
    "/g/{slug:str}/commandes/{distribution_id:int}/rayons/{section:str}": FRAGMENT,
    "/g/{slug:str}/commandes/{distribution_id:int}/recherche": FRAGMENT,
    "/g/{slug:str}/paiements/export.csv": NOT_A_PAGE,
    "/espace-producteur/{producer_id:int}/produits/export.csv": NOT_A_PAGE,
    "/g/{slug:str}/paiements/producteurs.csv": NOT_A_PAGE,
    "/healthz": "sonde de santé (texte)",
    "/photos/{name:str}": NOT_A_PAGE + " (photo d'un produit)",
    "/producteur/{rest:path}": "redirection des anciens liens vers /producteur",
    "/static/{file_path:path}": "fichiers statiques",
}

# Several URLs for one route: the states of a page that look different.
VARIANTS: dict[str, Callable[[dict], list[str]]] = {
    "/g/{slug:str}/catalogues/{catalog_id:int}/commandes/{distribution_id:int}": lambda w: [
        f"/g/{w['amap']['slug']}/catalogues/{w['catalog']}/commandes/{w['distribution']}",
        f"/g/{w['amap']['slug']}/catalogues/{w['catalog']}/commandes/{w['distribution']}"
        "?vue=adherents",
    ],
    "/g/{slug:str}/commandes/{distribution_id:int}": lambda w: [
        f"/g/{w['amap']['slug']}/commandes/{w['distribution']}",
        # a large shop's: its sections, one of them open, a search
        f"/g/{w['market']['slug']}/commandes/{w['market']['distribution']}",
        f"/g/{w['market']['slug']}/commandes/{w['market']['distribution']}?section=c-fruits",
        f"/g/{w['market']['slug']}/commandes/{w['market']['distribution']}?q=produit+01",
        f"/g/{w['market']['slug']}/commandes/{w['market']['distribution']}?q=introuvable",
    ],
    "/g/{slug:str}/commandes": lambda w: [
        f"/g/{w['amap']['slug']}/commandes",
        f"/g/{w['market']['slug']}/commandes",
    ],
    "/g/{slug:str}": lambda w: [f"/g/{w['amap']['slug']}", f"/g/{w['market']['slug']}"],
}

# The value of a path parameter, by route where the default does not fit.
PER_ROUTE: dict[str, dict[str, Callable[[dict], object]]] = {
    "/g/{slug:str}/contrats/{catalog_id:int}": {"catalog_id": lambda w: w["contract"]},
    "/g/{slug:str}/contrats/{catalog_id:int}/absences": {"catalog_id": lambda w: w["contract"]},
    "/g/{slug:str}/contrats/{catalog_id:int}/partage": {"catalog_id": lambda w: w["contract"]},
    "/g/{slug:str}/distributions/{distribution_id:int}/valider": {
        "distribution_id": lambda w: w["past"]
    },
    "/g/{slug:str}/commandes/{distribution_id:int}/finaliser": {
        "slug": lambda w: w["market"]["slug"],
        "distribution_id": lambda w: w["market"]["distribution"],
    },
    "/g/{slug:str}/suivre": {"slug": lambda w: w["market"]["slug"]},
    # An admin orders for a person in Mode création (who cannot log in yet).
    "/g/{slug:str}/membres/{user_id:int}/commander": {"user_id": lambda w: w["held"]},
    "/g/{slug:str}/membres/{user_id:int}/commander/{distribution_id:int}": {
        "user_id": lambda w: w["held"]
    },
    "/adhesion/{token:str}/refuser": {"token": lambda w: w["links"]["adhesion"]},
    "/adhesion/{token:str}/rejoindre": {"token": lambda w: w["links"]["adhesion"]},
    "/compte/email/{token:str}": {"token": lambda w: w["links"]["email"]},
    "/compte/mot-de-passe/{token:str}": {"token": lambda w: w["links"]["reset"]},
    "/desabonnement/{token:str}": {"token": lambda w: w["links"]["unsubscribe"]},
    "/invitation/{token:str}": {"token": lambda w: w["links"]["invite"]},
    "/reprise/{token:str}": {"token": lambda w: w["links"]["takeover"]},
}

DEFAULTS: dict[str, Callable[[dict], object]] = {
    "slug": lambda w: w["amap"]["slug"],
    "catalog_id": lambda w: w["catalog"],
    "distribution_id": lambda w: w["distribution"],
    "product_id": lambda w: w["products"][0],
    "user_id": lambda w: w["users"]["member"],
    "place_id": lambda w: w["place"],
    "role_id": lambda w: w["role"],
    "vendor_id": lambda w: w["vendor"],
    "group_id": lambda w: w["market"]["id"],
    "order_id": lambda w: w["order"],
    "producer_id": lambda w: w["space"],
}


def get_routes() -> list[str]:
    """The path of every GET route the app declares (Litestar's own handlers left out)."""
    import app as application
    from tests.web.access.test_access import is_framework_handler, registered_handlers

    made = application.create_app(background=False)
    paths = set()
    for description, handler in registered_handlers(made):
        methods, path = description.split()[:2]
        if "GET" in methods.split(",") and not is_framework_handler(handler):
            paths.add(path)
    return sorted(paths)


def urls_of(route: str, world: dict) -> list[str]:
    if route in VARIANTS:
        return VARIANTS[route](world)
    own = PER_ROUTE.get(route, {})

    def value(match: re.Match) -> str:
        name = match.group(1)
        if name in own:
            return str(own[name](world))
        if name not in DEFAULTS:
            raise KeyError(f"aucune valeur pour {{{name}}} dans {route}")
        return str(DEFAULTS[name](world))

    return [re.sub(r"\{(\w+)(?::\w+)?\}", value, route)]
