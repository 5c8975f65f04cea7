"""Mails rendered from domain/outbox/templates (Jinja, no database)."""

from __future__ import annotations

import pytest
from jinja2 import UndefinedError

from domain.outbox.rendering import AUTOMATIC_KINDS, UNSUBSCRIBE_MARK, render

RECAP = {
    "first_name": "Zoé <b>",
    "when": "mardi 7 avril à 19:00",
    "group_name": "AMAP des Lilas",
    "place": "Salle des fêtes",
    "address": "1 place du Marché",
    "lines": [
        {
            "quantity": 2,
            "name": "Pain & miel",
            "vendor_name": "Ferme du Pré",
            "unit_price": "3,50 €",
            "total": "7,00 €",
        }
    ],
    "total": "7,00 €",
    "url": "http://localhost/g/lilas/commande",
}
TEST_MAIL = {
    "first_name": "Zoé",
    "sender": "noreply@localhost",
    "signed_for": "",
    "url": "http://localhost/x",
}


def test_an_automatic_mail_carries_its_unsubscribe_mark():
    subject, text, html = render("order_recap", RECAP, "order_recap", site_name="Circuit Court")
    assert subject == "Votre commande du mardi 7 avril à 19:00 – AMAP des Lilas"
    assert "- 2 × Pain & miel (Ferme du Pré · 3,50 €) : 7,00 €" in text
    assert text.endswith(
        "\n\n--\nE-mail automatique « Récapitulatif de commande ». Ne plus recevoir ce type "
        "d'e-mail (ou choisissez dans Mon compte, Mes communications) :\n"
        f"{UNSUBSCRIBE_MARK}\n"
    )
    assert f'<a href="{UNSUBSCRIBE_MARK}"' in html
    assert "E-mail automatique « Récapitulatif de commande »" in html
    assert "Circuit Court" in text and "Circuit Court" in html


@pytest.mark.parametrize("kind", sorted(AUTOMATIC_KINDS))
def test_every_automatic_kind_names_itself(kind):
    _, text, html = render("test_mail", TEST_MAIL, kind, site_name="Camap")
    assert f"« {AUTOMATIC_KINDS[kind]} »" in text
    assert f"« {AUTOMATIC_KINDS[kind]} »" in html
    assert text.count(UNSUBSCRIBE_MARK) == 1 and html.count(UNSUBSCRIBE_MARK) == 1


def test_other_mails_carry_no_unsubscribe_link():
    subject, text, html = render("test_mail", TEST_MAIL, "test", site_name="Camap")
    assert subject == "E-mail de test de Camap"
    assert UNSUBSCRIBE_MARK not in text and UNSUBSCRIBE_MARK not in html
    assert "Ne plus recevoir" not in text and "Ne plus recevoir" not in html


def test_html_is_escaped_and_text_is_not():
    _, text, html = render("order_recap", RECAP, "order_recap", site_name="Circuit Court")
    assert "Bonjour Zoé <b>," in text
    assert "Bonjour Zoé &lt;b&gt;," in html
    assert "Pain &amp; miel" in html and "Pain & miel" not in html


def test_a_site_name_in_the_context_wins():
    subject, _, _ = render("test_mail", TEST_MAIL | {"site_name": "Mon AMAP"}, site_name="Camap")
    assert subject == "E-mail de test de Mon AMAP"


def test_a_missing_variable_is_an_error_not_a_blank():
    with pytest.raises(UndefinedError):
        render("test_mail", {"first_name": "Zoé"}, site_name="Camap")
