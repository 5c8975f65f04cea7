"""A group with permanences: an AMAP whose one catalog delivers at a distribution three
days from now, a role of the group (« Accueil », two places) and one of the catalog
(« Distribution des légumes », one place), its admin and three members."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from litestar.testing import AsyncTestClient

from domain.demo import world as build
from tests.helpers import login, make_user

H = timedelta(hours=1)


def shown(response) -> str:
    """The page's text as a reader sees it (entities decoded)."""
    return html.unescape(response.text)


async def duty_world(**options) -> dict:
    admin = await make_user("admin@example.org", "Adèle", "Admin")
    w = await build.distribution_world(admin, kind="amap", name="AMAP des Tilleuls", **options)
    gid = w["group"]["id"]
    people = {"admin": admin}
    for first, last in (("Ana", "Martin"), ("Bob", "Petit"), ("Cy", "Durand")):
        people[first.lower()] = await make_user(f"{first.lower()}@example.org", first, last)
    await build.join(gid, [people[n] for n in ("ana", "bob", "cy")])
    welcome = await build.duty_role(gid, "Accueil", 2, instructions="Arriver à 18 h 30.")
    vegetables = await build.duty_role(
        gid, "Distribution des légumes", 1, catalog=w["catalog"], position=1
    )
    return w | {
        "gid": gid,
        "slug": w["group"]["slug"],
        "people": people,
        "welcome": welcome,
        "vegetables": vegetables,
        "base": f"/g/{w['group']['slug']}/permanences",
    }


@pytest.fixture
async def world():
    return await duty_world()


async def client_of(app, email: str) -> AsyncTestClient:
    """A browser of its own, logged in as `email` (for two people acting at once)."""
    client = AsyncTestClient(app=app, base_url="http://localhost")
    await login(client, email)
    return client
