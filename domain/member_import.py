""" "Importer des clients": a CSV as spreadsheets really write it, a preview of every row,
then all rows in one transaction or nothing.

Spreadsheets write `;` or `,` separated files, in UTF-8 (with or without BOM) or in
Windows-1252 (Excel in France), with quoted fields and headers in any order and spelling.
The preview is carried to the confirmation signed (HMAC of the secret key), so what is
imported is exactly what was shown, and nothing is kept on the server in between.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import json
import re
import secrets
import time
import unicodedata
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from domain import outbox
from domain.accounts import EMAIL_RE, MailContext, normalize_email
from domain.database import insert_rows, transaction
from domain.members import INVITE_TTL, PHONE_RE
from domain.tables import AccountToken, Group, Membership, User

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
STATUS_LABELS = {
    "new": "Nouveau compte : invitation envoyée",
    "existing": "Compte existant : ajouté au groupe",
    "member": "Déjà membre : rien à faire",
    "error": "Erreur",
}


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
    status: str = ""  # new | existing | member | error
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


# ---- reading the file -------------------------------------------------------------------


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 with or without BOM, else Windows-1252 (Excel), else Latin-1."""
    if data.startswith(b"PK\x03\x04"):
        raise ImportProblem(
            "C'est un fichier Excel (.xlsx ou .ods), pas un CSV : dans votre tableur, "
            "choisissez « Enregistrer sous » puis le format CSV."
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError:
            pass
    for encoding, name in (("utf-8-sig", "UTF-8"), ("cp1252", "Windows-1252")):
        try:
            return data.decode(encoding), name
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), "Latin-1"


def _looks_like_text(text: str) -> bool:
    if "\x00" in text:
        return False
    sample = text[:200_000]
    controls = sum(1 for c in sample if ord(c) < 32 and c not in "\t\r\n")
    return controls <= len(sample) // 100


def normalize_header(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", " ", ascii_name.lower())
    words = re.sub(r"([a-z])([0-9])", r"\1 \2", words)
    return " ".join(words.split())


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ";"


def _is_formula(value: str, key: str) -> bool:
    """Cells a spreadsheet would run as a formula (=, @, and + or − not part of a number)."""
    if not value or value[0] not in "=@+-":
        return False
    if value[0] in "+-" and key.startswith("phone") and PHONE_RE.match(value):
        return False
    return True


def _check_row(row: Row, seen: dict[str, int]) -> None:
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
    text, preview.encoding = decode(data)
    if not _looks_like_text(text):
        raise ImportProblem(
            "Ce fichier n'est pas un tableau CSV lisible : dans votre tableur, choisissez "
            "« Enregistrer sous » puis le format CSV (séparateur point-virgule)."
        )
    text = text.lstrip("\ufeff")
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    preview.delimiter = _delimiter(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=preview.delimiter)
    header: list[str] | None = None
    keys: list[str | None] = []
    seen: dict[str, int] = {}
    line_end = 0
    try:
        for record in reader:
            start, line_end = line_end + 1, reader.line_num
            if not any(cell.strip() for cell in record):
                continue
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
            _check_row(row, seen)
            preview.rows.append(row)
    except csv.Error as error:
        raise ImportProblem(
            f"Ligne {line_end + 1} : le fichier n'est pas un CSV valide ({error})."
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
        key = ALIASES.get(normalize_header(name))
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


# ---- the preview, with what will happen to each person ---------------------------------


def _chunks(items: list, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def _accounts(emails: list[str]) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for chunk in _chunks(sorted(set(emails))):
        for user in await User.select(
            User.id, User.email, User.first_name, User.password_hash
        ).where(User.email.is_in(chunk)):
            found[user["email"]] = user
    return found


async def _members(group_id: int, user_ids: list[int]) -> set[int]:
    members: set[int] = set()
    for chunk in _chunks(sorted(set(user_ids))):
        rows = await Membership.select(Membership.user).where(
            (Membership.group == group_id) & Membership.user.is_in(chunk)
        )
        members.update(r["user"] for r in rows)
    return members


async def preview(group_id: int, data: bytes) -> Preview:
    """Parse, then say for each person: new account, existing account, already a member."""
    result = parse(data)
    if result.problems:
        return result
    emails = [r.values[k] for r in result.rows for k in ("email", "email_2") if r.values.get(k)]
    accounts = await _accounts(emails)
    members = await _members(group_id, [a["id"] for a in accounts.values()])

    def status(email: str) -> str:
        account = accounts.get(email)
        if account is None:
            return "new"
        return "member" if account["id"] in members else "existing"

    for row in result.rows:
        if row.errors:
            continue
        row.status = status(row.values["email"])
        if row.values.get("email_2"):
            row.status_2 = status(row.values["email_2"])
    return result


# ---- carrying the preview to the confirmation -------------------------------------------

STORED = ("line", "email", "first_name", "last_name", "phone")
ADDRESS = ("address", "postal_code", "city")  # one address per row: a couple shares it


def _stored(row: Row) -> list:
    v = row.values
    return (
        [row.line]
        + [v.get(k, "") for k in STORED[1:]]
        + [v.get(f"{k}_2", "") for k in STORED[1:]]
        + [v.get(k, "") for k in ADDRESS]
    )


def sign(group_id: int, result: Preview, secret: str) -> str:
    """The rows to import, compressed and signed for this group, valid for an hour."""
    body = json.dumps(
        {
            "g": group_id,
            "exp": int(time.time()) + SIGNED_FOR,
            "rows": [_stored(r) for r in result.rows],
        },
        separators=(",", ":"),
    ).encode()
    payload = base64.urlsafe_b64encode(zlib.compress(body, 6)).decode()
    return f"{payload}.{_mac(payload, secret)}"


def _mac(payload: str, secret: str) -> str:
    return hmac.new(
        secret.encode(), f"member-import:{payload}".encode(), hashlib.sha256
    ).hexdigest()


def unsign(token: str, group_id: int, secret: str) -> list[dict]:
    """The signed rows, or ImportProblem if tampered with, expired, or for another group."""
    payload, _, mac = token.strip().rpartition(".")
    if not payload or not hmac.compare_digest(mac, _mac(payload, secret)):
        raise ImportProblem("L'aperçu n'est pas valide : chargez le fichier à nouveau.")
    try:
        inflater = zlib.decompressobj()
        body = json.loads(inflater.decompress(base64.urlsafe_b64decode(payload), 50_000_000))
    except (ValueError, zlib.error) as error:
        raise ImportProblem("L'aperçu n'est pas valide : chargez le fichier à nouveau.") from error
    if body.get("g") != group_id:
        raise ImportProblem("Cet aperçu est celui d'un autre groupe : chargez le fichier ici.")
    if body.get("exp", 0) < time.time():
        raise ImportProblem("L'aperçu a expiré (plus d'une heure) : chargez le fichier à nouveau.")
    rows = []
    for item in body["rows"]:
        first = dict(zip(STORED, item[:5], strict=True))
        second = dict(zip(STORED[1:], item[5:9], strict=True))
        address = dict(zip(ADDRESS, item[9:12], strict=True))
        rows.append(first | address | {f"{k}_2": v for k, v in second.items()})
    return rows


# ---- importing --------------------------------------------------------------------------


@dataclass
class Imported:
    created: int = 0
    linked: int = 0
    already: int = 0
    mail_ids: list[int] = field(default_factory=list)


def _recheck(rows: list[dict]) -> None:
    """The signed rows were checked at the preview; one bad row and nothing is imported."""
    seen: dict[str, int] = {}
    for item in rows:
        row = Row(line=item["line"], values={k: v for k, v in item.items() if k != "line"})
        _check_row(row, seen)
        if row.errors:
            raise ImportProblem(f"Ligne {row.line} : {row.errors[0]}. Rien n'a été importé.")


async def confirm(group_id: int, rows: list[dict], ctx: MailContext) -> Imported:
    """Everyone in one transaction, or no one. People with an account are linked, not
    duplicated; a couple shares one membership (each is a member, `shared_with` the other).
    Mail rows are written in the same transaction; the caller sends them after commit."""
    _recheck(rows)
    group = await Group.select(Group.name, Group.slug).where(Group.id == group_id).first()
    people: dict[str, dict] = {}
    partner: dict[str, str] = {}
    for item in rows:
        for suffix in ("", "_2"):
            email = item.get(f"email{suffix}")
            if email:
                people[email] = {
                    "email": email,
                    "first_name": item[f"first_name{suffix}"],
                    "last_name": item[f"last_name{suffix}"],
                    "phone": item[f"phone{suffix}"],
                    **{k: item.get(k, "") for k in ADDRESS},
                }
        if item.get("email_2"):
            partner[item["email"]] = item["email_2"]
            partner[item["email_2"]] = item["email"]
    result = Imported()
    async with transaction():
        accounts = await _accounts(list(people))
        new = [p for email, p in people.items() if email not in accounts]
        moment = datetime.now(UTC)
        inserted = await insert_rows(
            User,
            ("email", "first_name", "last_name", "phone", *ADDRESS, "password_hash", "created_at"),
            [
                (
                    p["email"],
                    p["first_name"],
                    p["last_name"],
                    p["phone"],
                    *(p[k] for k in ADDRESS),
                    None,
                    moment,
                )
                for p in new
            ],
            returning=("id", "email"),
        )
        for user in inserted:
            accounts[user["email"]] = {
                "id": user["id"],
                "email": user["email"],
                "first_name": people[user["email"]]["first_name"],
                "password_hash": None,
            }
        result.created = len(new)
        members = await _members(group_id, [a["id"] for a in accounts.values()])
        joining = [a for a in accounts.values() if a["id"] not in members]
        result.already = len(accounts) - len(joining)
        result.linked = len(joining) - result.created

        def shared(account: dict) -> int | None:
            other = partner.get(account["email"])
            return accounts[other]["id"] if other else None

        added = await insert_rows(
            Membership,
            (
                "user",
                "group",
                "is_admin",
                "can_messages",
                "can_members",
                "created_at",
                "shared_with",
            ),
            [(a["id"], group_id, False, False, False, moment, shared(a)) for a in joining],
            returning=("id", "user"),
        )
        membership_of = {m["user"]: m["id"] for m in added}
        links: dict[int, str] = {}
        tokens = []
        for account in joining:
            if account["password_hash"] is None:
                raw = secrets.token_urlsafe(32)
                links[account["id"]] = raw
                digest = hashlib.sha256(raw.encode()).hexdigest()
                tokens.append(
                    (account["id"], "invite", digest, "", moment + INVITE_TTL, None, moment)
                )
        await insert_rows(
            AccountToken,
            ("user", "purpose", "token_hash", "new_email", "expires_at", "used_at", "created_at"),
            tokens,
        )
        base = {"site_name": ctx.site_name, "group_name": group["name"]}
        group_url = f"{ctx.base_url}/g/{group['slug']}"
        mails = []
        for account in joining:
            raw = links.get(account["id"])
            if raw:
                digest = hashlib.sha256(raw.encode()).hexdigest()
                key, kind, template = f"invitation:{digest}", "invitation", "invitation"
                context = base | {
                    "first_name": account["first_name"],
                    "group_url": group_url,
                    "url": f"{ctx.base_url}/invitation/{raw}",
                    "days": INVITE_TTL.days,
                }
            else:
                key = f"member_added:{membership_of[account['id']]}"
                kind, template = "welcome", "group_welcome"
                context = base | {"first_name": account["first_name"], "url": group_url}
            subject, text, html = outbox.render(template, context, kind)
            mails.append(
                outbox.NewMail(
                    key=key,
                    kind=kind,
                    to=account["email"],
                    subject=subject,
                    text=text,
                    html=html,
                    instance=ctx.instance,
                    user=account["id"],
                )
            )
        mail_ids = await outbox.queue_many(mails)
    result.mail_ids = mail_ids
    return result


def template_csv() -> bytes:
    """The file to download and fill in: the headers and one example, for Excel (BOM, `;`)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(COLUMNS.values())
    writer.writerow(
        [
            "Camille",
            "Martin",
            "camille.martin@example.org",
            "06 12 34 56 78",
            "3 rue des Lilas",
            "69001",
            "Lyon",
            "Dominique",
            "Martin",
            "dominique.martin@example.org",
            "",
        ]
    )
    return ("\ufeff" + out.getvalue()).encode("utf-8")
