"""Demo data, so that a newcomer sees a real AMAP and a real market at once.

Made with the builders of `domain.demo.world`, which the tests and benchmarks use too.
"""

from __future__ import annotations

from datetime import date, time, timedelta

from domain.database import transaction
from domain.demo import grocery, world
from domain.kernel.dates import paris_datetime
from domain.payments import settings as payment_settings
from domain.tables import User

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


async def seed_demo(escarcelle: dict | None = None, secret: str = "") -> str:
    """Fill an empty database; does nothing if there is already someone. `escarcelle`:
    {key, pdv_id, name} of the simulator's grocery, for a solidarity grocery already linked
    to it (its key sealed with `secret`)."""
    if await User.count() > 0:
        return "Base déjà remplie : données de démonstration non ajoutées."
    async with transaction():
        ids = {}
        for email, first, last, phone in PEOPLE:
            ids[email] = await world.person(email, first, last, phone=phone, password=DEMO_PASSWORD)
        amap = (
            await world.group(
                ids["claire@demo.test"],
                "Martign'AMAP",
                "amap",
                slug="martignamap",
                registration="waiting_list",
                description="AMAP de Martigné : paniers de légumes, pain et chocolat, "
                "distribution le mardi à 19 h.",
            )
        )["id"]
        market = (
            await world.group(
                ids["lea@demo.test"],
                "Marché de la Gare",
                "market",
                slug="marche-de-la-gare",
                registration="open",
                description="Marché de producteurs, commandes en ligne, retrait le vendredi.",
            )
        )["id"]
        await world.join(
            amap, [ids[e] for e in ("paul@demo.test", "melissa@demo.test", "ahmed@demo.test")]
        )
        await world.join(market, [ids[e] for e in ("ahmed@demo.test", "paul@demo.test")])
        farm_amap = await world.producer(amap, "Ferme des Saules", user=ids["jean@demo.test"])
        choc = await world.producer(amap, "La Chokolatière", user=ids["marie@demo.test"])
        farm_market = await world.producer(market, "Ferme des Saules", user=ids["jean@demo.test"])
        today = date.today()
        season = {"starts_on": today - timedelta(days=120), "ends_on": today + timedelta(days=240)}
        vegetables = await world.catalog(
            amap, farm_amap, "Légumes de saison", coordinator=ids["paul@demo.test"], **season
        )
        chocolate = await world.catalog(amap, choc, "La Chokolatière", **season)
        market_vegetables = await world.catalog(market, farm_market, "Légumes")
        amap_dates = await _distributions_and_orders(
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
        # Permanences: two roles of the AMAP, one of its vegetables' contract; Mélissa
        # welcomes members at the next distribution.
        await world.duty_settings(
            amap, instructions="La clé du local est chez Claire ; rendez-la après la distribution."
        )
        welcome = await world.duty_role(
            amap, "Accueil", 2, instructions="Arriver 15 minutes avant, cocher la liste."
        )
        await world.duty_role(amap, "Rangement", 1, position=1)
        await world.duty_role(
            amap,
            "Distribution des légumes",
            2,
            catalog=vegetables,
            position=2,
            instructions="Peser les paniers avec le producteur.",
        )
        await world.volunteers(welcome, amap_dates[3], [ids["melissa@demo.test"]])
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
        # How each group is paid (PARAMÈTRES → Paiements).
        await payment_settings.save_settings(
            amap,
            by_user_id=ids["claire@demo.test"],
            ledger=True,
            types=["cheque", "especes"],
            cheque_payee="Martign'AMAP",
            iban="",
            instructions="Chèques à remettre à la distribution du mardi.",
        )
        await payment_settings.save_settings(
            market,
            by_user_id=ids["lea@demo.test"],
            ledger=True,
            types=["especes", "cheque", "carte", "virement"],
            cheque_payee="Marché de la Gare",
            iban="FR76 3000 6000 0112 3456 7890 189",
            instructions="",
        )
        if escarcelle:
            await grocery.grocery(escarcelle, secret)
    shown = (
        "\n  lise@demo.test    gérante de l'épicerie solidaire La Passerelle (liée au simulateur "
        "Escarcelle)\n  amina@demo.test   bénéficiaire de l'épicerie"
        if escarcelle
        else ""
    )
    return (
        "Données de démonstration ajoutées. Comptes (mot de passe « demonstration ») :\n"
        "  claire@demo.test  admin de l'AMAP Martign'AMAP\n"
        "  lea@demo.test     admin du Marché de la Gare\n"
        "  paul@demo.test    membre des deux, coordinateur d'un contrat\n"
        "  jean@demo.test    producteur (Ferme des Saules)\n"
        "  marie@demo.test   productrice (La Chokolatière)" + shown
    )


async def _distributions_and_orders(
    group: int,
    place_name: str,
    *,
    weekday: int,
    at: time,
    catalogs: dict[int, list[tuple[str, int]]],
    buyers: list[int],
) -> list[int]:
    """Three past distributions with validated orders, and four coming ones (the next one
    open for orders), so that COMMANDES, the recaps and the statistics show something.
    Returns the distributions, the oldest first."""
    place = await world.place(group, place_name)
    products = [await world.products(catalog, items) for catalog, items in catalogs.items()]
    today = date.today()
    next_day = today + timedelta(days=(weekday - today.weekday()) % 7 or 7)
    starts = [paris_datetime(next_day + timedelta(weeks=week), at) for week in range(-3, 4)]
    dists = await world.distributions(
        group, place, starts, open_before=timedelta(days=6), catalogs=catalogs
    )
    for week, dist, start in zip(range(-3, 0), dists, starts, strict=False):
        await world.orders(
            dist,
            {
                buyer: {
                    product: 1 + (n + week + i) % 3
                    for items in products
                    for i, product in enumerate(items)
                    if (n + i + week) % 2 == 0 or i == 0
                }
                for n, buyer in enumerate(buyers)
            },
            validated_at=start - timedelta(days=2),
        )
    return dists
