"""Tables of distribution days: calendar feeds, volunteer duties, producers' order forms."""

from piccolo.columns import (
    Boolean,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.constraints import Unique
from piccolo.table import Table

from domain.tables.base import index
from domain.tables.core import Catalog, Distribution, Group, User


class CalendarFeed(Table):
    """A member's private calendar address for one group (domain/calendars.py). The URL
    carries the row's id, its version and a MAC of both under the secret key (nothing
    secret is stored); « Nouvelle adresse » bumps the version and « Désactiver » clears
    `active`: the old URL answers 404."""

    user = ForeignKey(User, null=False)
    group = ForeignKey(Group, null=False)
    version = Integer(default=1)
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())

    calendar_feed_pair = Unique([user, group])  # one address per member and group


class DutySettings(Table, tablename="duty_settings"):
    """A group's volunteer duties (permanences): how many days ahead members may sign up
    for a distribution, and the instructions every volunteer gets. No row: the defaults."""

    group = ForeignKey(Group, null=False, unique=True)
    open_days = Integer(default=60)
    instructions = Text(default="")


class DutyRole(Table, tablename="duty_role"):
    """A volunteer role (« Accueil », « Distribution des légumes »): of the group, at each
    of its distributions, or of one catalog, at the distributions that catalog delivers at;
    `places`: how many people it needs there. Removed roles stay for past sign-ups."""

    group = ForeignKey(Group, null=False)
    catalog = ForeignKey(Catalog, null=True, default=None)
    name = Varchar(length=120)
    places = Integer(default=1)
    instructions = Text(default="")
    position = Integer(default=0)
    removed_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


index(DutyRole, "duty_role_group", DutyRole.group)


class DutySignup(Table, tablename="duty_signup"):
    """A person holding place number `place` (1 to the role's places) of a role at a
    distribution. The two unique constraints are the rules of signing up, kept by the
    database whatever the race: one role per person and distribution (signing up twice is
    once), one person per place (two people taking the last place: one gets it)."""

    role = ForeignKey(DutyRole, null=False)
    distribution = ForeignKey(Distribution, null=False)
    user = ForeignKey(User, null=False)
    place = Integer(default=1)
    # The admin who assigned the person (None: they signed up); their account going away
    # leaves the sign-up.
    assigned_by = ForeignKey(User, null=True, default=None, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())

    duty_signup_person = Unique([distribution, user])
    duty_signup_place = Unique([role, distribution, place])


index(DutySignup, "duty_signup_user", DutySignup.user)


class OrderForm(Table, tablename="order_form"):
    """The order form (bon de commande) of a catalog at a distribution, sent to its
    producer when orders close: which version went (1, then 2… for the forms updated by
    corrections) and a digest of what it said. The row is the claim: a scheduler sends a
    version only if its INSERT, or its UPDATE from the previous version, is the one that
    went in. `seen_*`: changes not sent yet, and since when (an update waits for a quiet
    moment, not one mail per correction)."""

    catalog = ForeignKey(Catalog, null=False)
    distribution = ForeignKey(Distribution, null=False)
    version = Integer(default=0)
    digest = Varchar(length=64, default="")
    sent_at = Timestamptz(null=True, default=None)
    seen_digest = Varchar(length=64, default="")
    seen_at = Timestamptz(null=True, default=None)

    order_form_pair = Unique([catalog, distribution])


index(OrderForm, "order_form_distribution", OrderForm.distribution)
