"""Joining a group and managing its members, in Chromium at 375 px, as people do it:
each registration mode's path, the invitation link, the waiting list accepted and refused,
Mode création, the instant search, leaving a group.

Groups and admins are made in the server's database by the real domain code (seed.py);
each test uses its own group and addresses. Mails are the server's .eml files.
"""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from tests.helpers import PASSWORD


def unique(who: str) -> str:
    return f"{who}-{uuid.uuid4().hex[:10]}"


def world(server, **spec) -> dict:
    spec.setdefault("admin", unique("admin") + "@example.org")
    spec.setdefault("name", "Marché " + unique("m"))
    spec.setdefault("products", 1)
    return server.seed(**spec) | {"admin_email": spec["admin"], "name": spec["name"]}


def text_of(mail) -> str:
    return mail.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


def link_in(text: str, path: str) -> str:
    match = re.search(rf"https?://[^\s]*{re.escape(path)}[^\s]*", text)
    assert match, f"aucun lien {path} dans : {text}"
    return match.group(0)


def mails_with(server, address: str, subject: str, count: int = 1) -> list:
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = [m for m in server.mails_to(address) if subject in str(m["Subject"])]
        if len(found) >= count:
            return found
        time.sleep(0.1)
    raise AssertionError(f"pas de mail « {subject} » pour {address} : {server.mails_to(address)}")


def log_in(page: Page, email: str) -> None:
    page.goto("/connexion")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1, name="Mes groupes")).to_be_visible()


def fill_sign_up(page: Page, email: str, first_name: str) -> None:
    page.get_by_label("Prénom", exact=True).fill(first_name)
    page.get_by_label("Nom", exact=True).fill("Test")
    page.get_by_label("E-mail", exact=True).fill(email)
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Créer mon compte").click()


def no_horizontal_scroll(page: Page) -> None:
    widths = page.evaluate(
        "() => ({doc: document.documentElement.scrollWidth, view: window.innerWidth})"
    )
    assert widths["doc"] <= widths["view"] == 375, widths


# 1 -------------------------------------------------------------------------------------


def test_open_market_visitor_follows_it_creating_an_account_on_the_way(page: Page, server):
    w = world(server, kind="market", registration="open")
    email = unique("fan") + "@example.org"
    page.goto(w["path"])
    expect(page.get_by_role("link", name="Faire mes courses")).to_be_visible()
    page.get_by_role("link", name="Suivre ce marché").click()
    expect(page).to_have_url(re.compile(re.escape(w["path"]) + "/suivre$"))
    page.get_by_role("link", name="Créer mon compte").click()
    fill_sign_up(page, email, "Félix")
    # Back on the way: one more tap to follow.
    expect(page).to_have_url(re.compile(re.escape(w["path"]) + "/suivre$"))
    page.get_by_role("button", name="Suivre ce marché").click()
    expect(page).to_have_url(re.compile(re.escape(w["path"]) + "$"))
    expect(page.get_by_role("status")).to_contain_text("Vous suivez maintenant")
    expect(page.get_by_role("link", name="COMMANDES", exact=True)).to_be_visible()
    mail = mails_with(server, email, f"Bienvenue dans {w['name']}")[0]
    assert w["path"] in text_of(mail)
    no_horizontal_scroll(page)


# 2 -------------------------------------------------------------------------------------


def test_waiting_list_request_then_the_admin_accepts_from_the_mail(new_context, server, shots):
    w = world(server, kind="amap", registration="waiting_list", name="AMAP " + unique("a"))
    email = unique("cleo") + "@example.org"
    visitor = new_context().new_page()
    visitor.goto(w["path"])
    expect(visitor.get_by_role("heading", name="Liste d'attente")).to_be_visible()
    visitor.get_by_role("link", name="Créer un compte").click()
    fill_sign_up(visitor, email, "Cléo")
    expect(visitor).to_have_url(re.compile(re.escape(w["path"]) + "(#rejoindre)?$"))
    visitor.get_by_label("Message pour les administrateurs (facultatif)").fill("Je suis voisine.")
    visitor.get_by_role("button", name="Demander à rejoindre").click()
    expect(visitor.get_by_role("status").first).to_contain_text("Votre demande est envoyée")
    expect(visitor.get_by_text("est en attente de réponse")).to_be_visible()
    visitor.screenshot(path=str(shots / "members-waiting-home-375.png"), full_page=True)

    request_mail = mails_with(server, w["admin_email"], "demande d'inscription de Cléo")[0]
    assert "Je suis voisine." in text_of(request_mail)
    link = link_in(text_of(request_mail), "/membres?filtre=attente")
    admin = new_context().new_page()
    log_in(admin, w["admin_email"])
    admin.goto(link)
    card = admin.locator("section.card", has_text=email)
    expect(card).to_contain_text("Je suis voisine.")
    no_horizontal_scroll(admin)
    admin.screenshot(path=str(shots / "members-waiting-list-375.png"), full_page=True)
    card.get_by_role("button", name="Accepter").click()
    expect(admin.get_by_role("status").first).to_contain_text("Demande acceptée")
    expect(admin.get_by_text("Aucune demande en attente.")).to_be_visible()

    welcome = mails_with(server, email, f"Bienvenue dans {w['name']}")[0]
    assert "Votre demande est acceptée" in text_of(welcome)
    visitor.goto(w["path"])
    expect(visitor.get_by_role("link", name="COMMANDES", exact=True)).to_be_visible()


def test_waiting_list_the_admin_refuses_with_a_message(new_context, server):
    w = world(server, kind="market", registration="waiting_list")
    email = unique("refus") + "@example.org"
    visitor = new_context().new_page()
    visitor.goto("/inscription")
    fill_sign_up(visitor, email, "Rémi")
    visitor.goto(w["path"])
    visitor.get_by_role("button", name="Demander à rejoindre").click()
    expect(visitor.get_by_text("est en attente de réponse")).to_be_visible()

    admin = new_context().new_page()
    log_in(admin, w["admin_email"])
    admin.goto(w["path"] + "/membres")
    admin.get_by_role("navigation", name="Gestion des membres").get_by_role(
        "link", name="Liste d'attente"
    ).click()
    card = admin.locator("section.card", has_text=email)
    card.get_by_text("Refuser", exact=True).click()
    card.get_by_label(re.compile("^Message pour")).fill("Nous sommes complets.")
    card.get_by_role("button", name="Refuser la demande").click()
    expect(admin.get_by_role("status").first).to_contain_text("Demande refusée")

    mail = mails_with(server, email, "votre demande d'inscription")[0]
    assert "Nous sommes complets." in text_of(mail)
    visitor.goto(w["path"])
    expect(visitor.get_by_text("n'a pas été acceptée")).to_be_visible()
    expect(visitor.get_by_role("link", name="COMMANDES", exact=True)).to_have_count(0)


# 3 -------------------------------------------------------------------------------------


def test_closed_group_the_admin_adds_a_client_who_finishes_through_the_invitation(
    new_context, server
):
    w = world(server, kind="market", registration="closed")
    email = unique("invitee") + "@example.org"
    visitor = new_context().new_page()
    visitor.goto(w["path"])
    expect(visitor.get_by_text("Ce groupe est fermé")).to_be_visible()
    expect(visitor.get_by_role("link", name="Suivre ce marché")).to_have_count(0)

    admin = new_context().new_page()
    log_in(admin, w["admin_email"])
    admin.goto(w["path"] + "/membres")
    admin.get_by_role("link", name="Nouveau client").click()
    admin.get_by_label("E-mail").fill("pas une adresse")
    admin.wait_for_function("() => window.htmx !== undefined")
    admin.get_by_role("button", name="Inscrire ce client").click()
    expect(admin.get_by_text("Cette adresse e-mail n'est pas valide.")).to_be_visible()
    admin.get_by_label("E-mail").fill(email)
    admin.get_by_label("Prénom").fill("Inès")
    admin.get_by_role("button", name="Inscrire ce client").click()
    expect(admin.get_by_role("heading", name="Inès")).to_be_visible()
    expect(admin.get_by_text("Invitation en attente")).to_be_visible()

    mail = mails_with(server, email, f"Bienvenue dans {w['name']}")[0]
    link = link_in(text_of(mail), "/invitation/")
    visitor.goto(link)
    expect(visitor.get_by_label("Prénom")).to_have_value("Inès")
    visitor.get_by_label("Nom", exact=True).fill("Invitée")
    visitor.get_by_label("Mot de passe").fill(PASSWORD)
    visitor.get_by_role("button", name="Finir mon inscription").click()
    expect(visitor.get_by_text("Votre inscription est terminée")).to_be_visible()
    visitor.goto("/")
    expect(visitor.get_by_role("link", name=w["name"])).to_be_visible()
    # The link worked once.
    other = new_context().new_page()
    other.goto(link)
    expect(other.get_by_text("Ce lien n'est plus valable")).to_be_visible()


def test_mode_creation_asks_for_consent_and_the_admin_orders_for_the_person(
    new_context, server, shots
):
    w = world(server, kind="market", registration="closed", products=2)
    admin = new_context().new_page()
    log_in(admin, w["admin_email"])
    admin.goto(w["path"] + "/membres/nouveau")
    consent = admin.get_by_label(re.compile("J'ai obtenu le consentement de cette personne"))
    expect(consent).to_be_hidden()  # shown once "Mode création" is ticked
    admin.get_by_label("Mode création", exact=True).check()
    expect(consent).to_be_visible()
    admin.get_by_label("E-mail").fill(unique("sansmail") + "@invente.example")
    admin.get_by_label("Prénom").fill("Jeanne")
    admin.get_by_label("Nom", exact=True).fill("Papier")
    admin.get_by_role("button", name="Inscrire ce client").click()
    expect(admin.get_by_text("le consentement de la personne est obligatoire")).to_be_visible()
    admin.get_by_label(re.compile("J'ai obtenu le consentement")).check()
    admin.get_by_role("button", name="Inscrire ce client").click()
    expect(admin.get_by_role("heading", name="Consentement (Mode création)")).to_be_visible()
    no_horizontal_scroll(admin)
    admin.screenshot(path=str(shots / "members-member-page-375.png"), full_page=True)
    admin.get_by_role("link", name="Commander pour cette personne").click()
    admin.get_by_role("link", name="Commander pour cette personne").first.click()
    admin.locator(f"#q{w['products'][0]}").fill("2")
    admin.get_by_role("button", name="Valider la commande de Jeanne Papier").click()
    expect(admin.get_by_text("Commande validée pour Jeanne Papier")).to_be_visible()
    expect(admin.locator(f"#q{w['products'][0]}")).to_have_value("2")
    no_horizontal_scroll(admin)


# 4 -------------------------------------------------------------------------------------


def test_instant_search_and_leaving_a_group(new_context, server, shots):
    member = unique("zephyrin") + "@example.org"
    w = world(server, kind="market", registration="open", members=[member])
    admin = new_context().new_page()
    log_in(admin, w["admin_email"])
    admin.goto(w["path"] + "/membres")
    admin.wait_for_function("() => window.htmx !== undefined")
    admin.evaluate("() => { window.__same = 'oui'; }")
    expect(admin.locator(".member-rows li")).to_have_count(2)
    admin.get_by_label("Rechercher (nom, prénom, e-mail)").press_sequentially("zephy")
    expect(admin.locator(".member-rows li")).to_have_count(1)
    expect(admin.locator(".member-rows")).to_contain_text(member)
    assert admin.evaluate("() => window.__same") == "oui", "la page a été rechargée"
    expect(admin).to_have_url(re.compile(r"\?q=zephy"))
    no_horizontal_scroll(admin)
    admin.screenshot(path=str(shots / "members-search-375.png"), full_page=True)

    person = new_context().new_page()
    log_in(person, member)
    person.goto("/compte")
    person.get_by_role("link", name="Mes marchés suivis").click()
    person.locator("section.card", has_text=w["name"]).get_by_role(
        "link", name="Quitter ce marché"
    ).click()
    person.get_by_role("button", name="Quitter ce marché").click()
    expect(person.get_by_role("status")).to_contain_text(f"Vous ne suivez plus {w['name']}")
    expect(person.get_by_text("Vous ne suivez aucun marché")).to_be_visible()
    admin.reload()  # the same search, kept in the address
    expect(admin.get_by_label("Rechercher (nom, prénom, e-mail)")).to_have_value("zephy")
    expect(admin.get_by_text("Aucun membre ne correspond.")).to_be_visible()


# 5 -------------------------------------------------------------------------------------


def test_import_shows_the_bad_rows_then_imports_a_good_file(new_context, server, shots):
    from pathlib import Path

    corpus = Path(__file__).resolve().parents[1] / "fixtures" / "member_import"
    w = world(server, kind="amap", registration="closed", name="AMAP " + unique("i"))
    admin = new_context().new_page()
    log_in(admin, w["admin_email"])
    admin.goto(w["path"] + "/membres")
    admin.get_by_role("link", name="Importer des clients").click()
    expect(admin.get_by_role("link", name="Télécharger le modèle (CSV)")).to_be_visible()
    admin.get_by_label(re.compile("^Fichier CSV")).set_input_files(str(corpus / "bad_rows.csv"))
    admin.get_by_role("button", name="Voir l'aperçu").click()
    expect(admin.get_by_text("4 lignes à corriger")).to_be_visible()
    expect(admin.get_by_text("Ligne 2 : e-mail invalide : « pas-une-adresse »")).to_be_visible()
    expect(admin.get_by_role("button", name=re.compile("^Importer ces"))).to_have_count(0)
    no_horizontal_scroll(admin)
    admin.screenshot(path=str(shots / "members-import-errors-375.png"), full_page=True)

    content = (
        (corpus / "excel_cp1252_accents.csv")
        .read_bytes()
        .replace(b"@example.org", f"-{uuid.uuid4().hex[:8]}@example.org".encode())
    )
    admin.get_by_label(re.compile("^Fichier CSV")).set_input_files(
        files=[{"name": "excel.csv", "mimeType": "text/csv", "buffer": content}]
    )
    admin.get_by_role("button", name="Voir l'aperçu").click()
    expect(admin.get_by_text("encodage Windows-1252")).to_be_visible()
    expect(admin.get_by_role("cell", name="Hélène Dupré")).to_be_visible()
    admin.get_by_role("button", name="Importer ces 2 lignes").click()
    expect(admin.get_by_role("status").first).to_contain_text(
        "Import terminé : 2 personnes invitées"
    )
    expect(admin.locator(".member-rows")).to_contain_text("Dupré Hélène")
