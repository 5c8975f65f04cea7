"""COMMANDES of a catalog (Catalogues → Gérer → Commandes) and « Valider la distribution »."""

from web.catalog_orders import corrections, exports, recaps, validation

handlers = [
    *recaps.handlers,
    *corrections.handlers,
    *exports.handlers,
    *validation.handlers,
]
