"""Tables of AMAP contracts (domain/contracts): a contract's terms (payment plan,
absences, minimums and default order of a variable contract), the absences members
declare, and the second holder of a shared basket (alternance)."""

from piccolo.columns import (
    BigInt,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.constraints import Unique
from piccolo.table import Table

from domain.tables.base import index
from domain.tables.core import Catalog, Distribution, Subscription, User


class ContractTerms(Table, tablename="contract_terms"):
    """What the coordinator sets for a contract. No row: no payment plan (one payment), no
    absences, no minimum, no default order."""

    catalog = ForeignKey(Catalog, null=False, unique=True)
    # The payment plan: the days its cheques are cashed, ISO, comma-separated
    # ("2027-01-15,2027-02-15,2027-03-15": three cheques); "": paid at once.
    instalments = Varchar(length=400, default="")
    # Absences: each member may declare up to `absences_max` distributions between the two
    # days, up to `absences_deadline` (included; None: until the orders of each close).
    absences_max = Integer(default=0)
    absences_from = Date(null=True, default=None)
    absences_until = Date(null=True, default=None)
    absences_deadline = Date(null=True, default=None)
    # A variable contract: the least an order of it may be (at one distribution), and the
    # least a member orders over the contract (0: none); the order applied when a member
    # has not ordered when its orders close, JSON {"product id": quantity} ("": none).
    minimum_order_cents = BigInt(default=0)
    minimum_total_cents = BigInt(default=0)
    default_order = Text(default="")
    updated_at = Timestamptz(default=TimestamptzNow())
    updated_by = ForeignKey(User, null=True, default=None)


class Absence(Table, tablename="contract_absence"):
    """A distribution a subscriber will miss: its basket is not made (stock given back, the
    subscription's debt follows)."""

    subscription = ForeignKey(Subscription, null=False)
    distribution = ForeignKey(Distribution, null=False)
    declared_by = ForeignKey(User, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())

    contract_absence_pair = Unique([subscription, distribution])  # declared twice: once


index(Absence, "contract_absence_distribution", Absence.distribution)


class SharedBasket(Table, tablename="shared_basket"):
    """A subscription's second holder: the two collect the basket in turn, the holder
    first unless `partner_first` (« commencer par l'autre »)."""

    subscription = ForeignKey(Subscription, null=False, unique=True)
    partner = ForeignKey(User, null=False)
    partner_first = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_by = ForeignKey(User, null=True, default=None)


index(SharedBasket, "shared_basket_partner", SharedBasket.partner)
