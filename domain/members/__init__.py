"""Membership of a group: what its parts share. The parts: `joining` (an open group, the
waiting list), `invitations` (« Nouveau client », Mode création, invitation links),
`imports` (the CSV of clients), `fees` (adhésions), `directory` (MEMBRES and a member's
page), `rights` (rights, removing, leaving) and `following` (Mes marchés suivis).

Rules hold in here, whatever the page: a pending account (no password yet) is a member like
any other and receives the group's mails; an invitation link is hashed, expires and works
once; the last admin of a group can never be removed, nor leave."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from urllib.parse import quote

from domain import idempotency, outbox
from domain.database import is_sqlite
from domain.kernel import tokens
from domain.kernel.clock import now
from domain.kernel.dates import PARIS, paris_day
from domain.kernel.errors import FieldErrors
from domain.tables import (
    Group,
    Membership,
)

INVITE_TTL = timedelta(days=30)
# A sign-up with the address of a pending account sends the link again, not more often.
INVITE_RESEND_PAUSE = timedelta(minutes=5)
PAGE_SIZE = 50
SEASON = timedelta(days=365)  # "cette saison": the last twelve months
MEANS = {
    "cheque": "Chèque",
    "especes": "Espèces",
    "virement": "Virement",
    "carte": "Carte bancaire",
    "autre": "Autre",
}
FILTERS = {
    "": "Tous les membres",
    "attente": "Liste d'attente",
    "invitation": "Invitation en attente",
    "sans-commande": "Sans commande cette saison",
    "adhesion": "Adhésion non payée",
}
PHONE_RE = re.compile(r"^[0-9+ ().-]{6,40}$")


def access_ended_on(access_until: date | None, moment: datetime | None = None) -> date | None:
    """A beneficiary's last day of access to a solidarity grocery (Membership.
    escarcelle_access_until, from the « Import Escarcelle ») when it is over, Paris time;
    else None (no end known, or not over). Read at each order and on MEMBRES: an import
    that renews the period lifts it at once."""
    if access_until is None or access_until >= paris_day(moment or now()):
        return None
    return access_until


class RegistrationClosed(Exception):
    """The group does not take members on its own (waiting list or closed); `message`, when
    set, says why in French."""

    def __init__(self, message: str = ""):
        super().__init__(message)
        self.message = message


# A distribution point of a grocery linked to Escarcelle: no client made here before
# Escarcelle knows them (seed 002's limitations); removing the key lifts it.
ESCARCELLE_ONLY = (
    "Ce point de distribution est lié à Escarcelle : ses bénéficiaires s'ajoutent par "
    "« Import Escarcelle » (onglet Membres), pour qu'aucun client ne soit créé ici sans être "
    "d'abord référencé dans Escarcelle. L'inscription libre, la liste d'attente, « Nouveau "
    "client » et le Mode création y sont donc fermés."
)


async def escarcelle_only(group_id: int) -> bool:
    """A grocery linked to Escarcelle sells in this group (through one of its vendors)."""
    from domain.tables import EscarcelleLink, Vendor

    return await EscarcelleLink.exists().where(
        EscarcelleLink.producer.is_in(
            Vendor.select(Vendor.producer).where(Vendor.group == group_id)
        )
    )


class NotAMember(Exception):
    """The person is not a member of this group (or the request is not of this group)."""


def this_year() -> int:
    return now().astimezone(PARIS).year


async def lock_group(group_id: int) -> None:
    """Inside a transaction: rules counting the group's admins run one at a time.
    (SQLite's write transaction is already exclusive.)"""
    if not is_sqlite():
        await Group.select(Group.id).where(Group.id == group_id).lock_rows().first()


async def claim_key(key: str | None, user_id: int | None) -> bool:
    """A form's random key: True the first time it is seen, so a double click acts once."""
    try:
        return await idempotency.claim(key, user_id)
    except idempotency.BadKey as error:
        raise FieldErrors({"key": "Formulaire invalide : rechargez la page."}) from error


async def group_row(group_id: int) -> dict:
    return (
        await Group.select(Group.id, Group.name, Group.slug, Group.registration)
        .where(Group.id == group_id)
        .first()
    )


async def is_member(group_id: int, user_id: int) -> bool:
    return await Membership.exists().where(
        (Membership.user == user_id) & (Membership.group == group_id)
    )


# ---- the mails that bring a person into a group -------------------------------------------


def invitation_mail(
    user: dict,
    group: dict | None,
    raw: str,
    ctx: outbox.MailContext,
    *,
    next_path: str = "",
    kind: str = "invitation",
    note: str = "",
    answer: dict | None = None,
) -> outbox.NewMail:
    """The mail with a pending account's link to finish registering (`raw`: the token, whose
    digest names the mail), welcoming to the group when there is one; `note`: why the
    account was prepared, when not for a group; `answer`: the links to accept the group
    (an account another group made) and to decline it (consent.answer_links)."""
    url = f"{ctx.base_url}/invitation/{raw}"
    if next_path:
        url += f"?next={quote(next_path, safe='/')}"
    context = {
        "first_name": user["first_name"],
        "group_name": group["name"] if group else "",
        "group_url": f"{ctx.base_url}/g/{group['slug']}" if group else "",
        "url": url,
        "days": INVITE_TTL.days,
        "note": note,
        "accept_url": (answer or {}).get("accept_url", ""),
        "decline_url": (answer or {}).get("decline_url", ""),
    }
    return _mail(f"invitation:{tokens.digest(raw)}", kind, "invitation", user, context, ctx)


def welcome_mail(
    user: dict,
    group: dict,
    membership_id: int,
    ctx: outbox.MailContext,
    answer: dict | None = None,
    key: str = "",
) -> outbox.NewMail:
    """An existing account added to the group; `answer`: the links « Rejoindre … » and
    « Ne pas rejoindre ce groupe » (consent.answer_links); `key`: a mail sent again."""
    context = {
        "first_name": user["first_name"],
        "group_name": group["name"],
        "url": f"{ctx.base_url}/g/{group['slug']}",
        "accept_url": (answer or {}).get("accept_url", ""),
        "decline_url": (answer or {}).get("decline_url", ""),
    }
    key = key or f"member_added:{membership_id}"
    return _mail(key, "welcome", "group_welcome", user, context, ctx)


def _mail(key: str, kind: str, template: str, user: dict, context: dict, ctx) -> outbox.NewMail:
    subject, text, html = outbox.render(template, context, kind, site_name=ctx.site_name)
    return outbox.NewMail(
        key=key,
        kind=kind,
        to=user["email"],
        subject=subject,
        text=text,
        html=html,
        instance=ctx.instance,
        user=user["id"],
    )
