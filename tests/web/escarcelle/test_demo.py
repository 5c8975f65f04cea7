"""`./dev run`'s demo: a solidarity grocery already linked to the simulator."""

from __future__ import annotations

from connectors.escarcelle_simulator import DEMO_KEY, DEMO_NAME, DEMO_PDV
from domain import escarcelle
from domain.demo import seed_demo
from domain.tables import EscarcelleLink, Vendor
from jobs import escarcelle as escarcelle_jobs


async def test_the_demo_grocery_is_linked_to_the_simulator(settings, escarcelle_url, simulator):
    grocery = {"key": DEMO_KEY, "pdv_id": DEMO_PDV, "name": DEMO_NAME}
    message = await seed_demo(escarcelle=grocery, secret=settings.secret_key)
    assert "lise@demo.test" in message
    link = await EscarcelleLink.select().first()
    assert (link["pdv_id"], link["state"]) == (DEMO_PDV, "ok")
    assert await escarcelle.key_of(link["producer"], settings.secret_key) == DEMO_KEY
    vendor = (
        await Vendor.select(Vendor.user.email.as_alias("email"))
        .where(Vendor.producer == link["producer"])
        .first()
    )
    assert vendor["email"] == "lise@demo.test"
    items = await escarcelle_jobs.fetch_catalogue(link["producer"])
    assert len(items) == 36
