"""The admin pages of a group: PRODUCTEURS, DISTRIBUTIONS, CATALOGUES and products,
through the HTTP stack, and who may use them."""

from __future__ import annotations

import html
import io
from datetime import UTC, date, datetime, time, timedelta

from litestar.testing import AsyncTestClient
from PIL import Image

from domain import catalogs, distributions, producers
from domain.catalogs import products
from domain.demo import world as build
from domain.distributions import DistributionForm
from domain.kernel import clock
from domain.kernel.dates import label, local, paris_datetime
from domain.tables import (
    Catalog,
    CatalogDistribution,
    Distribution,
    OutboxMail,
    Place,
    Product,
    Vendor,
)
from tests.helpers import csrf_token, login, make_group, make_user, post_form

NBSP = "\u00a0"


def shown(response) -> str:
    """The page's text as read, with the HTML escapes (&#39; for ') undone."""
    return html.unescape(response.text)


def browser(app) -> AsyncTestClient:
    """Another person's browser (its own cookies) on the same app."""
    return AsyncTestClient(app=app, base_url="http://localhost")


async def as_user(app, email: str) -> AsyncTestClient:
    client = browser(app)
    await login(client, email)
    return client


async def post_multipart(client, url: str, data: dict, files: dict | None = None, **kwargs):
    """A browser's multipart post: the CSRF token travels as the `_csrf_token` field."""
    payload = dict(data) | {"_csrf_token": await csrf_token(client)}
    return await client.post(url, data=payload, files=files or {}, **kwargs)


def png_bytes(width: int = 800, height: int = 600) -> bytes:
    image = Image.new("RGB", (width, height))
    for x in range(0, width, 10):
        for y in range(0, height, 10):
            image.paste((x % 256, y % 256, 120), (x, y, x + 10, y + 10))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def coming_day(days: int = 14) -> date:
    return date.today() + timedelta(days=days)


async def make_place(group_id: int, name: str = "Salle des fêtes") -> int:
    return (await distributions.save_place(group_id, name, "1 place de la Mairie"))["id"]


async def make_distributions(group_id: int, place_id: int, *, weeks: int = 1, days: int = 14):
    day = coming_day(days)
    form = DistributionForm(
        group_id=group_id, place_id=str(place_id), day=day.isoformat(), start="19:00", end="20:00"
    )
    until = (day + timedelta(weeks=weeks - 1)).isoformat() if weeks > 1 else ""
    return await distributions.create_distributions(form, until=until)


async def make_catalog(
    group: dict, vendor_id: int, name: str = "Légumes", coordinator: int | None = None
) -> int:
    saved = await catalogs.save_catalog(
        group["id"],
        group["kind"],
        name=name,
        vendor_id=str(vendor_id),
        kind="variable",
        starts_on=date.today().isoformat(),
        ends_on=(date.today() + timedelta(days=180)).isoformat(),
        coordinator_id=str(coordinator or ""),
    )
    return saved["id"]


PRODUCT = {
    "name": "Carottes",
    "unit": "kg",
    "price": "3,50",
    "vat_rate": "550",
    "stock": "40",
    "max_per_order": "5",
    "reference": "3760001",
    "active": "1",
}


async def make_product(catalog_id: int, name: str = "Poireaux") -> int:
    fields = {k: v for k, v in PRODUCT.items() if k != "active"} | {"name": name}
    return (await products.save_product(catalog_id, fields=fields, active=True))["id"]


# --- PRODUCTEURS --------------------------------------------------------------------------


async def test_admin_creates_a_producer_and_links_an_account_that_then_sees_catalogs(app, client):
    admin = await make_user("anne@example.org", "Anne")
    member = await make_user("marc@example.org", "Marc")
    await make_user("jean@example.org", "Jean", "Ferme")
    group = await make_group(admin, "AMAP des Prés")
    await build.join(group["id"], member)
    await login(client, "anne@example.org")
    url = f"/g/{group['slug']}/producteurs"

    page = await client.get(f"{url}/nouveau")
    assert page.status_code == 200
    assert "Compte de connexion du producteur" in page.text

    bad = await post_form(
        client,
        f"{url}/nouveau",
        {"name": "", "email": "pas-une-adresse", "login_email": "inconnu@example.org"},
    )
    assert bad.status_code == 422
    assert "Indiquez le nom du producteur." in bad.text
    assert "Cette adresse e-mail n'est pas valide." in shown(bad)
    assert "Aucun compte" not in shown(bad)  # whether an account exists is not said
    assert 'value="inconnu@example.org"' in bad.text
    assert await Vendor.count() == 0

    # htmx gets the form alone, with 422 (base.html tells htmx to swap it).
    fragment = await post_form(client, f"{url}/nouveau", {"name": ""}, htmx=True)
    assert fragment.status_code == 422
    assert "Indiquez le nom du producteur." in fragment.text and "<html" not in fragment.text

    created = await post_form(
        client,
        f"{url}/nouveau",
        {
            "name": "Ferme des Saules",
            "description": "Légumes bio",
            "email": "Contact@Saules.example",
            "phone": "06 11 22 33 44",
            "address": "Route de Rennes",
            "login_email": "JEAN@example.org",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303 and created.headers["location"] == url
    vendor = await Vendor.select().first()
    assert vendor["name"] == "Ferme des Saules" and vendor["email"] == "contact@saules.example"
    assert vendor["group"] == group["id"] and vendor["user"] is not None

    listing = await client.get(url)
    assert "Producteur « Ferme des Saules » enregistré." in listing.text
    assert "Ferme des Saules" in listing.text and "06 11 22 33 44" in listing.text
    assert "Compte de connexion : jean@example.org" in listing.text

    edit = await client.get(f"{url}/{vendor['id']}")
    assert 'value="jean@example.org"' in edit.text
    # Saved through htmx: it is told where to go (a 303 would be followed inside the form).
    updated = await post_form(
        client,
        f"{url}/{vendor['id']}",
        {"name": "Ferme des Saules", "phone": "02 99 00 00 00", "login_email": ""},
        htmx=True,
        follow_redirects=False,
    )
    assert updated.status_code == 200 and updated.headers["hx-redirect"] == url
    saved = await Vendor.select().where(Vendor.id == vendor["id"]).first()
    assert saved["phone"] == "02 99 00 00 00" and saved["user"] is None
    await post_form(
        client,
        f"{url}/{vendor['id']}",
        {"name": "Ferme des Saules", "login_email": "jean@example.org"},
    )

    # The linked account now has the CATALOGUES tab of the group (and only that one).
    jean = await as_user(app, "jean@example.org")
    home = await jean.get(f"/g/{group['slug']}")
    assert "CATALOGUES" in home.text and "PRODUCTEURS" not in home.text
    assert (await jean.get(f"/g/{group['slug']}/catalogues")).status_code == 200

    # A plain member sees the producers but cannot add or change one.
    marc = await as_user(app, "marc@example.org")
    listing = await marc.get(url)
    assert listing.status_code == 200 and "Ferme des Saules" in listing.text
    assert "Ajouter un producteur" not in listing.text and "Compte de connexion" not in listing.text
    assert (await marc.get(f"{url}/nouveau")).status_code == 403
    refused = await post_form(marc, f"{url}/nouveau", {"name": "Ferme pirate"})
    assert refused.status_code == 403
    refused = await post_form(marc, f"{url}/{vendor['id']}", {"name": "Renommée"})
    assert refused.status_code == 403
    assert [v["name"] for v in await Vendor.select(Vendor.name)] == ["Ferme des Saules"]


# --- DISTRIBUTIONS ------------------------------------------------------------------------


async def test_places_and_a_weekly_series_of_distributions_with_default_order_dates(client):
    admin = await make_user("anne@example.org", "Anne")
    group = await make_group(admin, "AMAP des Prés")
    await login(client, "anne@example.org")
    base = f"/g/{group['slug']}/distributions"

    # No place yet: the creation page says to add one first.
    assert "Ajoutez d'abord un" in (await client.get(f"{base}/nouvelle")).text
    bad = await post_form(client, f"{base}/lieux", {"name": " "})
    assert bad.status_code == 422 and "Indiquez le nom du lieu." in bad.text
    assert await Place.count() == 0
    response = await post_form(
        client,
        f"{base}/lieux",
        {"name": "Salle des fêtes", "address": "1 place de la Mairie"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    place = await Place.select().first()
    assert place["group"] == group["id"]
    response = await post_form(
        client, f"{base}/lieux/{place['id']}", {"name": "Salle polyvalente"}, follow_redirects=False
    )
    assert response.status_code == 303
    assert (await Place.select().first())["name"] == "Salle polyvalente"

    page = await client.get(f"{base}/nouvelle")
    assert "7 jours avant" in page.text and "24 h avant" in page.text
    assert "Répéter chaque semaine jusqu'au" in shown(page)
    day = coming_day(10)
    form = {"place_id": str(place["id"]), "day": day.isoformat(), "start": "19:00"}

    bad = await post_form(client, f"{base}/nouvelle", form | {"end": "18:00"})
    assert bad.status_code == 422
    assert "L'heure de fin doit être après l'heure de début." in shown(bad)
    bad = await post_form(
        client,
        f"{base}/nouvelle",
        form
        | {"end": "20:00", "until": (day + timedelta(weeks=2)).isoformat()}
        | {"opens": f"{day - timedelta(days=3)}T08:00"},
    )
    assert bad.status_code == 422 and "les dates de commande sont calculées" in bad.text
    assert await Distribution.count() == 0

    response = await post_form(
        client,
        f"{base}/nouvelle",
        form | {"end": "20:30", "until": (day + timedelta(weeks=4, days=2)).isoformat()},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == base
    rows = await Distribution.select().order_by(Distribution.starts_at)
    assert len(rows) == 5
    for week, row in enumerate(rows):
        starts = local(row["starts_at"])
        assert starts.date() == day + timedelta(weeks=week)
        assert (starts.hour, starts.minute) == (19, 0)
        assert (local(row["ends_at"]).hour, local(row["ends_at"]).minute) == (20, 30)
        assert row["orders_open_at"] == row["starts_at"] - timedelta(days=7)
        assert row["orders_close_at"] == row["starts_at"] - timedelta(hours=24)
        assert row["place"] == place["id"] and row["group"] == group["id"]

    listing = await client.get(base)
    assert "5 distributions créées" in listing.text
    for row in rows:
        assert label(row["starts_at"]) in listing.text
    assert "Salle polyvalente" in listing.text
    # Not open yet: « à partir du », never « ouvertes du » for a window to come.
    later = [r for r in rows if r["orders_open_at"] > datetime.now(UTC)]
    assert later and f"Commandes ouvertes à partir du {label(later[-1]['orders_open_at'])}" in (
        listing.text
    )
    assert "Commandes ouvertes du" not in listing.text

    # One distribution with its own order dates (Paris time).
    single = coming_day(60)
    response = await post_form(
        client,
        f"{base}/nouvelle",
        form
        | {
            "day": single.isoformat(),
            "end": "20:00",
            "opens": f"{single - timedelta(days=3)}T08:00",
            "closes": f"{single - timedelta(days=1)}T12:00",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    row = await Distribution.select().order_by(Distribution.starts_at, ascending=False).first()
    opens = local(row["orders_open_at"])
    assert (opens.date(), opens.hour) == (single - timedelta(days=3), 8)
    closes = local(row["orders_close_at"])
    assert (closes.date(), closes.hour) == (single - timedelta(days=1), 12)


async def test_moving_and_cancelling_tell_the_members_who_ordered(client, mailbox):
    admin = await make_user("anne@example.org", "Anne")
    buyer = await make_user("lea@example.org", "Léa")
    drafter = await make_user("noe@example.org", "Noé")
    group = await make_group(admin, "AMAP des Prés")
    await build.join(group["id"], buyer)
    await build.join(group["id"], drafter)
    hall = await make_place(group["id"], "Salle des fêtes")
    barn = await make_place(group["id"], "Grange")
    first, second = await make_distributions(group["id"], hall, weeks=2)
    vendor = (await producers.save_vendor(group["id"], name="Ferme"))["id"]
    catalog = await make_catalog(group, vendor)
    product = await make_product(catalog)
    for dist in (first, second):
        await build.order(buyer, dist, {product: 2}, validated_at=clock.now())  # 7,00 €
        await build.order(drafter, dist, {product: 2}, state="draft")
    await login(client, "anne@example.org")
    base = f"/g/{group['slug']}/distributions"
    before = await distributions.distribution(group["id"], first)

    page = await client.get(f"{base}/{first}/deplacer")
    assert page.status_code == 200
    assert 'value="19:00"' in page.text and f'value="{coming_day(14).isoformat()}"' in page.text
    new_day = coming_day(16)
    form = {"place_id": str(barn), "day": new_day.isoformat(), "start": "18:00", "end": "19:30"}
    bad = await post_form(client, f"{base}/{first}/deplacer", form | {"day": "31/02"})
    assert bad.status_code == 422 and "Indiquez une date valide" in bad.text
    assert await distributions.distribution(group["id"], first) == before

    response = await post_form(client, f"{base}/{first}/deplacer", form, follow_redirects=False)
    assert response.status_code == 303
    moved = await distributions.distribution(group["id"], first)
    assert moved["place"] == barn
    assert moved["starts_at"] == paris_datetime(new_day, datetime.strptime("18:00", "%H:%M").time())
    # Orders stay open and close as before (closing no later than the new start).
    assert moved["orders_open_at"] == before["orders_open_at"]
    assert moved["orders_close_at"] == before["orders_close_at"]
    mails = await mailbox.wait_for("lea@example.org", subject="Distribution déplacée")
    assert label(moved["starts_at"]) in str(mails[0]["Subject"])
    listing = await client.get(base)
    assert "1 adhérent prévenu par e-mail." in listing.text
    assert label(moved["starts_at"]) in listing.text and "Grange" in listing.text

    confirm = await client.get(f"{base}/{second}/annuler")
    assert confirm.status_code == 200 and "Annuler la distribution" in confirm.text
    response = await post_form(client, f"{base}/{second}/annuler", follow_redirects=False)
    assert response.status_code == 303
    cancelled = await distributions.distribution(group["id"], second)
    assert cancelled["cancelled_at"] is not None
    await mailbox.wait_for("lea@example.org", subject="Distribution annulée")
    listing = await client.get(base)
    assert "Annulée" in listing.text
    # A cancelled distribution is not moved.
    response = await post_form(client, f"{base}/{second}/deplacer", form)
    assert response.status_code == 422 and "ne peut plus être déplacée" in response.text
    assert await distributions.distribution(group["id"], second) == cancelled
    # Cancelling twice sends nothing more.
    await post_form(client, f"{base}/{second}/annuler")
    kinds = OutboxMail.kind.is_in(["distribution_moved", "distribution_cancelled"])
    assert await OutboxMail.count().where(kinds & (OutboxMail.to_addr == "lea@example.org")) == 2
    # A draft is not an order: its author gets nothing.
    assert await OutboxMail.count().where(kinds & (OutboxMail.to_addr == "noe@example.org")) == 0


# --- CATALOGUES ---------------------------------------------------------------------------


async def test_admin_creates_a_contract_with_its_deliveries(client):
    admin = await make_user("anne@example.org", "Anne")
    paul = await make_user("paul@example.org", "Paul", "Mariuzzo")
    group = await make_group(admin, "AMAP des Prés")
    await build.join(group["id"], paul)
    vendor = (await producers.save_vendor(group["id"], name="Ferme des Saules"))["id"]
    place = await make_place(group["id"])
    d1, d2, d3 = await make_distributions(group["id"], place, weeks=3)
    # A past delivery, with its orders: editing the catalog must not drop it.
    past = (
        await Distribution.insert(
            Distribution(
                group=group["id"],
                place=place,
                starts_at=datetime.now(UTC) - timedelta(days=7),
                ends_at=datetime.now(UTC) - timedelta(days=7, hours=-1),
                orders_open_at=datetime.now(UTC) - timedelta(days=14),
                orders_close_at=datetime.now(UTC) - timedelta(days=8),
            )
        ).returning(Distribution.id)
    )[0]["id"]
    await login(client, "anne@example.org")
    base = f"/g/{group['slug']}/catalogues"

    page = await client.get(f"{base}/nouveau")
    assert page.status_code == 200
    assert 'name="kind"' in page.text and "Commande fixe" in page.text
    assert "Paul Mariuzzo" in page.text and "Ferme des Saules" in page.text
    assert page.text.count('name="distribution_ids"') == 3

    form = {
        "name": "Légumes 2027",
        "vendor_id": str(vendor),
        "kind": "fixed",
        "coordinator_id": str(paul),
        "description": "Un panier par semaine",
    }
    bad = await post_form(client, f"{base}/nouveau", form | {"distribution_ids": [str(d1)]})
    assert bad.status_code == 422
    assert "Un contrat d'AMAP a une période." in shown(bad)
    # The boxes ticked stay ticked.
    assert f'value="{d1}" checked' in bad.text and f'value="{d2}" checked' not in bad.text
    assert await Catalog.count() == 0

    period = {"starts_on": "2027-01-01", "ends_on": "2027-06-30"}
    response = await post_form(
        client,
        f"{base}/nouveau",
        form | period | {"distribution_ids": [str(d1), str(d2)]},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == base
    catalog = await Catalog.select().first()
    assert (catalog["kind"], catalog["coordinator"], catalog["vendor"]) == ("fixed", paul, vendor)
    assert catalog["starts_on"] == date(2027, 1, 1) and catalog["group"] == group["id"]
    assert await catalogs.delivery_ids(catalog["id"]) == {d1, d2}

    listing = await client.get(base)
    assert "Légumes 2027" in listing.text and "Ferme des Saules" in listing.text
    assert "Commande fixe" in listing.text and "du 01/01/2027 au 30/06/2027" in listing.text
    assert "Coordination : Paul Mariuzzo" in listing.text

    await CatalogDistribution.insert(CatalogDistribution(catalog=catalog["id"], distribution=past))
    edit = await client.get(f"{base}/{catalog['id']}")
    assert f'value="{d2}" checked' in edit.text and f'value="{d3}" checked' not in edit.text
    assert 'value="2027-06-30"' in edit.text
    # One box ticked: the form sends a single value, not a list.
    response = await post_form(
        client,
        f"{base}/{catalog['id']}",
        form | period | {"name": "Légumes 2027 (été)", "distribution_ids": str(d3)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert await catalogs.delivery_ids(catalog["id"]) == {d3, past}
    assert (await Catalog.select().first())["name"] == "Légumes 2027 (été)"
    # No box ticked: none of the coming ones, the past one stays.
    await post_form(client, f"{base}/{catalog['id']}", form | period)
    assert await catalogs.delivery_ids(catalog["id"]) == {past}


async def test_a_market_catalog_is_always_variable_and_has_no_kind_choice(client):
    admin = await make_user("lea@example.org", "Léa")
    group = await make_group(admin, "Marché de la Gare", "market")
    vendor = (await producers.save_vendor(group["id"], name="Boulangerie"))["id"]
    await login(client, "lea@example.org")
    base = f"/g/{group['slug']}/catalogues"
    page = await client.get(f"{base}/nouveau")
    assert 'name="kind"' not in page.text
    response = await post_form(
        client,
        f"{base}/nouveau",
        {"name": "Pains", "vendor_id": str(vendor), "kind": "fixed"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert (await Catalog.select().first())["kind"] == "variable"


# --- Products -----------------------------------------------------------------------------


async def test_products_bad_values_are_refused_and_a_photo_is_served_small(app, client):
    admin = await make_user("anne@example.org", "Anne")
    group = await make_group(admin, "AMAP des Prés")
    vendor = (await producers.save_vendor(group["id"], name="Ferme des Saules"))["id"]
    catalog = await make_catalog(group, vendor)
    await login(client, "anne@example.org")
    base = f"/g/{group['slug']}/catalogues/{catalog}/produits"

    page = await client.get(f"{base}/nouveau")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text

    bad = await post_multipart(client, f"{base}/nouveau", PRODUCT | {"price": "abc", "stock": "-1"})
    assert bad.status_code == 422
    assert 'id="e-price">Indiquez un prix en euros, par exemple 3,50.' in bad.text
    assert 'id="e-stock">Indiquez un nombre entier positif ou zéro.' in bad.text
    assert 'value="abc"' in bad.text and 'value="Carottes"' in bad.text
    assert await Product.count() == 0

    not_image = await post_multipart(
        client, f"{base}/nouveau", PRODUCT, {"photo": ("photo.png", b"pas une image", "image/png")}
    )
    assert not_image.status_code == 422 and "n'est pas une image" in shown(not_image)
    assert await Product.count() == 0

    response = await post_multipart(
        client,
        f"{base}/nouveau",
        PRODUCT,
        {"photo": ("carottes.png", png_bytes(), "image/png")},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == base
    product = await Product.select().first()
    assert (product["price_cents"], product["vat_rate"], product["stock"]) == (350, 550, 40)
    assert (product["max_per_order"], product["reference"], product["active"]) == (5, "3760001", 1)
    assert product["catalog"] == catalog and product["photo_version"]

    listing = await client.get(base)
    assert "Carottes" in listing.text and f"3,50{NBSP}€" in listing.text
    assert "5,5 %" in listing.text
    # The photo's address is its content hash, not the product's id.
    photo_url = f"/photos/{product['photo_version']}.jpg"
    assert len(product["photo_version"]) == 16
    assert f'src="{photo_url}"' in listing.text

    photo = await browser(app).get(photo_url)  # anyone may see it, logged in or not
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    assert "max-age=31536000" in photo.headers["cache-control"]
    assert len(photo.content) < 30_000
    with Image.open(io.BytesIO(photo.content)) as image:
        assert image.format == "JPEG" and max(image.size) <= 240
    assert (await client.get(f"/photos/{product['id']}.jpg")).status_code == 404
    assert (await client.get("/photos/0123456789abcdef.jpg")).status_code == 404
    assert (await client.get("/photos/abc.jpg")).status_code == 404

    url = f"{base}/{product['id']}"
    edit = await client.get(url)
    assert 'value="3,50"' in edit.text and "Laissez vide pour garder la photo actuelle" in edit.text
    bad = await post_multipart(client, url, PRODUCT | {"stock": "beaucoup", "price": "4"})
    assert bad.status_code == 422 and 'id="e-stock"' in bad.text
    assert await Product.select().first() == product

    # Through the htmx header for the CSRF token, unticked "active", no new photo.
    fields = {k: v for k, v in PRODUCT.items() if k != "active"}
    response = await client.post(
        url,
        data=fields | {"price": "4,2", "stock": ""},
        files={"photo": ("", b"", "application/octet-stream")},
        headers={"x-csrftoken": await csrf_token(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    saved = await Product.select().first()
    assert (saved["price_cents"], saved["stock"], saved["active"]) == (420, None, 0)
    assert saved["photo_version"] == product["photo_version"]
    listing = await client.get(base)
    assert f"4,20{NBSP}€" in listing.text and "illimité" in listing.text


# --- Access -------------------------------------------------------------------------------


async def build_world() -> dict:
    ids = {
        name: await make_user(f"{name}@example.org", name.title())
        for name in ("admin_a", "member_a", "coord_a", "admin_b", "member_b")
    }
    a = await make_group(ids["admin_a"], "AMAP des Alouettes")
    b = await make_group(ids["admin_b"], "Marché des Bleuets", "market")
    await build.join(a["id"], [ids["member_a"], ids["coord_a"]])
    await build.join(b["id"], ids["member_b"])
    vendor = await build.producer(a["id"], "Ferme Secrète")
    period = build.season(before=0, after=180)
    mine = await build.catalog(a["id"], vendor, "Légumes", coordinator=ids["coord_a"], **period)
    other = await build.catalog(a["id"], vendor, "Fromages", **period)
    place = await build.place(a["id"], "Lavoir", "1 place de la Mairie")
    dist = await build.distribution(a["id"], place, paris_datetime(coming_day(), time(19)), hours=1)
    product = {"unit": "kg", "stock": 40, "max_per_order": 5, "reference": "3760001"}
    return {
        "ids": ids,
        "a": a,
        "b": b,
        "vendor": vendor,
        "mine": mine,
        "other": other,
        "mine_product": await build.product(mine, "Poireaux", 350, **product),
        "other_product": await build.product(other, "Comté", 350, **product),
        "place": place,
        "distribution": dist,
    }


def admin_urls(w: dict, slug: str) -> list[tuple[str, str, dict]]:
    """Every admin URL of these pages, with objects of group A, under the group `slug`."""
    g = f"/g/{slug}"
    dist = f"{g}/distributions/{w['distribution']}"
    cat = f"{g}/catalogues/{w['mine']}"
    product_form = PRODUCT | {"name": "Piraté"}
    return [
        ("GET", f"{g}/producteurs/nouveau", {}),
        ("POST", f"{g}/producteurs/nouveau", {"name": "Piraté"}),
        ("GET", f"{g}/producteurs/{w['vendor']}", {}),
        ("POST", f"{g}/producteurs/{w['vendor']}", {"name": "Piraté"}),
        ("GET", f"{g}/distributions/lieux", {}),
        ("POST", f"{g}/distributions/lieux", {"name": "Piraté"}),
        ("GET", f"{g}/distributions/lieux/{w['place']}", {}),
        ("POST", f"{g}/distributions/lieux/{w['place']}", {"name": "Piraté"}),
        ("GET", f"{g}/distributions/nouvelle", {}),
        (
            "POST",
            f"{g}/distributions/nouvelle",
            {
                "place_id": str(w["place"]),
                "day": coming_day(30).isoformat(),
                "start": "10:00",
                "end": "11:00",
            },
        ),
        ("GET", f"{dist}/deplacer", {}),
        (
            "POST",
            f"{dist}/deplacer",
            {"place_id": str(w["place"]), "day": coming_day(20).isoformat()}
            | {"start": "07:00", "end": "08:00"},
        ),
        ("GET", f"{dist}/annuler", {}),
        ("POST", f"{dist}/annuler", {}),
        ("GET", f"{g}/catalogues/nouveau", {}),
        ("POST", f"{g}/catalogues/nouveau", {"name": "Piraté", "vendor_id": str(w["vendor"])}),
        ("GET", cat, {}),
        ("POST", cat, {"name": "Piraté", "vendor_id": str(w["vendor"])}),
        ("GET", f"{cat}/produits/nouveau", {}),
        ("MULTIPART", f"{cat}/produits/nouveau", product_form),
        ("GET", f"{cat}/produits/{w['mine_product']}", {}),
        ("MULTIPART", f"{cat}/produits/{w['mine_product']}", product_form),
    ]


def member_urls(w: dict, slug: str) -> list[tuple[str, str, dict]]:
    g = f"/g/{slug}"
    return [
        ("GET", f"{g}/producteurs", {}),
        ("GET", f"{g}/distributions", {}),
        ("GET", f"{g}/catalogues", {}),
        ("GET", f"{g}/catalogues/{w['mine']}/produits", {}),
    ]


async def request(client, method: str, url: str, data: dict):
    if method == "GET":
        return await client.get(url, follow_redirects=False)
    if method == "MULTIPART":
        return await post_multipart(client, url, data, follow_redirects=False)
    return await post_form(client, url, data, follow_redirects=False)


async def snapshot() -> list:
    return [
        await table.select().order_by(table.id)
        for table in (Vendor, Place, Distribution, Catalog, CatalogDistribution)
    ] + [await Product.select(*products.PRODUCT_COLUMNS).order_by(Product.id)]


async def test_members_of_another_group_can_neither_see_nor_change_anything(app):
    w = await build_world()
    before = await snapshot()
    secrets = ("Ferme Secrète", "Lavoir", "Poireaux", "Légumes")
    for who in ("member_b", "admin_b"):
        client = await as_user(app, f"{who}@example.org")
        # Group A's pages: not a member.
        for method, url, data in admin_urls(w, w["a"]["slug"]) + member_urls(w, w["a"]["slug"]):
            response = await request(client, method, url, data)
            assert response.status_code == 403, f"{who} {method} {url}: {response.status_code}"
            assert not [s for s in secrets if s in response.text], f"{who} {url}"
        # Group A's objects through group B's URLs: not found, even for B's admin.
        g = f"/g/{w['b']['slug']}"
        own = {f"{g}/{path}" for path in ("producteurs/nouveau", "catalogues/nouveau")}
        own |= {f"{g}/distributions/{path}" for path in ("lieux", "nouvelle")}
        urls = admin_urls(w, w["b"]["slug"]) + member_urls(w, w["b"]["slug"])[3:]
        for method, url, data in urls:
            if url in own:  # B's own creation pages: not about A's objects
                continue
            response = await request(client, method, url, data)
            expected = (404,) if who == "admin_b" else (403, 404)
            assert response.status_code in expected, f"{who} {method} {url}"
            assert not [s for s in secrets if s in response.text], f"{who} {url}"
    assert await snapshot() == before


async def test_a_plain_member_cannot_create_or_change_anything(app):
    w = await build_world()
    before = await snapshot()
    client = await as_user(app, "member_a@example.org")
    for method, url, data in admin_urls(w, w["a"]["slug"]):
        response = await request(client, method, url, data)
        assert response.status_code == 403, f"{method} {url}: {response.status_code}"
    for _, url, _ in member_urls(w, w["a"]["slug"]):
        expected = 200 if url.endswith(("/producteurs", "/distributions")) else 403
        assert (await client.get(url)).status_code == expected, url
    assert await snapshot() == before


async def test_a_coordinator_edits_the_products_of_their_catalog_only(app):
    w = await build_world()
    client = await as_user(app, "coord_a@example.org")
    slug = w["a"]["slug"]
    mine = f"/g/{slug}/catalogues/{w['mine']}/produits"
    other = f"/g/{slug}/catalogues/{w['other']}/produits"

    listing = await client.get(f"/g/{slug}/catalogues")
    assert listing.status_code == 200
    assert "Légumes" in listing.text and "Fromages" not in listing.text
    assert "Nouveau catalogue" not in listing.text
    assert "Ajouter un produit" in (await client.get(mine)).text

    response = await post_multipart(
        client, f"{mine}/nouveau", PRODUCT | {"name": "Navets"}, follow_redirects=False
    )
    assert response.status_code == 303
    response = await post_multipart(
        client,
        f"{mine}/{w['mine_product']}",
        PRODUCT | {"name": "Poireaux bio", "price": "2,80"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    names = {p["name"] for p in await products.products_of(w["mine"])}
    assert names == {"Navets", "Poireaux bio"}

    # Not their catalog: refused; a product of another catalog: not in this one.
    assert (await client.get(other)).status_code == 403
    assert (await client.get(f"{other}/nouveau")).status_code == 403
    response = await post_multipart(client, f"{other}/nouveau", PRODUCT | {"name": "Intrus"})
    assert response.status_code == 403
    response = await post_multipart(
        client, f"{other}/{w['other_product']}", PRODUCT | {"name": "Changé"}
    )
    assert response.status_code == 403
    response = await post_multipart(client, f"{mine}/{w['other_product']}", PRODUCT)
    assert response.status_code == 404
    assert [p["name"] for p in await products.products_of(w["other"])] == ["Comté"]
    # The catalog itself is the admins' business.
    assert (await client.get(f"/g/{slug}/catalogues/{w['mine']}")).status_code == 403
    assert (await client.get(f"/g/{slug}/catalogues/nouveau")).status_code == 403


async def test_a_linked_producer_sees_the_products_of_their_catalogs_without_editing(app):
    w = await build_world()
    producer = await make_user("jean@example.org", "Jean")
    await Vendor.update({Vendor.user: producer}).where(Vendor.id == w["vendor"])
    client = await as_user(app, "jean@example.org")
    slug = w["a"]["slug"]
    listing = await client.get(f"/g/{slug}/catalogues")
    assert "Légumes" in listing.text and "Fromages" in listing.text
    page = await client.get(f"/g/{slug}/catalogues/{w['mine']}/produits")
    assert page.status_code == 200 and "Poireaux" in page.text
    assert "Ajouter un produit" not in page.text
    assert (
        await client.get(f"/g/{slug}/catalogues/{w['mine']}/produits/nouveau")
    ).status_code == 403
    assert (await client.get(f"/g/{slug}/producteurs")).status_code == 403
