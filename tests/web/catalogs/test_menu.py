"""The catalog menu after "Gérer": RÉCAPITULATIF, MODIFIER, PRODUITS (inline editing, several
at once, CSV import and export), DISTRIBUTIONS (with a catalog's own order dates, honoured by
the members' ordering), SOUSCRIPTIONS, DOCUMENTS and STATISTIQUES, through the HTTP stack."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, date, datetime, time, timedelta

from litestar.testing import AsyncTestClient

from domain import catalogs, distributions
from domain.catalogs import product_files, products
from domain.demo import world as build
from domain.distributions import DistributionForm
from domain.kernel.dates import label, local, paris_datetime
from domain.tables import (
    Catalog,
    CatalogDistribution,
    CatalogDocument,
    Distribution,
    Order,
    OrderLine,
    Product,
    Subscription,
)
from tests.helpers import (
    QueryCounter,
    csrf_token,
    login,
    make_distribution_world,
    make_group,
    make_user,
    post_form,
)

NBSP = "\u00a0"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def shown(response) -> str:
    return html.unescape(response.text)


def euros(text: str) -> str:
    return text.replace(" €", f"{NBSP}€")


async def as_user(app, email: str) -> AsyncTestClient:
    client = AsyncTestClient(app=app, base_url="http://localhost")
    await login(client, email)
    return client


async def post_multipart(client, url: str, data: dict, files: dict | None = None, **kwargs):
    payload = dict(data) | {"_csrf_token": await csrf_token(client)}
    return await client.post(url, data=payload, files=files or {}, **kwargs)


async def build_world(kind: str = "amap") -> dict:
    """A group with an admin (Anne), a coordinator (Paul), a linked producer (Jean, not a
    member), a member (Léa); one catalog delivering at two coming distributions, two products,
    and a second catalog of another producer."""
    admin = await make_user("anne@example.org", "Anne", "Admin")
    coordinator = await make_user("paul@example.org", "Paul", "Mariuzzo")
    jean = await make_user("jean@example.org", "Jean", "Ferme")
    member = await make_user("lea@example.org", "Léa", "Membre")
    group = await make_group(admin, "AMAP des Prés", kind)
    await build.join(group["id"], [coordinator, member])
    vendor = await build.producer(group["id"], "Ferme des Saules", user=jean)
    other_vendor = await build.producer(group["id"], "Fromagerie")
    period = build.season(before=60, after=180)
    catalog = await build.catalog(group["id"], vendor, "Légumes", coordinator=coordinator, **period)
    other = await build.catalog(group["id"], other_vendor, "Fromages", **period)
    place = await build.place(group["id"], "Salle des fêtes", "1 place")
    day = date.today() + timedelta(days=14)  # 19:00 to 20:00, this week and the next
    dists = await build.distributions(
        group["id"],
        place,
        [paris_datetime(day + timedelta(weeks=n), time(19)) for n in range(2)],
        hours=1,
        catalogs=[catalog],
    )
    return {
        "group": group,
        "admin": admin,
        "coordinator": coordinator,
        "member": member,
        "vendor": vendor,
        "catalog": catalog,
        "other": other,
        "place": place,
        "dists": dists,
        "carrots": await build.product(
            catalog, "Carottes", 350, unit="kg", stock=40, reference="C1"
        ),
        "leeks": await build.product(catalog, "Poireaux", 200, unit="kg"),
        "cheese": await build.product(other, "Comté", 900, unit="kg", reference="F1"),
        "base": f"/g/{group['slug']}/catalogues/{catalog}",
    }


async def add_order(user_id: int, dist: int, lines: list[tuple[int, int, int]], state: str):
    """An order of (product, quantity, unit price in cents) lines."""
    order = await Order.insert(
        Order(
            user=user_id,
            distribution=dist,
            state=state,
            total_cents=sum(q * p for _, q, p in lines),
        )
    ).returning(Order.id)
    await OrderLine.insert(
        *[
            OrderLine(order=order[0]["id"], product=pid, quantity=q, unit_price_cents=p)
            for pid, q, p in lines
        ]
    )
    return order[0]["id"]


async def product_row(product_id: int) -> dict:
    return await Product.select(*products.PRODUCT_COLUMNS).where(Product.id == product_id).first()


# --- RÉCAPITULATIF and MODIFIER -------------------------------------------------------------


async def test_recap_figures_in_a_fixed_number_of_queries(client):
    w = await build_world()
    d1, d2 = w["dists"]
    buyer = await make_user("max@example.org", "Max")
    await build.join(w["group"]["id"], buyer)
    await login(client, "paul@example.org")

    async def recap():
        with QueryCounter() as counter:
            page = await client.get(f"{w['base']}/gerer")
        assert page.status_code == 200
        return page, counter.count

    await client.get(f"{w['base']}/gerer")  # the session's first page
    page, empty_count = await recap()
    assert "RÉCAPITULATIF" in page.text and 'aria-current="page">RÉCAPITULATIF' in page.text
    assert "Ferme des Saules" in page.text and "Paul Mariuzzo" in page.text
    assert "Commande variable" in page.text and "du " in page.text
    assert 'id="recap-sales">0,00' in page.text

    # Two validated orders (one also holds another catalog's line), a draft, a subscription.
    await add_order(w["member"], d1, [(w["carrots"], 2, 350), (w["cheese"], 1, 900)], "validated")
    await add_order(buyer, d2, [(w["leeks"], 3, 200)], "validated")
    await add_order(buyer, d1, [(w["carrots"], 5, 350)], "draft")
    await Subscription.insert(
        Subscription(
            user=w["member"], catalog=w["catalog"], starts_on=date.today(), ends_on=date.today()
        )
    )
    page, count = await recap()
    assert 'id="recap-distributions">2<' in page.text
    assert 'id="recap-orders">2<' in page.text
    assert 'id="recap-subscriptions">1<' in page.text
    assert f'id="recap-sales">13,00{NBSP}€<' in page.text  # 2 × 3,50 + 3 × 2,00
    assert count == empty_count, (count, empty_count)

    # The producer reads it; a plain member does not.
    jean = await as_user(client.app, "jean@example.org")
    assert (await jean.get(f"{w['base']}/gerer")).status_code == 200
    lea = await as_user(client.app, "lea@example.org")
    assert (await lea.get(f"{w['base']}/gerer")).status_code == 403


async def test_the_menu_shows_each_role_its_items(app):
    w = await build_world()
    anne = await as_user(app, "anne@example.org")
    page = await anne.get(f"{w['base']}/gerer")
    for item in ("MODIFIER LE CATALOGUE", "PRODUITS", "DISTRIBUTIONS", "SOUSCRIPTIONS"):
        assert f">{item}</a>" in page.text, item
    for item in ("DOCUMENTS", "STATISTIQUES", "COMMANDES"):
        assert f">{item}</a>" in page.text, item
    jean = await as_user(app, "jean@example.org")
    page = await jean.get(f"{w['base']}/gerer")
    assert ">PRODUITS</a>" in page.text and ">STATISTIQUES</a>" in page.text
    assert ">MODIFIER LE CATALOGUE</a>" not in page.text and ">DOCUMENTS</a>" not in page.text
    assert ">DISTRIBUTIONS</a>" not in page.text
    # The CATALOGUES list leads there.
    listing = await jean.get(f"/g/{w['group']['slug']}/catalogues")
    assert f'href="{w["base"]}/gerer">Gérer</a>' in listing.text


async def test_modifier_is_inside_the_menu_and_the_new_catalog_page_is_not(client):
    w = await build_world()
    await login(client, "anne@example.org")
    page = await client.get(w["base"])
    assert page.status_code == 200
    assert 'class="catalog-menu"' in page.text
    assert 'aria-current="page">MODIFIER LE CATALOGUE' in page.text
    assert 'value="Légumes"' in page.text and 'id="catalog-form"' in page.text
    new = await client.get(f"/g/{w['group']['slug']}/catalogues/nouveau")
    assert new.status_code == 200 and 'class="catalog-menu"' not in new.text
    # A bad value is shown inside the menu page too; htmx gets the form alone.
    bad = await post_form(client, w["base"], {"name": "", "vendor_id": str(w["vendor"])})
    assert bad.status_code == 422 and 'class="catalog-menu"' in bad.text
    assert "Indiquez le nom du catalogue." in bad.text
    fragment = await post_form(
        client, w["base"], {"name": "", "vendor_id": str(w["vendor"])}, htmx=True
    )
    assert fragment.status_code == 422 and "<html" not in fragment.text
    assert (await Catalog.select(Catalog.name).where(Catalog.id == w["catalog"]).first())[
        "name"
    ] == "Légumes"


# --- PRODUITS: inline editing -----------------------------------------------------------------


async def test_inline_edit_of_a_price_a_bad_value_and_escape(client):
    w = await build_world()
    await login(client, "paul@example.org")
    row_url = f"{w['base']}/produits/{w['carrots']}/ligne"
    listing = await client.get(f"{w['base']}/produits")
    assert 'aria-current="page">PRODUITS' in listing.text
    # Without JavaScript, the cell is a link to the full product form.
    assert f'href="{w["base"]}/produits/{w["carrots"]}" hx-get="{row_url}/price"' in listing.text

    editor = await client.get(f"{row_url}/price", headers={"HX-Request": "true"})
    assert editor.status_code == 200 and "<html" not in editor.text
    assert '<input name="value" value="3,50"' in editor.text and "autofocus" in editor.text
    assert f'hx-get="{row_url}" hx-trigger="escape" data-on-escape' in html.unescape(editor.text)
    assert f'id="product-{w["carrots"]}"' in editor.text

    before = await product_row(w["carrots"])
    bad = await post_form(client, row_url, {"field": "price", "value": "trois"}, htmx=True)
    assert bad.status_code == 200
    assert "Indiquez un prix en euros, par exemple 3,50." in bad.text
    assert 'value="trois"' in bad.text and 'aria-invalid="true"' in bad.text
    assert await product_row(w["carrots"]) == before

    # Escape: the row as shown, no editor.
    escape = await client.get(row_url, headers={"HX-Request": "true"})
    assert escape.status_code == 200 and 'name="value"' not in escape.text
    assert f"3,50{NBSP}€" in escape.text

    saved = await post_form(client, row_url, {"field": "price", "value": "4,2"}, htmx=True)
    assert saved.status_code == 200 and 'name="value"' not in saved.text
    assert f"4,20{NBSP}€" in saved.text
    assert (await product_row(w["carrots"]))["price_cents"] == 420


async def test_inline_edit_of_name_stock_and_active_and_without_htmx(client):
    w = await build_world()
    await login(client, "anne@example.org")
    row_url = f"{w['base']}/produits/{w['leeks']}/ligne"
    response = await post_form(client, row_url, {"field": "name", "value": "  "}, htmx=True)
    assert "Indiquez le nom du produit." in response.text
    response = await post_form(client, row_url, {"field": "stock", "value": "-2"}, htmx=True)
    assert "Indiquez un nombre entier positif ou zéro." in response.text
    assert (await product_row(w["leeks"]))["stock"] is None

    response = await post_form(
        client, row_url, {"field": "name", "value": "Poireaux bio"}, htmx=True
    )
    assert "Poireaux bio" in response.text
    response = await post_form(client, row_url, {"field": "stock", "value": "12"}, htmx=True)
    assert ">12</a>" in response.text
    response = await post_form(client, row_url, {"field": "active", "value": "0"}, htmx=True)
    assert 'class="inactive"' in response.text and ">non</a>" in response.text
    saved = await product_row(w["leeks"])
    assert (saved["name"], saved["stock"], bool(saved["active"])) == ("Poireaux bio", 12, False)
    # Other fields untouched.
    assert (saved["price_cents"], saved["unit"], saved["vat_rate"]) == (200, "kg", 550)

    # A plain post (no htmx): back to the list with a message.
    response = await post_form(client, row_url, {"field": "stock", "value": ""})
    assert response.status_code == 200 and "Produit « Poireaux bio » enregistré." in response.text
    assert (await product_row(w["leeks"]))["stock"] is None
    response = await post_form(client, row_url, {"field": "price", "value": "x"})
    assert "Rien n'a été enregistré : Indiquez un prix" in shown(response)
    # A product of another catalog through this catalog's URL: not found.
    other = f"{w['base']}/produits/{w['cheese']}/ligne"
    response = await post_form(client, other, {"field": "name", "value": "Volé"}, htmx=True)
    assert response.status_code == 404
    assert (await product_row(w["cheese"]))["name"] == "Comté"
    assert (await client.get(f"{row_url}/reference")).status_code == 404


async def test_bulk_activate_and_deactivate(client):
    w = await build_world()
    await login(client, "paul@example.org")
    url = f"{w['base']}/produits/actifs"
    ids = [str(w["carrots"]), str(w["leeks"]), str(w["cheese"])]
    response = await post_form(
        client, url, {"action": "desactiver", "ids": ids}, follow_redirects=False
    )
    assert response.status_code == 303
    page = await client.get(response.headers["location"])
    assert "2 produits désactivés." in page.text
    assert not (await product_row(w["carrots"]))["active"]
    assert not (await product_row(w["leeks"]))["active"]
    assert (await product_row(w["cheese"]))["active"]  # another catalog's: untouched
    response = await post_form(client, url, {"action": "activer", "ids": str(w["leeks"])})
    assert "1 produit activé." in response.text
    assert (await product_row(w["leeks"]))["active"]
    response = await post_form(client, url, {"action": "activer"})
    assert "Cochez au moins un produit." in response.text


# --- PRODUITS: CSV import and export ------------------------------------------------------------


async def preview(client, w: dict, content: bytes, name: str = "produits.csv"):
    return await post_multipart(
        client, f"{w['base']}/produits/import", {}, {"file": (name, content, "text/csv")}
    )


def token_of(response) -> str:
    match = re.search(r'name="token" value="([^"]+)"', response.text)
    assert match, "pas de bouton de confirmation"
    return match.group(1)


async def test_import_preview_then_confirm(client):
    w = await build_world()
    await login(client, "paul@example.org")
    content = (
        "référence;prix;nom;unité;TVA;stock;actif\n"
        "C1;3,80;Carottes;kg;5,5;30;oui\n"
        ";4,5;Navets;botte;5,5;;oui\n"
        ";2;Poireaux;kg;5,5;;oui\n"
    ).encode()
    page = await preview(client, w, content)
    assert page.status_code == 200
    text = shown(page)
    assert "3 lignes : 1 nouveau, 1 mis à jour, 1 inchangé" in text
    assert "Nouveau" in text and "Mis à jour" in text and "Inchangé" in text
    assert await Product.count().where(Product.catalog == w["catalog"]) == 2
    response = await post_form(
        client,
        f"{w['base']}/produits/import/confirmer",
        {"token": token_of(page)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    listing = await client.get(response.headers["location"])
    assert "Import terminé : 1 produit créé, 1 mis à jour." in shown(listing)
    carrots = await product_row(w["carrots"])
    assert (carrots["price_cents"], carrots["stock"]) == (380, 30)
    navets = await Product.select().where(Product.name == "Navets").first()
    assert (navets["price_cents"], navets["unit"], navets["catalog"]) == (
        450,
        "botte",
        w["catalog"],
    )
    assert navets["stock"] is None and navets["vat_rate"] == 550


async def test_import_with_bad_rows_names_them_and_imports_nothing(client):
    w = await build_world()
    await login(client, "paul@example.org")
    before = await Product.select(*products.PRODUCT_COLUMNS).order_by(Product.id)
    content = (
        "nom;prix;TVA;stock;max par commande;actif\n"
        "Navets;4,50;5,5;;;oui\n"
        "\n"
        ";2;5,5;;;oui\n"
        "Radis;deux euros;7;-1;0;peut-être\n"
        "Choux;3;20;10;2;non\n"
    ).encode()
    page = await preview(client, w, content)
    assert page.status_code == 422
    text = shown(page)
    assert "Rien ne sera importé" in text and 'name="token"' not in text
    assert "Ligne 4 : nom : Indiquez le nom du produit." in text
    assert "Ligne 5 : prix : Indiquez un prix en euros, par exemple 3,50." in text
    assert "TVA : Choisissez un taux de TVA. (0 ; 2,1 ; 5,5 ; 10 ; 20 %)" in text
    assert "stock : Indiquez un nombre entier positif ou zéro." in text
    assert "max par commande : Le maximum par commande doit être d'au moins 1." in text
    assert "actif : indiquez oui ou non." in text
    assert "Ligne 2 :" not in text and "Ligne 6 :" not in text  # the good rows
    assert await Product.select(*products.PRODUCT_COLUMNS).order_by(Product.id) == before

    # A file the app cannot read at all.
    page = await preview(client, w, b"nom;couleur\nNavets;vert\n")
    assert page.status_code == 422
    assert "Ligne 1 : colonne « couleur » inconnue" in shown(page)
    page = await preview(client, w, b"")
    assert page.status_code == 422 and "Choisissez un fichier CSV." in shown(page)
    page = await preview(client, w, b"nom;prix\nA;1\nA;1\n" + b"x" * (3 * 1024 * 1024))
    assert "Le fichier ne doit pas dépasser 2 Mo." in shown(page)
    # Two rows for the same reference.
    page = await preview(client, w, "référence;nom;prix\nZ9;A;1\nZ9;B;2\n".encode())
    assert "Ligne 3 : la référence Z9 est déjà à la ligne 2." in shown(page)
    assert await Product.select(*products.PRODUCT_COLUMNS).order_by(Product.id) == before


async def test_import_windows_1252_with_commas_and_a_tampered_or_foreign_token(client, settings):
    w = await build_world()
    await login(client, "anne@example.org")
    content = 'Nom,Prix,Unité,Référence\n"Crème fraîche","2,80",pot,CF1\n'.encode("cp1252")
    page = await preview(client, w, content)
    assert page.status_code == 200
    assert "Crème fraîche" in shown(page)
    token = token_of(page)

    # A token altered in the page, or made for another catalog, imports nothing.
    confirm = f"{w['base']}/produits/import/confirmer"
    tampered = product_files.sign_preview(
        [{"line": 2, "product_id": None, "fields": {}, "active": True}], "autre-secret", 0
    )
    for bad in (token[:-2] + "xx", tampered, "", token.replace(".", "a.", 1)):
        response = await post_form(client, confirm, {"token": bad})
        assert response.status_code == 422
        assert "L'aperçu a expiré ou a été modifié" in shown(response)
    other = product_files.read_preview(token, settings.secret_key, w["catalog"])
    assert other and other[0]["fields"]["name"] == "Crème fraîche"
    foreign = product_files.sign_preview(other, settings.secret_key, w["other"])
    response = await post_form(client, confirm, {"token": foreign})
    assert response.status_code == 422
    assert await Product.count().where(Product.name == "Crème fraîche") == 0

    response = await post_form(client, confirm, {"token": token}, follow_redirects=False)
    assert response.status_code == 303
    cream = await Product.select().where(Product.name == "Crème fraîche").first()
    assert (cream["price_cents"], cream["unit"], cream["reference"]) == (280, "pot", "CF1")


async def test_import_is_all_or_nothing_at_confirmation(client, settings):
    """A row that became wrong between the preview and the confirmation: nothing imported."""
    w = await build_world()
    await login(client, "paul@example.org")
    items = [
        {"line": 2, "product_id": None, "fields": products.form_fields(
            {"name": "Navets", "unit": "kg", "price_cents": 300, "vat_rate": 550, "stock": None,
             "max_per_order": None, "reference": ""}), "active": True},
        {"line": 3, "product_id": w["cheese"], "fields": products.form_fields(
            {"name": "Comté", "unit": "kg", "price_cents": 100, "vat_rate": 550, "stock": None,
             "max_per_order": None, "reference": "F1"}), "active": True},
    ]  # fmt: skip
    token = product_files.sign_preview(items, settings.secret_key, w["catalog"])
    response = await post_form(client, f"{w['base']}/produits/import/confirmer", {"token": token})
    assert response.status_code == 422
    assert "Rien n'a été importé. Ligne 3 : ce produit n'existe plus dans le catalogue." in shown(
        response
    )
    assert await Product.count().where(Product.name == "Navets") == 0
    assert (await product_row(w["cheese"]))["price_cents"] == 900


async def test_export_then_import_round_trip(client):
    w = await build_world()
    await login(client, "paul@example.org")
    await Product.update({Product.name: "=HYPERLINK(1)", Product.max_per_order: 3}).where(
        Product.id == w["leeks"]
    )
    await Product.update({Product.active: False}).where(Product.id == w["carrots"])
    export = await client.get(f"{w['base']}/produits/export.csv")
    assert export.status_code == 200
    assert export.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in export.headers["content-disposition"]
    assert "produits-legumes.csv" in export.headers["content-disposition"]
    data = export.content
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data[3:].decode()), delimiter=";"))
    assert rows[0] == [
        "nom",
        "prix",
        "unité",
        "TVA",
        "stock",
        "max par commande",
        "référence",
        "actif",
    ]
    assert ["Carottes", "3,50", "kg", "5,5", "40", "", "C1", "non"] in rows
    assert ["'=HYPERLINK(1)", "2,00", "kg", "5,5", "", "3", "", "oui"] in rows
    assert "Comté" not in data.decode()  # only this catalog

    before = await Product.select(*products.PRODUCT_COLUMNS).order_by(Product.id)
    page = await preview(client, w, data)
    assert page.status_code == 200
    assert "2 lignes : 0 nouveau, 0 mis à jour, 2 inchangés" in shown(page)
    assert "Rien à importer" in shown(page)

    # Change one price in the spreadsheet: one update, the rest unchanged.
    changed = data.replace(b"Carottes;3,50", b"Carottes;3,90")
    page = await preview(client, w, changed)
    assert "0 nouveau, 1 mis à jour, 1 inchangé" in shown(page)
    await post_form(client, f"{w['base']}/produits/import/confirmer", {"token": token_of(page)})
    after = await Product.select(*products.PRODUCT_COLUMNS).order_by(Product.id)
    expected = [p | {"price_cents": 390} if p["id"] == w["carrots"] else p for p in before]
    assert after == expected
    assert (await product_row(w["leeks"]))["name"] == "=HYPERLINK(1)"


# --- DISTRIBUTIONS ------------------------------------------------------------------------------


async def test_distributions_add_remove_and_removal_refused_with_orders(client):
    w = await build_world()
    d1, d2 = w["dists"]
    later = await distributions.create_distributions(
        DistributionForm(
            group_id=w["group"]["id"],
            place_id=str(w["place"]),
            day=(date.today() + timedelta(days=40)).isoformat(),
            start="18:00",
            end="19:00",
        )
    )
    await add_order(w["member"], d1, [(w["carrots"], 1, 350)], "validated")
    await login(client, "paul@example.org")
    url = f"{w['base']}/distributions"
    page = await client.get(url)
    assert page.status_code == 200 and 'aria-current="page">DISTRIBUTIONS' in page.text
    dist1 = await Distribution.select().where(Distribution.id == d1).first()
    assert label(dist1["starts_at"]) in page.text and "1 commande" in page.text
    assert f'<option value="{later[0]}">' in page.text  # addable
    assert f'<option value="{d1}">' not in page.text

    response = await post_form(
        client, url, {"distribution_id": str(later[0])}, follow_redirects=False
    )
    assert response.status_code == 303
    assert await catalogs.delivery_ids(w["catalog"]) == {d1, d2, later[0]}
    bad = await post_form(client, url, {"distribution_id": str(later[0])})
    assert (
        bad.status_code == 422 and "Choisissez une distribution à venir de ce groupe." in bad.text
    )

    refused = await post_form(client, f"{url}/{d1}/retirer")
    assert refused.status_code == 422
    assert "Cette distribution a 1 commande de ce catalogue : elle ne peut pas être retirée." in (
        shown(refused)
    )
    assert d1 in await catalogs.delivery_ids(w["catalog"])
    response = await post_form(client, f"{url}/{d2}/retirer", follow_redirects=False)
    assert response.status_code == 303
    assert await catalogs.delivery_ids(w["catalog"]) == {d1, later[0]}
    # Not one of this catalog's: not found.
    assert (await post_form(client, f"{url}/{d2}/retirer")).status_code == 404


async def test_a_catalog_window_is_checked_and_shown(client):
    w = await build_world()
    d1, _ = w["dists"]
    dist = await Distribution.select().where(Distribution.id == d1).first()
    await login(client, "paul@example.org")
    url = f"{w['base']}/distributions/{d1}/dates"

    def at(moment: datetime) -> str:
        return f"{local(moment):%Y-%m-%dT%H:%M}"

    too_late = at(dist["orders_close_at"] + timedelta(hours=2))
    response = await post_form(client, url, {"closes": too_late})
    assert response.status_code == 422
    assert "ne peuvent pas fermer après celles de la distribution" in shown(response)
    response = await post_form(client, url, {"opens": at(dist["orders_open_at"] - timedelta(1))})
    assert "ne peuvent pas ouvrir avant celles de la distribution" in shown(response)
    response = await post_form(
        client,
        url,
        {
            "opens": at(dist["orders_close_at"] - timedelta(hours=3)),
            "closes": at(dist["orders_close_at"] - timedelta(hours=5)),
        },
    )
    assert "La fermeture des commandes doit être après leur ouverture." in shown(response)
    response = await post_form(client, url, {"closes": "demain"})
    assert "Indiquez une date et une heure valides." in shown(response)
    link = await CatalogDistribution.select().where(CatalogDistribution.distribution == d1).first()
    assert link["orders_open_at"] is None and link["orders_close_at"] is None

    closes = dist["orders_close_at"] - timedelta(days=2)
    response = await post_form(client, url, {"closes": at(closes)}, follow_redirects=False)
    assert response.status_code == 303
    link = (
        await CatalogDistribution.select()
        .where(
            (CatalogDistribution.distribution == d1) & (CatalogDistribution.catalog == w["catalog"])
        )
        .first()
    )
    assert link["orders_open_at"] is None
    assert link["orders_close_at"] == closes.replace(second=0, microsecond=0)
    page = await client.get(f"{w['base']}/distributions")
    assert (
        "dates propres à ce catalogue" in page.text and label(link["orders_close_at"]) in page.text
    )
    # Emptied: back to the distribution's dates.
    await post_form(client, url, {"opens": "", "closes": ""})
    link = await CatalogDistribution.select().where(CatalogDistribution.id == link["id"]).first()
    assert link["orders_close_at"] is None


async def test_a_closed_catalog_window_is_honoured_by_the_members_ordering(client):
    """Two catalogs at one date: one closes early for this date, the other stays open."""
    admin = await make_user("anne@example.org", "Anne")
    world = await make_distribution_world(admin, products=2, stock=10, name="Marché Test")
    group, dist = world["group"], world["distribution"]
    early = await catalogs.save_catalog(
        group["id"], group["kind"], name="Pain", vendor_id=str(world["vendor"]),
        kind="variable", starts_on="", ends_on="",
    )  # fmt: skip
    await CatalogDistribution.insert(CatalogDistribution(catalog=early["id"], distribution=dist))
    fields = {"unit": "pièce", "vat_rate": "550", "stock": "", "max_per_order": "", "reference": ""}
    bread = (
        await products.save_product(
            early["id"], fields=fields | {"name": "Baguette", "price": "1,10"}, active=True
        )
    )["id"]
    brioche = (
        await products.save_product(
            early["id"], fields=fields | {"name": "Brioche", "price": "4"}, active=True
        )
    )["id"]
    vegetable = world["products"][0]
    member = await make_user("mia@example.org", "Mia")
    await build.join(group["id"], member)
    await login(client, "mia@example.org")
    page = await client.get(world["url"])
    assert "Baguette" in page.text and "Produit 000" in page.text
    await post_form(client, f"{world['url']}/ligne/{bread}", {"q": "2"}, htmx=True)

    # The bread catalog closes its orders for this date (an admin sets it; it is now past).
    closes = datetime.now(UTC) - timedelta(minutes=5)
    dist_row = await Distribution.select().where(Distribution.id == dist).first()
    assert dist_row["orders_open_at"] < closes
    anne = await as_user(client.app, "anne@example.org")
    response = await post_form(
        anne,
        f"/g/{group['slug']}/catalogues/{early['id']}/distributions/{dist}/dates",
        {"closes": f"{local(closes):%Y-%m-%dT%H:%M}"},
        follow_redirects=False,
    )
    assert response.status_code == 303

    tab = await client.get(f"/g/{group['slug']}/commandes")
    assert "Ferme du Test – Légumes" in tab.text and "Ferme du Test – Pain" not in tab.text
    page = await client.get(world["url"])
    assert "Produit 000" in page.text
    assert "Baguette" in page.text  # already in the basket: still shown and counted
    assert "Brioche" not in page.text  # not offered any more
    assert f"Total : <strong>2,20{NBSP}€" in page.text

    refused = await post_form(client, f"{world['url']}/ligne/{bread}", {"q": "3"}, htmx=True)
    assert "Les commandes de ce catalogue sont fermées pour cette distribution." in shown(refused)
    refused = await post_form(client, f"{world['url']}/ligne/{brioche}", {"q": "1"}, htmx=True)
    assert refused.status_code == 404  # not offered: not on the page
    ok = await post_form(client, f"{world['url']}/ligne/{vegetable}", {"q": "1"}, htmx=True)
    assert ok.status_code == 200 and "error" not in ok.text

    # The whole form: the unchanged bread line is kept, a change to it is refused.
    form = {f"q{vegetable}": "2", f"q{bread}": "2", "valider": "1", "key": "k-1"}
    response = await post_form(client, world["url"], form, follow_redirects=False)
    assert response.status_code == 303
    order = await Order.select().where(Order.user == member).first()
    assert order["state"] == "validated"
    assert order["total_cents"] == 2 * 150 + 2 * 110
    response = await post_form(client, world["url"], form | {f"q{bread}": "5", "key": "k-2"})
    assert response.status_code == 422
    assert "Les commandes de ce catalogue sont fermées" in shown(response)
    lines = {
        r["product"]: r["quantity"]
        for r in await OrderLine.select(OrderLine.product, OrderLine.quantity)
    }
    assert lines == {vegetable: 2, bread: 2}

    # Not yet open for this catalog: the same.
    opens = datetime.now(UTC) + timedelta(hours=5)
    await CatalogDistribution.update(
        {CatalogDistribution.orders_open_at: opens, CatalogDistribution.orders_close_at: None}
    ).where(CatalogDistribution.catalog == early["id"])
    refused = await post_form(client, f"{world['url']}/ligne/{bread}", {"q": "1"}, htmx=True)
    assert "ne sont pas encore ouvertes" in shown(refused)


# --- SOUSCRIPTIONS ------------------------------------------------------------------------------


async def test_subscriptions_page_is_in_the_menu_for_amap_only(client):
    w = await build_world()
    await Subscription.insert(
        Subscription(
            user=w["member"], catalog=w["catalog"], starts_on=date.today(), ends_on=date.today()
        )
    )
    await login(client, "jean@example.org")  # the producer reads them
    page = await client.get(f"{w['base']}/souscriptions")
    assert page.status_code == 200
    assert 'aria-current="page">SOUSCRIPTIONS' in page.text and "Léa Membre" in page.text
    assert "Terminer" not in page.text
    market_admin = await make_user("marc@example.org", "Marc")
    market = await make_distribution_world(market_admin, name="Marché Libre")
    client.cookies.clear()
    await login(client, "marc@example.org")
    url = f"/g/{market['group']['slug']}/catalogues/{market['catalog']}/souscriptions"
    assert (await client.get(url)).status_code == 404
    page = await client.get(f"/g/{market['group']['slug']}/catalogues/{market['catalog']}/gerer")
    assert ">SOUSCRIPTIONS</a>" not in page.text


# --- DOCUMENTS ----------------------------------------------------------------------------------


async def upload(client, w: dict, name: str, content: bytes, kind: str = "application/pdf", **f):
    return await post_multipart(
        client,
        f"{w['base']}/documents",
        {"visibility": "members"} | f,
        {"file": (name, content, kind)},
    )


async def test_documents_type_size_name_and_visibility(app):
    w = await build_world()
    paul = await as_user(app, "paul@example.org")
    for name, content, kind, message in (
        ("contrat.pdf", b"GIF89a pas un pdf", "application/pdf", "Ce fichier n'est pas un PDF."),
        ("contrat.pdf", PDF, "image/png", "Ce fichier n'est pas un PDF."),
        (
            "gros.pdf",
            PDF + b"0" * (5 * 1024 * 1024),
            "application/pdf",
            "ne doit pas dépasser 5 Mo",
        ),
    ):
        response = await upload(paul, w, name, content, kind)
        assert response.status_code == 422, name
        assert message in shown(response), name
    response = await upload(paul, w, "contrat.pdf", PDF, visibility="tout-le-monde")
    assert "Choisissez qui peut voir ce document." in shown(response)
    assert await CatalogDocument.count() == 0

    response = await upload(paul, w, "../../Contrat <été> 2027.PDF", PDF)
    assert response.status_code == 200 and "Document « Contrat été 2027.pdf » ajouté." in shown(
        response
    )
    for visibility in ("subscribers", "admins"):
        await upload(paul, w, f"{visibility}.pdf", PDF, visibility=visibility)
    docs = {d["name"]: d["id"] for d in await CatalogDocument.select()}
    assert set(docs) == {"Contrat été 2027.pdf", "subscribers.pdf", "admins.pdf"}
    page = await paul.get(f"{w['base']}/documents")
    assert "Contrat été 2027.pdf" in shown(page) and "Souscripteurs de ce contrat" in shown(page)

    def url(name: str, slug: str | None = None) -> str:
        return f"/g/{slug or w['group']['slug']}/documents/{docs[name]}.pdf"

    lea = await as_user(app, "lea@example.org")
    response = await lea.get(url("Contrat été 2027.pdf"))
    assert response.status_code == 200 and response.content == PDF
    assert response.headers["content-type"] == "application/pdf"
    assert "no-store" in response.headers["cache-control"]
    assert (
        "filename*=UTF-8''Contrat%20%C3%A9t%C3%A9%202027.pdf"
        in (response.headers["content-disposition"])
    )
    assert response.headers["content-disposition"].startswith("attachment;")
    assert (await lea.get(url("subscribers.pdf"))).status_code == 403
    assert (await lea.get(url("admins.pdf"))).status_code == 403
    tab = await lea.get(f"/g/{w['group']['slug']}/contrats")
    assert "Contrat été 2027.pdf" in shown(tab) and "subscribers.pdf" not in tab.text
    # Once subscribed, Léa reads the subscribers' document too (and sees it in MES CONTRATS).
    await Subscription.insert(
        Subscription(
            user=w["member"], catalog=w["catalog"], starts_on=date.today(), ends_on=date.today()
        )
    )
    assert (await lea.get(url("subscribers.pdf"))).status_code == 200
    tab = await lea.get(f"/g/{w['group']['slug']}/contrats")
    assert "subscribers.pdf" in tab.text and "admins.pdf" not in tab.text
    anne = await as_user(app, "anne@example.org")
    assert (await anne.get(url("admins.pdf"))).status_code == 200
    jean = await as_user(app, "jean@example.org")  # the producer: not a member, but theirs
    assert (await jean.get(url("admins.pdf"))).status_code == 200

    # Another group's member and admin: refused, through either group's URL.
    outsider = await make_user("zoe@example.org", "Zoé")
    other = await make_group(outsider, "AMAP Voisine")
    zoe = await as_user(app, "zoe@example.org")
    response = await zoe.get(url("Contrat été 2027.pdf"))
    assert response.status_code == 403 and PDF not in response.content
    response = await zoe.get(url("Contrat été 2027.pdf", other["slug"]))
    assert response.status_code == 404
    anonymous = AsyncTestClient(app=app, base_url="http://localhost")
    response = await anonymous.get(url("Contrat été 2027.pdf"), follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/connexion")
    assert (await lea.get(f"/g/{w['group']['slug']}/documents/999999.pdf")).status_code == 404
    assert (await lea.get(f"/g/{w['group']['slug']}/documents/abc.pdf")).status_code == 404

    response = await post_form(
        paul, f"{w['base']}/documents/{docs['admins.pdf']}/supprimer", follow_redirects=False
    )
    assert response.status_code == 303
    assert await CatalogDocument.count() == 2
    assert (await anne.get(url("admins.pdf"))).status_code == 404


# --- STATISTIQUES -------------------------------------------------------------------------------


async def test_statistics_numbers_chart_and_queries(client):
    w = await build_world()
    d1, d2 = w["dists"]
    buyer = await make_user("max@example.org", "Max")
    await build.join(w["group"]["id"], buyer)
    await add_order(w["member"], d1, [(w["carrots"], 2, 350), (w["cheese"], 1, 900)], "validated")
    await add_order(buyer, d1, [(w["leeks"], 1, 200)], "validated")
    await add_order(buyer, d2, [(w["carrots"], 4, 350)], "validated")
    await add_order(w["member"], d2, [(w["leeks"], 9, 200)], "draft")  # not a sale
    await login(client, "jean@example.org")
    url = f"{w['base']}/statistiques"
    with QueryCounter() as counter:
        page = await client.get(url)
    two = counter.count
    assert page.status_code == 200
    text = shown(page)
    assert f"Ventes (commandes validées) : {euros('23,00 €')}" in re.sub(r"<[^>]+>", "", text)
    dist1 = await Distribution.select().where(Distribution.id == d1).first()
    first_row = re.search(
        r"<tr><th scope=\"row\">" + re.escape(label(dist1["starts_at"])) + r".*?</tr>", text
    )
    assert first_row, text
    cells = re.findall(r'<td class="num">([^<]*)</td>', first_row.group(0))
    assert cells == ["2", "3", euros("9,00 €")]
    assert "<svg" in text and 'role="img"' in text
    assert f"<title>{label(dist1['starts_at'])} : {euros('9,00 €')} (2 commandes)</title>" in text
    assert text.count('class="bar') == 2
    top = re.search(r'id="top-products".*?</table>', text, re.S).group(0)
    assert top.index("Carottes") < top.index("Poireaux")
    assert f'<td class="num">6</td><td class="num">{euros("21,00 €")}</td>' in top
    assert "Comté" not in top

    # Four more distributions with sales: the same number of queries.
    more = await distributions.create_distributions(
        DistributionForm(
            group_id=w["group"]["id"],
            place_id=str(w["place"]),
            day=(date.today() + timedelta(days=30)).isoformat(),
            start="19:00",
            end="20:00",
        ),
        until=(date.today() + timedelta(days=51)).isoformat(),
    )
    await catalogs.set_deliveries(w["group"]["id"], w["catalog"], [d1, d2, *more])
    for dist in more:
        await add_order(buyer, dist, [(w["carrots"], 1, 350)], "validated")
    with QueryCounter() as counter:
        page = await client.get(url)
    assert shown(page).count('class="bar') == 6
    assert counter.count == two, (counter.count, two)
