"""Piccolo tables. Money in integer cents; times stored in UTC (Timestamptz)."""

from piccolo.columns import (
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
from piccolo.table import Table


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
    # unique (user, group): a unique index created in the migration (portable to SQLite)


class Vendor(Table):
    """A producer selling in a group; `user` lets the producer log in."""

    group = ForeignKey(Group, null=False)
    name = Varchar(length=120)
    description = Text(default="")
    email = Varchar(length=254, default="")
    phone = Varchar(length=40, default="")
    address = Text(default="")
    user = ForeignKey(User, null=True, default=None)


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


class CatalogDistribution(Table):
    """Which catalogs deliver at a distribution; unique (catalog, distribution) by index.

    `orders_open_at` / `orders_close_at`: this catalog's own order window at that date,
    when it differs from the distribution's."""

    catalog = ForeignKey(Catalog, null=False)
    distribution = ForeignKey(Distribution, null=False)
    orders_open_at = Timestamptz(null=True, default=None)
    orders_close_at = Timestamptz(null=True, default=None)


class Product(Table):
    catalog = ForeignKey(Catalog, null=False)
    name = Varchar(length=150)  # weights and volumes are in the name: "Farine 1KG"
    unit = Varchar(length=30, default="pièce")
    price_cents = Integer()
    vat_rate = Integer(default=550)  # in hundredths of a percent: 550 = 5.5 %
    stock = Integer(null=True, default=None)  # None: unlimited
    max_per_order = Integer(null=True, default=None)
    reference = Varchar(length=64, default="")  # barcode
    active = Boolean(default=True)
    photo = Bytea(null=True, default=None)  # a small JPEG, resized server-side
    photo_version = Varchar(length=16, default="")
    position = Integer(default=0)


class Order(Table, tablename="member_order"):
    """A member's order for one distribution: all their lines. `draft` until validated."""

    user = ForeignKey(User, null=False)
    distribution = ForeignKey(Distribution, null=False)
    state = Varchar(length=20, default="draft")  # draft | validated
    validated_at = Timestamptz(null=True, default=None)
    updated_at = Timestamptz(default=TimestamptzNow())
    total_cents = Integer(default=0)
    absent = Boolean(default=False)  # marked at the distribution's validation


class OrderLine(Table):
    order = ForeignKey(Order, null=False)
    product = ForeignKey(Product, null=False)
    quantity = Integer(default=0)
    unit_price_cents = Integer()
    subscription = ForeignKey("Subscription", null=True, default=None)


class Subscription(Table):
    """A member's commitment to an AMAP contract over a period."""

    user = ForeignKey(User, null=False)
    catalog = ForeignKey(Catalog, null=False)
    starts_on = Date()
    ends_on = Date()
    ended_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class SubscriptionLine(Table):
    """The basket of a fixed contract: the same at every distribution of the period."""

    subscription = ForeignKey(Subscription, null=False)
    product = ForeignKey(Product, null=False)
    quantity = Integer()


class RequestKey(Table):
    """Idempotency keys of submitted forms: a replayed submission is applied once."""

    key = Varchar(length=64, unique=True)
    user = ForeignKey(User, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class AccountToken(Table):
    """Single-use links (password reset, e-mail change). Only a hash is stored."""

    user = ForeignKey(User, null=False)
    purpose = Varchar(length=20)  # reset | email_change
    token_hash = Varchar(length=64, unique=True)
    new_email = Varchar(length=254, default="")
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class LoginFailure(Table):
    """Failed logins, counted per account and per address across processes."""

    key = Varchar(length=300, index=True)
    at = Timestamptz(default=TimestamptzNow(), index=True)


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


class CatalogDocument(Table):
    """A PDF of a catalog (the contract to sign...), shown to `visibility`."""

    catalog = ForeignKey(Catalog, null=False)
    name = Varchar(length=200)
    visibility = Varchar(length=20, default="members")  # members | subscribers | admins
    content = Bytea()
    size = Integer(default=0)
    uploaded_by = ForeignKey(User, null=True, default=None)
    uploaded_at = Timestamptz(default=TimestamptzNow())


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


class ConsentRecord(Table):
    """Consent of a person whose account an admin created for them ("Mode création")."""

    user = ForeignKey(User, null=False)
    group = ForeignKey(Group, null=False)
    recorded_by = ForeignKey(User, null=False)
    recorded_at = Timestamptz(default=TimestamptzNow())
    statement = Text()


class MembershipFee(Table):
    """A yearly membership fee (adhésion) paid to the group's association."""

    group = ForeignKey(Group, null=False)
    user = ForeignKey(User, null=False)
    year = Integer()
    amount_cents = Integer()
    paid_on = Date()
    means = Varchar(length=40, default="")  # chèque, espèces, virement...
    recorded_by = ForeignKey(User, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class MailOptOut(Table):
    """An automatic notification kind a user does not want ("Mes communications")."""

    user = ForeignKey(User, null=False)
    kind = Varchar(length=40)  # orders_open | order_recap | reminder_24h | reminder_4h
    created_at = Timestamptz(default=TimestamptzNow())


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


class RedirectCount(Table):
    """Redirections served for a migrated group, per day (unique (group, day) by index)."""

    group = ForeignKey(Group, null=False)
    day = Date()
    count = Integer(default=0)
