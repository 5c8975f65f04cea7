"""Who may use what: every route declares a policy, and the policies hold for each role.

The expected answers are written out below, role by role: loosening (or tightening) a
policy in the code makes these tests fail.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from litestar import Litestar, get
from litestar.static_files import create_static_files_router

from domain import groups
from domain.demo import world as build
from domain.tables import Group, Membership
from tests.helpers import login, post_form
from web.access import Policy

# --- 1. Every registered route handler declares a known policy ------------------------------


def registered_handlers(app: Litestar) -> list[tuple[str, object]]:
    """(description, handler) for every handler of every route the app answers."""
    found: dict[int, tuple[str, object]] = {}
    for route in app.routes:
        candidates = list(getattr(route, "route_handlers", None) or [])
        for value in (getattr(route, "route_handler_map", None) or {}).values():
            candidates.append(value[0] if isinstance(value, tuple) else value)
        if getattr(route, "route_handler", None) is not None:
            candidates.append(route.route_handler)
        for handler in candidates:
            methods = ",".join(sorted(getattr(handler, "http_methods", None) or ["WS"]))
            name = getattr(handler, "handler_name", repr(handler))
            found.setdefault(id(handler), (f"{methods} {route.path} ({name})", handler))
    return sorted(found.values(), key=lambda item: item[0])


def is_framework_handler(handler) -> bool:
    """Made by Litestar itself, not declared by the app: the automatic OPTIONS answer of each
    path and the OpenAPI pages. (The static files router is declared by the app: not one.)"""
    module = getattr(handler.fn, "__module__", "")
    qualname = getattr(handler.fn, "__qualname__", "")
    return qualname.startswith("HTTPRoute.create_options_handler.") or module.startswith(
        ("litestar._openapi.", "litestar.openapi.")
    )


def policy_problem(handler) -> str | None:
    raw = handler.opt.get("policy")
    if raw is None:
        return "aucune policy"
    try:
        Policy(raw)
    except ValueError:
        return f"policy inconnue {raw!r}"
    return None


def policy_problems(app: Litestar) -> tuple[list[str], list[tuple[str, object]]]:
    """Handlers of the app with a missing or unknown policy, and framework handlers without one
    (those are only tolerated if the guard refuses them, which the caller checks)."""
    problems, framework_without_policy = [], []
    for description, handler in registered_handlers(app):
        problem = policy_problem(handler)
        if problem is None:
            continue
        if problem == "aucune policy" and is_framework_handler(handler):
            framework_without_policy.append((description, handler))
        else:
            problems.append(f"{description} : {problem}")
    return problems, framework_without_policy


def sample_url(path: str) -> str:
    """A URL the route matches: "/g/{slug:str}/commandes/{id:int}" -> "/g/exemple/commandes/1"."""
    return re.sub(
        r"\{\w+(:(\w+))?\}",
        lambda m: "1" if m.group(2) in ("int", "float", "decimal") else "exemple",
        path,
    )


async def test_every_route_handler_declares_a_known_policy(app, client):
    handlers = registered_handlers(app)
    paths = {description.split(" ")[1] for description, _ in handlers}
    # The walk does see the app's routes, the static files router and /healthz.
    assert {"/", "/g/{slug:str}/parametres", "/static/{file_path:path}", "/healthz"} <= paths
    problems, framework_without_policy = policy_problems(app)
    assert not problems, "routes sans policy valide :\n" + "\n".join(problems)
    # Litestar's own handlers (OPTIONS, OpenAPI) carry no policy: the guard must refuse them.
    for description, handler in framework_without_policy:
        path = description.split(" ")[1]
        for method in handler.http_methods:
            response = await client.request(method, sample_url(path), follow_redirects=False)
            assert response.status_code == 403, f"{description} n'est pas refusée"


def test_the_policy_check_sees_a_route_without_policy_or_with_an_unknown_one(tmp_path):
    """The check above is a real one: a new route without (or with a bad) policy is named."""

    @get("/sans-regle", sync_to_thread=False)
    def without_policy() -> str:
        return ""

    @get("/regle-inventee", opt={"policy": "superuser"}, sync_to_thread=False)
    def unknown_policy() -> str:
        return ""

    @get("/bonne-regle", opt={"policy": Policy.MEMBER}, sync_to_thread=False)
    def good_policy() -> str:
        return ""

    (tmp_path / "a.css").write_text("")
    app = Litestar(
        route_handlers=[
            without_policy,
            unknown_policy,
            good_policy,
            create_static_files_router(path="/static", directories=[tmp_path]),
        ]
    )
    problems, _ = policy_problems(app)
    text = "\n".join(problems)
    assert "/sans-regle (without_policy) : aucune policy" in text
    assert "/regle-inventee (unknown_policy) : policy inconnue 'superuser'" in text
    assert "/static/{file_path:path}" in text  # a router without opt=policy(...)
    assert "/bonne-regle" not in text


# --- 2. The access matrix ---------------------------------------------------------------------

ROLES = (
    "anonymous",  # not logged in
    "no_group",  # logged in, in no group
    "member_a",  # plain member of A
    "producer_a",  # linked to a vendor of A, not a member
    "coordinator_a",  # member of A, coordinates a catalog of A
    "messages_a",  # member of A with the messaging right
    "members_a",  # member of A with the member-management right
    "admin_a",  # admin of A
    "member_b",  # plain member of B
    "admin_b",  # admin of B
)

A_NAME = "AMAP des Alouettes"
A_DESCRIPTION = "Distribution confidentielle au lavoir de Saint-Ouen"
B_NAME = "Marché des Bleuets"
B_DESCRIPTION = "Marché du samedi sous la halle de Brioude"
SECRETS = {"a": (A_NAME, A_DESCRIPTION), "b": (B_NAME, B_DESCRIPTION)}

# Group A is an AMAP, B a market open to registration, where anyone (even without an
# account) may look at COMMANDES and fill a basket. "{a}"/"{b}": the group's slug.
# fmt: off
#                                 anon  nogrp memA  prodA coorA msgA  mbrsA admA  memB  admB
EXPECTED = {
    "GET /g/{a}":                  (200,  200,  200,  200,  200,  200,  200,  200,  200,  200),
    "GET /g/{a}/commandes":        (303,  403,  200,  403,  200,  200,  200,  200,  403,  403),
    "GET /g/{a}/contrats":         (303,  403,  200,  403,  200,  200,  200,  200,  403,  403),
    "GET /g/{a}/producteurs":      (303,  403,  200,  403,  200,  200,  200,  200,  403,  403),
    "GET /g/{a}/membres":          (303,  403,  403,  403,  403,  403,  200,  200,  403,  403),
    "GET /g/{a}/distributions":    (303,  403,  200,  403,  200,  200,  200,  200,  403,  403),
    "GET /g/{a}/catalogues":       (303,  403,  403,  200,  200,  403,  403,  200,  403,  403),
    "GET /g/{a}/messagerie":       (303,  403,  403,  403,  403,  200,  403,  200,  403,  403),
    "GET /g/{a}/parametres":       (303,  403,  403,  403,  403,  403,  403,  200,  403,  403),
    "GET /g/{a}/calendrier":       (303,  403,  200,  403,  200,  200,  200,  200,  403,  403),
    "GET /g/{a}/calendrier.ics":   (200,  200,  200,  200,  200,  200,  200,  200,  200,  200),
    "POST /g/{a}/parametres":      (303,  403,  403,  403,  403,  403,  403,  200,  403,  403),
    "GET /g/{b}":                  (200,  200,  200,  200,  200,  200,  200,  200,  200,  200),
    "GET /g/{b}/commandes":        (200,  200,  200,  200,  200,  200,  200,  200,  200,  200),
    "GET /g/{b}/contrats":         (303,  403,  403,  403,  403,  403,  403,  403,  404,  404),
    "GET /g/{b}/producteurs":      (303,  403,  403,  403,  403,  403,  403,  403,  200,  200),
    "GET /g/{b}/membres":          (303,  403,  403,  403,  403,  403,  403,  403,  403,  200),
    "GET /g/{b}/distributions":    (303,  403,  403,  403,  403,  403,  403,  403,  200,  200),
    "GET /g/{b}/catalogues":       (303,  403,  403,  403,  403,  403,  403,  403,  403,  200),
    "GET /g/{b}/messagerie":       (303,  403,  403,  403,  403,  403,  403,  403,  403,  200),
    "GET /g/{b}/parametres":       (303,  403,  403,  403,  403,  403,  403,  403,  403,  200),
    "POST /g/{b}/parametres":      (303,  403,  403,  403,  403,  403,  403,  403,  403,  200),
    "GET /compte":                 (303,  200,  200,  200,  200,  200,  200,  200,  200,  200),
    "GET /groupes/nouveau":        (303,  200,  200,  200,  200,  200,  200,  200,  200,  200),
}
# fmt: on


def test_expected_table_is_complete_and_names_routes_of_the_app(app):
    assert all(len(row) == len(ROLES) for row in EXPECTED.values())
    registered = {
        (method, description.split(" ")[1])
        for description, handler in registered_handlers(app)
        for method in handler.http_methods
    }
    for key in EXPECTED:
        method, template = key.split(" ")
        path = re.sub(r"\{[ab]\}", "{slug:str}", template)
        assert (method, path) in registered, f"{key} : route absente de l'application"


async def build_world() -> dict:
    """Two groups and one user per role (except anonymous)."""
    ids = {
        role: await build.person(f"{role}@example.org", role.title(), "Test") for role in ROLES[1:]
    }
    a = await build.group(ids["admin_a"], A_NAME, "amap", description=A_DESCRIPTION)
    b = await build.group(ids["admin_b"], B_NAME, "market", description=B_DESCRIPTION)
    await build.join(a["id"], [ids["member_a"], ids["coordinator_a"]])
    await build.join(a["id"], ids["messages_a"], can_messages=True)
    await build.join(a["id"], ids["members_a"], can_members=True)
    await build.join(b["id"], ids["member_b"])
    vendor = await build.producer(a["id"], "Ferme du Producteur A", user=ids["producer_a"])
    await build.catalog(a["id"], vendor, "Légumes", coordinator=ids["coordinator_a"])
    return {"ids": ids, "a": a, "b": b}


async def group_row(group_id: int) -> dict:
    return await Group.select().where(Group.id == group_id).first()


def settings_form(group: dict, name: str) -> dict:
    return {
        "name": name,
        "kind": group["kind"],
        "registration": "closed",
        "description": "Modifié",
    }


@pytest.mark.parametrize("role", ROLES)
async def test_access_matrix(client, role):
    world = await build_world()
    if role != "anonymous":
        await login(client, f"{role}@example.org")
    column = ROLES.index(role)
    mismatches: list[str] = []
    for key, row in EXPECTED.items():
        expected = row[column]
        method, template = key.split(" ")
        letter = "a" if "{a}" in template else "b" if "{b}" in template else None
        group = world[letter] if letter else None
        path = template.format(a=world["a"]["slug"], b=world["b"]["slug"])
        before = await group_row(group["id"]) if group else None
        if method == "POST":
            new_name = f"Changé par {role}"
            response = await post_form(
                client, path, settings_form(group, new_name), follow_redirects=False
            )
        else:
            response = await client.get(path, follow_redirects=False)
        got = response.status_code
        where = f"{key} en {role}"
        if got != expected:
            mismatches.append(f"{where} : {got} au lieu de {expected}")
            continue
        if expected == 303:
            if response.headers.get("location") != f"/connexion?next={quote(path, safe='/')}":
                mismatches.append(f"{where} : redirigé vers {response.headers.get('location')}")
        elif expected == 403 and "Accès refusé" not in response.text:
            mismatches.append(f"{where} : pas la page « Accès refusé »")
        elif expected == 200 and group:
            shown = new_name if method == "POST" else group["name"]
            if shown not in response.text:
                mismatches.append(f"{where} : la page ne montre pas le groupe")
        if expected != 200 and group:
            leaked = [s for s in SECRETS[letter] if s in response.text]
            if leaked:
                mismatches.append(f"{where} : la réponse montre {leaked}")
        if method == "POST":
            after = await group_row(group["id"])
            if expected == 200:
                if after["name"] != new_name:
                    mismatches.append(f"{where} : rien n'a été enregistré")
                await groups.update_settings(
                    group["id"],
                    name=before["name"],
                    kind=before["kind"],
                    registration=before["registration"],
                    description=before["description"],
                )
            elif after != before:
                mismatches.append(f"{where} : le groupe a changé : {before} -> {after}")
    assert not mismatches, "\n".join(mismatches)


async def test_admin_of_b_cannot_read_or_change_the_settings_of_a(client):
    world = await build_world()
    a = world["a"]
    before = await group_row(a["id"])
    await login(client, "admin_b@example.org")
    url = f"/g/{a['slug']}/parametres"
    for htmx in (False, True):
        response = await post_form(
            client,
            url,
            {"name": "Pris par B", "kind": "market", "registration": "closed", "description": "B"},
            htmx=htmx,
        )
        assert response.status_code == 403
        assert A_NAME not in response.text and A_DESCRIPTION not in response.text
    assert await group_row(a["id"]) == before
    assert not await Membership.exists().where(
        (Membership.group == a["id"]) & (Membership.user == world["ids"]["admin_b"])
    )
    page = await client.get(url)
    assert page.status_code == 403
    assert A_NAME not in page.text and 'value="' + A_NAME not in page.text
    # B's admin is a real admin, of B.
    assert (await client.get(f"/g/{world['b']['slug']}/parametres")).status_code == 200


async def test_group_of_another_instance_is_not_found_whatever_the_role(client):
    world = await build_world()
    await Group.update({Group.instance: "amap"}).where(Group.id == world["a"]["id"])
    await login(client, "admin_a@example.org")
    for tab in ("", "/commandes", "/parametres"):
        response = await client.get(f"/g/{world['a']['slug']}{tab}")
        assert response.status_code == 404, tab
        assert A_NAME not in response.text


async def test_unknown_group_is_404_even_for_anonymous(client):
    response = await client.get("/g/n-existe-pas/parametres", follow_redirects=False)
    assert response.status_code == 404
    assert "Page introuvable" in response.text


# --- 3. CSRF ----------------------------------------------------------------------------------


async def test_group_form_without_csrf_token_is_refused_and_changes_nothing(client):
    world = await build_world()
    a = world["a"]
    before = await group_row(a["id"])
    await login(client, "admin_a@example.org")
    url = f"/g/{a['slug']}/parametres"
    form = settings_form(a, "Sans jeton")
    response = await client.post(url, data=form)
    assert response.status_code == 403
    assert "Le formulaire a expiré" in response.text
    response = await client.post(url, data=form, headers={"x-csrftoken": "faux-jeton"})
    assert response.status_code == 403
    response = await client.post(url, data=form | {"_csrf_token": "faux-jeton"})
    assert response.status_code == 403
    assert await group_row(a["id"]) == before


async def test_group_form_with_the_htmx_csrf_header_is_accepted(client):
    world = await build_world()
    a = world["a"]
    await login(client, "admin_a@example.org")
    page = await client.get(f"/g/{a['slug']}/parametres")
    # The page gives htmx the token it sends back as a header on every request: bound to
    # the session, not the visitor's double-submit cookie.
    token = re.search(r'"x-csrftoken": "([^"]+)"', page.text).group(1)
    assert token != client.cookies.get("csrftoken")
    response = await client.post(
        f"/g/{a['slug']}/parametres",
        data=settings_form(a, "Avec en-tête"),
        headers={"x-csrftoken": token, "HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "Paramètres enregistrés." in response.text
    assert (await group_row(a["id"]))["name"] == "Avec en-tête"
