"""COMMANDES of a catalog (recaps by product and by member, CSV, émargement), COMMANDE EN GROS,
and the validation of a distribution."""

from __future__ import annotations

handlers: list = []
