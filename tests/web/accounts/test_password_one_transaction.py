"""A new password and the end of the account's sessions are one transaction: if the
sessions cannot be ended (here a trigger refuses it), the password is not changed either,
and a reset link is not used up."""

from __future__ import annotations

from datetime import timedelta

import pytest
from litestar.testing import AsyncTestClient

from domain.kernel import tokens
from domain.kernel.clock import now
from domain.tables import AccountToken, User, WebSession
from tests.faults import failing_writes
from tests.helpers import PASSWORD, login, make_user, post_form


@pytest.fixture
async def browser(app):
    """A browser that gets the 500 page of a failed request (not the exception)."""
    return AsyncTestClient(app=app, base_url="http://localhost", raise_server_exceptions=False)


async def _hash_of(user_id: int) -> str:
    return (await User.select(User.password_hash).where(User.id == user_id).first())[
        "password_hash"
    ]


async def test_a_reset_whose_sessions_cannot_end_changes_no_password(app, browser, client):
    dan = await make_user("dan@example.org", "Dan")
    await login(client, "dan@example.org")  # another browser, logged in
    before = await _hash_of(dan)
    raw, digest = tokens.new_token()
    await AccountToken.insert(
        AccountToken(
            user=dan, purpose="reset", token_hash=digest, expires_at=now() + timedelta(hours=1)
        )
    )
    path = f"/compte/mot-de-passe/{raw}"
    async with failing_writes("web_session", "DELETE"):
        response = await post_form(browser, path, {"password": "nouveau-mot-de-passe"})
    assert response.status_code == 500
    assert await _hash_of(dan) == before  # before: changed, the other browser still in
    assert (await AccountToken.select(AccountToken.used_at).first())["used_at"] is None
    assert await WebSession.exists().where(WebSession.user == dan)

    # The link still works, and then does all of it.
    response = await post_form(browser, path, {"password": "nouveau-mot-de-passe"})
    assert response.status_code in (200, 303)
    assert await _hash_of(dan) != before
    assert (await client.get("/compte", follow_redirects=False)).status_code != 200


async def test_a_change_whose_sessions_cannot_end_keeps_the_password(app, browser, client):
    dan = await make_user("dan@example.org", "Dan")
    await login(client, "dan@example.org")  # another browser, logged in
    await login(browser, "dan@example.org")
    before = await _hash_of(dan)
    form = {"current_password": PASSWORD, "new_password": "nouveau-mot-de-passe"}
    async with failing_writes("web_session", "DELETE"):
        response = await post_form(browser, "/compte/mot-de-passe", form)
    assert response.status_code == 500
    assert await _hash_of(dan) == before  # before: changed, the other browser still in
    assert (await client.get("/compte")).status_code == 200
