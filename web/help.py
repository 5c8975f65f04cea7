"""« Aide »: the pages a French platform must have, linked from every page's footer:
mentions légales, politique de confidentialité, conditions d'utilisation. Who runs the
instance is set per instance (INSTANCES' `legal`, domain/settings.py); what is kept and
for how long is read from the code and the settings that do it (domain/privacy)."""

from __future__ import annotations

from litestar import Request, get

from domain import privacy
from web.access import Policy, policy
from web.pages import render


def _legal(request: Request) -> dict:
    settings, instance = request.app.state.settings, request.state.instance
    legal = instance.legal
    return {
        "legal": legal,
        "contact": legal.contact
        or settings.support_email
        or instance.mail_from
        or settings.mail_from,
    }


@get("/aide", opt=policy(Policy.ANONYMOUS))
async def help_page(request: Request) -> object:
    return render(request, "help/index.html", _legal(request))


@get("/aide/mentions-legales", opt=policy(Policy.ANONYMOUS))
async def legal_notice(request: Request) -> object:
    return render(request, "help/legal_notice.html", _legal(request))


@get("/aide/confidentialite", opt=policy(Policy.ANONYMOUS))
async def privacy_policy(request: Request) -> object:
    settings = request.app.state.settings
    return render(
        request,
        "help/privacy.html",
        _legal(request) | {"retention": privacy.retention(settings)},
    )


@get("/aide/conditions", opt=policy(Policy.ANONYMOUS))
async def terms(request: Request) -> object:
    return render(request, "help/terms.html", _legal(request))


handlers = [help_page, legal_notice, privacy_policy, terms]
