"""Who may use each page of the catalog menu ("Gérer"), written out role by role.

Every route of the menu (GET and POST) against: anonymous, a plain member, the producer of
this catalog, the producer of another catalog of the group, the coordinator of this catalog,
the coordinator of another catalog, an admin, an admin and a member of another group.
A refused POST changes nothing; a refused page shows nothing of the catalog.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from urllib.parse import quote

import pytest

from domain.catalogs import documents, product_files, products
from domain.demo import world as build
from domain.kernel.dates import paris_datetime
from domain.tables import Catalog, CatalogDistribution, CatalogDocument, Product
from tests.helpers import csrf_token, login, make_group, make_user, post_form
from web import catalogs as catalog_pages
from web import subscriptions as contract_pages

ROLES = (
    "anonymous",
    "member",  # plain member of the group
    "producer_this",  # linked to this catalog's producer, not a member
    "producer_other",  # linked to the producer of another catalog of the group
    "coordinator_this",  # member, coordinates this catalog
    "coordinator_other",  # member, coordinates another catalog of the group
    "admin",  # admin of the group
    "admin_other_group",  # admin of another group
    "member_other_group",  # member of another group
)
SECRETS = ("Ferme Secrète", "Légumes secrets", "Poireaux secrets", "contrat-secret.pdf")
PDF = b"%PDF-1.4\n%%EOF\n"

# fmt: off
#                anon mbr  prodT prodO coorT coorO admin admB  mbrB
READ =          (303, 403, 200,  403,  200,  403,  200,  403,  403)
EDIT_GET =      (303, 403, 403,  403,  200,  403,  200,  403,  403)
EDIT_POST =     (303, 403, 403,  403,  303,  403,  303,  403,  403)
EDIT_PREVIEW =  (303, 403, 403,  403,  200,  403,  200,  403,  403)
ADMIN_GET =     (303, 403, 403,  403,  403,  403,  200,  403,  403)
ADMIN_POST =    (303, 403, 403,  403,  403,  403,  303,  403,  403)
DOWNLOAD =      (303, 200, 200,  403,  200,  200,  200,  403,  403)
# fmt: on

C = "/g/{slug}/catalogues/{catalog}"
# (method, path, form, expected); run in this order for each role ("multipart": a file form).
ROUTES = [
    ("GET", C + "/gerer", None, READ),
    ("GET", C + "/produits", None, READ),
    ("GET", C + "/produits/export.csv", None, READ),
    ("GET", C + "/statistiques", None, READ),
    ("GET", C + "/souscriptions", None, READ),
    ("GET", "/g/{slug}/documents/{document}.pdf", None, DOWNLOAD),
    ("GET", C, None, ADMIN_GET),
    ("POST", C, "catalog", ADMIN_POST),
    ("GET", C + "/produits/{product}/ligne", None, EDIT_GET),
    ("GET", C + "/produits/{product}/ligne/price", None, EDIT_GET),
    ("POST", C + "/produits/{product}/ligne", "cell", EDIT_POST),
    ("POST", C + "/produits/actifs", "bulk", EDIT_POST),
    ("GET", C + "/produits/import", None, EDIT_GET),
    ("POST", C + "/produits/import", "csv", EDIT_PREVIEW),
    ("POST", C + "/produits/import/confirmer", "token", EDIT_POST),
    ("GET", C + "/produits/nouveau", None, EDIT_GET),
    ("POST", C + "/produits/nouveau", "product", EDIT_POST),
    ("GET", C + "/produits/{product}", None, EDIT_GET),
    ("POST", C + "/produits/{product}", "product", EDIT_POST),
    ("GET", C + "/distributions", None, EDIT_GET),
    ("POST", C + "/distributions", "add", EDIT_POST),
    ("POST", C + "/distributions/{delivered}/dates", "window", EDIT_POST),
    ("POST", C + "/distributions/{added}/retirer", None, EDIT_POST),
    ("GET", C + "/documents", None, EDIT_GET),
    ("POST", C + "/documents", "pdf", EDIT_POST),
    ("POST", C + "/documents/{document}/supprimer", None, EDIT_POST),
]


async def add_user(role: str) -> int:
    return await make_user(f"{role}@example.org", role.title(), "Test")


async def build_world() -> dict:
    ids = {role: await add_user(role) for role in ROLES[1:]}
    group = await make_group(ids["admin"], "AMAP des Alouettes")
    other_group = await make_group(ids["admin_other_group"], "Marché des Bleuets", "market")
    await build.join(
        group["id"], [ids[r] for r in ("member", "coordinator_this", "coordinator_other")]
    )
    await build.join(other_group["id"], ids["member_other_group"])
    mine_vendor = await build.producer(group["id"], "Ferme Secrète", user=ids["producer_this"])
    other_vendor = await build.producer(group["id"], "Fromagerie", user=ids["producer_other"])
    period = build.season(before=0, after=180)
    mine = await build.catalog(
        group["id"], mine_vendor, "Légumes secrets", coordinator=ids["coordinator_this"], **period
    )
    await build.catalog(
        group["id"], other_vendor, "Fromages", coordinator=ids["coordinator_other"], **period
    )
    place = await build.place(group["id"], "Lavoir")
    day = date.today() + timedelta(days=10)  # 19:00 to 20:00, and the week after
    delivered, added = await build.distributions(
        group["id"],
        place,
        [paris_datetime(day + timedelta(weeks=n), time(19)) for n in range(2)],
        hours=1,
    )
    await build.deliver(mine, [delivered])
    product = await build.product(mine, "Poireaux secrets", 200, unit="kg", reference="P1")
    doc = await documents.save_document(
        mine,
        filename="contrat-secret.pdf",
        content_type="application/pdf",
        data=PDF,
        visibility="members",
        user_id=ids["admin"],
    )
    return {
        "ids": ids,
        "group": group,
        "other_group": other_group,
        "vendor": mine_vendor,
        "catalog": mine,
        "product": product,
        "delivered": delivered,
        "added": added,
        "document": doc["id"],
    }


def forms(w: dict, secret: str) -> dict:
    product = {
        "name": "Navets",
        "unit": "kg",
        "price": "3",
        "vat_rate": "550",
        "stock": "",
        "max_per_order": "",
        "reference": "",
        "active": "1",
    }
    item = {
        "line": 2,
        "product_id": None,
        "fields": {k: v for k, v in product.items() if k != "active"},
        "active": True,
    }
    return {
        "catalog": {
            "name": "Renommé",
            "vendor_id": str(w["vendor"]),
            "kind": "variable",
            "starts_on": date.today().isoformat(),
            "ends_on": (date.today() + timedelta(days=180)).isoformat(),
            "distribution_ids": [str(w["delivered"])],
        },
        "cell": {"field": "price", "value": "4,00"},
        "bulk": {"action": "desactiver", "ids": [str(w["product"])]},
        "csv": ("file", ("p.csv", b"nom;prix\nNavets;3\n", "text/csv")),
        "token": {"token": product_files.sign_preview([item], secret, w["catalog"])},
        "product": product,
        "add": {"distribution_id": str(w["added"])},
        "window": {"opens": "", "closes": ""},
        "pdf": ("file", ("autre.pdf", PDF, "application/pdf")),
    }


async def snapshot() -> list:
    return [
        await Catalog.select().order_by(Catalog.id),
        await Product.select(*products.PRODUCT_COLUMNS).order_by(Product.id),
        await CatalogDistribution.select().order_by(CatalogDistribution.id),
        await CatalogDocument.select(*documents.LIST_COLUMNS).order_by(CatalogDocument.id),
    ]


async def send(client, method: str, path: str, form_key: str | None, all_forms: dict):
    if method == "GET":
        return await client.get(path, follow_redirects=False)
    data = all_forms.get(form_key) if form_key else None
    if isinstance(data, tuple):  # a multipart form with one file
        name, file = data
        extra = {"visibility": "members"} if form_key == "pdf" else {}
        payload = extra | {"_csrf_token": await csrf_token(client)}
        return await client.post(path, data=payload, files={name: file}, follow_redirects=False)
    if form_key == "product":  # the product form is multipart too
        payload = data | {"_csrf_token": await csrf_token(client)}
        return await client.post(path, data=payload, files={}, follow_redirects=False)
    return await post_form(client, path, data or {}, follow_redirects=False)


def test_the_table_names_every_route_of_the_menu(app):
    """Each route of web/catalogs.py's menu (and SOUSCRIPTIONS, MODIFIER, the download) is in
    ROUTES: a new route without a row here fails."""
    outside = {"catalogs_page", "new_catalog_page", "create_catalog", "product_photo"}
    handlers = [h for h in catalog_pages.handlers if h.handler_name not in outside]
    handlers.append(contract_pages.subscriptions_page)
    declared = set()
    for handler in handlers:
        for path in handler.paths:
            for method in handler.http_methods:
                declared.add((method, path))
    listed = set()
    for method, path, _, expected in ROUTES:
        assert len(expected) == len(ROLES)
        template = (
            path.replace("{slug}", "{slug:str}")
            .replace("{catalog}", "{catalog_id:int}")
            .replace("{product}", "{product_id:int}")
            .replace("{delivered}", "{distribution_id:int}")
            .replace("{added}", "{distribution_id:int}")
            .replace("/documents/{document}.pdf", "/documents/{name:str}")
            .replace("{document}", "{document_id:int}")
            .replace("/ligne/price", "/ligne/{field:str}")
        )
        listed.add((method, template))
    assert declared == listed, (declared - listed, listed - declared)


@pytest.mark.parametrize("role", ROLES)
async def test_catalog_menu_access(client, settings, role):
    w = await build_world()
    all_forms = forms(w, settings.secret_key)
    if role != "anonymous":
        await login(client, f"{role}@example.org")
    column = ROLES.index(role)
    values = {
        "slug": w["group"]["slug"],
        "catalog": w["catalog"],
        "product": w["product"],
        "delivered": w["delivered"],
        "added": w["added"],
        "document": w["document"],
    }
    problems = []
    for method, template, form_key, expected_row in ROUTES:
        expected = expected_row[column]
        path = template.format(**values)
        where = f"{method} {path} en {role}"
        before = await snapshot() if method == "POST" else None
        response = await send(client, method, path, form_key, all_forms)
        got = response.status_code
        if got != expected:
            problems.append(f"{where} : {got} au lieu de {expected}")
            continue
        if expected == 303 and role == "anonymous":
            if response.headers["location"] != f"/connexion?next={quote(path, safe='/')}":
                problems.append(f"{where} : redirigé vers {response.headers['location']}")
        if expected in (403, 404) or role == "anonymous":
            leaked = [s for s in SECRETS if s in response.text]
            if leaked:
                problems.append(f"{where} : la réponse montre {leaked}")
            if method == "POST" and await snapshot() != before:
                problems.append(f"{where} : refusé, mais quelque chose a changé")
        if expected == 403 and "Accès refusé" not in response.text:
            problems.append(f"{where} : pas la page « Accès refusé »")
    assert not problems, "\n".join(problems)


async def test_admin_of_another_group_gets_nothing_through_their_own_group_url(client, settings):
    """Group A's catalog, product, distributions and document under group B's slug: 404."""
    w = await build_world()
    all_forms = forms(w, settings.secret_key)
    await login(client, "admin_other_group@example.org")
    values = {
        "slug": w["other_group"]["slug"],
        "catalog": w["catalog"],
        "product": w["product"],
        "delivered": w["delivered"],
        "added": w["added"],
        "document": w["document"],
    }
    before = await snapshot()
    for method, template, form_key, _ in ROUTES:
        path = template.format(**values)
        response = await send(client, method, path, form_key, all_forms)
        assert response.status_code == 404, f"{method} {path}: {response.status_code}"
        assert not [s for s in SECRETS if s in response.text], path
    assert await snapshot() == before
