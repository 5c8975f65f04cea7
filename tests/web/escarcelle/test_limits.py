"""Step 7 of seed 002: once linked, no product is made unless its référence is an Escarcelle
barcode (which links it), an Escarcelle product's référence and stock are Escarcelle's, and
members come only through « Import Escarcelle »; removing the key lifts it all."""

from __future__ import annotations

import html

from domain.demo import world as build
from domain.escarcelle import limits
from domain.members import ESCARCELLE_ONLY
from domain.tables import Membership, Product
from tests.helpers import csrf_token, login, post_form
from tests.web.escarcelle.conftest import linked_grocery


def form(name: str, reference: str = "", stock: str = "3") -> dict:
    return {"name": name, "price": "2,00", "vat_rate": "550", "reference": reference,
            "stock": stock, "active": "1"}  # fmt: skip


async def test_a_product_made_by_hand_needs_an_escarcelle_barcode_which_links_it(
    client, escarcelle_url, simulator
):
    w = await linked_grocery(client, simulator)
    base = f"/espace-producteur/{w['producer']}/produits"
    refused = await post_form(client, f"{base}/nouveau", form("Sans code"))
    assert refused.status_code == 422 and "son code-barres Escarcelle" in html.unescape(
        refused.text
    )
    unknown = await post_form(client, f"{base}/nouveau", form("Inconnu", "3017620422003"))
    assert limits.UNKNOWN_BARCODE in html.unescape(unknown.text)
    # 1009 is out of stock in Escarcelle (not imported): typed by hand, it is linked.
    barcode = simulator.state()["products"]["1009"]["barcodes"][0]
    made = await post_form(
        client, f"{base}/nouveau", form("Pommes 1KG", barcode, "50"), follow_redirects=False
    )
    assert made.status_code == 303
    row = await Product.select().where(Product.name == "Pommes 1KG").first()
    assert (row["escarcelle_id"], row["stock"], row["escarcelle_stock"]) == ("1009", 0, 0)
    # The same in a catalog's own form.
    point = w["points"][0]
    url = f"/g/{point['group']['slug']}/catalogues/{point['catalog']}/produits/nouveau"
    refused = await client.post(
        url, data=form("Catalogue sans code") | {"_csrf_token": await csrf_token(client)}, files={}
    )
    assert refused.status_code == 422 and "son code-barres Escarcelle" in html.unescape(
        refused.text
    )
    assert await Product.count().where(Product.name.like("%sans code%")) == 0


async def test_an_escarcelle_product_keeps_its_reference_and_stock(
    client, escarcelle_url, simulator
):
    w = await linked_grocery(client, simulator)
    pasta = w["products"]["1001"]
    before = (
        await Product.select(Product.reference, Product.stock).where(Product.id == pasta).first()
    )
    page = await client.get(f"/espace-producteur/{w['producer']}/produits/{pasta}")
    assert "viennent d'Escarcelle et ne se modifient pas ici" in html.unescape(page.text)
    done = await client.post(
        f"/espace-producteur/{w['producer']}/produits/{pasta}",
        data=form("Pâtes 500G", "0000", "999") | {"_csrf_token": await csrf_token(client)},
        files={},
        follow_redirects=False,
    )
    assert done.status_code == 303
    after = (
        await Product.select(Product.reference, Product.stock).where(Product.id == pasta).first()
    )
    assert after == before
    # A product of a catalog matched by its barcode: its inline stock is refused too.
    point = w["points"][0]
    (own,) = await build.products(point["catalog"], [("Thé", 300)], stock=4)
    await Product.update({Product.escarcelle_id: "1027"}).where(Product.id == own)
    cell = await post_form(
        client,
        f"/g/{point['group']['slug']}/catalogues/{point['catalog']}/produits/{own}/ligne",
        {"field": "stock", "value": "40"},
        htmx=True,
    )
    assert "Stock tenu par Escarcelle" in cell.text
    assert (await Product.select(Product.stock).where(Product.id == own).first()) == {"stock": 4}


async def test_a_csv_import_of_new_products_needs_escarcelle_barcodes(
    client, escarcelle_url, simulator
):
    w = await linked_grocery(client, simulator)
    barcode = simulator.state()["products"]["1018"]["barcodes"][0]
    csv = f"nom;prix;référence\nLinké;1,00;{barcode}\nLibre;1,00;\n".encode()
    preview = await client.post(
        f"/espace-producteur/{w['producer']}/produits/import",
        files={"file": ("p.csv", csv, "text/csv")},
        data={"_csrf_token": await csrf_token(client)},
    )
    assert preview.status_code == 422
    text = html.unescape(preview.text)
    assert "Ligne 3 : " in text and "son code-barres Escarcelle" in text
    assert 'name="token"' not in preview.text


async def test_members_come_only_through_import_escarcelle_until_the_key_is_removed(
    client, app, escarcelle_url, simulator
):
    w = await linked_grocery(client, simulator, members=0)
    point = w["points"][0]
    slug = point["group"]["slug"]
    refused = await post_form(client, f"/g/{slug}/membres/nouveau", {"email": "x@example.org"})
    assert refused.status_code == 422
    assert ESCARCELLE_ONLY in html.unescape(refused.text)
    visitor = type(client)(app=app, base_url="http://localhost")
    await build.person("visiteur@example.org")
    await login(visitor, "visiteur@example.org")
    follow = await post_form(visitor, f"/g/{slug}/suivre", follow_redirects=False)
    assert follow.status_code == 403
    assert await Membership.count().where(Membership.group == point["group"]["id"]) == 1
    await post_form(client, f"/espace-producteur/{w['producer']}/parametres/escarcelle/supprimer")
    added = await post_form(
        client, f"/g/{slug}/membres/nouveau", {"email": "x@example.org"}, follow_redirects=False
    )
    assert added.status_code == 303
    made = await post_form(
        client,
        f"/espace-producteur/{w['producer']}/produits/nouveau",
        form("Libre à nouveau"),
        follow_redirects=False,
    )
    assert made.status_code == 303
