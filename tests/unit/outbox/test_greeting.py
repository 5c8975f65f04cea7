"""Every mail's greeting: « Bonjour Claire, », or « Bonjour, » for a person nobody knows the
name of yet (an address an admin added); never « Bonjour , »."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.outbox.rendering import AUTOMATIC_KINDS, TEMPLATES, greeting, render

# Every variable any mail template reads; first_name is set per test.
CONTEXT = {
    "accept_url": "http://localhost/adhesion/x/rejoindre",
    "address": "1 place du Marché",
    "answer": "Complet cette saison.",
    "attachment": "",
    "author": "Adèle Admin",
    "body": "Le corps du message.",
    "body_html": "<p>Le corps du message.</p>",
    "by": "Adèle Admin",
    "catalogs": [{"name": "Légumes", "closes": "lundi 6 avril à 20:00"}],
    "closes": "lundi 6 avril à 20:00",
    "contract": "Légumes de saison",
    "days": 14,
    "email": "jeanne@example.org",
    "decline_url": "http://localhost/adhesion/x/refuser",
    "deletion": "jeudi 3 décembre 2026",
    "ends": "19:30",
    "group_name": "AMAP des Lilas",
    "group_url": "http://localhost/g/lilas",
    "hours": 24,
    "leave_url": "http://localhost/compte/marches",
    "lines": [
        {
            "quantity": 2,
            "name": "Pain",
            "vendor_name": "Ferme du Pré",
            "unit_price": "3,50 €",
            "total": "7,00 €",
        }
    ],
    "message": "Je voudrais rejoindre le groupe.",
    "new": "mardi 14 avril à 19:00",
    "new_email": "nouvelle@example.org",
    "new_place": "Halle",
    "note": "",
    "old": "mardi 7 avril à 19:00",
    "old_email": "ancienne@example.org",
    "old_place": "Salle des fêtes",
    "person": "Bruno Martin",
    "person_email": "bruno@example.org",
    "place": "Salle des fêtes",
    "recipients_label": "tous les membres",
    "privacy_url": "http://localhost/confidentialite",
    "sender": "noreply@localhost",
    "since": "mardi 1er décembre 2024",
    "signed_for": "",
    "subject": "Infos",
    "support": "support@localhost",
    "total": "7,00 €",
    "url": "http://localhost/x",
    "when": "mardi 7 avril à 19:00",
    "roles": [{"name": "Accueil", "free": 1, "places": 2}],
    "role": "Accueil",
    "role_instructions": "Arriver à 18 h 30.",
    "group_instructions": "Les clés sont chez Paul.",
    "team": [{"role": "Accueil", "names": "Paul M., Léa D."}],
    "volunteer": "Paul Martin",
    "free": 1,
    "title": "Ferme du Pré – Légumes",
    "version": 2,
    "updated": True,
    "previous": "lundi 6 avril à 20:00",
    "empty": False,
    "products": [
        {
            "name": "Pain",
            "reference": "P1",
            "unit": "pièce",
            "quantity": 2,
            "unit_price": "3,50 €",
            "total": "7,00 €",
        }
    ],
    "members": [{"name": "MARTIN Ana", "lines": "2 × Pain", "total": "7,00 €"}],
    "member_count": 1,
    "quantity": 2,
    "why": "Vous recevez ce message comme membre de l'AMAP des Lilas.",
    # Escarcelle's mails (domain/escarcelle)
    "grocery_name": "La Passerelle",
    "over": [
        {
            "name": "Pâtes 500G",
            "escarcelle": 2,
            "reserved": 5,
            "orders": [
                {"last_name": "Durand", "first_name": "Amina", "email": "a@example.org",
                 "group_name": "Point 1", "starts_at": datetime(2026, 4, 7, 17, tzinfo=UTC),
                 "quantity": 3}
            ],
        }
    ],
    "report": {
        "when": "mercredi 8 avril à 14:00",
        "group_name": "Point 1",
        "sent": [{"who": "DURAND Amina", "escarcelle_sale_id": "T000001", "lines": [1, 2]}],
        "skipped": [{"who": "MARTIN Bruno", "reason": "absent à la distribution"}],
        "skipped_lines": [{"who": "DURAND Amina", "quantity": 1, "name": "Fait main"}],
        "failed": [{"who": "PETIT Chloé", "reason": "indisponible", "state": "failed"}],
    },
}  # fmt: skip
MAILS = sorted(p.name.removesuffix(".subject.txt") for p in TEMPLATES.glob("*.subject.txt"))
# Mails whose words are someone else's (a group message is its author's body): no greeting.
NO_GREETING = {"group_message"}


def test_every_mail_is_checked():
    assert len(MAILS) >= 16 and "orders_open" in MAILS and "password_reset" in MAILS
    for name in MAILS:
        assert (TEMPLATES / f"{name}.txt").exists() and (TEMPLATES / f"{name}.html").exists()


@pytest.mark.parametrize("name", MAILS)
@pytest.mark.parametrize("first_name", ["", "   ", None])
def test_no_mail_greets_a_nameless_person_with_a_dangling_comma(name, first_name):
    kinds = [name, *AUTOMATIC_KINDS] if name in ("reminder", "test_mail") else [name]
    for kind in kinds:
        parts = render(name, CONTEXT | {"first_name": first_name}, kind, site_name="Camap")
        for part in parts:
            assert "Bonjour ," not in part and "Bonjour  " not in part, (name, part)
            assert "None" not in part
        if name not in NO_GREETING:
            subject, text, html = parts
            assert text.startswith("Bonjour,\n"), (name, text[:40])
            assert "<p>Bonjour,</p>" in html, name


@pytest.mark.parametrize("name", sorted(set(MAILS) - NO_GREETING))
def test_a_known_name_is_greeted(name):
    _, text, html = render(name, CONTEXT | {"first_name": "Claire"}, name, site_name="Camap")
    assert text.startswith("Bonjour Claire,\n")
    assert "<p>Bonjour Claire,</p>" in html


def test_the_greeting_itself():
    assert greeting("Claire") == "Bonjour Claire,"
    assert greeting("  Jean   Pierre ") == "Bonjour Jean Pierre,"
    assert greeting("") == greeting(None) == greeting(" \t") == "Bonjour,"
