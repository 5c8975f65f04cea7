"""Step 1–2 of seed 002: Paramètres → Synchro Escarcelle (the key checked at once, sealed,
masked, replaceable, removable; one grocery, one producer) and « Statut de la
synchronisation »."""

from __future__ import annotations

import html
import logging

from domain import escarcelle
from domain.demo import world as build
from domain.kernel import sealing
from domain.tables import EscarcelleLink, Membership
from tests.helpers import login, post_form
from tests.web.escarcelle.conftest import DEMO_KEY, DEMO_NAME, DEMO_PDV, grocery_world


def settings_url(producer: int) -> str:
    return f"/espace-producteur/{producer}/parametres"


async def paste(client, producer: int, key: str):
    return await post_form(
        client, f"{settings_url(producer)}/escarcelle", {"key": key}, follow_redirects=False
    )


async def test_a_good_key_is_checked_sealed_and_shown_masked(client, escarcelle_url, caplog):
    w = await grocery_world()
    await login(client, "lise@example.org")
    page = await client.get(settings_url(w["producer"]))
    assert "dans votre compte Escarcelle, Paramètres, puis API" in html.unescape(page.text)
    caplog.set_level(logging.DEBUG)
    saved = await paste(client, w["producer"], f"  {DEMO_KEY} ")
    assert saved.status_code == 303
    link = await EscarcelleLink.select().first()
    assert (link["pdv_id"], link["grocery_name"], link["state"]) == (DEMO_PDV, DEMO_NAME, "ok")
    assert DEMO_KEY not in link["key_sealed"]
    secret = client.app.state.settings.secret_key
    assert sealing.unseal(link["key_sealed"], secret, escarcelle.SEAL_PURPOSE) == DEMO_KEY
    assert sealing.unseal(link["key_sealed"], "another-secret-0123456789", "escarcelle-key") is None
    page = await client.get(settings_url(w["producer"]))
    shown = html.unescape(page.text)
    assert DEMO_NAME in shown and "••••••••" + DEMO_KEY[-4:] in shown
    assert DEMO_KEY not in shown
    assert DEMO_KEY not in caplog.text  # nothing of the key in the logs


async def test_refusals_of_the_key(client, escarcelle_url, simulator):
    w = await grocery_world()
    await login(client, "lise@example.org")
    for key, message in (
        ("", "Collez votre clé Escarcelle."),
        ("pas une clé", "est pas une clé Escarcelle"),
        ("mauvaise-cle", "Escarcelle refuse cette clé"),
    ):
        refused = await paste(client, w["producer"], key)
        assert refused.status_code == 422 and message in html.unescape(refused.text)
    simulator.fault("500", count=10)
    down = await paste(client, w["producer"], DEMO_KEY)
    assert down.status_code == 422 and "Escarcelle ne répond pas" in html.unescape(down.text)
    simulator.fault("none")
    assert await EscarcelleLink.count() == 0


async def test_one_grocery_one_producer_and_the_key_is_replaced_or_removed(
    client, escarcelle_url, simulator
):
    w = await grocery_world()
    other = await build.person("autre@example.org", "Autre")
    group = await build.group(other, "Ailleurs", "grocery")
    space = await build.space_of(await build.producer(group["id"], "Autre épicerie", user=other))
    await login(client, "lise@example.org")
    assert (await paste(client, w["producer"], DEMO_KEY)).status_code == 303
    simulator.grocery("cle-autre-epicerie-42", "PDV-99", "Autre épicerie")
    replaced_by_other = await paste(client, w["producer"], "cle-autre-epicerie-42")
    assert "Cette clé est celle d'une autre épicerie" in html.unescape(replaced_by_other.text)
    # A second key of the same grocery replaces the first.
    simulator.grocery("cle-bis-de-la-passerelle", DEMO_PDV, DEMO_NAME)
    assert (await paste(client, w["producer"], "cle-bis-de-la-passerelle")).status_code == 303
    assert (await EscarcelleLink.select(EscarcelleLink.key_hint).first())["key_hint"] == "elle"
    # The same grocery for another producer: refused.
    second = type(client)(app=client.app, base_url="http://localhost")
    await login(second, "autre@example.org")
    twice = await paste(second, space, DEMO_KEY)
    assert twice.status_code == 422
    assert "est déjà liée à un autre producteur" in html.unescape(twice.text)
    # Nobody else sees the page.
    assert (await second.get(settings_url(w["producer"]))).status_code == 404
    removed = await post_form(
        client, f"{settings_url(w['producer'])}/escarcelle/supprimer", follow_redirects=False
    )
    assert removed.status_code == 303
    assert await EscarcelleLink.count() == 0


async def test_the_status_block_counts_and_names_what_has_no_id(client, escarcelle_url):
    w = await grocery_world(points=1, members=3)
    await build.list_products(w["producer"], 3, escarcelle_id="E{i}")
    await build.list_products(w["producer"], [("Savon sans ID", 200)], reference="123")
    first = w["points"][0]["members"][0]
    await Membership.update(
        {Membership.escarcelle_id: "C0001", Membership.accepted_at: Membership.created_at}
    ).where(Membership.user == first)
    await login(client, "lise@example.org")
    await paste(client, w["producer"], DEMO_KEY)
    page = await client.get(settings_url(w["producer"]))
    assert "Statut de la synchronisation" in html.unescape(page.text)
    assert "Produits : 75 % synchronisés" in html.unescape(page.text)
    assert "sans ID Escarcelle</span> Savon sans ID" in html.unescape(page.text)
    assert "Bénéficiaires de Point 1 : 33 % synchronisés" in html.unescape(page.text)
    assert page.text.count('class="missing-id"') == 3  # one product, two beneficiaries
    assert "/g/point-1/membres/import-escarcelle" in html.unescape(page.text)
