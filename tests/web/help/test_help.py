"""« Aide »: every page's footer links to the mentions légales, the privacy policy and the
conditions d'utilisation; their text is each instance's own; the policy's figures are the
ones the code and the settings apply."""

from __future__ import annotations

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from domain import accounts, privacy, sessions
from domain.kernel import clock
from domain.members import INVITE_TTL
from domain.settings import Legal
from domain.tables import User
from tests.helpers import login, make_group, make_user

FOOTER = (
    '<a href="/aide">Aide</a>',
    'href="/aide/mentions-legales"',
    'href="/aide/confidentialite"',
    'href="/aide/conditions"',
)


async def test_every_kind_of_page_has_the_aide_links_in_its_footer(client):
    anne = await make_user("anne@example.org", "Anne")
    group = await make_group(anne, "AMAP des Prés")
    pages = ["/", "/connexion", "/inscription", f"/g/{group['slug']}", "/aide", "/g/inconnu"]
    for path in pages:
        response = await client.get(path)
        footer = response.text.rsplit("<footer", 1)[-1]
        assert all(link in footer for link in FOOTER), path
    await login(client, "anne@example.org")
    for path in ("/compte", "/compte/donnees", f"/g/{group['slug']}/calendrier"):
        footer = (await client.get(path)).text.rsplit("<footer", 1)[-1]
        assert all(link in footer for link in FOOTER), path


@pytest.mark.parametrize(
    "path,title",
    [
        ("/aide/mentions-legales", "Mentions légales"),
        ("/aide/confidentialite", "Politique de confidentialité"),
        ("/aide/conditions", "Conditions d'utilisation"),
    ],
)
async def test_the_three_pages_are_there_for_anyone(client, path, title):
    response = await client.get(path)
    assert response.status_code == 200
    assert f"<h1>{title}</h1>" in response.text


async def test_the_privacy_policy_states_what_the_code_does(client, settings):
    text = (await client.get("/aide/confidentialite")).text
    assert f"Supprimés {settings.retention_days} jours après leur envoi" in text
    assert settings.inactive_account_days == 730 and "pendant 2 ans" in text
    assert "30 jours, 14 jours et 3 jours avant" in text
    assert f"après {sessions.LIFETIME.days} jours sans visite" in text
    assert f"valable {int(accounts.RESET_TTL.total_seconds() // 3600)} heures" in text
    assert f"invitation : {INVITE_TTL.days} jours" in text
    # Other settings, other figures.
    other = msgspec.structs.replace(settings, retention_days=45, inactive_account_days=400)
    rows = dict(privacy.retention(other))
    assert "Supprimés 45 jours" in rows["Les e-mails qui vous sont envoyés"]
    assert "pendant 400 jours" in rows[next(k for k in rows if k.startswith("Votre compte"))]


def instance_middleware(app):
    handler = app.asgi_handler
    while not hasattr(handler, "by_key"):
        handler = handler.app
    return handler


async def test_each_instance_has_its_own_texts(app, client, monkeypatch):
    middleware = instance_middleware(app)
    settings = middleware.settings
    amap = msgspec.structs.replace(
        settings.instance("amap"),
        legal=Legal(
            publisher="SCOP Alilo\n12 rue des Champs, 44000 Nantes",
            host="Hébergeur Exemple, 1 rue du Serveur",
            contact="dpo@camap.example",
            terms="Conditions propres à Camap.\n\nDeuxième paragraphe <b>échappé</b>.",
        ),
    )
    changed = msgspec.structs.replace(
        settings, instances=[settings.default_instance, amap, *settings.instances[2:]]
    )
    monkeypatch.setattr(middleware, "settings", changed)
    monkeypatch.setattr(middleware, "by_key", {i.key: i for i in changed.instances})
    camap = AsyncTestClient(app=app, base_url="http://amap.localhost")

    notice = (await camap.get("/aide/mentions-legales")).text
    assert "<p>SCOP Alilo<br>12 rue des Champs, 44000 Nantes</p>" in notice
    assert "Hébergeur Exemple" in notice and "dpo@camap.example" in notice
    terms = (await camap.get("/aide/conditions")).text
    assert "<p>Conditions propres à Camap.</p>" in terms
    assert "&lt;b&gt;échappé&lt;/b&gt;" in terms and "<b>" not in terms
    assert "SCOP Alilo" in (await camap.get("/aide/confidentialite")).text
    # The main instance says what its operator still has to fill in.
    main = (await client.get("/aide/mentions-legales")).text
    assert "SCOP Alilo" not in main and "à renseigner par l'exploitant" in main
    assert "Chaque groupe fixe ses propres règles" in (await client.get("/aide/conditions")).text


async def test_a_login_and_a_session_kept_alive_record_the_last_visit(client):
    lea = await make_user("lea@example.org", "Léa")
    assert (await User.select(User.last_seen_at).where(User.id == lea).first())[
        "last_seen_at"
    ] is None
    before = clock.now()
    await login(client, "lea@example.org")
    seen = (await User.select(User.last_seen_at).where(User.id == lea).first())["last_seen_at"]
    assert seen is not None and seen >= before.replace(microsecond=0)
    # Two days later the same session is used: its refresh records the visit (no login).
    with clock.travel(sessions.REFRESH_AFTER * 2):
        assert (await client.get("/compte")).status_code == 200
        later = (await User.select(User.last_seen_at).where(User.id == lea).first())["last_seen_at"]
    assert later > seen + sessions.REFRESH_AFTER
