"""PARAMÈTRES → Paiements (admins): the ledger on or off, accepted types, instructions."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, get, post

from domain.kernel.errors import FieldErrors
from domain.payments import TYPES
from domain.payments import settings as payment_settings
from web.access import Policy, policy
from web.forms import Form
from web.groups import group_context
from web.pages import form_status, render
from web.payments.common import words

URL = "/g/{slug:str}/parametres/paiements"


class SettingsForm(msgspec.Struct):
    ledger: str = ""
    type_especes: str = ""
    type_cheque: str = ""
    type_virement: str = ""
    type_carte: str = ""
    cheque_payee: str = ""
    iban: str = ""
    instructions: str = ""


def _page(request: Request, form: dict, errors: dict, saved: bool, status: int = 200):
    return render(
        request,
        "payments/settings.html",
        group_context(request, active="parametres", form=form, errors=errors, saved=saved)
        | words(),
        fragment="payments/_settings_form.html",
        status_code=status,
    )


@get(URL, opt=policy(Policy.ADMIN))
async def settings_page(request: Request, slug: str) -> object:
    current = await payment_settings.settings_of(request.state.group["id"])
    return _page(request, current, {}, False)


@post(URL, opt=policy(Policy.ADMIN))
async def save_settings(request: Request, slug: str, data: Annotated[SettingsForm, Form]) -> object:
    types = [t for t in TYPES if getattr(data, f"type_{t}") == "1"]
    try:
        saved = await payment_settings.save_settings(
            request.state.group["id"],
            by_user_id=request.state.user["id"],
            ledger=data.ledger == "1",
            types=types,
            cheque_payee=data.cheque_payee,
            iban=data.iban,
            instructions=data.instructions,
        )
    except FieldErrors as error:
        form = msgspec.structs.asdict(data) | {"ledger": data.ledger == "1", "types": types}
        return _page(request, form, error.errors, False, form_status(request))
    return _page(request, saved, {}, True)


handlers = [settings_page, save_settings]
