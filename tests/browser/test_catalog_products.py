"""PRODUITS of the catalog menu in Chromium: a price edited in place with Enter, Escape
cancels, a bad price shows its error in the row and saves nothing."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from tests.helpers import PASSWORD


def unique(who: str) -> str:
    return f"{who}-{uuid.uuid4().hex[:10]}"


def log_in(page: Page, email: str) -> None:
    page.goto("/connexion")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1, name="Mes groupes")).to_be_visible()


def euros(text: str) -> str:
    return text.replace(" €", "\u00a0€")


def fits_the_phone(page: Page) -> None:
    """No horizontal scroll at 375 px: wide tables scroll inside their own box."""
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 375, f"la page défile horizontalement : {width} px"


def test_inline_price_edit_enter_escape_and_a_bad_price(page: Page, server, shots):
    admin = unique("admin") + "@example.org"
    w = server.seed(admin=admin, products=3, name="Marché " + unique("prix"))
    product = w["products"][1]  # « Produit 001 », 1,51 € the kg

    log_in(page, admin)
    page.goto(w["path"])
    page.get_by_role("navigation", name="Onglets du groupe").get_by_role(
        "link", name="CATALOGUES"
    ).click()
    page.get_by_role("link", name="Gérer").click()
    page.get_by_role("navigation", name="Menu du catalogue").get_by_role(
        "link", name="PRODUITS"
    ).click()
    expect(page).to_have_url(re.compile(r"/catalogues/\d+/produits$"))
    page.wait_for_function("() => window.htmx !== undefined")
    page.evaluate("() => { window.__sameDocument = 'oui'; }")

    row = page.locator(f"tr#product-{product}")
    price = row.locator("td.cell-price")
    expect(price).to_have_text(euros("1,51 €"))

    # Click the price: an input in the row, focused; type and press Enter.
    price.get_by_role("link").click()
    field = row.get_by_label(re.compile("^Prix TTC"))
    expect(field).to_be_focused()
    expect(field).to_have_value("1,51")
    field.fill("4,20")
    with page.expect_response(lambda r: r.request.method == "POST" and "/ligne" in r.url) as ans:
        field.press("Enter")
    assert ans.value.status == 200
    expect(row.locator("input[name=value]")).to_have_count(0)
    expect(price).to_have_text(euros("4,20 €"))

    # Escape cancels: the row comes back as it was, the typed value is dropped.
    price.get_by_role("link").click()
    field = row.get_by_label(re.compile("^Prix TTC"))
    expect(field).to_be_focused()
    field.fill("9,99")
    with page.expect_response(lambda r: r.request.method == "GET" and r.url.endswith("/ligne")):
        field.press("Escape")
    expect(row.locator("input[name=value]")).to_have_count(0)
    expect(price).to_have_text(euros("4,20 €"))

    # A bad price: the error in the row, nothing saved.
    price.get_by_role("link").click()
    field = row.get_by_label(re.compile("^Prix TTC"))
    field.fill("quatre euros")
    field.press("Enter")
    error = row.get_by_role("alert")
    expect(error).to_have_text("Indiquez un prix en euros, par exemple 3,50.")
    expect(row.get_by_label(re.compile("^Prix TTC"))).to_have_value("quatre euros")
    page.screenshot(path=str(shots / "catalog-products-error-375.png"), full_page=True)
    fits_the_phone(page)
    row.get_by_label(re.compile("^Prix TTC")).press("Escape")
    expect(price).to_have_text(euros("4,20 €"))
    assert page.evaluate("() => window.__sameDocument") == "oui", "la page a été rechargée"

    # The page, loaded again, shows what was saved.
    page.reload()
    expect(page.locator(f"tr#product-{product} td.cell-price")).to_have_text(euros("4,20 €"))
    page.get_by_role("navigation", name="Menu du catalogue").get_by_role(
        "link", name="STATISTIQUES"
    ).click()
    expect(page.locator("figure.chart svg")).to_be_visible()
    page.screenshot(path=str(shots / "catalog-statistics-375.png"), full_page=True)
    fits_the_phone(page)
