"""The platform's tables: accounts, groups, catalogs, ordering, mail, sessions (see
domain/tables/__init__.py for the rules every table follows)."""

from piccolo.columns import (
    BigInt,
    Boolean,
    Bytea,
    Date,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.constraints import Check, Unique
from piccolo.table import Table

from domain.tables.base import index
from domain.tables.producer import Producer


class User(Table, tablename="app_user"):
    email = Varchar(length=254, unique=True)  # stored lowercased
    password_hash = Varchar(length=255, null=True, default=None)  # None: pending account
    first_name = Varchar(length=100, default="")
    last_name = Varchar(length=100, default="")
    phone = Varchar(length=40, default="")
    address = Varchar(length=200, default="")
    postal_code = Varchar(length=10, default="")
    city = Varchar(length=100, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    # Made by an admin in Mode création and not taken over by the person yet: no mail of
    # any kind reaches it (the outbox drops them at the claim) until the takeover.
    takeover_pending = Boolean(default=False)
    # When the person last logged in or used a session (written at most once a day): with
    # their orders, memberships and subscriptions, what tells that an account is still
    # used (domain/privacy/inactivity.py).
    last_seen_at = Timestamptz(null=True, default=None)
    # Set on the anonymous placeholder that stands, in a group's records (orders, contracts,
    # adhésions), for an account deleted at that moment (domain/privacy/deletion.py).
    deleted_at = Timestamptz(null=True, default=None)


class Group(Table, tablename="app_group"):
    name = Varchar(length=120)
    slug = Varchar(length=80, unique=True)
    kind = Varchar(length=20)  # amap | market | grocery
    registration = Varchar(length=20, default="open")  # open | waiting_list | closed
    description = Text(default="")
    instance = Varchar(length=40, default="main", index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    # A move to another instance (operator command): `instance` is the new one; requests
    # on `previous_instance`'s hosts are redirected from `migrated_at` to `redirect_until`.
    previous_instance = Varchar(length=40, default="")
    migrated_at = Timestamptz(null=True, default=None)
    redirect_until = Timestamptz(null=True, default=None)


class Membership(Table):
    user = ForeignKey(User, null=False)
    group = ForeignKey(Group, null=False)
    is_admin = Boolean(default=False)
    can_messages = Boolean(default=False)
    can_members = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())
    shared_with = ForeignKey(User, null=True, default=None)  # a couple sharing a membership
    # The person's yes: None until they accept (the link of the welcome mail, or their first
    # order). Until then, for an account that existed before an admin added it to the group
    # (`existing_account`), the group's admins see its e-mail and what they typed for it
    # (`invited_*`), never the account's names, phone or address: what shows is the same
    # as for an account the add made, so it does not tell whether the account existed.
    accepted_at = Timestamptz(null=True, default=None)
    existing_account = Boolean(default=False)
    invited_first_name = Varchar(length=100, default="")
    invited_last_name = Varchar(length=100, default="")
    invited_phone = Varchar(length=40, default="")
    invited_address = Varchar(length=200, default="")
    invited_postal_code = Varchar(length=10, default="")
    invited_city = Varchar(length=100, default="")
    # A beneficiary of a grocery linked to Escarcelle (« Import Escarcelle »): its client id
    # there (its sales carry it once the person has accepted) and the end of its access.
    escarcelle_id = Varchar(length=40, null=True, default=None)
    escarcelle_access_until = Date(null=True, default=None)

    membership_user_group = Unique([user, group])  # joining twice is joining once


index(Membership, "membership_group", Membership.group)
index(Membership, "membership_user", Membership.user)


class Vendor(Table):
    """A producer selling in a group; `user` lets the producer log in; `producer`: the
    producer space it belongs to (the one of its login's other vendors, else its own)."""

    group = ForeignKey(Group, null=False)
    name = Varchar(length=120)
    description = Text(default="")
    email = Varchar(length=254, default="")
    phone = Varchar(length=40, default="")
    address = Text(default="")
    user = ForeignKey(User, null=True, default=None)
    producer = ForeignKey(Producer, null=True, default=None)


index(Vendor, "vendor_group", Vendor.group)
index(Vendor, "vendor_producer", Vendor.producer)


class Catalog(Table):
    """A producer's offer in a group. In a market: variable orders. In an AMAP, a contract:
    `fixed` (the same basket at every distribution of the period) or `variable`."""

    group = ForeignKey(Group, null=False)
    vendor = ForeignKey(Vendor, null=False)
    name = Varchar(length=120)
    coordinator = ForeignKey(User, null=True, default=None)
    kind = Varchar(length=20, default="variable")  # variable | fixed
    starts_on = Date(null=True, default=None)
    ends_on = Date(null=True, default=None)
    description = Text(default="")
    # The order form sent to the producer when orders close: a copy to the coordinator too.
    order_form_copy = Boolean(default=False)


index(Catalog, "catalog_group", Catalog.group)


class Place(Table):
    group = ForeignKey(Group, null=False)
    name = Varchar(length=120)
    address = Text(default="")


class Distribution(Table):
    group = ForeignKey(Group, null=False)
    place = ForeignKey(Place, null=False)
    starts_at = Timestamptz()
    ends_at = Timestamptz()
    orders_open_at = Timestamptz()
    orders_close_at = Timestamptz()
    cancelled_at = Timestamptz(null=True, default=None)
    # "Valider la distribution": what was handed over is confirmed; orders become read-only.
    validated_at = Timestamptz(null=True, default=None)
    validated_by = ForeignKey(User, null=True, default=None)
    # Calendar feeds (domain/calendars.py): bumped at each move or cancellation, so that a
    # calendar app updates its event (RFC 5545 SEQUENCE).
    sequence = Integer(default=0)


index(Distribution, "distribution_group_start", Distribution.group, Distribution.starts_at)
index(Distribution, "distribution_start", Distribution.starts_at)  # the scheduler's reminders


class CatalogDistribution(Table):
    """Which catalogs deliver at a distribution, once per pair.

    `orders_open_at` / `orders_close_at`: this catalog's own order window at that date,
    when it differs from the distribution's."""

    catalog = ForeignKey(Catalog, null=False)
    distribution = ForeignKey(Distribution, null=False)
    orders_open_at = Timestamptz(null=True, default=None)
    orders_close_at = Timestamptz(null=True, default=None)

    catalog_distribution_pair = Unique([catalog, distribution])


index(
    CatalogDistribution,
    "catalog_distribution_distribution",
    CatalogDistribution.distribution,
)


class Product(Table):
    """A product of a producer (`producer`), offered by its own catalog (`catalog`) or, when
    `catalog` is None, by the catalogs that take it from the producer's list (CatalogOffer):
    one row, one stock either way. `escarcelle_*`: its id in Escarcelle, its stock there at
    the last sync, and when that was."""

    catalog = ForeignKey(Catalog, null=True, default=None)
    producer = ForeignKey(Producer, null=True, default=None)
    category = Varchar(length=60, null=True, default=None)
    name = Varchar(length=150)  # weights and volumes are in the name: "Farine 1KG"
    unit = Varchar(length=30, default="pièce")
    price_cents = Integer()  # a unit price, bounded by parse_euros: 32 bits suffice
    vat_rate = Integer(default=550)  # in hundredths of a percent: 550 = 5.5 %
    stock = Integer(null=True, default=None)  # None: unlimited
    max_per_order = Integer(null=True, default=None)
    reference = Varchar(length=64, default="")  # barcode
    active = Boolean(default=True)
    photo = Bytea(null=True, default=None)  # a small JPEG, resized server-side
    photo_version = Varchar(length=16, default="")
    position = Integer(default=0)
    escarcelle_id = Varchar(length=40, null=True, default=None)
    escarcelle_stock = Integer(null=True, default=None)
    escarcelle_synced_at = Timestamptz(null=True, default=None)

    # An Escarcelle product is one product of the producer (NULLs are distinct).
    product_producer_escarcelle = Unique([producer, escarcelle_id])
    # Ordering takes stock by a conditional UPDATE; the database refuses a stock below zero.
    product_stock_not_negative = Check(stock >= 0)


index(Product, "product_catalog", Product.catalog, Product.position)
index(Product, "product_producer", Product.producer, Product.name)


class Order(Table, tablename="member_order"):
    """A member's order for one distribution: all their lines. `draft` until validated."""

    user = ForeignKey(User, null=False)
    distribution = ForeignKey(Distribution, null=False)
    state = Varchar(length=20, default="draft")  # draft | validated
    validated_at = Timestamptz(null=True, default=None)
    updated_at = Timestamptz(default=TimestamptzNow())
    total_cents = BigInt(default=0)  # a sum of lines: 64 bits
    absent = Boolean(default=False)  # marked at the distribution's validation

    # One order per member and distribution: `order_for_update` inserts ON CONFLICT DO NOTHING.
    member_order_user_distribution = Unique([user, distribution])


index(Order, "member_order_distribution", Order.distribution)


class OrderLine(Table):
    order = ForeignKey(Order, null=False)
    product = ForeignKey(Product, null=False)
    quantity = Integer(default=0)  # never stored as 0: `apply_line` deletes such a line
    unit_price_cents = Integer()  # the product's price when ordered: bounded, 32 bits
    subscription = ForeignKey("Subscription", null=True, default=None)

    order_line_order_product = Unique([order, product])
    order_line_quantity_positive = Check(quantity > 0)


index(OrderLine, "order_line_product", OrderLine.product)


class Subscription(Table):
    """A member's commitment to an AMAP contract over a period."""

    user = ForeignKey(User, null=False)
    catalog = ForeignKey(Catalog, null=False)
    starts_on = Date()
    ends_on = Date()
    ended_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


index(Subscription, "subscription_user", Subscription.user, Subscription.catalog)


class SubscriptionLine(Table):
    """The basket of a fixed contract: the same at every distribution of the period."""

    subscription = ForeignKey(Subscription, null=False)
    product = ForeignKey(Product, null=False)
    quantity = Integer()  # products left out of the basket get no line

    subscription_line_pair = Unique([subscription, product])
    subscription_line_quantity_positive = Check(quantity > 0)


class RequestKey(Table):
    """Idempotency keys of submitted forms: a replayed submission is applied once."""

    key = Varchar(length=64, unique=True)
    user = ForeignKey(User, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class AccountToken(Table):
    """Single-use links (password reset, e-mail change, invitation, takeover of a Mode
    création account) and takeover codes. Only a digest is stored (a code's is keyed with
    the secret key: domain/members/takeover.py)."""

    user = ForeignKey(User, null=False)
    purpose = Varchar(length=20)  # reset | email_change | invite | takeover | takeover_code
    token_hash = Varchar(length=64, unique=True)
    new_email = Varchar(length=254, default="")
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class Throttle(Table):
    """Attempts counted per key across processes (a login per (account, address) pair and
    per account, a reset link per address…): each attempt is reserved by one conditional
    UPSERT before the work is done (domain/throttle.py). Times are epoch seconds, so that
    the statement's arithmetic is the same on both engines."""

    key = Varchar(length=300, unique=True)
    attempts = Integer(default=0)
    first_at = BigInt(default=0)  # start of the counting window
    next_at = BigInt(default=0)  # no attempt checked before this moment


class OutboxMail(Table):
    """Every mail is first a row here; `key` makes a second send of the same mail impossible."""

    key = Varchar(length=300, unique=True)
    kind = Varchar(length=40)
    instance = Varchar(length=40, default="main")
    to_addr = Varchar(length=254)
    subject = Varchar(length=300)
    body_text = Text()
    body_html = Text()
    state = Varchar(length=20, default="pending", index=True)  # pending|sending|sent|failed|bounced
    attempts = Integer(default=0)
    last_error = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    claimed_at = Timestamptz(null=True, default=None)
    sent_at = Timestamptz(null=True, default=None)
    send_after = Timestamptz(null=True, default=None)  # grouped mails wait until then
    user = ForeignKey(User, null=True, default=None)  # the recipient, when they have an account
    message = ForeignKey("GroupMessage", null=True, default=None)
    reply_to = Varchar(length=254, default="")
    headers = Text(default="")  # JSON object of extra headers (List-Unsubscribe...)
    # A file sent with this mail only (an order form's CSV); a group message's attachment
    # stays on its message, read once for its many recipients.
    attachment_name = Varchar(length=200, default="")
    attachment = Bytea(null=True, default=None)


index(OutboxMail, "outbox_mail_user", OutboxMail.user)
index(OutboxMail, "outbox_mail_message", OutboxMail.message)


class CatalogDocument(Table):
    """A PDF of a catalog (the contract to sign...), shown to `visibility`."""

    catalog = ForeignKey(Catalog, null=False)
    name = Varchar(length=200)
    visibility = Varchar(length=20, default="members")  # members | subscribers | admins
    content = Bytea()
    size = Integer(default=0)
    uploaded_by = ForeignKey(User, null=True, default=None)
    uploaded_at = Timestamptz(default=TimestamptzNow())


index(CatalogDocument, "catalog_document_catalog", CatalogDocument.catalog)


class JoinRequest(Table):
    """A request to join a group in "liste d'attente" mode."""

    user = ForeignKey(User, null=False)
    group = ForeignKey(Group, null=False)
    message = Text(default="")
    state = Varchar(length=20, default="pending")  # pending | accepted | refused
    answer = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    decided_by = ForeignKey(User, null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)


index(JoinRequest, "join_request_group", JoinRequest.group, JoinRequest.state)


class ConsentRecord(Table):
    """Consent of a person whose account an admin created for them ("Mode création")."""

    user = ForeignKey(User, null=False)
    group = ForeignKey(Group, null=False)
    recorded_by = ForeignKey(User, null=False)
    recorded_at = Timestamptz(default=TimestamptzNow())
    statement = Text()
    # « Une pièce justificative de ce consentement »: the signed form, a PDF or a photo
    # (re-encoded, without its metadata), read by the group's admins only.
    proof = Bytea(null=True, default=None)
    proof_name = Varchar(length=120, default="")
    proof_type = Varchar(length=40, default="")  # application/pdf | image/jpeg
    proof_size = Integer(default=0)
    proof_at = Timestamptz(null=True, default=None)


index(ConsentRecord, "consent_record_user", ConsentRecord.user)


class MembershipFee(Table):
    """A yearly membership fee (adhésion) paid to the group's association."""

    group = ForeignKey(Group, null=False)
    user = ForeignKey(User, null=False)
    year = Integer()
    amount_cents = BigInt()  # money stored in the database: 64 bits, as totals
    paid_on = Date()
    means = Varchar(length=40, default="")  # chèque, espèces, virement...
    recorded_by = ForeignKey(User, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


index(MembershipFee, "membership_fee_group", MembershipFee.group, MembershipFee.year)
index(MembershipFee, "membership_fee_user", MembershipFee.user)  # inactivity, one's own data


class MailOptOut(Table):
    """An automatic notification kind a user does not want ("Mes communications")."""

    user = ForeignKey(User, null=False)
    kind = Varchar(length=40)  # orders_open | order_recap | reminder_24h | reminder_4h
    created_at = Timestamptz(default=TimestamptzNow())

    mail_opt_out_pair = Unique([user, kind])  # opting out twice keeps one row


class GroupMessage(Table):
    """A message of the MESSAGERIE; each recipient's mail is an OutboxMail row."""

    group = ForeignKey(Group, null=False)
    author = ForeignKey(User, null=False)
    subject = Varchar(length=300)
    body = Text()
    recipients = Varchar(length=60)  # all | catalog:<id> | distribution:<id> | waiting | admins
    recipients_label = Varchar(length=300, default="")
    recipient_count = Integer(default=0)
    attachment_name = Varchar(length=200, default="")
    attachment = Bytea(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


index(GroupMessage, "group_message_group", GroupMessage.group, GroupMessage.created_at)


class RedirectCount(Table):
    """Redirections served for a migrated group, per day."""

    group = ForeignKey(Group, null=False)
    day = Date()
    count = Integer(default=0)

    redirect_count_day = Unique([group, day])  # ON CONFLICT ("group", day) DO UPDATE


class ValidationRecord(Table):
    """What « Valider la distribution » confirmed, written in the validation's own
    transaction: each member's delivered lines and who was absent (`content`, JSON). Later
    work reads it instead of hooks that a crash would skip: the Escarcelle sales push, the
    payments ledger, each consuming it once (ValidationUse). One per distribution."""

    distribution = ForeignKey(Distribution, null=False, unique=True)
    validated_by = ForeignKey(User, null=True, default=None)
    validated_at = Timestamptz(default=TimestamptzNow())
    content = Text()


class ValidationUse(Table):
    """A consumer's use of a validation record; unique (record, consumer): once each."""

    record = ForeignKey(ValidationRecord, null=False)
    consumer = Varchar(length=40)
    done_at = Timestamptz(default=TimestamptzNow())
    validation_use_once = Unique([record, consumer])  # ON CONFLICT DO NOTHING: once each


class WebSession(Table, tablename="web_session"):
    """A browser's session, in the database (the system of record: logging in and ordering
    keep working with Redis down). The cookie holds a random token; only its SHA-256 is
    here, so a copy of the table opens no session."""

    key_hash = Varchar(length=64, unique=True)
    user = ForeignKey(User, null=True, default=None)  # logged in as
    data = Text(default="")  # JSON: a visitor's baskets, a flash notice…
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()


index(WebSession, "web_session_user", WebSession.user)
index(WebSession, "web_session_expires", WebSession.expires_at)


class Revision(Table):
    """A number bumped in the same transaction as a change that every web process caches
    (`moves`: the groups moved to another instance). Each process reads it with its
    request and reloads its copy when it changed: a change applies everywhere at once."""

    name = Varchar(length=40, unique=True)
    number = BigInt(default=0)


class InactivityNotice(Table):
    """A warning that an unused account will be deleted (stages `month`, `fortnight`,
    `days`), or the notice to its groups' admins about a Mode création account never
    taken over (`admins`): once per stage and period of inactivity, `since` being the day
    of the account's last activity (domain/privacy/inactivity.py)."""

    user = ForeignKey(User, null=False)
    since = Date()
    stage = Varchar(length=20)
    queued_at = Timestamptz(default=TimestamptzNow())

    inactivity_notice_once = Unique([user, since, stage])  # ON CONFLICT DO NOTHING: once
