"""« Valider la distribution » also records the payments received at the table, member by
member, in one form: with the corrections and the validation, or alone before the
distribution or once it is validated. Sent twice, it counts once; two admins at once both
count; a refused value records nothing at all."""

from __future__ import annotations

import asyncio

from domain.demo import world as build
from domain.tables import Operation, Order, OrderLine, Settlement
from tests.helpers import login, post_form
from tests.web.payments.helpers import (
    as_user,
    balance,
    key_in,
    market,
    ops_of,
    shown,
    start_distribution,
)


async def with_orders(app, members: int = 3, kind: str = "market") -> dict:
    w = await market(members, kind=kind)
    p1, p2, _ = w["products"]
    for n in range(members):
        client = await as_user(app, f"m{n}@example.org")
        await post_form(
            client, w["url"], {f"q{p1}": str(n + 1), f"q{p2}": "1", "key": f"v{n}", "valider": "1"}
        )
    orders = {o["user"]: o["id"] for o in await Order.select(Order.user, Order.id)}
    return w | {
        "orders": orders,
        "url_validate": f"/g/{w['slug']}/distributions/{w['distribution']}/valider",
    }


async def payments_of(user_id: int) -> list[dict]:
    return [o for o in await ops_of(user_id) if o["kind"] == "payment"]


async def test_payments_with_the_validation_in_one_form_counted_once(app, client):
    w = await with_orders(app)
    a, b, c = w["members"]
    member_b = await as_user(app, "m1@example.org")
    await post_form(
        member_b,
        f"/g/{w['slug']}/paiements/annonce",
        {"subject": f"order:{w['orders'][b]}", "means": "cheque", "next": w["url"]},
    )
    await start_distribution(w["distribution"])
    await login(client, "admin@example.org")
    page = await client.get(w["url_validate"])
    text = shown(page)
    assert "notez les paiements reçus" in text
    assert "À payer : 3,01\xa0€" in text and "À payer : 6,01\xa0€" in text
    assert "annonce : par chèque" in text
    oa, ob, oc = (w["orders"][u] for u in (a, b, c))
    assert '<option value="cheque" selected>' in page.text.split(f'id="means{ob}"')[1][:300]
    line = (
        await OrderLine.select()
        .where((OrderLine.order == oc) & (OrderLine.product == w["products"][0]))
        .first()
    )
    form = {
        "key": key_in(page),
        f"shown{oa}": "1",
        f"shown{ob}": "1",
        f"shown{oc}": "1",
        f"q{line['id']}": "2",  # c got 2, not 3: 1,50 € less
        f"paid{oa}": "3,01",
        f"means{oa}": "especes",
        f"paid{ob}": "4,51",
        f"means{ob}": "cheque",
        f"ref{ob}": "0004512",
        f"paid{oc}": "",
        "action": "valider",
    }
    done = await post_form(client, w["url_validate"], form)
    assert "Distribution validée. Paiements enregistrés." in shown(done)
    [pa] = await payments_of(a)
    [pb] = await payments_of(b)
    assert await payments_of(c) == []
    assert (pa["amount_cents"], pa["means"], pa["distribution"]) == (
        301,
        "especes",
        w["distribution"],
    )
    assert pb["reference"] == "0004512" and pb["label"].startswith(
        "Paiement par chèque n° 0004512 à la distribution du "
    )
    assert {s["subject"] for s in await Settlement.select()} == {f"order:{oa}", f"order:{ob}"}
    assert await balance(a, w["group"]["id"]) == 0
    assert await balance(b, w["group"]["id"]) == 0
    assert await balance(c, w["group"]["id"]) == -(300 + 151)  # its debt as handed over
    # The same form again (a second tap, a retry): nothing more.
    again = await post_form(client, w["url_validate"], form)
    assert again.status_code == 422
    assert len(await Operation.select().where(Operation.kind == "payment")) == 2
    after = shown(await client.get(w["url_validate"]))
    assert "Payé" in after and "Enregistrer les paiements" in after


async def test_a_refused_value_saves_nothing_neither_quantities_nor_payments(app, client):
    w = await with_orders(app, 2)
    a, b = w["members"]
    oa, ob = w["orders"][a], w["orders"][b]
    await start_distribution(w["distribution"])
    await login(client, "admin@example.org")
    page = await client.get(w["url_validate"])
    line = await OrderLine.select().where(OrderLine.order == oa).first()
    bad = await post_form(
        client,
        w["url_validate"],
        {
            "key": key_in(page),
            f"q{line['id']}": "0",
            f"paid{oa}": "3",
            f"means{oa}": "especes",
            f"paid{ob}": "trois euros",
            f"means{ob}": "especes",
            "action": "enregistrer",
        },
    )
    assert bad.status_code == 422
    assert "Indiquez un montant en euros" in shown(bad) and 'aria-invalid="true"' in bad.text
    assert await Operation.select().where(Operation.kind == "payment") == []
    assert (await OrderLine.select().where(OrderLine.id == line["id"]).first())["quantity"] == 1
    # A member who has no order at this date cannot be paid for through it.
    other = await post_form(
        client,
        w["url_validate"],
        {"key": "k2", "paid999999": "3", "means999999": "especes", "action": "enregistrer"},
    )
    assert other.status_code == 422 and "rechargez la page" in shown(other)


async def test_payments_alone_once_validated_and_two_admins_at_once(app):
    w = await with_orders(app, 2)
    a, b = w["members"]
    second = await build.person("admin2@example.org", "Bruno", "Second")
    await build.join(w["group"]["id"], second, is_admin=True)
    await start_distribution(w["distribution"])
    first_admin = await as_user(app, "admin@example.org")
    validated = await post_form(
        first_admin, w["url_validate"], {"action": "valider", "key": "validation"}
    )
    assert "Distribution validée." in shown(validated)
    second_admin = await as_user(app, "admin2@example.org")
    oa, ob = w["orders"][a], w["orders"][b]
    forms = []
    for client, order in ((first_admin, oa), (second_admin, ob)):
        page = await client.get(w["url_validate"])
        assert "Enregistrer les paiements" in shown(page)
        forms.append(
            (
                client,
                {
                    "key": key_in(page),
                    f"paid{order}": "1",
                    f"means{order}": "especes",
                    "action": "paiements",
                },
            )
        )
    responses = await asyncio.gather(
        *(post_form(client, w["url_validate"], form) for client, form in forms)
    )
    assert all("Paiements enregistrés." in shown(r) for r in responses)
    await post_form(*forms[0][:1], w["url_validate"], forms[0][1])  # sent again: once
    assert [p["recorded_by"] for p in await payments_of(a)] == [w["admin"]]
    assert [p["recorded_by"] for p in await payments_of(b)] == [second]
    empty = await post_form(first_admin, w["url_validate"], {"key": "k", "action": "paiements"})
    assert empty.status_code == 422 and "Indiquez au moins un montant reçu." in shown(empty)


async def test_payments_before_the_distribution_starts(app, client):
    w = await with_orders(app, 1)
    [a] = w["members"]
    await login(client, "admin@example.org")
    page = await client.get(w["url_validate"])
    assert "n'a pas encore commencé" in shown(page) and "Enregistrer les paiements" in shown(page)
    oa = w["orders"][a]
    await post_form(
        client,
        w["url_validate"],
        {"key": key_in(page), f"paid{oa}": "3,01", f"means{oa}": "cheque", "action": "paiements"},
    )
    assert await balance(a, w["group"]["id"]) == 0


async def test_no_payment_fields_when_the_group_keeps_no_accounts(app, client):
    w = await with_orders(app, 1, kind="grocery")
    await start_distribution(w["distribution"])
    await login(client, "admin@example.org")
    page = await client.get(w["url_validate"])
    assert 'name="paid' not in page.text and "Enregistrer les paiements" not in shown(page)
    refused = await post_form(
        client,
        w["url_validate"],
        {"key": "k", f"paid{w['orders'][w['members'][0]]}": "3", "action": "paiements"},
    )
    assert refused.status_code == 422 and "n'est pas activé" in shown(refused)
    assert await Operation.select() == []
