"""What the Paiements pages share: their URLs and context."""

from __future__ import annotations

from litestar import Request

from domain.idempotency import new_key
from domain.payments import MEANS, PLEDGES, TYPES
from domain.payments.account import STATE_LABELS
from domain.payments.settings import format_iban
from web.groups import group_context


def payments_url(request: Request) -> str:
    return f"/g/{request.state.group['slug']}/paiements"


def payments_context(request: Request, **extra) -> dict:
    return group_context(request, active="paiements", **words(), **extra)


def words() -> dict:
    """What every payments template reads: labels of types, states, pledges."""
    return {
        "types_labels": TYPES,
        "means_labels": MEANS,
        "state_labels": STATE_LABELS,
        "pledge_labels": PLEDGES,
        "format_iban": format_iban,
        "new_key": new_key,
    }
