"""Ordering from a phone, in Chromium at 375 × 740, as a person does it.

The data (a group, a distribution open now, products, members) is made in the server's
database by the real domain code: `server.seed(...)`, see seed.py. Each test makes its own
group and accounts (unique names and addresses), so the tests do not depend on one another.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.server import SLOW_3G
from tests.helpers import PASSWORD

VALIDATED = "Votre commande est validée"


def unique(who: str) -> str:
    return f"{who}-{uuid.uuid4().hex[:10]}"


def world(server, products: int = 3, **spec) -> dict:
    """A group with a distribution open now; `members` are e-mail addresses made members."""
    spec.setdefault("admin", unique("admin") + "@example.org")
    spec.setdefault("name", "Marché " + unique("test"))
    return server.seed(products=products, **spec)


def log_in(page: Page, email: str) -> None:
    page.goto("/connexion")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1, name="Mes groupes")).to_be_visible()


def line(page: Page, product_id: int) -> Locator:
    return page.locator(f"li#p{product_id}")


def quantity(page: Page, product_id: int) -> Locator:
    return line(page, product_id).get_by_label("Quantité")


def plus(page: Page, product_id: int) -> Locator:
    return line(page, product_id).get_by_role("button", name="Un de plus")


def minus(page: Page, product_id: int) -> Locator:
    return line(page, product_id).get_by_role("button", name="Un de moins")


def total(page: Page) -> Locator:
    return page.locator("#total")


def euros(text: str) -> str:
    """'3,00 €' as the app writes it: a no-break space before the euro sign."""
    return text.replace(" €", "\u00a0€")


def is_line_post(url: str, product_id: int):
    """The htmx request of one product's line (url: the ordering page's path)."""
    return lambda r: r.request.method == "POST" and r.url.endswith(f"{url}/ligne/{product_id}")


def wait_for_htmx(page: Page) -> None:
    page.wait_for_function("() => window.htmx !== undefined")


def no_horizontal_scroll(page: Page) -> dict:
    widths = page.evaluate(
        "() => ({doc: document.documentElement.scrollWidth, body: document.body.scrollWidth,"
        " view: window.innerWidth})"
    )
    assert widths["view"] == 375, widths
    assert widths["doc"] <= 375, f"la page défile horizontalement à 375 px : {widths}"
    assert widths["body"] <= 375, f"la page défile horizontalement à 375 px : {widths}"
    return widths


# 1 -------------------------------------------------------------------------------------


def test_member_orders_with_htmx_and_validates(page: Page, server):
    email = unique("mia") + "@example.org"
    w = world(server, products=3, stock=10, members=[email])
    first, second = w["products"][0], w["products"][1]  # 1,50 € and 1,51 € the kg

    log_in(page, email)
    page.get_by_role("link", name=re.compile("^Marché test-")).click()
    page.get_by_role("navigation", name="Onglets du groupe").get_by_role(
        "link", name="COMMANDES"
    ).click()
    expect(page).to_have_url(re.compile(re.escape(w["path"]) + "/commandes$"))
    expect(page.get_by_text("Ferme du Test – Légumes")).to_be_visible()
    page.get_by_role("link", name="Commander").click()
    expect(page).to_have_url(re.compile(re.escape(w["url"]) + "$"))
    expect(line(page, first)).to_contain_text("Produit 000")
    expect(line(page, first)).to_contain_text("reste 10")
    expect(total(page)).to_have_text(euros("Total : 0,00 €"))
    expect(minus(page, first)).to_be_disabled()

    wait_for_htmx(page)
    page.evaluate("() => { window.__sameDocument = 'oui'; }")
    for expected in (1, 2):
        with page.expect_response(is_line_post(w["url"], first)) as answer:
            plus(page, first).click()
        assert answer.value.status == 200
        assert answer.value.request.headers.get("hx-request") == "true"
        expect(quantity(page, first)).to_have_value(str(expected))
        # The tap changed its own line only: every product is still on the page, once.
        expect(page.locator(".products li"), "les autres produits ont disparu").to_have_count(3)
    expect(page.locator("#total")).to_have_count(1)
    expect(line(page, first)).to_contain_text("reste 8")
    expect(line(page, first)).to_have_class("in")
    expect(minus(page, first)).to_be_enabled()
    expect(total(page)).to_have_text(euros("Total : 3,00 €"))

    # A typed quantity is sent when the field loses focus (the change event).
    with page.expect_response(is_line_post(w["url"], second)) as answer:
        quantity(page, second).fill("4")
        quantity(page, second).press("Tab")
    response = answer.value
    expect(quantity(page, second)).to_have_value("4")
    expect(line(page, second)).to_contain_text("reste 6")
    expect(total(page)).to_have_text(euros("Total : 9,04 €"))  # 3,00 + 4 × 1,51
    assert page.evaluate("() => window.__sameDocument") == "oui", "la page a été rechargée"

    body = response.body()
    sizes = response.request.sizes()
    print(
        f"\n[mesure] une quantité tapée (htmx) : réponse {len(body)} octets de HTML, "
        f"{sizes['responseBodySize']} octets transmis "
        f"(content-encoding : {response.headers.get('content-encoding', 'aucun')}) "
        f"+ {sizes['responseHeadersSize']} octets d'en-têtes ; "
        f"requête {sizes['requestBodySize']} octets + {sizes['requestHeadersSize']} d'en-têtes"
    )
    assert b"<html" not in body

    page.get_by_role("button", name="Valider ma commande").click()
    expect(page.get_by_role("status")).to_contain_text(VALIDATED)
    expect(total(page)).to_contain_text("commande validée")
    expect(total(page)).to_contain_text(euros("9,04 €"))
    expect(quantity(page, first)).to_have_value("2")
    expect(quantity(page, second)).to_have_value("4")

    # The COMMANDES tab says so too.
    page.goto(w["path"] + "/commandes")
    expect(page.get_by_text(re.compile(r"Votre commande : 9,04\s€ \(validée\)"))).to_be_visible()
    expect(page.get_by_role("link", name="Modifier ma commande")).to_be_visible()


# 2 -------------------------------------------------------------------------------------


def test_guest_of_an_open_market_orders_then_creates_an_account(page: Page, server):
    w = world(server, products=3, stock=5, kind="market", registration="open")
    product = w["products"][2]  # 1,52 €

    page.goto(w["path"])
    expect(page.get_by_role("link", name="Connexion")).to_be_visible()  # not logged in
    page.get_by_role("link", name="Faire mes courses").click()
    expect(page).to_have_url(re.compile(re.escape(w["path"]) + "/commandes$"))
    page.get_by_role("link", name="Commander").click()
    expect(page.get_by_text("Vous commandez sans compte")).to_be_visible()

    wait_for_htmx(page)
    with page.expect_response(is_line_post(w["url"], product)):
        plus(page, product).click()
    expect(quantity(page, product)).to_have_value("1")
    with page.expect_response(is_line_post(w["url"], product)):
        plus(page, product).click()
    expect(quantity(page, product)).to_have_value("2")
    expect(total(page)).to_have_text(euros("Total : 3,04 €"))

    page.get_by_role("button", name="Valider ma commande").click()
    expect(page).to_have_url(re.compile(re.escape(w["url"]) + "/finaliser$"))
    expect(page.get_by_text("Votre panier (2 articles) est gardé")).to_be_visible()
    page.get_by_role("link", name="Créer mon compte").click()

    email = unique("guest") + "@example.org"
    page.get_by_label("Prénom", exact=True).fill("Gaspard")
    page.get_by_label("Nom", exact=True).fill("Invité")
    page.get_by_label("E-mail", exact=True).fill(email)
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Créer mon compte").click()

    expect(page).to_have_url(re.compile(re.escape(w["url"]) + "$"))
    expect(page.get_by_role("status")).to_contain_text(VALIDATED)
    expect(quantity(page, product)).to_have_value("2")
    expect(line(page, product)).to_contain_text("reste 3")
    expect(total(page)).to_contain_text(euros("3,04 €"))
    expect(total(page)).to_contain_text("commande validée")
    expect(page.get_by_role("link", name="Gaspard")).to_be_visible()

    # They are a member now: the group is on their home page.
    page.goto("/")
    expect(page.get_by_role("link", name=re.compile("^Marché test-"))).to_be_visible()


# 3 -------------------------------------------------------------------------------------


def test_member_orders_without_javascript(new_context, server):
    email = unique("nojs") + "@example.org"
    w = world(server, products=3, stock=10, members=[email])
    first, second = w["products"][0], w["products"][1]
    page = new_context(java_script_enabled=False).new_page()

    log_in(page, email)
    page.goto(w["url"])
    expect(total(page)).to_have_text(euros("Total : 0,00 €"))

    # Each + / − posts the whole form and a whole page comes back.
    for expected in ("1", "2", "3"):
        with page.expect_navigation():
            plus(page, first).click()
        expect(quantity(page, first)).to_have_value(expected)
    with page.expect_navigation():
        minus(page, first).click()
    expect(quantity(page, first)).to_have_value("2")
    expect(line(page, first)).to_contain_text("reste 8")
    expect(total(page)).to_have_text(euros("Total : 3,00 €"))

    # A typed quantity goes with the next button pressed: here, the validation.
    quantity(page, second).fill("4")
    with page.expect_navigation():
        page.get_by_role("button", name="Valider ma commande").click()
    expect(page.get_by_role("status")).to_contain_text(VALIDATED)
    expect(quantity(page, first)).to_have_value("2")
    expect(quantity(page, second)).to_have_value("4")
    expect(line(page, second)).to_contain_text("reste 6")
    expect(total(page)).to_contain_text(euros("9,04 €"))
    expect(total(page)).to_contain_text("commande validée")


# 4 -------------------------------------------------------------------------------------


def test_ordering_page_fits_a_375px_phone(page: Page, server, shots):
    email = unique("phone") + "@example.org"
    w = world(
        server,
        products=30,
        stock=3,
        members=[email],
        long_names=True,
        name="Association des producteurs du marché de plein vent de Saint-Rémy-de-Provence",
    )
    log_in(page, email)
    page.goto(w["url"])
    wait_for_htmx(page)
    expect(page.locator(".products li")).to_have_count(30)
    no_horizontal_scroll(page)

    # A line with a quantity, one with an error (more than the stock), one sold out.
    first, second = w["products"][0], w["products"][1]
    with page.expect_response(is_line_post(w["url"], first)):
        plus(page, first).click()
    expect(quantity(page, first)).to_have_value("1")
    with page.expect_response(is_line_post(w["url"], second)):
        quantity(page, second).fill("7")
        quantity(page, second).press("Tab")
    expect(line(page, second).get_by_role("alert")).to_have_text("Plus que 3 disponibles.")
    for _ in range(3):
        with page.expect_response(is_line_post(w["url"], w["products"][2])):
            plus(page, w["products"][2]).click()
    expect(line(page, w["products"][2])).to_contain_text("épuisé")
    expect(plus(page, w["products"][2])).to_be_disabled()
    no_horizontal_scroll(page)

    # Every control is on screen and big enough for a thumb.
    boxes = page.locator(".qc button, .qc input").evaluate_all(
        "els => els.map(e => { const r = e.getBoundingClientRect();"
        " return {x: r.x, right: r.right, width: r.width, height: r.height}; })"
    )
    assert len(boxes) == 90
    for box in boxes:
        assert box["x"] >= 0 and box["right"] <= 375, box
        assert box["height"] >= 40 and box["width"] >= 40, box
    # A short name and its controls share one row: 30 products are not 60 rows to scroll.
    name_box = line(page, w["products"][4]).locator(".pn").bounding_box()
    controls_box = line(page, w["products"][4]).locator(".qc").bounding_box()
    assert controls_box["y"] < name_box["y"] + name_box["height"], (name_box, controls_box)
    page.screenshot(path=str(shots / "order-375-screen.png"))
    page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot(path=str(shots / "order-375.png"), full_page=True)


# 5 -------------------------------------------------------------------------------------


def test_ordering_page_of_200_products_works_on_a_slow_network(new_context, server):
    """What a phone on slow 3G gets works; bench/slow_network_bench.py times it. A shop of
    one catalog without categories: its page comes in alphabetical runs of 40 products."""
    email = unique("slow") + "@example.org"
    w = world(server, products=200, stock=50, members=[email])
    context = new_context()
    page = context.new_page()
    log_in(page, email)

    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", SLOW_3G)
    page.set_default_timeout(60_000)  # a deadline for a slow network, not a measure

    # First visit: nothing in the browser's cache.
    cdp.send("Network.clearBrowserCache")
    page.goto(w["url"], wait_until="load")
    expect(page.locator(".sections > li")).to_have_count(5)
    assert page.evaluate("() => performance.getEntriesByType('navigation')[0].decodedBodySize")

    # Next visit: the CSS and htmx come from the cache, the page still works.
    page.reload(wait_until="load")
    expect(page.locator(".sections > li")).to_have_count(5)

    # The run of product 100 opened, one tap on the throttled network changes that line.
    wait_for_htmx(page)
    page.get_by_role("link", name=re.compile("^Produit 080 – Produit 119")).click()
    expect(page.locator("#s-n3 .products li")).to_have_count(40)
    product = w["products"][100]
    with page.expect_response(is_line_post(w["url"], product)) as answer:
        plus(page, product).click()
    assert answer.value.status == 200
    expect(quantity(page, product)).to_have_value("1")
    expect(line(page, product)).to_contain_text("reste 49")


# Regression: Enter in a quantity field


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "sans-js"])
def test_enter_in_a_quantity_field_changes_only_that_product(new_context, server, javascript):
    """Enter (the "OK" key of a phone keyboard) in a quantity field submits the form: its
    default button must not be the − of the first product, which takes one off it."""
    email = unique("enter") + "@example.org"
    w = world(server, products=3, stock=10, members=[email])
    first, second = w["products"][0], w["products"][1]
    page = new_context(java_script_enabled=javascript).new_page()
    log_in(page, email)
    page.goto(w["url"])
    for expected in ("1", "2"):
        if javascript:
            wait_for_htmx(page)
            with page.expect_response(is_line_post(w["url"], first)):
                plus(page, first).click()
            page.reload()
        else:
            with page.expect_navigation():
                plus(page, first).click()
        expect(quantity(page, first)).to_have_value(expected)

    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    quantity(page, second).fill("5")
    if javascript:
        wait_for_htmx(page)
        # Enter sends the change (htmx) and presses the form's default button, "Enregistrer
        # mon panier": the page is posted and comes back. Whatever the key sent left before
        # that navigation, so once it is done every such request is in `posts`.
        with page.expect_navigation():
            quantity(page, second).press("Enter")
        assert [url for url in posts if url.endswith(f"/ligne/{second}")], posts
        assert not [url for url in posts if url.endswith(f"/ligne/{first}")], posts
        page.reload()
    else:
        with page.expect_navigation():
            quantity(page, second).press("Enter")
    expect(quantity(page, second)).to_have_value("5")
    expect(quantity(page, first), "Entrée a retiré un au premier produit").to_have_value("2")
    expect(total(page)).to_have_text(euros("Total : 10,55 €"))  # 2 × 1,50 + 5 × 1,51
