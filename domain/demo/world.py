"""Worlds: the people, groups, dates, catalogs and orders that the demo data, the tests and
the benchmarks start from, made by small builders over the domain's functions and tables.

Each builder makes one kind of thing and returns its id (a list of ids for the bulk ones,
a plain dict for a group or a composed world), so that a world reads as the sentence that
describes it:

    admin = await person("anne@example.org", "Anne")
    amap = await group(admin, "AMAP des Lilas")
    halle = await place(amap["id"])
    farm = await producer(amap["id"], "Ferme des Saules")
    vegetables = await catalog(amap["id"], farm)
    dist = await open_distribution(amap["id"], halle, catalogs=[vegetables])
    leeks, eggs = await products(vegetables, [("Poireaux", 250), ("Œufs", 390)])
    await buyers(amap["id"], dist, [{leeks: 2}, {eggs: 1}])

Times default to `clock.now()`: a test that freezes or moves the clock builds its world
around that moment, and a builder also takes an explicit `moment`. The bulk builders
(`people`, `join`, `products`, `distributions`, `orders`, `buyers`) write one INSERT per
chunk through `database.insert_rows`: tens of thousands of rows take a second, not minutes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta

from domain import groups

# Builders of their own modules, named here too: a world reads `world.person(...)`.
from domain.demo.ledger_duties import duty_role as duty_role
from domain.demo.ledger_duties import duty_settings as duty_settings
from domain.demo.ledger_duties import operations as operations
from domain.demo.ledger_duties import volunteers as volunteers
from domain.demo.people import PASSWORD as PASSWORD
from domain.demo.people import password_hash as password_hash
from domain.demo.people import people
from domain.demo.people import person as person
from domain.demo.producer_lists import list_products as list_products
from domain.demo.producer_lists import offer as offer
from domain.demo.rows import insert as _insert
from domain.demo.rows import one as _one
from domain.kernel import clock
from domain.outbox import MailContext
from domain.producer_space import producers as spaces
from domain.tables import (
    Catalog,
    CatalogDistribution,
    Distribution,
    Group,
    Membership,
    Order,
    OrderLine,
    Place,
    Product,
    Subscription,
    SubscriptionLine,
    Vendor,
)

H = timedelta(hours=1)
DAY = timedelta(days=1)
WEEK = timedelta(days=7)


# ---- groups -------------------------------------------------------------------------------


async def group(
    admin: int,
    name: str = "AMAP du Test",
    kind: str = "amap",
    *,
    registration: str = "open",
    description: str = "",
    instance: str = "main",
    slug: str | None = None,
) -> dict:
    """A group created by `admin`, who becomes its first admin (as on the creation page);
    `slug` replaces the one made from the name. Returns the group's row."""
    made = await groups.create_group(
        user_id=admin,
        name=name,
        kind=kind,
        registration=registration,
        description=description,
        instance=instance,
    )
    if slug is not None:
        await Group.update({Group.slug: slug}).where(Group.id == made["id"])
        made = await groups.group_by_id(made["id"])
    return made


async def join(group_id: int, users: int | Iterable[int], **rights: bool) -> None:
    """Members of the group (`rights`: is_admin, can_messages, can_members)."""
    ids = [users] if isinstance(users, int) else list(users)
    await _insert(Membership, [{"user": u, "group": group_id, **rights} for u in ids])


async def created_account(
    group_id: int,
    admin: int,
    email: str,
    first_name: str = "Jeanne",
    last_name: str = "Papier",
    *,
    ctx: MailContext | None = None,
) -> int:
    """An account `admin` made for a person in Mode création, with its consent record (as
    « Nouveau client » does): held from every mail until the person takes it over."""
    from domain.members import invitations

    added = await invitations.add_client(
        group_id,
        by_user_id=admin,
        email=email,
        first_name=first_name,
        last_name=last_name,
        creation=True,
        consent=True,
        ctx=ctx or MailContext(instance="main", site_name="Circuit Court", base_url=""),
    )
    return added.user_id


async def producer(group_id: int, name: str = "Ferme du Test", *, user: int | None = None) -> int:
    """A producer of the group (a vendor); `user`: the account it logs in with, whose
    producer space it joins (a new one for its first vendor)."""
    space = await spaces.for_login(user, name)
    return await _one(Vendor, group=group_id, name=name, user=user, producer=space)


async def space_of(vendor_id: int) -> int:
    """The producer space (Producer) of a vendor."""
    row = await Vendor.select(Vendor.producer).where(Vendor.id == vendor_id).first()
    return row["producer"]


async def place(group_id: int, name: str = "Halle", address: str = "") -> int:
    return await _one(Place, group=group_id, name=name, address=address)


# ---- distributions ------------------------------------------------------------------------


async def distribution(
    group_id: int,
    place_id: int,
    starts_at: datetime,
    *,
    hours: float = 2,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
    catalogs: Iterable[int] = (),
) -> int:
    """A distribution from `starts_at`; its orders open a week before and close a day
    before unless told; `catalogs` deliver at it."""
    dist = await _one(
        Distribution,
        group=group_id,
        place=place_id,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=hours),
        orders_open_at=opens_at or starts_at - WEEK,
        orders_close_at=closes_at or starts_at - DAY,
    )
    for catalog_id in catalogs:
        await deliver(catalog_id, [dist])
    return dist


async def distributions(
    group_id: int,
    place_id: int,
    starts: Iterable[datetime],
    *,
    hours: float = 2,
    open_before: timedelta = WEEK,
    close_before: timedelta = DAY,
    catalogs: Iterable[int] = (),
) -> list[int]:
    """Distributions at each of `starts` at once, orders open `open_before` and close
    `close_before` each one; every catalog of `catalogs` delivers at all of them."""
    ids = await _insert(
        Distribution,
        [
            {
                "group": group_id,
                "place": place_id,
                "starts_at": at,
                "ends_at": at + timedelta(hours=hours),
                "orders_open_at": at - open_before,
                "orders_close_at": at - close_before,
            }
            for at in starts
        ],
    )
    for catalog_id in catalogs:
        await deliver(catalog_id, ids)
    return ids


async def open_distribution(
    group_id: int,
    place_id: int,
    *,
    moment: datetime | None = None,
    opens_in: timedelta = -H,
    closes_in: timedelta = 48 * H,
    catalogs: Iterable[int] = (),
) -> int:
    """A distribution whose orders opened an hour before `moment` (now) and close two days
    after; it starts a day after they close. Other windows: `opens_in` > 0, not open yet;
    `closes_in` < 0, closed already."""
    moment = moment or clock.now()
    closes = moment + closes_in
    return await distribution(
        group_id,
        place_id,
        closes + 24 * H,
        opens_at=moment + opens_in,
        closes_at=closes,
        catalogs=catalogs,
    )


async def past_distribution(
    group_id: int,
    place_id: int,
    *,
    ago: timedelta = DAY,
    moment: datetime | None = None,
    catalogs: Iterable[int] = (),
) -> int:
    """A distribution that started `ago` before `moment` (now); its orders are closed."""
    return await distribution(group_id, place_id, (moment or clock.now()) - ago, catalogs=catalogs)


# ---- catalogs, products -------------------------------------------------------------------


def season(
    moment: datetime | None = None, *, before: int = 30, after: int = 365
) -> dict[str, date]:
    """A catalog's period around `moment` (now): from `before` days back to `after` ahead."""
    today = (moment or clock.now()).date()
    return {"starts_on": today - timedelta(days=before), "ends_on": today + timedelta(days=after)}


async def catalog(
    group_id: int,
    vendor_id: int,
    name: str = "Légumes",
    *,
    kind: str = "variable",
    coordinator: int | None = None,
    starts_on: date | None = None,
    ends_on: date | None = None,
    delivers: Iterable[int] = (),
) -> int:
    """A catalog (variable or fixed: a contract) of the producer, delivering at `delivers`."""
    catalog_id = await _one(
        Catalog,
        group=group_id,
        vendor=vendor_id,
        name=name,
        kind=kind,
        coordinator=coordinator,
        starts_on=starts_on,
        ends_on=ends_on,
    )
    await deliver(catalog_id, delivers)
    return catalog_id


async def deliver(catalog_id: int, distribution_ids: Iterable[int]) -> None:
    """The catalog delivers at these distributions."""
    await _insert(
        CatalogDistribution,
        [{"catalog": catalog_id, "distribution": d} for d in distribution_ids],
    )


async def products(
    catalog_id: int,
    items: int | Iterable[tuple[str, int]] = 3,
    *,
    name: str = "Produit {i:03d}",
    price_cents: int = 150,
    categories: Sequence[str] = (),
    **fields,
) -> list[int]:
    """Products of the catalog, in this order (their position): `items` (name, price in
    cents) pairs, or a count of products named from `name` at `price_cents` + their
    number (1,50 €, 1,51 €…). `fields` for all of them (unit, stock, vat_rate…);
    `reference` may be a template of `i` too; `categories` share the products out in
    runs (the first ones the first category…)."""
    pairs = (
        [(name.format(i=i), price_cents + i) for i in range(items)]
        if isinstance(items, int)
        else list(items)
    )
    reference = fields.pop("reference", "")
    owner = await _producer_of_catalog(catalog_id)
    return await _insert(
        Product,
        [
            {
                "catalog": catalog_id,
                "producer": owner,
                "name": product_name,
                "price_cents": price,
                "position": i,
                "reference": reference.format(i=i),
                **(
                    {"category": categories[i * len(categories) // len(pairs)]}
                    if categories
                    else {}
                ),
                **fields,
            }
            for i, (product_name, price) in enumerate(pairs)
        ],
    )


async def product(catalog_id: int, name: str = "Poireaux", price_cents: int = 250, **fields) -> int:
    owner = await _producer_of_catalog(catalog_id)
    return await _one(
        Product, catalog=catalog_id, producer=owner, name=name, price_cents=price_cents, **fields
    )


async def _producer_of_catalog(catalog_id: int) -> int | None:
    row = await Catalog.select(Catalog.vendor.producer).where(Catalog.id == catalog_id).first()
    return row["vendor.producer"] if row else None


# ---- orders, subscriptions ----------------------------------------------------------------


async def orders(
    distribution_id: int,
    baskets: Mapping[int, Mapping[int, int]],
    *,
    state: str = "validated",
    validated_at: datetime | None = None,
) -> list[int]:
    """One order per member at the distribution, `baskets` {user: {product: quantity}},
    as the ordering pages leave them: the products' prices of now, their total kept.
    Returns the orders' ids in the order of `baskets`."""
    if not baskets:
        return []
    wanted = sorted({p for lines in baskets.values() for p in lines})
    prices = {
        row["id"]: row["price_cents"]
        for start in range(0, len(wanted), 5000)
        for row in await Product.select(Product.id, Product.price_cents).where(
            Product.id.is_in(wanted[start : start + 5000])
        )
    }
    made = await _insert(
        Order,
        [
            {
                "user": user,
                "distribution": distribution_id,
                "state": state,
                "validated_at": validated_at,
                "total_cents": sum(prices[p] * q for p, q in lines.items()),
            }
            for user, lines in baskets.items()
        ],
        returning=("id", "user"),
    )
    order_of = {row["user"]: row["id"] for row in made}
    await _insert(
        OrderLine,
        [
            {"order": order_of[user], "product": p, "quantity": q, "unit_price_cents": prices[p]}
            for user, lines in baskets.items()
            for p, q in lines.items()
        ],
    )
    return [order_of[user] for user in baskets]


async def order(
    user: int,
    distribution_id: int,
    lines: Mapping[int, int],
    *,
    state: str = "validated",
    validated_at: datetime | None = None,
) -> int:
    """A member's order (see `orders`)."""
    (made,) = await orders(distribution_id, {user: lines}, state=state, validated_at=validated_at)
    return made


async def buyers(
    group_id: int,
    distribution_id: int,
    baskets: Sequence[Mapping[int, int]],
    *,
    state: str = "validated",
    validated_at: datetime | None = None,
    **names,
) -> list[dict]:
    """`len(baskets)` new members of the group, the i-th ordering `baskets[i]` at the
    distribution; `names`: the templates of `people`. Returns [{"id", "order"}]."""
    users = await people(len(baskets), **names)
    await join(group_id, users)
    made = await orders(
        distribution_id,
        dict(zip(users, baskets, strict=True)),
        state=state,
        validated_at=validated_at,
    )
    return [{"id": u, "order": o} for u, o in zip(users, made, strict=True)]


async def subscription(
    user: int,
    catalog_id: int,
    *,
    starts_on: date,
    ends_on: date,
    lines: Mapping[int, int] | None = None,
    ended_at: datetime | None = None,
) -> int:
    """A member's subscription to a contract, with its basket `lines` {product: quantity}."""
    sub = await _one(
        Subscription,
        user=user,
        catalog=catalog_id,
        starts_on=starts_on,
        ends_on=ends_on,
        ended_at=ended_at,
    )
    await _insert(
        SubscriptionLine,
        [{"subscription": sub, "product": p, "quantity": q} for p, q in (lines or {}).items()],
    )
    return sub


# ---- the usual world of the tests ----------------------------------------------------------


async def distribution_world(
    admin: int,
    *,
    kind: str = "market",
    registration: str = "open",
    products: int = 3,
    stock: int | None = None,
    opens_in: timedelta = -H,
    closes_in: timedelta = 48 * H,
    name: str = "Marché Test",
    moment: datetime | None = None,
    categories: Sequence[str] = (),
) -> dict:
    """A group of `admin` with a producer ("Ferme du Test"), its catalog "Légumes" in season
    delivering at one distribution at "Halle" whose orders are open at `moment` (now, see
    `open_distribution`), and `products` products "Produit 000"… at 1,50 €, 1,51 €… the kg
    (`stock` each, None: unlimited; `categories` shared out among them in runs). Returns
    the ids, the group's row and the ordering URL."""
    made = await group(admin, name, kind, registration=registration)
    halle = await place(made["id"])
    dist = await open_distribution(
        made["id"], halle, moment=moment, opens_in=opens_in, closes_in=closes_in
    )
    vendor = await producer(made["id"])
    catalog_id = await catalog(made["id"], vendor, **season(moment), delivers=[dist])
    product_ids = await _product_list(catalog_id, products, stock, categories)
    return {
        "group": made,
        "place": halle,
        "distribution": dist,
        "catalog": catalog_id,
        "vendor": vendor,
        "products": product_ids,
        "url": f"/g/{made['slug']}/commandes/{dist}",
    }


async def _product_list(
    catalog_id: int, count: int, stock: int | None, categories: Sequence[str]
) -> list[int]:
    # `distribution_world`'s parameter `products` hides the builder of that name.
    return await products(catalog_id, count, unit="kg", stock=stock, categories=categories)
