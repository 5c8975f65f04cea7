"""Text longer than its column (or than the app's limit for a Text column) is a French
message at its field (422) and saves nothing, on both engines (PostgreSQL refuses it with
an error, SQLite would store it)."""

from __future__ import annotations

from domain.demo import world as build
from domain.tables import Catalog, Place, User, Vendor
from tests.helpers import login, post_form


async def test_sign_up_with_a_first_name_over_100_characters(client):
    response = await post_form(
        client,
        "/inscription",
        {
            "email": "ana@example.org",
            "password": "un-bon-mot-de-passe",
            "first_name": "A" * 101,
            "last_name": "B",
        },
    )
    assert response.status_code == 422
    assert "Le prénom ne doit pas dépasser 100 caractères." in response.text
    assert await User.count() == 0


async def test_place_vendor_and_catalog_long_texts(client):
    admin = await build.person("admin@example.org", "Anne", "Admin")
    w = await build.distribution_world(admin, kind="amap")
    slug = w["group"]["slug"]
    await login(client, "admin@example.org")
    before = (
        await Place.select().order_by(Place.id),
        await Vendor.select().order_by(Vendor.id),
        await Catalog.select().order_by(Catalog.id),
    )
    cases = [
        (
            f"/g/{slug}/distributions/lieux",
            {"name": "Halle 2", "address": "a" * 2_001},
            "2\u202f000",
        ),
        (
            f"/g/{slug}/producteurs/nouveau",
            {"name": "Ferme", "description": "d" * 5_001},
            "5\u202f000",
        ),
        (f"/g/{slug}/producteurs/nouveau", {"name": "Ferme", "address": "a" * 2_001}, "2\u202f000"),
        (
            f"/g/{slug}/catalogues/nouveau",
            {
                "name": "Fruits",
                "vendor_id": str(w["vendor"]),
                "kind": "variable",
                "description": "d" * 5_001,
            },
            "5\u202f000",
        ),
    ]
    for url, data, limit in cases:
        for htmx in (False, True):
            response = await post_form(client, url, data, htmx=htmx)
            assert response.status_code == 422, (url, response.status_code)
            assert f"Ce texte ne doit pas dépasser {limit} caractères." in response.text, url
    after = (
        await Place.select().order_by(Place.id),
        await Vendor.select().order_by(Vendor.id),
        await Catalog.select().order_by(Catalog.id),
    )
    assert after == before
