"""Paiements: the group's settings, the members' own accounts, the admins' pages (balances,
a member's account, the statement per producer). The payments received at a distribution
are part of « Valider la distribution » (web/catalog_orders/validation.py)."""

from web.payments import accounts, admin, producers, settings

handlers = [
    *settings.handlers,
    *accounts.handlers,
    *admin.handlers,
    *producers.handlers,
]
