"""Reading a client import file (« Importer des clients »): the columns, the rows' checks,
what the preview says of them. The import itself is imports.py."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from domain.accounts import EMAIL_RE, normalize_email
from domain.kernel import csvio
from domain.members import PHONE_RE

MAX_BYTES = 4 * 1024 * 1024
MAX_ROWS = 10_000
CHUNK = 500  # rows per INSERT: far below asyncpg's 32,767 parameters and SQLite's limit
SIGNED_FOR = 3600  # seconds a preview may be confirmed

# The columns, in the order of the template; their French headers.
COLUMNS = {
    "first_name": "Prénom",
    "last_name": "Nom",
    "email": "E-mail",
    "phone": "Téléphone",
    "address": "Adresse",
    "postal_code": "Code postal",
    "city": "Ville",
    "first_name_2": "Prénom 2",
    "last_name_2": "Nom 2",
    "email_2": "E-mail 2",
    "phone_2": "Téléphone 2",
}
REQUIRED = ("first_name", "last_name", "email")
# Header spellings met in real files, after normalisation (no accents, lower case, words).
_ALIASES = {
    "first_name": ["prenom", "first name", "firstname", "prenoms"],
    "last_name": ["nom", "nom de famille", "last name", "lastname", "name"],
    "email": ["email", "e mail", "mail", "courriel", "adresse email", "adresse e mail",
              "adresse mail", "adresse electronique"],
    "phone": ["telephone", "tel", "portable", "mobile", "phone", "numero de telephone"],
    "address": ["adresse", "adresse postale", "rue"],
    "postal_code": ["code postal", "cp", "codepostal", "zip"],
    "city": ["ville", "commune", "localite"],
}  # fmt: skip
ALIASES: dict[str, str] = {}
for _key, _names in _ALIASES.items():
    for _name in _names:
        ALIASES[_name] = _key
        if _key in ("first_name", "last_name", "email", "phone"):
            ALIASES[f"{_name} 2"] = f"{_key}_2"
POSTAL_RE = re.compile(r"^[0-9A-Za-z -]{3,10}$")
LIMITS = {"first_name": 100, "last_name": 100, "address": 200, "city": 100}


class ImportProblem(Exception):
    """The file as a whole cannot be read; `message` says why, in French."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class Row:
    line: int
    values: dict[str, str]
    errors: list[str] = field(default_factory=list)
    status: str = ""  # invite | member | error
    status_2: str = ""


@dataclass
class Preview:
    rows: list[Row] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # about the whole file, with lines
    columns: list[str] = field(default_factory=list)
    encoding: str = ""
    delimiter: str = ""

    @property
    def bad_rows(self) -> list[Row]:
        return [r for r in self.rows if r.errors]

    @property
    def ok(self) -> bool:
        return not self.problems and not self.bad_rows and bool(self.rows)

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r.status == status) + sum(
            1 for r in self.rows if r.status_2 == status
        )


# What will be done for each address: never whether it has an account (an admin of any
# group could otherwise test thousands of addresses); the members are the group's own.
# A preview has done nothing yet: its words say what the import will do, and for a refused
# file what it would do once corrected.
STATUS_LABELS = {
    "invite": "Sera invité et ajouté au groupe",
    "member": "Déjà membre : rien à faire",
    "error": "Erreur",
}
REFUSED_STATUS_LABELS = {
    "invite": "Sans erreur : sera invité et ajouté au groupe quand le fichier corrigé sera importé",
    "member": "Sans erreur : déjà membre, rien à faire",
    "error": "Erreur",
}


def status_labels(preview: Preview) -> dict[str, str]:
    """The words of each row's status: an importable preview's, or a refused file's."""
    return STATUS_LABELS if preview.ok else REFUSED_STATUS_LABELS


# ---- reading the file -------------------------------------------------------------------


def _is_formula(value: str, key: str) -> bool:
    """Cells a spreadsheet would run as a formula (=, @, and + or − not part of a number)."""
    if not csvio.is_formula(value) or value[0] in "\t\r":
        return False
    if value[0] in "+-" and key.startswith("phone") and PHONE_RE.match(value):
        return False
    return True


def check_row(row: Row, seen: dict[str, int]) -> None:
    v = row.values
    for key, value in v.items():
        if _is_formula(value, key):
            row.errors.append(
                f"la colonne « {COLUMNS[key]} » commence par « {value[0]} » "
                "(une formule de tableur) : retirez ce signe"
            )
    for key, limit in LIMITS.items():
        if len(v.get(key, "")) > limit:
            row.errors.append(f"« {COLUMNS[key]} » dépasse {limit} caractères")
    if v.get("postal_code") and not POSTAL_RE.match(v["postal_code"]):
        row.errors.append(f"code postal invalide : « {v['postal_code'][:20]} »")
    people = [""]
    if any(v.get(f"{k}_2") for k in ("first_name", "last_name", "email", "phone")):
        people.append("_2")
    for suffix in people:
        who = " 2" if suffix else ""
        if not v.get(f"first_name{suffix}"):
            row.errors.append(f"prénom{who} manquant")
        if not v.get(f"last_name{suffix}"):
            row.errors.append(f"nom{who} manquant")
        phone = v.get(f"phone{suffix}", "")
        if phone and not PHONE_RE.match(phone):
            row.errors.append(f"téléphone{who} invalide : « {phone[:40]} »")
        email = normalize_email(v.get(f"email{suffix}", ""))
        v[f"email{suffix}"] = email
        if not email:
            row.errors.append(f"e-mail{who} manquant")
        elif len(email) > 254 or not EMAIL_RE.match(email):
            row.errors.append(f"e-mail{who} invalide : « {email[:60]} »")
        elif email in seen:
            row.errors.append(f"l'e-mail {email} est déjà à la ligne {seen[email]} du fichier")
        else:
            seen[email] = row.line


def parse(data: bytes) -> Preview:
    """The file read and every row checked (no database)."""
    preview = Preview()
    if len(data) > MAX_BYTES:
        raise ImportProblem(
            f"Le fichier est trop volumineux ({len(data) // 1024 // 1024} Mo) : "
            f"{MAX_BYTES // 1024 // 1024} Mo au plus. Importez-le en plusieurs fois."
        )
    if not data.strip():
        raise ImportProblem("Le fichier est vide.")
    try:
        text, preview.encoding = csvio.decode(data)
    except csvio.NotText as error:
        raise ImportProblem(error.message) from error
    preview.delimiter = csvio.sniff_delimiter(csvio.first_line(text))
    header: list[str] | None = None
    keys: list[str | None] = []
    seen: dict[str, int] = {}
    try:
        for start, record in csvio.records(text, preview.delimiter):
            if header is None:
                header = record
                keys = _header_keys(header, start, preview)
                if preview.problems:
                    return preview
                continue
            if len(preview.rows) >= MAX_ROWS:
                raise ImportProblem(
                    f"Le fichier a plus de {MAX_ROWS} personnes : importez-le en plusieurs fois."
                )
            row = Row(line=start, values={})
            if len(record) == 1 < len(keys):
                other = next((d for d in ";,\t" if d != preview.delimiter and d in record[0]), "")
                if other:
                    row.errors.append(
                        f"cette ligne est séparée par « {other} » alors que la ligne "
                        f"d'en-tête l'est par « {preview.delimiter} »"
                    )
                    preview.rows.append(row)
                    continue
            extra = record[len(keys) :]
            if any(cell.strip() for cell in extra):
                row.errors.append(
                    f"{len(record)} valeurs pour {len(keys)} colonnes "
                    "(un séparateur en trop, ou des guillemets mal fermés ?)"
                )
            for index, key in enumerate(keys):
                value = record[index].strip() if index < len(record) else ""
                if key is None:
                    if value:
                        row.errors.append(f"une valeur dans la colonne n° {index + 1}, sans nom")
                    continue
                row.values[key] = value
            check_row(row, seen)
            preview.rows.append(row)
    except csvio.BadSyntax as error:
        raise ImportProblem(
            f"Ligne {error.line} : le fichier n'est pas un CSV valide ({error.detail})."
        ) from error
    if header is None:
        raise ImportProblem("Le fichier est vide.")
    if not preview.rows:
        raise ImportProblem(
            "Le fichier ne contient que la ligne d'en-tête : aucune personne à importer."
        )
    for row in preview.rows:
        if row.errors:
            row.status = "error"
    return preview


def _header_keys(header: list[str], line: int, preview: Preview) -> list[str | None]:
    keys: list[str | None] = []
    for index, name in enumerate(header):
        name = name.strip()
        key = ALIASES.get(csvio.normalize_header(name))
        if not name:
            keys.append(None)
            continue
        if key is None:
            preview.problems.append(
                f"Ligne {line} : colonne inconnue « {name[:60]} » (colonne n° {index + 1})."
            )
        elif key in keys:
            preview.problems.append(
                f"Ligne {line} : la colonne « {COLUMNS[key]} » apparaît deux fois."
            )
        keys.append(key)
    for key in REQUIRED:
        if key not in keys:
            preview.problems.append(
                f"Ligne {line} : colonne obligatoire absente : « {COLUMNS[key]} »."
            )
    preview.columns = [k for k in COLUMNS if k in keys]
    return keys
