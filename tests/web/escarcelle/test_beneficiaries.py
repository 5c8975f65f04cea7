"""Step 6 of seed 002: Membres → « Import Escarcelle » (the Export Mailing: every row with a
code client, an e-mail and a postal code, or nothing imported; a preview first; an
invitation each; the consent rule for existing accounts), and a beneficiary whose access
ended cannot order."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

from domain.demo import world as build
from domain.kernel import clock
from domain.kernel.dates import paris_day
from domain.tables import ConsentRecord, Membership, Order, OrderLine, OutboxMail, Product, User
from tests.helpers import csrf_token, login, post_form
from tests.web.escarcelle.conftest import grocery_world, linked_grocery

HEADER = "Code client;Nom;Prénom;Adresse;Code postal;Ville;Téléphone;Email;Fin d'accès\n"


async def upload(client, slug: str, content: bytes):
    return await client.post(
        f"/g/{slug}/membres/import-escarcelle",
        files={"file": ("export.csv", content, "text/csv")},
        data={"_csrf_token": await csrf_token(client)},
    )


async def test_the_export_mailing_is_previewed_then_imported_with_the_ids(
    client, escarcelle_url, simulator
):
    w = await linked_grocery(client, simulator, members=1)
    slug = w["points"][0]["group"]["slug"]
    group_id = w["points"][0]["group"]["id"]
    already = w["points"][0]["members"][0]
    await build.person("ancien@example.org", "Compte", "Ailleurs")  # an account of its own
    already_email = (await User.select(User.email).where(User.id == already).first())["email"]
    rows = [
        "C0001;Durand;Amina;1 rue Haute;35000;Rennes;06 12 34 56 78;amina@example.org;31/12/2027",
        f"C0002;Point0;Membre;;35000;Rennes;;{already_email};",
        "C0003;Ailleurs;Compte;;35700;Rennes;;ancien@example.org;2027-06-30",
    ]
    content = (HEADER + "\n".join(rows) + "\n").encode("cp1252")
    preview = await upload(client, slug, content)
    assert preview.status_code == 200, preview.text
    text = html.unescape(preview.text)
    assert "2 invitations seront envoyées" in text and "1 membre déjà là" in text
    # The account of its own reads as any new address: « will be invited ».
    row = re.search(r"<tr><td>4</td>.*?</tr>", text).group(0)
    assert "Sera invité et ajouté au groupe" in row
    assert await Membership.count().where(Membership.group == group_id) == 2  # lise + one
    signed = re.search(r'name="signed" value="([^"]+)"', preview.text).group(1)
    done = await post_form(
        client,
        f"/g/{slug}/membres/import-escarcelle/confirmer",
        {"signed": signed},
        follow_redirects=False,
    )
    assert done.status_code == 303
    members = {
        m["email"]: m
        for m in await Membership.select(
            Membership.escarcelle_id,
            Membership.escarcelle_access_until,
            Membership.accepted_at,
            Membership.user.email.as_alias("email"),
        ).where(Membership.group == group_id)
    }
    assert members["amina@example.org"]["escarcelle_id"] == "C0001"
    assert members["amina@example.org"]["escarcelle_access_until"] == date(2027, 12, 31)
    assert members[already_email]["escarcelle_id"] == "C0002"
    # An existing account: invited, it has not said yes yet (the consent rule).
    assert members["ancien@example.org"]["accepted_at"] is None
    mails = await OutboxMail.select(OutboxMail.to_addr).where(
        OutboxMail.to_addr.is_in(["amina@example.org", "ancien@example.org"])
    )
    assert sorted(m["to_addr"] for m in mails) == ["amina@example.org", "ancien@example.org"]
    (record,) = await ConsentRecord.select().where(
        ConsentRecord.user.is_in(User.select(User.id).where(User.email == "amina@example.org"))
    )
    assert "importé depuis Escarcelle" in record["statement"]
    assert "La Passerelle" in record["statement"] or "Passerelle" in record["statement"]


async def test_rows_without_email_or_postal_code_refuse_the_whole_file(
    client, escarcelle_url, simulator
):
    w = await linked_grocery(client, simulator, members=0)
    slug = w["points"][0]["group"]["slug"]
    content = (
        "\ufeffCODE CLIENT,nom,prénom,CP,E-mail\n"
        "C1,Durand,Amina,35000,amina@example.org\n"
        "C2,Martin,Bruno,,bruno@example.org\n"
        "C3,Petit,Chloé,35000,\n"
        "C1,Roux,David,35000,david@example.org\n"
    ).encode()
    refused = await upload(client, slug, content)
    assert refused.status_code == 422
    text = html.unescape(refused.text)
    assert "Ligne 3 : code postal manquant" in text
    assert "Ligne 4 : e-mail manquant" in text
    assert "Ligne 5 : le code client C1 est déjà à la ligne 2 du fichier" in text
    assert "Importer ces" not in text
    assert await User.count().where(User.email == "amina@example.org") == 0


async def test_a_point_without_a_linked_grocery_refuses_the_import(client):
    w = await grocery_world()
    await login(client, "lise@example.org")
    slug = w["points"][0]["group"]["slug"]
    page = await client.get(f"/g/{slug}/membres/import-escarcelle")
    assert page.status_code == 200 and "Aucune épicerie liée à Escarcelle" in html.unescape(
        page.text
    )
    refused = await upload(client, slug, (HEADER + "C1;A;B;;35000;R;;a@example.org;\n").encode())
    assert refused.status_code == 422


async def test_a_beneficiary_whose_access_ended_cannot_order(
    client, app, escarcelle_url, simulator
):
    w = await linked_grocery(client, simulator, members=1)
    point = w["points"][0]
    member = point["members"][0]
    yesterday = paris_day(clock.now()) - timedelta(days=1)
    await Membership.update(
        {Membership.escarcelle_id: "C0001", Membership.escarcelle_access_until: yesterday}
    ).where(Membership.user == member)
    listing = await client.get(f"/g/{point['group']['slug']}/membres")
    assert f"Accès terminé le {yesterday:%d/%m/%Y}" in html.unescape(listing.text)
    buyer = type(client)(app=app, base_url="http://localhost")
    email = (await User.select(User.email).where(User.id == member).first())["email"]
    await login(buyer, email)
    url = f"/g/{point['group']['slug']}/commandes/{point['distribution']}"
    page = html.unescape((await buyer.get(url)).text)
    ended = f"Votre accès à l'épicerie solidaire a pris fin le {yesterday:%d/%m/%Y}"
    assert ended in page and "Contactez l'épicerie" in page
    assert "Valider ma commande" not in page  # nothing to press
    pasta = w["products"]["1001"]
    refused = await post_form(buyer, f"{url}/ligne/{pasta}", {"delta": "1"}, htmx=True)
    assert ended in html.unescape(refused.text)
    submitted = await post_form(buyer, url, {f"q{pasta}": "1", "valider": "1"})
    assert submitted.status_code == 422 and ended in html.unescape(submitted.text)
    plus = await post_form(buyer, url, {"set": f"{pasta}:1"})  # « + » without JavaScript
    assert plus.status_code == 422 and ended in html.unescape(plus.text)
    assert await OrderLine.count() == 0
    assert await Order.count() == 0  # the refused change left no basket behind
    stock = await Product.select(Product.stock).where(Product.id == pasta).first()
    assert stock["stock"] > 0 and await Product.count().where(Product.stock < 0) == 0


async def test_the_end_of_access_follows_escarcelle_export_after_export(
    client, app, escarcelle_url, simulator
):
    """Ended in Escarcelle, then imported: refused; a file without the column keeps the end
    known; the period renewed in Escarcelle and imported again: the beneficiary orders."""
    w = await linked_grocery(client, simulator, members=1)
    point = w["points"][0]
    slug = point["group"]["slug"]
    member = point["members"][0]
    email = (await User.select(User.email).where(User.id == member).first())["email"]
    yesterday = paris_day(clock.now()) - timedelta(days=1)
    simulator.client("C0001", email=email, access_until=yesterday.isoformat())

    async def import_file(content: bytes) -> None:
        preview = await upload(client, slug, content)
        assert preview.status_code == 200, preview.text
        signed = re.search(r'name="signed" value="([^"]+)"', preview.text).group(1)
        done = await post_form(
            client, f"/g/{slug}/membres/import-escarcelle/confirmer", {"signed": signed}
        )
        assert done.status_code == 200, done.text

    export = simulator.export_mailing()
    assert f";{yesterday:%d/%m/%Y}\r\n".encode() in export  # « Fin d'accès », jj/mm/aaaa
    await import_file(export)
    preview_text = html.unescape((await upload(client, slug, export)).text)
    assert "Fin d'accès" in preview_text and f"{yesterday:%d/%m/%Y}" in preview_text
    assert "Accès terminé le" in html.unescape((await client.get(f"/g/{slug}/membres")).text)
    buyer = type(client)(app=app, base_url="http://localhost")
    await login(buyer, email)
    url = f"/g/{slug}/commandes/{point['distribution']}"
    pasta = w["products"]["1001"]
    refused = await post_form(buyer, url, {f"q{pasta}": "1", "valider": "1"})
    assert "a pris fin le" in html.unescape(refused.text)
    # A file without « Fin d'accès »: the end known here stays.
    await import_file(
        b"Code client;Nom;Pr\xe9nom;Code postal;Email\r\n"
        + f"C0001;Point0;B\u00e9n\u00e9ficiaire;35000;{email}\r\n".encode("cp1252")
    )
    row = await Membership.select(Membership.escarcelle_access_until).where(
        Membership.user == member
    )
    assert row[0]["escarcelle_access_until"] == yesterday
    # Renewed in Escarcelle, exported and imported again: the beneficiary orders at once.
    renewed = paris_day(clock.now()) + timedelta(days=365)
    simulator.client("C0001", access_until=renewed.isoformat())
    await import_file(simulator.export_mailing())
    listing = html.unescape((await client.get(f"/g/{slug}/membres")).text)
    assert "Accès terminé le" not in listing
    page = html.unescape((await buyer.get(url)).text)
    assert "a pris fin le" not in page and "Valider ma commande" in page
    done = await post_form(buyer, url, {f"q{pasta}": "1", "valider": "1"}, follow_redirects=False)
    assert done.status_code == 303, done.text
    assert await OrderLine.count() == 1
