"""The foundation as a person uses it, in Chromium on a 375 px phone screen.

Each test makes its own account (a unique e-mail address), so the tests do not depend on
one another nor on their order.
"""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

PASSWORD = "correct-horse-battery"  # 10 characters at least
AMAP_ADMIN_TABS = [
    "COMMANDES",
    "MES CONTRATS",
    "PRODUCTEURS",
    "MEMBRES",
    "DISTRIBUTIONS",
    "CATALOGUES",
    "MESSAGERIE",
    "PAIEMENTS",
    "PARAMÈTRES",
]
SAVED = "Paramètres enregistrés."
NAME_MISSING = "Indiquez le nom du groupe."


def unique_email(who: str) -> str:
    return f"{who}-{uuid.uuid4().hex[:10]}@example.org"


def header(page: Page):
    return page.locator("header.top")


def sign_up(page: Page, email: str, first_name: str = "Camille", last_name: str = "Martin"):
    page.goto("/inscription")
    page.get_by_label("Prénom", exact=True).fill(first_name)
    page.get_by_label("Nom", exact=True).fill(last_name)
    page.get_by_label("E-mail", exact=True).fill(email)
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Créer mon compte").click()
    expect(page.get_by_role("heading", level=1, name="Mes groupes")).to_be_visible()


def create_group(
    page: Page,
    name: str,
    kind: str = "amap",
    registration: str = "open",
    description: str = "Paniers de légumes le jeudi soir.",
) -> str:
    """Fills /groupes/nouveau; returns the group's path, /g/<slug>."""
    page.goto("/groupes/nouveau")
    page.get_by_label("Nom du groupe").fill(name)
    page.get_by_label("Type").select_option(kind)
    page.get_by_label("Inscription des membres").select_option(registration)
    page.get_by_label("Présentation").fill(description)
    page.get_by_role("button", name="Créer le groupe").click()
    expect(page).to_have_url(re.compile(r"/g/[a-z0-9-]+$"))
    return "/g/" + page.url.rsplit("/g/", 1)[1]


def tab_labels(page: Page) -> list[str]:
    tabs = page.get_by_role("navigation", name="Onglets du groupe").get_by_role("link")
    return [text.strip() for text in tabs.all_inner_texts()]


def no_horizontal_scroll(page: Page) -> None:
    widths = page.evaluate(
        "() => ({doc: document.documentElement.scrollWidth, body: document.body.scrollWidth,"
        " view: window.innerWidth})"
    )
    assert widths["view"] == 375, widths
    assert widths["doc"] <= 375, f"la page défile horizontalement à 375 px : {widths}"
    assert widths["body"] <= 375, f"la page défile horizontalement à 375 px : {widths}"


def wait_for_htmx(page: Page) -> None:
    page.wait_for_function("() => window.htmx !== undefined")


# 1 -------------------------------------------------------------------------------------


def test_sign_up_lands_on_my_groups_and_sends_the_welcome_mail(page: Page, server):
    email = unique_email("signup")
    sign_up(page, email, first_name="Camille")

    expect(page).to_have_url(server.base_url + "/")
    expect(page.get_by_text("Vous ne faites encore partie d'aucun groupe.")).to_be_visible()
    expect(header(page).get_by_role("link", name="Camille")).to_be_visible()
    expect(header(page).get_by_role("button", name="Déconnexion")).to_be_visible()

    # The in-process worker writes it to VAR_DIR/outbox/ as an .eml file.
    mails = server.wait_for_mail(email, seconds=10)
    assert len(mails) == 1
    assert "Camille" in mails[0].get_body(preferencelist=("plain",)).get_content()


# 2 -------------------------------------------------------------------------------------


def test_log_out_then_log_in(page: Page):
    email = unique_email("login")
    sign_up(page, email, first_name="Dominique", last_name="Bernard")

    header(page).get_by_role("button", name="Déconnexion").click()
    expect(header(page).get_by_role("link", name="Connexion")).to_be_visible()
    expect(header(page).get_by_role("link", name="Dominique")).to_have_count(0)
    # Logged out, a member page sends to the login page.
    page.goto("/groupes/nouveau")
    expect(page).to_have_url(re.compile(r"/connexion\?next="))

    page.goto("/connexion")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Mot de passe").fill("not-the-password")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.locator(".field.invalid")).not_to_have_count(0)
    expect(header(page).get_by_role("link", name="Dominique")).to_have_count(0)

    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1, name="Mes groupes")).to_be_visible()
    expect(header(page).get_by_role("link", name="Dominique")).to_be_visible()


# 3 -------------------------------------------------------------------------------------


def test_create_an_amap_shows_its_tabs_and_share_address(page: Page, server):
    sign_up(page, unique_email("create"))
    path = create_group(page, "AMAP des Tilleuls", kind="amap", registration="open")

    assert path.startswith("/g/amap-des-tilleuls")
    expect(page.get_by_role("heading", level=1, name="AMAP des Tilleuls")).to_be_visible()
    expect(page.get_by_text("Paniers de légumes le jeudi soir.")).to_be_visible()
    assert tab_labels(page) == AMAP_ADMIN_TABS

    share = page.get_by_role("textbox", name="Adresse du groupe")
    expect(share).to_have_value(server.base_url + path)
    expect(share).not_to_be_editable()
    expect(page.get_by_role("button", name="Partager")).to_be_visible()

    # The group is on the creator's home, marked admin.
    page.goto("/")
    item = page.get_by_role("listitem").filter(has_text="AMAP des Tilleuls")
    expect(item).to_contain_text("AMAP")
    expect(item).to_contain_text("admin")


def test_share_button_copies_the_address(new_context, server):
    context = new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.base_url)
    page = context.new_page()
    sign_up(page, unique_email("share"))
    path = create_group(page, "Marché du samedi", kind="market")

    page.get_by_role("button", name="Partager").click()
    expect(page.get_by_text("Adresse copiée")).to_be_visible()
    assert page.evaluate("() => navigator.clipboard.readText()") == server.base_url + path


# 4 -------------------------------------------------------------------------------------


def test_settings_are_saved_in_place_with_htmx(page: Page):
    sign_up(page, unique_email("settings"))
    path = create_group(page, "AMAP du Moulin", registration="open")

    page.get_by_role("navigation", name="Onglets du groupe").get_by_role(
        "link", name="PARAMÈTRES"
    ).click()
    expect(page).to_have_url(re.compile(re.escape(path) + "/parametres$"))
    wait_for_htmx(page)
    page.evaluate("() => { window.__sameDocument = 'oui'; }")

    page.get_by_label("Nom du groupe").fill("AMAP du Grand Moulin")
    page.get_by_label("Inscription des membres").select_option("waiting_list")
    page.get_by_role("button", name="Enregistrer").click()

    expect(page.get_by_role("status")).to_have_text(SAVED)
    assert page.evaluate("() => window.__sameDocument") == "oui", "la page a été rechargée"
    expect(page).to_have_url(re.compile(re.escape(path) + "/parametres$"))
    expect(page.get_by_label("Nom du groupe")).to_have_value("AMAP du Grand Moulin")
    expect(page.get_by_label("Inscription des membres")).to_have_value("waiting_list")

    page.reload()
    expect(page.get_by_text(SAVED)).to_have_count(0)
    expect(page.get_by_label("Nom du groupe")).to_have_value("AMAP du Grand Moulin")
    expect(page.get_by_label("Inscription des membres")).to_have_value("waiting_list")
    expect(page.get_by_role("heading", level=1, name="AMAP du Grand Moulin")).to_be_visible()

    # An empty name: the error shows at the field, in place, and nothing is saved.
    wait_for_htmx(page)
    page.evaluate("() => { window.__sameDocument = 'encore'; }")
    page.get_by_label("Nom du groupe").fill("")
    page.get_by_label("Inscription des membres").select_option("closed")
    page.get_by_role("button", name="Enregistrer").click()

    name_field = page.locator(".field").filter(has=page.get_by_label("Nom du groupe"))
    expect(name_field.locator(".error")).to_have_text(NAME_MISSING)
    expect(page.get_by_label("Nom du groupe")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert")).to_contain_text("Rien n'a été enregistré")
    expect(page.get_by_text(SAVED)).to_have_count(0)
    assert page.evaluate("() => window.__sameDocument") == "encore", "la page a été rechargée"

    page.reload()
    expect(page.get_by_label("Nom du groupe")).to_have_value("AMAP du Grand Moulin")
    expect(page.get_by_label("Inscription des membres")).to_have_value("waiting_list")
    expect(page.get_by_text(NAME_MISSING)).to_have_count(0)

    page.goto(path)
    expect(page.get_by_text("Inscription : Liste d'attente")).to_be_visible()


# 5 -------------------------------------------------------------------------------------


def test_settings_work_without_javascript(new_context):
    page = new_context(java_script_enabled=False).new_page()
    sign_up(page, unique_email("nojs"))
    path = create_group(page, "Épicerie solidaire du Port", kind="grocery")
    assert page.evaluate("1 + 1") == 2  # evaluate still works, page scripts do not
    expect(page.get_by_role("navigation", name="Onglets du groupe")).not_to_contain_text(
        "MES CONTRATS"
    )

    page.goto(path + "/parametres")
    page.get_by_label("Nom du groupe").fill("Épicerie solidaire du Vieux-Port")
    page.get_by_label("Inscription des membres").select_option("closed")
    page.get_by_role("button", name="Enregistrer").click()

    expect(page.get_by_text(SAVED)).to_be_visible()
    expect(page.get_by_label("Nom du groupe")).to_have_value("Épicerie solidaire du Vieux-Port")
    expect(page.get_by_label("Inscription des membres")).to_have_value("closed")
    # A whole page came back: the group header already shows the new name.
    expect(
        page.get_by_role("heading", level=1, name="Épicerie solidaire du Vieux-Port")
    ).to_be_visible()

    page.get_by_label("Nom du groupe").fill("   ")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text(NAME_MISSING)).to_be_visible()
    expect(page.get_by_text(SAVED)).to_have_count(0)

    page.goto(path + "/parametres")
    expect(page.get_by_label("Nom du groupe")).to_have_value("Épicerie solidaire du Vieux-Port")


# 6 -------------------------------------------------------------------------------------


def test_no_horizontal_scroll_at_375px(page: Page, shots):
    sign_up(page, unique_email("phone"), first_name="Marie-Christine")
    path = create_group(
        page,
        "Association pour le maintien d'une agriculture paysanne du Val-de-Marne",
        description=(
            "Distribution le jeudi de 18 h à 19 h 30, cour de l'école.\n"
            "Infos : https://example.org/?adhesion=" + "a1b2c3d4e5" * 8
        ),
    )

    page.goto(path)
    expect(page.get_by_role("button", name="Partager")).to_be_visible()
    # A long address with no break point wraps; the line break typed by the admin stays.
    no_horizontal_scroll(page)
    assert "\n" in page.locator(".description").inner_text()
    tabs = page.get_by_role("navigation", name="Onglets du groupe")
    # The tab bar scrolls inside itself rather than widening the page.
    assert tabs.evaluate("el => el.scrollWidth > el.clientWidth")
    assert tabs.evaluate("el => getComputedStyle(el).overflowX") == "auto"
    page.screenshot(path=str(shots / "group-home-375.png"), full_page=True)

    page.goto(path + "/parametres")
    expect(page.get_by_role("button", name="Enregistrer")).to_be_visible()
    no_horizontal_scroll(page)
    page.screenshot(path=str(shots / "settings-375.png"), full_page=True)

    wait_for_htmx(page)
    page.get_by_label("Nom du groupe").fill("")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text(NAME_MISSING)).to_be_visible()
    no_horizontal_scroll(page)
    page.screenshot(path=str(shots / "settings-error-375.png"), full_page=True)


# Known app bug -------------------------------------------------------------------------


def test_unknown_address_shows_the_not_found_page(page: Page):
    response = page.goto("/cette-page-n-existe-pas")
    assert response is not None and response.status == 404
    expect(page.get_by_text("Page introuvable")).to_be_visible()
    expect(page.get_by_role("link", name="Retour à l'accueil")).to_be_visible()
