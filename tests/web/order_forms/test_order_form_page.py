"""BON DE COMMANDE in a catalog's menu: where the form goes, the forms sent, and the
coordinator's copy, which the catalog's managers set; who may see and change it."""

from __future__ import annotations

import html
import re

import pytest

from domain.demo import world as build
from domain.order_forms import sending
from domain.tables import Catalog, Vendor
from jobs import scheduler
from tests.helpers import login, make_user, post_form

# fmt: off
ROLES = ("anonymous", "member", "producer", "coordinator", "admin", "other_admin")
READ =  (303,          403,      200,        200,           200,     403)
EDIT =  (303,          403,      403,        303,           303,     403)
# fmt: on


async def page_world() -> dict:
    admin = await make_user("admin@example.org", "Adèle", "Admin")
    coordinator = await make_user("coordinator@example.org", "Paul", "Coord")
    producer = await make_user("producer@example.org", "Jean", "Fermier")
    member = await make_user("member@example.org", "Mia", "Membre")
    other = await make_user("other_admin@example.org", "Olga", "Autre")
    await build.group(other, "Autre groupe")
    w = await build.distribution_world(admin, kind="amap", closes_in=-build.H)
    await build.join(w["group"]["id"], [coordinator, member])
    await Catalog.update({Catalog.coordinator: coordinator}).where(Catalog.id == w["catalog"])
    await Vendor.update({Vendor.user: producer}).where(Vendor.id == w["vendor"])
    await build.order(member, w["distribution"], {w["products"][0]: 2})
    return w | {"url": f"/g/{w['group']['slug']}/catalogues/{w['catalog']}/bon-de-commande"}


@pytest.mark.parametrize("role", ROLES)
async def test_who_may_see_and_set_the_order_form(client, role):
    w = await page_world()
    if role != "anonymous":
        await login(client, f"{role}@example.org")
    column = ROLES.index(role)
    page = await client.get(w["url"], follow_redirects=False)
    assert page.status_code == READ[column]
    response = await post_form(client, w["url"], {"copy": "1"}, follow_redirects=False)
    assert response.status_code == EDIT[column]
    copied = (await Catalog.select(Catalog.order_form_copy).where(Catalog.id == w["catalog"]))[0]
    assert copied["order_form_copy"] == (role in ("coordinator", "admin"))


def text_of(response) -> str:
    return html.unescape(re.sub(r"</?(strong|em)>", "", response.text))


async def test_the_page_says_where_it_goes_and_what_went(client, settings):
    w = await page_world()
    await login(client, "coordinator@example.org")
    text = text_of(await client.get(w["url"]))
    assert ">BON DE COMMANDE</a>" in text
    assert "Producteur : producer@example.org" in text  # the producer's login address
    assert "Aucun bon de commande envoyé pour l'instant." in text
    assert "Copie au coordinateur" not in text

    await post_form(client, w["url"], {"copy": "1"})
    await sending.queue_due(scheduler.contexts(settings))
    text = text_of(await client.get(w["url"]))
    assert "Copie au coordinateur : coordinator@example.org" in text
    assert 'name="copy" value="1" checked' in text
    assert "premier envoi" in text

    await post_form(client, w["url"], {})  # the box unticked
    text = text_of(await client.get(w["url"]))
    assert "Copie au coordinateur :" not in text

    await Vendor.update({Vendor.user: None}).where(Vendor.id == w["vendor"])
    text = text_of(await client.get(w["url"]))
    assert (
        "Ferme du Test n'a pas d'adresse e-mail : le bon de commande ne peut pas lui être envoyé."
        in text
    )
