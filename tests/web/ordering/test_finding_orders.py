"""What a new member looks for: Mes commandes reachable from everywhere, the way in to
order in every kind of group, the next opening when nothing is open, and words that read
as French."""

from __future__ import annotations

import html

from domain.demo import world as build
from domain.kernel.dates import label
from tests.helpers import login, make_distribution_world, make_group, make_user, post_form


def shown(response) -> str:
    return html.unescape(response.text)


async def member_of(group_id: int, email: str) -> int:
    user = await make_user(email)
    await build.join(group_id, [user])
    return user


async def test_mes_commandes_is_in_the_header_and_the_commandes_tab(client):
    admin = await make_user("admin@example.org")
    world = await make_distribution_world(admin, kind="amap")
    await member_of(world["group"]["id"], "ana@example.org")
    await login(client, "ana@example.org")
    for path in ("/", f"/g/{world['group']['slug']}/commandes", "/compte"):
        assert 'href="/commandes">Mes commandes</a>' in (await client.get(path)).text, path
    tab = await client.get(f"/g/{world['group']['slug']}/commandes")
    assert 'href="/commandes">Toutes mes commandes</a>' in tab.text
    assert (await client.get("/commandes")).status_code == 200


async def test_every_member_has_a_way_in_and_is_told_when_orders_open_next(client):
    admin = await make_user("admin@example.org")
    world = await make_distribution_world(
        admin, kind="amap", opens_in_hours=30, closes_in_hours=72, name="AMAP des Lilas"
    )
    await member_of(world["group"]["id"], "bob@example.org")
    await login(client, "bob@example.org")
    slug = world["group"]["slug"]
    home = await client.get(f"/g/{slug}")
    assert f'href="/g/{slug}/commandes">Commander</a>' in home.text
    tab = shown(await client.get(f"/g/{slug}/commandes"))
    assert "Aucune commande n'est ouverte en ce moment." in tab
    assert "Prochaine ouverture : " in tab and "Ferme du Test – Légumes" in tab


async def test_dates_read_in_lower_case_in_a_sentence(client):
    admin = await make_user("admin@example.org")
    world = await make_distribution_world(admin, kind="market")
    await login(client, "admin@example.org")
    tab = shown(await client.get(f"/g/{world['group']['slug']}/commandes"))
    from domain.tables import Distribution

    dist = await Distribution.select().where(Distribution.id == world["distribution"]).first()
    closes = label(dist["orders_close_at"])
    assert closes[0].islower() and f"commandes jusqu'au {closes}" in tab


async def test_a_validated_order_says_so_and_what_can_still_change(client):
    admin = await make_user("admin@example.org")
    world = await make_distribution_world(admin, kind="market", products=1)
    await member_of(world["group"]["id"], "cy@example.org")
    await login(client, "cy@example.org")
    [product] = world["products"]
    await post_form(client, world["url"], {f"q{product}": "1", "valider": "1"})
    page = shown(await client.get(world["url"]))
    assert "Votre commande est validée. Vous pouvez encore la modifier jusqu'au" in page
    assert "Valider ma commande" not in page and "Enregistrer mes changements" in page


async def test_a_market_calls_its_people_clients(client):
    admin = await make_user("admin@example.org")
    market = await make_group(admin, "Marché du Port", "market")
    amap = await make_group(admin, "AMAP des Lilas", "amap")
    await login(client, "admin@example.org")
    assert ">CLIENTS</a>" in (await client.get(f"/g/{market['slug']}")).text
    assert ">MEMBRES</a>" in (await client.get(f"/g/{amap['slug']}")).text


async def test_mes_communications_points_to_mes_marches_suivis(client):
    await make_user("dan@example.org")
    await login(client, "dan@example.org")
    page = await client.get("/compte/communications")
    assert 'quittez-le depuis <a href="/compte/marches">Mes marchés suivis</a>' in page.text


async def test_the_favicon_is_served(client):
    response = await client.get("/favicon.ico")
    assert response.status_code == 200 and response.headers["content-type"] == "image/x-icon"
    assert response.content[:4] == b"\x00\x00\x01\x00"


async def test_a_producer_without_membership_is_not_told_he_is_in_no_group(client):
    admin = await make_user("admin@example.org")
    group = await make_group(admin, "Marché du Port", "market")
    producer = await make_user("ferme@example.org")
    await build.producer(group["id"], "Ferme des Saules", user=producer)
    await login(client, "ferme@example.org")
    page = shown(await client.get("/"))
    assert "aucun groupe. Ouvrez" not in page and "Marché du Port" in page
