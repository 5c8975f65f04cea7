"""What the ordering page and a "+" cost the database, and the page's lines rendered once:
every member sees their own quantities and the stock, name and price as they are now,
whoever changed them (another member, another process, an admin)."""

from __future__ import annotations

import re

from domain.database import is_sqlite
from domain.demo import world as build
from domain.tables import Product
from tests.helpers import QueryCounter, login, make_distribution_world, make_user, post_form
from web.ordering import lines as ordering_web


async def member_of(world: dict, email: str) -> int:
    user_id = await make_user(email)
    await build.join(world["group"]["id"], user_id)
    return user_id


def quantity_in(page: str, product_id: int) -> int:
    return int(re.search(rf'name="q{product_id}" value="([0-9]+)"', page).group(1))


def line_of(page: str, product_id: int) -> str:
    return re.search(rf'<li id="p{product_id}".*?</li>', page, re.S).group(0)


async def test_a_tap_and_the_page_cost_a_few_statements_whatever_the_shop(client):
    """The guard (moves, session and user, group and roles) then, on PostgreSQL, the "+"
    in two statements and the page in three (its shelves, counted to choose its form);
    SQLite runs the same rules statement by statement. The same count with 20 and 60
    products (a small shop's page, every line: the sectioned page of a larger one is
    counted below)."""
    admin = await make_user("admin@example.org")
    counts = {}
    for n in (20, 60):
        world = await make_distribution_world(admin, products=n, stock=50, name=f"Marché {n}")
        await member_of(world, f"c{n}@example.org")
        client.cookies.clear()
        await login(client, f"c{n}@example.org")
        url = f"{world['url']}/ligne/{world['products'][1]}"
        await post_form(client, url, {"delta": "1", "k": f"warm-{n}"}, htmx=True)
        with QueryCounter() as tap:
            response = await post_form(client, url, {"delta": "1", "k": f"tap-{n}"}, htmx=True)
        assert quantity_in(response.text, world["products"][1]) == 2
        with QueryCounter() as page:
            response = await client.get(world["url"])
        assert response.text.count('<li id="p') == n
        counts[n] = (tap.count, page.count)
    assert counts[20] == counts[60], counts
    if not is_sqlite():
        assert counts[60] == (5, 6), counts


async def test_each_member_sees_their_quantities_on_lines_rendered_once(client):
    admin = await make_user("admin@example.org")
    world = await make_distribution_world(admin, products=30, stock=10)
    a, b = world["products"][:2]
    for email in ("una@example.org", "vic@example.org"):
        await member_of(world, email)
    ordering_web._LINES.clear()

    await login(client, "una@example.org")
    await post_form(client, f"{world['url']}/ligne/{a}", {"delta": "1", "k": "u1"}, htmx=True)
    una = (await client.get(world["url"])).text
    rendered = len(ordering_web._LINES)
    assert rendered == 30
    assert quantity_in(una, a) == 1 and 'class="in"' in line_of(una, a)
    assert "reste 9" in line_of(una, a)

    client.cookies.clear()
    await login(client, "vic@example.org")
    vic = (await client.get(world["url"])).text
    assert len(ordering_web._LINES) == rendered  # nothing rendered again for vic
    assert quantity_in(vic, a) == 0 and 'class="in"' not in line_of(vic, a)
    assert "disabled" in line_of(vic, a).split("−")[0]  # his "−" at zero
    # Vic takes the last units of b: both pages show it sold out, una's basket unchanged.
    await post_form(client, f"{world['url']}/ligne/{b}", {"q": "10", "k": "v1"}, htmx=True)
    vic = (await client.get(world["url"])).text
    assert quantity_in(vic, b) == 10 and "épuisé" in line_of(vic, b)
    assert "data-out" in line_of(vic, b)

    client.cookies.clear()
    await login(client, "una@example.org")
    una = (await client.get(world["url"])).text
    assert quantity_in(una, a) == 1 and quantity_in(una, b) == 0
    assert "épuisé" in line_of(una, b) and "reste 9" in line_of(una, a)

    # Changed elsewhere (an admin, another web process): the line follows the row.
    await Product.update({Product.name: "Poireaux <bio>", Product.price_cents: 275}).where(
        Product.id == a
    )
    una = (await client.get(world["url"])).text
    line = line_of(una, a)
    assert "Poireaux &lt;bio&gt;" in line and "2,75" in line and quantity_in(una, a) == 1


async def test_a_large_shop_s_page_and_its_fragments_cost_the_same_whatever_the_shop(client):
    """The sectioned page (headings and basket), a section opened and a search: the guard
    and the page's reads, with 4 sections of 20 products as with 25 of 16 (400). The page
    and a section read the shelves (a catalog's products counted by category), the basket's
    products and the section's: not the whole catalogue."""
    admin = await make_user("admin@example.org")
    counts = {}
    for n, sections in ((80, 4), (400, 25)):
        categories = [f"Rayon {i:02d}" for i in range(sections)]
        world = await make_distribution_world(
            admin, products=n, stock=50, name=f"Épicerie {n}", categories=categories
        )
        await member_of(world, f"s{n}@example.org")
        client.cookies.clear()
        await login(client, f"s{n}@example.org")
        for product in world["products"][:: n // 8]:  # a basket of 8 lines
            await post_form(client, f"{world['url']}/ligne/{product}", {"q": "1"}, htmx=True)
        htmx = {"HX-Request": "true"}
        measured, rows = {}, {}
        for name, url, headers in (
            ("page", world["url"], {}),
            ("section", f"{world['url']}/rayons/c-rayon-01", htmx),
            ("search", f"{world['url']}/recherche?q=produit+01", htmx),
        ):
            await client.get(url, headers=headers)  # warm
            with QueryCounter() as counter:
                response = await client.get(url, headers=headers)
            assert response.status_code == 200, (name, response.status_code)
            measured[name] = counter.count
            rows[name] = counter.rows
        # guard and distribution (a few rows), a shelf per section, 8 lines, 16 of a section
        assert rows["page"] <= 10 + sections + 8, rows
        assert rows["section"] <= 10 + sections + 8 + n // sections, rows
        page = await client.get(world["url"])
        assert page.text.count('<li id="p') == 0 and page.text.count('<li id="bp') == 8
        assert page.text.count('<li id="s-') == sections
        counts[n] = measured
    assert counts[80] == counts[400], counts
    if not is_sqlite():
        assert counts[400] == {"page": 6, "section": 6, "search": 5}, counts
