"""Test data for the browser tests, made by the real domain code in the server's database.

Run by the `seed` fixture with the server's environment (DATABASE_URL, VAR_DIR):

    python -m tests.browser.seed '{"admin": "a@x.org", "members": ["m@x.org"], ...}'

The spec's keys: admin (e-mail), members (e-mails made members of the group), long_names
(renames every third product with a long name, as producers write them), and those of
tests.helpers.make_distribution_world (kind, registration, products, stock, name, ...).
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
    from domain.tables import Membership, Product
    from tests.helpers import make_distribution_world, make_user

    await prepare_engine()
    admin = await make_user(spec.pop("admin"), first_name="Adèle", last_name="Admin")
    members = spec.pop("members", [])
    long_names = spec.pop("long_names", False)
    world = await make_distribution_world(admin, **spec)
    if long_names:
        for n, product_id in enumerate(world["products"][::3]):
            name = LONG_NAMES[n % len(LONG_NAMES)]
            await Product.update({Product.name: name}).where(Product.id == product_id)
    group = world["group"]
    users = {}
    for email in members:
        users[email] = await make_user(email, first_name="Mia", last_name="Membre")
        await Membership.insert(Membership(user=users[email], group=group["id"]))
    return {
        "slug": group["slug"],
        "path": f"/g/{group['slug']}",
        "distribution": world["distribution"],
        "url": world["url"],
        "products": world["products"],
        "admin": admin,
        "members": users,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(seed(json.loads(sys.argv[1])))))
