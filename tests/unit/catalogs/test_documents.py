"""DOCUMENTS: file names made safe, PDFs recognised."""

from __future__ import annotations

import pytest

from domain.catalogs.documents import MAX_BYTES, check_pdf, clean_name
from domain.kernel.errors import FieldErrors

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"


@pytest.mark.parametrize(
    ("filename", "clean"),
    [
        ("../../Contrat été 2027?.PDF", "Contrat été 2027.pdf"),
        ("C:\\Users\\Adèle\\contrat.pdf", "contrat.pdf"),
        ("contrat", "contrat.pdf"),
        ("", "document.pdf"),
        ("...", "document.pdf"),
        (".pdf", "pdf.pdf"),  # the dot goes first, so "pdf" is the stem
        ("a\x00b\u202e\nc.pdf", "abc.pdf"),
        ("rm -rf $(x);`y`.pdf", "rm -rf (x)y.pdf"),
        ("  Contrat    2027 .pdf", "Contrat 2027.pdf"),
        ("L’été (v2), signé+.pdf", "L’été (v2), signé+.pdf"),
        ("e\u0301te\u0301.pdf", "été.pdf"),  # decomposed accents composed (NFC)
    ],
)
def test_clean_name(filename, clean):
    assert clean_name(filename) == clean


def test_clean_name_cuts_long_names_and_keeps_one_extension():
    assert clean_name("x" * 300 + ".pdf") == "x" * 116 + ".pdf"
    assert len(clean_name("y" * 300)) == 120
    assert clean_name("a.pdf.PDF") == "a.pdf.pdf"  # only the last extension is dropped


def test_a_pdf_is_accepted():
    check_pdf("contrat.pdf", "application/pdf", PDF)
    check_pdf("contrat.pdf", "Application/PDF; charset=binary", PDF)
    check_pdf("contrat", "application/x-pdf", PDF)


@pytest.mark.parametrize(
    ("content_type", "data", "message"),
    [
        ("application/pdf", b"", "Choisissez un fichier PDF."),
        ("application/pdf", b"%PDF-" + b"0" * MAX_BYTES, "Le fichier ne doit pas dépasser 5 Mo."),
        ("text/plain", PDF, "Ce fichier n'est pas un PDF."),
        ("", PDF, "Ce fichier n'est pas un PDF."),
        ("application/pdf", b"<html>%PDF-", "Ce fichier n'est pas un PDF."),
        ("application/pdf", b"PK\x03\x04", "Ce fichier n'est pas un PDF."),
    ],
)
def test_what_is_not_a_pdf_is_refused(content_type, data, message):
    with pytest.raises(FieldErrors) as caught:
        check_pdf("contrat.pdf", content_type, data)
    assert caught.value.errors == {"file": message}


def test_the_largest_pdf_allowed():
    check_pdf("gros.pdf", "application/pdf", b"%PDF-" + b"0" * (MAX_BYTES - 5))
