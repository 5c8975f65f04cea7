"""One line's change (a + / − tap, a typed quantity) on PostgreSQL: two statements inside
the change's transaction, whatever the line, the basket or the shop.

1. `_LOCK` takes, in this order, what every change of an order takes (no deadlock with
   `changes.order_for_update`, the validation or the corrections): the distribution shared
   (a validation running waits, or this change waits for it and reads `validated_at` as it
   committed), the member's order (created if needed, and locked by the upsert: two
   changes of one member run one after the other), then claims the request's key (a replay
   claims nothing); it also reads the product as the page offers it, and records the
   person's yes to the group (members.consent) when they order for themselves.
2. `_WRITE`, a statement of its own so that it reads the line as the lock left it: the
   new quantity (relative or absolute), within the maxima, moves the stock by the
   difference with a conditional UPDATE (never below zero, whatever other members do at
   the same time), upserts or deletes the line and sets the order's total; or changes
   nothing and says why. A validated order's change also takes the member's account lock
   there (after the stock, where `ledger.follow` takes it) and returns the order's lines
   for the recap mail.
3. A validated order only: `_FOLLOW_AND_RECAP` (`_FOLLOW` without a recap), its debt
   (`payments.one_debt`, reading the account as the lock left it) and its recap mail
   rewritten or started (`outbox.GROUPED`), one statement; `ledger.follow` after it for an
   order with basket lines. A "+" of a validated order: 3 statements, a draft's 2.

A beneficiary whose access to the grocery has ended (the membership's
`escarcelle_access_until`, read by `_LOCK`) is refused before `_WRITE`.

Every rule is the one of `changes.set_quantity` on SQLite (the same tests run on both
engines); a refusal raises inside the transaction, which rolls it back: the key is free
again and no order is left behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC

from domain import outbox
from domain.database import fetch
from domain.idempotency import KEY_MAX
from domain.kernel.clock import now
from domain.members import RegistrationClosed, consent, joining
from domain.ordering import (
    CATALOG_WINDOW_MESSAGES,
    MAX_QUANTITY,
    WINDOW_MESSAGES,
    OrderingError,
    check_access,
    check_maximum,
    minimums,
    not_enough,
    parse_quantity,
    recap,
    window_state,
)
from domain.ordering.baskets import (
    PRODUCT_COLUMNS,
    catalog_window,
    in_period,
    orderable_sql,
)
from domain.ordering.recap import RECAP_KIND, lines_json
from domain.payments import ledger, one_debt
from domain.tables import Order, Subscription

_P = "product_"
# Parameters: distribution, group, user, now (the order), key, user, now (the key),
# distribution, True, product (the product), now, user, group, own (the yes); the recap's
# kind and the user (who gets the recap of a validated order).
_LOCK = (  # constant text, every value a parameter
    "WITH d AS ("  # noqa: S608
    " SELECT d.*, g.kind AS group_kind, g.name AS group_name, g.slug AS group_slug,"
    " pl.name AS place_name, pl.address AS place_address"
    ' FROM distribution d JOIN app_group g ON g.id = d."group"'
    " LEFT JOIN place pl ON pl.id = d.place"
    ' WHERE d.id = {} AND d."group" = {} FOR SHARE OF d),'
    " o AS ("
    ' INSERT INTO member_order ("user", distribution, state, validated_at, updated_at,'
    " total_cents, absent)"
    " SELECT {}::int, d.id, 'draft', NULL::timestamptz, {}::timestamptz, 0, FALSE FROM d"
    ' ON CONFLICT ("user", distribution) DO UPDATE SET state = member_order.state'
    " RETURNING id, state, total_cents),"
    " k AS ("
    ' INSERT INTO request_key (key, "user", created_at) SELECT {}::varchar, {}::int,'
    " {}::timestamptz FROM o"
    " WHERE {}::varchar IS NOT NULL ON CONFLICT (key) DO NOTHING RETURNING id),"
    f" p AS ({orderable_sql(_P)} AND p.id = {{}}),"
    " yes AS ("
    " UPDATE membership SET accepted_at = {}"
    ' WHERE "user" = {} AND "group" = {} AND accepted_at IS NULL AND {} RETURNING id)'
    " SELECT d.*, o.id AS order_id, o.state AS order_state, o.total_cents AS order_total,"
    " (SELECT count(*) FROM k) AS claimed, (SELECT count(*) FROM yes) AS accepted, p.*,"
    " u.email AS recap_email, u.first_name AS recap_first_name, EXISTS (SELECT 1 FROM"
    ' mail_opt_out x WHERE x."user" = u.id AND x.kind = {}) AS recap_opted_out'
    ", m.escarcelle_access_until AS access_until"
    " FROM d LEFT JOIN o ON TRUE LEFT JOIN p ON TRUE LEFT JOIN app_user u ON u.id = {}"
    ' LEFT JOIN membership m ON m."user" = u.id AND m."group" = d."group"'
)

# Parameters: order, product (the line); absolute quantity, relative step; maximum of the
# product, MAX_QUANTITY; product (the stock, twice); order, product (the deletion);
# order, product, price, subscription (the line); order, product, price, now, order; the
# account's lock key, the order is validated (its debt follows: the account locked, after
# the stock, as `ledger.follow` locks it); the recap is wanted, order, product, group (the
# order's lines as they now are, for the recap mail).
_WRITE = (  # constant text, every value a parameter
    "WITH old AS (SELECT COALESCE((SELECT quantity FROM order_line"  # noqa: S608
    ' WHERE "order" = {} AND product = {}), 0) AS q),'
    " want AS (SELECT q AS old, CASE WHEN {}::int IS NOT NULL THEN {}::int"
    " ELSE GREATEST(0, q + {}::int) END AS new FROM old),"
    " ok AS (SELECT old, new, new - old AS delta FROM want"
    " WHERE new <> old AND ({}::int IS NULL OR new <= {}::int) AND new <= {}),"
    " taken AS (UPDATE product SET stock = product.stock - ok.delta FROM ok"
    " WHERE product.id = {} AND product.stock IS NOT NULL"
    " AND (ok.delta < 0 OR product.stock >= ok.delta) RETURNING product.stock),"
    " unlimited AS (SELECT 1 FROM product, ok WHERE product.id = {}"
    " AND product.stock IS NULL),"
    " go AS (SELECT 1 FROM taken UNION ALL SELECT 1 FROM unlimited),"
    ' gone AS (DELETE FROM order_line WHERE "order" = {} AND product = {}'
    " AND EXISTS (SELECT 1 FROM go) AND (SELECT new FROM ok) = 0 RETURNING id),"
    " line AS ("
    ' INSERT INTO order_line ("order", product, quantity, unit_price_cents, subscription)'
    " SELECT {}::int, {}::int, ok.new, {}::int, {}::int FROM ok"
    " WHERE ok.new > 0 AND EXISTS (SELECT 1 FROM go)"
    ' ON CONFLICT ("order", product) DO UPDATE SET quantity = EXCLUDED.quantity,'
    " unit_price_cents = EXCLUDED.unit_price_cents"
    " RETURNING id, product, quantity, unit_price_cents),"
    " total AS (UPDATE member_order SET total_cents ="
    " (SELECT COALESCE(SUM(quantity::bigint * unit_price_cents), 0) FROM order_line"
    ' WHERE "order" = {} AND product <> {}) + (SELECT new FROM ok)::bigint * {},'
    " updated_at = {} WHERE id = {} AND EXISTS (SELECT 1 FROM go) RETURNING total_cents),"
    " account AS (SELECT pg_advisory_xact_lock({}::bigint) FROM go WHERE {}::bool)"
    " SELECT old, new, EXISTS (SELECT 1 FROM go) AS changed,"
    " (SELECT stock FROM taken) AS stock_left, (SELECT total_cents FROM total) AS total,"
    " (SELECT count(*) FROM account) AS locked, CASE WHEN {}::bool THEN "
    + lines_json(
        '(SELECT id, product, quantity, unit_price_cents FROM order_line WHERE "order" = {}'
        " AND product <> {} UNION ALL SELECT id, product, quantity, unit_price_cents FROM line)"
    )
    + " END AS recap_lines FROM want"
)
# After `_WRITE` locked the account: the validated order's debt follows it (`one_debt`),
# with its recap mail (`outbox.GROUPED`) or without (none wanted).
_FOLLOW = f"WITH {one_debt.FOLLOW_ORDER} SELECT {one_debt.FOLLOWED} AS followed"
_FOLLOW_AND_RECAP = (
    f"WITH {one_debt.FOLLOW_ORDER}, {outbox.GROUPED}"
    f" SELECT {one_debt.FOLLOWED} AS followed, {outbox.GROUPED_ID} AS mail_id"
)
_LINE = (
    'SELECT (SELECT quantity FROM order_line WHERE "order" = {} AND product = {}) AS q,'
    " (SELECT stock FROM product WHERE id = {}) AS stock"
)


@dataclass
class LineResult:
    product: dict
    quantity: int
    total_cents: int
    order_state: str
    stock_left: int | None
    replayed: bool = False


async def join_with_order(user_id: int, group_id: int, ctx) -> list[int]:
    """Inside the order's transaction: the member joins with the order, or neither is kept."""
    try:
        return await joining.join_open_group(user_id, group_id, ctx)
    except RegistrationClosed as closed:
        raise OrderingError(
            closed.message or "Ce groupe n'accepte pas de nouveaux membres ainsi."
        ) from closed


async def subscription_for(user_id: int, product: dict, dist: dict) -> int | None:
    """In an AMAP, ordering from a variable contract subscribes the member to it."""
    if dist["group_kind"] != "amap":
        return None
    existing = (
        await Subscription.select(Subscription.id)
        .where(
            (Subscription.user == user_id)
            & (Subscription.catalog == product["catalog"])
            & Subscription.ended_at.is_null()
        )
        .first()
    )
    if existing:
        return existing["id"]
    day = dist["starts_at"].astimezone(UTC).date()
    rows = await Subscription.insert(
        Subscription(
            user=user_id,
            catalog=product["catalog"],
            starts_on=product["starts_on"] or day,
            ends_on=product["ends_on"] or day,
        )
    ).returning(Subscription.id)
    return rows[0]["id"]


async def _lock(user_id, group_id, distribution_id, product_id, key, own, moment) -> dict:
    rows = await fetch(
        Order,
        _LOCK,
        *(distribution_id, group_id, user_id, moment, key, user_id, moment, key),
        *(distribution_id, True, product_id, moment, user_id, group_id, own),
        *(RECAP_KIND, user_id),
    )
    if not rows:
        raise OrderingError("Distribution introuvable.")
    return rows[0]


def _product(row: dict) -> dict | None:
    if row[f"{_P}id"] is None:
        return None
    return {name: row[f"{_P}{name}"] for _, name in PRODUCT_COLUMNS}


async def _follow(order_id: int, user_id: int, row: dict, ctx, lines: list[dict] | None):
    """The validated order's debt follows it and, `lines` given, its recap is rewritten:
    one statement; `ledger.follow` after it for an order with basket lines."""
    debt = one_debt.args(order_id)
    mail_ids = []
    if lines is None:
        [done] = await fetch(Order, _FOLLOW, *debt)
    else:
        recipient = {
            "email": row["recap_email"],
            "first_name": row["recap_first_name"],
            "group_name": row["group_name"],
            "group_slug": row["group_slug"],
        }
        mail = recap.mail(order_id, user_id, row, ctx, recipient, lines)
        [done] = await fetch(Order, _FOLLOW_AND_RECAP, *debt, *await outbox.grouped_args(**mail))
        mail_ids = [done["mail_id"]]
    if not done["followed"]:
        await ledger.follow([order_id])
    return mail_ids


async def change_line(
    *,
    user_id: int,
    group_id: int,
    distribution_id: int,
    product_id: int,
    qty: int | None,
    step: int | None,
    key: str | None,
    ctx,
    join: bool,
    own: bool,
) -> tuple[LineResult, list[int]]:
    """`changes.set_quantity` on PostgreSQL, inside the caller's transaction: `qty`
    (absolute, already parsed) or `step` (relative)."""
    if key is not None and len(key) > KEY_MAX:
        raise OrderingError("Formulaire invalide : rechargez la page.")
    moment = now()
    row = await _lock(user_id, group_id, distribution_id, product_id, key, own, moment)
    state = window_state(row, moment)
    if state != "open":
        raise OrderingError(WINDOW_MESSAGES[state], product_id=product_id)
    check_access(row["access_until"], own=own, moment=moment)
    product = _product(row)
    if product is None or not in_period(product, row):
        raise OrderingError(
            "Ce produit n'est pas disponible à cette distribution.", product_id=product_id
        )
    closed = catalog_window(product, moment)
    if closed != "open":
        raise OrderingError(CATALOG_WINDOW_MESSAGES[closed], product_id=product_id)
    order_id, order_state = row["order_id"], row["order_state"]
    mail_ids: list[int] = []
    if key is not None and not row["claimed"]:  # a replay: the line as it is
        [line] = await fetch(Order, _LINE, order_id, product_id, product_id)
        result = LineResult(
            product, line["q"] or 0, row["order_total"], order_state, line["stock"], True
        )
    else:
        subscription_id = None
        if row["group_kind"] == "amap" and ((step or 0) > 0 or (qty or 0) > 0):
            subscription_id = await subscription_for(user_id, product, row)
        validated = order_state == "validated"
        recap_wanted = validated and ctx is not None and not row["recap_opted_out"]
        [done] = await fetch(
            Order,
            _WRITE,
            *(order_id, product_id, qty, qty, step, product["max_per_order"]),
            *(product["max_per_order"], MAX_QUANTITY, product_id, product_id),
            *(order_id, product_id, order_id, product_id, product["price_cents"]),
            *(subscription_id, order_id, product_id, product["price_cents"], moment, order_id),
            *(ledger.account_key(group_id, user_id), validated),
            *(recap_wanted, order_id, product_id, group_id),
        )
        if done["changed"]:
            result = LineResult(
                product, done["new"], done["total"], order_state, done["stock_left"]
            )
            if validated:
                if done["new"] < done["old"] and row["group_kind"] == "amap":
                    # A contract's minimums: refused, the transaction rolls the change back.
                    await minimums.check(
                        order_id, lowered=[product["catalog"]], product_id=product_id
                    )
                lines = recap.decoded_lines(done["recap_lines"]) if recap_wanted else None
                mail_ids = await _follow(order_id, user_id, row, ctx, lines)
        elif done["new"] == done["old"]:  # a − at zero, the quantity it already is
            result = LineResult(
                product, done["old"], row["order_total"], order_state, product["stock"]
            )
        else:
            parse_quantity(done["new"])  # over MAX_QUANTITY: refused with its message
            check_maximum(product, done["new"])
            [line] = await fetch(Order, _LINE, order_id, product_id, product_id)
            raise not_enough(product_id, done["old"] + max(0, line["stock"] or 0))
    if join:
        mail_ids += await join_with_order(user_id, group_id, ctx)
        if own:
            await consent.accept_by_order(user_id, group_id)
    return result, [m for m in mail_ids if m]
