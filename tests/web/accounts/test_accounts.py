"""Sign-up, login, logout, password reset and e-mail change, through the whole stack."""

from __future__ import annotations

from urllib.parse import urlsplit

from domain.tables import OutboxMail, User
from tests.helpers import PASSWORD, link_in, login, make_user, post_form
from tests.stack import text_of, wait_until


async def test_signup_logs_in_and_sends_welcome_mail_through_smtp(client, mailbox):
    response = await post_form(
        client,
        "/inscription",
        {
            "email": "Nina@Example.org ",
            "password": PASSWORD,
            "first_name": "Nina",
            "last_name": "Roux",
        },
    )
    assert response.status_code == 200  # followed the 303 to the home page
    assert "Mes groupes" in response.text
    user = await User.select().where(User.email == "nina@example.org").first()
    assert user and user["password_hash"].startswith("$argon2id$")
    [mail] = await mailbox.wait_for("nina@example.org")
    assert mail["Subject"] == "Bienvenue sur Circuit Court"
    assert mail.is_multipart()
    assert "Bonjour Nina" in text_of(mail)
    assert mail.get_body(preferencelist=("html",)) is not None

    # The server has the mail a moment before the worker marks the row sent.
    async def sent() -> bool:
        row = await OutboxMail.select().where(OutboxMail.to_addr == "nina@example.org").first()
        return row["state"] == "sent"

    assert await wait_until(sent, what="la ligne du mail de bienvenue envoyée")


async def test_signup_errors_are_in_french_at_the_field_and_create_nothing(client):
    response = await post_form(
        client, "/inscription", {"email": "pas-une-adresse", "password": "court"}
    )
    assert response.status_code == 422
    assert "Cette adresse e-mail n&#39;est pas valide." in response.text
    assert "au moins 10 caractères" in response.text
    assert "Indiquez votre prénom." in response.text
    assert await User.count() == 0


async def test_signup_twice_with_same_email_is_refused(client):
    await make_user("dup@example.org")
    response = await post_form(
        client,
        "/inscription",
        {"email": "DUP@example.org", "password": PASSWORD, "first_name": "A", "last_name": "B"},
    )
    assert response.status_code == 422
    assert "Un compte existe déjà" in response.text
    assert await User.count() == 1


async def test_login_logout(client):
    await make_user("ana@example.org", first_name="Ana")
    response = await login(client, "ana@example.org")
    assert "Ana" in response.text and "Déconnexion" in response.text
    assert (await client.get("/compte")).status_code == 200
    await post_form(client, "/deconnexion")
    response = await client.get("/compte", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/connexion?next=/compte")


async def test_wrong_password_is_refused_then_throttled_per_account(client):
    await make_user("bob@example.org")
    for _ in range(5):
        response = await post_form(
            client, "/connexion", {"email": "bob@example.org", "password": "mauvais-mot"}
        )
        assert response.status_code == 422
        assert "E-mail ou mot de passe incorrect." in response.text
    # Even the right password is refused while the account is throttled.
    response = await post_form(
        client, "/connexion", {"email": "bob@example.org", "password": PASSWORD}
    )
    assert response.status_code == 422
    assert "Trop de tentatives" in response.text


async def test_login_redirects_to_next_but_never_off_site(client):
    await make_user("cat@example.org")
    response = await post_form(
        client,
        "/connexion",
        {"email": "cat@example.org", "password": PASSWORD, "next": "/compte"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/compte"
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        client.cookies.clear()
        response = await post_form(
            client,
            "/connexion",
            {"email": "cat@example.org", "password": PASSWORD, "next": evil},
            follow_redirects=False,
        )
        assert response.headers["location"] == "/", evil


async def test_password_reset_link_works_once(client, mailbox):
    await make_user("dan@example.org")
    response = await post_form(client, "/compte/mot-de-passe-oublie", {"email": "dan@example.org"})
    assert "un e-mail vient de lui être envoyé" in response.text
    [reset_mail] = await mailbox.wait_for("dan@example.org", subject="nouveau mot de passe")
    path = urlsplit(link_in(text_of(reset_mail), "/compte/mot-de-passe/")).path
    assert (await client.get(path)).status_code == 200
    response = await post_form(client, path, {"password": "nouveau-mot-de-passe"})
    assert response.status_code == 200
    # The link works once.
    response = await post_form(client, path, {"password": "encore-un-autre-mdp"})
    assert response.status_code == 410
    assert "plus valable" in response.text
    client.cookies.clear()
    await login(client, "dan@example.org", "nouveau-mot-de-passe")
    assert (await client.get("/compte")).status_code == 200


async def test_password_reset_for_unknown_email_says_the_same_and_sends_nothing(client, mailbox):
    response = await post_form(
        client, "/compte/mot-de-passe-oublie", {"email": "personne@example.org"}
    )
    assert "un e-mail vient de lui être envoyé" in response.text
    assert not await OutboxMail.exists().where(OutboxMail.to_addr == "personne@example.org")


async def test_expired_reset_link_is_refused(client, mailbox):
    from datetime import UTC, datetime, timedelta

    from domain.tables import AccountToken

    await make_user("eve@example.org")
    await post_form(client, "/compte/mot-de-passe-oublie", {"email": "eve@example.org"})
    [reset_mail] = await mailbox.wait_for("eve@example.org", subject="nouveau mot de passe")
    path = urlsplit(link_in(text_of(reset_mail), "/compte/mot-de-passe/")).path
    await AccountToken.update(
        {AccountToken.expires_at: datetime.now(UTC) - timedelta(minutes=1)}, force=True
    )
    assert (await client.get(path)).status_code == 410


async def test_email_change_is_confirmed_by_link_sent_to_new_address(client, mailbox):
    await make_user("old@example.org")
    await login(client, "old@example.org")
    response = await post_form(
        client, "/compte/email", {"new_email": "new@example.org", "password": PASSWORD}, htmx=True
    )
    assert response.status_code == 200
    assert "Un e-mail de confirmation a été envoyé à new@example.org" in response.text
    assert "<html" not in response.text  # only the fragment for htmx
    assert response.headers["vary"] == "HX-Request"
    [mail] = await mailbox.wait_for("new@example.org")
    # Not changed until the link is opened.
    assert await User.exists().where(User.email == "old@example.org")
    path = urlsplit(link_in(text_of(mail), "/compte/email/")).path
    response = await client.get(path)
    assert "Votre adresse est maintenant new@example.org" in response.text
    assert (await client.get(path)).status_code == 410  # once only
    client.cookies.clear()
    await login(client, "new@example.org")
    assert (await client.get("/compte")).status_code == 200


async def test_email_change_needs_the_password_and_a_free_address(client):
    await make_user("one@example.org")
    await make_user("two@example.org")
    await login(client, "one@example.org")
    response = await post_form(
        client, "/compte/email", {"new_email": "two@example.org", "password": "mauvais-mdp"}
    )
    assert response.status_code == 422
    assert "Mot de passe incorrect." in response.text
    response = await post_form(
        client, "/compte/email", {"new_email": "two@example.org", "password": PASSWORD}
    )
    assert "déjà utilisée par un autre compte" in response.text


async def test_post_without_csrf_token_is_refused(client):
    await client.get("/connexion")
    response = await client.post("/connexion", data={"email": "a@b.fr", "password": "x"})
    assert response.status_code == 403
    assert "Le formulaire a expiré" in response.text


async def test_sessions_survive_a_new_app_process(client, settings):
    """The session lives in a store, not in memory: a second app object sees it."""
    from litestar.testing import AsyncTestClient

    from app import create_app

    await make_user("sam@example.org")
    await login(client, "sam@example.org")
    other = create_app(settings)
    async with AsyncTestClient(app=other, base_url="http://localhost") as second:
        second.cookies.update(client.cookies)
        response = await second.get("/compte")
        assert response.status_code == 200
        assert "sam@example.org" in response.text
