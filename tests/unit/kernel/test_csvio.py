"""CSV files as French spreadsheets write and read them."""

from __future__ import annotations

import random

import pytest

from domain.kernel import csvio

TEXT = "Prénom;Nom\nÉlise;Lœuvre €\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (TEXT.encode(), "UTF-8"),
        ("\ufeff".encode() + TEXT.encode(), "UTF-8"),
        (TEXT.encode("utf-16"), "UTF-16"),  # with its BOM, as Excel's "Unicode text"
        (TEXT.encode("cp1252"), "Windows-1252"),
    ],
)
def test_decode_finds_the_encoding_and_drops_the_bom(data, encoding):
    assert csvio.decode(data) == (TEXT, encoding)


def test_decode_falls_back_to_latin_1():
    # 0x81 is undefined in Windows-1252: only Latin-1 decodes it.
    assert csvio.decode(b"caf\xe9;\x81\n") == ("café;\x81\n", "Latin-1")


def test_decode_refuses_a_spreadsheet_file():
    with pytest.raises(csvio.NotText, match="fichier Excel"):
        csvio.decode(b"PK\x03\x04\x14\x00\x06\x00" + b"x" * 100)


@pytest.mark.parametrize(
    "data",
    [
        bytes(range(256)) * 10,
        "Prénom;Nom".encode("utf-16-le"),  # UTF-16 without BOM: NUL bytes
        b"a;b\n\x01\x02\x03\x04\x05\x06",
    ],
)
def test_decode_refuses_binary_junk(data):
    with pytest.raises(csvio.NotText, match="pas un tableau CSV lisible"):
        csvio.decode(data)


def test_a_few_control_characters_are_tolerated():
    text = "a;b\n" + "x" * 200 + "\x0c\n"
    assert csvio.decode(text.encode()) == (text, "UTF-8")


@pytest.mark.parametrize(
    ("line", "delimiter"),
    [("a;b;c", ";"), ("a,b,c", ","), ("a\tb\tc", "\t"), ("a,b;c;d", ";"), ("a\tb\tc,d", "\t")],
)
def test_sniff_delimiter_takes_the_most_frequent(line, delimiter):
    assert csvio.sniff_delimiter(line) == delimiter


def test_sniff_delimiter_defaults_to_semicolon():
    assert csvio.sniff_delimiter("Nom") == ";"
    assert csvio.sniff_delimiter("") == ";"


def test_first_line_skips_leading_blank_lines():
    assert csvio.first_line("\r\n\nNom;Prénom\r\nx;y") == "Nom;Prénom\r"
    assert csvio.first_line("seule") == "seule"


def test_records_give_the_line_where_each_record_starts():
    text = 'a;b\r\n\r\n"x\ny";z\n;\n  ; \nlast;1\n'
    assert list(csvio.records(text, ";")) == [
        (1, ["a", "b"]),
        (3, ["x\ny", "z"]),  # spans lines 3 and 4
        (7, ["last", "1"]),  # lines 5 and 6 hold empty cells only: skipped
    ]


def test_records_name_the_line_of_a_syntax_error():
    text = "a;b\nc;d\n" + "x" * 200_000 + "\n"
    with pytest.raises(csvio.BadSyntax) as caught:
        list(csvio.records(text, ";"))
    assert caught.value.line == 3
    assert "field limit" in caught.value.detail


@pytest.mark.parametrize(
    ("header", "normalized"),
    [
        ("Unité (€)", "unite"),
        ("E-mail2", "e mail 2"),
        ("  Prénom  2 ", "prenom 2"),
        ("CODE_POSTAL", "code postal"),
        ("Téléphone", "telephone"),
        ("Nom du produit", "nom du produit"),
        ("", ""),
    ],
)
def test_normalize_header(header, normalized):
    assert csvio.normalize_header(header) == normalized


@pytest.mark.parametrize("text", ["=1+1", "+33 6", "-5", "@SOMME(A1)", "\tcaché", "\rx"])
def test_formula_cells_are_neutralised_and_read_back(text):
    written = csvio.cell(text)
    assert written == "'" + text
    assert not csvio.is_formula(written)
    assert csvio.unneutralise(written) == text


@pytest.mark.parametrize("text", ["Pain", "", "12,50", "'déjà cité", "a=b"])
def test_plain_cells_are_left_alone(text):
    assert csvio.cell(text) == text
    assert csvio.unneutralise(text) == text


def test_cell_of_none_and_numbers():
    assert csvio.cell(None) == ""
    assert csvio.cell(12) == "12"
    assert csvio.cell(-3) == "'-3"  # cell() alone knows no numbers: text_of does


def test_text_of_leaves_numbers_alone_but_neutralises_text():
    text = csvio.text_of([["-12,34", "-5", 7, -3, None, "=1+1", "+33 6", "x;y", 'dit "A"']])
    assert text == '-12,34;-5;7;-3;;\'=1+1;\'+33 6;"x;y";"dit ""A"""\r\n'


def test_text_of_reads_back_through_records():
    rows = [["nom", "prix"], ["=HYPERLINK(x)", "-1,50"], ["Pain\nde mie", "3,00"]]
    back = [
        [csvio.unneutralise(c) for c in cells]
        for _, cells in csvio.records(csvio.text_of(rows), ";")
    ]
    assert back == rows


def test_file_bytes_starts_with_the_bom_and_decodes_back():
    data = csvio.file_bytes([["Prénom", "Nom"], ["Élise", "Rivière"]])
    assert data.startswith(b"\xef\xbb\xbf")
    assert csvio.decode(data) == ("Prénom;Nom\r\nÉlise;Rivière\r\n", "UTF-8")


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes_are_refused_not_crashing(seed):
    data = random.Random(seed).randbytes(4096)
    with pytest.raises(csvio.NotText):
        csvio.decode(data)
