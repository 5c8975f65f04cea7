"""PARAMÈTRES → Paiements: whether the group keeps accounts (the ledger), which payment types
it accepts and what members are told to pay (to whom a cheque is made out, the IBAN for a
transfer). The ledger is on by default for an AMAP and a market; a solidarity grocery whose
beneficiaries pay at the Escarcelle till leaves it off."""

from __future__ import annotations

import re

from domain.kernel import forms
from domain.kernel.clock import now
from domain.kernel.errors import FieldErrors
from domain.payments import TYPES
from domain.tables import Group, PaymentSettings

LEDGER_BY_KIND = {"amap": True, "market": True, "grocery": False}
DEFAULT_TYPES = ("especes", "cheque")
IBAN_RE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")


def defaults(kind: str) -> dict:
    return {
        "ledger": LEDGER_BY_KIND.get(kind, True),
        "types": list(DEFAULT_TYPES),
        "cheque_payee": "",
        "iban": "",
        "instructions": "",
        "saved": False,
    }


async def settings_of(group_id: int) -> dict:
    """{ledger, types (in TYPES' order), cheque_payee, iban, instructions, saved}."""
    group = await Group.select(Group.kind).where(Group.id == group_id).first()
    row = await PaymentSettings.select().where(PaymentSettings.group == group_id).first()
    if row is None:
        return defaults(group["kind"] if group else "")
    return _shown(row)


def _shown(row: dict) -> dict:
    chosen = set(row["types"].split(","))
    return {
        "ledger": row["ledger"],
        "types": [t for t in TYPES if t in chosen],
        "cheque_payee": row["cheque_payee"],
        "iban": row["iban"],
        "instructions": row["instructions"],
        "saved": True,
    }


async def ledgers_on(group_ids) -> dict[int, bool]:
    """{group: the ledger is on} for these groups; one query."""
    ids = sorted(set(group_ids))
    if not ids:
        return {}
    placeholders = ", ".join(["{}"] * len(ids))  # one per id: every value is a parameter
    rows = await Group.raw(
        "SELECT g.id, g.kind, s.ledger FROM app_group g "  # noqa: S608 - placeholders only
        f'LEFT JOIN payment_settings s ON s."group" = g.id WHERE g.id IN ({placeholders})',
        *ids,
    )
    return {
        r["id"]: bool(r["ledger"])
        if r["ledger"] is not None
        else LEDGER_BY_KIND.get(r["kind"], True)
        for r in rows
    }


def normalize_iban(value: str) -> str:
    return re.sub(r"[\s.-]+", "", value).upper()


def iban_valid(iban: str) -> bool:
    """The shape and the check digits (ISO 13616: the number mod 97 is 1)."""
    if not IBAN_RE.fullmatch(iban):
        return False
    moved = iban[4:] + iban[:4]
    number = "".join(str(int(c, 36)) for c in moved)
    return int(number) % 97 == 1


def format_iban(iban: str) -> str:
    """FR7630006000011234567890189 -> FR76 3000 6000 0112 3456 7890 189."""
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def check(
    *, ledger: bool, types: list[str], cheque_payee: str, iban: str, instructions: str
) -> tuple[dict, dict[str, str]]:
    errors: dict[str, str] = {}
    chosen = [t for t in TYPES if t in set(types)]
    if any(t not in TYPES for t in types):
        errors["types"] = "Choisissez parmi les moyens de paiement proposés."
    elif ledger and not chosen:
        errors["types"] = "Choisissez au moins un moyen de paiement accepté."
    payee = cheque_payee.strip()
    if "cheque" in chosen and not payee:
        errors["cheque_payee"] = "Indiquez à l'ordre de qui les chèques sont à faire."
    forms.check_length(errors, "cheque_payee", payee, 200)
    number = normalize_iban(iban)
    if "virement" in chosen and not number:
        errors["iban"] = "Indiquez l'IBAN du compte qui reçoit les virements."
    elif number and not iban_valid(number):
        errors["iban"] = (
            "Cet IBAN n'est pas valide : vérifiez-le (par exemple "
            "FR76 3000 6000 0112 3456 7890 189)."
        )
    forms.check_length(errors, "instructions", instructions, forms.LONG_TEXT)
    values = {
        "ledger": ledger,
        "types": ",".join(chosen),
        "cheque_payee": payee,
        "iban": number,
        "instructions": instructions.strip(),
    }
    return values, errors


async def save_settings(
    group_id: int,
    *,
    by_user_id: int,
    ledger: bool,
    types: list[str],
    cheque_payee: str,
    iban: str,
    instructions: str,
) -> dict:
    """One statement (an upsert); FieldErrors at the fields and nothing saved otherwise."""
    values, errors = check(
        ledger=ledger,
        types=types,
        cheque_payee=cheque_payee,
        iban=iban,
        instructions=instructions,
    )
    if errors:
        raise FieldErrors(errors)
    await PaymentSettings.insert(
        PaymentSettings(group=group_id, updated_by=by_user_id, updated_at=now(), **values)
    ).on_conflict(
        target=PaymentSettings.group,
        action="DO UPDATE",
        values=[
            PaymentSettings.ledger,
            PaymentSettings.types,
            PaymentSettings.cheque_payee,
            PaymentSettings.iban,
            PaymentSettings.instructions,
            PaymentSettings.updated_at,
            PaymentSettings.updated_by,
        ],
    )
    return await settings_of(group_id)
