"""Escarcelle (seed 002): a solidarity grocery runs its stock, beneficiaries and till in
Escarcelle and sells online here. Its parts, in the seed's order: `links` (the key, in
Paramètres → Synchro Escarcelle, and « Statut de la synchronisation »), `catalogue` (the
product import), `stocks` (the hourly stock sync), `sales` (the sales pushed back when a
distribution is validated), `beneficiaries` (the Export Mailing import) and `limits` (what
is off while a grocery is linked).

The domain never calls Escarcelle: jobs/escarcelle.py does (connectors/escarcelle.py), and
hands the answers to these functions as plain values. The key is sealed with a key derived
from SECRET_KEY (domain/kernel/sealing.py): callers pass the secret in.
"""

from __future__ import annotations

import re

from domain.kernel import sealing
from domain.tables import EscarcelleLink

SEAL_PURPOSE = "escarcelle-key"
SETTINGS_PATH = "/parametres"  # under the producer space's address


async def link_of(producer_id: int) -> dict | None:
    return await EscarcelleLink.select().where(EscarcelleLink.producer == producer_id).first()


async def key_of(producer_id: int, secret: str) -> str | None:
    """The producer's Escarcelle key in clear, for a call (never shown, never logged)."""
    link = await link_of(producer_id)
    return sealing.unseal(link["key_sealed"], secret, SEAL_PURPOSE) if link else None


async def linked_producers() -> list[dict]:
    """Every link whose key works (the scheduler's hourly sync)."""
    return await EscarcelleLink.select(
        EscarcelleLink.producer, EscarcelleLink.pdv_id, EscarcelleLink.sync_hour
    ).where(EscarcelleLink.state == "ok")


def normalise_barcode(text: str) -> str:
    """A barcode as Escarcelle's and the « référence » field's compare: digits only, without
    leading zeros (an EAN-13 with or without its leading zero, a UPC-A, are the same code).
    Anything else than digits, spaces and dashes is not a barcode: ""."""
    text = (text or "").strip()
    if not re.fullmatch(r"[0-9 \-]{1,32}", text):
        return ""
    digits = re.sub(r"[^0-9]", "", text).lstrip("0")
    return digits if len(digits) >= 6 else ""
