"""Escarcelle's tests: the simulator (a process, tests/stack.py) at ESCARCELLE_URL."""

from __future__ import annotations

import pytest

from connectors.escarcelle_simulator import DEMO_KEY, DEMO_NAME, DEMO_PDV
from domain.demo import world as build

__all__ = ["DEMO_KEY", "DEMO_NAME", "DEMO_PDV"]


@pytest.fixture(autouse=True)
async def _escarcelle_jobs_done():
    """Every Escarcelle job a test enqueued has run before the next test: ids restart on
    empty tables, and a late sync or push would act on the next test's grocery."""
    yield
    import asyncio

    import dramatiq

    broker = dramatiq.get_broker()
    if "escarcelle" in broker.get_declared_queues() and hasattr(broker, "join"):
        await asyncio.to_thread(broker.join, "escarcelle", timeout=30_000)


async def grocery_world(*, points: int = 1, members: int = 2) -> dict:
    """A grocery (its staff: lise, who administers every distribution point too) selling in
    `points` groups of kind grocery, one variable catalog each delivering at an open
    distribution, and `members` members in each."""
    lise = await build.person("lise@example.org", "Lise", "Gérante")
    made = []
    for n in range(points):
        group = await build.group(lise, f"Point {n + 1}", "grocery")
        place = await build.place(group["id"])
        vendor = await build.producer(group["id"], "La Passerelle", user=lise)
        catalog = await build.catalog(group["id"], vendor, "Épicerie", **build.season())
        dist = await build.open_distribution(group["id"], place, catalogs=[catalog])
        people = await build.people(
            members, email=f"p{n}-{{i}}@example.org", first_name="Bénéficiaire{i}",
            last_name=f"Point{n}", password="motdepasse-solide",
        )  # fmt: skip
        await build.join(group["id"], people)
        made.append(
            {"group": group, "catalog": catalog, "distribution": dist, "vendor": vendor,
             "members": people}
        )  # fmt: skip
    return {"lise": lise, "producer": await build.space_of(made[0]["vendor"]), "points": made}


async def linked_grocery(client, simulator, *, points: int = 1, members: int = 2) -> dict:
    """`grocery_world` linked to the simulator's demo grocery (the key pasted by lise, who
    stays logged in on `client`), its products imported and added to every catalog.
    `products`: {Escarcelle id: product id}."""
    from domain.escarcelle import catalogue
    from domain.producer_space import products as space_products
    from domain.tables import Product
    from jobs import escarcelle as escarcelle_jobs
    from tests.helpers import login, post_form

    w = await grocery_world(points=points, members=members)
    await login(client, "lise@example.org")
    done = await post_form(
        client,
        f"/espace-producteur/{w['producer']}/parametres/escarcelle",
        {"key": DEMO_KEY},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    items = await escarcelle_jobs.fetch_catalogue(w["producer"])
    preview = catalogue.preview(items, await catalogue.existing(w["producer"]))
    await catalogue.confirm(w["producer"], catalogue.items_to_import(preview), once=None)
    rows = await Product.select(Product.id, Product.escarcelle_id).where(
        Product.producer == w["producer"]
    )
    w["products"] = {r["escarcelle_id"]: r["id"] for r in rows}
    for point in w["points"]:
        await space_products.add_to_catalog(
            w["producer"], list(w["products"].values()), point["catalog"]
        )
    return w


async def validate_over_http(client, point: dict, *, absent=(), delivered=None) -> None:
    """« Valider la distribution » as the group's admin does it, the date moved to the past
    (it may be validated once it started). `absent`: users marked absent; `delivered`:
    {line id: quantity handed over}."""
    from datetime import timedelta

    from domain.kernel import clock
    from domain.tables import Distribution, Order
    from tests.helpers import post_form

    moment = clock.now()
    await Distribution.update(
        {
            Distribution.starts_at: moment - timedelta(hours=1),
            Distribution.ends_at: moment,
            Distribution.orders_close_at: moment - timedelta(hours=2),
        }
    ).where(Distribution.id == point["distribution"])
    orders = await Order.select(Order.id, Order.user).where(
        Order.distribution == point["distribution"]
    )
    form = {"action": "valider"}
    for order in orders:
        form[f"shown{order['id']}"] = "1"
        if order["user"] in absent:
            form[f"absent{order['id']}"] = "1"
    for line_id, quantity in (delivered or {}).items():
        form[f"q{line_id}"] = str(quantity)
    url = f"/g/{point['group']['slug']}/distributions/{point['distribution']}/valider"
    done = await post_form(client, url, form, follow_redirects=False)
    assert done.status_code == 303, done.text
