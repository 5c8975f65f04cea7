"""COMMANDES of a catalog and « Valider la distribution »: `recaps` (by product, by member,
émargement, commande en gros), `exports` (their CSV), `corrections` (a member's lines
changed by the catalog's managers), `validation` (what was handed over, recorded once)."""


class NotFound(Exception):
    """The line or order is not one of this catalog at this distribution."""
