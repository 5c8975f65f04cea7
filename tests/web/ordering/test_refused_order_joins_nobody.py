"""A visitor of an open market becomes a member with an order that is accepted, in its
transaction: a refused or not found order leaves no membership, no welcome mail."""

from __future__ import annotations

from domain.tables import Distribution, Membership, Order, OutboxMail
from tests.helpers import login, make_distribution_world, make_user, post_form


async def joined(user_id: int, group_id: int) -> bool:
    return await Membership.exists().where(
        (Membership.user == user_id) & (Membership.group == group_id)
    )


async def mails_to(user_id: int) -> list[str]:
    """The mails of the market to the person (not their account's welcome, at sign-up)."""
    rows = (
        await OutboxMail.select(OutboxMail.kind)
        .where((OutboxMail.user == user_id) & (OutboxMail.key != f"welcome:{user_id}"))
        .order_by(OutboxMail.id)
    )
    return [row["kind"] for row in rows]


async def visitor_of_a_market():
    admin = await make_user("admin@example.org")
    market = await make_distribution_world(admin, products=2, stock=3)
    other = await make_distribution_world(admin, products=1, name="Autre Marché")
    visitor = await make_user("visiteur@example.org", "Vic")
    return market, other, visitor


async def test_a_refused_or_not_found_order_makes_no_member(client):
    market, other, visitor = await visitor_of_a_market()
    group = market["group"]["id"]
    await login(client, "visiteur@example.org")
    a, _ = market["products"]
    refused = [
        # Another market's product at this date, then this product at another market's date.
        (f"{market['url']}/ligne/{other['products'][0]}", {"q": "1"}, 404),
        (f"{market['url'].rsplit('/', 1)[0]}/{other['distribution']}/ligne/{a}", {"q": "1"}, 404),
        (f"{market['url']}/ligne/{a}", {"q": "4"}, 200),  # more than the stock: said at the line
        (f"{market['url']}/ligne/{a}", {"q": "deux"}, 200),
        (market["url"], {f"q{a}": "4", "valider": "1"}, 422),  # the whole basket refused
        (market["url"], {"valider": "1"}, 422),  # an empty basket
    ]
    for url, data, status in refused:
        response = await post_form(client, url, data, htmx=True)
        assert response.status_code == status, (url, response.status_code)
        assert not await joined(visitor, group), url
        assert await mails_to(visitor) == [], url
    # Orders closed meanwhile: still refused, still no member.
    await Distribution.update({Distribution.orders_close_at: Distribution.orders_open_at}).where(
        Distribution.id == market["distribution"]
    )
    response = await post_form(client, market["url"], {f"q{a}": "1", "valider": "1"})
    assert response.status_code == 422
    assert not await joined(visitor, group) and await Order.count() == 0


async def test_an_accepted_order_makes_the_visitor_a_member_once(client, mailbox):
    market, _, visitor = await visitor_of_a_market()
    group = market["group"]["id"]
    await login(client, "visiteur@example.org")
    a, b = market["products"]
    response = await post_form(client, f"{market['url']}/ligne/{a}", {"q": "1"}, htmx=True)
    assert response.status_code == 200 and 'id="total"' in response.text
    assert await joined(visitor, group)
    response = await post_form(client, market["url"], {f"q{b}": "1", "valider": "1"})
    assert "Votre commande est validée" in response.text
    assert await mails_to(visitor) == ["welcome", "order_recap"]  # welcomed once
    await mailbox.wait_for("visiteur@example.org", subject="Bienvenue dans Marché Test")
