"""NUL bytes and text that is not UTF-8 are refused at the edge with a French 400, before
any lookup, and change nothing; a value over the longest any field takes likewise."""

from __future__ import annotations

import pytest

from domain.tables import User
from tests.helpers import csrf_token, login, make_group, make_user, post_form


async def users() -> list[dict]:
    return await User.select(User.email, User.first_name, User.last_name).order_by(User.id)


@pytest.mark.parametrize(
    "path",
    ["/g/%00", "/g/amap%00/catalogues", "/g/%FF%FE", "/connexion?next=%00", "/?page=%C3%28"],
)
async def test_an_address_with_nul_or_bad_utf8_is_a_french_400(client, path):
    response = await client.get(path)
    assert response.status_code == 400
    assert "adresse" in response.text.lower() or "champ" in response.text.lower()
    assert "Bad Request" not in response.text


async def test_nul_in_login_and_sign_up_is_refused_and_writes_nothing(client):
    await make_user("bob@example.org")
    before = await users()
    for url, data in [
        ("/connexion", {"email": "bob@example.org\x00", "password": "x"}),
        (
            "/inscription",
            {"email": "eve@example.org", "password": "long-enough-1", "first_name": "E\x00ve"},
        ),
    ]:
        response = await post_form(client, url, data)
        assert response.status_code == 400, response.text
        assert "caractère nul" in response.text
    assert await users() == before


async def test_invalid_utf8_in_an_urlencoded_form_is_not_saved_as_replacement_chars(client):
    admin = await make_user("admin@example.org")
    await login(client, "admin@example.org")
    token = await csrf_token(client)
    body = b"name=Caf%E9+des+Lilas&kind=amap&registration=open&_csrf_token=" + token.encode()
    response = await client.post(
        "/groupes/nouveau",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert "« Nom » contient du texte illisible" in response.text
    from domain import groups

    assert await groups.groups_of(admin, "main") == []


async def test_invalid_utf8_in_a_multipart_text_field_is_refused_but_files_may_hold_any_byte(
    client,
):
    admin = await make_user("admin@example.org")
    group = await make_group(admin, "AMAP des Lilas")
    await login(client, "admin@example.org")
    token = await csrf_token(client)
    boundary = "XyZ"

    def multipart(subject: bytes) -> bytes:
        return (
            f'--{boundary}\r\nContent-Disposition: form-data; name="_csrf_token"\r\n\r\n{token}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="subject"\r\n\r\n'.encode()
            + subject
            + f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="body"\r\n\r\nBonjour\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="attachment"; '
            'filename="a.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n".encode()
            + b"%PDF-1.4 \x00\xff\xfe binary"
            + f"\r\n--{boundary}--\r\n".encode()
        )

    url = f"/g/{group['slug']}/messagerie/apercu"
    headers = {"content-type": f"multipart/form-data; boundary={boundary}", "HX-Request": "true"}
    refused = await client.post(url, content=multipart(b"R\xe9union"), headers=headers)
    assert refused.status_code == 400
    assert refused.headers["hx-reswap"] == "none"
    assert refused.text.startswith("Le champ « Objet » contient du texte illisible")
    # The same form with a readable subject reaches the handler (the file's bytes are fine).
    accepted = await client.post(url, content=multipart("Réunion".encode()), headers=headers)
    assert accepted.status_code != 400, accepted.text


async def test_a_100_kb_value_is_refused_with_its_field_named(client):
    await make_user("bob@example.org")
    response = await post_form(client, "/connexion", {"email": "x" * 100_000, "password": "x"})
    assert response.status_code == 400
    assert "« E-mail » est trop long" in response.text
