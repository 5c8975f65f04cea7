"""Mes communications: which automatic mails a person receives, the signed one-click
unsubscribe link of those mails, and the test e-mail ("Envoyer un e-mail de test")."""

from __future__ import annotations

from domain import accounts, outbox
from domain.database import transaction
from domain.kernel import clock, forms, tokens
from domain.outbox import rendering
from domain.tables import MailOptOut

KINDS = rendering.AUTOMATIC_KINDS
KIND_HELP = {
    "orders_open": "Quand les commandes ouvrent pour une distribution de vos groupes.",
    "order_recap": "Après chaque commande validée ou modifiée.",
    "reminder_24h": "La veille d'une distribution où vous avez une commande.",
    "reminder_4h": "Quelques heures avant une distribution où vous avez une commande.",
    "duties_open": "Quand les inscriptions aux permanences d'une distribution ouvrent.",
    "duty_instructions": (
        "Quatre jours avant une distribution où vous êtes bénévole : votre rôle et ses consignes."
    ),
    "duties_empty": (
        "Si vous administrez un groupe : sept jours avant une distribution dont des "
        "permanences ne sont pas pourvues."
    ),
    "duty_left": (
        "Si vous administrez un groupe : quand un bénévole quitte son rôle moins de "
        "48 heures avant la distribution."
    ),
}


async def preferences(user_id: int) -> dict[str, bool]:
    """{kind: receives it} for every automatic kind."""
    rows = await MailOptOut.select(MailOptOut.kind).where(MailOptOut.user == user_id)
    off = {row["kind"] for row in rows}
    return {kind: kind not in off for kind in KINDS}


async def opted_out(user_id: int, kind: str) -> bool:
    return await MailOptOut.exists().where((MailOptOut.user == user_id) & (MailOptOut.kind == kind))


async def unsubscribe(user_id: int, kind: str) -> None:
    """Idempotent: the unique (user, kind) index keeps one row."""
    await MailOptOut.insert(MailOptOut(user=user_id, kind=kind)).on_conflict(action="DO NOTHING")


async def set_preferences(user_id: int, enabled: set[str]) -> dict[str, bool]:
    """Receive exactly the kinds in `enabled` (unknown names are ignored); every switch in
    one transaction."""
    async with transaction():
        for kind in KINDS:
            if kind in enabled:
                await MailOptOut.delete().where(
                    (MailOptOut.user == user_id) & (MailOptOut.kind == kind)
                )
            else:
                await unsubscribe(user_id, kind)
    return await preferences(user_id)


def _signature(secret: str, user_id: int, kind: str) -> str:
    return tokens.short_mac(secret, f"unsubscribe:{user_id}:{kind}")


def unsubscribe_token(secret: str, user_id: int, kind: str) -> str:
    """`<user>.<kind>.<HMAC>`: works without logging in, for this user and kind only."""
    return f"{user_id}.{kind}.{_signature(secret, user_id, kind)}"


def read_unsubscribe_token(secret: str, token: str) -> tuple[int, str] | None:
    parts = token.split(".")
    if len(parts) != 3 or parts[1] not in KINDS:
        return None
    user_id, kind, signature = forms.an_id(parts[0]), parts[1], parts[2]
    if user_id is None or not tokens.same(signature, _signature(secret, user_id, kind)):
        return None
    return user_id, kind


async def queue_test_mail(
    user: dict, ctx: outbox.MailContext, sender: str, address: str = "", signed_for: str = ""
):
    """One test mail per minute at most: the key names the minute. Returns the row's id, or
    None when one was already sent this minute. Raises accounts.TooManyAttempts when this
    address (`address`: the visitor's) or this account asked too often: the attempt is
    counted first, on its own (a refused or failed attempt counts). The mail repeats the
    page's advice: the official address to add to one's contacts (`sender`), and the
    domain the mails are signed for (`signed_for`, "" when they are not)."""
    await accounts.limit_requests("test-mail", address, user["email"])
    minute = clock.now().strftime("%Y%m%d%H%M")
    return await outbox.queue(
        key=f"test:{user['id']}:{minute}",
        kind="test",
        to=user["email"],
        template="test_mail",
        ctx=ctx,
        user=user["id"],
        context={
            "first_name": user["first_name"],
            "sender": sender,
            "signed_for": signed_for,
            "url": f"{ctx.base_url}/compte/email-de-test",
        },
    )
