"""Step 3 of seed 002: Produits → Import/Export → Import Escarcelle, a preview first, then
one transaction, once; matched by Escarcelle id then barcode; nothing deleted."""

from __future__ import annotations

import html
import re

from connectors.escarcelle_simulator import DEMO_KEY, ean13
from domain.demo import world as build
from domain.tables import EscarcelleLink, OutboxMail, Product
from tests.helpers import login, post_form
from tests.web.escarcelle.conftest import grocery_world


async def linked(client, simulator) -> dict:
    w = await grocery_world()
    await login(client, "lise@example.org")
    done = await post_form(
        client,
        f"/espace-producteur/{w['producer']}/parametres/escarcelle",
        {"key": DEMO_KEY},
        follow_redirects=False,
    )
    assert done.status_code == 303
    w["url"] = f"/espace-producteur/{w['producer']}/produits/import-escarcelle"
    return w


def token_of(page) -> str:
    return re.search(r'name="token" value="([^"]+)"', page.text).group(1)


async def confirm(client, url: str, token: str):
    return await post_form(client, url, {"token": token}, follow_redirects=False)


async def test_preview_then_one_import_with_categories_barcodes_and_stocks(
    client, escarcelle_url, simulator
):
    w = await linked(client, simulator)
    preview = await client.get(w["url"])
    assert preview.status_code == 200, preview.text
    text = html.unescape(preview.text)
    in_stock = [p for p in simulator.state()["products"].values() if p["stock"] > 0]
    assert f"{len(in_stock)} nouveaux" in text
    assert f"{len(in_stock)} produits sans photo" in text
    assert "sans poids ni volume dans le nom" in text  # « Pommes »… : by weight get 1KG
    assert "vendu au poids : commandé par kg entier" in text
    assert await Product.count() == 0  # a preview writes nothing
    token = token_of(preview)
    for _ in range(2):  # a double click imports once
        assert (await confirm(client, w["url"], token)).status_code == 303
    rows = await Product.select().where(Product.producer == w["producer"])
    assert len(rows) == len(in_stock)
    pasta = next(r for r in rows if r["escarcelle_id"] == "1001")
    source = simulator.state()["products"]["1001"]
    assert (pasta["name"], pasta["category"], pasta["catalog"]) == (
        "Pâtes 500G",
        "Épicerie salée",
        None,
    )
    assert (pasta["reference"], pasta["stock"], pasta["escarcelle_stock"]) == (
        source["barcodes"][0], source["stock"], source["stock"]
    )  # fmt: skip
    carrots = next(r for r in rows if r["escarcelle_id"] == "1010")
    assert (carrots["name"], carrots["unit"]) == ("Carottes 1KG", "kg")
    assert (
        await Product.select(Product.vat_rate).where(Product.escarcelle_id == "1013").first()
    ) == {"vat_rate": 2000}
    # Imported again: nothing new, nothing changed.
    again = html.unescape((await client.get(w["url"])).text)
    assert "0 nouveau," in again and f"{len(in_stock)} inchangés" in again


async def test_matched_by_barcode_in_the_reference_then_by_id_and_nothing_deleted(
    client, escarcelle_url, simulator
):
    w = await linked(client, simulator)
    source = simulator.state()["products"]["1002"]
    barcode = source["barcodes"][0]
    # Made by hand, the barcode typed with a leading zero and spaces: linked, not doubled.
    (flour,) = await build.products(
        w["points"][0]["catalog"], [("Farine T65", 150)], reference=f"0{barcode[:6]} {barcode[6:]}"
    )
    two = await build.list_products(
        w["producer"], [("Doublon A", 1), ("Doublon B", 1)], reference=ean13(12345)
    )

    def item(id_: str, name: str, barcode: str) -> dict:
        return {"id": id_, "name": name, "price_cents": 100, "barcodes": [barcode], "stock": 3}

    twins = [item("77", "Jumeau 1", "9990000000017"), item("78", "Jumeau 2", "9990000000017")]
    simulator.grocery(
        DEMO_KEY,
        "PDV-4242",
        "Épicerie solidaire La Passerelle (simulateur)",
        products=5,
        items=[*twins, item("79", "Doublé 1L", ean13(12345))],
    )
    preview = await client.get(w["url"])
    text = html.unescape(preview.text)
    assert "3 conflits" in text
    assert "code-barres 9990000000017 partagé avec le produit 78" in text
    assert "plusieurs de vos produits ont ce code-barres (Doublon A, Doublon B)" in text
    assert (await confirm(client, w["url"], token_of(preview))).status_code == 303
    row = await Product.select().where(Product.id == flour).first()
    assert (row["escarcelle_id"], row["name"], row["catalog"]) == (
        "1002",
        "Farine 1KG",
        w["points"][0]["catalog"],
    )
    assert await Product.count().where(Product.escarcelle_id.is_in(["77", "78", "79"])) == 0
    assert await Product.count().where(Product.id.is_in(two) & Product.escarcelle_id.is_null()) == 2
    # Escarcelle's stock of the flour falls to 0: the import keeps the product, stock 0.
    simulator.set_stock("1002", 0)
    preview = await client.get(w["url"])
    assert "Plus en stock dans Escarcelle" in preview.text
    await confirm(client, w["url"], token_of(preview))
    row = (
        await Product.select(Product.stock, Product.escarcelle_stock)
        .where(Product.id == flour)
        .first()
    )
    assert row == {"stock": 0, "escarcelle_stock": 0}


async def test_over_600_in_stock_is_refused(client, escarcelle_url, simulator):
    w = await linked(client, simulator)
    simulator.grocery(DEMO_KEY, "PDV-4242", "La Passerelle", products=680)
    refused = await client.get(w["url"])
    assert refused.status_code == 422
    in_stock = sum(1 for p in simulator.state()["products"].values() if p["stock"] > 0)
    assert in_stock > 600
    assert f"Escarcelle compte {in_stock} produits en stock" in html.unescape(refused.text)
    assert "600 au plus" in refused.text
    assert await Product.count() == 0


async def test_a_500_in_the_middle_imports_nothing_and_a_401_breaks_the_link(
    client, escarcelle_url, simulator
):
    w = await linked(client, simulator)
    simulator.grocery(DEMO_KEY, "PDV-4242", "La Passerelle", products=250)
    simulator.fault("500", path="/products", after=1, count=10)
    failed = await client.get(w["url"])
    assert failed.status_code == 422
    assert "Rien n'a été importé" in html.unescape(failed.text)
    assert await Product.count() == 0
    simulator.fault("none")
    simulator.fault("401", path="/products", count=1)
    refused = await client.get(w["url"])
    assert "remplacez-la dans Paramètres" in html.unescape(refused.text)
    assert (await EscarcelleLink.select(EscarcelleLink.state).first()) == {"state": "broken"}
    assert await OutboxMail.count().where(OutboxMail.kind == "escarcelle_broken") == 1
    settings = await client.get(f"/espace-producteur/{w['producer']}/parametres")
    assert "Synchronisation interrompue" in settings.text
