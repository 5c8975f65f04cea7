"""Piccolo tables. Money in integer cents; times stored in UTC (Timestamptz)."""

from piccolo.columns import (
    Boolean,
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
    created_at = Timestamptz(default=TimestamptzNow())


class Group(Table, tablename="app_group"):
    name = Varchar(length=120)
    slug = Varchar(length=80, unique=True)
    kind = Varchar(length=20)  # amap | market | grocery
    registration = Varchar(length=20, default="open")  # open | waiting_list | closed
    description = Text(default="")
    instance = Varchar(length=40, default="main", index=True)
    created_at = Timestamptz(default=TimestamptzNow())


class Membership(Table):
    user = ForeignKey(User, null=False)
    group = ForeignKey(Group, null=False)
    is_admin = Boolean(default=False)
    can_messages = Boolean(default=False)
    can_members = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())
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
    group = ForeignKey(Group, null=False)
    vendor = ForeignKey(Vendor, null=False)
    name = Varchar(length=120)
    coordinator = ForeignKey(User, null=True, default=None)


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
    state = Varchar(length=20, default="pending", index=True)  # pending|sending|sent|failed
    attempts = Integer(default=0)
    last_error = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    claimed_at = Timestamptz(null=True, default=None)
    sent_at = Timestamptz(null=True, default=None)
