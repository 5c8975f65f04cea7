"""MESSAGERIE's pure parts: the body's safe formatting, attachment names and types."""

from __future__ import annotations

import pytest
from markupsafe import Markup

from domain.messaging import _clean_filename, attachment_type, format_body


def test_paragraphs_and_line_breaks():
    body = format_body("Bonjour,\r\n\r\n\r\nLa distribution\nest jeudi.\n\n  \n\nÀ bientôt")
    assert isinstance(body, Markup)
    assert str(body) == (
        "<p>Bonjour,</p>\n<p>La distribution<br>\nest jeudi.</p>\n<p>À bientôt</p>"
    )


def test_bold_needs_text_against_both_stars():
    assert str(format_body("**gras** et *pas* et ** pas non plus **")) == (
        "<p><strong>gras</strong> et *pas* et ** pas non plus **</p>"
    )


def test_addresses_become_links_without_their_punctuation():
    assert str(format_body("Voir https://ex.org/a?b=1&c=2.")) == (
        '<p>Voir <a href="https://ex.org/a?b=1&amp;c=2">https://ex.org/a?b=1&amp;c=2</a>.</p>'
    )
    assert str(format_body("(http://ex.org/p)")) == (
        '<p>(<a href="http://ex.org/p">http://ex.org/p</a>)</p>'
    )
    assert str(format_body("**https://ex.org**")) == (
        '<p><strong><a href="https://ex.org">https://ex.org</a></strong></p>'
    )


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        'https://ex.org/"onmouseover="alert(1)',
        "https://ex.org/<script>",
        "javascript:alert(1)",
    ],
)
def test_no_markup_gets_through(text):
    html = str(format_body(text))
    assert "<script" not in html and "<img" not in html
    assert '"onmouseover' not in html
    assert 'href="javascript' not in html
    assert html.startswith("<p>") and html.endswith("</p>")


def test_an_empty_body_is_empty():
    assert str(format_body("  \n\n ")) == ""


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("contrat.pdf", "application/pdf"),
        ("CONTRAT.PDF", "application/pdf"),
        ("photo.jpg", "image/jpeg"),
        ("planning.csv", "text/csv"),
        ("sans-extension", "application/octet-stream"),
        ("x.inconnue", "application/octet-stream"),
    ],
)
def test_attachment_type_from_the_name(name, kind):
    assert attachment_type(name) == kind


@pytest.mark.parametrize(
    ("name", "clean"),
    [
        ("C:\\Users\\Adèle\\Planning été.pdf", "Planning été.pdf"),
        ("../../etc/passwd", "passwd"),
        ('"mal<>nommé|?*:.txt', "malnommé.txt"),
        ("a\x00b\nc\u202e.txt", "abc.txt"),
        ("  .rapport.  ", "rapport"),
        ("...", "piece-jointe"),
        ("", "piece-jointe"),
    ],
)
def test_attachment_names_are_cleaned(name, clean):
    assert _clean_filename(name) == clean


def test_attachment_names_are_cut_to_200_characters():
    assert _clean_filename("x" * 300 + ".pdf") == "x" * 200
