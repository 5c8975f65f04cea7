"""French words that depend on a number: « 1 produit créé », « 3 produits créés »."""

from __future__ import annotations


def plural(count: int, one: str, many: str | None = None) -> str:
    """`plural(3, "produit")` -> "3 produits"; `plural(1, "nouveau compte", "nouveaux
    comptes")`. French: 0 and 1 take the singular."""
    if many is None:
        many = " ".join(
            word + ("" if word.endswith(("s", "x", "z")) else "s") for word in one.split()
        )
    return f"{count} {one if abs(count) < 2 else many}"
