"""A large shop's ordering page on a phone (375 px), in Chromium: its sections open in
place, a "+" in one puts the product in the basket at the top (and a "+" there changes the
line below), the search shows the products as the member types; without JavaScript the
sections' headings are links to the page with that section open."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.test_order_flow import (
    euros,
    line,
    log_in,
    no_horizontal_scroll,
    plus,
    quantity,
    total,
    unique,
    wait_for_htmx,
    world,
)

CATEGORIES = ["Pâtes et riz", "Boissons", "Hygiène", "Épicerie sucrée"]  # 20 products each


def large_shop(server, email: str) -> dict:
    w = world(server, products=80, stock=10, members=[email], categories=CATEGORIES)
    pasta = w["products"][2]  # « Pâtes et riz », 1,52 €
    assert server.execute(
        "UPDATE product SET name = ? WHERE id = ?", ("Pâtes complètes 500 g", pasta)
    )
    return w


def basket_line(page: Page, product_id: int):
    return page.locator(f"#basket-lines li#bp{product_id}")


def test_a_section_opens_a_plus_fills_the_basket_and_the_search_finds(new_context, server, shots):
    email = unique("grande") + "@example.org"
    w = large_shop(server, email)
    drink, pasta = w["products"][20], w["products"][2]  # « Boissons », 1,70 €
    page = new_context().new_page()
    log_in(page, email)
    page.goto(w["url"])
    wait_for_htmx(page)
    expect(page.locator("li[id^=p]")).to_have_count(0)  # headings only
    expect(page.get_by_text("Votre panier est vide")).to_be_visible()
    no_horizontal_scroll(page)
    page.screenshot(path=str(shots / "ordering-sections-headings-375.png"), full_page=True)

    # A heading opens its section in place: its lines, no new page.
    with page.expect_response(lambda r: r.url.endswith("/rayons/c-boissons")) as answer:
        page.get_by_role("link", name=re.compile("^Boissons")).click()
    assert answer.value.status == 200
    expect(line(page, drink)).to_be_visible()
    expect(page.locator("#s-c-boissons li[id^=p]")).to_have_count(20)
    expect(page).to_have_url(re.compile(re.escape(w["url"]) + "$"))
    expect(page.locator("#s-c-boissons summary")).to_be_focused()

    # "+" in the section: the line, the basket at the top and the total follow.
    plus(page, drink).click()
    expect(quantity(page, drink)).to_have_value("1")
    expect(basket_line(page, drink)).to_contain_text("Quantité : 1")
    expect(page.get_by_text("Votre panier est vide")).to_be_hidden()
    expect(total(page)).to_have_text(euros("Total : 1,70 €"))
    # "+" in the basket: the line below follows.
    basket_line(page, drink).get_by_role("button", name="Un de plus").click()
    expect(quantity(page, drink)).to_have_value("2")
    expect(basket_line(page, drink)).to_contain_text("Quantité : 2")
    expect(basket_line(page, drink).get_by_role("button", name="Un de moins")).to_be_enabled()
    expect(line(page, drink)).to_contain_text("reste 8")
    page.screenshot(path=str(shots / "ordering-sections-open-375.png"))
    # The section closes and opens again without asking the server.
    page.locator("#s-c-boissons summary").click()
    expect(line(page, drink)).to_be_hidden()
    page.locator("#s-c-boissons summary").click()
    expect(line(page, drink)).to_be_visible()

    # The search, as the member types (no accent, no capital): across the sections.
    page.get_by_label("Chercher un produit").fill("pates compl")
    expect(page.get_by_role("heading", name="Résultats pour « pates compl »")).to_be_visible()
    expect(page.locator("#catalogue li[id^=p]")).to_have_count(1)
    expect(line(page, pasta)).to_contain_text("Pâtes complètes 500 g")
    plus(page, pasta).click()
    expect(basket_line(page, pasta)).to_contain_text("Quantité : 1")
    expect(total(page)).to_have_text(euros("Total : 4,92 €"))
    no_horizontal_scroll(page)
    page.screenshot(path=str(shots / "ordering-sections-375.png"), full_page=True)

    # A section that cannot load (no network) says so where the member tapped.
    page.route("**/rayons/c-hygiene", lambda route: route.abort())
    page.goto(w["url"])
    wait_for_htmx(page)
    page.get_by_role("link", name=re.compile("^Hygiène")).click()
    expect(page.locator("#s-c-hygiene").get_by_role("alert")).to_contain_text("Pas de connexion")

    # What the server kept: the basket on top of the page, in the page's order.
    expect(page.locator("#basket-lines li")).to_have_count(2)
    expect(basket_line(page, pasta)).to_contain_text("Quantité : 1")
    expect(basket_line(page, drink)).to_contain_text("Quantité : 2")


def test_without_javascript_a_heading_is_a_link_to_its_section(new_context, server):
    email = unique("sansjs") + "@example.org"
    w = large_shop(server, email)
    soap = w["products"][41]  # « Hygiène »
    page = new_context(java_script_enabled=False).new_page()
    log_in(page, email)
    page.goto(w["url"])
    page.get_by_role("link", name=re.compile("^Hygiène")).click()
    expect(page).to_have_url(re.compile(re.escape(w["url"]) + r"\?section=c-hygiene#s-c-hygiene$"))
    expect(page.locator("#s-c-hygiene li[id^=p]")).to_have_count(20)
    plus(page, soap).click()
    expect(page).to_have_url(re.compile(re.escape(w["url"]) + r"\?section=c-hygiene$"))
    expect(quantity(page, soap)).to_have_value("1")
    expect(basket_line(page, soap)).to_contain_text("Quantité : 1")
    page.get_by_label("Chercher un produit").fill("PÂTES complètes")
    page.get_by_role("button", name="Chercher").click()
    expect(page.locator("#catalogue li[id^=p]")).to_have_count(1)
    expect(page.get_by_role("heading", name="Résultats pour « PÂTES complètes »")).to_be_visible()
