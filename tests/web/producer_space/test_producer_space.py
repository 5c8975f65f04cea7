"""The producer space (`/producteur`): a producer's sales across the groups of the main
instance; on the AMAP instance (no producer space) the seed's way through the group
interface instead, with the producer's groups."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from litestar.testing import AsyncTestClient

from domain.demo import world as build
from domain.kernel import clock
from domain.tables import (
    Group,
    Membership,
)
from tests.helpers import QueryCounter, login, make_group, make_user
from web import routing

AMAP = "http://amap.localhost"


@pytest.fixture(autouse=True)
def fresh_moves():
    routing.MOVES.reset()
    yield
    routing.MOVES.reset()


@pytest.fixture
async def amap_client(app):
    return AsyncTestClient(app=app, base_url=AMAP)


def now() -> datetime:
    return clock.now()


async def add_group_selling(
    admin: int, producer: int | None, name: str, *, days: list[int], kind: str = "amap"
) -> dict:
    """A group where `producer` sells one catalog delivered at distributions `days` from
    now (negative: past), and where another producer sells too."""
    group = await make_group(admin, name, kind)
    place = await build.place(group["id"], "MGDD")
    vendors = {
        "mine": await build.producer(group["id"], f"Ferme de {name}", user=producer),
        "other": await build.producer(group["id"], "Autre ferme"),
    }
    catalogs = {
        key: await build.catalog(group["id"], vendor, f"Catalogue {key} {name}")
        for key, vendor in vendors.items()
    }
    products = {
        key: await build.product(catalog, f"Produit {key}", 250)
        for key, catalog in catalogs.items()
    }
    distributions = await build.distributions(
        group["id"],
        place,
        [now() + timedelta(days=day) for day in days],
        catalogs=catalogs.values(),
    )
    return {
        "group": group,
        "catalog": catalogs["mine"],
        "other_catalog": catalogs["other"],
        "product": products["mine"],
        "other_product": products["other"],
        "distributions": distributions,
    }


async def world() -> dict:
    admin = await make_user("admin@example.org", "Anne", "Admin")
    producer = await make_user("ferme@example.org", "Paul", "Producteur")
    members = [await make_user(f"m{i}@example.org", f"M{i}", "Membre") for i in range(2)]
    a = await add_group_selling(admin, producer, "Martign'AMAP", days=[-14, -7, 7, 14])
    b = await add_group_selling(admin, producer, "Marché du Port", days=[3], kind="market")
    # Sales at A's last past distribution: two validated orders of the producer's product,
    # a draft (not counted), and the other producer's line (not counted).
    past, coming = a["distributions"][1], a["distributions"][2]
    await build.order(members[0], past, {a["product"]: 2, a["other_product"]: 5})
    await build.order(members[1], past, {a["product"]: 1})
    await build.order(admin, past, {a["product"]: 9}, state="draft")
    await build.order(members[0], coming, {a["product"]: 4})
    await build.order(members[1], b["distributions"][0], {b["product"]: 3})
    return {"admin": admin, "producer": producer, "members": members, "a": a, "b": b}


async def add_groups(w: dict, groups: int, members: int) -> None:
    """More groups where the producer sells, with orders of several members."""
    for i in range(groups):
        extra = await add_group_selling(w["admin"], w["producer"], f"Groupe {i}", days=[-3, 5, 12])
        for j in range(members):
            member = await make_user(f"x{i}-{j}@example.org", "X", "Membre")
            for dist in extra["distributions"]:
                await build.order(member, dist, {extra["product"]: 1, extra["other_product"]: 1})


async def test_producer_sees_sales_per_group_catalog_and_distribution(client):
    w = await world()
    await login(client, "ferme@example.org")
    page = await client.get("/producteur")
    assert page.status_code == 200
    text = page.text
    a, b = w["a"], w["b"]
    # Per distribution: orders and sales, linked to the group's COMMANDES of that date.
    past, coming = a["distributions"][1], a["distributions"][2]
    slug = a["group"]["slug"]
    assert f'href="/g/{slug}/catalogues/{a["catalog"]}/commandes/{past}"' in text
    assert f'href="/g/{slug}/catalogues/{a["catalog"]}/commandes/{coming}"' in text
    b_link = f"/g/{b['group']['slug']}/catalogues/{b['catalog']}/commandes/{b['distributions'][0]}"
    assert f'href="{b_link}"' in text
    assert "2 commandes · 7,50\u00a0€" in text  # 2 + 1 at 2,50 €; the draft is not counted
    assert "1 commande · 10,00\u00a0€" in text  # the coming one
    assert "1 commande · 7,50\u00a0€" in text  # group B
    # The Ventes summary: 8 weeks back (7,50 €), coming (10,00 € + 7,50 €).
    assert "<h2>Ventes</h2>" in text
    assert "2 · 7,50\u00a0€" in text and "2 · 17,50\u00a0€" in text
    assert "0 commande · 0,00\u00a0€" in text  # a date without orders is listed too
    # Never another producer's catalog or sales.
    assert "Catalogue other" not in text and "12,50" not in text
    assert "Catalogue mine Martign&#39;AMAP" in text or "Catalogue mine Martign'AMAP" in text


async def test_the_page_costs_the_same_queries_whatever_the_number_of_groups(client):
    w = await world()
    await login(client, "ferme@example.org")
    await client.get("/producteur")
    with QueryCounter() as small:
        assert (await client.get("/producteur")).status_code == 200
    await add_groups(w, groups=4, members=3)
    with QueryCounter() as big:
        page = await client.get("/producteur")
    assert page.status_code == 200 and "Groupe 3" in page.text
    assert "3 commandes · 7,50\u00a0€" in page.text  # 3 members × 1 line at 2,50 €
    assert big.count == small.count, (small.count, big.count)


async def test_someone_who_sells_nowhere_is_told_so(client):
    await make_user("client@example.org")
    await login(client, "client@example.org")
    page = await client.get("/producteur")
    assert page.status_code == 200
    assert "Votre compte n'est lié à aucun producteur" in page.text


async def test_anonymous_visitor_logs_in_first_where_the_space_exists(client):
    response = await client.get("/producteur", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/connexion?next=/producteur"
    # Old deep links land on the one page of the space.
    response = await client.get("/producteur/ventes/2023", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/producteur")


async def test_without_producer_space_the_group_interface_path_is_explained(amap_client):
    w = await world()
    # A moved to the AMAP instance (during its redirection); B stays on the main one.
    await Group.update(
        {
            Group.instance: "amap",
            Group.previous_instance: "main",
            Group.migrated_at: now() - timedelta(days=1),
            Group.redirect_until: now() + timedelta(days=30),
        }
    ).where(Group.id == w["a"]["group"]["id"])
    for url in ("/producteur", "/producteur/ventes", "/producteur/commandes/12?x=1"):
        anonymous = await AsyncTestClient(app=amap_client.app, base_url=AMAP).get(url)
        assert anonymous.status_code == 404, url
        assert "ne sont pas disponibles sur ce site" in anonymous.text
        assert "/connexion?next=/producteur" in anonymous.text
    await login(amap_client, "ferme@example.org")
    for url in ("/producteur", "/producteur/ventes/2023"):
        page = await amap_client.get(url)
        assert page.status_code == 404
        text = page.text
        # The seed's words and path.
        assert "Les fonctionnalités de l'espace producteur ne sont pas disponibles sur ce site" in (
            text
        )
        assert "Allez sur l'onglet <strong>Catalogues</strong>" in text
        assert "« Gérer »" in text and "« Commandes »" in text
        # The producer's groups, each straight to its CATALOGUES, on the host that serves it.
        assert f'href="/g/{w["a"]["group"]["slug"]}/catalogues"' in text
        assert f'href="http://localhost/g/{w["b"]["group"]["slug"]}/catalogues"' in text
        assert "Vos groupes sur d&#39;autres sites" in text or "autres sites" in text
        # No sales figures here.
        assert "7,50" not in text


async def test_home_links_the_producer_space_only_where_it_exists(client, amap_client):
    w = await world()
    await Group.update(
        {
            Group.instance: "amap",
            Group.previous_instance: "main",
            Group.migrated_at: now() - timedelta(days=1),
            Group.redirect_until: now() + timedelta(days=30),
        }
    ).where(Group.id == w["a"]["group"]["id"])
    await login(client, "ferme@example.org")
    home = await client.get("/")
    assert 'href="/producteur"' in home.text
    assert f'href="/g/{w["b"]["group"]["slug"]}/catalogues"' in home.text
    await login(amap_client, "ferme@example.org")
    home = await amap_client.get("/")
    assert 'href="/producteur"' not in home.text
    assert f'href="/g/{w["a"]["group"]["slug"]}/catalogues"' in home.text
    assert w["b"]["group"]["slug"] not in home.text  # served by the other site
    # A member who sells nothing sees no producer section.
    await Membership.insert(Membership(user=w["members"][0], group=w["b"]["group"]["id"]))
    member = AsyncTestClient(app=client.app, base_url="http://localhost")
    await login(member, "m0@example.org")
    home = await member.get("/")
    assert "Espace producteur" not in home.text and "Producteur</h2>" not in home.text


async def test_main_space_points_to_groups_moved_away(client):
    w = await world()
    await Group.update(
        {
            Group.instance: "amap",
            Group.previous_instance: "main",
            Group.migrated_at: now() - timedelta(days=1),
            Group.redirect_until: now() + timedelta(days=30),
        }
    ).where(Group.id == w["a"]["group"]["id"])
    await login(client, "ferme@example.org")
    text = (await client.get("/producteur")).text
    # A's sales are no longer here; its link goes to the new site's CATALOGUES.
    assert f'href="{AMAP}/g/{w["a"]["group"]["slug"]}/catalogues"' in text
    assert "Camap" in text
    assert f"/g/{w['a']['group']['slug']}/catalogues/{w['a']['catalog']}/commandes/" not in text
    assert f"/g/{w['b']['group']['slug']}/catalogues/{w['b']['catalog']}/commandes/" in text


async def test_the_producer_home_shows_a_group_that_moved_away_with_its_new_address(client):
    """A group where the producer sells, moved to the AMAP site: not dropped from their home,
    shown with where it is now; and no « aucun groupe » above the producer's groups."""
    w = await world()
    await Group.update(
        {
            Group.instance: "amap",
            Group.previous_instance: "main",
            Group.migrated_at: now() - timedelta(days=1),
            Group.redirect_until: now() + timedelta(days=30),
        }
    ).where(Group.id == w["a"]["group"]["id"])
    routing.MOVES.invalidate()
    await login(client, "ferme@example.org")
    page = await client.get("/")
    text = page.text
    assert "Marché du Port" in text  # still served here
    slug = w["a"]["group"]["slug"]
    assert f'href="{AMAP}/g/{slug}/catalogues"' in text and "est sur Camap" in text
    assert "aucun groupe. Ouvrez" not in text
