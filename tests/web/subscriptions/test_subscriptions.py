"""AMAP contracts: subscribing to a fixed contract, the SOUSCRIPTIONS list, ending one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.tables import (
    Catalog,
    CatalogDistribution,
    Distribution,
    Membership,
    Order,
    OrderLine,
    Subscription,
)
from tests.helpers import login, make_distribution_world, make_user, post_form


async def fixed_world(admin: int) -> dict:
    """An AMAP whose catalog is a fixed contract delivering at three coming distributions."""
    world = await make_distribution_world(admin, kind="amap", products=2, name="AMAP Fixe")
    await Catalog.update({Catalog.kind: "fixed"}, force=True)
    first = await Distribution.select().where(Distribution.id == world["distribution"]).first()
    for week in (1, 2):
        row = (
            await Distribution.insert(
                Distribution(
                    group=world["group"]["id"],
                    place=first["place"],
                    starts_at=first["starts_at"] + timedelta(weeks=week),
                    ends_at=first["ends_at"] + timedelta(weeks=week),
                    orders_open_at=first["orders_open_at"],
                    orders_close_at=first["orders_close_at"] + timedelta(weeks=week),
                )
            ).returning(Distribution.id)
        )[0]
        await CatalogDistribution.insert(
            CatalogDistribution(catalog=world["catalog"], distribution=row["id"])
        )
    return world


async def test_member_subscribes_to_a_fixed_contract(client):
    admin = await make_user("admin@example.org")
    world = await fixed_world(admin)
    member = await make_user("vic@example.org")
    await Membership.insert(Membership(user=member, group=world["group"]["id"]))
    await login(client, "vic@example.org")
    slug = world["group"]["slug"]
    tab = await client.get(f"/g/{slug}/contrats")
    assert "Légumes" in tab.text and "Souscrire" in tab.text
    a, b = world["products"]
    response = await post_form(client, f"/g/{slug}/contrats/{world['catalog']}", {f"q{a}": "2"})
    assert "Votre souscription est enregistrée." in response.text
    orders = await Order.select().where(Order.user == member)
    assert len(orders) == 3
    assert all(o["state"] == "validated" and o["total_cents"] == 300 for o in orders)
    # Changing the basket changes every coming distribution.
    await post_form(client, f"/g/{slug}/contrats/{world['catalog']}", {f"q{a}": "1", f"q{b}": "1"})
    lines = await OrderLine.select().where(OrderLine.order.user == member)
    assert len(lines) == 6
    assert await Subscription.count() == 1


async def test_bad_basket_subscribes_nothing(client):
    admin = await make_user("admin@example.org")
    world = await fixed_world(admin)
    member = await make_user("wes@example.org")
    await Membership.insert(Membership(user=member, group=world["group"]["id"]))
    await login(client, "wes@example.org")
    a, b = world["products"]
    url = f"/g/{world['group']['slug']}/contrats/{world['catalog']}"
    response = await post_form(client, url, {f"q{a}": "0", f"q{b}": "0"})
    assert response.status_code == 422 and "Choisissez au moins un produit" in response.text
    response = await post_form(client, url, {f"q{a}": "-3"})
    assert response.status_code == 422 and "nombre entier positif" in response.text
    assert await Subscription.count() == 0 and await OrderLine.count() == 0


async def test_admin_lists_subscribes_and_ends_subscriptions(client):
    admin = await make_user("admin@example.org")
    world = await fixed_world(admin)
    member = await make_user("xia@example.org", first_name="Xia", last_name="Zhou")
    await Membership.insert(Membership(user=member, group=world["group"]["id"]))
    await login(client, "admin@example.org")
    url = f"/g/{world['group']['slug']}/catalogues/{world['catalog']}/souscriptions"
    a, _ = world["products"]
    response = await post_form(client, url, {"user_id": str(member), f"q{a}": "1"})
    assert "Xia Zhou" in response.text and "1 × Produit 000" in response.text
    assert "4,50\xa0€" in response.text  # three distributions × 1,50 €
    sub = await Subscription.select().first()
    await post_form(client, f"{url}/{sub['id']}/terminer")
    sub = await Subscription.select().first()
    assert sub["ended_at"] is not None
    assert await OrderLine.count() == 0  # coming distributions emptied


async def test_subscriptions_are_not_visible_to_members_or_other_groups(client):
    admin = await make_user("admin@example.org")
    world = await fixed_world(admin)
    member = await make_user("yan@example.org")
    await Membership.insert(Membership(user=member, group=world["group"]["id"]))
    other_admin = await make_user("zed@example.org")
    other = await make_distribution_world(other_admin, kind="amap", name="Autre AMAP")
    url = f"/g/{world['group']['slug']}/catalogues/{world['catalog']}/souscriptions"
    await login(client, "yan@example.org")
    assert (await client.get(url)).status_code == 403
    client.cookies.clear()
    await login(client, "zed@example.org")
    assert (await client.get(url)).status_code == 403
    # Their own group's URL with our catalog id: not found.
    crafted = f"/g/{other['group']['slug']}/catalogues/{world['catalog']}/souscriptions"
    assert (await client.get(crafted)).status_code == 404
    response = await post_form(client, crafted, {"user_id": str(member), "q1": "1"})
    assert response.status_code == 404
    assert await Subscription.count() == 0
    assert datetime.now(UTC)
