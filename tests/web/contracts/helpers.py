"""What the contracts tests share: an AMAP with a fixed contract over three coming
distributions, its coordinator, members, another catalog's coordinator and another
group's admin (password PASSWORD for all)."""

from __future__ import annotations

from datetime import timedelta

from domain.demo import world as build
from domain.kernel import clock
from tests.helpers import PASSWORD, post_form

DAY = timedelta(days=1)


async def contract_world(*, kind: str = "fixed", members: int = 2, stock: int | None = None):
    """« Martign'AMAP » of admin@example.org, the contract « Légumes de saison » (`kind`)
    coordinated by coord@example.org, delivering at three distributions 3, 10 and 17 days
    ahead (orders close the day before each), products « Panier » 60 € and « Œufs » 3 €
    (`stock` each); members m0@…, m1@…; coord2@example.org coordinates another contract
    of the group; other@example.org is the admin of another AMAP."""
    admin = await build.person("admin@example.org", "Claire", "Admin")
    coordinator = await build.person("coord@example.org", "Paul", "Mariuzzo-Raynaud")
    coordinator2 = await build.person("coord2@example.org", "Marie", "Chocolat")
    other = await build.person("other@example.org", "Olga", "Autre")
    amap = await build.group(admin, "Martign'AMAP", "amap")
    users = await build.people(
        members,
        email="m{i}@example.org",
        first_name="Prénom{i}",
        last_name="Nom{i}",
        password=PASSWORD,
    )
    await build.join(amap["id"], [coordinator, coordinator2, *users])
    halle = await build.place(amap["id"], "MGDD")
    farm = await build.producer(amap["id"], "Ferme des Saules")
    now = clock.now()
    catalog = await build.catalog(
        amap["id"],
        farm,
        "Légumes de saison",
        kind=kind,
        coordinator=coordinator,
        **build.season(now, before=1, after=60),
    )
    chocolate = await build.catalog(
        amap["id"],
        farm,
        "Chocolat",
        kind="fixed",
        coordinator=coordinator2,
        **build.season(now, before=1, after=60),
    )
    dists = await build.distributions(
        amap["id"], halle, [now + (3 + 7 * i) * DAY for i in range(3)], catalogs=[catalog]
    )
    basket, eggs = await build.products(catalog, [("Panier", 6000), ("Œufs", 300)], stock=stock)
    other_group = await build.group(other, "AMAP d'ailleurs", "amap")
    return {
        "admin": admin,
        "coordinator": coordinator,
        "coordinator2": coordinator2,
        "other": other,
        "group": amap,
        "slug": amap["slug"],
        "other_slug": other_group["slug"],
        "catalog": catalog,
        "chocolate": chocolate,
        "distributions": dists,
        "basket": basket,
        "eggs": eggs,
        "members": users,
        "base": f"/g/{amap['slug']}/catalogues/{catalog}",
    }


async def subscribe(client, w: dict, quantities: dict[int, int]):
    """The logged-in member subscribes to the contract through MES CONTRATS."""
    response = await post_form(
        client,
        f"/g/{w['slug']}/contrats/{w['catalog']}",
        {f"q{p}": str(q) for p, q in quantities.items()},
    )
    assert "Votre souscription est enregistrée." in response.text, response.text[:2000]
    return response


def read(response) -> str:
    """The page's text as read (tags out, spaces collapsed), euros with a plain space."""
    from tests.web.payments.helpers import shown

    return shown(response).replace("\xa0", " ").replace("\u202f", " ")
