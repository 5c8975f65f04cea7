"""Seed 002 in Chromium: a grocery's admin pastes the Escarcelle key, sees the status block,
imports the products after the preview, adds two to a catalog, validates a distribution and
finds the synchronisation report in the outbox. The app and the simulator of Escarcelle's
assumed API are processes of their own."""

from __future__ import annotations

import re
import subprocess
import time
import urllib.request

import pytest
from playwright.sync_api import Page, expect

from connectors.escarcelle_simulator import DEMO_KEY, DEMO_NAME
from tests.browser.server import PYTHON, ROOT, free_port, served
from tests.browser.test_catalog_products import fits_the_phone, log_in, unique


@pytest.fixture(scope="module")
def server():
    """This module's server (it overrides conftest's, so that `page` opens it), with the
    simulator of Escarcelle's assumed API as a process of its own."""
    port = free_port()
    simulator = subprocess.Popen(
        [PYTHON, "-m", "connectors.escarcelle_simulator", "--port", str(port)], cwd=ROOT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(url + "/_sim/health", timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline:
                simulator.kill()
                pytest.fail("le simulateur Escarcelle ne démarre pas")
            time.sleep(0.1)
    try:
        with served({"ESCARCELLE_URL": url}) as srv:
            yield srv
    finally:
        simulator.terminate()
        simulator.wait(timeout=10)


def test_a_grocery_links_imports_offers_and_pushes_its_sales(page: Page, server, shots):
    admin = unique("lise") + "@example.org"
    member = unique("amina") + "@example.org"
    w = server.seed(make="grocery", admin=admin, name="Point " + unique("p"), members=[member])
    space = f"/espace-producteur/{w['producer']}"
    log_in(page, admin)

    # 1-2. Paramètres → Synchro Escarcelle: the key, then the status block.
    page.goto("/producteur")
    page.get_by_role("link", name="Produits").first.click()
    page.get_by_role("navigation", name="Espace producteur").get_by_role(
        "link", name="Paramètres"
    ).click()
    page.get_by_label("Clé Escarcelle").fill("une-mauvaise-cle")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text("Escarcelle refuse cette clé")).to_be_visible()
    page.get_by_label("Clé Escarcelle").fill(DEMO_KEY)
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("status")).to_contain_text(DEMO_NAME)
    expect(page.locator("#key-masked")).to_have_text("••••••••" + DEMO_KEY[-4:])
    expect(page.get_by_role("heading", name="Statut de la synchronisation")).to_be_visible()
    fits_the_phone(page)

    # 3. Produits → Import/Export → Import Escarcelle: the preview, then the import.
    page.goto(f"{space}/produits")
    page.get_by_text("Import/Export").click()
    page.get_by_role("link", name="Import Escarcelle").click()
    expect(page.locator("#import-counts")).to_contain_text("36 nouveaux")
    page.screenshot(path=str(shots / "apercu.png"), full_page=False)
    page.get_by_role("button", name="Confirmer l'importation").click()
    expect(page.get_by_role("status")).to_contain_text("36 produits créés")

    # Two products added to the distribution point's catalog.
    page.get_by_label("Choisir Pâtes 500G", exact=True).check()
    page.get_by_label("Choisir Farine 1KG", exact=True).check()
    page.get_by_role("button", name="Ajouter au catalogue").click()
    expect(page.get_by_role("status")).to_contain_text("2 produits ajoutés au catalogue")
    pasta = page.locator("tr").filter(has=page.get_by_label("Choisir Pâtes 500G", exact=True))
    expect(pasta).to_contain_text("Épicerie")

    # 5. A member's basket, then « Valider la distribution »: the report in the outbox.
    user = w["members"][member]
    server.seed(
        make="orders", distribution=w["distribution"], baskets={user: {"1001": 2, "1002": 1}}
    )
    page.goto(f"/g/{w['slug']}/distributions/{w['distribution']}/valider")
    page.get_by_role("button", name="Valider la distribution").click()
    expect(page.get_by_role("status")).to_contain_text("Distribution validée")
    (report,) = server.wait_for_mail(admin, seconds=30)[-1:]
    assert "Synchronisation Escarcelle" in str(report["Subject"])
    text = report.get_body(preferencelist=("plain",)).get_content()
    assert "Envoyées : 1" in text and "En échec : 0" in text
    page.goto(f"{space}/parametres")
    expect(page.locator("#sales-reports")).to_contain_text("1 envoyée")
    assert re.search(r"ticket T\d+", text)
