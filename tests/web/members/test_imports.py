""" "Importer des clients": files as spreadsheets write them, a corpus of bad files (each
gives a clear message and imports nothing), the preview carried signed to the
confirmation, one transaction for everything, mails only after the commit."""

from __future__ import annotations

import html
import os
import re
from datetime import timedelta
from pathlib import Path

import pytest

from domain.kernel import clock
from domain.members import imports
from domain.outbox import MailContext
from domain.tables import AccountToken, Membership, OutboxMail, User
from tests.helpers import csrf_token, link_in, login, make_group, make_user, post_form
from tests.stack import text_of

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "member_import"


def shown(response) -> str:
    return html.unescape(response.text)


async def upload(client, slug: str, content: bytes, name: str = "clients.csv"):
    return await client.post(
        f"/g/{slug}/membres/import",
        files={"file": (name, content, "text/csv")},
        data={"_csrf_token": await csrf_token(client)},
    )


def signed_of(response) -> str:
    match = re.search(r'name="signed" value="([^"]+)"', response.text)
    assert match, "pas de bouton d'import dans l'aperçu"
    return html.unescape(match.group(1))


async def counts() -> tuple[int, int, int, int]:
    return (
        await User.count(),
        await Membership.count(),
        await AccountToken.count(),
        await OutboxMail.count(),
    )


@pytest.fixture
async def admin_world(client):
    admin = await make_user("admin@example.org", first_name="Adèle")
    group = await make_group(admin, "AMAP Import")
    await login(client, "admin@example.org")
    return {"admin": admin, "group": group, "slug": group["slug"]}


# ---- the page and the template ---------------------------------------------------------


async def test_import_page_explains_the_columns_and_the_template_reads_back(client, admin_world):
    page = await client.get(f"/g/{admin_world['slug']}/membres/import")
    assert page.status_code == 200
    for column in ("Prénom", "Nom", "E-mail", "Téléphone", "Adresse", "Code postal", "Ville"):
        assert f"<strong>{column}</strong>" in page.text
    assert "Prénom 2, Nom 2, E-mail 2" in page.text
    response = await client.get(f"/g/{admin_world['slug']}/membres/import/modele.csv")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith("\ufeff".encode())
    assert response.content.decode("utf-8-sig").splitlines()[0] == (
        "Prénom;Nom;E-mail;Téléphone;Adresse;Code postal;Ville;Prénom 2;Nom 2;E-mail 2;Téléphone 2"
    )
    preview = imports.parse(response.content)
    assert preview.ok and len(preview.rows) == 1


# ---- the bad files ------------------------------------------------------------------------

# file -> what the page must say (the whole file refused, or the bad rows listed by line).
BAD_FILES = {
    "empty.csv": ["Le fichier est vide."],
    "only_headers.csv": ["ne contient que la ligne d'en-tête"],
    "missing_column.csv": ["Ligne 1 : colonne obligatoire absente : « E-mail »."],
    "unknown_column.csv": ["Ligne 1 : colonne inconnue « Fax » (colonne n° 4)."],
    "duplicate_emails.csv": [
        "Ligne 3 : l'e-mail camille@example.org est déjà à la ligne 2 du fichier"
    ],
    "mixed_separators.csv": [
        "Ligne 3 : cette ligne est séparée par « , » alors que la ligne d'en-tête l'est par « ; »"
    ],
    "too_many_columns.csv": ["Ligne 3 : 4 valeurs pour 3 colonnes"],
    "formulas.csv": [
        "Ligne 2 : la colonne « Prénom » commence par « = » (une formule de tableur)",
        "Ligne 3 : la colonne « Nom » commence par « @ »",
        "Ligne 4 : la colonne « Téléphone » commence par « + »",
        "Ligne 5 : la colonne « Nom » commence par « - »",
    ],
    "bad_rows.csv": [
        "Ligne 2 : e-mail invalide : « pas-une-adresse »",
        "Ligne 3 : prénom manquant",
        "Ligne 4 : nom manquant",
        "Ligne 5 : e-mail manquant",
        "4 lignes à corriger : rien ne sera importé",
    ],
    "utf16_without_bom.csv": ["Ce fichier n'est pas un tableau CSV lisible"],
    "binary_junk.csv": ["Ce fichier n'est pas un tableau CSV lisible"],
    "spreadsheet.xlsx.csv": ["C'est un fichier Excel (.xlsx ou .ods), pas un CSV"],
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
async def test_bad_file_gives_a_clear_message_and_imports_nothing(client, admin_world, name):
    before = await counts()
    response = await upload(client, admin_world["slug"], (CORPUS / name).read_bytes(), name)
    assert response.status_code == 422, name
    text = shown(response)
    for message in BAD_FILES[name]:
        assert message in text, f"{name} : « {message} » absent"
    assert 'name="signed"' not in response.text  # no way to confirm
    assert await counts() == before


async def test_ten_megabytes_of_junk_is_refused_with_a_message(client, admin_world):
    before = await counts()
    junk = os.urandom(10 * 1024 * 1024)
    response = await upload(client, admin_world["slug"], junk, "gros.csv")
    assert response.status_code == 422
    assert "Le fichier est trop volumineux (10 Mo) : 4 Mo au plus." in shown(response)
    assert await counts() == before


async def test_no_file_chosen(client, admin_world):
    response = await upload(client, admin_world["slug"], b"", "")
    assert response.status_code == 422
    assert "Choisissez le fichier CSV à importer." in response.text


# ---- the files spreadsheets write -----------------------------------------------------------

GOOD_FILES = {
    "utf8_semicolon.csv": ("UTF-8", ";", {"camille@example.org": ("Camille", "Martin")}),
    "utf8_bom_comma.csv": ("UTF-8", ",", {"elise@example.org": ("Élise", "Rivière")}),
    "excel_cp1252_accents.csv": (
        "Windows-1252",
        ";",
        {"helene@example.org": ("Hélène", "Dupré"), "francois@example.org": ("François", "Lœuvre")},
    ),
    "latin1.csv": ("Windows-1252", ";", {"gaelle@example.org": ("Gaëlle", "Noël")}),
    "quoted_newlines.csv": (
        "UTF-8",
        ";",
        {
            "jean@example.org": ('Jean; dit "Jeannot"', "Dupont"),
            "luc@example.org": ("Luc", "Petit"),
        },
    ),
    "headers_any_order.csv": ("UTF-8", ",", {"anna@example.org": ("Anna", "Durand")}),
}


@pytest.mark.parametrize("name", sorted(GOOD_FILES))
async def test_files_as_spreadsheets_write_them_are_read(client, admin_world, name):
    encoding, delimiter, people = GOOD_FILES[name]
    response = await upload(client, admin_world["slug"], (CORPUS / name).read_bytes(), name)
    assert response.status_code == 200, shown(response)
    text = shown(response)
    assert f"encodage {encoding}" in text
    assert f"séparateur « {delimiter} »" in text
    for email, (first, last) in people.items():
        assert email in text and f"{first} {last}" in text
    assert "Sera invité et ajouté au groupe" in text
    response = await post_form(
        client,
        f"/g/{admin_world['slug']}/membres/import/confirmer",
        {"signed": signed_of(response)},
    )
    assert "Import terminé" in response.text
    for email, (first, last) in people.items():
        user = await User.select().where(User.email == email).first()
        assert (user["first_name"], user["last_name"]) == (first, last)
        assert user["password_hash"] is None
        assert await Membership.exists().where(
            (Membership.user == user["id"]) & (Membership.group == admin_world["group"]["id"])
        )


async def test_quoted_newlines_keep_line_numbers_of_the_file(client, admin_world):
    content = (CORPUS / "quoted_newlines.csv").read_bytes() + "Zoé;;zoe@example.org;\n".encode()
    response = await upload(client, admin_world["slug"], content)
    assert "Ligne 5 : nom manquant" in shown(response)  # the quoted address spans lines 2-3


# ---- what happens to each person ----------------------------------------------------------


async def test_existing_accounts_are_linked_members_skipped_and_mails_sent_after_commit(
    client, admin_world, mailbox
):
    group = admin_world["group"]
    existing = await make_user("existe@example.org", first_name="Eva", last_name="Ancienne")
    member = await make_user("membre@example.org")
    await Membership.insert(Membership(user=member, group=group["id"]))
    content = (
        "E-mail;Prénom;Nom;Téléphone;Ville\n"
        "EXISTE@example.org;Autre;Prénom;;\n"
        "membre@example.org;M;M;;\n"
        "neuf@example.org;Noé;Neuf;06 01 02 03 04;Lyon\n"
    ).encode()
    response = await upload(client, admin_world["slug"], content)
    text = shown(response)
    # The same answer for an address with an account and one without (point 7).
    assert text.count("Sera invité et ajouté au groupe") == 2
    assert "Déjà membre : rien à faire" in text
    assert "compte" not in text.split("Aperçu", 1)[1].split("Charger un autre fichier")[0]
    assert "À l'import : 2 invitations seront envoyées" in text
    users_before = await User.count()
    signed = signed_of(response)
    url = f"/g/{admin_world['slug']}/membres/import/confirmer"
    response = await post_form(client, url, {"signed": signed})
    assert "2 personnes invitées et ajoutées au groupe, 1 personne déjà membre" in shown(response)
    assert await User.count() == users_before + 1  # linked, not duplicated
    assert (await User.select().where(User.id == existing).first())["first_name"] == "Eva"
    new = await User.select().where(User.email == "neuf@example.org").first()
    assert new["phone"] == "06 01 02 03 04"
    await mailbox.wait_for("existe@example.org", subject="Bienvenue dans AMAP Import")
    invitation = (await mailbox.wait_for("neuf@example.org", subject="Bienvenue dans AMAP Import"))[
        0
    ]
    link = link_in(text_of(invitation), "/invitation/")
    assert mailbox.to("membre@example.org") == []
    # Confirming the same preview again (a double click) adds no one and sends nothing.
    mails = await OutboxMail.count()
    response = await post_form(client, url, {"signed": signed})
    assert "0 personne invitée et ajoutée au groupe, 3 personnes déjà" in shown(response)
    assert await OutboxMail.count() == mails and await User.count() == users_before + 1
    client.cookies.clear()
    assert (await client.get(link.replace("http://localhost", ""))).status_code == 200


async def test_a_couple_shares_one_membership(client, admin_world):
    content = (CORPUS / "headers_any_order.csv").read_bytes()
    response = await upload(client, admin_world["slug"], content)
    assert "paul@example.org" in response.text
    await post_form(
        client,
        f"/g/{admin_world['slug']}/membres/import/confirmer",
        {"signed": signed_of(response)},
    )
    anna = await User.select().where(User.email == "anna@example.org").first()
    paul = await User.select().where(User.email == "paul@example.org").first()
    rows = {
        m["user"]: m["shared_with"]
        for m in await Membership.select().where(Membership.user.is_in([anna["id"], paul["id"]]))
    }
    assert rows == {anna["id"]: paul["id"], paul["id"]: anna["id"]}
    page = await client.get(f"/g/{admin_world['slug']}/membres/{anna['id']}")
    assert "adhésion partagée avec Paul Durand" in page.text
    # The address is kept, for both of the couple; shown on the member's page.
    assert (anna["address"], anna["postal_code"], anna["city"]) == ("5 rue X", "75011", "Paris")
    assert (paul["postal_code"], paul["city"]) == ("75011", "Paris")
    assert "5 rue X, 75011 Paris" in page.text


# ---- the preview is what is imported, all or nothing --------------------------------------


async def test_confirmation_refuses_a_tampered_expired_or_other_group_preview(client, admin_world):
    content = (CORPUS / "utf8_semicolon.csv").read_bytes()
    response = await upload(client, admin_world["slug"], content)
    signed = signed_of(response)
    other = await make_group(admin_world["admin"], "Marché Autre", "market")
    before = await counts()
    url = f"/g/{admin_world['slug']}/membres/import/confirmer"
    payload, mac = signed.rsplit(".", 1)
    tampered = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + mac
    for bad in (tampered, "", "n'importe quoi", signed + "0"):
        response = await post_form(client, url, {"signed": bad})
        assert response.status_code == 422
        assert "L'aperçu n'est pas valide" in shown(response)
    # Signed for this group; shown to another group whose admin is the same person.
    response = await post_form(
        client, f"/g/{other['slug']}/membres/import/confirmer", {"signed": signed}
    )
    assert response.status_code == 422 and "celui d'un autre groupe" in shown(response)
    assert await counts() == before
    # An hour later it has expired.
    with (
        clock.travel(timedelta(seconds=3601)),
        pytest.raises(imports.ImportProblem, match="expiré"),
    ):
        imports.unsign(signed, admin_world["group"]["id"], "test-secret-key-0123456789abcdef")


async def test_import_is_one_transaction_nothing_stays_if_it_fails(admin_world, monkeypatch):
    """A failure after users, memberships and tokens were written: all is rolled back, and
    no mail row exists to be sent."""
    group_id = admin_world["group"]["id"]
    rows = [
        {
            "line": i + 2,
            "email": f"p{i}@example.org",
            "first_name": "P",
            "last_name": f"N{i}",
            "phone": "",
            "email_2": "",
            "first_name_2": "",
            "last_name_2": "",
            "phone_2": "",
        }
        for i in range(1200)
    ]
    before = await counts()

    async def broken(mails):
        assert len(mails) == 1200
        raise RuntimeError("panne au milieu de l'import")

    monkeypatch.setattr(imports.outbox, "queue_many", broken)
    ctx = MailContext(instance="main", site_name="Test", base_url="http://localhost")
    with pytest.raises(RuntimeError):
        await imports.confirm(group_id, rows, ctx)
    assert await counts() == before
    monkeypatch.undo()
    result = await imports.confirm(group_id, rows, ctx)  # chunks of 500: 3 inserts each
    assert (result.created, result.linked, result.already) == (1200, 0, 0)
    assert len(result.mail_ids) == 1200
    assert await Membership.count() == 1201
    assert await AccountToken.count() == 1200


async def test_a_bad_row_slipped_into_signed_rows_imports_nothing(admin_world):
    ctx = MailContext(instance="main", site_name="Test", base_url="http://localhost")
    good = {"line": 2, "email": "ok@example.org", "first_name": "O", "last_name": "K", "phone": ""}
    bad = good | {"line": 3, "email": "pas-une-adresse"}
    empty_second = {"email_2": "", "first_name_2": "", "last_name_2": "", "phone_2": ""}
    before = await counts()
    with pytest.raises(imports.ImportProblem, match="Ligne 3"):
        await imports.confirm(
            admin_world["group"]["id"], [good | empty_second, bad | empty_second], ctx
        )
    assert await counts() == before


async def test_a_refused_file_says_nothing_was_imported_nor_sent(client, admin_world, mailbox):
    """A file with a bad line is refused whole: the preview says so at its top, and its good
    lines say what would be done once the file is corrected, never that an invitation went
    (13.6); an address with an account reads as one without."""
    await make_user("existe@example.org", "Eva", "Ancienne")
    member = await make_user("membre@example.org")
    await Membership.insert(Membership(user=member, group=admin_world["group"]["id"]))
    content = (
        "E-mail;Prénom;Nom\n"
        "existe@example.org;Eva;Ancienne\n"
        "inconnu@example.org;Eva;Ancienne\n"
        "membre@example.org;M;M\n"
        "pas-une-adresse;Léa;Blanc\n"
    ).encode()
    before = await counts()
    response = await upload(client, admin_world["slug"], content)
    assert response.status_code == 422
    text = shown(response)
    preview = text.split("Aperçu", 1)[1].split("Charger un autre fichier")[0]
    assert re.search(
        r'<p class="refused" role="alert"><strong>Fichier refusé : rien n\'a été importé, '
        r"aucune invitation n'a été envoyée\.</strong>",
        preview,
    )
    assert "Ligne 5 : e-mail invalide : « pas-une-adresse »" in preview
    rows = {
        email: re.sub(r"<td>\d+</td>", "", row.replace(email, "@"))
        for row in re.findall(r"<tr>.*?</tr>", preview, re.S)
        for email in ("existe@example.org", "inconnu@example.org", "membre@example.org")
        if email in row
    }
    wanted = "Sans erreur : sera invité et ajouté au groupe quand le fichier corrigé sera importé"
    assert wanted in rows["existe@example.org"]
    assert rows["existe@example.org"] == rows["inconnu@example.org"]  # no account revealed
    assert "Sans erreur : déjà membre, rien à faire" in rows["membre@example.org"]
    for misleading in ("Invitation envoyée", "invitations envoyées", "seront envoyées", "compte"):
        assert misleading not in preview, misleading
    assert 'name="signed"' not in response.text
    assert await counts() == before
    assert mailbox.to("inconnu@example.org") == [] and mailbox.to("existe@example.org") == []


async def test_a_file_refused_as_a_whole_says_nothing_was_sent(client, admin_world):
    response = await upload(client, admin_world["slug"], (CORPUS / "empty.csv").read_bytes())
    assert response.status_code == 422
    assert (
        "<strong>Rien n'a été importé, aucune invitation n'a été envoyée.</strong> "
        "Le fichier est vide." in shown(response)
    )


async def test_an_importable_preview_says_what_the_import_will_do(client, admin_world):
    response = await upload(
        client, admin_world["slug"], (CORPUS / "utf8_semicolon.csv").read_bytes()
    )
    assert response.status_code == 200
    text = shown(response)
    assert "refused" not in text and "Fichier refusé" not in text
    assert "À l'import : 2 invitations seront envoyées (personnes ajoutées au groupe)" in text
    assert "Rien n'est fait avant que vous cliquiez sur « Importer »." in text
    assert "Invitation envoyée" not in text
