"""CSV files as French spreadsheets write and read them.

Reading: `;`, `,` or tab separated, UTF-8 with or without BOM, UTF-16, or Windows-1252
(Excel's "CSV" on a French Windows), quoted fields with new lines, headers in any spelling.
Writing: UTF-8 with a BOM (Excel then reads the accents right), `;` between cells, decimal
commas, and text that a spreadsheet would run as a formula neutralised with a leading '.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import AsyncIterator, Iterable, Iterator

BOM = "\ufeff"
# A number as `money.decimal` or a count writes it: never a formula, even when negative.
_NUMBER = re.compile(r"-?[0-9]+(,[0-9]+)?")
# A cell starting with one of these is a formula for a spreadsheet.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class NotText(Exception):
    """The bytes are a spreadsheet's own format or binary junk, not a CSV; French message."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BadSyntax(Exception):
    """The csv module refused the file at `line`."""

    def __init__(self, line: int, detail: str):
        super().__init__(line, detail)
        self.line = line
        self.detail = detail


# ---- reading ---------------------------------------------------------------------------


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding name): UTF-16 with a BOM, UTF-8 with or without BOM, else
    Windows-1252, else Latin-1 (which decodes anything). Refuses .xlsx/.ods and binary."""
    if data.startswith(b"PK\x03\x04"):
        raise NotText(
            "C'est un fichier Excel (.xlsx ou .ods), pas un CSV : dans votre tableur, "
            "choisissez « Enregistrer sous » puis le format CSV."
        )
    text, name = _decode(data)
    if not looks_like_text(text):
        raise NotText(
            "Ce fichier n'est pas un tableau CSV lisible : dans votre tableur, choisissez "
            "« Enregistrer sous » puis le format CSV (séparateur point-virgule)."
        )
    return text.lstrip(BOM), name


def _decode(data: bytes) -> tuple[str, str]:
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


def looks_like_text(text: str) -> bool:
    if "\x00" in text:
        return False
    sample = text[:200_000]
    controls = sum(1 for c in sample if ord(c) < 32 and c not in "\t\r\n")
    return controls <= len(sample) // 100


def normalize_header(name: str) -> str:
    """'Unité (€)' -> 'unite', 'E-mail2' -> 'e mail 2': lower case, no accents, words."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", " ", ascii_name.lower())
    words = re.sub(r"([a-z])([0-9])", r"\1 \2", words)
    return " ".join(words.split())


def first_line(text: str) -> str:
    return text.lstrip("\r\n").split("\n", 1)[0]


def sniff_delimiter(line: str) -> str:
    """The separator of a header line: the most frequent of `;`, `,` and tab (`;` if none)."""
    counts = {d: line.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ";"


def records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(line where the record starts, its cells), blank records skipped. A quoted cell may
    span lines, hence the start line. Raises BadSyntax with the line of the problem."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    line_end = 0
    try:
        for record in reader:
            start, line_end = line_end + 1, reader.line_num
            if any(cell.strip() for cell in record):
                yield start, record
    except csv.Error as error:
        raise BadSyntax(line_end + 1, str(error)) from error


def is_formula(cell: str) -> bool:
    return cell.startswith(FORMULA_START)


def unneutralise(cell: str) -> str:
    """The reverse of `cell`, so that an export re-imports unchanged."""
    return cell[1:] if cell.startswith("'") and is_formula(cell[1:]) else cell


# ---- writing ---------------------------------------------------------------------------


def cell(value: object) -> str:
    """A cell as a spreadsheet shows it: text that would start a formula gets a leading
    apostrophe (shown as text, never run)."""
    text = "" if value is None else str(value)
    return "'" + text if is_formula(text) else text


def _safe(value: object) -> object:
    if isinstance(value, str) and not _NUMBER.fullmatch(value):
        return cell(value)
    return value


def text_of(rows: Iterable[Iterable[object]]) -> str:
    """Rows as CSV text (`;`, CRLF); text cells through `cell` (a cell already neutralised
    is not changed again: its apostrophe does not start a formula)."""
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerows(
        [_safe(value) for value in row] for row in rows
    )
    return out.getvalue()


def file_bytes(rows: Iterable[Iterable[object]]) -> bytes:
    """A whole file: BOM, then the rows."""
    return (BOM + text_of(rows)).encode()


async def stream(batches: AsyncIterator[list[list[object]]]) -> AsyncIterator[bytes]:
    """A file written as its batches of rows arrive (flat memory for any size)."""
    yield BOM.encode()
    async for rows in batches:
        if rows:
            yield text_of(rows).encode()
