"""Deleting an account, on the person's request (« Mes données ») or after two years
unused (inactivity.py): the same way, in one transaction.

What a group must keep for its accounts stays, attached to an anonymous placeholder made
for this deletion (a User row with a made-up address no one has, no password, no names
but « Compte supprimé », `deleted_at` set): the orders of distributions whose orders have
closed, the contracts (ended at once if still running), the adhésions, the messages the
person wrote as an admin, the consent statements they recorded for others.

Everything else about the person goes: the account and its memberships and rights, their
orders still open (the stock given back) and baskets never validated, their sessions
(every browser is logged out), links, mail choices, calendar addresses, join requests,
the consent records about them, the mails queued for them or kept after sending (none
reaches them afterwards), their login counters. Where another row only named them (a
catalog they coordinated, the producer they logged in as, a distribution they validated),
the reference is cleared.

PLAN says what becomes of the rows of every foreign key to User; a test checks that it
names every one of them, so that a new table (the volunteer duties, payments…) has to say
what its rows become before it can ship.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime

from domain.accounts import password_matches
from domain.database import transaction
from domain.kernel.errors import FieldErrors
from domain.payments import ledger
from domain.tables import (
    Distribution,
    Membership,
    Order,
    OrderLine,
    OutboxMail,
    Product,
    Subscription,
    Throttle,
    User,
    ValidationRecord,
)

KEEP = "moved to the placeholder"
CLEAR = "set to NULL"
DROP = "deleted"

# (table, column) -> what becomes of the rows that name the account there.
PLAN: dict[tuple[str, str], str] = {
    ("membership", "user"): DROP,
    ("membership", "shared_with"): CLEAR,
    ("vendor", "user"): CLEAR,
    ("catalog", "coordinator"): CLEAR,
    ("distribution", "validated_by"): CLEAR,
    ("member_order", "user"): KEEP,  # those still open were deleted first
    ("subscription", "user"): KEEP,  # those still running were ended first
    ("request_key", "user"): DROP,
    ("account_token", "user"): DROP,
    ("outbox_mail", "user"): DROP,  # and those to the address, first
    ("catalog_document", "uploaded_by"): CLEAR,
    ("join_request", "user"): DROP,
    ("join_request", "decided_by"): CLEAR,
    ("consent_record", "user"): DROP,
    ("consent_record", "recorded_by"): KEEP,
    ("membership_fee", "user"): KEEP,
    ("membership_fee", "recorded_by"): CLEAR,
    ("mail_opt_out", "user"): DROP,
    ("group_message", "author"): KEEP,
    ("validation_record", "validated_by"): CLEAR,
    ("web_session", "user"): DROP,
    ("calendar_feed", "user"): DROP,
    ("inactivity_notice", "user"): DROP,
    ("ledger_operation", "user"): KEEP,  # the group's accounts: money owed and paid
    ("ledger_operation", "recorded_by"): CLEAR,
    ("payment_settings", "updated_by"): CLEAR,
    ("payment_pledge", "user"): DROP,
    ("duty_signup", "user"): DROP,
    ("duty_signup", "assigned_by"): CLEAR,
    ("escarcelle_link", "linked_by"): CLEAR,  # the grocery's link stays, without its author
    ("contract_terms", "updated_by"): CLEAR,
    ("contract_absence", "declared_by"): CLEAR,  # the absence is the subscription's
    ("shared_basket", "partner"): DROP,  # the basket goes back to its holder alone
    ("shared_basket", "updated_by"): CLEAR,
}

PLACEHOLDER_NAME = "Compte supprimé"
PLACEHOLDER_DOMAIN = "compte-supprime.invalid"  # RFC 2606: never a real mailbox

# The row is taken first: a second deletion of the same account at the same time (two
# schedulers, a double click) waits, then finds nothing to take (PostgreSQL); SQLite's
# write transactions run one at a time anyway.
_TAKE = (
    "UPDATE app_user SET deleted_at = NULL WHERE id = {} AND deleted_at IS NULL RETURNING id, email"
)


def _statement(table: str, column: str, what: str) -> str:
    # Names from PLAN (constants of this module); the ids are parameters.
    if what == KEEP:
        return f'UPDATE "{table}" SET "{column}" = {{}} WHERE "{column}" = {{}}'  # noqa: S608
    if what == CLEAR:
        return f'UPDATE "{table}" SET "{column}" = NULL WHERE "{column}" = {{}}'  # noqa: S608
    return f'DELETE FROM "{table}" WHERE "{column}" = {{}}'  # noqa: S608


async def sole_admin_of(user_id: int) -> list[str]:
    """The groups (names) where the person is the only admin and others are members: they
    would be left with nobody to run them."""
    rows = await Membership.raw(
        'SELECT g.name FROM membership m JOIN app_group g ON g.id = m."group" '
        'WHERE m."user" = {} AND m.is_admin '
        "AND NOT EXISTS (SELECT 1 FROM membership a "
        'WHERE a."group" = m."group" AND a.is_admin AND a."user" <> m."user") '
        "AND EXISTS (SELECT 1 FROM membership o "
        'WHERE o."group" = m."group" AND o."user" <> m."user") '
        "ORDER BY g.name",
        user_id,
    )
    return [row["name"] for row in rows]


async def _placeholder(moment: datetime) -> int:
    rows = await User.insert(
        User(
            email=f"supprime-{secrets.token_hex(12)}@{PLACEHOLDER_DOMAIN}",
            password_hash=None,
            first_name="",
            last_name=PLACEHOLDER_NAME,
            created_at=moment,
            deleted_at=moment,
        )
    ).returning(User.id)
    return rows[0]["id"]


async def _drop_open_orders(user_id: int, moment: datetime) -> None:
    """Baskets never validated, and orders whose distribution still takes orders: deleted,
    their stock given back. Orders already closed are the group's to keep."""
    still_open = Distribution.select(Distribution.id).where(Distribution.orders_close_at > moment)
    orders = await Order.select(Order.id).where(
        (Order.user == user_id)
        & ((Order.state != "validated") | Order.distribution.is_in(still_open))
    )
    ids = [o["id"] for o in orders]
    if not ids:
        return
    lines = await OrderLine.select(
        OrderLine.product, OrderLine.quantity, OrderLine.subscription
    ).where(OrderLine.order.is_in(ids))
    for line in sorted(lines, key=lambda x: x["product"]):  # product order: no deadlock
        await Product.update({Product.stock: Product.stock + line["quantity"]}).where(
            (Product.id == line["product"]) & Product.stock.is_not_null()
        )
    await OrderLine.delete().where(OrderLine.order.is_in(ids))
    await Order.delete().where(Order.id.is_in(ids))
    # Their debts (and their baskets' share of a subscription's) are cancelled: the group's
    # accounts, kept under the placeholder, owe nothing for orders that are gone.
    subscriptions = {line["subscription"] for line in lines if line["subscription"]}
    await ledger.follow(ids, subscriptions, why="supprimée")


async def _rename_in_validation_records(user_id: int, placeholder: int) -> None:
    """What « Valider la distribution » recorded names members by id: the kept orders are
    the placeholder's now, and so are they there."""
    kept = Order.select(Order.distribution).where(Order.user == user_id)
    records = await ValidationRecord.select(ValidationRecord.id, ValidationRecord.content).where(
        ValidationRecord.distribution.is_in(kept)
    )
    for record in records:
        content = json.loads(record["content"])
        changed = False
        for order in content.get("orders", []):
            if order.get("user") == user_id:
                order["user"], changed = placeholder, True
        if changed:
            await ValidationRecord.update(
                {ValidationRecord.content: json.dumps(content, separators=(",", ":"))}
            ).where(ValidationRecord.id == record["id"])


async def _forget_counters(email: str) -> None:
    """Login and mail-request counters keyed by the address (domain/throttle.py)."""
    await Throttle.delete().where(
        Throttle.key.like(f"pair:{email}|%")
        | (Throttle.key == f"account:{email}")
        | Throttle.key.like(f"%:to:{email}")
    )


async def delete_account(user_id: int, moment: datetime) -> int | None:
    """The whole deletion in one transaction; the placeholder's id, or None when the
    account is gone already (deleted by someone else meanwhile)."""
    async with transaction():
        taken = await User.raw(_TAKE, user_id)
        if not taken:
            return None
        email = taken[0]["email"]
        placeholder = await _placeholder(moment)
        await _drop_open_orders(user_id, moment)
        await Subscription.update({Subscription.ended_at: moment}).where(
            (Subscription.user == user_id) & Subscription.ended_at.is_null()
        )
        await _rename_in_validation_records(user_id, placeholder)
        await OutboxMail.delete().where(OutboxMail.to_addr == email)
        await _forget_counters(email)
        for (table, column), what in PLAN.items():
            if what == KEEP:
                await User.raw(_statement(table, column, what), placeholder, user_id)
            else:
                await User.raw(_statement(table, column, what), user_id)
        await User.delete().where(User.id == user_id)
    return placeholder


async def delete_own_account(user: dict, password: str, confirm: str, moment: datetime) -> int:
    """« Supprimer mon compte »: with the password, and not while a group relies on the
    person as its only admin. FieldErrors at the fields."""
    errors: dict[str, str] = {}
    if confirm != "1":
        errors["confirm"] = "Cochez cette case pour confirmer la suppression de votre compte."
    if not await password_matches(user.get("password_hash"), password):
        errors["password"] = "Mot de passe incorrect."
    if not errors:
        groups = await sole_admin_of(user["id"])
        if groups:
            errors["confirm"] = (
                f"Vous êtes le seul administrateur de {', '.join(groups)} : nommez un autre "
                "administrateur (page MEMBRES) avant de supprimer votre compte."
            )
    if errors:
        raise FieldErrors(errors)
    placeholder = await delete_account(user["id"], moment)
    if placeholder is None:
        raise FieldErrors({"confirm": "Ce compte est déjà supprimé."})
    return placeholder
