"""Sessions: a new token at login, logout, password reset and e-mail change; a token the
server did not make is never adopted; a reset ends every session of the account; a visitor
costs no session; sessions live in the database."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from litestar.testing import AsyncTestClient

from domain.tables import WebSession
from tests.helpers import (
    PASSWORD,
    link_in,
    login,
    make_distribution_world,
    make_user,
    post_form,
)
from tests.stack import text_of


def browser(app) -> AsyncTestClient:
    return AsyncTestClient(app=app, base_url="http://localhost")


async def reads_account(app, token: str) -> bool:
    """A second browser holding only this session cookie: does it see /compte?"""
    async with browser(app) as other:
        other.cookies.set("session", token, domain="localhost.local")
        response = await other.get("/compte", follow_redirects=False)
        return response.status_code == 200


async def test_a_planted_session_id_is_never_adopted(app, client):
    """An invented id set in the victim's browser before login is not the logged-in one."""
    await make_user("ana@example.org")
    planted = secrets.token_hex(32)
    client.cookies.set("session", planted, domain="localhost.local")
    await login(client, "ana@example.org")
    assert client.cookies.get("session") not in (None, planted)
    assert not await reads_account(app, planted)
    assert await reads_account(app, client.cookies.get("session"))
    assert await WebSession.count() == 1


async def test_a_guest_basket_session_gets_a_new_id_at_login_and_keeps_the_basket(app, client):
    """A guest basket left on a shared computer: its id is worth nothing once someone logs in."""
    admin = await make_user("admin@example.org")
    world = await make_distribution_world(admin, products=1)
    [product] = world["products"]
    await make_user("bea@example.org")
    await post_form(client, f"{world['url']}/ligne/{product}", {"q": "2"}, htmx=True)
    guest = client.cookies.get("session")
    assert guest and await WebSession.count() == 1
    await login(client, "bea@example.org")
    logged = client.cookies.get("session")
    assert logged != guest
    assert not await reads_account(app, guest)
    [row] = await WebSession.select()  # the guest's row is gone, not left behind
    assert f'"basket:{world["distribution"]}":{{"{product}":2}}' in row["data"]  # kept


async def test_logout_ends_the_session(app, client):
    await make_user("cy@example.org")
    await login(client, "cy@example.org")
    token = client.cookies.get("session")
    await post_form(client, "/deconnexion")
    assert not await reads_account(app, token)
    assert await WebSession.count() == 0


async def test_a_password_reset_ends_every_session_of_the_account(app, client, mailbox):
    await make_user("dan@example.org")
    async with browser(app) as phone:
        await login(phone, "dan@example.org")
        elsewhere = phone.cookies.get("session")
    await post_form(client, "/compte/mot-de-passe-oublie", {"email": "dan@example.org"})
    [mail] = await mailbox.wait_for("dan@example.org", subject="nouveau mot de passe")
    path = urlsplit(link_in(text_of(mail), "/compte/mot-de-passe/")).path
    response = await post_form(client, path, {"password": "nouveau-mot-de-passe"})
    assert response.status_code == 200
    assert not await reads_account(app, elsewhere)
    assert await reads_account(app, client.cookies.get("session"))
    assert await WebSession.count() == 1


async def test_confirming_a_new_address_gives_a_new_session_id(app, client, mailbox):
    await make_user("eve@example.org")
    await login(client, "eve@example.org")
    before = client.cookies.get("session")
    await post_form(
        client, "/compte/email", {"new_email": "eve2@example.org", "password": PASSWORD}
    )
    [mail] = await mailbox.wait_for("eve2@example.org")
    path = urlsplit(link_in(text_of(mail), "/compte/email/")).path
    assert (await client.get(path)).status_code == 200
    after = client.cookies.get("session")
    assert after != before and not await reads_account(app, before)
    assert await reads_account(app, after)


async def test_a_visitor_reading_pages_writes_no_session(client):
    admin = await make_user("admin@example.org")
    world = await make_distribution_world(admin, products=3)
    for path in ("/", "/connexion", f"/g/{world['group']['slug']}", world["url"]):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert "session=" not in response.headers.get("set-cookie", "")
    assert await WebSession.count() == 0


async def test_a_page_read_with_a_session_writes_nothing_back(client):
    await make_user("flo@example.org")
    await login(client, "flo@example.org")
    [row] = await WebSession.select()
    for _ in range(3):
        assert (await client.get("/compte")).status_code == 200
    [again] = await WebSession.select()
    assert again == row
