"""The sheets one prints — the émargement, the commande en gros (the order to the producer),
the recaps by product and by member — printed to PDF by Chromium on A4, read back with
pdftotext: no navigation, every member's row and every product's line whole on one page,
and as many pages as the rows' heights imply."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.browser.a11y import a11y_world, role_context

__all__ = ["a11y_world"]

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="pdftotext manque (apt-get install poppler-utils)"
)

MM = 96 / 25.4  # CSS px per millimetre
# A4 less the 12 mm margins of the print stylesheet (static/app.css, @page).
PAGE_W, PAGE_H = (210 - 24) * MM, (297 - 24) * MM
NAVIGATION = [
    "Aller au contenu",
    "Déconnexion",
    "Mes commandes",
    "MEMBRES",
    "DISTRIBUTIONS",
    "Mentions légales",
    "Menu du catalogue",
    "Imprimer",
    "Exporter en CSV",
]


def printed(page: Page, tmp_path: Path) -> list[str]:
    """The PDF's text, page by page."""
    pdf = tmp_path / "sheet.pdf"
    page.pdf(path=str(pdf), format="A4", prefer_css_page_size=True)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    pages = text.split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def squeeze(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def expected_pages(page: Page, rows: str) -> tuple[int, int]:
    """The pages the rows take if none is cut: their heights, as laid out for print on A4's
    width, filled page after page (the header row repeats on each); and the pages at most
    of what follows them (totals, the day's permanences)."""
    page.set_viewport_size({"width": round(PAGE_W), "height": round(PAGE_H)})
    page.emulate_media(media="print")
    boxes = page.evaluate(
        """(rows) => {
          const top = (e) => e.getBoundingClientRect().top + scrollY;
          const all = [...document.querySelectorAll(rows)];
          const table = all[0].closest('table');
          const head = table.tHead ? table.tHead.getBoundingClientRect().height : 0;
          const end = document.querySelector('main').getBoundingClientRect().bottom + scrollY;
          const last = all[all.length - 1];
          return {start: top(all[0]), head, heights: all.map(r => r.getBoundingClientRect().height),
                  after: end - (top(last) + last.getBoundingClientRect().height)};
        }""",
        rows,
    )
    pages, used = 1, boxes["start"]
    for height in boxes["heights"]:
        if used + height > PAGE_H:
            pages, used = pages + 1, boxes["head"]
        used += height
    page.emulate_media(media="null")
    return pages, math.ceil(boxes["after"] / PAGE_H)


def check_sheet(page: Page, tmp_path: Path, rows: str, cells) -> tuple[int, int]:
    """Each row of `rows` (its text cut by `cells` into the parts that must stay together)
    whole on one page of the PDF, in order; no navigation; the page count as implied."""
    wanted = [cells(page.locator(rows).nth(n)) for n in range(page.locator(rows).count())]
    assert wanted, rows
    implied, after = expected_pages(page, rows)
    pages = [squeeze(p) for p in printed(page, tmp_path)]
    for word in NAVIGATION:
        assert not any(word in p for p in pages), f"« {word} » imprimé : {pages[0][:600]}"
    last = 0
    for parts in wanted:
        on = [n for n, p in enumerate(pages) if all(part in p for part in parts)]
        assert on, f"ligne coupée ou absente du PDF : {parts}"
        assert on[0] >= last, f"ligne hors de l'ordre : {parts}"
        last = on[0]
    assert last + 1 == implied, f"{len(wanted)} lignes sur {last + 1} pages, {implied} attendues"
    assert len(pages) <= implied + after, f"{len(pages)} pages, {implied} + {after} attendues"
    assert all(p for p in pages), "page blanche"
    return len(wanted), len(pages)


def member_parts(row) -> list[str]:
    name = squeeze(row.locator("td").nth(0).inner_text().split("\n")[0])
    lines = [squeeze(li) for li in row.locator("li").all_inner_texts()]
    return [name, *lines, squeeze(row.locator("td").nth(2).inner_text())]


def product_parts(row) -> list[str]:
    return [squeeze(c) for c in row.locator("td").all_inner_texts() if c.strip()]


def member_block_parts(block) -> list[str]:
    """A member's block of the recap by member: their name, total and every line."""
    who = squeeze(block.locator("tr.who th").inner_text()).removesuffix(" Modifier")
    lines = [squeeze(t) for t in block.locator("tr:not(.who)").all_inner_texts()]
    return [who, *lines]


def test_sheets_print_on_a4_whole(browser: Browser, server, a11y_world, tmp_path):
    w = a11y_world
    base = f"/g/{w['amap']['slug']}/catalogues/{w['catalog']}"
    date = f"{base}/commandes/{w['distribution']}"
    context = role_context(browser, server, "coordinator")
    try:
        page = context.new_page()
        page.goto(f"{date}/emargement")
        rows, pages = check_sheet(
            page, tmp_path, "table.recap.sign:not(.duty-sheet) tbody tr", member_parts
        )
        assert rows > 30 and pages >= 2, (rows, pages)

        page.goto(f"{base}/commande-en-gros?distribution={w['distribution']}")
        check_sheet(page, tmp_path, "#bulk tbody tr", product_parts)

        page.goto(date)
        check_sheet(page, tmp_path, "#by-product tbody tr", product_parts)

        page.goto(f"{date}?vue=adherents")
        check_sheet(page, tmp_path, "#by-member tbody:has(tr.who)", member_block_parts)
    finally:
        context.close()
