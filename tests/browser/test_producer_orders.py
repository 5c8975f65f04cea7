"""The seed's path, as a producer in Chromium at 375 × 740: home → the group → CATALOGUES →
"Gérer" → COMMANDES → "Commandes" beside a date → "Par produit" / "Par adhérent" (htmx) →
the CSV export, downloaded and parsed back: its totals are the page's.

The data is made in the server's database by the real domain code, by this file run as a
module (`python -m tests.browser.test_producer_orders '<spec>'`), like seed.py does.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import subprocess
import sys
import uuid

from playwright.sync_api import Page, expect

from tests.browser.server import PYTHON, ROOT
from tests.helpers import PASSWORD

MEMBERS = [
    ("Mariuzzo-Raynaud", "Paul", "06 11 22 33 44"),
    ("Boursier", "Mélissa", "06 55 66 77 88"),
    ("Durand", "Alice", ""),
]


async def seed(spec: dict) -> dict:
    """An AMAP with the producer's catalog and another producer's, delivering at one coming
    distribution at "MGDD"; three members ordered from both (validated), one only a draft."""
    from domain.database import prepare_engine
    from domain.demo import world as build
    from domain.kernel.dates import label
    from domain.tables import Distribution
    from tests.helpers import make_user

    await prepare_engine()
    admin = await make_user(spec["admin"], first_name="Adèle", last_name="Admin")
    amap = await build.group(admin, spec["name"], "amap")
    group = amap["id"]
    dist = await build.open_distribution(group, await build.place(group, "MGDD"))
    producer = await make_user(spec["producer"], first_name="Coco", last_name="Chocolat")
    chocolate = await build.catalog(
        group,
        await build.producer(group, "LA CHOKOLATIERE", user=producer),
        "LA CHOKOLATIERE",
        **build.season(),
        delivers=[dist],
    )
    p1, p2, p3 = await build.products(chocolate, 3, unit="kg")  # 1,50 €, 1,51 €, 1,52 €
    breads = await build.catalog(
        group, await build.producer(group, "Fournil"), "Pains du Fournil", delivers=[dist]
    )
    bread = await build.product(breads, "Pain de seigle", 420)
    baskets = [{p1: 2, p2: 1, bread: 1}, {p1: 1, p3: 3}, {p2: 4, bread: 2}]
    for (last, first, phone), basket in zip(MEMBERS, baskets, strict=True):
        email = f"{first.lower()}-{uuid.uuid4().hex[:8]}@example.org"
        user = await build.person(email, first, last, phone, password=None)
        await build.join(group, user)
        await build.order(user, dist, basket)
    drafter = await build.person(
        f"brouillon-{uuid.uuid4().hex[:8]}@example.org", "", "Brouillon", password=None
    )
    await build.order(drafter, dist, {p1: 50}, state="draft")
    starts = (await Distribution.select().where(Distribution.id == dist).first())["starts_at"]
    return {
        "slug": amap["slug"],
        "catalog": chocolate,
        "distribution": dist,
        "label": label(starts),
    }


def world(server) -> dict:
    spec = {
        "admin": f"admin-{uuid.uuid4().hex[:10]}@example.org",
        "producer": f"producteur-{uuid.uuid4().hex[:10]}@example.org",
        "name": f"Martign'AMAP {uuid.uuid4().hex[:6]}",
    }
    done = subprocess.run(
        [PYTHON, "-m", "tests.browser.test_producer_orders", json.dumps(spec)],
        cwd=ROOT,
        env=server.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        raise AssertionError(f"seed a échoué :\n{done.stdout}\n{done.stderr}")
    return spec | json.loads(done.stdout.strip().splitlines()[-1])


def log_in(page: Page, email: str) -> None:
    page.goto("/connexion")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1, name="Mes groupes")).to_be_visible()


def money(text: str) -> int:
    """'12,34 €' (or '1 234,56') -> cents."""
    digits = re.sub(r"[^\d,]", "", text)
    whole, _, cents = digits.partition(",")
    return int(whole) * 100 + int(cents or 0)


def download_csv(page: Page) -> tuple[str, list[list[str]]]:
    with page.expect_download() as info:
        page.get_by_role("link", name="Exporter en CSV").click()
    download = info.value
    raw = open(download.path(), "rb").read()  # noqa: SIM115 - a small file, read once
    assert raw.startswith(b"\xef\xbb\xbf"), "pas de BOM UTF-8"
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8")[1:]), delimiter=";"))
    return download.suggested_filename, rows


def test_producer_follows_the_seed_path_to_the_orders_and_exports_them(page: Page, server, shots):
    w = world(server)
    log_in(page, w["producer"])

    # Home → the group (the producer's groups are listed on the home page) → CATALOGUES.
    page.get_by_role("link", name=w["name"]).first.click()
    if not re.search(r"/catalogues$", page.url):
        page.get_by_role("navigation", name="Onglets du groupe").get_by_role(
            "link", name="CATALOGUES"
        ).click()
    expect(page).to_have_url(re.compile(rf"/g/{re.escape(w['slug'])}/catalogues$"))
    card = page.locator(".card").filter(has_text="LA CHOKOLATIERE")
    expect(card).to_have_count(1)
    expect(page.get_by_text("Pains du Fournil")).to_have_count(0)  # not their catalog

    # "Gérer" → "COMMANDES" in the menu on the left → "Commandes" beside the date.
    card.get_by_role("link", name="Gérer").click()
    menu = page.get_by_role("navigation", name="Menu du catalogue")
    menu.get_by_role("link", name="COMMANDES", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/catalogues/{w['catalog']}/commandes$"))
    expect(page.get_by_role("heading", name="Commandes anciennes")).to_be_visible()
    row = page.locator("ul.dates li").filter(has_text=f"{w['label']} · MGDD")
    row.get_by_role("link", name="Commandes", exact=True).click()
    expect(page).to_have_url(
        re.compile(rf"/catalogues/{w['catalog']}/commandes/{w['distribution']}$")
    )

    # By product: 3 + 5 + 3 of the producer's products (the draft and the bread do not count).
    by_product = page.locator("#by-product")
    expect(by_product).to_be_visible()
    expect(by_product.locator("tbody tr")).to_have_count(3)
    expect(page.get_by_text("Pain de seigle")).to_have_count(0)
    product_total = money(page.locator("#grand-total").inner_text())
    assert product_total == 3 * 150 + 5 * 151 + 3 * 152
    page.screenshot(path=str(shots / "producer_orders_by_product.png"), full_page=True)

    # Switch to "Par adhérent" with htmx: the recap is swapped, the page is not reloaded.
    page.wait_for_function("() => window.htmx !== undefined")
    page.evaluate("() => { window.__same = 'oui'; }")
    with page.expect_response(lambda r: "vue=adherents" in r.url) as answer:
        page.get_by_role("link", name="Par adhérent").click()
    assert answer.value.request.headers.get("hx-request") == "true"
    by_member = page.locator("#by-member")
    expect(by_member).to_be_visible()
    expect(page).to_have_url(re.compile(r"\?vue=adherents$"))
    assert page.evaluate("() => window.__same") == "oui", "la page a été rechargée"
    expect(by_member.get_by_text("MARIUZZO-RAYNAUD Paul")).to_be_visible()
    expect(by_member.get_by_text("06 55 66 77 88")).to_be_visible()
    expect(by_member.locator("tbody")).to_have_count(3)
    expect(page.get_by_role("link", name="Modifier")).to_have_count(0)  # producers read only
    member_total = money(page.locator("#grand-total").inner_text())
    assert member_total == product_total
    shown_totals = [money(cell) for cell in by_member.locator("tr.who td.num").all_inner_texts()]
    assert sum(shown_totals) == member_total
    page.screenshot(path=str(shots / "producer_orders_by_member.png"), full_page=True)

    name, rows = download_csv(page)
    assert name.startswith("Commandes par adhérent - LA CHOKOLATIERE - ") and name.endswith(".csv")
    assert rows[0][:3] == ["Nom", "Prénom", "Téléphone"]
    assert {r[0] for r in rows[1:-1]} == {"Mariuzzo-Raynaud", "Boursier", "Durand"}
    assert sum(money(r[7]) for r in rows[1:-1]) == member_total == money(rows[-1][7])

    # Back to "Par produit" (htmx too), and its export.
    page.get_by_role("link", name="Par produit").click()
    expect(page.locator("#by-product")).to_be_visible()
    assert page.evaluate("() => window.__same") == "oui"
    name, rows = download_csv(page)
    assert name.startswith("Commandes par produit - LA CHOKOLATIERE - ")
    assert rows[0] == ["Produit", "Référence", "Unité", "Quantité", "Prix unitaire", "Total"]
    page_rows = page.locator("#by-product tbody tr").all()
    assert len(rows) - 2 == len(page_rows)
    for csv_row, html_row in zip(rows[1:-1], page_rows, strict=True):
        cells = html_row.locator("td").all_inner_texts()
        assert cells[0].startswith(csv_row[0])
        assert int(cells[1]) == int(csv_row[3])
        assert money(cells[3]) == money(csv_row[5])
    assert rows[-1][0] == "Total" and money(rows[-1][5]) == product_total

    # Back in the browser's history: the by-member view comes back whole.
    page.go_back()
    expect(page.locator("#by-member")).to_be_visible()
    expect(page.get_by_role("navigation", name="Menu du catalogue")).to_be_visible()


def test_admin_corrects_a_member_order_in_place(page: Page, server):
    """htmx swaps the member's rows and, out of band, the totals; a bad value is shown in the
    row and nothing changes; Escape closes the order again."""
    w = world(server)
    log_in(page, w["admin"])
    page.goto(f"/g/{w['slug']}/catalogues/{w['catalog']}/commandes/{w['distribution']}")
    page.wait_for_function("() => window.htmx !== undefined")
    page.get_by_role("link", name="Par adhérent").click()
    member = page.locator("#by-member tbody").filter(has_text="DURAND Alice")
    expect(member.locator("tr.who")).to_contain_text("6,04")  # 4 × 1,51 €
    grand = page.locator("#grand-total")
    expect(grand).to_have_text(re.compile(r"16,61"))
    page.evaluate("() => { window.__same = 'oui'; }")

    member.get_by_role("link", name="Modifier").click()
    quantity = member.get_by_label("Quantité de Produit 001")
    expect(quantity).to_have_value("4")
    quantity.fill("deux")
    quantity.press("Enter")
    expect(member.get_by_role("alert")).to_contain_text("nombre entier")
    expect(grand).to_have_text(re.compile(r"16,61"))

    quantity = member.get_by_label("Quantité de Produit 001")
    quantity.fill("6")
    quantity.press("Enter")
    expect(member.locator("tr.who")).to_contain_text("9,06")  # 6 × 1,51 €
    expect(grand).to_have_text(re.compile(r"19,63"))  # the totals came out of band
    expect(member.get_by_label("Quantité de Produit 001")).to_have_count(0)

    member.get_by_role("link", name="Modifier").click()
    member.get_by_label("Ajouter", exact=True).select_option(label="Produit 002 (1,52\u00a0€ / kg)")
    member.get_by_label("Quantité à ajouter").fill("2")
    member.get_by_role("button", name="Ajouter").click()
    expect(member).to_contain_text("Produit 002")
    expect(grand).to_have_text(re.compile(r"22,67"))  # + 2 × 1,52 €

    member.get_by_role("link", name="Modifier").click()
    expect(member.get_by_label("Quantité de Produit 002")).to_be_visible()
    # htmx wires the new row's triggers once the swap has settled.
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )
    member.get_by_label("Quantité de Produit 002").press("Escape")
    expect(member.get_by_label("Quantité de Produit 002")).to_have_count(0)
    assert page.evaluate("() => window.__same") == "oui", "la page a été rechargée"
    page.reload()
    expect(page.locator("#grand-total")).to_have_text(re.compile(r"22,67"))


def test_the_orders_page_works_without_javascript(new_context, server):
    w = world(server)
    page = new_context(java_script_enabled=False).new_page()
    log_in(page, w["producer"])
    page.goto(f"/g/{w['slug']}/catalogues/{w['catalog']}/commandes/{w['distribution']}")
    page.get_by_role("link", name="Par adhérent").click()
    expect(page).to_have_url(re.compile(r"\?vue=adherents$"))
    expect(page.locator("#by-member tbody")).to_have_count(3)
    page.get_by_role("link", name="Liste d'émargement").click()
    expect(page.get_by_role("columnheader", name="Signature")).to_be_visible()
    expect(page.locator("table.sign tbody tr")).to_have_count(3)


if __name__ == "__main__":
    print(json.dumps(asyncio.run(seed(json.loads(sys.argv[1])))))
