"""The member's side: after « Valider ma commande » what they owe and how to pay, « Je
paierai par chèque »; Mon compte → Paiements, one page per group, their own only."""

from __future__ import annotations

from domain.payments import settings as payment_settings
from domain.tables import Operation, Order, PaymentPledge
from tests.helpers import login, post_form
from tests.web.payments.helpers import as_user, market, shown


async def accept_cheques_and_transfers(group_id: int, admin: int) -> None:
    await payment_settings.save_settings(
        group_id,
        by_user_id=admin,
        ledger=True,
        types=["cheque", "virement", "especes"],
        cheque_payee="Marché des Orties",
        iban="FR76 3000 6000 0112 3456 7890 189",
        instructions="Chèques remis à la distribution.",
    )


async def test_after_validating_the_member_sees_what_to_pay_and_how_and_pledges(app, client):
    w = await market(1)
    await accept_cheques_and_transfers(w["group"]["id"], w["admin"])
    p1, p2, _ = w["products"]
    await login(client, "m0@example.org")
    page = await post_form(
        client, w["url"], {f"q{p1}": "2", f"q{p2}": "1", "key": "v", "valider": "1"}
    )
    text = shown(page)
    assert "Votre commande est validée" in text
    assert "À payer pour cette commande : 4,51\xa0€" in text
    assert "à l'ordre de « Marché des Orties »" in text
    assert "FR76 3000 6000 0112 3456 7890 189" in text
    assert "Chèques remis à la distribution." in text
    assert "Je paierai" in text and "par chèque" in text
    order = await Order.select().first()
    done = await post_form(
        client,
        f"/g/{w['slug']}/paiements/annonce",
        {"subject": f"order:{order['id']}", "means": "cheque", "next": w["url"]},
    )
    assert "C'est noté : vous paierez par chèque." in shown(done)
    assert "Vous avez annoncé un paiement par chèque." in shown(done)
    [pledge] = await PaymentPledge.select()
    assert pledge["means"] == "cheque" and pledge["user"] == w["members"][0]
    # A pledge is not money: the balance is the debt's.
    assert sum(o["amount_cents"] for o in await Operation.select()) == -451
    # Changing one's mind keeps one pledge.
    await post_form(
        client,
        f"/g/{w['slug']}/paiements/annonce",
        {"subject": f"order:{order['id']}", "means": "virement", "next": w["url"]},
    )
    assert [p["means"] for p in await PaymentPledge.select()] == ["virement"]
    # A type the group does not take, or someone else's debt: refused, nothing kept.
    refused = await post_form(
        client,
        f"/g/{w['slug']}/paiements/annonce",
        {"subject": f"order:{order['id']}", "means": "carte", "next": w["url"]},
    )
    assert "Choisissez un moyen de paiement accepté par le groupe." in shown(refused)
    assert [p["means"] for p in await PaymentPledge.select()] == ["virement"]


async def test_a_group_without_the_ledger_shows_no_payment(app, client):
    w = await market(1, kind="grocery")
    await login(client, "m0@example.org")
    page = await post_form(
        client, w["url"], {f"q{w['products'][0]}": "1", "key": "v", "valider": "1"}
    )
    assert "Votre commande est validée" in shown(page)
    assert "À payer" not in shown(page) and 'id="paiement"' not in page.text


async def test_my_account_lists_my_groups_and_only_my_operations(app, client):
    w = await market(2)
    p1 = w["products"][0]
    for email in ("m0@example.org", "m1@example.org"):
        member = await as_user(app, email)
        await post_form(member, w["url"], {f"q{p1}": "1", "key": email, "valider": "1"})
    await login(client, "m0@example.org")
    account_page = await client.get("/compte")
    assert 'href="/compte/paiements"' in account_page.text
    mine = shown(await client.get("/compte/paiements"))
    assert "Marché des Orties" in mine and "Solde : -1,50\xa0€" in mine
    response = await client.get(f"/compte/paiements/{w['group']['id']}")
    page = shown(response)
    assert "Vous avez 1,50\xa0€ à payer." in page
    assert response.text.count('<tr id="op') == 1
    assert "Commande du " in page and "À payer 1,50\xa0€" in page
    # Another group's page, or a group where I have no account: 404, never another's.
    other = await market_elsewhere()
    assert (await client.get(f"/compte/paiements/{other}")).status_code == 404
    assert (await client.get("/compte/paiements/999999")).status_code == 404
    # Admin pages of the group: not for a member, nor for a catalog's coordinator.
    from domain.tables import Catalog

    await Catalog.update({Catalog.coordinator: w["members"][0]}).where(Catalog.id == w["catalog"])
    for url in (
        f"/g/{w['slug']}/paiements",
        f"/g/{w['slug']}/paiements/export.csv",
        f"/g/{w['slug']}/paiements/membres/{w['members'][1]}",
        f"/g/{w['slug']}/paiements/producteurs",
        f"/g/{w['slug']}/parametres/paiements",
    ):
        assert (await client.get(url)).status_code == 403, url
    refused = await post_form(
        client,
        f"/g/{w['slug']}/paiements/membres/{w['members'][0]}/paiement",
        {"amount": "100", "means": "especes"},
    )
    assert refused.status_code == 403
    assert all(o["kind"] == "order" for o in await Operation.select())


async def market_elsewhere() -> int:
    from domain.demo import world as build

    owner = await build.person("autre@example.org", "Autre", "Admin")
    group = await build.group(owner, "Autre marché", "market")
    return group["id"]
