"""Reset and e-mail change links: a new reset link ends the older ones, a password change
ends the other sessions, a change of address is told to the old one, the forms that send
mails are rate-limited, and a delivered link is not kept in the outbox."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from litestar.testing import AsyncTestClient

from domain import retention
from domain.kernel import clock
from domain.outbox import LINK_REMOVED
from domain.tables import AccountToken, OutboxMail, WebSession
from tests.helpers import PASSWORD, link_in, login, make_user, post_form
from tests.stack import text_of, wait_until


async def reset_links(mailbox, address: str, count: int) -> list[str]:
    mails = await mailbox.wait_for(address, count=count, subject="nouveau mot de passe")
    return [urlsplit(link_in(text_of(m), "/compte/mot-de-passe/")).path for m in mails]


async def test_a_new_reset_link_ends_the_older_ones(client, mailbox):
    await make_user("dan@example.org")
    for _ in range(2):
        await post_form(client, "/compte/mot-de-passe-oublie", {"email": "dan@example.org"})
    first, second = await reset_links(mailbox, "dan@example.org", 2)
    assert (await client.get(first)).status_code == 410
    assert (await client.get(second)).status_code == 200


async def test_changing_the_password_logs_out_the_other_devices(app, client):
    await make_user("eve@example.org")
    async with AsyncTestClient(app=app, base_url="http://localhost") as phone:
        await login(phone, "eve@example.org")
        await login(client, "eve@example.org")
        before = client.cookies.get("session")
        response = await post_form(
            client,
            "/compte/mot-de-passe",
            {"current_password": PASSWORD, "new_password": "un-tout-nouveau-mdp"},
        )
        assert response.status_code == 200 and "autres appareils sont déconnectés" in response.text
        assert client.cookies.get("session") != before
        assert (await phone.get("/compte", follow_redirects=False)).status_code == 303
    assert await WebSession.count() == 1
    refused = await post_form(
        client, "/compte/mot-de-passe", {"current_password": "faux", "new_password": "x" * 12}
    )
    assert refused.status_code == 422 and "Mot de passe actuel incorrect" in refused.text


async def test_the_old_address_is_told_of_a_change(client, mailbox):
    await make_user("flo@example.org", first_name="Flo")
    await login(client, "flo@example.org")
    await post_form(
        client, "/compte/email", {"new_email": "flo.neuf@example.org", "password": PASSWORD}
    )
    [mail] = await mailbox.wait_for("flo.neuf@example.org")
    await client.get(urlsplit(link_in(text_of(mail), "/compte/email/")).path)
    [notice] = await mailbox.wait_for("flo@example.org", subject="adresse e-mail a été changée")
    assert "flo.neuf@example.org" in text_of(notice)


async def test_reset_requests_are_limited_per_target_address(client, mailbox):
    """The same answer whether the account exists; a sixth request in an hour waits."""
    for email in ("gil@example.org", "personne@example.org"):
        for _ in range(5):
            response = await post_form(client, "/compte/mot-de-passe-oublie", {"email": email})
            assert response.status_code == 200
        response = await post_form(client, "/compte/mot-de-passe-oublie", {"email": email})
        assert response.status_code == 429 and "Trop de demandes" in response.text


async def test_sign_ups_are_limited_per_target_address(client):
    """« Un compte existe déjà » says the address is known: not more often than the limit."""
    await make_user("hal@example.org")
    for _ in range(5):
        response = await post_form(
            client,
            "/inscription",
            {"email": "hal@example.org", "password": PASSWORD, "first_name": "H", "last_name": "A"},
        )
        assert response.status_code == 422 and "Un compte existe déjà" in response.text
    response = await post_form(
        client,
        "/inscription",
        {"email": "hal@example.org", "password": PASSWORD, "first_name": "H", "last_name": "A"},
    )
    assert response.status_code == 429 and "Trop de demandes" in response.text


async def test_a_delivered_link_is_not_kept_and_old_mails_are_pruned(client, mailbox):
    await make_user("ida@example.org")
    await post_form(client, "/compte/mot-de-passe-oublie", {"email": "ida@example.org"})
    [path] = await reset_links(mailbox, "ida@example.org", 1)

    async def delivered():
        row = await OutboxMail.select().where(OutboxMail.kind == "password_reset").first()
        return row if row and row["state"] == "sent" else None

    row = await wait_until(delivered, what="lien envoyé")
    assert path.rsplit("/", 1)[1] not in row["body_text"] + row["body_html"]
    assert row["body_text"] == LINK_REMOVED
    with clock.travel(timedelta(days=31)):
        removed = await retention.prune(clock.now(), retention_days=30)
    assert removed["mails"] >= 1 and removed["links"] >= 1
    assert await OutboxMail.count().where(OutboxMail.kind == "password_reset") == 0
    assert await AccountToken.count() == 0
