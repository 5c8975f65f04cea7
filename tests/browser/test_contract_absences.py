"""MES CONTRATS on a phone, in Chromium at 375 × 740: a member of an AMAP sees the dates of
their contract, declares an absence, and sees it among their dates."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.test_order_flow import log_in, no_horizontal_scroll, unique, world


def test_member_declares_an_absence_and_sees_their_dates(page: Page, server, shots):
    email = unique("mia") + "@example.org"
    w = world(
        server,
        products=2,
        members=[email],
        kind="amap",
        name="AMAP " + unique("lilas"),
        contract={"subscribers": [email], "absences": 2},
    )
    log_in(page, email)
    page.goto(f"{w['path']}/contrats")
    dates = page.locator("ul.dates li")
    expect(dates).to_have_count(3)
    expect(page.get_by_text("0 sur 2 déclarée")).to_be_visible()
    no_horizontal_scroll(page)
    page.get_by_role("link", name="Déclarer mes absences").click()
    boxes = page.get_by_role("checkbox")
    expect(boxes).to_have_count(3)
    boxes.nth(1).check()
    page.get_by_role("button", name="Déclarer mes absences").click()
    expect(page.get_by_role("status")).to_contain_text("1 absence enregistrée")
    expect(dates.nth(1)).to_contain_text("— absent")
    expect(dates.nth(0)).not_to_contain_text("absent")
    expect(page.get_by_text("1 sur 2 déclarée")).to_be_visible()
    no_horizontal_scroll(page)
    page.screenshot(path=shots / "mes-contrats-absence.png", full_page=True)
