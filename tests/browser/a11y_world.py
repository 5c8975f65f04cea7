"""The world of the accessibility tests: one of everything a page can show, and the ids
(and live tokens) to open every GET page of the app with, for each role.

Made by `python -m tests.browser.seed '{"a11y": true}'` in the server's database (the
server's environment, so its SECRET_KEY signs the links as the app does). An AMAP with a
variable catalog (ordering), a fixed one (a contract), 36 members with orders, a past and
an open distribution, permanences, payments; a market of 80 products for the visitor's
ordering pages and a large shop's (sections, search).
"""

from __future__ import annotations

from datetime import timedelta

EMAILS = {
    "admin": "adele.admin@a11y.test",
    "member": "mia.membre@a11y.test",
    "producer": "paul.producteur@a11y.test",
    "coordinator": "cora.coordinatrice@a11y.test",
}
# The market's sections (20 products each): the keys of its ordering page's sections.
MARKET_CATEGORIES = ["Légumes", "Fruits", "Crèmerie", "Épicerie"]
# Members who ordered at the open distribution: enough for the émargement to take pages.
BUYERS = 36


async def build() -> dict:
    from domain import communications
    from domain.demo import world
    from domain.kernel import clock, tokens
    from domain.members import consent
    from domain.payments import settings as payment_settings
    from domain.settings import load_settings
    from domain.tables import AccountToken, ContractTerms, Membership, Order

    secret = load_settings().secret_key
    now = clock.now()
    people = {
        role: await world.person(email, first, "A11y")
        for (role, email), first in zip(
            EMAILS.items(), ["Adèle", "Mia", "Paul", "Cora"], strict=True
        )
    }
    amap = await world.group(people["admin"], "AMAP des Tilleuls", "amap", slug="amap-a11y")
    g = amap["id"]
    await world.join(g, [people["member"], people["producer"], people["coordinator"]])
    halle = await world.place(g, "Halle des Tilleuls", "2 rue des Écoles, Rennes")
    farm = await world.producer(g, "Ferme des Saules", user=people["producer"])
    baker = await world.producer(g, "Fournil du Pont")
    season = world.season(now)
    vegetables = await world.catalog(
        g, farm, "Légumes de saison", coordinator=people["coordinator"], **season
    )
    bread = await world.catalog(g, baker, "Pain", kind="fixed", **season)
    open_dist = await world.open_distribution(g, halle, catalogs=[vegetables, bread])
    past = await world.past_distribution(g, halle, ago=timedelta(days=6), catalogs=[vegetables])
    coming = await world.distribution(g, halle, now + timedelta(days=14), catalogs=[vegetables])
    veg = await world.products(
        vegetables,
        [("Poireaux", 250), ("Carottes", 290), ("Œufs x6", 270), ("Salade batavia", 150)],
        unit="kg",
    )
    loaves = await world.products(bread, [("Pain de campagne 1 kg", 480)], unit="pièce")
    await world.subscription(
        people["member"],
        bread,
        starts_on=season["starts_on"],
        ends_on=season["ends_on"],
        lines={loaves[0]: 1},
    )
    # The contract allows absences: its « Absences » page.
    await ContractTerms.insert(
        ContractTerms(
            catalog=bread,
            absences_max=2,
            absences_from=season["starts_on"],
            absences_until=season["ends_on"],
        )
    )
    member_order = await world.order(people["member"], open_dist, {veg[0]: 2, veg[2]: 1})
    await world.order(people["member"], past, {veg[1]: 1})
    buyers = await world.buyers(
        g,
        open_dist,
        [{veg[i % 4]: 1 + i % 3, veg[(i + 1) % 4]: 1} for i in range(BUYERS)],
        email="acheteur{i}@a11y.test",
        first_name="Prénom{i}",
        last_name="Nom-{i}",
    )
    await payment_settings.save_settings(
        g,
        by_user_id=people["admin"],
        ledger=True,
        types=["cheque", "especes"],
        cheque_payee="AMAP des Tilleuls",
        iban="",
        instructions="Chèques à la distribution.",
    )
    await world.operations(g, [people["member"]], 4, recorded_by=people["admin"])
    await world.duty_settings(g, instructions="La clé est chez Adèle.")
    role = await world.duty_role(g, "Accueil", 2, instructions="Arriver 15 minutes avant.")
    await world.volunteers(role, open_dist, [people["member"]])

    # People on their way in: a Mode création account (its takeover link), an invited one.
    held = await world.created_account(g, people["admin"], "jeanne.papier@a11y.test")
    invited = await world.person("ines.invitee@a11y.test", "Inès", "Invitée", password=None)
    await world.join(g, invited)
    mover = await world.person("eric.email@a11y.test", "Éric", "Email")

    def token(user: int, purpose: str, **extra) -> str:
        raw, digest = tokens.new_token()
        rows.append(
            AccountToken(
                user=user,
                purpose=purpose,
                token_hash=digest,
                expires_at=now + timedelta(days=2),
                **extra,
            )
        )
        return raw

    from domain.members import takeover

    rows: list = []
    links = {
        "reset": token(people["member"], "reset"),
        # Opening this one changes the address at once: not one of the roles' accounts.
        "email": token(mover, "email_change", new_email="eric.nouveau@a11y.test"),
        "invite": token(invited, "invite"),
        "takeover": token(held, takeover.LINK),
    }
    await AccountToken.insert(*rows)
    membership = (
        await Membership.select(Membership.id)
        .where((Membership.user == people["member"]) & (Membership.group == g))
        .first()
    )
    answer = consent.answer_links(membership["id"], people["member"], g, secret, "")
    links["adhesion"] = answer["accept_url"].split("/")[2]
    links["unsubscribe"] = communications.unsubscribe_token(
        secret, people["member"], sorted(communications.KINDS)[0]
    )

    # A large shop: its ordering page in sections, a search, the member's basket on top.
    market = await world.distribution_world(
        people["admin"],
        kind="market",
        name="Marché de la Gare",
        products=80,
        categories=MARKET_CATEGORIES,
    )
    await world.join(market["group"]["id"], people["member"])
    await world.order(people["member"], market["distribution"], {market["products"][3]: 2})
    started = await Order.select(Order.id).where(Order.distribution == past).first()
    return {
        "amap": {"slug": amap["slug"], "id": g},
        "market": {
            "slug": market["group"]["slug"],
            "id": market["group"]["id"],
            "distribution": market["distribution"],
            "products": market["products"],
        },
        "users": people,
        "held": held,
        "catalog": vegetables,
        "contract": bread,
        "vendor": farm,
        "space": await world.space_of(farm),
        "place": halle,
        "distribution": open_dist,
        "past": past,
        "coming": coming,
        "products": veg,
        "order": member_order,
        "past_order": started["id"],
        "buyers": [b["id"] for b in buyers],
        "role": role,
        "links": links,
    }
