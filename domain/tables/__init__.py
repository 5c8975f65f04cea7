"""Piccolo tables. Money in integer cents; times stored in UTC (Timestamptz).

The database says what the code relies on, and each rule is declared next to its table:

- composite unique constraints (`Unique`): the code's `ON CONFLICT` and "exactly once"
  rely on them. On PostgreSQL they are named UNIQUE constraints; on SQLite, unique
  indexes of the same name (SQLite adds no constraint without a table rebuild);
- CHECK constraints (`Check`), named; NULL passes a CHECK (an unlimited stock);
- plain indexes that queries rely on, in `INDEXES` (Piccolo declares single-column ones
  only, `index=True`).

All of them are made by raw-SQL migrations (m0002, m0004, m0006, m0007, m0009): m0009
also declares the Unique and Check constraints to Piccolo's migration snapshot without
letting Piccolo run its own DDL, so an auto-migration sees nothing missing and creates no
duplicate. tests/database/test_constraints.py checks every declaration against the
database, on SQLite and PostgreSQL. A new constraint or index: declare it here and make it
in a raw-SQL migration as m0009 does (Piccolo's ADD CONSTRAINT cannot run on SQLite).

Money: totals and amounts are BigInt (64 bits: a total of 9 999 999,99 € × 3 does not fit
in 32). Unit prices stay Integer: `parse_euros` bounds them to 9 999 999,99 €, i.e.
999 999 999 cents < 2**31. On SQLite both are INTEGER, 64-bit already.

The tables live in this package's modules (core, days, ledger, producer, links,
contracts; the index helper in base) and are all named here: `from domain.tables import X`.
"""

from domain.tables.base import INDEXES, Index, index
from domain.tables.contracts import Absence, ContractTerms, SharedBasket
from domain.tables.core import (
    AccountToken,
    Catalog,
    CatalogDistribution,
    CatalogDocument,
    ConsentRecord,
    Distribution,
    Group,
    GroupMessage,
    InactivityNotice,
    JoinRequest,
    MailOptOut,
    Membership,
    MembershipFee,
    Order,
    OrderLine,
    OutboxMail,
    Place,
    Product,
    RedirectCount,
    RequestKey,
    Revision,
    Subscription,
    SubscriptionLine,
    Throttle,
    User,
    ValidationRecord,
    ValidationUse,
    Vendor,
    WebSession,
)
from domain.tables.days import CalendarFeed, DutyRole, DutySettings, DutySignup, OrderForm
from domain.tables.ledger import Operation, PaymentPledge, PaymentSettings, Settlement
from domain.tables.links import CatalogOffer, EscarcelleLink, EscarcelleSale
from domain.tables.producer import Producer

__all__ = [
    "INDEXES",
    "Index",
    "index",
    "User",
    "Group",
    "Membership",
    "Vendor",
    "Catalog",
    "Place",
    "Distribution",
    "CatalogDistribution",
    "Product",
    "Order",
    "OrderLine",
    "Subscription",
    "SubscriptionLine",
    "RequestKey",
    "AccountToken",
    "Throttle",
    "OutboxMail",
    "CatalogDocument",
    "JoinRequest",
    "ConsentRecord",
    "MembershipFee",
    "MailOptOut",
    "GroupMessage",
    "RedirectCount",
    "ValidationRecord",
    "ValidationUse",
    "WebSession",
    "Revision",
    "InactivityNotice",
    "CalendarFeed",
    "DutySettings",
    "DutyRole",
    "DutySignup",
    "OrderForm",
    "PaymentSettings",
    "Operation",
    "Settlement",
    "PaymentPledge",
    "Producer",
    "CatalogOffer",
    "EscarcelleLink",
    "EscarcelleSale",
    "ContractTerms",
    "Absence",
    "SharedBasket",
]
