"""Mode création: the sentence the admin ticks, recorded as it reads."""

from __future__ import annotations

from domain.members.invitations import consent_statement


def test_consent_statement_names_the_site_and_the_group():
    assert consent_statement("Camap", "AMAP des Lilas") == (
        "J'ai obtenu le consentement de cette personne pour lui créer un compte sur "
        "Camap et l'inscrire à AMAP des Lilas."
    )


def test_consent_statement_differs_per_site_and_group():
    statements = {
        consent_statement(site, group)
        for site in ("Camap", "Circuit Court")
        for group in ("AMAP des Lilas", "Marché du Pré")
    }
    assert len(statements) == 4
