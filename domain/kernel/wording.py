"""French words that depend on a number: « 1 produit créé », « 3 produits créés »; and
text folded for a search (`fold`)."""

from __future__ import annotations

import functools
import re
import unicodedata


def plural(count: int, one: str, many: str | None = None) -> str:
    """`plural(3, "produit")` -> "3 produits"; `plural(1, "nouveau compte", "nouveaux
    comptes")`. French: 0 and 1 take the singular."""
    if many is None:
        many = " ".join(
            word + ("" if word.endswith(("s", "x", "z")) else "s") for word in one.split()
        )
    return f"{count} {one if abs(count) < 2 else many}"


_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d", "ð": "d"})


@functools.lru_cache(maxsize=20_000)
def fold(text: str) -> str:
    """What a search compares: « Pâtes Œufs-frais » -> "pates oeufs frais": lower case,
    no accents nor ligatures, words separated by one space (a pure function of the text,
    kept for the names a page shows again and again)."""
    lowered = text.casefold().translate(_LIGATURES)
    bare = "".join(
        c for c in unicodedata.normalize("NFKD", lowered) if not unicodedata.combining(c)
    )
    return " ".join(re.sub(r"[\W_]+", " ", bare).split())
