"""Catalogs → Gérer → COMMANDES: the dates, the orders of a date by product and by member,
the corrections of a member's order, the CSV exports, the liste d'émargement, COMMANDE EN
GROS and "Valider la distribution", through the HTTP stack on the real database."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, datetime, timedelta

from litestar.testing import AsyncTestClient

from domain import ordering
from domain.catalog_orders import exports, recaps, validation
from domain.demo import world as build
from domain.kernel import csvio
from domain.kernel.dates import label
from domain.kernel.money import euros
from domain.ordering import changes
from domain.tables import (
    Catalog,
    CatalogDistribution,
    Distribution,
    Order,
    OrderLine,
    Place,
    Product,
    User,
    Vendor,
)
from tests.helpers import (
    PASSWORD,
    QueryCounter,
    login,
    post_form,
)

NBSP = "\u00a0"


def shown(response) -> str:
    return html.unescape(response.text)


def table_rows(response, table_id: str) -> list[list[str]]:
    """The cells' text of each row of the table `table_id` (header and footer included)."""
    table = re.search(rf'<table[^>]*id="{table_id}".*?</table>', response.text, re.S)
    assert table, f"pas de tableau #{table_id}"
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table.group(0), re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        text = [html.unescape(re.sub(r"<[^>]+>", " ", c)) for c in cells]
        rows.append([re.sub(r"[ \t\r\n]+", " ", t).strip() for t in text])
    return rows


async def as_user(app, email: str) -> AsyncTestClient:
    client = AsyncTestClient(app=app, base_url="http://localhost")
    await login(client, email)
    return client


async def world(members: int = 3, stock: int | None = None) -> dict:
    """A market: an admin, a coordinator and a producer of "Légumes", members who ordered from
    it (and from a second catalog of the same date), a draft basket that must not count."""
    admin = await build.person("admin@example.org", "Adèle", "Admin")
    w = await build.distribution_world(admin, stock=stock, name="Marché des Orties")
    group_id = w["group"]["id"]
    coordinator = await build.person("coord@example.org", "Colin", "Coordo")
    producer = await build.person("prod@example.org", "Paula", "Productrice")
    await build.join(group_id, coordinator)
    await Catalog.update({Catalog.coordinator: coordinator}).where(Catalog.id == w["catalog"])
    await Vendor.update({Vendor.user: producer}).where(Vendor.id == w["vendor"])
    # A second catalog at the same date: its lines never show in "Légumes".
    bakery = await build.producer(group_id, "Boulangerie")
    other = await build.catalog(group_id, bakery, "Pain", delivers=[w["distribution"]])
    bread = await build.product(other, "Pain de seigle", 420)
    p1, p2, p3 = w["products"]  # 1,50 €, 1,51 €, 1,52 €
    people = await build.buyers(
        group_id,
        w["distribution"],
        [{p1: 1 + n % 3, p2: 2, bread: 1} for n in range(members)],
        email="m{i}@example.org",
        first_name="Prénom{i:03d}",
        last_name="Nom{i:03d}",
        phone="06 00 00 {i:04d}",
        password=PASSWORD,
    )
    drafter = await build.person("draft@example.org", "Denis", "Brouillon")
    await build.order(drafter, w["distribution"], {p1: 7}, state="draft")
    base = f"/g/{w['group']['slug']}/catalogues/{w['catalog']}"
    return w | {
        "admin": admin,
        "coordinator": coordinator,
        "producer": producer,
        "members": people,
        "other_catalog": other,
        "bread": bread,
        "base": base,
        "date_url": f"{base}/commandes/{w['distribution']}",
    }


def expected_totals(w: dict) -> tuple[dict[int, int], int]:
    """{product: quantity} and the grand total of "Légumes", from how `world` ordered."""
    p1, p2, _ = w["products"]
    quantities = {p1: 0, p2: 0}
    for n in range(len(w["members"])):
        quantities[p1] += 1 + n % 3
        quantities[p2] += 2
    return quantities, quantities[p1] * 150 + quantities[p2] * 151


async def line_of(order_id: int, product_id: int) -> dict | None:
    return (
        await OrderLine.select()
        .where((OrderLine.order == order_id) & (OrderLine.product == product_id))
        .first()
    )


async def start_distribution(distribution_id: int, hours_ago: float = 1) -> None:
    """The distribution began `hours_ago` (orders closed the day before)."""
    now = datetime.now(UTC)
    starts = now - timedelta(hours=hours_ago)
    await Distribution.update(
        {
            Distribution.starts_at: starts,
            Distribution.ends_at: starts + timedelta(hours=2),
            Distribution.orders_open_at: starts - timedelta(days=7),
            Distribution.orders_close_at: starts - timedelta(days=1),
        }
    ).where(Distribution.id == distribution_id)


# ---- COMMANDES: the dates ---------------------------------------------------------------


async def test_dates_list_coming_then_past_paginated(app, client):
    w = await world(members=1)
    place = await Place.select(Place.id).first()
    now = datetime.now(UTC)
    past_ids = []
    for n in range(25):
        starts = now - timedelta(days=7 * (n + 1))
        rows = await Distribution.insert(
            Distribution(
                group=w["group"]["id"],
                place=place["id"],
                starts_at=starts,
                ends_at=starts + timedelta(hours=2),
                orders_open_at=starts - timedelta(days=7),
                orders_close_at=starts - timedelta(days=1),
            )
        ).returning(Distribution.id)
        past_ids.append(rows[0]["id"])
        await CatalogDistribution.insert(
            CatalogDistribution(catalog=w["catalog"], distribution=rows[0]["id"])
        )
    coming = await Distribution.select().where(Distribution.id == w["distribution"]).first()
    await login(client, "prod@example.org")
    page = await client.get(f"{w['base']}/commandes")
    assert page.status_code == 200
    text = shown(page)
    assert "Commandes anciennes" in text
    assert f"{label(coming['starts_at'])} · Halle" in text
    assert text.index(label(coming["starts_at"])) < text.index("Commandes anciennes")
    assert f'href="{w["base"]}/commandes/{w["distribution"]}"' in page.text
    # 20 past dates on the first page, the latest first; "Voir plus" brings the next 5.
    assert f'/commandes/{past_ids[0]}"' in page.text
    assert f'/commandes/{past_ids[19]}"' in page.text
    assert f'/commandes/{past_ids[20]}"' not in page.text
    assert "Voir plus" in text
    more = await client.get(f"{w['base']}/commandes?page=2", headers={"HX-Request": "true"})
    assert more.status_code == 200
    assert "<html" not in more.text and "HX-Request" in more.headers["vary"]
    assert [f'/commandes/{i}"' in more.text for i in past_ids[20:]] == [True] * 5
    assert "Voir plus" not in more.text
    # Without htmx, page 2 is a page of its own.
    plain = await client.get(f"{w['base']}/commandes?page=2")
    assert "<html" in plain.text and f'/commandes/{past_ids[24]}"' in plain.text


# ---- the orders of one date -------------------------------------------------------------


async def test_recap_by_product_sums_the_validated_orders_of_this_catalog(app, client):
    w = await world(members=4)
    quantities, total = expected_totals(w)
    await login(client, "prod@example.org")
    page = await client.get(w["date_url"])
    assert page.status_code == 200
    text = shown(page)
    assert "Par produit" in text and "Par adhérent" in text
    p1, p2, p3 = w["products"]
    rows = table_rows(page, "by-product")
    assert rows[0] == ["Produit", "Quantité", "Prix unitaire", "Total"]
    assert rows[1] == [
        "Produit 000 kg",
        str(quantities[p1]),
        euros(150),
        euros(150 * quantities[p1]),
    ]
    assert rows[2] == [
        "Produit 001 kg",
        str(quantities[p2]),
        euros(151),
        euros(151 * quantities[p2]),
    ]
    assert rows[-1] == ["Total", str(sum(quantities.values())), "", euros(total)]
    assert "Produit 002" not in text  # nobody ordered it
    assert "Pain de seigle" not in text  # another catalog of the same date
    assert f'id="grand-total">{euros(total)}<' in text  # the draft basket (7 × p1) is not there
    recap = await recaps.by_product(w["catalog"], w["distribution"])
    assert recap.total_cents == total
    assert recap.quantity == sum(quantities.values())


async def test_recap_by_member_with_phone_lines_and_totals_as_htmx_tab(app, client):
    w = await world(members=3)
    _, total = expected_totals(w)
    await login(client, "prod@example.org")
    tab = await client.get(f"{w['date_url']}?vue=adherents", headers={"HX-Request": "true"})
    assert tab.status_code == 200
    assert "HX-Request" in tab.headers["vary"]
    assert "<html" not in tab.text
    text = shown(tab)
    assert 'aria-current="page">Par adhérent' in text
    for n in range(3):
        assert f"NOM{n:03d} Prénom{n:03d}" in text
        assert f"06 00 00 {n:04d}" in text
        member_total = (1 + n % 3) * 150 + 2 * 151
        assert f"<strong>{euros(member_total)}</strong>" in text
    assert "Brouillon" not in text and "Pain de seigle" not in text
    assert "3 adhérents" in text and f'id="grand-total">{euros(total)}<' in text
    # Names in order, and the producer reads only: no "Modifier", no add row.
    assert text.index("NOM000") < text.index("NOM001") < text.index("NOM002")
    assert "Modifier" not in text and "Ajouter un produit" not in text
    # The same URL without htmx is the whole page.
    page = await client.get(f"{w['date_url']}?vue=adherents")
    assert "<html" in page.text and "NOM001 Prénom001" in shown(page)


async def test_by_member_view_is_paginated(app, client):
    w = await world(members=1)
    p1 = w["products"][0]
    for n in range(recaps.MEMBERS_PER_PAGE + 5):
        uid = await build.person(f"x{n}@example.org", "Zed", f"Zz{n:04d}")
        await build.order(uid, w["distribution"], {p1: 1})
    await login(client, "prod@example.org")
    first = shown(await client.get(f"{w['date_url']}?vue=adherents"))
    per_page = recaps.MEMBERS_PER_PAGE  # NOM000 first, then ZZ0000...
    last_of_first, first_of_second = f"ZZ{per_page - 2:04d}", f"ZZ{per_page - 1:04d}"
    assert "Page 1 sur 2" in first and last_of_first in first and first_of_second not in first
    second = shown(await client.get(f"{w['date_url']}?vue=adherents&page=2"))
    assert first_of_second in second and f"ZZ{per_page + 4:04d}" in second
    assert "NOM000" not in second and last_of_first not in second
    assert f"{recaps.MEMBERS_PER_PAGE + 6} adhérents" in second


# ---- corrections by the coordinator / admin ---------------------------------------------


async def test_coordinator_changes_adds_and_removes_lines_in_place(app, client):
    w = await world(members=2, stock=10)
    p1, p2, p3 = w["products"]
    first = w["members"][0]["order"]
    await login(client, "coord@example.org")
    page = shown(await client.get(f"{w['date_url']}?vue=adherents"))
    line = await line_of(first, p1)
    assert f"modifier={first}#o{first}" in page and 'name="quantite"' not in page

    # "Modifier" opens the member's order (htmx): a form per line and one to add a product.
    edit = await client.get(
        f"{w['date_url']}/adherents/{first}?modifier=1", headers={"HX-Request": "true"}
    )
    assert edit.status_code == 200 and "<html" not in edit.text
    assert edit.text.lstrip().startswith(f'<tbody id="o{first}"')
    assert f'action="{w["date_url"]}/lignes/{line["id"]}"' in edit.text
    assert f'action="{w["date_url"]}/adherents/{first}/lignes"' in edit.text
    assert ">Produit 002 (" in shown(edit)  # offered to add
    closed = await client.get(f"{w['date_url']}/adherents/{first}", headers={"HX-Request": "true"})
    assert 'name="quantite"' not in closed.text and "Modifier" in closed.text
    # The same without JavaScript: the page opens the order.
    plain_edit = await client.get(f"{w['date_url']}?vue=adherents&modifier={first}")
    assert "<html" in plain_edit.text and f'/lignes/{line["id"]}"' in plain_edit.text
    saved = await post_form(
        client, f"{w['date_url']}/lignes/{line['id']}", {"quantite": "4", "page": "1"}, htmx=True
    )
    assert saved.status_code == 200
    assert f'<tbody id="o{first}"' in saved.text
    assert 'id="recap-total" hx-swap-oob="true"' in saved.text
    assert (await line_of(first, p1))["quantity"] == 4
    order = await Order.select().where(Order.id == first).first()
    assert order["total_cents"] == 4 * 150 + 2 * 151 + 420  # the bread line is still there
    stock = await Product.select(Product.stock).where(Product.id == p1).first()
    assert stock["stock"] == 10 - 3  # 1 was in the order, 4 now: 3 more taken

    # A bad value: the French message in the row, nothing saved.
    for bad, message in (("abc", "nombre entier"), ("-2", "nombre entier"), ("50", "Plus que")):
        refused = await post_form(
            client, f"{w['date_url']}/lignes/{line['id']}", {"quantite": bad}, htmx=True
        )
        assert refused.status_code == 200
        assert message in shown(refused) and 'aria-invalid="true"' in refused.text
        assert (await line_of(first, p1))["quantity"] == 4
    assert (await Product.select(Product.stock).where(Product.id == p1).first())["stock"] == 7

    # Add a product of the catalog, then remove it.
    added = await post_form(
        client,
        f"{w['date_url']}/adherents/{first}/lignes",
        {"produit": str(p3), "quantite": "2"},
        htmx=True,
    )
    assert added.status_code == 200 and "Produit 002" in added.text
    new_line = await line_of(first, p3)
    assert new_line["quantity"] == 2 and new_line["unit_price_cents"] == 152
    again = await post_form(
        client,
        f"{w['date_url']}/adherents/{first}/lignes",
        {"produit": str(p3), "quantite": "1"},
        htmx=True,
    )
    assert "déjà dans la commande" in shown(again)
    foreign = await post_form(
        client,
        f"{w['date_url']}/adherents/{first}/lignes",
        {"produit": str(w["bread"]), "quantite": "1"},
        htmx=True,
    )
    assert "Choisissez un produit de ce catalogue." in shown(foreign)
    removed = await post_form(
        client,
        f"{w['date_url']}/lignes/{new_line['id']}",
        {"quantite": "2", "supprimer": "1"},
        htmx=True,
    )
    assert removed.status_code == 200 and "Produit 002" not in removed.text
    assert await line_of(first, p3) is None
    assert (await Product.select(Product.stock).where(Product.id == p3).first())["stock"] == 10

    # Without htmx: a plain post redirects back to the member; an error is a 422 page.
    plain = await post_form(
        client,
        f"{w['date_url']}/lignes/{line['id']}",
        {"quantite": "3", "page": "1"},
        follow_redirects=False,
    )
    assert plain.status_code == 303
    assert plain.headers["location"] == f"{w['date_url']}?vue=adherents&page=1#o{first}"
    assert (await line_of(first, p1))["quantity"] == 3
    bad = await post_form(client, f"{w['date_url']}/lignes/{line['id']}", {"quantite": "x"})
    assert bad.status_code == 422 and "<html" in bad.text
    assert "La quantité doit être un nombre entier" in shown(bad)
    assert (await line_of(first, p1))["quantity"] == 3


async def test_lines_of_another_catalog_or_date_cannot_be_changed_from_here(app, client):
    w = await world(members=1)
    order = w["members"][0]["order"]
    bread_line = await line_of(order, w["bread"])
    await login(client, "admin@example.org")
    response = await post_form(
        client, f"{w['date_url']}/lignes/{bread_line['id']}", {"quantite": "5"}, htmx=True
    )
    assert response.status_code == 404
    assert (await line_of(order, w["bread"]))["quantity"] == 1


async def test_producer_reads_but_cannot_change(app, client):
    w = await world(members=1)
    order = w["members"][0]["order"]
    line = await line_of(order, w["products"][0])
    await login(client, "prod@example.org")
    response = await post_form(
        client, f"{w['date_url']}/lignes/{line['id']}", {"quantite": "3"}, htmx=True
    )
    assert response.status_code == 403
    assert (await line_of(order, w["products"][0]))["quantity"] == 1
    block = await client.get(f"{w['date_url']}/adherents/{order}", headers={"HX-Request": "true"})
    assert block.status_code == 403


# ---- CSV --------------------------------------------------------------------------------


def parse_csv(response) -> list[list[str]]:
    raw = response.content
    assert raw.startswith(b"\xef\xbb\xbf"), "pas de BOM UTF-8"
    return list(csv.reader(io.StringIO(raw.decode("utf-8")[1:]), delimiter=";"))


def cents(text: str) -> int:
    euros_part, _, cents_part = text.partition(",")
    return int(euros_part) * 100 + int(cents_part)


async def test_csv_exports_parse_back_with_totals_and_neutralised_formulas(app, client):
    w = await world(members=3)
    quantities, total = expected_totals(w)
    evil = w["members"][1]["id"]
    await User.update(
        {
            User.last_name: '=HYPERLINK("http://x.test","clic")',
            User.first_name: "+33",
            User.phone: "-1",
        }
    ).where(User.id == evil)
    await login(client, "prod@example.org")

    by_product = await client.get(f"{w['date_url']}/produits.csv")
    assert by_product.status_code == 200
    assert by_product.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = by_product.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''Commandes%20par%20produit%20-%20L%C3%A9gumes%20-%20" in disposition
    rows = parse_csv(by_product)
    assert rows[0] == ["Produit", "Référence", "Unité", "Quantité", "Prix unitaire", "Total"]
    body, last = rows[1:-1], rows[-1]
    assert {r[0]: int(r[3]) for r in body} == {
        "Produit 000": quantities[w["products"][0]],
        "Produit 001": quantities[w["products"][1]],
    }
    assert all(cents(r[5]) == int(r[3]) * cents(r[4]) for r in body)
    assert last[0] == "Total" and cents(last[5]) == total == sum(cents(r[5]) for r in body)
    assert "1,50" in [r[4] for r in body]  # decimal comma

    by_member = await client.get(f"{w['date_url']}/adherents.csv")
    assert by_member.status_code == 200
    assert "Commandes%20par%20adh%C3%A9rent" in by_member.headers["content-disposition"]
    rows = parse_csv(by_member)
    assert rows[0][:3] == ["Nom", "Prénom", "Téléphone"]
    body, last = rows[1:-1], rows[-1]
    assert len(body) == 3 * 2  # two lines of "Légumes" per member; no bread, no draft
    assert sum(cents(r[7]) for r in body) == total == cents(last[7])
    assert sum(int(r[5]) for r in body) == sum(quantities.values())
    evil_rows = [r for r in body if "HYPERLINK" in r[0]]
    assert evil_rows and all(r[0].startswith("'=HYPERLINK(") for r in evil_rows)
    assert all(r[1] == "'+33" and r[2] == "'-1" for r in evil_rows)
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r)


async def test_member_export_reads_batches_without_losing_anyone(app):
    """Several members with the same name and batches of 2: everyone once, in name order."""
    w = await world(members=1)
    p1 = w["products"][0]
    for n in range(5):
        uid = await build.person(f"twin{n}@example.org", "Jean", "Martin")
        await build.order(uid, w["distribution"], {p1: n + 1})
    uid = await build.person("abel@example.org", "Abel", "Martin")
    await build.order(uid, w["distribution"], {p1: 9})
    seen = []
    async for members in recaps.member_batches(w["catalog"], w["distribution"], batch=2):
        assert len(members) <= 2
        seen += [(m["last_name"], m["first_name"], m["lines"][0]["quantity"]) for m in members]
        assert all(line["product"] != w["bread"] for m in members for line in m["lines"])
    assert seen[0] == ("Martin", "Abel", 9)
    assert sorted(q for ln, fn, q in seen if fn == "Jean") == [1, 2, 3, 4, 5]
    assert len(seen) == 7 and seen[-1][0] == "Nom000"
    chunks = [
        c async for c in csvio.stream(exports.member_rows(w["catalog"], w["distribution"], 2))
    ]
    assert len(chunks) > 3  # streamed piece by piece, not built whole
    text = b"".join(chunks).decode("utf-8-sig")
    assert text.count("\r\n") == 1 + 8 + 1  # header, 7 members' lines (+1 of Nom000 p2), total


# ---- émargement and commande en gros -----------------------------------------------------


async def test_sign_off_sheet_lists_members_lines_totals_and_a_signature_column(app, client):
    w = await world(members=3)
    _, total = expected_totals(w)
    await login(client, "coord@example.org")
    page = await client.get(f"{w['date_url']}/emargement")
    assert page.status_code == 200
    text = shown(page)
    assert "Liste d'émargement" in text and "Signature" in text
    for n in range(3):
        assert f"NOM{n:03d} Prénom{n:03d}" in text
    assert f"{1} × Produit 000" in text and "2 × Produit 001" in text
    assert "Pain de seigle" not in text and "Brouillon" not in text
    assert f">{euros(total)}<" in text
    css = (await client.get("/static/app.css")).text
    assert "@page{size:A4" in css.replace(" ", "")


async def test_bulk_order_totals_per_product_default_next_distribution_and_csv(app, client):
    w = await world(members=4)
    quantities, total = expected_totals(w)
    p1 = w["products"][0]
    # A price changed between two orders: one bulk row per product all the same.
    await Product.update({Product.price_cents: 200}).where(Product.id == p1)
    late = await build.person("late@example.org", "Tardif", "Late")
    await build.order(late, w["distribution"], {p1: 2})
    # Another, later distribution of the catalog with its own orders.
    dist = await Distribution.select().where(Distribution.id == w["distribution"]).first()
    later = (
        await Distribution.insert(
            Distribution(
                group=w["group"]["id"],
                place=dist["place"],
                starts_at=dist["starts_at"] + timedelta(days=7),
                ends_at=dist["ends_at"] + timedelta(days=7),
                orders_open_at=dist["orders_open_at"],
                orders_close_at=dist["orders_close_at"] + timedelta(days=7),
            )
        ).returning(Distribution.id)
    )[0]["id"]
    await CatalogDistribution.insert(CatalogDistribution(catalog=w["catalog"], distribution=later))
    await build.order(late, later, {p1: 11})

    await login(client, "prod@example.org")
    page = await client.get(f"{w['base']}/commande-en-gros")
    assert page.status_code == 200
    text = shown(page)
    assert f'<option value="{w["distribution"]}" selected>' in text  # the next one by default
    rows = table_rows(page, "bulk")
    assert rows[1] == [
        "Produit 000 kg",
        "",
        str(quantities[p1] + 2),
        euros(quantities[p1] * 150 + 400),
    ]
    assert f'id="grand-total">{euros(total + 400)}<' in text
    other = shown(await client.get(f"{w['base']}/commande-en-gros?distribution={later}"))
    assert '<td class="num">11</td>' in other and f'<option value="{later}" selected>' in other
    exported = await client.get(
        f"{w['base']}/commande-en-gros.csv?distribution={w['distribution']}"
    )
    rows = parse_csv(exported)
    assert rows[0] == ["Produit", "Référence", "Unité", "Quantité", "Montant"]
    assert [r[0] for r in rows[1:-1]] == ["Produit 000", "Produit 001"]
    assert int(rows[1][3]) == quantities[p1] + 2
    assert cents(rows[-1][4]) == total + 400
    assert "Commande%20en%20gros" in exported.headers["content-disposition"]


# ---- "Valider la distribution" -----------------------------------------------------------


async def test_validation_adjusts_marks_absent_validates_then_orders_are_read_only(app, client):
    w = await world(members=3, stock=20)
    p1 = w["products"][0]
    first, second = w["members"][0]["order"], w["members"][1]["order"]
    url = f"/g/{w['group']['slug']}/distributions/{w['distribution']}/valider"
    await login(client, "admin@example.org")

    # Before the distribution starts it cannot be validated.
    early = shown(await client.get(url))
    assert "n'a pas encore commencé" in early and 'value="valider"' not in early
    refused = await post_form(client, url, {"action": "valider"})
    assert refused.status_code == 422
    assert (await Distribution.select().where(Distribution.id == w["distribution"]).first())[
        "validated_at"
    ] is None

    await start_distribution(w["distribution"])
    page = shown(await client.get(url))
    # All catalogs of the date: the bread is there too.
    assert "Pain de seigle" in page and "Boulangerie" in page and "NOM002 Prénom002" in page
    assert "Brouillon" not in page
    line = await line_of(first, p1)
    bread = await line_of(second, w["bread"])
    shown_fields = {f"shown{m['order']}": "1" for m in w["members"]}

    # A bad quantity: nothing saved, not even the absence.
    bad = await post_form(
        client,
        url,
        shown_fields | {f"q{line['id']}": "deux", f"absent{second}": "1", "action": "valider"},
    )
    assert bad.status_code == 422
    assert "Rien n'a été enregistré" in shown(bad) and "nombre entier" in shown(bad)
    assert not (await Order.select().where(Order.id == second).first())["absent"]

    done = await post_form(
        client,
        url,
        shown_fields
        | {
            f"q{line['id']}": "0",  # not handed over
            f"q{bread['id']}": "3",
            f"absent{second}": "1",
            "action": "valider",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    # The validation record, written with the validation, says what was handed over.
    record = await validation.record_of(w["distribution"])
    delivered = {o["order"]: o for o in record["content"]["orders"]}
    assert record["validated_by"] == w["admin"]
    assert delivered[second]["absent"] and not delivered[first]["absent"]
    assert {x["product"]: x["quantity"] for x in delivered[second]["lines"]}[w["bread"]] == 3
    assert p1 not in {x["product"] for x in delivered[first]["lines"]}
    assert [r["id"] for r in await validation.records_to_use("test")] == [record["id"]]
    assert await validation.use(record["id"], "test") is True
    assert await validation.use(record["id"], "test") is False  # once per consumer
    assert await validation.records_to_use("test") == []
    assert len(await validation.records_to_use("other")) == 1
    assert await line_of(first, p1) is None
    assert (await line_of(second, w["bread"]))["quantity"] == 3
    orders = {o["id"]: o for o in await Order.select().where(Order.id.is_in([first, second]))}
    assert orders[second]["absent"] and not orders[first]["absent"]
    assert orders[first]["total_cents"] == 2 * 151 + 420
    assert orders[second]["total_cents"] == 2 * 150 + 2 * 151 + 3 * 420
    assert (await Product.select(Product.stock).where(Product.id == p1).first())["stock"] == 21
    dist = await Distribution.select().where(Distribution.id == w["distribution"]).first()
    assert dist["validated_at"] is not None and dist["validated_by"] == w["admin"]

    after = shown(await client.get(url))
    assert f"Distribution validée le {label(dist['validated_at'])} par Adèle Admin" in after
    assert 'name="q' not in after and "absent</span>" in after
    again = await post_form(client, url, {"action": "valider"})
    assert again.status_code == 422 and "validée" in shown(again)

    # Read-only everywhere: the catalog's corrections, and the member's ordering path.
    recap = shown(await client.get(f"{w['date_url']}?vue=adherents"))
    assert "Distribution validée le" in recap and "Modifier" not in recap
    line2 = await line_of(second, p1)
    edit = await post_form(
        client, f"{w['date_url']}/lignes/{line2['id']}", {"quantite": "9"}, htmx=True
    )
    assert "Cette distribution est validée" in shown(edit)
    assert (await line_of(second, p1))["quantity"] == line2["quantity"]
    member = w["members"][2]
    try:
        await changes.order_for_update(member["id"], w["distribution"])
        raise AssertionError("une commande d'une distribution validée a été modifiable")
    except ordering.OrderingError as error:
        assert error.message == ordering.VALIDATED_MESSAGE


async def test_member_cannot_order_at_a_validated_distribution_even_if_the_window_is_open(app):
    """Validated while orders are still open (a distribution moved after it): refused."""
    w = await world(members=1, stock=5)
    member = w["members"][0]
    await Distribution.update({Distribution.validated_at: datetime.now(UTC)}).where(
        Distribution.id == w["distribution"]
    )
    client = await as_user(app, "m0@example.org")
    url = f"/g/{w['group']['slug']}/commandes/{w['distribution']}"
    p2 = w["products"][1]
    response = await post_form(client, f"{url}/ligne/{p2}", {"q": "5"}, htmx=True)
    assert "Cette distribution est validée" in shown(response)
    assert (await line_of(member["order"], p2))["quantity"] == 2
    response = await post_form(client, url, {f"q{p2}": "4", "valider": "1"})
    assert "Cette distribution est validée" in shown(response)
    assert (await line_of(member["order"], p2))["quantity"] == 2


async def test_validation_is_for_admins_of_the_group(app, client):
    w = await world(members=1)
    await start_distribution(w["distribution"])
    url = f"/g/{w['group']['slug']}/distributions/{w['distribution']}/valider"
    for email in ("coord@example.org", "prod@example.org", "m0@example.org"):
        other = await as_user(app, email)
        assert (await other.get(url)).status_code == 403
        assert (await post_form(other, url, {"action": "valider"})).status_code == 403
    dist = await Distribution.select().where(Distribution.id == w["distribution"]).first()
    assert dist["validated_at"] is None
    # The DISTRIBUTIONS page links to it for admins.
    await login(client, "admin@example.org")
    listing = await client.get(f"/g/{w['group']['slug']}/distributions")
    assert url in listing.text


# ---- groups stay apart ------------------------------------------------------------------


async def test_a_catalog_or_date_of_another_group_is_not_found(app, client):
    w = await world(members=1)
    admin_b = await build.person("adminb@example.org", "Bob", "Bleu")
    other = await build.distribution_world(admin_b, name="Marché B")
    await login(client, "admin@example.org")
    slug = w["group"]["slug"]
    urls = [
        f"/g/{slug}/catalogues/{other['catalog']}/commandes",
        f"/g/{slug}/catalogues/{other['catalog']}/commandes/{other['distribution']}",
        f"/g/{slug}/catalogues/{w['catalog']}/commandes/{other['distribution']}",
        f"/g/{slug}/catalogues/{w['catalog']}/commandes/{other['distribution']}/adherents.csv",
        f"/g/{slug}/catalogues/{w['catalog']}/commande-en-gros?distribution={other['distribution']}",
        f"/g/{slug}/distributions/{other['distribution']}/valider",
    ]
    for url in urls:
        response = await client.get(url)
        assert response.status_code == 404, url


# ---- queries per page -------------------------------------------------------------------


async def count_queries(client, url: str) -> int:
    """Queries of one request, after a first one that fills the per-process caches (the
    moved-groups directory reloads itself every 30 s)."""
    await client.get(url)
    with QueryCounter() as counter:
        response = await client.get(url)
    assert response.status_code == 200, url
    return counter.count


async def test_queries_per_page_do_not_grow_with_members(app):
    w = await world(members=5)
    await start_distribution(w["distribution"])
    client = await as_user(app, "admin@example.org")
    paths = (
        w["date_url"],
        f"{w['date_url']}?vue=adherents",
        f"{w['date_url']}/emargement",
        f"{w['date_url']}/adherents.csv",
        f"{w['date_url']}/produits.csv",
        f"{w['base']}/commandes",
        f"{w['base']}/commande-en-gros",
        f"/g/{w['group']['slug']}/distributions/{w['distribution']}/valider",
    )
    few = {path: await count_queries(client, path) for path in paths}
    p1, p2, _ = w["products"]
    for n in range(45):
        uid = await build.person(f"more{n}@example.org", "Plus", f"Membre{n:03d}", "07 00")
        await build.order(uid, w["distribution"], {p1: 1, p2: 3, w["bread"]: 1})
    many = {path: await count_queries(client, path) for path in paths}
    assert few == many
    assert max(few.values()) <= 15, few


async def test_a_plain_member_is_refused_without_seeing_member_names(app):
    w = await world(members=2)
    client = await as_user(app, "m1@example.org")
    for url in (w["date_url"], f"{w['date_url']}/adherents.csv", f"{w['base']}/commandes"):
        response = await client.get(url)
        assert response.status_code == 403
        assert "NOM000" not in response.text
