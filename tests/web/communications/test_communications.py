"""Mes communications, the one-click unsubscribe of automatic mails (RFC 8058), the order
recap opt-out, and the test e-mail page, through the app and a real SMTP server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from litestar.testing import AsyncTestClient

from domain import communications
from domain.kernel import clock
from domain.tables import MailOptOut, Membership, OutboxMail
from jobs import mail as mail_jobs
from tests.helpers import link_in, login, make_distribution_world, make_user, post_form
from tests.stack import text_of

SECRET = "test-secret-key-0123456789abcdef"


async def opted_out(user_id: int) -> set[str]:
    rows = await MailOptOut.select(MailOptOut.kind).where(MailOptOut.user == user_id)
    return {row["kind"] for row in rows}


async def test_account_page_links_to_communications_and_test_email(client):
    await make_user("lea@example.org")
    await login(client, "lea@example.org")
    page = await client.get("/compte")
    assert 'href="/compte/communications"' in page.text
    assert 'href="/compte/email-de-test"' in page.text
    assert 'id="changer-email"' in page.text


async def test_pages_need_a_login(client):
    for url in ("/compte/communications", "/compte/email-de-test"):
        response = await client.get(url, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/connexion?next=")


async def test_switches_saved_by_a_plain_form(client):
    user = await make_user("lea@example.org")
    await login(client, "lea@example.org")
    page = await client.get("/compte/communications")
    kinds = len(communications.KINDS)
    assert kinds == 8  # the orders' four, and the permanences' four
    assert page.text.count('type="checkbox" name="kinds"') == kinds
    assert page.text.count(" checked") == kinds  # everything on by default
    for label in communications.KINDS.values():
        assert label in page.text

    response = await post_form(
        client,
        "/compte/communications",
        {"kinds": ["order_recap", "reminder_4h"]},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert await opted_out(user) == set(communications.KINDS) - {"order_recap", "reminder_4h"}
    page = await client.get("/compte/communications")
    assert "Vos choix sont enregistrés." in page.text
    assert 'value="order_recap" checked' in page.text
    assert 'value="orders_open">' in page.text  # unchecked

    # Everything back on; then everything off (no box sent at all).
    await post_form(client, "/compte/communications", {"kinds": list(communications.KINDS)})
    assert await opted_out(user) == set()
    await post_form(client, "/compte/communications", {})
    assert await opted_out(user) == set(communications.KINDS)


async def test_switch_saved_by_htmx_answers_the_fragment(client):
    user = await make_user("lea@example.org")
    await login(client, "lea@example.org")
    response = await post_form(
        client, "/compte/communications", {"kinds": "orders_open"}, htmx=True
    )
    assert response.status_code == 200
    assert "<html" not in response.text and 'id="communications"' in response.text
    assert "Vos choix sont enregistrés." in response.text
    assert "HX-Request" in response.headers["vary"]
    assert await opted_out(user) == set(communications.KINDS) - {"orders_open"}


async def test_preferences_need_the_csrf_token(client):
    user = await make_user("lea@example.org")
    await login(client, "lea@example.org")
    response = await client.post("/compte/communications", data={"kinds": "orders_open"})
    assert response.status_code == 403
    assert await opted_out(user) == set()


async def recap_row(user_id: int) -> dict | None:
    return (
        await OutboxMail.select()
        .where((OutboxMail.user == user_id) & (OutboxMail.kind == "order_recap"))
        .order_by(OutboxMail.id, ascending=False)
        .first()
    )


async def order(client, world: dict, product: int, quantity: int, key: str) -> None:
    response = await post_form(
        client, world["url"], {f"q{product}": str(quantity), "key": key, "valider": "1"}
    )
    assert response.status_code in (200, 303), response.text


async def test_recap_link_unsubscribes_in_one_click_without_login(client, app, mailbox):
    admin = await make_user("admin@example.org")
    world = await make_distribution_world(admin, products=1)
    vera = await make_user("vera@example.org", "Véra")
    await Membership.insert(Membership(user=vera, group=world["group"]["id"]))
    await login(client, "vera@example.org")
    [product] = world["products"]
    await order(client, world, product, 2, "k1")

    # The recap waits a few minutes for more changes; the test sends it now.
    row = await recap_row(vera)
    await OutboxMail.update(
        {OutboxMail.send_after: datetime.now(UTC) - timedelta(seconds=1)}
    ).where(OutboxMail.id == row["id"])
    assert await mail_jobs.deliver(row["id"]) in ("sent", "skipped")
    [mail] = await mailbox.wait_for("vera@example.org", subject="Votre commande du")
    url = link_in(text_of(mail), "/desabonnement/")
    assert mail["List-Unsubscribe"].strip() == f"<{url}>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert url == "http://localhost/desabonnement/" + communications.unsubscribe_token(
        SECRET, vera, "order_recap"
    )
    path = url.removeprefix("http://localhost")

    # A stranger's browser (no session, no CSRF cookie): opening the link only asks.
    stranger = AsyncTestClient(app=app, base_url="http://localhost")
    page = await stranger.get(path)
    assert page.status_code == 200
    assert "Récapitulatif de commande" in page.text and "Me désabonner" in page.text
    assert await opted_out(vera) == set()
    # The mail program's one-click POST (RFC 8058): no login, no CSRF token.
    response = await stranger.post(path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert "vous ne recevrez plus les e-mails « Récapitulatif de commande »" in response.text
    assert await opted_out(vera) == {"order_recap"}
    assert (await stranger.post(path)).status_code == 200  # twice is fine
    assert await opted_out(vera) == {"order_recap"}

    # The next change of her order makes no recap.
    before = await OutboxMail.count().where(OutboxMail.kind == "order_recap")
    await order(client, world, product, 3, "k2")
    assert await OutboxMail.count().where(OutboxMail.kind == "order_recap") == before


async def test_a_forged_or_tampered_link_changes_nothing(client):
    user = await make_user("lea@example.org")
    good = communications.unsubscribe_token(SECRET, user, "orders_open")
    for token in (
        good[:-1] + ("0" if good[-1] != "0" else "1"),
        good.replace("orders_open", "reminder_4h"),
        f"{user + 1}.orders_open.{good.rsplit('.', 1)[1]}",
        "n-importe-quoi",
        "99999999999.orders_open.abc",
    ):
        assert (await client.get(f"/desabonnement/{token}")).status_code == 404
        response = await client.post(f"/desabonnement/{token}")
        assert response.status_code == 404
        assert "n'est pas valide" in response.text
    assert await opted_out(user) == set()


async def test_test_email_page_sends_one_mail_and_gives_the_advice(client, mailbox):
    await make_user("lea@example.org", "Léa")
    await login(client, "lea@example.org")
    page = await client.get("/compte/email-de-test")
    assert page.status_code == 200
    for advice in (
        "Envoyer un e-mail de test",
        "non spam",
        "Ajoutez à vos contacts l'e-mail officiel de Circuit Court : "
        "<strong>noreply@localhost</strong>",
        "Nos e-mails ne sont pas encore signés (DKIM)",
        'href="/compte#changer-email"',
        "il faudra utiliser la nouvelle adresse pour vous connecter",
        "prévenez les administrateurs de votre groupe",
    ):
        assert advice in page.text, advice

    # The key of the test mail names the minute: the clock is held within one.
    moment = clock.now().replace(second=30, microsecond=0)
    with clock.frozen(moment):
        response = await post_form(client, "/compte/email-de-test", htmx=True)
        assert response.status_code == 200 and "<html" not in response.text
        assert "L'e-mail de test est parti vers lea@example.org" in response.text
        [mail] = await mailbox.wait_for("lea@example.org", subject="E-mail de test")
        assert "vous recevez bien les e-mails" in text_of(mail)
        # The mail repeats the page's advice (seed 003): the official address to add.
        assert (
            "Ajoutez à vos contacts l'e-mail officiel de Circuit Court : noreply@localhost"
            in text_of(mail)
        )
        assert "DKIM" not in text_of(mail)  # not signed here: the mail does not claim it
        assert mail["List-Unsubscribe"] is None  # not an automatic notification

        # A second click in the same minute sends nothing more.
        response = await post_form(client, "/compte/email-de-test")
        assert "vient déjà de partir" in response.text
        assert await OutboxMail.count().where(OutboxMail.kind == "test") == 1
        assert len(mailbox.to("lea@example.org", "E-mail de test")) == 1

    # The next minute, one more may go.
    with clock.frozen(moment + timedelta(minutes=1)):
        response = await post_form(client, "/compte/email-de-test")
        assert "L'e-mail de test est parti vers lea@example.org" in response.text
    await mailbox.wait_for("lea@example.org", count=2, subject="E-mail de test")


async def test_support_address_is_shown_when_configured(client, app, monkeypatch):
    import msgspec

    monkeypatch.setattr(
        app.state,
        "settings",
        msgspec.structs.replace(app.state.settings, support_email="support@example.org"),
    )
    await make_user("lea@example.org")
    await login(client, "lea@example.org")
    page = await client.get("/compte/email-de-test")
    assert 'href="mailto:support@example.org"' in page.text


async def test_test_email_page_says_the_mails_are_signed_and_for_which_domain(
    client, app, monkeypatch, tmp_path
):
    import msgspec
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = tmp_path / "dkim.pem"
    key.write_bytes(
        rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    signed = msgspec.structs.replace(
        app.state.settings,
        mail_from="noreply@mail.example.org",
        dkim_key_path=str(key),
        dkim_domain="example.org",
        dkim_selector="cc2026",
    )
    monkeypatch.setattr(app.state, "settings", signed)
    await make_user("lea@example.org")
    await login(client, "lea@example.org")
    page = await client.get("/compte/email-de-test")
    assert "<strong>noreply@mail.example.org</strong>" in page.text
    assert "signés (DKIM) pour le domaine <strong>example.org</strong>" in page.text
    assert "pas encore signés" not in page.text
    await post_form(client, "/compte/email-de-test")
    row = await OutboxMail.select(OutboxMail.body_text).where(OutboxMail.kind == "test").first()
    assert "signés (DKIM) pour le domaine example.org" in row["body_text"]
    assert "l'e-mail officiel de Circuit Court : noreply@mail.example.org" in row["body_text"]
