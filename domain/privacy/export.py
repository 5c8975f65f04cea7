"""« Télécharger mes données »: everything the platform holds about the person, as a zip of
CSV files (for a spreadsheet: `;`, BOM, decimal commas) and a JSON of the account.

The zip is written as it is read: each table is read in batches (readers.BATCH rows) and each
batch is compressed and handed to the response before the next is read, so the memory
stays flat whatever the history (zipfile writes to a stream that cannot seek: each
file's sizes follow its data).

What it holds: the account, memberships and rights, orders line by line, contracts and
their baskets, adhésions (the payments the groups record), the mails sent or queued to
the person, consent records, join requests, the messages they wrote as an admin, the
producers they log in as, their sessions, their mail choices and calendar addresses.
A test checks that every table naming a person (a foreign key to User) is either here or
in NOT_EXPORTED with the reason.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import AsyncIterator
from datetime import datetime

from domain import throttle
from domain.accounts import TooManyAttempts
from domain.kernel import csvio
from domain.kernel.dates import format_moment
from domain.privacy import readers as read

EXPORTS_PER_HOUR = 10

# (table, column) of the foreign keys to User that the archive does not follow, and why.
NOT_EXPORTED = {
    ("request_key", "user"): "clés techniques d'envoi de formulaire, sans contenu",
    ("account_token", "user"): "liens à usage unique : seule leur empreinte est gardée",
    ("membership", "shared_with"): "dans adhesions.csv de la personne qui partage",
    ("catalog", "coordinator"): "les contrats coordonnés appartiennent au groupe",
    ("distribution", "validated_by"): "donnée du groupe",
    ("catalog_document", "uploaded_by"): "documents du groupe",
    ("join_request", "decided_by"): "décisions prises pour le groupe",
    ("consent_record", "recorded_by"): "consentements d'autres personnes",
    ("membership_fee", "recorded_by"): "enregistrements faits pour le groupe",
    ("validation_record", "validated_by"): "donnée du groupe",
    ("inactivity_notice", "user"): "les avertissements sont dans emails.csv",
    ("ledger_operation", "recorded_by"): "opérations enregistrées pour le groupe",
    ("payment_settings", "updated_by"): "réglages du groupe",
    (
        "payment_pledge",
        "user",
    ): "intentions de paiement, sans montant (dans paiements.csv : les dettes)",
    ("duty_signup", "assigned_by"): "inscriptions faites pour le groupe",
    ("escarcelle_link", "linked_by"): "qui a enregistré la clé Escarcelle d'une épicerie",
    ("contract_terms", "updated_by"): "les conditions d'un contrat réglées pour le groupe",
    ("contract_absence", "declared_by"): "qui a déclaré une absence (elle est à l'abonnement)",
    ("shared_basket", "updated_by"): "qui a réglé un panier partagé pour le groupe",
}

README = """Vos données sur {site}, au {when} (heure de Paris).

compte.json          votre compte : adresse e-mail, nom, téléphone, adresse, dates,
                     e-mails automatiques désactivés, adresses de calendrier
adhesions.csv        vos groupes, depuis quand, vos droits
commandes.csv        vos commandes, ligne par ligne
souscriptions.csv    vos contrats et leur panier
cotisations.csv      vos adhésions payées (montants enregistrés par les groupes)
paiements.csv        les opérations de vos comptes dans les groupes (dettes, paiements)
permanences.csv      vos permanences (rôles de bénévoles)
paniers-partages.csv les contrats dont vous partagez le panier (alternance)
emails.csv           les e-mails qui vous ont été envoyés ou vont l'être
consentements.csv    les consentements enregistrés pour vous (Mode création)
demandes.csv         vos demandes pour rejoindre un groupe
messages.csv         les messages que vous avez écrits à un groupe
producteur.csv       les producteurs pour lesquels vous vous connectez
sessions.csv         vos connexions en cours

Les fichiers CSV s'ouvrent avec un tableur (séparateur point-virgule).
"""


class _Sink:
    """Where zipfile writes: the bytes wait here until the response takes them."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        return None

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


def _files(user_id: int, email: str):
    return [
        (
            "adhesions.csv",
            [
                "Groupe",
                "Membre depuis",
                "Acceptée le",
                "Administrateur",
                "Messagerie",
                "Gestion des membres",
                "Partagée avec",
            ],
            read.memberships(user_id),
        ),
        (
            "commandes.csv",
            [
                "Groupe",
                "Distribution",
                "Lieu",
                "État",
                "Produit",
                "Producteur",
                "Quantité",
                "Unité",
                "Prix unitaire (€)",
                "Total (€)",
            ],
            read.orders(user_id),
        ),
        (
            "souscriptions.csv",
            ["Groupe", "Contrat", "Producteur", "Du", "Au", "Terminée le", "Panier"],
            read.subscriptions(user_id),
        ),
        (
            "cotisations.csv",
            ["Groupe", "Année", "Montant (€)", "Payée le", "Moyen de paiement"],
            read.fees(user_id),
        ),
        (
            "paiements.csv",
            [
                "Groupe",
                "Date",
                "Type",
                "Libellé",
                "Montant (€)",
                "Moyen de paiement",
                "Référence",
                "Payé le",
            ],
            read.operations(user_id),
        ),
        (
            "permanences.csv",
            ["Groupe", "Rôle", "Distribution", "Inscrit le"],
            read.duties(user_id),
        ),
        (
            "paniers-partages.csv",
            ["Groupe", "Contrat", "Titulaire", "Du", "Au"],
            read.shared_baskets(user_id),
        ),
        (
            "emails.csv",
            ["Créé le", "Envoyé le", "Adresse", "Objet", "Type", "État", "Texte"],
            read.mails(user_id, email),
        ),
        (
            "consentements.csv",
            ["Groupe", "Enregistré le", "Par", "Texte"],
            read.consents(user_id),
        ),
        ("demandes.csv", ["Groupe", "Date", "Message", "État", "Réponse"], read.requests(user_id)),
        (
            "messages.csv",
            ["Groupe", "Date", "Objet", "Texte", "Destinataires"],
            read.messages(user_id),
        ),
        ("producteur.csv", ["Groupe", "Producteur"], read.producers(user_id)),
        ("sessions.csv", ["Ouverte le", "Expire le"], read.sessions(user_id)),
    ]


# Which table each file reads, for the test that every table naming a person is exported.
EXPORTED = {
    ("app_user", "id"): "compte.json",
    ("mail_opt_out", "user"): "compte.json",
    ("calendar_feed", "user"): "compte.json",
    ("membership", "user"): "adhesions.csv",
    ("member_order", "user"): "commandes.csv",
    ("subscription", "user"): "souscriptions.csv",
    ("membership_fee", "user"): "cotisations.csv",
    ("ledger_operation", "user"): "paiements.csv",
    ("duty_signup", "user"): "permanences.csv",
    ("shared_basket", "partner"): "paniers-partages.csv",
    ("outbox_mail", "user"): "emails.csv",
    ("consent_record", "user"): "consentements.csv",
    ("join_request", "user"): "demandes.csv",
    ("group_message", "author"): "messages.csv",
    ("vendor", "user"): "producteur.csv",
    ("web_session", "user"): "sessions.csv",
}


async def allow(user_id: int, moment: datetime) -> None:
    """At most EXPORTS_PER_HOUR archives an hour per person (each reads their history)."""
    now_s = int(moment.timestamp())
    key = f"export:{user_id}"
    if await throttle.reserve(key, now_s, EXPORTS_PER_HOUR, 3600) is None:
        raise TooManyAttempts(await throttle.wait_of(key, now_s))


async def archive(user_id: int, moment: datetime, site: str) -> AsyncIterator[bytes]:
    """The zip, chunk by chunk (see the module's docstring)."""
    sink = _Sink()
    account = await read.account(user_id)
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive_file:
        when = format_moment(moment, "short")
        archive_file.writestr("LISEZ-MOI.txt", README.format(site=site, when=when))
        archive_file.writestr(
            "compte.json", json.dumps(account, ensure_ascii=False, indent=2) + "\n"
        )
        yield sink.take()
        for name, header, batches in _files(user_id, account["email"]):
            with archive_file.open(name, "w") as member:
                member.write(csvio.file_bytes([header]))
                async for rows in batches:
                    if rows:
                        member.write(csvio.text_of(rows).encode())
                        yield sink.take()
            yield sink.take()
    yield sink.take()
