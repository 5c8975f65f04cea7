"""One's own data (RGPD): the archive of everything about oneself (export.py), deleting
one's account (deletion.py), unused accounts warned then deleted (inactivity.py), and what
the privacy policy says is kept and for how long (`retention`), read from the code and
the settings that do it, so that the page and the platform cannot disagree."""

from __future__ import annotations

from domain import accounts, sessions
from domain.kernel.wording import plural
from domain.members import INVITE_TTL
from domain.privacy.inactivity import NOTICE, WARNINGS
from domain.retention import COUNTERS_KEPT, FORM_KEYS_KEPT
from domain.settings import Settings


def _days(delta) -> str:
    return plural(delta.days, "jour")


def _hours(delta) -> str:
    return plural(int(delta.total_seconds() // 3600), "heure")


def period(days: int) -> str:
    """730 -> « 2 ans », 400 -> « 400 jours »."""
    if days % 365 == 0:
        return plural(days // 365, "an")
    return plural(days, "jour")


def retention(settings: Settings) -> list[tuple[str, str]]:
    """(what is kept, for how long), as the privacy policy shows them."""
    warnings = ", ".join(_days(before) for _, before in WARNINGS[:-1])
    warnings += f" et {_days(WARNINGS[-1][1])}"
    return [
        (
            "Votre compte : adresse e-mail, nom, prénom, téléphone, adresse",
            f"Tant que vous l'utilisez. Sans connexion, ni commande, ni adhésion ou contrat "
            f"en cours pendant {period(settings.inactive_account_days)}, il est supprimé, "
            f"après trois e-mails d'avertissement ({warnings} avant) et au moins "
            f"{_days(NOTICE)} après le dernier. Un compte créé pour vous en Mode création "
            "n'est pas supprimé sans que les administrateurs du groupe soient prévenus.",
        ),
        (
            "Vos commandes, contrats et adhésions",
            "Gardés pour la comptabilité des groupes. Si votre compte est supprimé, ils "
            "restent, rattachés à un compte anonyme, sans votre nom ni vos coordonnées.",
        ),
        (
            "Les e-mails qui vous sont envoyés",
            f"Supprimés {_days_n(settings.retention_days)} après leur envoi. Un e-mail refusé "
            "par votre messagerie reste visible des administrateurs de vos groupes, pour "
            "qu'ils corrigent votre adresse, jusqu'à la suppression de votre compte.",
        ),
        (
            "Vos connexions (sessions)",
            f"Terminées après {_days(sessions.LIFETIME)} sans visite, ou quand vous vous "
            "déconnectez, changez de mot de passe ou supprimez votre compte.",
        ),
        (
            "Les liens envoyés par e-mail",
            f"Mot de passe oublié : valable {_hours(accounts.RESET_TTL)} ; changement "
            f"d'adresse : {_hours(accounts.EMAIL_CHANGE_TTL)} ; invitation : "
            f"{_days(INVITE_TTL)}. Effacés une fois périmés, ou un jour après usage. Seule "
            "leur empreinte est gardée.",
        ),
        (
            "Les essais de connexion (adresse IP)",
            f"Comptés pour freiner les tentatives d'intrusion, effacés après "
            f"{_hours(COUNTERS_KEPT)}.",
        ),
        (
            "Les formulaires envoyés deux fois",
            f"Une clé technique, sans contenu, effacée après {_days(FORM_KEYS_KEPT)}.",
        ),
        (
            "Le consentement enregistré en Mode création",
            "Tant que le compte existe.",
        ),
        (
            "Les journaux techniques du serveur",
            "La page demandée, sa réponse et sa durée, sans adresse IP ni contenu de formulaire.",
        ),
    ]


def _days_n(days: int) -> str:
    return plural(days, "jour")
