"""Test data for the browser tests, made by the real domain code in the server's database.

Run by the `seed` fixture with the server's environment (DATABASE_URL, VAR_DIR):

    python -m tests.browser.seed '{"admin": "a@x.org", "members": ["m@x.org"], ...}'

The spec's keys: admin (e-mail), members (e-mails made members of the group),
nameless (e-mails made members without first or last name, as an admin's add leaves them,
with the usual password), payments (the group's « Paiements » settings, the keyword
arguments of domain.payments.settings.save_settings), validated ({e-mail of a member:
{product index: quantity}}: their order validated as « Valider ma commande » does, its
debt included), started (the distribution began an hour ago), contract ({"subscribers": [e-mails],
"absences": N}: an AMAP's fixed contract over three weekly dates, see `_contract`), long_names
(renames every third product with a long name, as producers write them), and those of
tests.helpers.make_distribution_world (kind, registration, products, stock, name, ...),
which is domain.demo.world.distribution_world with its order window in hours.
`{"a11y": true}` builds the accessibility tests' world instead (tests/browser/a11y_world.py).
Prints one line of JSON: slug, path, distribution, url, products and the users' ids.
"""

from __future__ import annotations

import asyncio
import json
import sys

LONG_NAMES = [
    "Pommes de terre nouvelles de Noirmoutier, variété Bonnotte, cagette de 5 kg",
    "Fromage de chèvre fermier affiné au lait cru (crottin)",
    "Confiture extra framboise-groseille-cassis-myrtille-sureau-mûre-cerise",
    "Jus-de-pommes-poires-coings-pressé-à-la-ferme-sans-sucre-ajouté-bouteille-1l",
]


async def seed(spec: dict) -> dict:
    from domain.database import prepare_engine
    from domain.demo import world as build
    from domain.tables import Product
    from tests.helpers import make_distribution_world, make_user

    await prepare_engine()
    if spec.pop("a11y", False):
        from tests.browser import a11y_world

        return await a11y_world.build()
    admin = await make_user(spec.pop("admin"), first_name="Adèle", last_name="Admin")
    members = spec.pop("members", [])
    nameless = spec.pop("nameless", [])
    long_names = spec.pop("long_names", False)
    payments = spec.pop("payments", None)
    validated = spec.pop("validated", {})
    started = spec.pop("started", False)
    contract = spec.pop("contract", None)
    world = await make_distribution_world(admin, **spec)
    if long_names:
        for n, product_id in enumerate(world["products"][::3]):
            name = LONG_NAMES[n % len(LONG_NAMES)]
            await Product.update({Product.name: name}).where(Product.id == product_id)
    group = world["group"]
    users = {}
    for email in members:
        users[email] = await make_user(email, first_name="Mia", last_name="Membre")
        await build.join(group["id"], users[email])
    for email in nameless:
        users[email] = await build.person(email, "", "")
        await build.join(group["id"], users[email])
    await _payments(world, admin, users, payments, validated, started)
    if contract is not None:
        await _contract(world, users, contract)
    return {
        "slug": group["slug"],
        "path": f"/g/{group['slug']}",
        "distribution": world["distribution"],
        "url": world["url"],
        "products": world["products"],
        "admin": admin,
        "members": users,
    }


async def _payments(world, admin, users, payments, validated, started) -> None:
    from datetime import timedelta

    from domain.kernel.clock import now
    from domain.ordering import changes
    from domain.payments import settings
    from domain.tables import Distribution
    from tests.helpers import MAIL_CONTEXT

    if payments is not None:
        await settings.save_settings(world["group"]["id"], by_user_id=admin, **payments)
    for email, basket in validated.items():
        await changes.submit_basket(
            user_id=users[email],
            group_id=world["group"]["id"],
            distribution_id=world["distribution"],
            quantities={world["products"][int(i)]: str(q) for i, q in basket.items()},
            key=None,
            ctx=MAIL_CONTEXT,
            own=True,
        )
    if started:
        starts = now() - timedelta(hours=1)
        await Distribution.update(
            {
                Distribution.starts_at: starts,
                Distribution.ends_at: starts + timedelta(hours=2),
                Distribution.orders_open_at: starts - timedelta(days=7),
                Distribution.orders_close_at: starts - timedelta(days=1),
            }
        ).where(Distribution.id == world["distribution"])


async def grocery(spec: dict) -> dict:
    """A solidarity grocery (`admin` runs its distribution point and its producer space),
    a variable catalog delivering at an open distribution, and `members` beneficiaries with
    their Escarcelle ids C0001…, accepted."""
    from domain.database import prepare_engine
    from domain.demo import world as build
    from domain.tables import Membership
    from tests.helpers import make_user

    await prepare_engine()
    admin = await make_user(spec["admin"], first_name="Lise", last_name="Gérante")
    group = await build.group(admin, spec["name"], "grocery", registration="closed")
    vendor = await build.producer(group["id"], "La Passerelle", user=admin)
    catalog = await build.catalog(group["id"], vendor, "Épicerie", **build.season())
    dist = await build.open_distribution(
        group["id"], await build.place(group["id"]), catalogs=[catalog]
    )
    users = {}
    for n, email in enumerate(spec.get("members", []), start=1):
        users[email] = await make_user(email, first_name=f"Bénéficiaire{n}", last_name="Test")
        await build.join(group["id"], users[email])
        await Membership.update(
            {Membership.escarcelle_id: f"C{n:04d}", Membership.accepted_at: Membership.created_at}
        ).where(Membership.user == users[email])
    return {
        "slug": group["slug"],
        "producer": await build.space_of(vendor),
        "catalog": catalog,
        "distribution": dist,
        "members": users,
    }


async def orders(spec: dict) -> dict:
    """Validated orders {user id: {Escarcelle id: quantity}} at the distribution, which is
    then moved to an hour ago (it may be validated)."""
    from datetime import timedelta

    from domain.database import prepare_engine
    from domain.demo import world as build
    from domain.kernel import clock
    from domain.tables import Distribution, Product

    await prepare_engine()
    ids = {
        row["escarcelle_id"]: row["id"]
        for row in await Product.select(Product.id, Product.escarcelle_id).where(
            Product.escarcelle_id.is_not_null()
        )
    }
    baskets = {
        int(user): {ids[esc]: qty for esc, qty in lines.items()}
        for user, lines in spec["baskets"].items()
    }
    await build.orders(spec["distribution"], baskets)
    moment = clock.now()
    await Distribution.update(
        {Distribution.starts_at: moment - timedelta(hours=1), Distribution.ends_at: moment}
    ).where(Distribution.id == spec["distribution"])
    return {"orders": len(baskets)}


async def _contract(world, users, contract: dict) -> None:
    """The catalog becomes a fixed AMAP contract delivering at two more weekly dates, with
    `absences` allowed over the season; `subscribers` subscribe to one « Produit 000 »."""
    from datetime import timedelta

    from domain import subscriptions
    from domain.demo import world as build
    from domain.kernel.clock import now
    from domain.tables import Catalog, ContractTerms, Distribution

    await Catalog.update({Catalog.kind: "fixed"}).where(Catalog.id == world["catalog"])
    first = await Distribution.select().where(Distribution.id == world["distribution"]).first()
    await build.distributions(
        world["group"]["id"],
        world["place"],
        [first["starts_at"] + timedelta(weeks=w) for w in (1, 2)],
        catalogs=[world["catalog"]],
    )
    today = now().date()
    await ContractTerms.insert(
        ContractTerms(
            catalog=world["catalog"],
            absences_max=contract.get("absences", 1),
            absences_from=today,
            absences_until=today + timedelta(days=60),
        )
    )
    for email in contract.get("subscribers", []):
        await subscriptions.subscribe(
            group_id=world["group"]["id"],
            catalog_id=world["catalog"],
            user_id=users[email],
            quantities={world["products"][0]: "1"},
            own=True,
        )


if __name__ == "__main__":
    spec = json.loads(sys.argv[1])
    made = {"grocery": grocery, "orders": orders}.get(spec.pop("make", ""), seed)
    print(json.dumps(asyncio.run(made(spec))))
