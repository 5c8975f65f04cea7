"""Every kind of mail the platform sends (`OutboxMail.kind`), named as a person reads it.

The registry says which kinds may reach an account an admin made in Mode création before
the person took it over (`User.takeover_pending`): only the one that hands the account
over. Every other kind is dropped when it is claimed (`outbox.claim`), whatever code
queued it, so a new kind of mail cannot reach such a person by forgetting a check;
tests/unit/outbox/test_kinds.py keeps this registry complete.
"""

from __future__ import annotations

from domain.outbox.rendering import AUTOMATIC_KINDS

KINDS: dict[str, str] = {
    "welcome": "Bienvenue",
    "invitation": "Invitation",
    "finish_signup": "Invitation",
    "takeover": "Reprise du compte",
    "password_reset": "Mot de passe oublié",
    "email_change": "Changement d'e-mail",
    "email_changed": "E-mail changé",
    "join_request": "Demande d'inscription",
    "join_accepted": "Demande acceptée",
    "join_refused": "Demande refusée",
    "distribution_moved": "Distribution déplacée",
    "distribution_cancelled": "Distribution annulée",
    "message": "Message du groupe",
    "test": "E-mail de test",
    "inactivity_warning": "Compte inutilisé",
    "inactivity_creation": "Compte en Mode création inutilisé",
    "escarcelle_broken": "Synchro Escarcelle interrompue",
    "escarcelle_over": "Escarcelle : commandes au-delà du stock",
    "escarcelle_report": "Rapport de synchronisation Escarcelle",
    "default_order": "Commande par défaut d'un contrat",
} | AUTOMATIC_KINDS

# The kinds that may reach an account not taken over yet: the link the person asked for
# (sent to the address they gave), which is how they take it over.
TO_HELD_ACCOUNTS = frozenset({"takeover"})
HELD_REASON = "compte créé en Mode création, pas encore repris par la personne"


def label(kind: str) -> str:
    return KINDS.get(kind, "Message")
