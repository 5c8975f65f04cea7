"""Step 6 of seed 002: the distribution point's Membres tab → « Import Escarcelle », the CSV of
Escarcelle's Clients → « Export Mailing ».

Columns as Escarcelle writes them, matched loosely (`Code client;Nom;Prénom;Adresse;Code
postal;Ville;Téléphone;Email`, and an end of access if the file has one); `;` or `,`,
Windows-1252 or UTF-8 with BOM. Every row needs its code client, an e-mail and a postal
code (the seed asks to check both): rows without are listed with their line number and
nothing is imported. The preview says what will be done, never whether an address already
has an account. The confirmation is the client import's (domain/members/imports.py: one
transaction, an invitation mail each, an existing account sees the group's invitation and
may decline), plus each membership's Escarcelle id and end of access, and for the accounts
it makes a consent record naming the grocery as the source.

The end of access is the file's, at each import: a later date (the period renewed in
Escarcelle) lets the beneficiary order again at once, an empty cell means no end; a file
without the column leaves the ends known here as they are. Ordering reads it at each
change (domain/ordering, domain/members.access_ended_on).
"""

from __future__ import annotations

import re
from datetime import date

from domain.database import transaction
from domain.kernel import clock, csvio, tokens
from domain.members import import_file, imports
from domain.members.imports import ImportProblem, Preview, Row
from domain.outbox import MailContext
from domain.tables import ConsentRecord, EscarcelleLink, Membership, User, Vendor

COLUMNS = {
    "escarcelle_id": "Code client",
    "last_name": "Nom",
    "first_name": "Prénom",
    "address": "Adresse",
    "postal_code": "Code postal",
    "city": "Ville",
    "phone": "Téléphone",
    "email": "Email",
    "access_until": "Fin d'accès",
}
REQUIRED = ("escarcelle_id", "last_name", "first_name", "postal_code", "email")
ALIASES = {name: key for name, key in import_file.ALIASES.items() if not key.endswith("_2")} | {
    "code client": "escarcelle_id",
    "code": "escarcelle_id",
    "id client": "escarcelle_id",
    "numero client": "escarcelle_id",
    "n client": "escarcelle_id",
    "identifiant": "escarcelle_id",
    "id": "escarcelle_id",
    "fin d acces": "access_until",
    "date de fin d acces": "access_until",
    "fin des droits": "access_until",
    "date de fin": "access_until",
    "fin de validite": "access_until",
    "valable jusqu au": "access_until",
    "acces jusqu au": "access_until",
}
ID_RE = re.compile(r"^[0-9A-Za-z_.\-]{1,40}$")
SIGNED_FOR = 3600


def parse_day(text: str) -> date | None:
    """« 31/12/2026 », « 2026-12-31 »; None if neither."""
    text = text.strip()
    match = re.fullmatch(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})", text)
    try:
        if match:
            return date(int(match[3]), int(match[2]), int(match[1]))
        match = re.fullmatch(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", text)
        if match:
            return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None
    return None


def parse(data: bytes) -> Preview:
    """The Export Mailing read and every row checked (no database); ImportProblem for a file
    that cannot be read at all."""
    result = Preview()
    if len(data) > imports.MAX_BYTES:
        raise ImportProblem("Le fichier est trop volumineux : 4 Mo au plus.")
    if not data.strip():
        raise ImportProblem("Le fichier est vide.")
    try:
        text, result.encoding = csvio.decode(data)
    except csvio.NotText as error:
        raise ImportProblem(error.message) from error
    result.delimiter = csvio.sniff_delimiter(csvio.first_line(text))
    keys: list[str | None] | None = None
    seen: dict[str, int] = {}
    codes: dict[str, int] = {}
    try:
        for line, record in csvio.records(text, result.delimiter):
            if keys is None:
                keys = [ALIASES.get(csvio.normalize_header(cell)) for cell in record]
                missing = [COLUMNS[k] for k in REQUIRED if k not in keys]
                if missing:
                    result.problems.append(
                        f"Ligne {line} : colonne{'s' if len(missing) > 1 else ''} absente"
                        f"{'s' if len(missing) > 1 else ''} : « {' », « '.join(missing)} »."
                    )
                    return result
                result.columns = [k for k in COLUMNS if k in keys]
                continue
            if len(result.rows) >= import_file.MAX_ROWS:
                raise ImportProblem("Le fichier a trop de lignes : importez-le en plusieurs fois.")
            row = Row(line=line, values={})
            for index, key in enumerate(keys):
                if key is not None and key not in row.values:
                    row.values[key] = record[index].strip() if index < len(record) else ""
            _check(row, seen, codes)
            result.rows.append(row)
    except csvio.BadSyntax as error:
        raise ImportProblem(
            f"Ligne {error.line} : le fichier n'est pas un CSV valide ({error.detail})."
        ) from error
    if keys is None or not result.rows:
        raise ImportProblem("Le fichier ne contient aucun bénéficiaire.")
    if "access_until" not in result.columns:
        for row in result.rows:  # a file without the column keeps the ends known here
            row.values["access_until"] = None
    for row in result.rows:
        if row.errors:
            row.status = "error"
    return result


def _check(row: Row, seen: dict[str, int], codes: dict[str, int]) -> None:
    values = row.values
    access = values.pop("access_until", "")
    code = values.pop("escarcelle_id", "")
    if not values.get("email"):
        row.errors.append("e-mail manquant")
    if not values.get("postal_code"):
        row.errors.append("code postal manquant")
    import_file.check_row(row, seen)
    row.errors = list(dict.fromkeys(row.errors))  # « e-mail manquant » once
    if not code:
        row.errors.append("code client manquant")
    elif not ID_RE.match(code):
        row.errors.append(f"code client invalide : « {code[:40]} »")
    elif code in codes:
        row.errors.append(f"le code client {code} est déjà à la ligne {codes[code]} du fichier")
    else:
        codes[code] = row.line
    if access and parse_day(access) is None:
        row.errors.append(f"date de fin d'accès invalide : « {access[:20]} » (jj/mm/aaaa)")
    values["escarcelle_id"] = code
    values["access_until"] = access


async def preview(group_id: int, data: bytes) -> Preview:
    """Parse, then what will be done for each person: an invitation, or their Escarcelle id
    set for a member already. Whether an address has an account is never shown."""
    result = parse(data)
    if result.problems or result.bad_rows:
        return result
    emails = sorted({r.values["email"] for r in result.rows})
    members = {
        row["email"]
        for start in range(0, len(emails), 500)
        for row in await Membership.select(Membership.user.email.as_alias("email")).where(
            (Membership.group == group_id)
            & Membership.user.email.is_in(emails[start : start + 500])
        )
    }
    for row in result.rows:
        row.status = "member" if row.values["email"] in members else "invite"
    return result


STORED = ("email", "first_name", "last_name", "phone", "address", "postal_code", "city",
          "escarcelle_id", "access_until")  # fmt: skip


def sign(group_id: int, result: Preview, secret: str) -> str:
    rows = [[r.line] + [r.values.get(k, "") for k in STORED] for r in result.rows]
    return tokens.sign({"g": group_id, "rows": rows}, secret, "escarcelle-beneficiaires")


def unsign(token: str, group_id: int, secret: str) -> list[dict]:
    try:
        body = tokens.unsign(token, secret, "escarcelle-beneficiaires", SIGNED_FOR)
    except tokens.Expired as error:
        raise ImportProblem(
            "L'aperçu a expiré (plus d'une heure) : chargez le fichier à nouveau."
        ) from error
    if (
        not isinstance(body, dict)
        or body.get("g") != group_id
        or not isinstance(body.get("rows"), list)
    ):
        raise ImportProblem("L'aperçu n'est pas valide : chargez le fichier à nouveau.")
    return [dict(zip(("line", *STORED), item, strict=True)) for item in body["rows"]]


async def grocery_of(group_id: int) -> dict | None:
    """The grocery linked to Escarcelle that sells in this group: {producer, grocery_name}."""
    return (
        await EscarcelleLink.select(EscarcelleLink.producer, EscarcelleLink.grocery_name)
        .where(
            EscarcelleLink.producer.is_in(
                Vendor.select(Vendor.producer).where(Vendor.group == group_id)
            )
        )
        .first()
    )


async def confirm(
    group_id: int, rows: list[dict], ctx: MailContext, secret: str, *, by: int, grocery: str
) -> imports.Imported:
    """The client import's confirmation, and in the same transaction each membership's
    Escarcelle id and end of access, and a consent record for each account it made."""
    people = [
        {k: row.get(k, "") for k in ("line", "email", "first_name", "last_name", "phone",
                                     "address", "postal_code", "city")}
        | {"first_name_2": "", "last_name_2": "", "email_2": "", "phone_2": ""}
        for row in rows
    ]  # fmt: skip
    emails = sorted({row["email"] for row in rows})
    async with transaction():
        existing = {
            u["email"]
            for u in await User.select(User.email).where(User.email.is_in(emails or [""]))
        }
        result = await imports.confirm(group_id, people, ctx, secret)
        users = {
            u["email"]: u["id"]
            for u in await User.select(User.id, User.email).where(User.email.is_in(emails or [""]))
        }
        for row in rows:
            values = {Membership.escarcelle_id: row["escarcelle_id"]}
            if row["access_until"] is not None:  # the file has the column: its end is the one
                values[Membership.escarcelle_access_until] = (
                    parse_day(row["access_until"]) if row["access_until"] else None
                )
            await Membership.update(values).where(
                (Membership.group == group_id) & (Membership.user == users[row["email"]])
            )
        today = clock.now()
        statement = (
            f"Bénéficiaire de l'épicerie solidaire {grocery}, importé depuis Escarcelle "
            f"(Clients → Export Mailing) le {today:%d/%m/%Y} : l'épicerie a recueilli son "
            "accord et son adresse e-mail."
        )
        made = [users[email] for email in emails if email not in existing]
        if made:
            await ConsentRecord.insert(
                *[
                    ConsentRecord(user=u, group=group_id, recorded_by=by, statement=statement)
                    for u in made
                ]
            )
    return result
