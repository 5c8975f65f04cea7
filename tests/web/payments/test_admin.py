"""The admins' side: a member's account (payment, refund, correction of a debt), money
never lost nor doubled (a form sent twice, two admins at once), the Paiements page and its
CSV, PARAMÈTRES → Paiements, and who may see what."""

from __future__ import annotations

import asyncio
import csv
import io

from domain.demo import world as build
from domain.tables import Membership, Operation, Order, PaymentSettings, Settlement
from tests.helpers import login, post_form
from tests.web.payments.helpers import as_user, balance, key_in, market, ops_of, shown


async def ordered(app, w: dict, baskets: dict[str, dict[int, int]]) -> None:
    for email, basket in baskets.items():
        member = await as_user(app, email)
        form = {f"q{p}": str(q) for p, q in basket.items()}
        response = await post_form(member, w["url"], form | {"key": email, "valider": "1"})
        assert "Votre commande est validée" in shown(response)


async def test_recording_a_payment_a_refund_and_a_correction(app, client):
    w = await market(1)
    member = w["members"][0]
    p1, p2, _ = w["products"]
    await ordered(app, w, {"m0@example.org": {p1: 2, p2: 2}})  # 3,00 + 3,02
    await login(client, "admin@example.org")
    url = f"/g/{w['slug']}/paiements/membres/{member}"
    page = await client.get(url)
    assert page.status_code == 200
    text = shown(page)
    assert "Prénom0 Nom0" in text and "Solde : -6,02\xa0€" in text and "6,02\xa0€ à payer" in text
    order = await Order.select().first()
    form = {
        "amount": "4",
        "means": "cheque",
        "paid_on": "",
        "reference": "1234567",
        f"debt{(await ops_of(member))[0]['id']}": f"order:{order['id']}",
        "key": key_in(page),
    }
    done = await post_form(client, f"{url}/paiement", form)
    assert "Paiement enregistré." in shown(done)
    await post_form(client, f"{url}/paiement", form)  # the same form again: one payment
    payments = [o for o in await ops_of(member) if o["kind"] == "payment"]
    assert len(payments) == 1
    assert payments[0]["amount_cents"] == 400 and payments[0]["reference"] == "1234567"
    assert payments[0]["label"] == "Paiement par chèque n° 1234567"
    assert payments[0]["recorded_by"] == w["admin"]
    assert [s["subject"] for s in await Settlement.select()] == [f"order:{order['id']}"]
    assert await balance(member, w["group"]["id"]) == -202
    # The rest in cash, then the coordinator's gesture: the debt corrected to 5 €.
    page = await client.get(url)
    await post_form(
        client, f"{url}/paiement", {"amount": "2,02", "means": "especes", "key": key_in(page)}
    )
    page = await client.get(url)
    assert "Payé" in shown(page)
    fixed = await post_form(
        client,
        f"{url}/correction",
        {
            "subject": f"order:{order['id']}",
            "amount": "5",
            "reason": "Poireaux abîmés",
            "key": key_in(page),
        },
    )
    assert "Correction enregistrée." in shown(fixed)
    ops = await ops_of(member)
    correction = ops[-1]
    assert (correction["kind"], correction["amount_cents"]) == ("adjustment", 102)
    assert correction["label"] == "Correction : Poireaux abîmés"
    assert correction["recorded_by"] == w["admin"]
    assert ops[0]["amount_cents"] == -602  # the order's debt as it was: never edited
    text = shown(fixed)
    assert "Enregistré par Adèle Admin le" in text and "1,02\xa0€ d'avance" in text
    # Refund the credit: the account is back to zero.
    page = await client.get(url)
    await post_form(
        client,
        f"{url}/remboursement",
        {"amount": "1,02", "means": "especes", "reason": "trop-perçu", "key": key_in(page)},
    )
    refund = (await ops_of(member))[-1]
    assert (refund["kind"], refund["amount_cents"]) == ("refund", -102)
    assert refund["label"] == "Remboursement en espèces : trop-perçu"
    assert await balance(member, w["group"]["id"]) == 0


async def test_bad_payment_forms_are_said_at_their_fields_and_record_nothing(app, client):
    w = await market(1)
    member = w["members"][0]
    await login(client, "admin@example.org")
    url = f"/g/{w['slug']}/paiements/membres/{member}"
    for form, field, message in (
        ({"amount": "", "means": "cheque"}, "amount", "Indiquez un montant en euros"),
        ({"amount": "-3", "means": "cheque"}, "amount", "Indiquez un montant en euros"),
        ({"amount": "1e9", "means": "cheque"}, "amount", "Indiquez un montant en euros"),
        ({"amount": "5", "means": "bitcoin"}, "means", "Choisissez le moyen de paiement."),
        (
            {"amount": "5", "means": "cheque", "paid_on": "2999-01-01"},
            "paid_on",
            "La date ne peut pas être dans le futur.",
        ),
        (
            {"amount": "5", "means": "cheque", "paid_on": "31/12/2026"},
            "paid_on",
            "Indiquez la date",
        ),
    ):
        response = await post_form(client, f"{url}/paiement", form)
        assert response.status_code == 422, form
        assert f'id="pay-e-{field}"' in response.text and message in shown(response), form
    bad = await post_form(
        client, f"{url}/correction", {"subject": "order:999", "amount": "2", "reason": "x"}
    )
    assert bad.status_code == 422 and "Choisissez la dette à corriger." in shown(bad)
    no_reason = await post_form(client, f"{url}/correction", {"subject": "x", "amount": "2"})
    assert "Indiquez la raison de la correction." in shown(no_reason)
    assert await Operation.select() == []


async def test_two_admins_recording_payments_at_once_both_count(app):
    w = await market(1)
    member = w["members"][0]
    second = await build.person("admin2@example.org", "Bruno", "Second")
    await build.join(w["group"]["id"], second, is_admin=True)
    await ordered(app, w, {"m0@example.org": {w["products"][0]: 10}})
    first_admin = await as_user(app, "admin@example.org")
    second_admin = await as_user(app, "admin2@example.org")
    url = f"/g/{w['slug']}/paiements/membres/{member}"
    keys = [key_in(await c.get(url)) for c in (first_admin, second_admin)]
    responses = await asyncio.gather(
        *(
            post_form(c, f"{url}/paiement", {"amount": "5", "means": "especes", "key": k})
            for c, k in zip((first_admin, second_admin), keys, strict=True)
        )
    )
    assert all(r.status_code in (200, 303) for r in responses)
    payments = [o for o in await ops_of(member) if o["kind"] == "payment"]
    assert sorted(p["recorded_by"] for p in payments) == sorted([w["admin"], second])
    assert await balance(member, w["group"]["id"]) == -1500 + 1000


async def test_another_groups_admin_sees_and_records_nothing(app, client):
    w = await market(1)
    member = w["members"][0]
    await ordered(app, w, {"m0@example.org": {w["products"][0]: 1}})
    other = await build.person("autre@example.org", "Olga", "Autre")
    theirs = await build.group(other, "Autre AMAP")
    await login(client, "autre@example.org")
    # Through their own group: this person has no account there.
    url = f"/g/{theirs['slug']}/paiements/membres/{member}"
    assert (await client.get(url)).status_code == 404
    response = await post_form(client, f"{url}/paiement", {"amount": "9", "means": "especes"})
    assert response.status_code == 404
    assert "Prénom0" not in (await client.get(f"/g/{theirs['slug']}/paiements")).text
    assert "Prénom0" not in (await client.get(f"/g/{theirs['slug']}/paiements/export.csv")).text
    # Through ours: not theirs.
    ours = f"/g/{w['slug']}/paiements/membres/{member}"
    assert (await client.get(ours)).status_code == 403
    assert (await post_form(client, f"{ours}/paiement", {"amount": "9"})).status_code == 403
    assert (await client.get(f"/compte/paiements/{w['group']['id']}")).status_code == 404
    assert [o["kind"] for o in await Operation.select()] == ["order"]


def parse_csv(response) -> list[list[str]]:
    assert response.content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))


async def test_the_paiements_page_its_filters_and_its_csv(app, client):
    w = await market(3)
    a, b, c = w["members"]
    p1, p2, _ = w["products"]
    await ordered(app, w, {"m0@example.org": {p1: 2}, "m1@example.org": {p2: 1}})
    await login(client, "admin@example.org")
    page = await client.get(f"{'/g/' + w['slug']}/paiements/membres/{b}")
    await post_form(
        client,
        f"/g/{w['slug']}/paiements/membres/{b}/paiement",
        {"amount": "5", "means": "especes", "key": key_in(page)},
    )
    # An added account that has not accepted: the admins see what they typed, not its names.
    await Membership.update(
        {
            Membership.existing_account: True,
            Membership.accepted_at: None,
            Membership.invited_first_name: "Typé",
            Membership.invited_last_name: "Parladmin",
        }
    ).where(Membership.user == c)
    home = await client.get(f"/g/{w['slug']}")
    assert f'href="/g/{w["slug"]}/paiements"' in home.text  # the PAIEMENTS tab
    listing = await client.get(f"/g/{w['slug']}/paiements")
    text = shown(listing)
    assert "1 membre doit de l'argent au groupe : 3,00\xa0€ au total." in text
    assert "Avances des membres : 3,49\xa0€." in text
    assert "Typé Parladmin" in text and "Prénom2" not in text
    owed = shown(await client.get(f"/g/{w['slug']}/paiements?filtre=a-payer"))
    assert "Prénom0 Nom0" in owed and "Prénom1" not in owed and "1 membre trouvé" in owed
    fragment = await client.get(
        f"/g/{w['slug']}/paiements?filtre=credit", headers={"HX-Request": "true"}
    )
    assert "<html" not in fragment.text and "Prénom1 Nom1" in shown(fragment)
    assert "HX-Request" in fragment.headers["vary"]
    searched = shown(await client.get(f"/g/{w['slug']}/paiements?q=parladmin"))
    assert "Typé Parladmin" in searched and "Prénom0" not in searched
    by_balance = (await client.get(f"/g/{w['slug']}/paiements?tri=solde")).text
    assert by_balance.index("Prénom0") < by_balance.index("Typé") < by_balance.index("Prénom1")
    export = await client.get(f"/g/{w['slug']}/paiements/export.csv?tri=solde")
    assert export.headers["content-type"].startswith("text/csv")
    assert "Paiements" in export.headers["content-disposition"]
    rows = parse_csv(export)
    assert rows[0] == [
        "Nom",
        "Prénom",
        "E-mail",
        "Membre",
        "Total dû",
        "Total payé",
        "Solde",
        "Dernier paiement",
        "Statut",
    ]
    by_email = {r[2]: r for r in rows[1:]}
    assert by_email["m0@example.org"][4:7] == ["3,00", "0,00", "-3,00"]
    assert by_email["m0@example.org"][8] == "À payer"
    assert by_email["m1@example.org"][4:7] == ["1,51", "5,00", "3,49"]
    assert by_email["m1@example.org"][8] == "En avance"
    assert by_email["m2@example.org"][:2] == ["Parladmin", "Typé"]
    assert by_email["admin@example.org"][8] == "À jour"
    assert rows[1][2] == "m0@example.org" and rows[-1][2] == "m1@example.org"  # by balance
    only = parse_csv(await client.get(f"/g/{w['slug']}/paiements/export.csv?filtre=a-payer"))
    assert [r[2] for r in only[1:]] == ["m0@example.org"]


async def test_a_former_member_stays_on_the_paiements_page_with_their_balance(app, client):
    w = await market(1)
    member = w["members"][0]
    await ordered(app, w, {"m0@example.org": {w["products"][0]: 1}})
    await Membership.delete().where(Membership.user == member)
    await login(client, "admin@example.org")
    text = shown(await client.get(f"/g/{w['slug']}/paiements"))
    assert "Prénom0 Nom0" in text and "a quitté le groupe" in text
    page = await client.get(f"/g/{w['slug']}/paiements/membres/{member}")
    assert page.status_code == 200 and "Cette personne a quitté le groupe" in shown(page)


async def test_payment_settings_are_saved_and_checked(app, client):
    w = await market(0, kind="grocery")
    await login(client, "admin@example.org")
    url = f"/g/{w['slug']}/parametres/paiements"
    page = shown(await client.get(url))
    assert "Suivre les paiements des membres" in page
    assert 'name="ledger" value="1" checked' not in (await client.get(url)).text  # off
    settings_link = await client.get(f"/g/{w['slug']}/parametres")
    assert f'href="{url}"' in settings_link.text
    bad = await post_form(
        client,
        url,
        {"ledger": "1", "type_cheque": "1", "type_virement": "1", "iban": "FR76 1234"},
    )
    assert bad.status_code == 422
    text = shown(bad)
    assert "Indiquez à l'ordre de qui les chèques sont à faire." in text
    assert "Cet IBAN n'est pas valide" in text
    assert await PaymentSettings.select() == []
    none = await post_form(client, url, {"ledger": "1"})
    assert "Choisissez au moins un moyen de paiement accepté." in shown(none)
    done = await post_form(
        client,
        url,
        {
            "ledger": "1",
            "type_cheque": "1",
            "type_virement": "1",
            "cheque_payee": "Épicerie du Coin",
            "iban": "fr76 3000 6000 0112 3456 7890 189",
        },
        htmx=True,
    )
    assert "Paramètres des paiements enregistrés." in shown(done) and "<html" not in done.text
    [row] = await PaymentSettings.select()
    assert (row["ledger"], row["types"], row["iban"]) == (
        True,
        "cheque,virement",
        "FR7630006000011234567890189",
    )
    assert 'value="FR76 3000 6000 0112 3456 7890 189"' in done.text
