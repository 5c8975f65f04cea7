"""The order form sent to each producer when orders close: its content and CSV, once per
catalog and distribution (three runs at once, two scheduler processes), none when nobody
ordered, the coordinator's copy, the updated form after corrections, and its delivery
with the CSV attached through a real SMTP server. Time passed in, no sleep."""

from __future__ import annotations

import asyncio
import csv
import io
import os
from datetime import UTC, datetime, timedelta

from domain.catalog_orders import corrections
from domain.demo import world as build
from domain.order_forms import QUIET
from domain.order_forms import sending as order_forms
from domain.tables import (
    Catalog,
    CatalogDistribution,
    Distribution,
    OrderForm,
    OrderLine,
    OutboxMail,
    Vendor,
)
from jobs import mail as mail_jobs
from jobs import scheduler
from tests.helpers import make_user
from tests.jobs.test_scheduler import run_scheduler_once
from tests.stack import text_of

H = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
A_MONTH_AGO = datetime.now(UTC).replace(microsecond=0) - timedelta(days=30)


async def form_world(start: datetime) -> dict:
    """An AMAP with a distribution at `start` (orders close a day before). The catalog
    « Légumes » of Ferme des Saules (ferme@example.org), coordinated by Paul: ana and bob
    ordered (validated), cy has a draft; the catalog « Pains » of Fournil delivers there
    too and nobody ordered from it."""
    admin = await make_user("admin@example.org", "Adèle", "Admin")
    paul = await make_user("paul@example.org", "Paul", "Coord")
    group = await build.group(admin, "AMAP des Tilleuls")
    gid = group["id"]
    place = await build.place(gid, "Halle aux grains")
    dist = await build.distribution(gid, place, start)
    farm = await build.producer(gid, "Ferme des Saules")
    await Vendor.update({Vendor.email: "ferme@example.org"}).where(Vendor.id == farm)
    vegetables = await build.catalog(gid, farm, "Légumes", coordinator=paul, delivers=[dist])
    leeks, eggs, honey = await build.products(
        vegetables,
        [("Poireaux", 250), ("Œufs =bio", 390), ("Miel", 1200)],
        unit="kg",
        reference="REF-{i}",
    )
    breads = await build.catalog(
        gid, await build.producer(gid, "Fournil"), "Pains", delivers=[dist]
    )
    await build.product(breads, "Pain", 420)
    people = {}
    for first, last in (("Ana", "Martin"), ("Bob", "Petit"), ("Cy", "Durand")):
        people[first.lower()] = await make_user(f"{first.lower()}@example.org", first, last)
    await build.join(gid, list(people.values()) + [paul])
    orders = {
        "ana": await build.order(people["ana"], dist, {leeks: 2, eggs: 1}),  # 8,90 €
        "bob": await build.order(people["bob"], dist, {leeks: 1, honey: 3}),  # 38,50 €
    }
    await build.order(people["cy"], dist, {honey: 50}, state="draft")
    return {
        "group": group,
        "gid": gid,
        "place": place,
        "distribution": dist,
        "catalog": vegetables,
        "breads": breads,
        "products": {"leeks": leeks, "eggs": eggs, "honey": honey},
        "people": people,
        "orders": orders,
        "start": start,
        "closes": start - 24 * H,
    }


def contexts(settings):
    return scheduler.contexts(settings)


async def form_mails() -> list[dict]:
    return await OutboxMail.select().where(OutboxMail.kind == "order_form").order_by(OutboxMail.id)


def csv_of(data: bytes) -> list[list[str]]:
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


async def test_one_form_when_orders_close_with_its_tables_and_csv(settings):
    w = await form_world(A_MONTH_AGO)
    ctx = contexts(settings)
    assert await order_forms.queue_due(ctx, w["closes"] - MINUTE) == []
    ids = await order_forms.queue_due(ctx, w["closes"])
    assert len(ids) == 1
    [mail] = await form_mails()
    assert mail["key"] == f"order_form:{w['catalog']}:{w['distribution']}:1:producer"
    assert mail["to_addr"] == "ferme@example.org"
    assert mail["subject"].startswith(
        "Bon de commande : Ferme des Saules – Légumes, distribution du "
    )
    text = mail["body_text"]
    assert "Les commandes sont closes" in text
    assert "- Poireaux (réf. REF-0) : 3 kg × 2,50\u00a0€ = 7,50\u00a0€" in text
    assert "- Œufs =bio (réf. REF-1) : 1 kg × 3,90\u00a0€ = 3,90\u00a0€" in text
    assert "- Miel (réf. REF-2) : 3 kg × 12,00\u00a0€ = 36,00\u00a0€" in text
    assert "PAR ADHÉRENT (2)" in text
    assert "- MARTIN Ana : 2 × Poireaux, 1 × Œufs =bio (8,90\u00a0€)" in text
    assert "- PETIT Bob : 1 × Poireaux, 3 × Miel (38,50\u00a0€)" in text
    assert "Total général : 47,40\u00a0€" in text
    assert "DURAND Cy" not in text and "50 × Miel" not in text  # cy's draft does not count
    assert "Œufs =bio" in mail["body_html"] and "REF-1" in mail["body_html"]

    # The CSV: `;`, BOM, decimal commas, French headers, a formula neutralised.
    assert mail["attachment_name"].startswith("bon-de-commande-")
    assert mail["attachment_name"].endswith("-ferme-des-saules-legumes.csv")
    rows = csv_of(bytes(mail["attachment"]))
    assert rows[0] == ["Bon de commande", "Ferme des Saules – Légumes"]
    header = rows.index(["Produit", "Référence", "Unité", "Quantité", "Prix unitaire", "Total"])
    assert rows[header + 1 : header + 5] == [
        ["Poireaux", "REF-0", "kg", "3", "2,50", "7,50"],
        ["Œufs =bio", "REF-1", "kg", "1", "3,90", "3,90"],
        ["Miel", "REF-2", "kg", "3", "12,00", "36,00"],
        ["Total", "", "", "7", "", "47,40"],
    ]
    members = rows.index(
        ["Adhérent", "Produit", "Référence", "Unité", "Quantité", "Prix unitaire", "Total"]
    )
    assert rows[members + 1 :] == [
        ["MARTIN Ana", "Poireaux", "REF-0", "kg", "2", "2,50", "5,00"],
        ["MARTIN Ana", "Œufs =bio", "REF-1", "kg", "1", "3,90", "3,90"],
        ["PETIT Bob", "Poireaux", "REF-0", "kg", "1", "2,50", "2,50"],
        ["PETIT Bob", "Miel", "REF-2", "kg", "3", "12,00", "36,00"],
        ["Total", "", "", "", "7", "", "47,40"],
    ]

    # Once: later runs send nothing more; the catalog nobody ordered from sends nothing.
    assert await order_forms.queue_due(ctx, w["closes"] + MINUTE) == []
    assert await order_forms.queue_due(ctx, w["start"] - MINUTE) == []
    assert not await OrderForm.exists().where(OrderForm.catalog == w["breads"])
    assert len(await form_mails()) == 1


async def test_the_coordinators_copy_and_the_producers_address(settings):
    w = await form_world(A_MONTH_AGO)
    await Catalog.update({Catalog.order_form_copy: True}).where(Catalog.id == w["catalog"])
    await order_forms.queue_due(contexts(settings), w["closes"])
    assert [(m["to_addr"], m["key"].rsplit(":", 1)[1]) for m in await form_mails()] == [
        ("ferme@example.org", "producer"),
        ("paul@example.org", "coordinator"),
    ]
    # A producer without an address of its own: the account it logs in with; none at all:
    # no mail (the BON DE COMMANDE page says why), and the form is not tried again.
    later = w["start"] + 7 * 24 * H
    second = await build.distribution(w["gid"], w["place"], later, catalogs=[w["catalog"]])
    await build.order(w["people"]["ana"], second, {w["products"]["leeks"]: 1})
    jean = await make_user("jean@example.org", "Jean", "Fermier")
    await Vendor.update({Vendor.email: "", Vendor.user: jean}).where(
        Vendor.name == "Ferme des Saules"
    )
    await Catalog.update({Catalog.order_form_copy: False}).where(Catalog.id == w["catalog"])
    await order_forms.queue_due(contexts(settings), later - 24 * H)
    assert (await form_mails())[-1]["to_addr"] == "jean@example.org"
    third = await build.distribution(
        w["gid"], w["place"], later + 7 * 24 * H, catalogs=[w["catalog"]]
    )
    await build.order(w["people"]["ana"], third, {w["products"]["leeks"]: 1})
    await Vendor.update({Vendor.user: None}).where(Vendor.name == "Ferme des Saules")
    count = len(await form_mails())
    assert await order_forms.queue_due(contexts(settings), later + 6 * 24 * H) == []
    assert len(await form_mails()) == count
    assert await OrderForm.exists().where(OrderForm.distribution == third)


async def test_corrections_after_closing_send_an_updated_form_once_quiet(settings):
    w = await form_world(A_MONTH_AGO)
    ctx, t = contexts(settings), w["closes"]
    await order_forms.queue_due(ctx, t)
    line = (
        await OrderLine.select(OrderLine.id)
        .where(
            (OrderLine.order == w["orders"]["bob"]) & (OrderLine.product == w["products"]["honey"])
        )
        .first()
    )["id"]
    await corrections.change_line(
        catalog_id=w["catalog"], distribution_id=w["distribution"], line_id=line, quantity="1"
    )
    assert await order_forms.queue_due(ctx, t + H) == []  # the change is seen, not sent yet
    assert await order_forms.queue_due(ctx, t + H + QUIET - MINUTE) == []
    # Another correction meanwhile: the quiet time starts again.
    await corrections.change_line(
        catalog_id=w["catalog"], distribution_id=w["distribution"], line_id=line, quantity="2"
    )
    assert await order_forms.queue_due(ctx, t + H + QUIET) == []
    ids = await order_forms.queue_due(ctx, t + H + 2 * QUIET)
    assert len(ids) == 1
    updated = (await form_mails())[-1]
    assert updated["key"].endswith(":2:producer")
    assert updated["subject"].startswith("Bon de commande mis à jour (n° 2) : Ferme des Saules")
    assert "des commandes ont été corrigées après leur clôture" in updated["body_text"].lower()
    assert "Il remplace celui du " in updated["body_text"]
    assert "- Miel (réf. REF-2) : 2 kg × 12,00\u00a0€ = 24,00\u00a0€" in updated["body_text"]
    assert "Bon de commande mis à jour (n° 2)" in updated["body_html"]
    assert updated["attachment_name"].endswith("-maj2.csv")
    assert csv_of(bytes(updated["attachment"]))[3][:2] == ["Mise à jour", "n° 2"]
    assert await order_forms.queue_due(ctx, t + 3 * H) == []

    # Every order gone: an update says there is nothing left; after the start, none.
    await OrderLine.delete().where(OrderLine.order.is_in(list(w["orders"].values())))
    await order_forms.queue_due(ctx, t + 4 * H)
    await order_forms.queue_due(ctx, t + 4 * H + QUIET)
    last = (await form_mails())[-1]
    assert last["key"].endswith(":3:producer")
    assert "Il ne reste plus aucune commande pour cette distribution." in last["body_text"]
    dan = await make_user("dan@example.org", "Dan", "Dernier")
    await build.order(dan, w["distribution"], {w["products"]["leeks"]: 1})
    await order_forms.queue_due(ctx, w["start"] - MINUTE)
    assert await order_forms.queue_due(ctx, w["start"] + QUIET) == []
    assert len(await form_mails()) == 3


async def test_a_catalogs_own_window_closes_its_orders_earlier(settings):
    w = await form_world(A_MONTH_AGO)
    own_close = w["closes"] - 24 * H
    await CatalogDistribution.update({CatalogDistribution.orders_close_at: own_close}).where(
        CatalogDistribution.catalog == w["catalog"]
    )
    assert await order_forms.queue_due(contexts(settings), own_close - MINUTE) == []
    assert len(await order_forms.queue_due(contexts(settings), own_close)) == 1
    # A cancelled distribution sends none.
    second = await build.distribution(
        w["gid"], w["place"], w["start"] + 7 * 24 * H, catalogs=[w["catalog"]]
    )
    await build.order(w["people"]["ana"], second, {w["products"]["leeks"]: 1})
    await Distribution.update({Distribution.cancelled_at: w["start"]}).where(
        Distribution.id == second
    )
    await order_forms.queue_due(contexts(settings), w["start"] + 6 * 24 * H)
    assert len(await form_mails()) == 1


async def test_three_runs_at_once_send_one_form(settings):
    w = await form_world(A_MONTH_AGO)
    await Catalog.update({Catalog.order_form_copy: True}).where(Catalog.id == w["catalog"])
    results = await asyncio.gather(
        *(order_forms.queue_due(contexts(settings), w["closes"]) for _ in range(3))
    )
    all_ids = [i for ids in results for i in ids]
    assert len(all_ids) == len(set(all_ids)) == 2  # the producer's and the coordinator's
    assert [r["version"] for r in await OrderForm.select(OrderForm.version)] == [1]


async def test_the_form_is_delivered_with_its_csv_attached(use_settings, mailbox, settings):
    now = datetime.now(UTC).replace(microsecond=0)
    w = await form_world(now + 23 * H)  # orders closed an hour ago
    [mail_id] = await order_forms.queue_due(contexts(settings))
    assert await mail_jobs.deliver(mail_id) == "sent"
    [mail] = mailbox.to("ferme@example.org", "Bon de commande")
    assert mail["List-Unsubscribe"] is None  # a document for the producer, not a notification
    assert "Total général : 47,40" in text_of(mail)
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content_type() == "text/csv"
    assert attachment.get_filename().startswith("bon-de-commande-")
    rows = csv_of(attachment.get_payload(decode=True))
    assert ["Total", "", "", "7", "", "47,40"] in rows
    assert w


async def test_two_scheduler_processes_at_once_send_one_form(redis_url, smtp_server):
    now = datetime.now(UTC).replace(microsecond=0)
    w = await form_world(now + 23 * H)
    env = {**os.environ, "REDIS_URL": redis_url, "SMTP_URL": smtp_server.url}
    for _ in range(2):
        processes = [run_scheduler_once(env) for _ in range(2)]
        outputs = [p.communicate(timeout=60)[0].decode(errors="replace") for p in processes]
        assert [p.returncode for p in processes] == [0, 0], outputs
    assert [m["key"] for m in await form_mails()] == [
        f"order_form:{w['catalog']}:{w['distribution']}:1:producer"
    ]
