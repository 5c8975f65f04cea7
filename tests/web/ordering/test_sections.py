"""A large shop's ordering page (domain/ordering/sections.py, web/ordering/sections.py):
sections by category (by producer, or in alphabetical runs, without categories), whose
lines come when one is opened (htmx) or on the page with ?section= (without JavaScript), a
search (?q=, accents and case aside), and the member's basket always at the top, changed by
the same taps as the lines below. A small shop's page is the one it always was."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from domain.demo import world as build
from domain.kernel.wording import fold
from domain.ordering import sections
from domain.tables import OrderLine, Product
from tests.helpers import login, make_distribution_world, make_user, post_form

CATEGORIES = ["Pâtes et riz", "Boissons", "Hygiène", "Épicerie sucrée"]  # 20 products each


async def member_of(world: dict, email: str) -> int:
    user_id = await make_user(email)
    await build.join(world["group"]["id"], user_id)
    return user_id


async def shop(client, products: int = 80, categories=CATEGORIES, email="m@example.org", **kw):
    admin = await make_user("admin@example.org")
    world = await make_distribution_world(
        admin, products=products, stock=50, categories=categories, **kw
    )
    world["member"] = await member_of(world, email)
    await login(client, email)
    return world


def lines_in(html: str) -> list[int]:
    """The product lines (not the basket's copies) of a page or a fragment, in order."""
    return [int(pid) for pid in re.findall(r'<li id="p([0-9]+)"', html)]


def basket_in(html: str) -> list[int]:
    return [int(pid) for pid in re.findall(r'<li id="bp([0-9]+)"', html)]


def headings_in(html: str) -> list[tuple[str, str]]:
    """(key, title) of each closed section's link."""
    return re.findall(r'<li id="s-([a-z0-9-]+)"><a href="[^"]*"[^>]*>([^<]+?) <small>', html)


async def line_of(user_id: int, product_id: int) -> int:
    row = (
        await OrderLine.select(OrderLine.quantity)
        .where((OrderLine.order.user == user_id) & (OrderLine.product == product_id))
        .first()
    )
    return row["quantity"] if row else 0


def tap(client, world: dict, product_id: int, delta: int, key: str, *, target: str, shown: str):
    return post_form(
        client,
        f"{world['url']}/ligne/{product_id}",
        {"delta": str(delta), "k": key, "w": shown},
        htmx=True,
        headers={"HX-Target": target},
    )


def fragment(client, url: str, **headers):
    return client.get(url, headers={"HX-Request": "true", **headers}, follow_redirects=False)


# ---- the first load ------------------------------------------------------------------------


async def test_a_large_shop_shows_its_categories_headings_only(client):
    world = await shop(client)
    page = await client.get(world["url"])
    assert page.status_code == 200
    html = page.text
    assert lines_in(html) == []  # no product line in the first load
    assert headings_in(html) == [
        ("c-boissons", "Boissons"),
        ("c-epicerie-sucree", "Épicerie sucrée"),
        ("c-hygiene", "Hygiène"),
        ("c-pates-et-riz", "Pâtes et riz"),
    ]
    url = world["url"]
    # Each heading: a plain link to the page with its section open, which htmx replaces
    # with the section's lines.
    assert f'href="{url}?section=c-boissons#s-c-boissons"' in html
    assert f'hx-get="{url}/rayons/c-boissons"' in html
    assert "20 produits" in html
    assert 'role="search"' in html and 'name="q"' in html
    assert 'hx-trigger="input changed delay:400ms"' in html
    assert "Votre panier est vide" in html


async def test_a_small_shop_keeps_its_page_of_every_line(client):
    world = await shop(client, products=sections.SECTIONED_ABOVE)
    html = (await client.get(world["url"])).text
    assert lines_in(html) == world["products"]
    assert 'role="search"' not in html and "Les rayons" not in html
    assert "<h3>Ferme du Test</h3>" in html


async def test_without_categories_sections_are_the_producers(client):
    world = await shop(client, products=50, categories=())
    bakery = await build.producer(world["group"]["id"], "Fournil du Pont")
    bread = await build.catalog(
        world["group"]["id"], bakery, "Pain", **build.season(), delivers=[world["distribution"]]
    )
    loaves = await build.products(bread, 20, name="Pain {i:02d}")
    html = (await client.get(world["url"])).text
    assert headings_in(html) == [
        (f"k{world['catalog']}", "Ferme du Test"),
        (f"k{bread}", "Fournil du Pont"),
    ]
    answer = await fragment(client, f"{world['url']}/rayons/k{bread}")
    assert lines_in(answer.text) == loaves


async def test_one_catalog_without_categories_comes_in_alphabetical_runs(client):
    world = await shop(client, products=100, categories=())
    html = (await client.get(world["url"])).text
    assert headings_in(html) == [
        ("n1", "Produit 000 – Produit 039"),
        ("n2", "Produit 040 – Produit 079"),
        ("n3", "Produit 080 – Produit 099"),
    ]
    answer = await fragment(client, f"{world['url']}/rayons/n3")
    assert lines_in(answer.text) == world["products"][80:]


async def test_products_without_a_category_go_under_their_producer(client):
    world = await shop(client)
    await Product.update({Product.category: None}).where(Product.id.is_in(world["products"][:5]))
    html = (await client.get(world["url"])).text
    keys = [key for key, _ in headings_in(html)]
    assert keys[-1] == f"k{world['catalog']}" and "c-pates-et-riz" in keys  # 15 still in it
    answer = await fragment(client, f"{world['url']}/rayons/k{world['catalog']}")
    assert lines_in(answer.text) == world["products"][:5]


async def test_the_basket_is_on_the_first_screen_with_its_quantities(client):
    world = await shop(client)
    a, b = world["products"][3], world["products"][70]
    for product, quantity in ((a, "2"), (b, "1")):
        await post_form(client, f"{world['url']}/ligne/{product}", {"q": quantity}, htmx=True)
    html = (await client.get(world["url"])).text
    assert basket_in(html) == [a, b]
    basket = html[html.index('id="basket-lines"') : html.index("Les rayons")]
    assert "Produit 003" in basket and "Produit 070" in basket
    assert re.search(rf'<li id="bp{a}" class="in">.*?Quantité : </span>2<', basket, re.S)
    assert 'aria-label="Un de plus : Produit 003"' in basket
    assert "Total : <strong>5,26\xa0€</strong>" in html  # 2 × 1,53 € + 2,20 €
    assert "1 dans votre panier" in html  # the headings say what the basket holds of them
    assert lines_in(html) == []


# ---- a section opened ----------------------------------------------------------------------


async def test_a_section_fragment_has_its_lines_and_is_private(client):
    world = await shop(client)
    url = f"{world['url']}/rayons/c-boissons"
    answer = await fragment(client, url)
    assert answer.status_code == 200
    html = answer.text
    assert "<html" not in html and "<details open>" in html and "<summary autofocus>" in html
    assert lines_in(html) == world["products"][20:40]  # the second run: « Boissons »
    assert 'hx-target="closest li"' in html
    assert answer.headers["cache-control"] == "private, no-cache"
    assert "HX-Request" in answer.headers["vary"] and "Cookie" in answer.headers["vary"]
    tag = answer.headers["etag"]
    again = await fragment(client, url, **{"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    # A quantity changed: another content, another tag.
    await post_form(client, f"{world['url']}/ligne/{world['products'][20]}", {"q": "1"}, htmx=True)
    changed = await fragment(client, url, **{"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag


async def test_a_section_without_javascript_is_the_page_with_that_section_open(client):
    world = await shop(client)
    url = world["url"]
    redirected = await client.get(f"{url}/rayons/c-hygiene", follow_redirects=False)
    assert redirected.status_code == 303
    assert redirected.headers["location"] == f"{url}?section=c-hygiene"
    page = await client.get(f"{url}?section=c-hygiene")
    html = page.text
    assert page.status_code == 200
    assert lines_in(html) == world["products"][40:60]
    assert [key for key, _ in headings_in(html)] == [
        "c-boissons",
        "c-epicerie-sucree",
        "c-pates-et-riz",
    ]
    assert f'action="{url}?section=c-hygiene"' in html
    # The form of the page, as a browser without JavaScript sends it: a "+" of a line.
    product = world["products"][45]
    fields = {f"q{pid}": "0" for pid in world["products"][40:60]} | {"set": f"{product}:1"}
    sent = await post_form(client, f"{url}?section=c-hygiene", fields, follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"] == f"{url}?section=c-hygiene"
    assert await line_of(world["member"], product) == 1
    html = (await client.get(f"{url}?section=c-hygiene")).text
    assert basket_in(html) == [product] and product in lines_in(html)


async def test_an_unknown_section(client):
    world = await shop(client)
    page = await client.get(f"{world['url']}?section=c-disparu")
    assert page.status_code == 200 and "Ce rayon n'existe plus" in page.text
    assert len(headings_in(page.text)) == 4
    answer = await fragment(client, f"{world['url']}/rayons/c-disparu")
    assert answer.status_code == 404 and "Ce rayon n'existe plus" in answer.text


# ---- ordering from a section, the basket following -------------------------------------------


async def test_a_tap_in_a_section_adds_the_product_to_the_basket(client):
    world = await shop(client)
    product = world["products"][25]
    first = await tap(client, world, product, +1, "s-1", target=f"p{product}", shown="Bp")
    assert first.status_code == 200
    html = first.text
    assert html.lstrip().startswith(f'<li id="p{product}" class="in">')  # the line tapped
    # added to the basket, which did not have it, out of band
    assert re.search(
        rf'<ul hx-swap-oob="beforeend:#basket-lines">\s*<li id="bp{product}" class="in">', html
    )
    assert 'id="total" hx-swap-oob="innerHTML"' in html and "1,75" in html
    # Now the basket has it: the next tap replaces its copy.
    second = await tap(client, world, product, +1, "s-2", target=f"p{product}", shown="Bbp")
    assert f'<li id="bp{product}" class="in" hx-swap-oob="true">' in second.text
    assert "beforeend" not in second.text
    assert await line_of(world["member"], product) == 2
    page = (await client.get(world["url"])).text
    assert basket_in(page) == [product] and "Total : <strong>3,50\xa0€</strong>" in page


async def test_a_tap_in_the_basket_refreshes_the_line_below(client):
    world = await shop(client)
    product = world["products"][25]
    await post_form(client, f"{world['url']}/ligne/{product}", {"q": "2"}, htmx=True)
    answer = await tap(client, world, product, -1, "b-1", target=f"bp{product}", shown="Bbp")
    html = answer.text
    assert html.lstrip().startswith(f'<li id="bp{product}" class="in">')
    assert f'<li id="p{product}" class="in" hx-swap-oob="true">' in html
    assert f'name="q{product}" value="1"' in html
    # The section not opened: nothing else to refresh.
    alone = await tap(client, world, product, -1, "b-2", target=f"bp{product}", shown="Bb")
    assert f'id="p{product}"' not in alone.text and f'<li id="bp{product}">' in alone.text
    assert await line_of(world["member"], product) == 0
    # A small shop's page sends no `w`: the answer is the line and the total, as always.
    plain = await post_form(
        client, f"{world['url']}/ligne/{product}", {"delta": "1", "k": "x"}, htmx=True
    )
    assert "bp" not in plain.text and "beforeend" not in plain.text


async def test_a_visitor_of_an_open_market_orders_from_a_section(client):
    admin = await make_user("admin@example.org")
    world = await make_distribution_world(admin, products=80, categories=CATEGORIES)
    product = world["products"][5]
    html = (await client.get(world["url"])).text
    assert "Votre panier est vide" in html and len(headings_in(html)) == 4
    answer = await tap(client, world, product, +1, "v-1", target=f"p{product}", shown="B")
    assert answer.status_code == 200 and f'<li id="bp{product}" class="in">' in answer.text
    html = (await client.get(world["url"])).text
    assert basket_in(html) == [product]


# ---- the search ------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["pates", "PÂTES", "  Pâtes   complètes ", "complete pat"])
async def test_the_search_finds_across_sections_accents_and_case_aside(client, typed):
    world = await shop(client)
    pasta, shampoo = world["products"][2], world["products"][41]
    await Product.update({Product.name: "Pâtes complètes 500 g"}).where(Product.id == pasta)
    await Product.update({Product.name: "Shampoing aux pâtes de fruits"}).where(
        Product.id == shampoo
    )
    page = await client.get(world["url"], params={"q": typed})
    html = page.text
    assert page.status_code == 200
    # « Pâtes et riz » is the category of the first 20: they match « pates » too.
    in_category = world["products"][:20]
    expected = [pasta] if "complet" in fold(typed) else [*in_category, shampoo]
    assert lines_in(html) == expected
    assert "Résultats pour « " in html and headings_in(html) == []
    assert 'action="' + world["url"] + "?q=" in html  # the form comes back to the results
    # As the member types, with htmx: the same results, a fragment.
    answer = await fragment(client, f"{world['url']}/recherche?q={typed}")
    assert answer.status_code == 200 and "<html" not in answer.text
    assert lines_in(answer.text) == expected
    assert answer.headers["cache-control"] == "private, no-cache"


async def test_the_search_by_category_nothing_found_and_emptied(client):
    world = await shop(client)
    by_category = (await client.get(world["url"], params={"q": "hygiene"})).text
    assert (
        "20 produits trouvés" in by_category and lines_in(by_category) == world["products"][40:60]
    )
    nothing = (await client.get(world["url"], params={"q": "zzz"})).text
    assert "Aucun produit ne correspond à « zzz »" in nothing and lines_in(nothing) == []
    many = (await client.get(world["url"], params={"q": "produit"})).text
    assert "Les 40 premiers des 80 produits trouvés" in many and len(lines_in(many)) == 40
    emptied = await fragment(client, f"{world['url']}/recherche?q=")
    assert len(headings_in(emptied.text)) == 4 and lines_in(emptied.text) == []
    redirected = await client.get(f"{world['url']}/recherche?q=riz", follow_redirects=False)
    assert redirected.status_code == 303
    assert redirected.headers["location"] == f"{world['url']}?q=riz"


@pytest.mark.parametrize(
    "query",
    [
        "%",
        "%%_",
        "'; DROP TABLE product; --",
        "<script>alert(1)</script>",
        "🥕" * 40,
        "x" * 5000,
        "é" * 120,
        "\\",
        "[",
        "(.*)+",
        "١٢",
    ],
)
async def test_hostile_searches_never_fail(client, query):
    world = await shop(client)
    for url in (world["url"], f"{world['url']}/recherche"):
        answer = await client.get(
            url,
            params={"q": query, "section": query},
            headers={"HX-Request": "true"} if "recherche" in url else {},
        )
        assert answer.status_code == 200, (url, answer.status_code)
        assert "<script>alert" not in answer.text
    section = await fragment(client, f"{world['url']}/rayons/{quote(query[:50], safe='')}")
    assert section.status_code in (404, 400)


def _headings(view) -> list[tuple]:
    return [(s.key, s.title, s.count, s.in_basket) for s in view.sections]


@pytest.mark.parametrize("guest", [False, True])
async def test_the_shelves_give_the_headings_and_sections_that_every_product_gives(guest):
    """The first load and a section read the shelves, the basket's products and the
    section's (baskets.basket(whole=False)): the same headings, counts and lines as the page
    that reads every product, for categories spelt apart, products without one in two
    catalogs of one producer and one of another, a catalog closed with a product in the
    basket, one out of season, and a member's basket or a visitor's."""
    from datetime import timedelta

    from domain.kernel.clock import now
    from domain.ordering import baskets
    from domain.tables import CatalogDistribution

    admin = await make_user("admin@example.org")
    world = await make_distribution_world(
        admin, products=40, categories=["Pâtes et riz", "pates et riz ", "Thé", "   "]
    )
    group, dist = world["group"]["id"], world["distribution"]
    ferme, fournil = world["vendor"], await build.producer(group, "Fournil")
    fruits = await build.catalog(group, ferme, "Fruits", delivers=[dist])
    pains = await build.catalog(group, fournil, "Pains", delivers=[dist])
    closed = await build.catalog(group, fournil, "Brioches", delivers=[dist])
    late = await build.catalog(
        group, fournil, "Galettes", delivers=[dist], starts_on=now().date() + timedelta(days=400)
    )
    made = {
        c: await build.products(c, 15, name=f"{c}-{{i:02d}}", categories=cats)
        for c, cats in ((fruits, ["Thé", ""]), (pains, ()), (closed, ["Thé"]), (late, ["Thé"]))
    }
    await CatalogDistribution.update({CatalogDistribution.orders_close_at: now()}).where(
        CatalogDistribution.catalog == closed
    )
    chosen = [world["products"][3], world["products"][35], made[fruits][14], made[closed][2]]
    chosen += [made[pains][0], made[late][1]]
    user = None
    if guest:
        lines = dict.fromkeys(chosen, 2)
    else:
        user = await member_of(world, "m@example.org")
        await build.order(user, dist, dict.fromkeys(chosen, 2), state="draft")
        lines = None

    whole = await baskets.basket(group, dist, user, lines)
    every = sections.view(list(whole.products.values()), whole.quantities)
    keys = [s.key for s in every.sections]
    assert len(keys) >= 5 and every.sectioned
    for key in [None, *keys, "c-inconnu"]:
        some = await baskets.basket(group, dist, user, lines, whole=False, section=key)
        assert some.shelves is not None and len(some.products) < len(whole.products)
        assert (some.quantities, some.total_cents) == (whole.quantities, whole.total_cents)
        assert some.closed_catalogs == whole.closed_catalogs
        shown = sections.view(
            list(some.products.values()), some.quantities, section=key, shelves=some.shelves
        )
        expected = sections.view(list(whole.products.values()), whole.quantities, section=key)
        assert _headings(shown) == _headings(expected)
        assert [p["id"] for p in shown.basket] == [p["id"] for p in expected.basket]
        assert [p["id"] for p in shown.shown] == [p["id"] for p in expected.shown], key
        assert shown.unknown_section == expected.unknown_section
        if key:
            found = sections.section_of(
                list(some.products.values()), some.quantities, key, some.shelves
            )
            wanted = sections.section_of(list(whole.products.values()), whole.quantities, key)
            assert (found is None) == (wanted is None)
            if found:
                assert [p["id"] for p in found.products] == [p["id"] for p in wanted.products]
                assert (found.count, found.in_basket) == (wanted.count, wanted.in_basket)
