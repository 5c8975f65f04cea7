"""Paiements on a phone, in Chromium at 375 × 740: a member validates their order and sees
what they owe and how to pay, then says they will pay by cheque; an admin records the
payments received at the distribution table, member by member."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.test_order_flow import log_in, no_horizontal_scroll, unique, world

PAYMENTS = {
    "ledger": True,
    "types": ["cheque", "virement", "especes"],
    "cheque_payee": "Marché des Tilleuls",
    "iban": "FR76 3000 6000 0112 3456 7890 189",
    "instructions": "Chèques remis à l'accueil de la distribution.",
}


def test_member_validates_and_sees_how_to_pay_then_pledges_a_cheque(page: Page, server, shots):
    email = unique("mia") + "@example.org"
    w = world(server, products=2, members=[email], payments=PAYMENTS)
    first = w["products"][0]
    log_in(page, email)
    page.goto(w["url"])
    page.locator(f"li#p{first}").get_by_role("button", name="Un de plus").click()
    page.locator(f"li#p{first}").get_by_role("button", name="Un de plus").click()
    expect(page.locator(f"li#p{first}").get_by_label("Quantité")).to_have_value("2")
    page.get_by_role("button", name="Valider ma commande").click()
    expect(page.get_by_role("status")).to_contain_text("Votre commande est validée.")
    payment = page.get_by_role("region", name="Paiement")
    expect(payment).to_be_visible()
    expect(payment.locator(".to-pay")).to_have_text("À payer pour cette commande : 3,00\u00a0€")
    expect(payment).to_contain_text("à l'ordre de « Marché des Tilleuls »")
    expect(payment).to_contain_text("FR76 3000 6000 0112 3456 7890 189")
    expect(payment).to_contain_text("Chèques remis à l'accueil de la distribution.")
    # What to pay is on the first screen, without scrolling.
    box = payment.locator(".to-pay").bounding_box()
    assert box is not None and box["y"] + box["height"] <= 740, box
    no_horizontal_scroll(page)
    page.screenshot(path=shots / "a-payer.png", full_page=True)

    payment.get_by_label("par chèque").check()
    payment.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("status")).to_have_text("C'est noté : vous paierez par chèque.")
    expect(page.get_by_role("region", name="Paiement")).to_contain_text(
        "Vous avez annoncé un paiement par chèque."
    )
    # Mon compte → Mes paiements: the group's page, its operation and its balance.
    page.get_by_role("region", name="Paiement").get_by_role(
        "link", name="Mes paiements dans ce groupe"
    ).click()
    expect(page.get_by_role("heading", level=2, name=re.compile("^Solde"))).to_have_text(
        "Solde : -3,00\u00a0€"
    )
    expect(page.locator("#operations")).to_contain_text("Paiement par chèque annoncé")
    no_horizontal_scroll(page)


def test_admin_records_payments_at_the_distribution_on_a_phone(page: Page, server, shots):
    admin = unique("admin") + "@example.org"
    mia, leo = (unique(n) + "@example.org" for n in ("mia", "leo"))
    w = world(
        server,
        products=2,
        admin=admin,
        members=[mia, leo],
        payments=PAYMENTS,
        validated={mia: {"0": 2}, leo: {"1": 1}},
        started=True,
    )
    log_in(page, admin)
    page.goto(f"{w['path']}/distributions/{w['distribution']}/valider")
    expect(page.get_by_role("heading", name="Valider la distribution")).to_be_visible()
    orders = page.locator(".collect")
    expect(orders).to_have_count(2)
    first = orders.nth(0)
    expect(first).to_contain_text("À payer : 3,00\u00a0€")
    no_horizontal_scroll(page)
    # The fields of a payment are large enough to tap, on the phone's width.
    field = first.get_by_label("Reçu (€)")
    box = field.bounding_box()
    assert box is not None and box["height"] >= 44 and box["x"] + box["width"] <= 375, box
    field.fill("3")
    first.get_by_label("Moyen").select_option("cheque")
    first.get_by_label("N° de chèque").fill("0001234")
    second = orders.nth(1)
    second.get_by_label("Reçu (€)").fill("1,51")
    second.get_by_label("Moyen").select_option("especes")
    page.screenshot(path=shots / "encaissements.png", full_page=True)
    page.get_by_role("button", name="Valider la distribution").click()
    expect(page.get_by_text("Distribution validée. Paiements enregistrés.")).to_be_visible()
    expect(page.locator(".collect .badge.paid")).to_have_count(2)
    # On PAIEMENTS, nobody owes anything any more.
    page.goto(f"{w['path']}/paiements")
    expect(page.locator("#totaux")).to_contain_text("Personne ne doit d'argent au groupe.")
    no_horizontal_scroll(page)
