"""Who may use the COMMANDES pages of a catalog, its exports and print pages, COMMANDE EN GROS
and "Valider la distribution": every route of web/catalog_orders.py, role by role.

The expected answers are written out below: loosening (or tightening) an access rule in the
code makes these tests fail. A refused answer never shows a member's name or phone.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest

from domain import groups
from domain.demo import world as build
from domain.tables import (
    Distribution,
    Order,
    OrderLine,
)
from tests.helpers import login, post_form
from web import catalog_orders

ROLES = (
    "anonymous",  # not logged in
    "member",  # plain member of A
    "producer",  # linked to the vendor of the catalog (not a member)
    "producer_other",  # linked to the vendor of another catalog of A
    "coordinator",  # member of A, coordinates the catalog
    "coordinator_other",  # member of A, coordinates another catalog of A
    "admin",  # admin of A
    "admin_b",  # admin of another group
    "member_b",  # member of another group
)
SECRET_NAME = "Secretnom"
SECRET_PHONE = "06 12 34 56 78"

# "{c}": the catalog's URL (/g/<a>/catalogues/<id>), "{d}": its orders of the distribution,
# "{o}": the member's order, "{l}": one of its lines, "{v}": the validation page.
# GET of a member's rows and every POST are htmx requests (anonymous: 401 + HX-Redirect).
# fmt: off
#                                              anon mem  prod prodO coor coorO adm  admB memB
EXPECTED = {
    "GET {c}/commandes":                        (303, 403, 200, 403,  200, 403,  200, 403, 403),
    "GET {d}":                                  (303, 403, 200, 403,  200, 403,  200, 403, 403),
    "GET {d}?vue=adherents":                    (303, 403, 200, 403,  200, 403,  200, 403, 403),
    "GET {d}/produits.csv":                     (303, 403, 200, 403,  200, 403,  200, 403, 403),
    "GET {d}/adherents.csv":                    (303, 403, 200, 403,  200, 403,  200, 403, 403),
    "GET {d}/emargement":                       (303, 403, 200, 403,  200, 403,  200, 403, 403),
    "GET {d}/adherents/{o}?modifier=1":       (401, 403, 403, 403,  200, 403,  200, 403, 403),
    "POST {d}/lignes/{l}":                      (401, 403, 403, 403,  200, 403,  200, 403, 403),
    "POST {d}/adherents/{o}/lignes":            (401, 403, 403, 403,  200, 403,  200, 403, 403),
    "GET {c}/commande-en-gros":                 (303, 403, 200, 403,  200, 403,  200, 403, 403),
    "GET {c}/commande-en-gros.csv?distribution={dist}":
                                                (303, 403, 200, 403,  200, 403,  200, 403, 403),
    "GET {v}":                                  (303, 403, 403, 403,  403, 403,  200, 403, 403),
    "POST {v}":                                 (401, 403, 403, 403,  403, 403,  200, 403, 403),
}
# fmt: on
# Answers that show the member's orders (a 200 of the views by member, print and exports).
SHOWS_MEMBERS = {
    "GET {d}?vue=adherents",
    "GET {d}/adherents.csv",
    "GET {d}/emargement",
    "GET {d}/adherents/{o}?modifier=1",
    "GET {v}",
}


def refused_in_french(response) -> bool:
    """The « Accès refusé » page; for htmx, its sentence alone (static/app.js shows it)."""
    if response.headers.get("content-type", "").startswith("text/plain"):
        return response.headers.get("hx-reswap") == "none" and response.text in {
            "Vous ne gérez pas ce catalogue.",
            "Vous n'avez pas accès à cette page de ce groupe.",
        }
    return "Accès refusé" in response.text


async def build_world() -> dict:
    ids = {
        role: await build.person(f"{role}@example.org", role.title(), "Test") for role in ROLES[1:]
    }
    a = await build.group(ids["admin"], "AMAP des Alouettes", "amap")
    b = await build.group(ids["admin_b"], "Marché des Bleuets", "market")
    await build.join(a["id"], [ids[r] for r in ("member", "coordinator", "coordinator_other")])
    await build.join(b["id"], ids["member_b"])
    catalogs = {}
    for role, name in (("", "Légumes"), ("_other", "Fromages")):
        vendor = await build.producer(a["id"], f"Ferme {name}", user=ids[f"producer{role}"])
        catalogs[name] = await build.catalog(
            a["id"], vendor, name, coordinator=ids[f"coordinator{role}"]
        )
    place = await build.place(a["id"], "Lavoir")
    # Started an hour ago: it may be validated.
    dist_id = await build.past_distribution(
        a["id"], place, ago=timedelta(hours=1), catalogs=catalogs.values()
    )
    carrots, leeks = await build.products(
        catalogs["Légumes"], [("Carottes", 300), ("Poireaux", 250)]
    )
    buyer = await build.person("buyer@example.org", "Zéphyrin", SECRET_NAME, phone=SECRET_PHONE)
    await build.join(a["id"], buyer)
    order_id = await build.order(buyer, dist_id, {carrots: 2})  # 6,00 €
    line = await OrderLine.select(OrderLine.id).where(OrderLine.order == order_id)
    c = f"/g/{a['slug']}/catalogues/{catalogs['Légumes']}"
    return {
        "ids": ids,
        "c": c,
        "d": f"{c}/commandes/{dist_id}",
        "v": f"/g/{a['slug']}/distributions/{dist_id}/valider",
        "dist": dist_id,
        "o": order_id,
        "l": line[0]["id"],
        "leeks": leeks,
    }


def url_of(template: str, world: dict) -> str:
    return (
        template.replace("{c}", world["c"])
        .replace("{d}", world["d"])
        .replace("{v}", world["v"])
        .replace("{o}", str(world["o"]))
        .replace("{l}", str(world["l"]))
        .replace("{dist}", str(world["dist"]))
    )


def test_every_route_of_catalog_orders_is_in_the_table():
    """A new route of web/catalog_orders.py must be added above, with its answers per role."""
    routes = set()
    for handler in catalog_orders.handlers:
        for path in handler.paths:
            for method in handler.http_methods:
                routes.add((method, path))
    covered = set()
    for key in EXPECTED:
        method, template = key.split(" ")
        path = template.split("?")[0]
        path = (
            path.replace("{c}", "/g/{slug:str}/catalogues/{catalog_id:int}")
            .replace(
                "{d}", "/g/{slug:str}/catalogues/{catalog_id:int}/commandes/{distribution_id:int}"
            )
            .replace("{v}", "/g/{slug:str}/distributions/{distribution_id:int}/valider")
            .replace("{o}", "{order_id:int}")
            .replace("{l}", "{line_id:int}")
        )
        covered.add((method, path))
    assert routes == covered, (
        f"absentes du tableau : {routes - covered} ; en trop : {covered - routes}"
    )
    assert all(len(row) == len(ROLES) for row in EXPECTED.values())


async def state(world: dict) -> tuple:
    """What the POSTs may change: the line, the order's lines, the distribution."""
    lines = await OrderLine.select(OrderLine.product, OrderLine.quantity).where(
        OrderLine.order == world["o"]
    )
    order = (
        await Order.select(Order.absent, Order.total_cents).where(Order.id == world["o"]).first()
    )
    dist = (
        await Distribution.select(Distribution.validated_at)
        .where(Distribution.id == world["dist"])
        .first()
    )
    return sorted((x["product"], x["quantity"]) for x in lines), order, dist


async def reset(world: dict, before: tuple) -> None:
    await OrderLine.delete().where((OrderLine.order == world["o"]) & (OrderLine.id != world["l"]))
    await OrderLine.update({OrderLine.quantity: 2}).where(OrderLine.id == world["l"])
    await Order.update({Order.absent: False, Order.total_cents: 600}).where(Order.id == world["o"])
    await Distribution.update(
        {Distribution.validated_at: None, Distribution.validated_by: None}
    ).where(Distribution.id == world["dist"])
    assert await state(world) == before


POST_DATA = {
    "POST {d}/lignes/{l}": lambda w: {"quantite": "5"},
    "POST {d}/adherents/{o}/lignes": lambda w: {"produit": str(w["leeks"]), "quantite": "1"},
    "POST {v}": lambda w: {f"shown{w['o']}": "1", f"absent{w['o']}": "1", "action": "valider"},
}


@pytest.mark.parametrize("role", ROLES)
async def test_access_matrix(client, role):
    world = await build_world()
    if role != "anonymous":
        await login(client, f"{role}@example.org")
    column = ROLES.index(role)
    before = await state(world)
    mismatches: list[str] = []
    for key, row in EXPECTED.items():
        expected = row[column]
        method, template = key.split(" ")
        path = url_of(template, world)
        where = f"{key} en {role}"
        if method == "POST":
            response = await post_form(
                client, path, POST_DATA[key](world), htmx=True, follow_redirects=False
            )
        else:
            headers = {"HX-Request": "true"} if "/adherents/" in template else {}
            response = await client.get(path, headers=headers, follow_redirects=False)
        got = response.status_code
        if got != expected:
            mismatches.append(f"{where} : {got} au lieu de {expected}")
        elif expected == 303:
            if response.headers.get("location") != f"/connexion?next={quote(path, safe='/')}":
                mismatches.append(f"{where} : redirigé vers {response.headers.get('location')}")
        elif expected == 401 and not response.headers.get("hx-redirect", "").startswith(
            "/connexion?next="
        ):
            mismatches.append(f"{where} : pas renvoyé vers la connexion")
        elif expected == 403 and not refused_in_french(response):
            mismatches.append(f"{where} : pas la page « Accès refusé »")
        elif expected == 200 and key in SHOWS_MEMBERS:
            if SECRET_NAME not in response.text and SECRET_NAME.upper() not in response.text:
                mismatches.append(f"{where} : l'adhérent n'apparaît pas")
        if expected != 200:
            leaked = [
                s for s in (SECRET_NAME, SECRET_NAME.upper(), SECRET_PHONE) if s in response.text
            ]
            if leaked:
                mismatches.append(f"{where} : la réponse montre {leaked}")
        if method == "POST":
            after = await state(world)
            if expected == 200:
                if after == before:
                    mismatches.append(f"{where} : rien n'a été enregistré")
                await reset(world, before)
            elif after != before:
                mismatches.append(f"{where} : la commande a changé : {before} -> {after}")
    assert not mismatches, "\n".join(mismatches)


async def test_anonymous_plain_post_is_sent_to_log_in_and_changes_nothing(client):
    world = await build_world()
    before = await state(world)
    path = f"{world['d']}/lignes/{world['l']}"
    response = await post_form(client, path, {"quantite": "9"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/connexion?next=")
    assert await state(world) == before


async def test_admin_of_another_group_cannot_reach_them_even_by_its_own_slug(client):
    """B's admin, through B's slug, names A's catalog and date: not found, nothing shown."""
    world = await build_world()
    await login(client, "admin_b@example.org")
    b = await groups.groups_of(world["ids"]["admin_b"], "main")
    slug_b = b[0]["slug"]
    catalog_id = world["c"].rsplit("/", 1)[1]
    for path in (
        f"/g/{slug_b}/catalogues/{catalog_id}/commandes",
        f"/g/{slug_b}/catalogues/{catalog_id}/commandes/{world['dist']}/adherents.csv",
        f"/g/{slug_b}/catalogues/{catalog_id}/commandes/{world['dist']}/emargement",
        f"/g/{slug_b}/distributions/{world['dist']}/valider",
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert SECRET_NAME not in response.text and SECRET_NAME.upper() not in response.text
