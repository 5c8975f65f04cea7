"""Demo data, so that a newcomer sees a real AMAP and a real market at once."""

from __future__ import annotations

from datetime import date, time, timedelta

from domain.accounts import hash_password
from domain.database import transaction
from domain.distributions import paris_datetime
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
    User,
    Vendor,
)

DEMO_PASSWORD = "demonstration"

PEOPLE = [
    ("claire@demo.test", "Claire", "Martin", "06 11 22 33 44"),
    ("paul@demo.test", "Paul", "Mariuzzo", "06 22 33 44 55"),
    ("melissa@demo.test", "Mélissa", "Boursier", "06 33 44 55 66"),
    ("ahmed@demo.test", "Ahmed", "Benali", "06 44 55 66 77"),
    ("lea@demo.test", "Léa", "Dupont", "06 55 66 77 88"),
    ("jean@demo.test", "Jean", "Ferme-des-Saules", "06 66 77 88 99"),
    ("marie@demo.test", "Marie", "Chokolatière", "06 77 88 99 00"),
]


async def seed_demo() -> str:
    """Fill an empty database; does nothing if there is already someone."""
    if await User.count() > 0:
        return "Base déjà remplie : données de démonstration non ajoutées."
    password_hash = hash_password(DEMO_PASSWORD)
    async with transaction():
        ids = {}
        for email, first, last, phone in PEOPLE:
            rows = await User.insert(
                User(
                    email=email,
                    password_hash=password_hash,
                    first_name=first,
                    last_name=last,
                    phone=phone,
                )
            ).returning(User.id)
            ids[email] = rows[0]["id"]
        amap = (
            await Group.insert(
                Group(
                    name="Martign'AMAP",
                    slug="martignamap",
                    kind="amap",
                    registration="waiting_list",
                    description="AMAP de Martigné : paniers de légumes, pain et chocolat, "
                    "distribution le mardi à 19 h.",
                    instance="main",
                )
            ).returning(Group.id)
        )[0]["id"]
        market = (
            await Group.insert(
                Group(
                    name="Marché de la Gare",
                    slug="marche-de-la-gare",
                    kind="market",
                    registration="open",
                    description="Marché de producteurs, commandes en ligne, retrait le vendredi.",
                    instance="main",
                )
            ).returning(Group.id)
        )[0]["id"]
        memberships = [
            (amap, "claire@demo.test", True),
            (amap, "paul@demo.test", False),
            (amap, "melissa@demo.test", False),
            (amap, "ahmed@demo.test", False),
            (market, "lea@demo.test", True),
            (market, "ahmed@demo.test", False),
            (market, "paul@demo.test", False),
        ]
        await Membership.insert(
            *[
                Membership(
                    user=ids[email],
                    group=group,
                    is_admin=admin,
                    can_messages=admin,
                    can_members=admin,
                )
                for group, email, admin in memberships
            ]
        )
        farm_amap = (
            await Vendor.insert(
                Vendor(group=amap, name="Ferme des Saules", user=ids["jean@demo.test"])
            ).returning(Vendor.id)
        )[0]["id"]
        choc = (
            await Vendor.insert(
                Vendor(group=amap, name="La Chokolatière", user=ids["marie@demo.test"])
            ).returning(Vendor.id)
        )[0]["id"]
        farm_market = (
            await Vendor.insert(
                Vendor(group=market, name="Ferme des Saules", user=ids["jean@demo.test"])
            ).returning(Vendor.id)
        )[0]["id"]
        today = date.today()
        season = {"starts_on": today - timedelta(days=120), "ends_on": today + timedelta(days=240)}
        catalogs = await Catalog.insert(
            Catalog(
                group=amap,
                vendor=farm_amap,
                name="Légumes de saison",
                coordinator=ids["paul@demo.test"],
                **season,
            ),
            Catalog(group=amap, vendor=choc, name="La Chokolatière", coordinator=None, **season),
            Catalog(group=market, vendor=farm_market, name="Légumes", coordinator=None),
        ).returning(Catalog.id)
        vegetables, chocolate, market_vegetables = (row["id"] for row in catalogs)
        await _distributions_and_orders(
            amap,
            "MGDD",
            weekday=1,  # Tuesday, 19:00
            at=time(19),
            catalogs={
                vegetables: [("Panier de légumes", 1500), ("Œufs x6", 270), ("Poireaux 1KG", 320)],
                chocolate: [("Tablette noir 70% 100G", 450), ("Pralinés 200G", 1190)],
            },
            buyers=[ids[e] for e in ("paul@demo.test", "melissa@demo.test", "ahmed@demo.test")],
        )
        await _distributions_and_orders(
            market,
            "Halle de la Gare",
            weekday=4,  # Friday, 17:30
            at=time(17, 30),
            catalogs={
                market_vegetables: [
                    ("Carottes 1KG", 290),
                    ("Salade batavia", 150),
                    ("Pommes de terre 2,5KG", 550),
                    ("Farine T65 1KG", 310),
                ]
            },
            buyers=[ids[e] for e in ("ahmed@demo.test", "paul@demo.test")],
        )
    return (
        "Données de démonstration ajoutées. Comptes (mot de passe « demonstration ») :\n"
        "  claire@demo.test  admin de l'AMAP Martign'AMAP\n"
        "  lea@demo.test     admin du Marché de la Gare\n"
        "  paul@demo.test    membre des deux, coordinateur d'un contrat\n"
        "  jean@demo.test    producteur (Ferme des Saules)\n"
        "  marie@demo.test   productrice (La Chokolatière)"
    )


async def _distributions_and_orders(
    group: int,
    place_name: str,
    *,
    weekday: int,
    at: time,
    catalogs: dict[int, list[tuple[str, int]]],
    buyers: list[int],
) -> None:
    """Three past distributions with validated orders, and four coming ones (the next one
    open for orders), so that COMMANDES, the recaps and the statistics show something."""
    place = (await Place.insert(Place(group=group, name=place_name)).returning(Place.id))[0]["id"]
    products: dict[int, list[tuple[int, int]]] = {}
    for catalog, items in catalogs.items():
        rows = await Product.insert(
            *[
                Product(catalog=catalog, name=name, price_cents=price, position=i)
                for i, (name, price) in enumerate(items)
            ]
        ).returning(Product.id, Product.price_cents)
        products[catalog] = [(row["id"], row["price_cents"]) for row in rows]
    today = date.today()
    next_day = today + timedelta(days=(weekday - today.weekday()) % 7 or 7)
    for week in range(-3, 4):
        day = next_day + timedelta(weeks=week)
        starts = paris_datetime(day, at)
        dist = (
            await Distribution.insert(
                Distribution(
                    group=group,
                    place=place,
                    starts_at=starts,
                    ends_at=starts + timedelta(hours=2),
                    orders_open_at=starts - timedelta(days=6),
                    orders_close_at=starts - timedelta(days=1),
                )
            ).returning(Distribution.id)
        )[0]["id"]
        await CatalogDistribution.insert(
            *[CatalogDistribution(catalog=c, distribution=dist) for c in catalogs]
        )
        if week >= 0:
            continue
        for n, buyer in enumerate(buyers):
            lines = [
                (product, price, 1 + (n + week + i) % 3)
                for items in products.values()
                for i, (product, price) in enumerate(items)
                if (n + i + week) % 2 == 0 or i == 0
            ]
            order = (
                await Order.insert(
                    Order(
                        user=buyer,
                        distribution=dist,
                        state="validated",
                        validated_at=starts - timedelta(days=2),
                        total_cents=sum(price * qty for _, price, qty in lines),
                    )
                ).returning(Order.id)
            )[0]["id"]
            await OrderLine.insert(
                *[
                    OrderLine(order=order, product=p, quantity=q, unit_price_cents=price)
                    for p, price, q in lines
                ]
            )
