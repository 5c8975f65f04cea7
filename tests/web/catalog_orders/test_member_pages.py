"""« Par adhérent » over several pages and the liste d'émargement: each page is a slice the
database cut in the recap's order (nobody lost or twice, the same names split by order),
with the totals of all pages; the sheet's lines follow the catalog's product order; and the
queries of a page do not grow with the members or the pages."""

from __future__ import annotations

import html
import math
import re

from domain.catalog_orders import recaps, sign_off
from domain.demo import world as build
from domain.kernel.money import euros
from domain.tables import Product
from tests.helpers import QueryCounter, login
from tests.web.catalog_orders.test_recaps import (
    as_user,
    count_queries,
    shown,
    start_distribution,
    world,
)

PER_PAGE = recaps.MEMBERS_PER_PAGE


def orders_on(response) -> list[int]:
    """The order ids of the member blocks of a « Par adhérent » page, top to bottom."""
    table = re.search(r'<table[^>]*id="by-member".*?</table>', response.text, re.S)
    assert table, "pas de tableau #by-member"
    return [int(n) for n in re.findall(r'<tbody id="o(\d+)"', table.group(0))]


async def crowd(w: dict) -> tuple[list[int], int, int]:
    """2 pages and 8 more of members: 60 « Jean Martin » (the same name on both sides of
    the end of page 1: sorted by order), then Nom000 (the world's), then 47 « Zz… ». Also
    one who bought only bread (another catalog): not a member of this recap. Returns the
    recap's order ids in its order, the quantity and the grand total of « Légumes »."""
    group_id, dist = w["group"]["id"], w["distribution"]
    p1, p2, _ = w["products"]  # 1,50 €, 1,51 €
    twins = await build.buyers(
        group_id,
        dist,
        [{p1: 1 + n % 4} for n in range(60)],
        email="twin{i}@example.org",
        first_name="Jean",
        last_name="Martin",
    )
    others = await build.buyers(
        group_id,
        dist,
        [{p1: 1, p2: 1 + n % 2} for n in range(47)],
        email="z{i}@example.org",
        first_name="Zoé",
        last_name="Zz{i:04d}",
    )
    await build.buyers(group_id, dist, [{w["bread"]: 2}], email="pain{i}@example.org")
    first = w["members"][0]["order"]  # NOM000: p1 × 1, p2 × 2
    expected = sorted(t["order"] for t in twins) + [first] + [o["order"] for o in others]
    quantity = sum(1 + n % 4 for n in range(60)) + 3 + sum(2 + n % 2 for n in range(47))
    total = (
        sum(1 + n % 4 for n in range(60)) * 150
        + (150 + 2 * 151)
        + sum(150 + (1 + n % 2) * 151 for n in range(47))
    )
    return expected, quantity, total


async def test_pages_split_everyone_once_in_the_recap_order_with_the_totals_of_all(app, client):
    w = await world(members=1)
    expected, quantity, total = await crowd(w)
    pages = math.ceil(len(expected) / PER_PAGE)
    assert len(expected) == 108 and pages == 3
    await login(client, "coord@example.org")
    seen = []
    for page in range(1, pages + 1):
        response = await client.get(f"{w['date_url']}?vue=adherents&page={page}")
        assert response.status_code == 200
        text = shown(response)
        assert f"Page {page} sur {pages}" in text
        on_page = orders_on(response)
        assert len(on_page) == (PER_PAGE if page < pages else len(expected) - 2 * PER_PAGE)
        seen += on_page
        # The totals are those of every page, on every page.
        assert "108 adhérents" in text
        footer = re.search(r'<tfoot id="recap-total".*?</tfoot>', response.text, re.S).group(0)
        assert f'<td class="num">{quantity}</td>' in footer
        assert f'id="grand-total">{euros(total)}<' in response.text
        assert ("← Précédents" in text) == (page > 1)
        assert ("Suivants →" in text) == (page < pages)
    assert seen == expected  # the recap's order, nobody twice, nobody lost
    assert "Pain de seigle" not in text and "Brouillon" not in text

    # The last page's blocks are whole: a member's lines and total.
    last = shown(await client.get(f"{w['date_url']}?vue=adherents&page={pages}"))
    assert "ZZ0046 Zoé" in last and "NOM000" not in last and "MARTIN" not in last
    assert f"<strong>{euros(150 + 151)}</strong>" in last  # Zz0046: p1 × 1, p2 × 1
    # A page past the last shows the last; a page before the first, or not a number, the first.
    beyond = await client.get(f"{w['date_url']}?vue=adherents&page=99")
    assert orders_on(beyond) == expected[2 * PER_PAGE :]
    assert f"Page {pages} sur {pages}" in shown(beyond)
    for bad in ("0", "-3", "abc"):
        first = await client.get(f"{w['date_url']}?vue=adherents&page={bad}")
        assert first.status_code == 200 and orders_on(first) == expected[:PER_PAGE]

    # The domain function agrees: the same slices and totals.
    for page in range(1, pages + 1):
        recap = await recaps.by_member(w["catalog"], w["distribution"], page)
        assert (recap.page, recap.pages, recap.count) == (page, pages, 108)
        assert (recap.quantity, recap.total_cents) == (quantity, total)
        start = (page - 1) * PER_PAGE
        assert [m["order_id"] for m in recap.members] == expected[start : start + PER_PAGE]
        for m in recap.members:
            assert m["total_cents"] == sum(x["total_cents"] for x in m["lines"]) > 0
    by_product = await recaps.by_product(w["catalog"], w["distribution"])
    assert (by_product.quantity, by_product.total_cents) == (quantity, total)


async def test_a_date_without_orders_has_one_empty_page(app, client):
    w = await world(members=0)
    recap = await recaps.by_member(w["catalog"], w["distribution"], 3)
    assert (recap.members, recap.count, recap.page, recap.pages) == ([], 0, 1, 1)
    assert (recap.quantity, recap.total_cents) == (0, 0)
    sheet = await sign_off.sheet(w["catalog"], w["distribution"])
    assert (sheet.members, sheet.total_cents) == ([], 0)
    await login(client, "coord@example.org")
    for url in (f"{w['date_url']}?vue=adherents", f"{w['date_url']}/emargement"):
        assert "Aucune commande validée" in shown(await client.get(url))


async def test_sign_off_sheet_lists_everyone_with_lines_in_the_catalog_product_order(app, client):
    w = await world(members=1)
    expected, _, total = await crowd(w)
    p1, p2, p3 = w["products"]
    # The catalog's order is neither the products' ids nor their names: 002, 000, 001.
    for product, position in ((p3, 0), (p1, 1), (p2, 2)):
        await Product.update({Product.position: position}).where(Product.id == product)
    await Product.update({Product.name: 'Pois "cassés" <b>&</b>'}).where(Product.id == p2)
    first = w["members"][0]["order"]
    late = await build.buyers(
        w["group"]["id"],
        w["distribution"],
        [{p2: 2, p1: 1, p3: 4}],  # inserted in another order than the catalog's
        email="late{i}@example.org",
        first_name="Léa",
        last_name="Zzz",
    )
    await login(client, "coord@example.org")
    page = await client.get(f"{w['date_url']}/emargement")
    assert page.status_code == 200
    rows = re.findall(r"<tr><td>(.*?)</tr>", page.text, re.S)
    assert len(rows) == len(expected) + 1
    names = [html.unescape(re.sub(r"<[^>]+>", " ", r)).split()[0] for r in rows]
    assert names[:60] == ["MARTIN"] * 60 and names[60] == "NOM000" and names[-1] == "ZZZ"
    lea = html.unescape(rows[-1])
    items = re.findall(r"<li>(.*?)</li>", lea)
    assert items == [
        "4 × Produit 002 <small>kg</small>",
        "1 × Produit 000 <small>kg</small>",
        '2 × Pois "cassés" <b>&</b> <small>kg</small>',
    ]
    assert "&lt;b&gt;&amp;&lt;/b&gt;" in rows[-1] and "<b>" not in page.text
    lea_total = 4 * 152 + 150 + 2 * 151
    assert f'<td class="num">{euros(lea_total)}</td>' in lea
    nom000 = html.unescape(rows[60])
    assert re.findall(r"<li>(.*?) <small>", nom000) == [
        "1 × Produit 000",
        '2 × Pois "cassés" <b>&</b>',
    ]
    text = shown(page)
    assert f"{len(expected) + 1} adhérents" in text
    assert f'<td class="num">{euros(total + lea_total)}</td><td></td></tr></tfoot>' in text
    assert "Pain de seigle" not in text and "Brouillon" not in text
    sheet = await sign_off.sheet(w["catalog"], w["distribution"])
    assert [m["order_id"] for m in sheet.members] == [*expected, late[0]["order"]]
    assert sheet.members[60]["order_id"] == first
    assert [sign_off.line_of(key) for key in sheet.members[-1]["lines"]] == [
        (p3, 4),
        (p1, 1),
        (p2, 2),
    ]


async def test_queries_per_page_do_not_grow_with_the_members_or_the_pages(app):
    w = await world(members=3)
    await start_distribution(w["distribution"])
    client = await as_user(app, "admin@example.org")
    one_page = {
        "page 1": f"{w['date_url']}?vue=adherents",
        "émargement": f"{w['date_url']}/emargement",
    }

    async def counted(urls: dict) -> dict:
        return {name: await count_queries(client, url) for name, url in urls.items()}

    few = await counted(one_page)
    await crowd(w)  # 110 members: 3 pages
    many = await counted(
        one_page
        | {
            "page 2": f"{w['date_url']}?vue=adherents&page=2",
            "dernière page": f"{w['date_url']}?vue=adherents&page=3",
        }
    )
    assert many["page 1"] == many["page 2"] == many["dernière page"] == few["page 1"]
    assert many["émargement"] == few["émargement"]
    assert max(many.values()) <= 10, many


async def read(client, url: str) -> int:
    """The rows the database returned for one request (after a first one that fills the
    per-process caches)."""
    await client.get(url)
    with QueryCounter() as counter:
        response = await client.get(url)
    assert response.status_code == 200, url
    return counter.rows


async def test_a_page_reads_only_its_members_and_the_sheet_a_row_a_member(app):
    """Not every member's totals for a page of 50: beyond the page's own lines, a page reads
    as many rows with 110 members as with 3. The sign-off sheet reads a row a member, not a
    row a line."""
    w = await world(members=3)
    client = await as_user(app, "coord@example.org")
    page, sheet = f"{w['date_url']}?vue=adherents", f"{w['date_url']}/emargement"

    async def lines_on(number: int) -> int:
        recap = await recaps.by_member(w["catalog"], w["distribution"], number)
        return sum(len(m["lines"]) for m in recap.members)

    few = await read(client, page) - await lines_on(1)
    sheet_few = await read(client, sheet)
    await crowd(w)  # 110 members: 3 pages
    for number in (1, 3):
        assert await read(client, f"{page}&page={number}") - await lines_on(number) == few
    assert await read(client, sheet) - sheet_few == 110 - 3
