"""PRODUITS and STOCKS of the producer space: a producer's list of products, added to the
catalogs of the groups where it sells, with one stock that orders from every group draw
from; the catalogs' recaps and the validation see those orders."""

from __future__ import annotations

import html
import re

from domain.catalogs import product_files
from domain.demo import world as build
from domain.tables import CatalogOffer, Order, OrderLine, Product
from tests.helpers import csrf_token, login, post_form

DAYS = 2


async def two_points(stock: int | None = 5) -> dict:
    """A grocery (one account, jean) selling in two groups, one variable catalog in each, each
    delivering at an open distribution; a member in each group; one product in the grocery's
    list, in no catalog yet."""
    jean = await build.person("jean@example.org", "Jean")
    admins = [await build.person(f"admin{i}@example.org", "Admin") for i in (1, 2)]
    members = [await build.person(f"membre{i}@example.org", "Membre") for i in (1, 2)]
    points = []
    for i, (admin, member) in enumerate(zip(admins, members, strict=True)):
        group = await build.group(admin, f"Point {i + 1}", "grocery")
        place = await build.place(group["id"])
        vendor = await build.producer(group["id"], "Épicerie", user=jean)
        catalog = await build.catalog(group["id"], vendor, "Épicerie", **build.season())
        dist = await build.open_distribution(group["id"], place, catalogs=[catalog])
        await build.join(group["id"], member)
        points.append({"group": group, "catalog": catalog, "distribution": dist, "vendor": vendor})
    producer = await build.space_of(points[0]["vendor"])
    assert producer == await build.space_of(points[1]["vendor"])  # one space for the account
    (pasta,) = await build.list_products(producer, [("Pâtes 500G", 120)], stock=stock)
    return {
        "jean": jean,
        "producer": producer,
        "points": points,
        "pasta": pasta,
        "members": members,
    }


async def add(client, producer: int, ids: list[int], catalog: int):
    return await post_form(
        client,
        f"/espace-producteur/{producer}/produits/catalogue",
        {"ids": [str(i) for i in ids], "catalog": str(catalog)},
        follow_redirects=False,
    )


async def order(client, point: dict, product: int, quantity: int):
    url = f"/g/{point['group']['slug']}/commandes/{point['distribution']}"
    page = await client.get(url)
    assert page.status_code == 200
    return await post_form(client, f"{url}/ligne/{product}", {"q": str(quantity)}, htmx=True)


async def test_one_stock_for_the_catalogs_of_two_groups(client, app):
    w = await two_points(stock=5)
    await login(client, "jean@example.org")
    page = await client.get(f"/espace-producteur/{w['producer']}/produits")
    assert page.status_code == 200
    assert "Pâtes 500G" in page.text and "dans aucun catalogue" in page.text
    assert "sans photo" in page.text
    for point in w["points"]:
        done = await add(client, w["producer"], [w["pasta"]], point["catalog"])
        assert done.status_code == 303
    page = await client.get(f"/espace-producteur/{w['producer']}/produits")
    assert "Point 1 · Épicerie" in page.text and "Point 2 · Épicerie" in page.text
    assert await CatalogOffer.count() == 2

    # Members of both groups order from the one stock of 5.
    first, second = (type(client)(app=app, base_url="http://localhost") for _ in range(2))
    await login(first, "membre1@example.org")
    assert (await order(first, w["points"][0], w["pasta"], 3)).status_code == 200
    await login(second, "membre2@example.org")
    refused = await order(second, w["points"][1], w["pasta"], 3)
    assert "Plus que 2 disponibles" in refused.text
    assert (await order(second, w["points"][1], w["pasta"], 2)).status_code == 200
    stock = await Product.select(Product.stock).where(Product.id == w["pasta"]).first()
    assert stock == {"stock": 0}
    assert await OrderLine.count() == 2

    # The Stocks page: 5 reserved (ordered, not handed over), none available.
    page = await client.get(f"/espace-producteur/{w['producer']}/stocks")
    row = re.search(rf'<tr id="stock-{w["pasta"]}">.*?</tr>', page.text, re.S).group(0)
    assert re.findall(r'<td class="num">(\d+)</td>', row) == ["5", "0"]


async def test_each_catalog_sees_the_orders_of_its_own_group(client, app):
    w = await two_points(stock=None)
    for point in w["points"]:
        await build.offer(point["catalog"], [w["pasta"]])
    for member, point, quantity in zip(w["members"], w["points"], (2, 7), strict=True):
        await build.order(member, point["distribution"], {w["pasta"]: quantity})
    await login(client, "admin1@example.org")
    first = w["points"][0]
    catalog_url = f"/g/{first['group']['slug']}/catalogues/{first['catalog']}"
    url = f"{catalog_url}/commandes/{first['distribution']}"
    recap = await client.get(url)
    assert recap.status_code == 200
    assert "Pâtes 500G" in recap.text
    text = re.sub(r"\s+", " ", recap.text)
    assert "7" not in re.findall(r'class="num">(\d+)<', text)  # the other group's order
    products = await client.get(
        f"/g/{first['group']['slug']}/catalogues/{first['catalog']}/produits"
    )
    assert 'id="taken-products"' in products.text and "Pâtes 500G" in products.text
    # Read-only from the catalog: the product is not one of its own.
    edit = await client.get(
        f"/g/{first['group']['slug']}/catalogues/{first['catalog']}/produits/{w['pasta']}"
    )
    assert edit.status_code == 404
    # The validation sheet of the date names the vendor.
    sheet = await client.get(
        f"/g/{first['group']['slug']}/distributions/{first['distribution']}/valider"
    )
    assert sheet.status_code == 200 and "Épicerie" in sheet.text


async def test_an_own_product_joins_the_list_when_added_to_a_second_catalog(client):
    w = await two_points()
    first, second = w["points"]
    (rice,) = await build.products(first["catalog"], [("Riz 1KG", 210)], stock=9)
    await build.order(w["members"][0], first["distribution"], {rice: 1})
    await login(client, "jean@example.org")
    page = await client.get(f"/espace-producteur/{w['producer']}/produits")
    assert "Riz 1KG" in page.text  # its own catalog's product is in the list
    assert (await add(client, w["producer"], [rice], second["catalog"])).status_code == 303
    row = await Product.select(Product.catalog, Product.producer).where(Product.id == rice).first()
    assert row == {"catalog": None, "producer": w["producer"]}
    offers = await CatalogOffer.select(CatalogOffer.catalog).where(CatalogOffer.product == rice)
    assert sorted(o["catalog"] for o in offers) == sorted([first["catalog"], second["catalog"]])
    # The first catalog still sees its order; removing the product there is refused.
    refused = await post_form(
        client,
        f"/espace-producteur/{w['producer']}/produits/{rice}/retirer",
        {"catalog": str(first["catalog"])},
        follow_redirects=False,
    )
    assert refused.status_code == 303
    page = await client.get(f"/espace-producteur/{w['producer']}/produits")
    assert "Des commandes de ce groupe contiennent ce produit" in page.text
    removed = await post_form(
        client,
        f"/espace-producteur/{w['producer']}/produits/{rice}/retirer",
        {"catalog": str(second["catalog"])},
        follow_redirects=False,
    )
    assert removed.status_code == 303
    assert await CatalogOffer.count().where(CatalogOffer.product == rice) == 1


async def test_refusals_of_adding_to_a_catalog(client):
    w = await two_points()
    first = w["points"][0]
    contract = await build.catalog(first["group"]["id"], first["vendor"], "Contrat", kind="fixed")
    other_vendor = await build.producer(first["group"]["id"], "Voisin")
    foreign = await build.catalog(first["group"]["id"], other_vendor, "Voisin")
    await login(client, "jean@example.org")
    for catalog, message in (
        (contract, "Un contrat à commande fixe garde ses propres produits"),
        (foreign, "Choisissez un de vos catalogues."),
        ("x", "Choisissez un de vos catalogues."),
    ):
        await add(client, w["producer"], [w["pasta"]], catalog)
        page = await client.get(f"/espace-producteur/{w['producer']}/produits")
        assert message in page.text
    # A second catalog of the same group: one catalog per group offers a product.
    second_here = await build.catalog(first["group"]["id"], first["vendor"], "Vrac")
    await add(client, w["producer"], [w["pasta"]], first["catalog"])
    await add(client, w["producer"], [w["pasta"]], second_here)
    page = await client.get(f"/espace-producteur/{w['producer']}/produits")
    assert "est déjà proposé dans ce groupe par le catalogue « Épicerie »" in page.text
    assert await CatalogOffer.count() == 1


async def test_another_producer_space_is_not_found(client):
    w = await two_points()
    other = await build.person("autre@example.org")
    await login(client, "autre@example.org")
    for path in ("produits", "stocks", f"produits/{w['pasta']}", "produits/nouveau"):
        assert (await client.get(f"/espace-producteur/{w['producer']}/{path}")).status_code == 404
    refused = await add(client, w["producer"], [w["pasta"]], w["points"][0]["catalog"])
    assert refused.status_code == 404
    assert await CatalogOffer.count() == 0
    # Under one's own space, another producer's product is not found either.
    group = await build.group(await build.person("o@example.org"), "Autre", "market")
    mine = await build.space_of(await build.producer(group["id"], "À moi", user=other))
    for path in (f"produits/{w['pasta']}",):
        assert (await client.get(f"/espace-producteur/{mine}/{path}")).status_code == 404
        posted = await post_form(
            client, f"/espace-producteur/{mine}/{path}", {"name": "Volé", "price": "1"}
        )
        assert posted.status_code == 404
    stolen = await add(client, mine, [w["pasta"]], w["points"][0]["catalog"])
    assert stolen.status_code == 303
    assert await CatalogOffer.count() == 0
    name = await Product.select(Product.name).where(Product.id == w["pasta"]).first()
    assert name == {"name": "Pâtes 500G"}


async def test_the_product_form_and_the_csv_import_of_the_list(client):
    w = await two_points()
    await login(client, "jean@example.org")
    base = f"/espace-producteur/{w['producer']}/produits"
    bad = await post_form(
        client, f"{base}/nouveau", {"name": "", "price": "abc", "category": "x" * 61}
    )
    assert bad.status_code == 422
    assert "Indiquez le nom du produit." in bad.text
    assert "La catégorie ne doit pas dépasser 60 caractères." in bad.text
    made = await post_form(
        client,
        f"{base}/nouveau",
        {"name": "Farine 1KG", "price": "1,80", "vat_rate": "550", "category": "Épicerie",
         "stock": "12", "active": "1"},
        follow_redirects=False,
    )  # fmt: skip
    assert made.status_code == 303
    flour = await Product.select().where(Product.name == "Farine 1KG").first()
    assert (flour["catalog"], flour["producer"], flour["category"], flour["stock"]) == (
        None,
        w["producer"],
        "Épicerie",
        12,
    )
    csv = "nom;prix;référence;stock\nSucre 1KG;1,50;3017620422003;4\nFarine 1KG;1,90;;12\n"
    preview = await client.post(
        f"{base}/import",
        files={"file": ("p.csv", csv.encode(), "text/csv")},
        data={"_csrf_token": await csrf_token(client)},
    )
    assert preview.status_code == 200, preview.text
    # The catalogs' preview (catalogs/_product_import.html): the form posts back here, the
    # wide table scrolls from the keyboard, the help says what a line updates.
    assert f'action="{base}/import/confirmer"' in preview.text
    assert 'class="table-scroll" tabindex="0" role="region"' in preview.text
    assert "créent des produits de votre liste" in html.unescape(preview.text)
    token = re.search(r'name="token" value="([^"]+)"', preview.text).group(1)
    for _ in range(2):  # a double click imports once
        done = await post_form(
            client, f"{base}/import/confirmer", {"token": token}, follow_redirects=False
        )
        assert done.status_code == 303
    assert await Product.count().where(Product.producer == w["producer"]) == 3
    sugar = await Product.select().where(Product.name == "Sucre 1KG").first()
    assert (sugar["catalog"], sugar["reference"]) == (None, "3017620422003")
    flour = await Product.select(Product.price_cents).where(Product.name == "Farine 1KG").first()
    assert flour["price_cents"] == 190
    export = await client.get(f"{base}/export.csv")
    assert export.status_code == 200
    assert product_files.HEADERS["name"] in export.content.decode("utf-8-sig").splitlines()[0]


async def test_a_validated_record_names_the_catalog_of_a_listed_product(client):
    from domain.catalog_orders import validation

    w = await two_points(stock=None)
    point = w["points"][0]
    await build.offer(point["catalog"], [w["pasta"]])
    await build.order(w["members"][0], point["distribution"], {w["pasta"]: 2})
    await Order.update({Order.validated_at: None}).where(Order.id > 0)
    from domain.tables import Distribution

    dist = await Distribution.select().where(Distribution.id == point["distribution"]).first()
    await Distribution.update({Distribution.starts_at: dist["orders_open_at"]}).where(
        Distribution.id == point["distribution"]
    )
    await validation.save(
        group_id=point["group"]["id"],
        distribution_id=point["distribution"],
        user_id=w["jean"],
        values={},
        validate=True,
    )
    record = await validation.record_of(point["distribution"])
    (line,) = record["content"]["orders"][0]["lines"]
    assert (line["product"], line["catalog"], line["quantity"]) == (w["pasta"], point["catalog"], 2)
