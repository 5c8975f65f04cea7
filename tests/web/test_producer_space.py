"""The producer space (`/producteur`): a producer's sales across the groups of the main
instance; on the AMAP instance (no producer space) the seed's way through the group
interface instead, with the producer's groups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from litestar.testing import AsyncTestClient

from domain.tables import (
    Catalog,
    CatalogDistribution,
    Distribution,
    Group,
    Membership,
    Order,
    OrderLine,
    Place,
    Product,
    Vendor,
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
    return datetime.now(UTC)


async def add_group_selling(
    admin: int, producer: int | None, name: str, *, days: list[int], kind: str = "amap"
) -> dict:
    """A group where `producer` sells one catalog delivered at distributions `days` from
    now (negative: past), and where another producer sells too."""
    group = await make_group(admin, name, kind)
    place = (await Place.insert(Place(group=group["id"], name="MGDD")).returning(Place.id))[0]
    mine = await Vendor.insert(
        Vendor(group=group["id"], name=f"Ferme de {name}", user=producer)
    ).returning(Vendor.id)
    other = await Vendor.insert(Vendor(group=group["id"], name="Autre ferme")).returning(Vendor.id)
    catalogs = {}
    for key, vendor in (("mine", mine[0]["id"]), ("other", other[0]["id"])):
        catalogs[key] = (
            await Catalog.insert(
                Catalog(group=group["id"], vendor=vendor, name=f"Catalogue {key} {name}")
            ).returning(Catalog.id)
        )[0]["id"]
    products = {
        key: (
            await Product.insert(
                Product(catalog=catalog, name=f"Produit {key}", price_cents=250)
            ).returning(Product.id)
        )[0]["id"]
        for key, catalog in catalogs.items()
    }
    distributions = []
    for day in days:
        starts = now() + timedelta(days=day)
        dist = (
            await Distribution.insert(
                Distribution(
                    group=group["id"],
                    place=place["id"],
                    starts_at=starts,
                    ends_at=starts + timedelta(hours=2),
                    orders_open_at=starts - timedelta(days=7),
                    orders_close_at=starts - timedelta(days=1),
                )
            ).returning(Distribution.id)
        )[0]["id"]
        for catalog in catalogs.values():
            await CatalogDistribution.insert(
                CatalogDistribution(catalog=catalog, distribution=dist)
            )
        distributions.append(dist)
    return {
        "group": group,
        "catalog": catalogs["mine"],
        "other_catalog": catalogs["other"],
        "product": products["mine"],
        "other_product": products["other"],
        "distributions": distributions,
    }


async def order(user: int, distribution: int, lines: dict[int, int], state="validated") -> None:
    row = await Order.insert(Order(user=user, distribution=distribution, state=state)).returning(
        Order.id
    )
    for product, quantity in lines.items():
        await OrderLine.insert(
            OrderLine(order=row[0]["id"], product=product, quantity=quantity, unit_price_cents=250)
        )


async def world() -> dict:
    admin = await make_user("admin@example.org", "Anne", "Admin")
    producer = await make_user("ferme@example.org", "Paul", "Producteur")
    members = [await make_user(f"m{i}@example.org", f"M{i}", "Membre") for i in range(2)]
    a = await add_group_selling(admin, producer, "Martign'AMAP", days=[-14, -7, 7, 14])
    b = await add_group_selling(admin, producer, "Marché du Port", days=[3], kind="market")
    # Sales at A's last past distribution: two validated orders of the producer's product,
    # a draft (not counted), and the other producer's line (not counted).
    past, coming = a["distributions"][1], a["distributions"][2]
    await order(members[0], past, {a["product"]: 2, a["other_product"]: 5})
    await order(members[1], past, {a["product"]: 1})
    await order(admin, past, {a["product"]: 9}, state="draft")
    await order(members[0], coming, {a["product"]: 4})
    await order(members[1], b["distributions"][0], {b["product"]: 3})
    return {"admin": admin, "producer": producer, "members": members, "a": a, "b": b}


async def add_groups(w: dict, groups: int, members: int) -> None:
    """More groups where the producer sells, with orders of several members."""
    for i in range(groups):
        extra = await add_group_selling(w["admin"], w["producer"], f"Groupe {i}", days=[-3, 5, 12])
        for j in range(members):
            member = await make_user(f"x{i}-{j}@example.org", "X", "Membre")
            for dist in extra["distributions"]:
                await order(member, dist, {extra["product"]: 1, extra["other_product"]: 1})


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
