"""Synchro Escarcelle in the producer space (seed 002): `settings` (the key and the status),
and the pages of the later steps."""

from web.escarcelle import beneficiaries, catalogue, sales, settings

handlers = [
    *settings.handlers,
    *catalogue.handlers,
    *sales.handlers,
    *beneficiaries.handlers,
]
