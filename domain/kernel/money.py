"""Money in integer cents: reading what people type, writing what they read."""

from __future__ import annotations

import re

# 9 999 999,99 €: far above any price, and its product with a whole quantity still fits in
# a 64-bit total.
MAX_EUROS_DIGITS = 7
_AMOUNT = re.compile(rf"[0-9]{{1,{MAX_EUROS_DIGITS}}}(\.[0-9]{{1,2}})?")


def euros(cents: int) -> str:
    """1234567 -> '12 345,67 €' (narrow no-break space for thousands, no-break before €)."""
    return f"{cents / 100:,.2f}".replace(",", "\u202f").replace(".", ",") + "\u00a0€"


def parse_euros(value: str) -> int | None:
    """'12,50' or '12.5' or '12 €' -> 1250 cents; None if it is not an amount (ASCII digits
    only: '²' and other Unicode digits are refused, not read)."""
    text = value.strip().replace("€", "")
    for space in (" ", "\u00a0", "\u202f"):  # as typed, and as `euros` writes thousands
        text = text.replace(space, "")
    text = text.replace(",", ".")
    if not _AMOUNT.fullmatch(text):
        return None
    whole, _, cents = text.partition(".")
    return int(whole) * 100 + int((cents + "00")[:2])


def decimal(cents: int) -> str:
    """1234 -> '12,34' (decimal comma, no currency sign: a number for a spreadsheet)."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100},{cents % 100:02d}"
