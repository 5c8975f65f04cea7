"""Products to and from a CSV file: reading, checking against the catalog, the export's
round trip, and the signed preview."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.catalogs import product_files as pf
from domain.kernel import clock

SECRET = "unit-test-secret-0123456789"
PAIN = {
    "id": 1,
    "name": "Pain de campagne",
    "unit": "pièce",
    "price_cents": 350,
    "vat_rate": 550,
    "stock": None,
    "max_per_order": 2,
    "reference": "P-01",
    "active": True,
}
MIEL = {
    "id": 2,
    "name": "Miel",
    "unit": "pot",
    "price_cents": 1205,
    "vat_rate": 550,
    "stock": 0,
    "max_per_order": None,
    "reference": "",
    "active": False,
}
ODD = {
    "id": 3,
    "name": "=1+1 (formule)",
    "unit": "-5 g",
    "price_cents": 123456,
    "vat_rate": 210,
    "stock": 12,
    "max_per_order": None,
    "reference": "@REF",
    "active": True,
}
CATALOG = [PAIN, MIEL, ODD]


def rows_of(text: str, existing=CATALOG) -> list[pf.ImportRow]:
    columns, rows = pf.read_csv(text.encode())
    return pf.check_rows(columns, rows, existing)


# ---- cells -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "cell"), [(0, "0"), (210, "2,1"), (550, "5,5"), (1000, "10"), (2000, "20")]
)
def test_vat_cell_and_back(rate, cell):
    assert pf.vat_cell(rate) == cell
    assert pf.vat_from_cell(cell) == str(rate)


@pytest.mark.parametrize(
    ("cell", "value"),
    [("5.5 %", "550"), ("5,50", "550"), ("20\u00a0%", "2000"), (" 10 ", "1000"), ("05", "500")],
)
def test_vat_from_cell_reads_spreadsheet_spellings(cell, value):
    assert pf.vat_from_cell(cell) == value


@pytest.mark.parametrize("cell", ["", "abc", "100", "5,555", "-5"])
def test_vat_from_cell_keeps_other_text_for_the_check(cell):
    assert pf.vat_from_cell(cell) == cell


# ---- reading -----------------------------------------------------------------------------


def test_read_csv_understands_header_aliases():
    text = (
        "Produit,Prix TTC (€),Unité,Taux de TVA,Stock,Maximum par commande,Code-barres,Actif\n"
        "x,1,,,,,,\n"
    )
    columns, rows = pf.read_csv(text.encode())
    assert columns == list(pf.FIELDS)
    assert rows == [(2, ["x", "1", "", "", "", "", "", ""])]


def test_read_csv_of_a_windows_1252_file():
    columns, rows = pf.read_csv("nom;prix\nCrème fraîche;2,5\n".encode("cp1252"))
    assert (columns, rows) == (["name", "price"], [(2, ["Crème fraîche", "2,5"])])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "nom;couleur\nx;bleu\n",
            "Ligne 1 : colonne « couleur » inconnue (colonnes possibles : nom, prix",
        ),
        ("nom;Produit\nx;y\n", "Ligne 1 : la colonne « nom » apparaît deux fois."),
        ("prix;stock\n1;2\n", "Ligne 1 : il faut au moins une colonne « nom » ou « référence »."),
        ("nom;prix\n", "Le fichier ne contient aucun produit (seulement les en-têtes)."),
        ("", "Le fichier est vide."),
        (" \n\n", "Le fichier est vide."),
    ],
)
def test_read_csv_refusals(text, message):
    with pytest.raises(pf.ImportFileError) as caught:
        pf.read_csv(text.encode())
    assert caught.value.message.startswith(message)


def test_read_csv_refuses_spreadsheets_and_big_files():
    with pytest.raises(pf.ImportFileError, match="fichier Excel"):
        pf.read_csv(b"PK\x03\x04" + b"\x00" * 50)
    with pytest.raises(pf.ImportFileError, match="2 Mo"):
        pf.read_csv(b"nom\n" + b"x\n" * pf.MAX_BYTES)


def test_read_csv_refuses_too_many_rows(monkeypatch):
    monkeypatch.setattr(pf, "MAX_ROWS", 3)
    assert len(pf.read_csv(b"nom\na\nb\nc\n")[1]) == 3
    with pytest.raises(pf.ImportFileError, match="ne doit pas dépasser 3 produits"):
        pf.read_csv(b"nom\na\nb\nc\nd\n")


def test_read_csv_names_the_line_of_a_broken_file():
    with pytest.raises(pf.ImportFileError, match="^Ligne 3 : le fichier CSV est mal formé"):
        pf.read_csv(b"nom\nx\n" + b"y" * 200_000 + b"\n")


# ---- checking against the catalog ---------------------------------------------------------


def test_new_update_same_and_error_statuses():
    rows = rows_of(
        "référence;nom;prix\n"
        "P-01;Pain de campagne;3,50\n"  # same
        "@REF;=1+1 (formule);1300\n"  # update (price)
        "N-1;Nouveau;2\n"  # new
        "N-2;;abc\n"  # error
    )
    assert [r.status for r in rows] == ["same", "update", "new", "error"]
    assert [r.product_id for r in rows] == [1, 3, None, None]
    assert rows[3].errors == [
        "nom : Indiquez le nom du produit.",
        "prix : Indiquez un prix en euros, par exemple 3,50.",
    ]
    assert pf.changes(rows) == [rows[1].item(), rows[2].item()]
    assert pf.error_lines(rows) == [
        "Ligne 5 : nom : Indiquez le nom du produit. prix : Indiquez un prix en euros, par "
        "exemple 3,50."
    ]


def test_an_update_keeps_the_columns_absent_from_the_file():
    (row,) = rows_of("référence;prix\nP-01;4\n")
    assert row.status == "update"
    assert row.values == {
        "name": "Pain de campagne",
        "unit": "pièce",
        "price_cents": 400,
        "vat_rate": 550,
        "stock": None,
        "max_per_order": 2,
        "reference": "P-01",
        "active": True,
    }


def test_a_new_product_takes_the_forms_defaults():
    (row,) = rows_of("nom;prix\nConfiture;4,20\n")
    assert row.status == "new"
    assert row.values == {
        "name": "Confiture",
        "unit": "pièce",
        "price_cents": 420,
        "vat_rate": 550,
        "stock": None,
        "max_per_order": None,
        "reference": "",
        "active": True,
    }
    assert row.item() == {"line": 2, "product_id": None, "fields": row.form, "active": True}


def test_a_product_without_reference_is_matched_by_its_name():
    (row,) = rows_of("nom;prix;actif\n  MIEL ;12,05;non\n")
    assert (row.status, row.product_id) == ("update", 2)  # the name's case and spaces
    (same,) = rows_of("nom;prix;actif;unité;stock\nMiel;12,05;non;pot;0\n")
    assert same.status == "same"


def test_matching_problems():
    twins = [MIEL, MIEL | {"id": 4}]
    (row,) = rows_of("nom;prix\nMiel;1\n", twins)
    assert row.errors == ["plusieurs produits du catalogue correspondent à cette ligne."]
    (row,) = rows_of("référence;prix\n;1\n")
    assert row.status == "error"
    assert "indiquez la référence du produit à mettre à jour." in row.errors


def test_the_same_product_or_reference_twice_in_the_file():
    rows = rows_of("référence;nom;prix\nP-01;Pain;1\nP-01;Pain;2\nX;A;1\nX;B;1\n")
    assert rows[1].errors == [
        "même produit que la ligne 2 (« Pain de campagne »).",
        "la référence P-01 est déjà à la ligne 2.",
    ]
    assert rows[3].errors == ["la référence X est déjà à la ligne 4."]
    assert [r.status for r in rows] == ["update", "error", "new", "error"]


def test_cell_level_refusals():
    rows = rows_of("nom;prix;TVA;actif\nA;1;7;oui\nB;1;5,5;peut-être\nC;1;5,5;oui;en trop\n")
    assert rows[0].errors == ["TVA : Choisissez un taux de TVA. (0 ; 2,1 ; 5,5 ; 10 ; 20 %)"]
    assert rows[1].errors == ["actif : indiquez oui ou non."]
    assert rows[2].errors == ["5 colonnes au lieu de 4."]


@pytest.mark.parametrize(
    ("cell", "active"),
    [("oui", True), ("X", True), ("", True), ("Non", False), ("FAUX", False), ("0", False)],
)
def test_active_cells(cell, active):
    (row,) = rows_of(f"nom;prix;actif\nA;1;{cell}\n")
    assert row.status == "new" and row.values["active"] is active


def test_a_superscript_vat_cell_is_a_row_error():
    (row,) = rows_of("nom;prix;TVA\nA;1;²\n")
    assert row.status == "error"


# ---- the export -----------------------------------------------------------------------------


def test_export_is_a_french_spreadsheet_file():
    data = pf.export_csv([PAIN, ODD])
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").split("\r\n")
    assert lines[0] == "nom;prix;unité;TVA;stock;max par commande;référence;actif"
    assert lines[1] == "Pain de campagne;3,50;pièce;5,5;;2;P-01;oui"
    assert lines[2] == "'=1+1 (formule);1234,56;'-5 g;2,1;12;;'@REF;oui"


def test_export_then_import_is_unchanged():
    rows = pf.parse_import(pf.export_csv(CATALOG), CATALOG)
    assert [(r.status, r.product_id) for r in rows] == [("same", 1), ("same", 2), ("same", 3)]
    assert pf.changes(rows) == []


def test_export_of_no_product_is_only_the_header():
    with pytest.raises(pf.ImportFileError, match="aucun produit"):
        pf.read_csv(pf.export_csv([]))


# ---- the signed preview -------------------------------------------------------------------


def test_the_preview_comes_back_for_its_catalog_within_the_hour():
    items = pf.changes(rows_of("nom;prix\nConfiture;4,20\n"))
    token = pf.sign_preview(items, SECRET, 7)
    assert pf.read_preview(token, SECRET, 7) == items
    assert pf.read_preview(token, SECRET, 8) is None
    assert pf.read_preview(token, "another-secret-0123456789", 7) is None
    assert pf.read_preview(token[:-2], SECRET, 7) is None
    with clock.travel(timedelta(seconds=pf.PREVIEW_MAX_AGE + 1)):
        assert pf.read_preview(token, SECRET, 7) is None


def test_a_preview_that_is_not_a_list_is_refused():
    from domain.kernel import tokens

    token = tokens.sign({"rows": []}, SECRET, "import-produits:7")
    assert pf.read_preview(token, SECRET, 7) is None
