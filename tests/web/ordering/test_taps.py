"""The + / − of the ordering page: each tap is a relative change (delta=±1) with a key made
by static/app.js when it is sent, so taps queued while one is in flight add up and a
replayed tap counts once. A typed quantity and the page without JavaScript still send
absolute quantities; the page itself carries one key (its form's), none per line."""

from __future__ import annotations

import asyncio
import re

from litestar.testing import AsyncTestClient

from domain.demo import world as build
from domain.tables import OrderLine, OutboxMail, Product, RequestKey, WebSession
from tests.helpers import csrf_token, login, make_distribution_world, make_user, post_form


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


async def stock_of(product_id: int) -> int | None:
    return (await Product.select(Product.stock).where(Product.id == product_id).first())["stock"]


def is_refusal(text: str) -> bool:
    """Stock refused: fewer left than asked, or none."""
    return "Plus que" in text or "Épuisé : il n&#39;en reste plus." in text


def tap(client, world: dict, product_id: int, delta: int, key: str | None):
    data = {"delta": str(delta)}
    if key is not None:
        data["k"] = key
    return post_form(client, f"{world['url']}/ligne/{product_id}", data, htmx=True)


def shown_quantity(response, product_id: int) -> int:
    return int(re.search(rf'name="q{product_id}" value="([0-9]+)"', response.text).group(1))


async def a_member_at(client, stock: int | None = 10, products: int = 1, **options):
    admin = await make_user("admin@example.org")
    world = await make_distribution_world(admin, products=products, stock=stock, **options)
    member = await member_of(world, "tap@example.org")
    await login(client, "tap@example.org")
    return world, member


async def test_two_taps_with_different_keys_add_two(client):
    world, member = await a_member_at(client)
    [product] = world["products"]
    first = await tap(client, world, product, +1, "tap-1")
    assert first.status_code == 200 and shown_quantity(first, product) == 1
    second = await tap(client, world, product, +1, "tap-2")
    assert shown_quantity(second, product) == 2
    assert "reste 8" in second.text and "3,00\xa0€" in second.text
    assert await line_of(member, product) == 2 and await stock_of(product) == 8
    minus = await tap(client, world, product, -1, "tap-3")
    assert shown_quantity(minus, product) == 1
    assert await line_of(member, product) == 1 and await stock_of(product) == 9


async def test_a_replayed_tap_counts_once(client):
    world, member = await a_member_at(client)
    [product] = world["products"]
    for _ in range(3):  # the network sends the same tap again
        response = await tap(client, world, product, +1, "same-tap")
        assert response.status_code == 200 and shown_quantity(response, product) == 1
    assert await line_of(member, product) == 1 and await stock_of(product) == 9
    await tap(client, world, product, +1, "other-tap")
    for _ in range(2):
        await tap(client, world, product, -1, "minus-tap")
    assert await line_of(member, product) == 1 and await stock_of(product) == 9
    assert await RequestKey.count() == 3


async def test_minus_at_zero_is_a_no_op_and_plus_over_stock_is_refused_at_the_line(client):
    world, member = await a_member_at(client, stock=2, products=2)
    a, b = world["products"]
    response = await tap(client, world, a, -1, "m0")
    assert response.status_code == 200 and shown_quantity(response, a) == 0
    assert 'role="alert"' not in response.text
    assert await line_of(member, a) == 0 and await stock_of(a) == 2
    for key in ("p1", "p2"):
        await tap(client, world, a, +1, key)
    refused = await tap(client, world, a, +1, "p3")
    assert refused.status_code == 200
    assert f'id="p{a}"' in refused.text
    assert "Plus que 2 disponibles." in refused.text and shown_quantity(refused, a) == 2
    assert await line_of(member, a) == 2 and await stock_of(a) == 0
    # The maximum per order holds for taps too.
    await Product.update({Product.max_per_order: 1}).where(Product.id == b)
    await tap(client, world, b, +1, "b1")
    refused = await tap(client, world, b, +1, "b2")
    assert "Maximum 1 par commande pour ce produit." in refused.text
    assert await line_of(member, b) == 1
    # A delta that is no whole number is refused in French; nothing changes.
    for bad in ("un", "1.5", "99999999999"):
        response = await post_form(
            client, f"{world['url']}/ligne/{b}", {"delta": bad, "k": f"bad-{bad}"}, htmx=True
        )
        assert 'role="alert"' in response.text, bad
    assert await line_of(member, b) == 1


async def test_taps_of_a_validated_order_rewrite_one_recap(client):
    world, member = await a_member_at(client, products=2)
    a, b = world["products"]
    await post_form(client, world["url"], {f"q{a}": "1", "key": "v", "valider": "1"})
    for n in range(3):
        await tap(client, world, b, +1, f"r{n}")
    await tap(client, world, b, -1, "r-minus")
    [recap] = await OutboxMail.select().where(OutboxMail.kind == "order_recap")
    assert "2 × Produit 001" in recap["body_text"] and "1 × Produit 000" in recap["body_text"]


async def test_concurrent_taps_never_oversell_and_add_up_exactly(app):
    """Taps sent at once (a queue flushing, two members): every accepted tap is one more,
    the stock never goes below zero, a tap sent twice at once counts once."""
    admin = await make_user("admin@example.org")
    world = await make_distribution_world(admin, products=1, stock=7)
    [product] = world["products"]
    clients, members = [], []
    for name in ("ana", "bob"):
        members.append(await member_of(world, f"{name}@example.org"))
        c = AsyncTestClient(app=app, base_url="http://localhost")
        await login(c, f"{name}@example.org")
        clients.append(c)

    # Each member taps + 5 times with distinct keys, and sends one of them 3 times more.
    sends = [(c, f"{i}-{n}") for i, c in enumerate(clients) for n in range(5)]
    sends += [(c, f"{i}-0") for i, c in enumerate(clients) for _ in range(3)]
    responses = await asyncio.gather(*[tap(c, world, product, +1, key) for c, key in sends])
    assert all(r.status_code == 200 for r in responses), [r.status_code for r in responses]
    refused = sum(is_refusal(r.text) for r in responses)
    lines = [await line_of(m, product) for m in members]
    assert sum(lines) == 7 and await stock_of(product) == 0, lines
    assert refused == 10 - 7, refused  # the replays are neither taps nor refusals
    # A member's line is exactly their accepted taps.
    for i in range(len(members)):
        accepted = {
            key
            for (c, key), r in zip(sends, responses, strict=True)
            if c is clients[i] and not is_refusal(r.text)
        }
        assert lines[i] == len(accepted), (lines, accepted)
    # Taking back at once gives every unit back, and never goes below zero.
    minus = [(c, f"m{i}-{n}") for i, c in enumerate(clients) for n in range(6)]
    await asyncio.gather(*[tap(c, world, product, -1, key) for c, key in minus])
    assert [await line_of(m, product) for m in members] == [0, 0]
    assert await stock_of(product) == 7


async def test_typed_quantity_is_still_absolute(client):
    world, member = await a_member_at(client)
    [product] = world["products"]
    url = f"{world['url']}/ligne/{product}"
    # The field sends its own name and value, with a key of its request.
    response = await post_form(client, url, {f"q{product}": "4", "k": "typed-1"}, htmx=True)
    assert shown_quantity(response, product) == 4
    await post_form(client, url, {f"q{product}": "4", "k": "typed-2"}, htmx=True)
    assert await line_of(member, product) == 4 and await stock_of(product) == 6
    await tap(client, world, product, +1, "after-typed")
    response = await post_form(client, url, {f"q{product}": "2", "k": "typed-3"}, htmx=True)
    assert shown_quantity(response, product) == 2
    assert await line_of(member, product) == 2 and await stock_of(product) == 8


async def test_form_without_javascript_still_sends_absolute_quantities(client):
    world, member = await a_member_at(client, products=2)
    a, b = world["products"]
    page = await client.get(world["url"])
    key = re.search(r'name="key" value="([^"]+)"', page.text).group(1)
    response = await post_form(
        client, world["url"], {f"q{a}": "0", f"q{b}": "3", "set": f"{a}:1", "key": key}
    )
    assert response.status_code == 200
    assert await line_of(member, a) == 1 and await line_of(member, b) == 3
    # The same form sent again (the page's key): applied once, even after a tap.
    await tap(client, world, a, +1, "between")
    await post_form(client, world["url"], {f"q{a}": "0", f"q{b}": "3", "set": f"{a}:1", "key": key})
    assert await line_of(member, a) == 2 and await line_of(member, b) == 3


async def test_the_page_carries_one_key_and_none_per_line(client):
    world, _ = await a_member_at(client, products=20)
    first, second = await client.get(world["url"]), await client.get(world["url"])
    assert first.text.count('name="key"') == 1
    assert '"k"' not in first.text and 'hx-vals=\'{"q"' not in first.text
    assert first.text.count('"delta":1') == 20 and first.text.count('"delta":-1') == 20

    # Two renders differ by the form's key only: nothing random is left per line.
    def without_key(text: str) -> str:
        return re.sub(r'name="key" value="[^"]+"', "", text)

    assert without_key(first.text) == without_key(second.text)
    assert first.text != second.text


async def test_a_guest_taps_add_up_and_a_replay_counts_once(client):
    admin = await make_user("admin@example.org")
    world = await make_distribution_world(admin, products=1, stock=3)
    [product] = world["products"]
    for key in ("g1", "g2", "g2"):
        response = await tap(client, world, product, +1, key)
    assert shown_quantity(response, product) == 2
    response = await tap(client, world, product, +1, "g3")
    response = await tap(client, world, product, +1, "g4")
    assert "Plus que 3 disponibles." in response.text and shown_quantity(response, product) == 3
    response = await tap(client, world, product, -1, "g5")
    assert shown_quantity(response, product) == 2
    page = await client.get(world["url"])
    assert f'name="q{product}" value="2"' in page.text
    assert await OrderLine.count() == 0  # a visitor's basket is in their session


async def test_an_expired_session_sends_a_tap_to_the_login_and_back(client):
    world, member = await a_member_at(client)
    [product] = world["products"]
    await tap(client, world, product, +1, "before")
    token = await csrf_token(client)  # the page's token, bound to the session
    await WebSession.delete(force=True)  # the session expired, or was ended elsewhere
    response = await client.post(
        f"{world['url']}/ligne/{product}",
        data={"delta": "1", "k": "after", "_csrf_token": token},
        headers={"HX-Request": "true", "HX-Current-URL": f"http://localhost{world['url']}"},
    )
    assert response.status_code == 401
    assert response.headers["hx-redirect"] == f"/connexion?next={world['url']}"
    # The page's form without JavaScript, the cookie gone too: to the login, which goes back
    # to the page.
    client.cookies.delete("session")
    response = await client.post(
        world["url"],
        data={f"q{product}": "3", "key": "k", "_csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/connexion?next={world['url']}"
    assert await line_of(member, product) == 1
