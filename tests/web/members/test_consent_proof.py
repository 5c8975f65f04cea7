"""The proof of a Mode création consent (« une pièce justificative de ce consentement »):
a PDF or a photo of the signed form attached to the consent record, stored privately,
checked (type, size, pixels), read back by the group's admins only."""

from __future__ import annotations

import html
import io
import re

from PIL import Image

from domain.demo import world as build
from domain.kernel import images
from domain.tables import ConsentRecord
from tests.helpers import csrf_token, login, make_group, make_user

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def shown(response) -> str:
    return html.unescape(response.text)


def photo(width: int = 3000, height: int = 4000, *, fmt: str = "JPEG", gps: bool = True) -> bytes:
    image = Image.new("RGB", (width, height), (250, 250, 240))
    out = io.BytesIO()
    if fmt == "JPEG" and gps:
        exif = Image.Exif()
        exif[0x8825] = {2: (48.0, 51.0, 24.0), 4: (2.0, 21.0, 7.0)}  # GPSInfo: Paris
        exif[0x010F] = "Téléphone"  # Make
        image.save(out, fmt, exif=exif)
    else:
        image.save(out, fmt)
    return out.getvalue()


async def world() -> dict:
    admin = await make_user("admin@example.org", "Adèle", "Admin")
    group = await make_group(admin, "AMAP des Lilas")
    person = await build.created_account(group["id"], admin, "jeanne@invente.example")
    record = (await ConsentRecord.select(ConsentRecord.id).first())["id"]
    base = f"/g/{group['slug']}/membres/{person}"
    return {
        "admin": admin,
        "group": group,
        "person": person,
        "record": record,
        "page": base,
        "url": f"{base}/consentement/{record}/piece",
    }


async def upload(
    client, url: str, data: bytes, name: str = "formulaire.pdf", kind: str = "application/pdf"
):
    return await client.post(
        url,
        files={"proof": (name, data, kind)},
        data={"_csrf_token": await csrf_token(client)},
    )


async def stored(record: int) -> dict:
    return await ConsentRecord.select().where(ConsentRecord.id == record).first()


async def test_an_admin_attaches_the_signed_form_and_downloads_it(client):
    w = await world()
    await login(client, "admin@example.org")
    page = shown(await client.get(w["page"]))
    assert "Aucune pièce justificative jointe" in page and "Joindre la pièce justificative" in page

    done = await upload(client, w["url"], PDF)
    assert done.status_code == 200
    assert "Pièce justificative du consentement enregistrée." in shown(done)
    assert "PDF du formulaire signé</a> (1 Ko), jointe le" in shown(done)
    row = await stored(w["record"])
    assert bytes(row["proof"]) == PDF and row["proof_type"] == "application/pdf"

    got = await client.get(w["url"])
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-type"].startswith("application/pdf")
    assert got.headers["cache-control"] == "private, no-store"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"].startswith("attachment;")
    assert "Consentement%20-%20Jeanne%20Papier.pdf" in got.headers["content-disposition"]

    # A photo replaces it: made again as a JPEG to read the form, without the phone's data.
    sent = photo()
    assert b"Exif" in sent[:200]
    done = await upload(client, w["url"], sent, "IMG_0042.jpg", "image/jpeg")
    assert "photo du formulaire signé" in shown(done)
    row = await stored(w["record"])
    assert row["proof_type"] == "image/jpeg" and row["proof_size"] == len(row["proof"])
    with Image.open(io.BytesIO(bytes(row["proof"]))) as kept:
        assert kept.format == "JPEG" and max(kept.size) == 2000
        assert not kept.getexif()
    got = await client.get(w["url"])
    assert got.headers["content-type"] == "image/jpeg"
    assert "Jeanne%20Papier.jpg" in got.headers["content-disposition"]
    # A PNG is a photo too.
    assert (
        await upload(client, w["url"], photo(800, 600, fmt="PNG"), "f.png", "image/png")
    ).status_code == 200


async def test_a_bad_file_is_refused_at_the_field_in_french(client):
    w = await world()
    await login(client, "admin@example.org")
    field = f'id="f-proof-{w["record"]}"'
    cases = [
        (b"", "Choisissez la photo ou le PDF du formulaire signé."),
        (
            b"Bonjour, ceci est un texte.",
            "Ce fichier n'est ni une photo (JPEG, PNG, WebP) ni un PDF.",
        ),
        (
            b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
            "Ce fichier n'est ni une photo (JPEG, PNG, WebP) ni un PDF.",
        ),
        (photo(60, 40, fmt="GIF"), "Ce fichier n'est ni une photo (JPEG, PNG, WebP) ni un PDF."),
        (b"%PDF-1.4\n" + b"x" * 10_000, "Ce PDF est incomplet : envoyez-le à nouveau."),
        (PDF + b"0" * (5 * 1024 * 1024), "Le fichier ne doit pas dépasser 5 Mo."),
        # 10,000 × 5,000 pixels of one colour: a small file, 200 MB once decoded.
        (
            photo(10_000, 5_000, fmt="PNG"),
            "La photo est trop grande (10000 × 5000 pixels) : 40 millions",
        ),
    ]
    for data, message in cases:
        answer = await upload(client, w["url"], data, "scan.bin", "application/octet-stream")
        assert answer.status_code == 422, message
        text = shown(answer)
        assert message in text
        # At the field: its input marked, the message under it.
        assert re.search(rf'{field}[^>]*aria-invalid="true"', answer.text), message
        assert f'id="e-proof-{w["record"]}"' in answer.text
        row = await stored(w["record"])
        assert row["proof"] is None and row["proof_type"] == ""
    assert images.MAX_PIXELS == 40_000_000


async def test_only_the_groups_admins_read_or_attach_the_proof(app, client):
    w = await world()
    await login(client, "admin@example.org")
    assert (await upload(client, w["url"], PDF)).status_code == 200

    manager = await make_user("gestion@example.org", "Gil", "Gestion")
    await build.join(w["group"]["id"], manager, can_members=True)
    member = await make_user("membre@example.org", "Mia", "Membre")
    await build.join(w["group"]["id"], member)
    other_admin = await make_user("autre@example.org", "Otto", "Autre")
    other = await build.group(other_admin, "Marché d'ailleurs", "market")
    # A second Mode création account of the group, with its own record.
    second = await build.created_account(w["group"]["id"], w["admin"], "paul@invente.example")
    second_record = (
        await ConsentRecord.select(ConsentRecord.id).where(ConsentRecord.user == second).first()
    )["id"]

    # The admin, but a record named under another person: not found.
    crossed = f"/g/{w['group']['slug']}/membres/{second}/consentement/{w['record']}/piece"
    assert (await client.get(crossed)).status_code == 404
    assert (await upload(client, crossed, PDF)).status_code == 404
    unknown = f"{w['page']}/consentement/{second_record + 100}/piece"
    assert (await client.get(unknown)).status_code == 404
    assert (
        await client.get(
            f"/g/{w['group']['slug']}/membres/{second}/consentement/{second_record}/piece"
        )
    ).status_code == 404  # none attached

    for email, status in (("gestion@example.org", 403), ("membre@example.org", 403)):
        visitor = type(client)(app=app, base_url="http://localhost")
        await login(visitor, email)
        got = await visitor.get(w["url"])
        assert got.status_code == status and PDF not in got.content
        assert (await upload(visitor, w["url"], b"%PDF-1.4 autre\n%%EOF")).status_code == status
    # The member manager sees the record, not the proof's link.
    visitor = type(client)(app=app, base_url="http://localhost")
    await login(visitor, "gestion@example.org")
    page = shown(await visitor.get(w["page"]))
    assert "Une pièce justificative est jointe ; seuls les administrateurs" in page
    assert w["url"] not in page

    # Another group's admin: through their own group, the person is no member (404);
    # through this group's address, not theirs (403).
    visitor = type(client)(app=app, base_url="http://localhost")
    await login(visitor, "autre@example.org")
    own = f"/g/{other['slug']}/membres/{w['person']}/consentement/{w['record']}/piece"
    assert (await visitor.get(own)).status_code == 404
    assert (await upload(visitor, own, b"%PDF-1.4 autre\n%%EOF")).status_code == 404
    got = await visitor.get(w["url"])
    assert got.status_code == 403 and PDF not in got.content
    anonymous = type(client)(app=app, base_url="http://localhost")
    assert (await anonymous.get(w["url"], follow_redirects=False)).status_code == 303
    assert bytes((await stored(w["record"]))["proof"]) == PDF
