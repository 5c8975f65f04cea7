"""Members ordering: the basket through htmx and without JavaScript, the server's rules,
stock races, double submissions, guests of an open market, Mes commandes."""

from __future__ import annotations

import asyncio

from domain.demo import world as build
from domain.ordering import changes
from domain.tables import Membership, Order, OrderLine, OutboxMail, Product, RequestKey
from tests.helpers import (
    PASSWORD,
    login,
    make_distribution_world,
    make_group,
    make_user,
    post_form,
)


async def member_of(world: dict, email: str) -> int:
    user_id = await make_user(email)
    await build.join(world["group"]["id"], user_id)
    return user_id


async def line_of(user_id: int, product_id: int) -> int:
    row = (
        await OrderLine.select(OrderLine.quantity)
        .where((OrderLine.order.user == user_id) & (OrderLine.product == product_id))
        .first()
    )
    return row["quantity"] if row else 0


async def test_member_orders_with_htmx_and_validates(client):
    admin = await make_user("admin@example.org")
    world = await make_distribution_world(admin, products=3, stock=10)
    member = await member_of(world, "mia@example.org")
    await login(client, "mia@example.org")
    tab = await client.get(f"/g/{world['group']['slug']}/commandes")
    assert "Ferme du Test – Légumes" in tab.text and world["url"] in tab.text
    page = await client.get(world["url"])
    assert page.status_code == 200
    assert "Produit 000" in page.text and "reste 10" in page.text
    first = world["products"][0]
    response = await post_form(
        client, f"{world['url']}/ligne/{first}", {"q": "2", "k": "key-1"}, htmx=True
    )
    assert response.status_code == 200
    assert "<html" not in response.text
    assert len(response.content) < 2048, len(response.content)
    assert f'id="p{first}"' in response.text
    assert 'id="total" hx-swap-oob="innerHTML"' in response.text
    assert "3,00\xa0€" in response.text  # 2 × 1,50 €
    assert "reste 8" in response.text
    assert await line_of(member, first) == 2
    # Validate: the order is validated and one recap mail is queued for after the burst.
    response = await post_form(client, world["url"], {"key": "v-1", "valider": "1"})
    assert "Votre commande est validée" in response.text
    order = await Order.select().where(Order.user == member).first()
    assert order["state"] == "validated" and order["total_cents"] == 300
    recaps = await OutboxMail.select().where(OutboxMail.kind == "order_recap")
    assert len(recaps) == 1 and recaps[0]["send_after"] is not None
    assert "2 × Produit 000" in recaps[0]["body_text"]
    # A change within the grouping delay rewrites the same pending recap.
    await post_form(client, f"{world['url']}/ligne/{first}", {"q": "3", "k": "key-2"}, htmx=True)
    recaps = await OutboxMail.select().where(OutboxMail.kind == "order_recap")
    assert len(recaps) == 1 and "3 × Produit 000" in recaps[0]["body_text"]


async def test_orders_closed_or_not_open_are_refused(client):
    admin = await make_user("admin@example.org")
    closed = await make_distribution_world(admin, opens_in_hours=-48, closes_in_hours=-1)
    nils = await member_of(closed, "nils@example.org")
    await login(client, "nils@example.org")
    page = await client.get(closed["url"])
    assert "Les commandes sont fermées" in page.text
    assert "Valider ma commande" not in page.text
    response = await post_form(
        client, f"{closed['url']}/ligne/{closed['products'][0]}", {"q": "1"}, htmx=True
    )
    assert "Les commandes sont fermées pour cette distribution." in response.text
    assert await OrderLine.count() == 0
    later = await make_distribution_world(admin, opens_in_hours=5, name="Marché Futur")
    await Membership.insert(Membership(user=nils, group=later["group"]["id"]))
    response = await post_form(client, later["url"], {f"q{later['products'][0]}": "1"})
    assert "pas encore ouvertes" in response.text
    assert await OrderLine.count() == 0


async def test_bad_quantities_change_nothing(client):
    admin = await make_user("admin@example.org")
    world = await make_distribution_world(admin, products=2)
    await Product.update({Product.max_per_order: 3}, force=True)
    member = await member_of(world, "olga@example.org")
    await login(client, "olga@example.org")
    a, b = world["products"]
    for value, message in (
        ("-1", "nombre entier positif ou zéro"),
        ("1.5", "nombre entier positif ou zéro"),
        ("abc", "nombre entier positif ou zéro"),
        ("4", "Maximum 3 par commande"),
    ):
        response = await post_form(client, f"{world['url']}/ligne/{a}", {"q": value}, htmx=True)
        assert message in response.text, value
    # The whole form: one bad line and nothing at all is saved.
    response = await post_form(client, world["url"], {f"q{a}": "2", f"q{b}": "9", "key": "x"})
    assert response.status_code == 422
    assert "Maximum 3 par commande" in response.text
    assert await line_of(member, a) == 0
    # A product of another group's catalog cannot be ordered here.
    other = await make_distribution_world(admin, name="Autre Marché")
    response = await post_form(
        client, f"{world['url']}/ligne/{other['products'][0]}", {"q": "1"}, htmx=True
    )
    assert response.status_code == 404
    assert await OrderLine.count() == 0


async def test_double_submission_is_applied_once(client):
    admin = await make_user("admin@example.org")
    world = await make_distribution_world(admin, products=1, stock=10)
    member = await member_of(world, "paz@example.org")
    await login(client, "paz@example.org")
    [product] = world["products"]
    await post_form(client, world["url"], {f"q{product}": "2", "key": "form-A"})
    await post_form(client, world["url"], {f"q{product}": "5", "key": "form-B"})
    # The first form retried by the network after the second: ignored.
    await post_form(client, world["url"], {f"q{product}": "2", "key": "form-A"})
    assert await line_of(member, product) == 5
    assert (await Product.select(Product.stock).first())["stock"] == 5
    # A double tap on "Valider ma commande" is one validation and one recap.
    for _ in range(2):
        await post_form(client, world["url"], {f"q{product}": "5", "key": "v", "valider": "1"})
    assert await OutboxMail.count().where(OutboxMail.kind == "order_recap") == 1
    assert await RequestKey.count() == 3


async def test_racing_members_never_oversell(app, settings):
    """20 members each want 1 of the last 5: exactly 5 are sold, the rest are told why."""
    from litestar.testing import AsyncTestClient

    admin = await make_user("admin@example.org")
    world = await make_distribution_world(admin, products=1, stock=5)
    [product] = world["products"]
    clients = []
    for i in range(20):
        await member_of(world, f"m{i}@example.org")
        c = AsyncTestClient(app=app, base_url="http://localhost")
        await login(c, f"m{i}@example.org")
        clients.append(c)

    async def buy(c, i):
        return await post_form(
            c, f"{world['url']}/ligne/{product}", {"q": "1", "k": f"race-{i}"}, htmx=True
        )

    responses = await asyncio.gather(*[buy(c, i) for i, c in enumerate(clients)])
    sold = await OrderLine.select(OrderLine.quantity).where(OrderLine.product == product)
    assert sum(line["quantity"] for line in sold) == 5
    assert (await Product.select(Product.stock).first())["stock"] == 0
    refused = [r for r in responses if "Épuisé : il n&#39;en reste plus." in r.text]
    assert len(refused) == 15


async def test_stock_race_on_a_larger_quantity_reports_what_is_left(client):
    admin = await make_user("admin@example.org")
    world = await make_distribution_world(admin, products=1, stock=3)
    await member_of(world, "quy@example.org")
    await login(client, "quy@example.org")
    [product] = world["products"]
    response = await post_form(
        client, f"{world['url']}/ligne/{product}", {"q": "5", "k": "a"}, htmx=True
    )
    assert "Plus que 3 disponibles." in response.text
    response = await post_form(
        client, f"{world['url']}/ligne/{product}", {"q": "3", "k": "b"}, htmx=True
    )
    assert "épuisé" in response.text
    # Lowering the quantity gives the stock back.
    await post_form(client, f"{world['url']}/ligne/{product}", {"q": "1", "k": "c"}, htmx=True)
    assert (await Product.select(Product.stock).first())["stock"] == 2


async def test_order_without_javascript(client):
    admin = await make_user("admin@example.org")
    world = await make_distribution_world(admin, products=2)
    member = await member_of(world, "rui@example.org")
    await login(client, "rui@example.org")
    a, b = world["products"]
    # "+" without JavaScript submits the form with set=product:quantity.
    response = await post_form(client, world["url"], {f"q{a}": "0", f"q{b}": "1", "set": f"{a}:1"})
    assert response.status_code == 200
    assert await line_of(member, a) == 1 and await line_of(member, b) == 1
    response = await post_form(
        client, world["url"], {f"q{a}": "1", f"q{b}": "2", "key": "nojs", "valider": "1"}
    )
    assert "Votre commande est validée" in response.text
    order = await Order.select().where(Order.user == member).first()
    assert order["state"] == "validated" and order["total_cents"] == 150 + 2 * 151


async def test_guest_orders_in_open_market_and_registers_at_the_end(client, mailbox):
    admin = await make_user("admin@example.org")
    world = await make_distribution_world(admin, products=2, stock=4)
    a, _ = world["products"]
    home = await client.get(f"/g/{world['group']['slug']}")
    assert "Faire mes courses" in home.text and "Suivre ce marché" in home.text
    page = await client.get(world["url"])
    assert page.status_code == 200 and "Vous commandez sans compte" in page.text
    response = await post_form(client, f"{world['url']}/ligne/{a}", {"q": "2"}, htmx=True)
    assert "3,00\xa0€" in response.text
    assert await OrderLine.count() == 0  # only in the visitor's session
    response = await post_form(client, world["url"], {f"q{a}": "2", "valider": "1"})
    assert "créez votre compte ou connectez-vous" in response.text
    finish = f"{world['url']}/finaliser"
    response = await post_form(
        client,
        "/inscription",
        {
            "email": "guest@example.org",
            "password": PASSWORD,
            "first_name": "Gus",
            "last_name": "Test",
            "next": finish,
        },
    )
    assert "Votre commande est validée" in response.text
    order = await Order.select().where(Order.user.email == "guest@example.org").first()
    assert order["state"] == "validated" and order["total_cents"] == 300
    assert await Membership.exists().where(
        (Membership.user == order["user"]) & (Membership.group == world["group"]["id"])
    )
    assert (await Product.select(Product.stock).where(Product.id == a).first())["stock"] == 2
    await mailbox.wait_for("guest@example.org", subject="Bienvenue sur")
    await mailbox.wait_for("guest@example.org", subject="Bienvenue dans Marché Test")


async def test_follow_an_open_market(client, mailbox):
    admin = await make_user("admin@example.org")
    world = await make_distribution_world(admin)
    user = await make_user("fan@example.org")
    await login(client, "fan@example.org")
    response = await post_form(client, f"/g/{world['group']['slug']}/suivre")
    assert "Vous suivez maintenant Marché Test" in response.text
    assert await Membership.exists().where(
        (Membership.user == user) & (Membership.group == world["group"]["id"])
    )
    await mailbox.wait_for("fan@example.org", subject="Bienvenue dans Marché Test")


async def test_non_members_of_amap_or_closed_market_cannot_order(client):
    admin = await make_user("admin@example.org")
    amap = await make_distribution_world(admin, kind="amap", name="AMAP Test")
    response = await client.get(amap["url"], follow_redirects=False)
    assert response.status_code == 303 and "/connexion" in response.headers["location"]
    outsider = await make_user("out@example.org")
    await login(client, "out@example.org")
    assert (await client.get(amap["url"])).status_code == 403
    response = await post_form(
        client, f"{amap['url']}/ligne/{amap['products'][0]}", {"q": "1"}, htmx=True
    )
    assert response.status_code == 403
    assert await OrderLine.count() == 0
    # A member of one group cannot order at another group's distribution by changing the slug.
    mine = await make_group(admin, "Autre AMAP")
    await Membership.insert(Membership(user=outsider, group=mine["id"]))
    wrong = f"/g/{mine['slug']}/commandes/{amap['distribution']}"
    assert (await client.get(wrong)).status_code in (403, 404)


async def test_amap_variable_contract_order_subscribes_the_member(client):
    from domain.tables import Subscription

    admin = await make_user("admin@example.org")
    world = await make_distribution_world(admin, kind="amap", name="AMAP Var")
    member = await member_of(world, "sub@example.org")
    await login(client, "sub@example.org")
    await post_form(
        client, f"{world['url']}/ligne/{world['products'][0]}", {"q": "1", "k": "s"}, htmx=True
    )
    assert await Subscription.exists().where(
        (Subscription.user == member) & (Subscription.catalog == world["catalog"])
    )


async def test_my_orders_lists_orders_across_groups(client):
    admin = await make_user("admin@example.org")
    one = await make_distribution_world(admin, name="Marché Un")
    two = await make_distribution_world(admin, name="Marché Deux")
    member = await member_of(one, "tom@example.org")
    await Membership.insert(Membership(user=member, group=two["group"]["id"]))
    await login(client, "tom@example.org")
    for world in (one, two):
        await post_form(
            client, world["url"], {f"q{world['products'][0]}": "1", "key": world["url"]}
        )
    page = await client.get("/commandes")
    assert "Marché Un" in page.text and "Marché Deux" in page.text
    assert page.text.count("1,50\xa0€") == 2


async def test_abandoned_baskets_give_stock_back_after_close(client):
    from datetime import UTC, datetime, timedelta

    from domain.tables import Distribution

    admin = await make_user("admin@example.org")
    world = await make_distribution_world(admin, products=1, stock=5)
    await member_of(world, "uma@example.org")
    await login(client, "uma@example.org")
    [product] = world["products"]
    await post_form(client, f"{world['url']}/ligne/{product}", {"q": "2", "k": "u"}, htmx=True)
    assert (await Product.select(Product.stock).first())["stock"] == 3
    await Distribution.update(
        {Distribution.orders_close_at: datetime.now(UTC) - timedelta(minutes=1)}, force=True
    )
    assert await changes.release_abandoned_baskets() == 1
    assert (await Product.select(Product.stock).first())["stock"] == 5
    assert await Order.count() == 0


async def test_ordering_page_queries_do_not_grow_with_products(client):
    from tests.helpers import QueryCounter

    admin = await make_user("admin@example.org")
    counts = {}
    for n in (20, 60):  # a small shop's page, every line (a larger one: test_ordering_costs.py)
        world = await make_distribution_world(admin, products=n, stock=50, name=f"Marché {n}")
        user = await member_of(world, f"q{n}@example.org")
        client.cookies.clear()
        await login(client, f"q{n}@example.org")
        await post_form(
            client, f"{world['url']}/ligne/{world['products'][0]}", {"q": "1"}, htmx=True
        )
        with QueryCounter() as counter:
            page = await client.get(world["url"])
        assert page.text.count('<li id="p') == n
        counts[n] = counter.count
        assert await line_of(user, world["products"][0]) == 1  # the page counted had a basket
    assert counts[20] == counts[60] <= 10, counts


async def test_recap_mail_groups_a_burst_of_changes_into_one_mail(client, mailbox, monkeypatch):
    from datetime import timedelta

    from domain.ordering import recap
    from domain.tables import OutboxMail
    from tests.stack import text_of, wait_until

    monkeypatch.setattr(recap, "RECAP_GROUPING", timedelta(seconds=2))
    admin = await make_user("admin@example.org")
    world = await make_distribution_world(admin, products=2)
    await member_of(world, "vera@example.org")
    await login(client, "vera@example.org")
    a, b = world["products"]
    await post_form(client, world["url"], {f"q{a}": "1", "key": "r1", "valider": "1"})
    await post_form(client, f"{world['url']}/ligne/{b}", {"q": "2", "k": "r2"}, htmx=True)
    await post_form(client, f"{world['url']}/ligne/{a}", {"q": "3", "k": "r3"}, htmx=True)
    [mail] = await mailbox.wait_for("vera@example.org", subject="Votre commande du")
    body = text_of(mail)
    assert "3 × Produit 000" in body and "2 × Produit 001" in body
    assert "Halle" in body and "Total : 7,52\xa0€" in body

    # One row for the whole burst (rewritten twice), not one mail waiting per change.
    async def states():
        rows = await OutboxMail.select(OutboxMail.state).where(OutboxMail.kind == "order_recap")
        return [row["state"] for row in rows] if all(r["state"] == "sent" for r in rows) else []

    assert await wait_until(states, what="récapitulatif envoyé") == ["sent"]
    assert len(mailbox.to("vera@example.org", "Votre commande du")) == 1


async def test_guest_basket_follows_the_same_rules_and_keeps_nothing_on_a_bad_line(client):
    admin = await make_user("admin@example.org")
    world = await make_distribution_world(admin, products=2, stock=3)
    a, b = world["products"]
    response = await post_form(client, f"{world['url']}/ligne/{a}", {"q": "4"}, htmx=True)
    assert "Plus que 3 disponibles." in response.text
    response = await post_form(client, world["url"], {f"q{a}": "2", f"q{b}": "x"})
    assert response.status_code == 422
    assert "nombre entier positif ou zéro" in response.text
    page = await client.get(world["url"])
    assert f'name="q{a}" value="0"' in page.text
    assert "Total : <strong>0,00\xa0€" in page.text
