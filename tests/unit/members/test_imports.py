"""`imports.parse` over the corpus of tests/fixtures/member_import (the same outcomes as
tests/web/members/test_imports.py expects on the page), and the rules of each row."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.members import imports

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "member_import"

# Files refused as a whole: (message of ImportProblem).
REFUSED = {
    "empty.csv": "Le fichier est vide.",
    "only_headers.csv": "ne contient que la ligne d'en-tête",
    "utf16_without_bom.csv": "Ce fichier n'est pas un tableau CSV lisible",
    "binary_junk.csv": "Ce fichier n'est pas un tableau CSV lisible",
    "spreadsheet.xlsx.csv": "C'est un fichier Excel (.xlsx ou .ods), pas un CSV",
}
# Files whose header is refused: the problems, no row read.
BAD_HEADER = {
    "missing_column.csv": ["Ligne 1 : colonne obligatoire absente : « E-mail »."],
    "unknown_column.csv": ["Ligne 1 : colonne inconnue « Fax » (colonne n° 4)."],
}
# Files with bad rows: {line: the start of each of its errors}; the other rows are good.
BAD_ROWS = {
    "duplicate_emails.csv": {
        3: ["l'e-mail camille@example.org est déjà à la ligne 2 du fichier"],
    },
    "mixed_separators.csv": {
        3: ["cette ligne est séparée par « , » alors que la ligne d'en-tête l'est par « ; »"],
    },
    "too_many_columns.csv": {3: ["4 valeurs pour 3 colonnes"]},
    "formulas.csv": {
        2: ["la colonne « Prénom » commence par « = » (une formule de tableur)"],
        3: ["la colonne « Nom » commence par « @ »"],
        4: ["la colonne « Téléphone » commence par « + »", "téléphone invalide : « +cmd|calc »"],
        5: [
            "la colonne « Nom » commence par « - »",
            "la colonne « Téléphone » commence par « - »",
            "téléphone invalide : « -0612 »",
        ],
    },
    "bad_rows.csv": {
        2: ["e-mail invalide : « pas-une-adresse »"],
        3: ["prénom manquant"],
        4: ["nom manquant"],
        5: ["e-mail manquant"],
    },
}
# Files read whole: (encoding, delimiter, {email: (first name, last name)}).
GOOD = {
    "utf8_semicolon.csv": (
        "UTF-8",
        ";",
        {
            "camille@example.org": ("Camille", "Martin"),
            "dominique@example.org": ("Dominique", "Bernard"),
        },
    ),
    "utf8_bom_comma.csv": (
        "UTF-8",
        ",",
        {"elise@example.org": ("Élise", "Rivière"), "zoe@example.org": ("Zoé", "Lefèvre")},
    ),
    "excel_cp1252_accents.csv": (
        "Windows-1252",
        ";",
        {"helene@example.org": ("Hélène", "Dupré"), "francois@example.org": ("François", "Lœuvre")},
    ),
    "latin1.csv": ("Windows-1252", ";", {"gaelle@example.org": ("Gaëlle", "Noël")}),
    "quoted_newlines.csv": (
        "UTF-8",
        ";",
        {
            "jean@example.org": ('Jean; dit "Jeannot"', "Dupont"),
            "luc@example.org": ("Luc", "Petit"),
        },
    ),
    "headers_any_order.csv": (
        "UTF-8",
        ",",
        {"anna@example.org": ("Anna", "Durand"), "bob@example.org": ("Bob", "Roux")},
    ),
}
HEADER = "Prénom;Nom;E-mail;Téléphone\n"


def parse_text(text: str) -> imports.Preview:
    return imports.parse(text.encode())


def test_the_corpus_is_covered_file_by_file():
    expected = set(REFUSED) | set(BAD_HEADER) | set(BAD_ROWS) | set(GOOD)
    assert {p.name for p in CORPUS.iterdir()} == expected
    assert len(expected) == 18


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_unreadable_files_are_refused_as_a_whole(name):
    with pytest.raises(imports.ImportProblem) as caught:
        imports.parse((CORPUS / name).read_bytes())
    assert REFUSED[name] in caught.value.message


@pytest.mark.parametrize("name", sorted(BAD_HEADER))
def test_bad_headers_are_file_problems(name):
    preview = imports.parse((CORPUS / name).read_bytes())
    assert preview.problems == BAD_HEADER[name]
    assert preview.rows == [] and not preview.ok


@pytest.mark.parametrize("name", sorted(BAD_ROWS))
def test_bad_rows_are_listed_by_line(name):
    preview = imports.parse((CORPUS / name).read_bytes())
    assert preview.problems == [] and not preview.ok
    bad = {row.line: row.errors for row in preview.bad_rows}
    assert sorted(bad) == sorted(BAD_ROWS[name])
    for line, starts in BAD_ROWS[name].items():
        assert len(bad[line]) == len(starts), (line, bad[line])
        for error, start in zip(bad[line], starts, strict=True):
            assert error.startswith(start), (line, error)
    for row in preview.rows:
        assert row.status == ("error" if row.errors else "")


def test_bad_rows_file_has_four_rows_to_fix():
    preview = imports.parse((CORPUS / "bad_rows.csv").read_bytes())
    assert len(preview.bad_rows) == 4 == len(preview.rows)


@pytest.mark.parametrize("name", sorted(GOOD))
def test_files_as_spreadsheets_write_them(name):
    encoding, delimiter, people = GOOD[name]
    preview = imports.parse((CORPUS / name).read_bytes())
    assert (preview.encoding, preview.delimiter) == (encoding, delimiter)
    assert preview.ok and preview.problems == [] and preview.bad_rows == []
    read = {
        r.values["email"]: (r.values["first_name"], r.values["last_name"]) for r in preview.rows
    }
    assert read == people


def test_quoted_newlines_keep_the_lines_of_the_file():
    preview = imports.parse((CORPUS / "quoted_newlines.csv").read_bytes())
    assert [r.line for r in preview.rows] == [2, 4]
    assert preview.rows[0].values["address"] == "12 rue Haute\nBâtiment B"
    data = (CORPUS / "quoted_newlines.csv").read_bytes() + "Zoé;;zoe@example.org;\n".encode()
    last = imports.parse(data).rows[-1]
    assert (last.line, last.errors) == (5, ["nom manquant"])


def test_a_couple_in_any_order_of_headers():
    preview = imports.parse((CORPUS / "headers_any_order.csv").read_bytes())
    assert preview.columns == [
        "first_name",
        "last_name",
        "email",
        "phone",
        "address",
        "postal_code",
        "city",
        "first_name_2",
        "last_name_2",
        "email_2",
    ]
    anna = preview.rows[0].values
    assert (anna["first_name_2"], anna["last_name_2"], anna["email_2"]) == (
        "Paul",
        "Durand",
        "paul@example.org",
    )
    assert (anna["address"], anna["postal_code"], anna["city"]) == ("5 rue X", "75011", "Paris")
    assert preview.rows[1].values["email_2"] == ""


def test_the_template_reads_back():
    preview = imports.parse(imports.template_csv())
    assert preview.ok and len(preview.rows) == 1
    assert preview.columns == list(imports.COLUMNS)
    assert preview.rows[0].values["email_2"] == "dominique.martin@example.org"


def test_emails_are_normalised_and_duplicates_found_in_any_case():
    preview = parse_text(
        "Prénom;Nom;E-mail;E-mail 2;Prénom 2;Nom 2\n"
        "A;A; Anne@Example.ORG ;;;\n"
        "B;B;b@example.org;ANNE@example.org;C;C\n"
    )
    assert preview.rows[0].values["email"] == "anne@example.org"
    assert preview.rows[1].errors == ["l'e-mail anne@example.org est déjà à la ligne 2 du fichier"]


def test_the_second_person_is_checked_when_any_of_its_columns_is_filled():
    preview = parse_text("Prénom;Nom;E-mail;Téléphone 2\nA;B;a@example.org;06 12 34 56 78\n")
    assert preview.rows[0].errors == ["prénom 2 manquant", "nom 2 manquant", "e-mail 2 manquant"]


@pytest.mark.parametrize(
    ("phone", "errors"),
    [
        ("06 12 34 56 78", []),
        ("+33 6 12 34 56 78", []),
        ("(0)6.12.34.56.78", []),
        ("-06 12 34", []),  # a sign in a phone number is no formula
        ("12345", ["téléphone invalide : « 12345 »"]),
        ("06 12 AB", ["téléphone invalide : « 06 12 AB »"]),
        (
            "=0612345678",
            ["la colonne « Téléphone » commence par « = »", "téléphone invalide : « =0612345678 »"],
        ),
    ],
)
def test_phone_numbers(phone, errors):
    row = parse_text(HEADER + f"A;B;a@example.org;{phone}\n").rows[0]
    assert len(row.errors) == len(errors)
    for error, start in zip(row.errors, errors, strict=True):
        assert error.startswith(start)


def test_cells_starting_with_a_tab_are_not_formulas_once_stripped():
    row = parse_text(HEADER + "\tA;B;a@example.org;\n").rows[0]
    assert row.errors == [] and row.values["first_name"] == "A"


def test_lengths_and_postal_codes():
    preview = parse_text(
        "Prénom;Nom;E-mail;Code postal;Ville\n"
        f"{'x' * 101};B;a@example.org;69001;{'v' * 100}\n"
        "A;B;b@example.org;69 001 <script>;Lyon\n"
        f"A;B;c@example.org;2A004;Ajaccio\n"
        f"A;B;{'d' * 250}@example.org;;\n"
    )
    assert [r.errors for r in preview.rows] == [
        ["« Prénom » dépasse 100 caractères"],
        ["code postal invalide : « 69 001 <script> »"],
        [],
        [f"e-mail invalide : « {('d' * 250 + '@example.org')[:60]} »"],
    ]


def test_a_value_under_a_column_without_name():
    row = parse_text("Prénom;Nom;E-mail;\nA;B;a@example.org;oups\n").rows[0]
    assert row.errors == ["une valeur dans la colonne n° 4, sans nom"]
    assert parse_text("Prénom;Nom;E-mail;\nA;B;a@example.org;\n").ok


def test_a_duplicated_column_is_a_problem():
    preview = parse_text("Prénom;Nom;E-mail;Courriel\nA;B;a@example.org;b@example.org\n")
    assert preview.problems == ["Ligne 1 : la colonne « E-mail » apparaît deux fois."]


def test_a_broken_file_names_its_line():
    text = "Prénom;Nom;E-mail\nA;B;a@example.org\n" + "x" * 200_000 + "\n"
    with pytest.raises(imports.ImportProblem, match="^Ligne 3 : le fichier n'est pas un CSV"):
        imports.parse(text.encode())


def test_a_file_too_large_is_refused_before_reading():
    with pytest.raises(imports.ImportProblem, match=r"trop volumineux \(4 Mo\) : 4 Mo au plus"):
        imports.parse(b"a" * (imports.MAX_BYTES + 1))


def test_preview_counts_each_person_of_a_row():
    preview = imports.parse((CORPUS / "headers_any_order.csv").read_bytes())
    preview.rows[0].status, preview.rows[0].status_2 = "new", "existing"
    preview.rows[1].status = "new"
    assert (preview.count("new"), preview.count("existing"), preview.count("member")) == (2, 1, 0)


def test_signed_rows_come_back_for_the_same_group_only():
    preview = imports.parse((CORPUS / "headers_any_order.csv").read_bytes())
    secret = "unit-test-secret-0123456789"
    token = imports.sign(12, preview, secret)
    rows = imports.unsign(token, 12, secret)
    assert rows[0] == {
        "line": 2,
        "email": "anna@example.org",
        "first_name": "Anna",
        "last_name": "Durand",
        "phone": "0611223344",
        "address": "5 rue X",
        "postal_code": "75011",
        "city": "Paris",
        "email_2": "paul@example.org",
        "first_name_2": "Paul",
        "last_name_2": "Durand",
        "phone_2": "",
    }
    with pytest.raises(imports.ImportProblem, match="autre groupe"):
        imports.unsign(token, 13, secret)
    with pytest.raises(imports.ImportProblem, match="n'est pas valide"):
        imports.unsign(token[:-3], 12, secret)
