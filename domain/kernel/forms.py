"""Values of submitted forms, read the same way everywhere.

Numbers are ASCII digits only (`str.isdigit()` accepts '²' and '①', which `int()`
refuses) and bounded, so no input can reach the database as an overflow.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_DIGITS = re.compile(r"[0-9]+")
# Ids are 32-bit integers in the database.
MAX_ID = 2**31 - 1


def digits(text: str) -> bool:
    """Only ASCII digits (at least one)."""
    return bool(_DIGITS.fullmatch(text))


def whole(value: object, *, maximum: int = 999_999_999) -> int | None:
    """A whole number >= 0 written in ASCII digits, at most `maximum`; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= maximum else None
    text = str(value).strip()
    if not _DIGITS.fullmatch(text) or len(text) > len(str(maximum)):
        return None
    number = int(text)
    return number if number <= maximum else None


def parse_whole(value: str, field: str, errors: dict[str, str], *, optional: bool) -> int | None:
    """A form's whole-number field; the French message goes to `errors[field]`."""
    text = value.strip()
    if not text:
        if not optional:
            errors[field] = "Indiquez un nombre."
        return None
    number = whole(text)
    if number is None:
        errors[field] = "Indiquez un nombre entier positif ou zéro."
    return number


def an_id(value: object) -> int | None:
    """An id from a form or a query string; None for anything that names no row."""
    number = whole(value, maximum=MAX_ID)
    return number if number else None


def ids(values: object) -> list[int]:
    """Ids of a multi-valued field (one value arrives as a plain string): bad ones dropped."""
    if values is None:
        return []
    items = [values] if isinstance(values, str | int) else list(values)
    return [i for i in (an_id(v) for v in items) if i is not None]


def prefixed(form: Mapping[str, object], prefix: str) -> dict[int, object]:
    """Fields named `<prefix><id>` (`q12` for product 12's quantity): {id: value}."""
    found: dict[int, object] = {}
    for name, value in form.items():
        if name.startswith(prefix):
            key = an_id(name[len(prefix) :])
            if key is not None:
                found[key] = value
    return found


def page_number(value: object, maximum: int = 100_000) -> int:
    """A `?page=` value: a page beyond the maximum is the maximum (the list then shows its
    last page); anything that is not a number is the first page."""
    if isinstance(value, bool):
        return 1
    text = str(value).strip() if value is not None else ""
    if not digits(text):
        return 1
    significant = text.lstrip("0")
    number = int(significant) if 0 < len(significant) <= len(str(maximum)) else 0
    if len(significant) > len(str(maximum)):
        number = maximum
    return max(1, min(number, maximum))


# Text columns have no length of their own: these are the app's.
LONG_TEXT = 5_000  # a description (a group's, a catalog's, a producer's)
ADDRESS_TEXT = 2_000  # an address written on several lines


def check_length(errors: dict[str, str], field: str, value: str, limit: int) -> None:
    """A text longer than its column: the French message at its field."""
    if field not in errors and len(value.strip()) > limit:
        errors[field] = f"Ce texte ne doit pas dépasser {limit:,} caractères.".replace(
            ",", "\u202f"
        )
