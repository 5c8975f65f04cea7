"""Absences: a member declares the distributions they will miss in MES CONTRATS; those
baskets are removed, the stock given back, the subscription's debt and the cheques still
expected follow (a new operation); refused past the deadline, beyond the allowance, for a
distribution whose orders are closed; a replay is one change, two forms at once cannot
exceed the allowance."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from domain.kernel import clock
from domain.tables import Absence, Distribution, Operation, Order, OrderLine, Product
from tests.helpers import login, post_form
from tests.web.contracts.helpers import contract_world, read, subscribe
from tests.web.payments.helpers import as_user, key_in


async def _terms(app, w, **extra):
    coordinator = await as_user(app, "coord@example.org")
    today = clock.now().date()
    form = {
        "instalments": "15/01/2027, 15/02/2027, 15/03/2027",
        "absences_max": "2",
        "absences_from": str(today),
        "absences_until": str(today + timedelta(days=60)),
        "absences_deadline": str(today + timedelta(days=30)),
    } | extra
    response = await post_form(coordinator, f"{w['base']}/contrat", form)
    assert "Les conditions du contrat sont enregistrées." in read(response), read(response)


async def test_an_absence_removes_the_basket_and_lowers_the_debt_and_cheques(app, client):
    w = await contract_world(stock=10)
    await _terms(app, w)
    await login(client, "m0@example.org")
    await subscribe(client, w, {w["basket"]: 1, w["eggs"]: 1})
    first, second, third = w["distributions"]
    stock = {p["id"]: p["stock"] for p in await Product.select()}
    assert stock == {w["basket"]: 7, w["eggs"]: 7}
    tab = read(await client.get(f"/g/{w['slug']}/contrats"))
    assert "Vos dates" in tab and "Déclarer mes absences 0 sur 2" in tab
    assert "63,00 € encaissé le 15/01/2027 — à remettre" in tab
    url = f"/g/{w['slug']}/contrats/{w['catalog']}/absences"
    page = await client.get(url)
    key = key_in(page)
    done = await post_form(client, url, {f"d{second}": "1", "key": key})
    assert "1 absence enregistrée" in read(done)
    again = await post_form(client, url, {f"d{third}": "1", "key": key})  # the same form
    assert again.status_code in (200, 303)
    assert [a["distribution"] for a in await Absence.select()] == [second]
    # The basket of that distribution is gone (its order with it), the stock given back.
    assert not await Order.exists().where(Order.distribution == second)
    assert await OrderLine.count() == 4
    stock = {p["id"]: p["stock"] for p in await Product.select()}
    assert stock == {w["basket"]: 8, w["eggs"]: 8}
    # The debt follows by a new operation; the cheques still expected follow it.
    ops = await Operation.select().order_by(Operation.id)
    assert [o["amount_cents"] for o in ops] == [-18900, 6300]
    assert ops[1]["label"].endswith("– absence déclarée")
    assert ops[1]["recorded_by"] == w["members"][0]
    tab = read(await client.get(f"/g/{w['slug']}/contrats"))
    assert "absent" in tab and "Déclarer mes absences 1 sur 2" in tab
    assert tab.count("42,00 € encaissé") == 3
    # A basket changed later is not made again at the absence.
    await subscribe(client, w, {w["basket"]: 2})
    assert not await Order.exists().where(Order.distribution == second)
    assert await Order.count() == 2


async def test_refused_beyond_the_allowance_past_the_deadline_or_once_closed(app, client):
    w = await contract_world()
    await _terms(app, w, absences_max="1")
    await login(client, "m0@example.org")
    await subscribe(client, w, {w["basket"]: 1})
    first, second, third = w["distributions"]
    url = f"/g/{w['slug']}/contrats/{w['catalog']}/absences"
    # Orders of the first distribution closed: too late for it.
    await Distribution.update(
        {Distribution.orders_close_at: clock.now() - timedelta(hours=1)}
    ).where(Distribution.id == first)
    refused = await post_form(client, url, {f"d{first}": "1"})
    assert refused.status_code == 422 and "Trop tard pour la distribution du" in read(refused)
    refused = await post_form(client, url, {f"d{second}": "1", f"d{third}": "1"})
    assert refused.status_code == 422
    assert "Ce contrat permet 1 absence au plus : vous en avez déjà déclaré 0." in read(refused)
    assert await Absence.count() == 0 and await Operation.count() == 1
    await post_form(client, url, {f"d{second}": "1"})
    refused = await post_form(client, url, {f"d{third}": "1"})
    assert "vous en avez déjà déclaré 1" in read(refused)
    # Past the deadline.
    yesterday = clock.now().date() - timedelta(days=1)
    await _terms(app, w, absences_max="3", absences_deadline=str(yesterday))
    refused = await post_form(client, url, {f"d{third}": "1"})
    assert refused.status_code == 422
    assert f"La date limite pour déclarer vos absences était le {yesterday:%d/%m/%Y}." in read(
        refused
    )
    assert await Absence.count() == 1 and await Operation.count() == 2
    # Outside the period, or nothing chosen, or a contract without absences.
    await _terms(app, w, absences_max="3", absences_until=str(clock.now().date()))
    refused = await post_form(client, url, {f"d{third}": "1"})
    assert "ne fait pas partie de la période d'absences" in read(refused)
    refused = await post_form(client, url, {})
    assert "Choisissez au moins une distribution." in read(refused)
    await _terms(app, w, absences_max="0", absences_from="", absences_until="")
    refused = await post_form(client, url, {f"d{third}": "1"})
    assert "Ce contrat ne prévoit pas d'absences." in read(refused)


async def test_two_forms_at_once_cannot_exceed_the_allowance(app, client):
    w = await contract_world()
    await _terms(app, w, absences_max="1")
    await login(client, "m0@example.org")
    await subscribe(client, w, {w["basket"]: 1})
    _, second, third = w["distributions"]
    url = f"/g/{w['slug']}/contrats/{w['catalog']}/absences"
    other = await as_user(app, "m0@example.org")
    answers = await asyncio.gather(
        post_form(client, url, {f"d{second}": "1"}), post_form(other, url, {f"d{third}": "1"})
    )
    assert sorted(a.status_code for a in answers) == [200, 422]
    assert await Absence.count() == 1
    assert await Order.count() == 2


async def test_absences_are_the_members_own(app, client):
    w = await contract_world()
    await _terms(app, w)
    await login(client, "m0@example.org")
    await subscribe(client, w, {w["basket"]: 1})
    url = f"/g/{w['slug']}/contrats/{w['catalog']}/absences"
    _, second, _ = w["distributions"]
    # Another member (not subscribed) finds no subscription of theirs; nothing changes.
    other = await as_user(app, "m1@example.org")
    assert (await other.get(url)).status_code == 404
    assert (await post_form(other, url, {f"d{second}": "1"})).status_code == 404
    # Another group's admin: refused; through their own group's URL: not found.
    stranger = await as_user(app, "other@example.org")
    assert (await stranger.get(url)).status_code == 403
    crafted = f"/g/{w['other_slug']}/contrats/{w['catalog']}/absences"
    assert (await stranger.get(crafted)).status_code == 404
    assert (await post_form(stranger, crafted, {f"d{second}": "1"})).status_code == 404
    assert await Absence.count() == 0
