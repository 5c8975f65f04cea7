"""What joins a producer space to catalogs and to Escarcelle: the offers of its list's
products by catalogs (m0024), the link to its grocery and the sales pushed there (m0025)."""

from piccolo.columns import BigInt, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.constraints import Unique
from piccolo.table import Table

from domain.tables.base import index
from domain.tables.core import Catalog, Distribution, Group, Order, Product, User
from domain.tables.producer import Producer


class CatalogOffer(Table):
    """A catalog offers a product of its producer's list. `group` is the catalog's: one
    catalog per group offers a product, so that each order line belongs to one catalog
    (the one of its order's group)."""

    catalog = ForeignKey(Catalog, null=False)
    product = ForeignKey(Product, null=False)
    group = ForeignKey(Group, null=False)

    catalog_offer_pair = Unique([catalog, product])
    catalog_offer_group = Unique([product, group])


class EscarcelleLink(Table, tablename="escarcelle_link"):
    """A producer space linked to its grocery in Escarcelle (Paramètres → Synchro
    Escarcelle).

    The key is stored sealed (domain/kernel/sealing.py, a key derived from SECRET_KEY) and
    shown by its last characters only. One Escarcelle grocery (`pdv_id`) is linked to one
    producer: its stock would be counted twice otherwise. `state`: ok | broken (Escarcelle
    refused the key: syncs stop until it is replaced). The stock sync is claimed on this row
    (`sync_claimed_at`, a lease) and the hourly run once per hour (`sync_hour`)."""

    producer = ForeignKey(Producer, null=False, unique=True)
    key_sealed = Text(default="")
    key_hint = Varchar(length=8, default="")
    pdv_id = Varchar(length=40, default="", unique=True)
    grocery_name = Varchar(length=200, default="")
    state = Varchar(length=20, default="ok")
    linked_at = Timestamptz(default=TimestamptzNow())
    linked_by = ForeignKey(User, null=True, default=None)
    broken_at = Timestamptz(null=True, default=None)
    last_sync_at = Timestamptz(null=True, default=None)
    last_error = Text(default="")
    last_error_at = Timestamptz(null=True, default=None)
    sync_hour = BigInt(default=0)  # hours since the epoch of the last scheduled sync
    sync_claimed_at = Timestamptz(null=True, default=None)


class EscarcelleSale(Table, tablename="escarcelle_sale"):
    """One member's basket at a validated distribution, as a sale to push to Escarcelle
    (from the validation record, consumed once). `state`: pending | sending (claimed, a
    lease) | sent | skipped (absent member, no Escarcelle id…: `reason`) | failed (retried
    hourly until `attempts` reaches the bound) | abandoned (left for a manual retry).
    `idempotency_key` is derived from (instance, distribution, basket): a retry, or a
    worker killed mid-push, never makes a second sale."""

    producer = ForeignKey(Producer, null=False)
    distribution = ForeignKey(Distribution, null=False)
    order = ForeignKey(Order, null=False)
    idempotency_key = Varchar(length=64, default="", unique=True)
    state = Varchar(length=20, default="pending")
    reason = Text(default="")
    lines = Text(default="[]")  # JSON: what is sent
    skipped_lines = Text(default="[]")  # JSON: lines left out, and why
    client_id = Varchar(length=40, null=True, default=None)
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(null=True, default=None)
    claimed_at = Timestamptz(null=True, default=None)
    sent_at = Timestamptz(null=True, default=None)
    escarcelle_sale_id = Varchar(length=40, default="")
    created_at = Timestamptz(default=TimestamptzNow())

    escarcelle_sale_basket = Unique([producer, distribution, order])


index(EscarcelleSale, "escarcelle_sale_state", EscarcelleSale.state, EscarcelleSale.next_attempt_at)
