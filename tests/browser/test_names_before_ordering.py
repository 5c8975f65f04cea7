"""A member an admin added by e-mail only gives their first and last names when they first
open the ordering page, with or without JavaScript, then orders from the same page (13.5)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_order_flow import (
    VALIDATED,
    is_line_post,
    log_in,
    plus,
    quantity,
    total,
    unique,
    wait_for_htmx,
    world,
)


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "sans-js"])
def test_a_nameless_member_gives_names_then_orders(new_context, server, javascript):
    email = unique("claire") + "@example.org"
    w = world(server, products=2, stock=10, nameless=[email])
    first = w["products"][0]
    page = new_context(java_script_enabled=javascript).new_page()
    log_in(page, email)
    page.goto(w["url"])
    expect(page.get_by_role("heading", level=1, name="Vos prénom et nom")).to_be_visible()
    expect(page.get_by_text("Votre panier est gardé")).to_be_visible()
    page.get_by_role("button", name="Continuer ma commande").click()
    expect(page.get_by_text("Indiquez votre prénom.")).to_be_visible()
    expect(page.get_by_text("Indiquez votre nom.")).to_be_visible()
    page.get_by_label("Prénom", exact=True).fill("Claire")
    page.get_by_label("Nom", exact=True).fill("Roy")
    page.get_by_role("button", name="Continuer ma commande").click()
    expect(page).to_have_url(re.compile(re.escape(w["url"]) + "$"))
    expect(page.get_by_role("status").first).to_contain_text("vos prénom et nom sont enregistrés")
    if javascript:
        wait_for_htmx(page)
        with page.expect_response(is_line_post(w["url"], first)) as answer:
            plus(page, first).click()
        assert answer.value.status == 200
    else:
        with page.expect_navigation():
            plus(page, first).click()
    expect(quantity(page, first)).to_have_value("1")
    page.get_by_role("button", name="Valider ma commande").click()
    expect(page.get_by_role("status").first).to_contain_text(VALIDATED)
    expect(total(page)).to_contain_text("commande validée")
