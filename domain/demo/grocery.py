"""`./dev run`'s solidarity grocery (seed 002), linked to the simulator of Escarcelle's
assumed API (connectors/escarcelle_simulator.py)."""

from __future__ import annotations

from datetime import date, time, timedelta

import domain.demo.world as world
from domain.kernel.dates import paris_datetime

DEMO_PASSWORD = "demonstration"


async def grocery(escarcelle: dict, secret: str) -> None:
    """A solidarity grocery linked to the simulator of Escarcelle: its staff (lise, admin of
    its distribution point and its producer space), one beneficiary with her Escarcelle id,
    a catalog delivering every Wednesday; its products are yet to import (Produits →
    Import/Export → Import Escarcelle), so that a newcomer tries every step."""
    from domain import escarcelle as esc
    from domain.kernel import sealing
    from domain.tables import EscarcelleLink, Membership

    lise = await world.person(
        "lise@demo.test", "Lise", "Passerelle", phone="06 88 99 00 11", password=DEMO_PASSWORD
    )
    amina = await world.person(
        "amina@demo.test", "Amina", "Durand", phone="06 99 00 11 22", password=DEMO_PASSWORD
    )
    point = (
        await world.group(
            lise,
            "Épicerie solidaire La Passerelle",
            "grocery",
            slug="la-passerelle",
            registration="closed",
            description="Point de distribution de l'épicerie solidaire : commandes en ligne, "
            "retrait le mercredi.",
        )
    )["id"]
    await world.join(point, amina)
    await Membership.update(
        {Membership.escarcelle_id: "C0001", Membership.accepted_at: Membership.created_at}
    ).where((Membership.user == amina) & (Membership.group == point))
    vendor = await world.producer(point, "La Passerelle", user=lise)
    catalog = await world.catalog(point, vendor, "Épicerie", **world.season())
    place = await world.place(point, "Local de l'épicerie")
    today = date.today()
    wednesday = today + timedelta(days=(2 - today.weekday()) % 7 or 7)
    await world.distributions(
        point,
        place,
        [paris_datetime(wednesday + timedelta(weeks=w), time(14)) for w in range(3)],
        open_before=timedelta(days=7),
        catalogs=[catalog],
    )
    await EscarcelleLink.insert(
        EscarcelleLink(
            producer=await world.space_of(vendor),
            key_sealed=sealing.seal(escarcelle["key"], secret, esc.SEAL_PURPOSE),
            key_hint=sealing.hint(escarcelle["key"]),
            pdv_id=str(escarcelle["pdv_id"]),
            grocery_name=escarcelle["name"],
            linked_by=lise,
        )
    )
