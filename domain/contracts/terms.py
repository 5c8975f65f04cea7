"""The coordinator's form of a contract's terms (« Conditions du contrat »): the payment
plan, the absences, and for a variable contract its minimums and default order. One
statement (an upsert of the catalog's row); every refusal is a French message at its
field, checked before it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date

from domain.kernel import forms
from domain.kernel.clock import now
from domain.kernel.errors import FieldErrors
from domain.kernel.money import parse_euros
from domain.ordering import MAX_QUANTITY
from domain.tables import ContractTerms, Product

MAX_INSTALMENTS = 12
MAX_ABSENCES = 52
DAY_MESSAGE = "Indiquez une date, par exemple 15/01/2027."
_DAY = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")


def parse_day(text: str) -> date | None:
    """15/01/2027 or 2027-01-15 (a date field); None if it is neither."""
    text = (text or "").strip()
    found = _DAY.fullmatch(text)
    try:
        if found:
            day, month, year = (int(x) for x in found.groups())
            return date(year, month, day)
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            return date.fromisoformat(text)
    except ValueError:
        return None
    return None


def _optional_day(value: str, name: str, errors: dict[str, str]) -> date | None:
    if not (value or "").strip():
        return None
    day = parse_day(value)
    if day is None or not 2000 <= day.year <= 2100:
        errors[name] = DAY_MESSAGE
        return None
    return day


def _euros(value: str, name: str, errors: dict[str, str]) -> int:
    if not (value or "").strip():
        return 0
    cents = parse_euros(value)
    if cents is None or cents < 0:
        errors[name] = "Indiquez un montant en euros, par exemple 10 ou 12,50 (vide : aucun)."
        return 0
    return cents


@dataclass
class TermsForm:
    instalments: str = ""
    absences_max: str = ""
    absences_from: str = ""
    absences_until: str = ""
    absences_deadline: str = ""
    minimum_order: str = ""
    minimum_total: str = ""
    default_order: dict[int, object] = field(default_factory=dict)


def parse_plan(text: str, errors: dict[str, str]) -> list[date]:
    """« 15/01/2027, 15/02/2027 » (commas, spaces or lines between days), in order."""
    parts = [p for p in re.split(r"[\s,;]+", text or "") if p]
    days = []
    for part in parts:
        day = parse_day(part)
        if day is None or not 2000 <= day.year <= 2100:
            errors["instalments"] = f"« {part[:20]} » n'est pas une date : {DAY_MESSAGE}"
            return []
        days.append(day)
    if len(days) > MAX_INSTALMENTS:
        errors["instalments"] = f"Pas plus de {MAX_INSTALMENTS} échéances."
    elif days != sorted(days) or len(set(days)) != len(days):
        errors["instalments"] = "Indiquez les dates d'encaissement dans l'ordre, chacune une fois."
    return days


async def save_terms(catalog: dict, by_user_id: int, form: TermsForm) -> None:
    errors: dict[str, str] = {}
    plan = parse_plan(form.instalments, errors)
    absences = forms.whole(form.absences_max or "0", maximum=MAX_ABSENCES)
    if absences is None:
        errors["absences_max"] = f"Indiquez un nombre d'absences de 0 à {MAX_ABSENCES}."
        absences = 0
    starts = _optional_day(form.absences_from, "absences_from", errors)
    ends = _optional_day(form.absences_until, "absences_until", errors)
    deadline = _optional_day(form.absences_deadline, "absences_deadline", errors)
    if starts and ends and ends < starts:
        errors["absences_until"] = "La fin de la période d'absences est avant son début."
    if absences and not (starts and ends) and "absences_from" not in errors:
        errors["absences_from"] = "Indiquez la période où les absences sont possibles."
    minimum_order = _euros(form.minimum_order, "minimum_order", errors)
    minimum_total = _euros(form.minimum_total, "minimum_total", errors)
    default: dict[int, int] = {}
    if catalog["kind"] == "variable" and form.default_order:
        mine = {
            p["id"]
            for p in await Product.select(Product.id).where(
                (Product.catalog == catalog["id"]) & (Product.active == True)  # noqa: E712
            )
        }
        for product_id, raw in form.default_order.items():
            quantity = forms.whole(str(raw).strip() or "0", maximum=MAX_QUANTITY)
            if product_id not in mine:
                errors[f"d{product_id}"] = "Ce produit ne fait pas partie du contrat."
            elif quantity is None:
                errors[f"d{product_id}"] = f"Indiquez une quantité entière de 0 à {MAX_QUANTITY}."
            elif quantity:
                default[product_id] = quantity
    elif catalog["kind"] != "variable" and (minimum_order or minimum_total):
        errors["minimum_order"] = "Les minimums sont ceux d'un contrat à commande variable."
    if errors:
        raise FieldErrors(errors)
    values = {
        ContractTerms.instalments: ",".join(d.isoformat() for d in plan),
        ContractTerms.absences_max: absences,
        ContractTerms.absences_from: starts,
        ContractTerms.absences_until: ends,
        ContractTerms.absences_deadline: deadline,
        ContractTerms.minimum_order_cents: minimum_order,
        ContractTerms.minimum_total_cents: minimum_total,
        ContractTerms.default_order: json.dumps({str(k): v for k, v in sorted(default.items())})
        if default
        else "",
        ContractTerms.updated_at: now(),
        ContractTerms.updated_by: by_user_id,
    }
    await ContractTerms.insert(
        ContractTerms(catalog=catalog["id"], **{c._meta.name: v for c, v in values.items()})
    ).on_conflict(target=ContractTerms.catalog, action="DO UPDATE", values=list(values))
