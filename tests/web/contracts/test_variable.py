"""Variable contracts: a minimum order per distribution (« Valider ma commande » refused
below it), a minimum over the contract shown to the member, and a default order applied
when orders close to the subscribers who did not order, told by mail before."""

from __future__ import annotations

from datetime import timedelta

from domain.contracts import variable
from domain.demo import world as build
from domain.producer_space import products as space_products
from domain.tables import Catalog, Distribution, Operation, Order, OrderLine, OutboxMail, Product
from tests.helpers import MAIL_CONTEXT, login, post_form
from tests.web.contracts.helpers import contract_world, read
from tests.web.payments.helpers import as_user

CONTEXTS = {"main": MAIL_CONTEXT}


async def _terms(app, w, **form):
    coordinator = await as_user(app, "coord@example.org")
    response = await post_form(coordinator, f"{w['base']}/contrat", form)
    assert "Les conditions du contrat sont enregistrées." in read(response), read(response)


async def _order(client, w, dist, quantities):
    return await post_form(
        client,
        f"/g/{w['slug']}/commandes/{dist}",
        {f"q{p}": str(q) for p, q in quantities.items()} | {"valider": "1"},
    )


async def test_the_minimum_order_per_distribution_and_over_the_contract(app, client):
    w = await contract_world(kind="variable")
    await _terms(app, w, minimum_order="10", minimum_total="100")
    await login(client, "m0@example.org")
    first = w["distributions"][0]
    refused = await _order(client, w, first, {w["eggs"]: 1})
    assert refused.status_code == 422
    assert (
        "Le contrat « Légumes de saison » demande une commande d'au moins 10,00 € par "
        "distribution (votre commande : 3,00 €)." in read(refused)
    )
    assert not await Order.exists().where(Order.state == "validated")
    done = await _order(client, w, first, {w["eggs"]: 4})
    assert done.status_code in (200, 303)
    assert await Order.exists().where(Order.state == "validated")
    tab = read(await client.get(f"/g/{w['slug']}/contrats"))
    assert "Commandé : 12,00 € sur un minimum de 100,00 € pour le contrat" in tab
    assert "(reste 88,00 € à commander)" in tab


async def test_the_default_order_is_told_before_and_applied_at_the_closing(app, client):
    w = await contract_world(kind="variable", stock=10)
    await _terms(app, w, **{f"d{w['eggs']}": "2"})
    await login(client, "m0@example.org")
    first, second, _ = w["distributions"]
    await _order(client, w, first, {w["basket"]: 1})  # subscribes m0 to the contract
    dist = await Distribution.select().where(Distribution.id == second).first()
    closes = dist["orders_close_at"]
    # Before the closing: told, once (m1 never subscribed: nothing).
    for _ in range(2):
        await variable.queue_notices(CONTEXTS, closes - timedelta(hours=10))
    mails = await OutboxMail.select().where(OutboxMail.kind == "default_order")
    assert [m["to_addr"] for m in mails] == ["m0@example.org"]
    assert "2 × Œufs (6,00\xa0€)" in mails[0]["body_text"]
    assert "Commande par défaut le" in mails[0]["subject"]
    # Still open: nothing applied yet.
    assert await variable.apply_defaults(closes - timedelta(hours=1)) == 0
    # Closed: applied once, validated, its debt arises, the stock taken.
    assert await variable.apply_defaults(closes + timedelta(minutes=1)) == 1
    assert await variable.apply_defaults(closes + timedelta(minutes=2)) == 0
    order = await Order.select().where(Order.distribution == second).first()
    assert order["state"] == "validated" and order["total_cents"] == 600
    [line] = await OrderLine.select().where(OrderLine.order == order["id"])
    assert line["product"] == w["eggs"] and line["quantity"] == 2
    debts = await Operation.select().where(Operation.subject == f"order:{order['id']}")
    assert [d["amount_cents"] for d in debts] == [-600]
    # A member who ordered, or declared an absence, gets none: the first date has its order.
    assert await Order.count() == 2


async def test_minimums_belong_to_variable_contracts(app, client):
    w = await contract_world()
    coordinator = await as_user(app, "coord@example.org")
    refused = await post_form(coordinator, f"{w['base']}/contrat", {"minimum_order": "10"})
    assert refused.status_code == 422
    assert "Les minimums sont ceux d'un contrat à commande variable." in read(refused)
    refused = await post_form(coordinator, f"{w['base']}/contrat", {"minimum_order": "-3"})
    assert refused.status_code == 422 and "Indiquez un montant en euros" in read(refused)


async def test_the_minimum_counts_the_products_taken_from_the_producer_list(app, client):
    """A product of the producer's list offered by the contract counts for its minimum, with
    the contract's own products (catalog_offer, not product.catalog)."""
    w = await contract_world(kind="variable")
    await _terms(app, w, minimum_order="10")
    farm = await Catalog.select(Catalog.vendor).where(Catalog.id == w["catalog"]).first()
    space = await build.space_of(farm["vendor"])
    [honey] = await Product.insert(
        Product(catalog=None, producer=space, name="Miel 500G", price_cents=700)
    ).returning(Product.id)
    await space_products.add_to_catalog(space, [honey["id"]], w["catalog"])
    await login(client, "m0@example.org")
    first = w["distributions"][0]
    refused = await _order(client, w, first, {honey["id"]: 1})
    assert refused.status_code == 422
    assert "demande une commande d'au moins 10,00 € par distribution (votre commande : 7,00 €)" in (
        read(refused)
    )
    done = await _order(client, w, first, {honey["id"]: 1, w["eggs"]: 1})
    assert done.status_code in (200, 303), read(done)
    order = await Order.select().where(Order.state == "validated").first()
    assert order["total_cents"] == 1000
