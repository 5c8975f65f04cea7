"""The catalog form and the producer form write in one transaction: when a later write
fails (here a trigger refuses it), nothing the form wrote before is kept."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient

from domain.demo import world
from domain.tables import AccountToken, Catalog, CatalogDistribution, OutboxMail, User, Vendor
from tests.faults import failing_writes
from tests.helpers import login, make_group, make_user, post_form


@pytest.fixture
async def browser(app):
    """A browser that gets the 500 page of a failed request (not the exception)."""
    return AsyncTestClient(app=app, base_url="http://localhost", raise_server_exceptions=False)


async def _amap_with_a_coming_distribution() -> tuple[dict, int, int]:
    admin = await make_user("anne@example.org", "Anne")
    group = await make_group(admin, "AMAP des Prés")
    vendor = await world.producer(group["id"], "Ferme des Saules")
    place = await world.place(group["id"])
    distribution = await world.open_distribution(group["id"], place)
    return group, vendor, distribution


def _catalog_form(vendor: int, distribution: int, name: str = "Légumes 2027") -> dict:
    return {
        "name": name,
        "vendor_id": str(vendor),
        "kind": "variable",
        "starts_on": "2027-01-01",
        "ends_on": "2027-06-30",
        "distribution_ids": [str(distribution)],
    }


async def test_a_new_catalog_is_not_kept_when_its_deliveries_fail(browser):
    group, vendor, distribution = await _amap_with_a_coming_distribution()
    await login(browser, "anne@example.org")
    url = f"/g/{group['slug']}/catalogues/nouveau"
    async with failing_writes("catalog_distribution", "INSERT"):
        response = await post_form(browser, url, _catalog_form(vendor, distribution))
    assert response.status_code == 500
    assert await Catalog.count() == 0  # before: the catalog was saved, its dates not
    assert await CatalogDistribution.count() == 0

    # Without the failure the same form saves both.
    response = await post_form(
        browser, url, _catalog_form(vendor, distribution), follow_redirects=False
    )
    assert response.status_code == 303
    assert await Catalog.count() == 1 and await CatalogDistribution.count() == 1


async def test_an_edited_catalog_keeps_its_name_when_its_deliveries_fail(browser):
    group, vendor, distribution = await _amap_with_a_coming_distribution()
    catalog = await world.catalog(group["id"], vendor, "Légumes")
    await login(browser, "anne@example.org")
    form = _catalog_form(vendor, distribution, name="Légumes (été)")
    async with failing_writes("catalog_distribution", "INSERT"):
        response = await post_form(browser, f"/g/{group['slug']}/catalogues/{catalog}", form)
    assert response.status_code == 500
    row = await Catalog.select(Catalog.name, Catalog.starts_on).where(Catalog.id == catalog).first()
    assert row == {"name": "Légumes", "starts_on": None}
    assert await CatalogDistribution.count() == 0


async def _nothing_of_the_login_account(email: str) -> None:
    assert not await User.exists().where(User.email == email)
    assert await AccountToken.count() == 0
    assert not await OutboxMail.exists().where(OutboxMail.to_addr == email)


async def test_a_producer_that_fails_to_save_leaves_no_login_account_nor_invitation(browser):
    admin = await make_user("anne@example.org", "Anne")
    group = await make_group(admin, "AMAP des Prés")
    await login(browser, "anne@example.org")
    url = f"/g/{group['slug']}/producteurs"
    form = {"name": "Ferme des Saules", "login_email": "jean@saules.example"}
    async with failing_writes("vendor", "INSERT"):
        response = await post_form(browser, f"{url}/nouveau", form)
    assert response.status_code == 500
    assert await Vendor.count() == 0
    # Before: a pending account made for the address, and its invitation queued.
    await _nothing_of_the_login_account("jean@saules.example")

    vendor = await world.producer(group["id"], "Ferme des Saules")
    async with failing_writes("vendor", "UPDATE"):
        response = await post_form(browser, f"{url}/{vendor}", form)
    assert response.status_code == 500
    await _nothing_of_the_login_account("jean@saules.example")
    assert (await Vendor.select(Vendor.user).first())["user"] is None
