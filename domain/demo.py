"""Demo data, so that a newcomer sees a real AMAP and a real market at once."""

from __future__ import annotations

from domain.accounts import hash_password
from domain.database import transaction
from domain.tables import Catalog, Group, Membership, User, Vendor

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
        await Catalog.insert(
            Catalog(
                group=amap,
                vendor=farm_amap,
                name="Légumes de saison",
                coordinator=ids["paul@demo.test"],
            ),
            Catalog(group=amap, vendor=choc, name="La Chokolatière", coordinator=None),
            Catalog(group=market, vendor=farm_market, name="Légumes", coordinator=None),
        )
    return (
        "Données de démonstration ajoutées. Comptes (mot de passe « demonstration ») :\n"
        "  claire@demo.test  admin de l'AMAP Martign'AMAP\n"
        "  lea@demo.test     admin du Marché de la Gare\n"
        "  paul@demo.test    membre des deux, coordinateur d'un contrat\n"
        "  jean@demo.test    producteur (Ferme des Saules)"
    )
