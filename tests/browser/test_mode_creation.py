"""Mode création in Chromium, as people do it: the admin at a computer (1280 px) creates
the account of a person without e-mail, sees in MESSAGERIE that she will not get the
group's messages by mail, and prints her takeover sheet; the person, on a phone (375 px),
types the code of the sheet and chooses her password; from then on the group's mails
reach her. Screenshots go to the test's temporary folder."""

from __future__ import annotations

import re
import time
import uuid

from playwright.sync_api import expect

from tests.browser.test_members_flow import log_in, no_horizontal_scroll, world

DESKTOP = {"width": 1280, "height": 800}
NEW_PASSWORD = "mon-mot-de-passe-a-moi"


def unique(who: str) -> str:
    return f"{who}-{uuid.uuid4().hex[:10]}"


def states_of(server, address: str) -> list[str]:
    return [row[2] for row in server.outbox_rows(address)]


def wait_states(server, address: str, expected: set[str], seconds: float = 10) -> list[str]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = states_of(server, address)
        if found and set(found) <= expected:
            return found
        time.sleep(0.1)
    raise AssertionError(f"états des e-mails de {address} : {states_of(server, address)}")


def test_admin_creates_in_mode_creation_prints_the_sheet_and_the_person_takes_over(
    new_context, server, shots
):
    w = world(server, kind="amap", registration="closed", products=1)
    email = unique("jeanne") + "@invente.example"
    admin = new_context(viewport=DESKTOP).new_page()
    log_in(admin, w["admin_email"])

    # 1. The account, created for her with her consent.
    admin.goto(w["path"] + "/membres/nouveau")
    admin.get_by_label("Mode création", exact=True).check()
    expect(admin.get_by_text("tant qu'elle n'a pas repris son compte")).to_be_visible()
    admin.get_by_label("E-mail").fill(email)
    admin.get_by_label("Prénom").fill("Jeanne")
    admin.get_by_label("Nom", exact=True).fill("Papier")
    admin.get_by_label(re.compile("J'ai obtenu le consentement")).check()
    admin.screenshot(path=str(shots / "creation-form-1280.png"), full_page=True)
    admin.get_by_role("button", name="Inscrire ce client").click()
    expect(admin.get_by_text("aucun e-mail ne lui est envoyé tant que la personne")).to_be_visible()
    expect(admin.get_by_text("Compte créé en Mode création, pas encore repris")).to_be_visible()
    expect(admin.get_by_role("heading", name="Reprise du compte")).to_be_visible()
    expect(admin.get_by_label("Joindre la pièce justificative")).to_be_visible()
    expect(admin.get_by_role("button", name="Renvoyer l'invitation")).to_have_count(0)
    member_url = admin.url
    admin.screenshot(path=str(shots / "creation-member-page-1280.png"), full_page=True)

    # 2. MESSAGERIE says she will not get the message by mail; it is not sent to her.
    admin.goto(w["path"] + "/messagerie")
    expect(admin.locator("#recipient-count")).to_have_text(
        "2 destinataires, dont 1 ne recevra pas ce message par e-mail (1 compte créé en Mode "
        "création, pas encore repris par la personne) : pensez à prévenir cette personne "
        "autrement."
    )
    admin.get_by_label("Objet").fill("Distribution de samedi")
    admin.get_by_label("Message").fill("Bonjour à tous.")
    admin.get_by_role("button", name="Envoyer").click()
    expect(admin.get_by_text("1 ne le recevra pas par e-mail")).to_be_visible()
    admin.screenshot(path=str(shots / "creation-messagerie-1280.png"), full_page=True)
    assert wait_states(server, email, {"dropped"}) == ["dropped"]
    assert server.mails_to(email) == []
    admin.reload()
    expect(admin.locator(".message .states").first).to_contain_text("Non envoyés : 1")

    # 3. The takeover sheet, to print.
    admin.goto(member_url)
    admin.get_by_role("button", name="Imprimer une fiche de reprise").click()
    expect(admin.get_by_role("heading", name=re.compile("Votre compte sur"))).to_be_visible()
    expect(admin.get_by_text("Bonjour Jeanne Papier,")).to_be_visible()
    code = admin.locator(".sheet-code").inner_text()
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", code), code
    expect(admin.get_by_text(f"{server.base_url}/reprise", exact=True)).to_be_visible()
    expect(admin.get_by_role("button", name="Imprimer")).to_be_visible()
    admin.screenshot(path=str(shots / "creation-takeover-sheet-1280.png"), full_page=True)
    admin.emulate_media(media="print")
    expect(admin.get_by_role("button", name="Imprimer")).to_be_hidden()
    expect(admin.locator("header.top")).to_be_hidden()
    expect(admin.locator(".sheet-code")).to_be_visible()
    admin.screenshot(path=str(shots / "creation-takeover-sheet-print.png"), full_page=True)
    admin.emulate_media(media="screen")

    # 4. The person, on her phone, with the sheet in her hand.
    person = new_context().new_page()
    person.goto("/reprise")
    expect(person.get_by_role("heading", name="Reprendre mon compte")).to_be_visible()
    person.get_by_label("Code de la fiche de reprise").fill("ZZZZ-ZZZZ")
    person.get_by_role("button", name="Continuer").click()
    expect(person.get_by_text("Ce code ne correspond à aucun compte à reprendre")).to_be_visible()
    person.get_by_label("Code de la fiche de reprise").fill(code.lower().replace("-", " "))
    person.get_by_role("button", name="Continuer").click()
    expect(person.get_by_text("Compte de Jeanne Papier")).to_be_visible()
    expect(person.get_by_label("Adresse e-mail")).to_have_value(email)
    no_horizontal_scroll(person)
    person.screenshot(path=str(shots / "creation-takeover-password-375.png"), full_page=True)
    person.get_by_label("Mot de passe").fill("court")
    person.get_by_role("button", name="Reprendre mon compte").click()
    expect(person.get_by_text("au moins 10 caractères")).to_be_visible()
    person.get_by_label("Mot de passe").fill(NEW_PASSWORD)
    person.get_by_role("button", name="Reprendre mon compte").click()
    expect(person.get_by_text("Votre compte est à vous")).to_be_visible()
    expect(person.get_by_role("link", name=w["name"])).to_be_visible()
    no_horizontal_scroll(person)
    person.screenshot(path=str(shots / "creation-taken-over-375.png"), full_page=True)

    # 5. A normal account now: the group's next message reaches her.
    admin.goto(w["path"] + "/messagerie")
    expect(admin.locator("#recipient-count")).to_have_text("2 destinataires")
    admin.get_by_label("Objet").fill("Après la reprise")
    admin.get_by_label("Message").fill("Bienvenue, Jeanne.")
    admin.get_by_role("button", name="Envoyer").click()
    expect(admin.get_by_text("Message envoyé à 2 destinataires.")).to_be_visible()
    [mail] = server.wait_for_mail(email)
    assert "Après la reprise" in str(mail["Subject"])
    admin.goto(member_url)
    expect(admin.get_by_role("heading", name="Reprise du compte")).to_have_count(0)
