"""Step 5 of seed 002: « Valider la distribution » pushes one sale per member basket to
Escarcelle (delivered quantities, from the validation record, consumed once), with an
idempotency key per basket; skipped and failed ones reported to the admins; failures
retried hourly a bounded number of times, then by hand."""

from __future__ import annotations

import html
from datetime import timedelta

from domain.demo import world as build
from domain.escarcelle import sales
from domain.kernel import clock
from domain.tables import (
    EscarcelleSale,
    Membership,
    OrderLine,
    OutboxMail,
    Product,
    ValidationUse,
)
from jobs import escarcelle as escarcelle_jobs
from jobs import scheduler
from tests.helpers import post_form
from tests.stack import wait_until
from tests.web.escarcelle.conftest import linked_grocery, validate_over_http

PASTA, FLOUR = "1001", "1002"
LEASE = timedelta(minutes=2)  # the lease of a push (ESCARCELLE_LEASE_SECONDS)


async def beneficiaries(w: dict, ids: dict[int, str]) -> None:
    """Members with an Escarcelle client id, who have accepted the group."""
    for user, client_id in ids.items():
        await Membership.update(
            {Membership.escarcelle_id: client_id, Membership.accepted_at: clock.now()}
        ).where(Membership.user == user)


async def sales_done(count: int):
    async def check():
        rows = await EscarcelleSale.select(EscarcelleSale.state)
        return len(rows) == count and all(r["state"] not in ("pending", "sending") for r in rows)

    await wait_until(check, what="les ventes envoyées")


async def test_validating_pushes_one_sale_per_basket_and_mails_the_report(
    client, escarcelle_url, simulator, mailbox
):
    w = await linked_grocery(client, simulator, members=4)
    point = w["points"][0]
    first, second, away, unknown = point["members"]
    await beneficiaries(w, {first: "C0001", second: "C0002", away: "C0003"})
    (by_hand,) = await build.products(point["catalog"], [("Fait main", 300)])
    pasta, flour = w["products"][PASTA], w["products"][FLOUR]
    await build.orders(
        point["distribution"],
        {
            first: {pasta: 2, flour: 1, by_hand: 1},
            second: {pasta: 3},
            away: {pasta: 1},
            unknown: {flour: 2},
        },
    )
    line = (
        await OrderLine.select(OrderLine.id)
        .where((OrderLine.product == pasta) & (OrderLine.quantity == 3))
        .first()
    )
    await validate_over_http(client, point, absent={away}, delivered={line["id"]: 1})
    await sales_done(4)
    sold = simulator.state()["sales"]
    assert len(sold) == 2
    by_client = {s["client_id"]: s for s in sold}
    assert sorted((x["product_id"], x["quantity"]) for x in by_client["C0001"]["lines"]) == [
        (PASTA, 2),
        (FLOUR, 1),
    ]
    assert [(x["product_id"], x["quantity"]) for x in by_client["C0002"]["lines"]] == [(PASTA, 1)]
    states = {
        r["order"]: (r["state"], r["reason"])
        for r in await EscarcelleSale.select(
            EscarcelleSale.order, EscarcelleSale.state, EscarcelleSale.reason
        )
    }
    assert sorted(states.values()) == [
        ("sent", ""),
        ("sent", ""),
        ("skipped", "absent à la distribution"),
        ("skipped", "bénéficiaire sans ID Escarcelle"),
    ]
    (mail,) = await mailbox.wait_for("lise@example.org", subject="Synchronisation Escarcelle")
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Envoyées : 2" in text and "Non envoyées : 2" in text and "En échec : 0" in text
    assert "absent à la distribution" in text and "bénéficiaire sans ID Escarcelle" in text
    assert "1 × Fait main" in text  # a line without Escarcelle id, left out and said so
    # The record was consumed once: nothing more to consume, nothing pushed twice.
    assert await ValidationUse.count().where(ValidationUse.consumer == "escarcelle") == 1
    assert await escarcelle_jobs.consume_records() == 0
    again = await escarcelle_jobs.push(w["producer"], point["distribution"], "premier envoi")
    assert again["sent"] == 0 and len(simulator.state()["sales"]) == 2
    # Escarcelle's stock as shown drops by what it sold; the stock here is unchanged.
    row = (
        await Product.select(Product.escarcelle_stock, Product.stock)
        .where(Product.id == pasta)
        .first()
    )
    assert row["escarcelle_stock"] == 12 - 3
    page = html.unescape((await client.get(f"/espace-producteur/{w['producer']}/parametres")).text)
    assert "2 envoyées, 2 non envoyées" in page
    assert "pensez à valider vos distributions rapidement" in page


async def test_a_push_repeated_after_a_crash_makes_no_second_sale(
    client, escarcelle_url, simulator
):
    w = await linked_grocery(client, simulator)
    point = w["points"][0]
    first = point["members"][0]
    await beneficiaries(w, {first: "C0001"})
    await build.orders(point["distribution"], {first: {w["products"][PASTA]: 2}})
    await validate_over_http(client, point)
    await sales_done(1)
    # As if the worker had died after Escarcelle made the sale and before it was marked.
    await EscarcelleSale.update(
        {
            EscarcelleSale.state: "sending",
            EscarcelleSale.claimed_at: clock.now() - timedelta(hours=1),
        }
    ).where(EscarcelleSale.id > 0)
    outcome = await escarcelle_jobs.push(w["producer"], point["distribution"], "essai")
    assert outcome["sent"] == 1
    assert len(simulator.state()["sales"]) == 1
    assert simulator.calls("/sales")[-1]["status"] == 200  # Escarcelle had it already


async def test_failures_are_retried_hourly_then_left_for_a_manual_retry(
    client, escarcelle_url, simulator, mailbox
):
    w = await linked_grocery(client, simulator)
    point = w["points"][0]
    first = point["members"][0]
    await beneficiaries(w, {first: "C0001"})
    await build.orders(point["distribution"], {first: {w["products"][PASTA]: 2}})
    simulator.fault("500", path="/sales", count=4 * sales.MAX_ATTEMPTS)
    await validate_over_http(client, point)
    await sales_done(1)
    sale = await EscarcelleSale.select().first()
    assert (sale["state"], sale["attempts"]) == ("failed", 1)
    assert "indisponible" in sale["reason"]
    (report,) = await mailbox.wait_for("lise@example.org", subject="Synchronisation Escarcelle")
    assert "En échec : 1" in report.get_body(preferencelist=("plain",)).get_content()
    moment = clock.now()
    for hour in range(1, sales.MAX_ATTEMPTS):
        await escarcelle_jobs.push(w["producer"], point["distribution"], "essai")  # not due yet
        moment += timedelta(hours=1, minutes=1)
        assert await sales.due_retries(moment, LEASE) == [(w["producer"], point["distribution"])]
        await EscarcelleSale.update({EscarcelleSale.next_attempt_at: clock.now()}).where(
            EscarcelleSale.id == sale["id"]
        )
        await escarcelle_jobs.push(w["producer"], point["distribution"], f"essai {hour}")
    sale = await EscarcelleSale.select().first()
    assert (sale["state"], sale["attempts"]) == ("abandoned", sales.MAX_ATTEMPTS)
    assert await sales.due_retries(moment + timedelta(days=1), LEASE) == []
    await mailbox.wait_for("lise@example.org", count=2, subject="Synchronisation Escarcelle")
    assert await OutboxMail.count().where(OutboxMail.kind == "escarcelle_report") == 2
    # « Renvoyer les ventes en échec », Escarcelle back.
    simulator.fault("none")
    page = await client.get(f"/espace-producteur/{w['producer']}/parametres")
    assert "Renvoyer les ventes en échec" in html.unescape(page.text)
    done = await post_form(
        client,
        f"/espace-producteur/{w['producer']}/ventes/{point['distribution']}/renvoyer",
        follow_redirects=False,
    )
    assert done.status_code == 303
    await wait_until(
        lambda: EscarcelleSale.exists().where(EscarcelleSale.state == "sent"),
        what="la vente renvoyée",
    )
    assert len(simulator.state()["sales"]) == 1


async def test_the_scheduler_consumes_a_record_left_unused(client, escarcelle_url, simulator):
    """A broker message lost after the validation: the minute tick consumes the record."""
    from domain.catalog_orders import validation

    w = await linked_grocery(client, simulator)
    point = w["points"][0]
    first = point["members"][0]
    await beneficiaries(w, {first: "C0001"})
    await build.orders(point["distribution"], {first: {w["products"][PASTA]: 1}})
    original = escarcelle_jobs.after_validation
    escarcelle_jobs.after_validation = lambda: None
    try:
        await validate_over_http(client, point)
    finally:
        escarcelle_jobs.after_validation = original
    assert await validation.records_to_use(sales.CONSUMER)
    await scheduler.tick(clock.now())
    await sales_done(1)
    assert len(simulator.state()["sales"]) == 1
