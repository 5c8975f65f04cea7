"""The life of an AMAP contract (CAMAP), on top of its subscriptions (domain/subscriptions):

- `terms`: what the coordinator sets for a contract: the payment plan (« Échéancier »: the
  days its cheques are cashed), the absences a member may declare, and for a variable
  contract its minimums and default order;
- `instalments`: each subscription's plan, the cheques received (payments of the ledger
  settling the subscription's debt) and those still expected, per member and for the
  contract, and the list of cheques to collect;
- `absences`: a member declares the distributions they will miss (MES CONTRATS), within
  the contract's allowance and before its deadline: those baskets are removed, their stock
  given back, and the subscription's debt follows (a new operation of the ledger);
- `sharing`: a subscription's second holder (alternance): who collects at which
  distribution, each holder's dates, the collector on the émargement, and reminders sent to
  the one whose turn it is;
- `variable`: a variable contract's minimums, and its default order, applied when orders
  close to the subscribers who did not order, who are told before.

Money goes through the ledger only (domain/payments): nothing here keeps an amount of its
own, so a plan is always what the subscription's debt and its payments say now."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date

from domain.tables import CatalogDistribution, ContractTerms


@dataclass
class Terms:
    catalog: int
    instalments: list[date] = field(default_factory=list)
    absences_max: int = 0
    absences_from: date | None = None
    absences_until: date | None = None
    absences_deadline: date | None = None
    minimum_order_cents: int = 0
    minimum_total_cents: int = 0
    default_order: dict[int, int] = field(default_factory=dict)

    @property
    def allows_absences(self) -> bool:
        return self.absences_max > 0


def parse_days(text: str) -> list[date]:
    """The stored plan ("2027-01-15,2027-02-15") as days; a bad one is skipped."""
    days = []
    for part in (text or "").split(","):
        try:
            days.append(date.fromisoformat(part.strip()))
        except ValueError:
            continue
    return days


def parse_default(text: str) -> dict[int, int]:
    try:
        raw = json.loads(text) if text else {}
    except ValueError:
        return {}
    if not isinstance(raw, dict):
        return {}
    return {
        int(k): int(v)
        for k, v in raw.items()
        if str(k).isascii() and str(k).isdigit() and isinstance(v, int) and v > 0
    }


def terms_from_row(catalog_id: int, row: dict | None) -> Terms:
    if row is None:
        return Terms(catalog=catalog_id)
    return Terms(
        catalog=catalog_id,
        instalments=parse_days(row["instalments"]),
        absences_max=row["absences_max"] or 0,
        absences_from=row["absences_from"],
        absences_until=row["absences_until"],
        absences_deadline=row["absences_deadline"],
        minimum_order_cents=row["minimum_order_cents"] or 0,
        minimum_total_cents=row["minimum_total_cents"] or 0,
        default_order=parse_default(row["default_order"]),
    )


async def terms_of(catalog_id: int) -> Terms:
    row = await ContractTerms.select().where(ContractTerms.catalog == catalog_id).first()
    return terms_from_row(catalog_id, row)


async def terms_of_many(catalog_ids: list[int]) -> dict[int, Terms]:
    rows = (
        await ContractTerms.select().where(ContractTerms.catalog.is_in(catalog_ids))
        if catalog_ids
        else []
    )
    found = {r["catalog"]: r for r in rows}
    return {c: terms_from_row(c, found.get(c)) for c in catalog_ids}


def day_of(dist: dict) -> date:
    """A distribution's day as a subscription's period counts it (subscriptions.py)."""
    return dist["starts_at"].astimezone(UTC).date()


async def catalog_dates(catalog_id: int) -> list[dict]:
    """Every distribution of the catalog that is not cancelled, oldest first, with its own
    order window: {id, starts_at, orders_open_at, orders_close_at, validated_at}."""
    rows = (
        await CatalogDistribution.select(
            CatalogDistribution.distribution.as_alias("id"),
            CatalogDistribution.distribution.starts_at.as_alias("starts_at"),
            CatalogDistribution.distribution.orders_open_at.as_alias("dist_open"),
            CatalogDistribution.distribution.orders_close_at.as_alias("dist_close"),
            CatalogDistribution.distribution.validated_at.as_alias("validated_at"),
            CatalogDistribution.distribution.place.name.as_alias("place_name"),
            CatalogDistribution.orders_open_at,
            CatalogDistribution.orders_close_at,
        )
        .where(
            (CatalogDistribution.catalog == catalog_id)
            & CatalogDistribution.distribution.cancelled_at.is_null()
        )
        .order_by(CatalogDistribution.distribution.starts_at)
        .order_by(CatalogDistribution.distribution.id)
    )
    for row in rows:
        # A catalog's own window narrows the distribution's (as domain/ordering applies it).
        row["closes_at"] = min(row["dist_close"], row["orders_close_at"] or row["dist_close"])
        row["opens_at"] = max(row["dist_open"], row["orders_open_at"] or row["dist_open"])
    return rows


def in_period(dates: list[dict], subscription: dict) -> list[dict]:
    """The distributions of a subscription's period."""
    return [d for d in dates if subscription["starts_on"] <= day_of(d) <= subscription["ends_on"]]
