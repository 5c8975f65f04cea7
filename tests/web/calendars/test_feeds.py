"""Calendar feeds through the real stack, read back with the `icalendar` package: the
group's (anyone), a member's own behind a private address (changed, turned off, another
group's, after leaving: 404), and events that a moved or cancelled distribution updates."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import icalendar
from litestar.testing import AsyncTestClient

from domain.demo import world as build
from domain.kernel import clock
from domain.kernel.dates import PARIS, local
from domain.producer_space import products as space_products
from domain.tables import Catalog, Membership, Order, OrderLine, Product
from tests.helpers import login, make_group, make_user, post_form

WEEK = timedelta(days=7)


def coming(days: int, hour: int = 19) -> datetime:
    day = (clock.now() + timedelta(days=days)).astimezone(PARIS).date()
    return datetime(day.year, day.month, day.day, hour, tzinfo=PARIS).astimezone(UTC)


async def amap_world() -> dict:
    """An AMAP with three coming distributions at the Halle: léa ordered at the first, has
    a contract delivering at the second and nothing at the third; noé ordered at all."""
    admin = await make_user("anne@example.org", "Anne")
    lea = await make_user("lea@example.org", "Léa")
    noe = await make_user("noe@example.org", "Noé")
    group = await make_group(admin, "AMAP des Prés")
    await build.join(group["id"], [lea, noe])
    hall = await build.place(group["id"], "Halle", "1 rue du Marché\n44000 Nantes")
    barn = await build.place(group["id"], "Grange")
    dists = [await build.distribution(group["id"], hall, coming(d)) for d in (10, 17, 24)]
    farm = await build.producer(group["id"], "Ferme des Saules")
    vegetables = await build.catalog(group["id"], farm, name="Légumes", delivers=dists[:1])
    eggs = await build.catalog(group["id"], farm, name="Œufs", delivers=dists[1:2])
    leeks = await build.product(vegetables, "Poireaux", 250, unit="botte")
    dozen = await build.product(eggs, "Douzaine", 390, unit="boîte")
    await build.order(lea, dists[0], {leeks: 2})
    await build.order(lea, dists[2], {leeks: 9}, state="draft")  # not validated: not shown
    today = clock.now().date()
    await build.subscription(lea, eggs, starts_on=today, ends_on=today + 60 * timedelta(days=1))
    for dist in dists:
        await build.order(noe, dist, {leeks: 1, dozen: 1} if dist == dists[1] else {leeks: 5})
    return {
        "group": group,
        "dists": dists,
        "people": {"anne": admin, "lea": lea, "noe": noe},
        "places": {"hall": hall, "barn": barn},
    }


def parsed(response) -> icalendar.Calendar:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert "set-cookie" not in response.headers  # calendar apps keep no session
    return icalendar.Calendar.from_ical(response.content)


def events(calendar: icalendar.Calendar) -> dict[str, icalendar.Event]:
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


async def test_the_group_feed_has_every_distribution_with_times_and_places_only(client, app):
    world = await amap_world()
    slug = world["group"]["slug"]
    home = await client.get(f"/g/{slug}")
    assert f'href="webcal://localhost/g/{slug}/calendrier.ics"' in home.text  # anyone sees it

    calendar = parsed(await client.get(f"/g/{slug}/calendrier.ics"))
    assert str(calendar["VERSION"]) == "2.0" and "AMAP des Prés" in str(calendar["X-WR-CALNAME"])
    [zone] = calendar.walk("VTIMEZONE")
    assert str(zone["TZID"]) == "Europe/Paris"
    found = events(calendar)
    assert sorted(found) == sorted(f"distribution-{d}@localhost" for d in world["dists"])
    first = found[f"distribution-{world['dists'][0]}@localhost"]
    start = first.decoded("DTSTART")
    assert first["DTSTART"].params["TZID"] == "Europe/Paris"
    assert start == local(coming(10)) and start.hour == 19 and str(start.tzinfo) == "Europe/Paris"
    assert first.decoded("DTEND") - start == timedelta(hours=2)
    assert str(first["LOCATION"]) == "Halle, 1 rue du Marché 44000 Nantes"
    assert str(first["STATUS"]) == "CONFIRMED" and int(first["SEQUENCE"]) == 0
    # Dates, times and places only: nobody's order, no name.
    text = response_text = (await client.get(f"/g/{slug}/calendrier.ics")).text
    for word in ("Poireaux", "Léa", "lea@example.org", "Noé", "Total"):
        assert word not in text, word
    assert "DESCRIPTION:Les distributions" in response_text  # the calendar's, not events'


async def test_a_moved_or_cancelled_distribution_updates_its_event(client, app):
    world = await amap_world()
    slug, (first, second, _) = world["group"]["slug"], world["dists"]
    before = events(parsed(await client.get(f"/g/{slug}/calendrier.ics")))

    await login(client, "anne@example.org")
    new_day = local(coming(12)).date()
    moved = await post_form(
        client,
        f"/g/{slug}/distributions/{first}/deplacer",
        {
            "place_id": str(world["places"]["barn"]),
            "day": new_day.isoformat(),
            "start": "18:00",
            "end": "19:30",
        },
        follow_redirects=False,
    )
    assert moved.status_code == 303
    cancelled = await post_form(
        client, f"/g/{slug}/distributions/{second}/annuler", follow_redirects=False
    )
    assert cancelled.status_code == 303

    visitor = AsyncTestClient(app=app, base_url="http://localhost")
    after = events(parsed(await visitor.get(f"/g/{slug}/calendrier.ics")))
    assert sorted(after) == sorted(before)  # the same UIDs: updated, not duplicated
    event = after[f"distribution-{first}@localhost"]
    assert event.decoded("DTSTART") == datetime(
        new_day.year, new_day.month, new_day.day, 18, tzinfo=PARIS
    )
    assert str(event["LOCATION"]) == "Grange" and int(event["SEQUENCE"]) == 1
    gone = after[f"distribution-{second}@localhost"]
    assert str(gone["STATUS"]) == "CANCELLED" and int(gone["SEQUENCE"]) == 1
    assert str(gone["SUMMARY"]).startswith("Annulée")

    # The member's feed follows too.
    await login(visitor, "lea@example.org")
    await post_form(visitor, f"/g/{slug}/calendrier", {"action": "creer"})
    mine = events(parsed(await visitor.get(await private_path(visitor, slug))))
    lea = world["people"]["lea"]
    assert int(mine[f"distribution-{first}-membre-{lea}@localhost"]["SEQUENCE"]) == 1
    assert str(mine[f"distribution-{second}-membre-{lea}@localhost"]["STATUS"]) == "CANCELLED"


async def private_path(client, slug: str) -> str:
    page = await client.get(f"/g/{slug}/calendrier")
    assert page.status_code == 200
    match = re.search(rf'value="http://localhost(/g/{slug}/calendrier/[0-9a-f-]+\.ics)"', page.text)
    assert match, page.text
    return match.group(1)


async def test_a_members_feed_shows_what_they_ordered_or_subscribed_to(client, app):
    world = await amap_world()
    slug, (first, second, third) = world["group"]["slug"], world["dists"]
    await login(client, "lea@example.org")
    page = await client.get(f"/g/{slug}/calendrier")
    assert "Créer mon adresse privée" in page.text and "/calendrier/" not in page.text
    created = await post_form(
        client, f"/g/{slug}/calendrier", {"action": "creer"}, follow_redirects=False
    )
    assert created.status_code == 303
    path = await private_path(client, slug)

    calendar_app = AsyncTestClient(app=app, base_url="http://localhost")  # no session
    response = await calendar_app.get(path)
    assert response.headers["cache-control"] == "private, no-store"
    calendar = parsed(response)
    assert calendar.walk("VTIMEZONE") and "Mes distributions" in str(calendar["X-WR-CALNAME"])
    lea = world["people"]["lea"]
    found = events(calendar)
    # The first (her order) and the second (her contract); the third: a draft only.
    assert sorted(found) == [f"distribution-{d}-membre-{lea}@localhost" for d in (first, second)]
    ordered = str(found[f"distribution-{first}-membre-{lea}@localhost"]["DESCRIPTION"])
    assert "2 × Poireaux (botte, Ferme des Saules) : 5,00" in ordered and "Total : 5,00" in ordered
    contract = str(found[f"distribution-{second}-membre-{lea}@localhost"]["DESCRIPTION"])
    assert contract == "Contrat : Œufs (Ferme des Saules)"
    assert "Douzaine" not in response.text and "× 5" not in response.text  # noé's, not hers
    assert str(found[f"distribution-{first}-membre-{lea}@localhost"]["URL"]).endswith(
        f"/g/{slug}/commandes/{first}"
    )
    assert third not in (first, second)


async def test_a_changed_or_turned_off_address_answers_404(client, app):
    world = await amap_world()
    slug = world["group"]["slug"]
    await login(client, "lea@example.org")
    await post_form(client, f"/g/{slug}/calendrier", {"action": "creer"})
    old = await private_path(client, slug)
    calendar_app = AsyncTestClient(app=app, base_url="http://localhost")
    assert (await calendar_app.get(old)).status_code == 200

    renewed = await post_form(client, f"/g/{slug}/calendrier", {"action": "renouveler"})
    assert "ancienne ne fonctionne plus" in renewed.text
    new = await private_path(client, slug)
    assert new != old
    assert (await calendar_app.get(old)).status_code == 404
    assert (await calendar_app.get(new)).status_code == 200

    # An altered address, or one without its .ics, is no address.
    feed_id, version, mac = new.rsplit("/", 1)[1].removesuffix(".ics").split("-")
    forged = f"/g/{slug}/calendrier/{feed_id}-{version}-{'0' * 32}.ics"
    assert (await calendar_app.get(forged)).status_code == 404
    assert (await calendar_app.get(new.removesuffix(".ics"))).status_code == 404
    older = f"/g/{slug}/calendrier/{feed_id}-{int(version) - 1}-{mac}.ics"
    assert (await calendar_app.get(older)).status_code == 404

    off = await post_form(client, f"/g/{slug}/calendrier", {"action": "desactiver"})
    assert "désactivée" in off.text and "Créer mon adresse privée" in off.text
    assert (await calendar_app.get(new)).status_code == 404
    await post_form(client, f"/g/{slug}/calendrier", {"action": "creer"})
    again = await private_path(client, slug)
    assert again not in (old, new) and (await calendar_app.get(again)).status_code == 200

    bad = await post_form(client, f"/g/{slug}/calendrier", {"action": "tout"})
    assert bad.status_code == 422 and "Choisissez une action" in bad.text

    # Out of the group: the address stops working.
    await Membership.delete().where(Membership.user == world["people"]["lea"])
    assert (await calendar_app.get(again)).status_code == 404


async def test_another_groups_member_never_sees_a_members_feed(client, app):
    world = await amap_world()
    slug = world["group"]["slug"]
    await login(client, "lea@example.org")
    await post_form(client, f"/g/{slug}/calendrier", {"action": "creer"})
    leas = await private_path(client, slug)

    outsider = await make_user("zoe@example.org", "Zoé")
    other = await make_group(outsider, "AMAP Voisine")
    stranger = AsyncTestClient(app=app, base_url="http://localhost")
    await login(stranger, "zoe@example.org")
    assert (await stranger.get(f"/g/{slug}/calendrier")).status_code == 403
    forbidden = await post_form(stranger, f"/g/{slug}/calendrier", {"action": "creer"})
    assert forbidden.status_code == 403
    await post_form(stranger, f"/g/{other['slug']}/calendrier", {"action": "creer"})
    zoes = await private_path(stranger, other["slug"])
    # Her own address under the first group's URL, and Léa's under hers: 404 both.
    token = zoes.rsplit("/", 1)[1]
    assert (await stranger.get(f"/g/{slug}/calendrier/{token}")).status_code == 404
    assert (
        await stranger.get(f"/g/{other['slug']}/calendrier/{leas.rsplit('/', 1)[1]}")
    ).status_code == 404
    assert (await stranger.get(zoes)).status_code == 200


async def test_a_product_of_the_producers_list_names_its_producer(client, app):
    """A product of the producer space, offered by a catalog (no catalog of its own): the
    feed names its producer, as for a catalog's own product."""
    world = await amap_world()
    slug, first = world["group"]["slug"], world["dists"][0]
    [catalog] = await Catalog.select(Catalog.id, Catalog.vendor).where(Catalog.name == "Légumes")
    space = await build.space_of(catalog["vendor"])
    [honey] = await Product.insert(
        Product(catalog=None, producer=space, name="Miel", unit="pot", price_cents=700, stock=9)
    ).returning(Product.id)
    await space_products.add_to_catalog(space, [honey["id"]], catalog["id"])
    mine = (
        await Order.select(Order.id)
        .where((Order.user == world["people"]["lea"]) & (Order.distribution == first))
        .first()
    )
    await OrderLine.insert(
        OrderLine(order=mine["id"], product=honey["id"], quantity=1, unit_price_cents=700)
    )
    await login(client, "lea@example.org")
    await post_form(client, f"/g/{slug}/calendrier", {"action": "creer"})
    calendar_app = AsyncTestClient(app=app, base_url="http://localhost")
    found = events(parsed(await calendar_app.get(await private_path(client, slug))))
    lea = world["people"]["lea"]
    ordered = str(found[f"distribution-{first}-membre-{lea}@localhost"]["DESCRIPTION"])
    assert "1 × Miel (pot, Ferme des Saules) : 7,00" in ordered, ordered
