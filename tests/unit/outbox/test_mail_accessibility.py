"""The HTML part of every mail is readable with a screen reader: French, a real heading,
links whose text says where they lead without the sentence around them; and its text part
gives the same links."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from domain.outbox.rendering import render

TEMPLATES = Path(__file__).resolve().parents[3] / "domain" / "outbox" / "templates"
MAILS = sorted(p.stem for p in TEMPLATES.glob("*.html") if not p.name.startswith("_"))
LINK = re.compile(r'<a href="\{\{ (\w+) \}\}"[^>]*>(.*?)</a>', re.S)
VAGUE = {"ici", "cliquez ici", "lien", "ce lien", "en savoir plus", "voir", "commander"}


def test_the_layout_is_french_with_the_subject_as_title_and_heading():
    layout = (TEMPLATES / "_layout.html").read_text()
    assert '<html lang="fr">' in layout
    assert "<title>{{ mail_subject }}</title>" in layout
    assert re.search(r"<h1[^>]*>\{\{ mail_subject \}\}</h1>", layout)


@pytest.mark.parametrize("name", MAILS)
def test_links_make_sense_alone_and_the_text_part_has_them(name):
    html = (TEMPLATES / f"{name}.html").read_text()
    text = (TEMPLATES / f"{name}.txt").read_text()
    assert html.startswith('{% extends "_layout.html" %}'), "hors de la mise en page commune"
    assert not re.search(r"<h1", html), "un seul h1 : le sujet, dans la mise en page"
    for variable, label in LINK.findall(html):
        words = re.sub(r"<[^>]+>|\{\{[^}]*\}\}", " X ", label).split()
        assert not re.fullmatch(r"\s*\{\{[^}]*\}\}\s*", label), f"lien sans texte : {label}"
        assert label.strip().lower() not in VAGUE and len(words) >= 2, f"lien vague : {label!r}"
        assert "{{ " + variable + " }}" in text, f"{variable} manque dans la partie texte"


def test_a_rendered_mail_has_its_heading():
    subject, _, html = render(
        "password_reset",
        {"first_name": "Zoé", "url": "http://x/compte/mot-de-passe/t", "hours": 2},
        site_name="Circuit Court",
    )
    assert f"<title>{subject}</title>" in html and f">{subject}</h1>" in html
