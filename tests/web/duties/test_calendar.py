"""The calendar of permanences as a member uses it: the coming distributions with their
roles and places left; signing up (twice is once), leaving, one role per distribution, the
sign-up window, a catalog's role only where it delivers; as a plain form and with htmx."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.demo import world as build
from domain.duties import signups
from domain.tables import Distribution, DutySignup, Membership
from tests.helpers import login, post_form
from tests.web.duties.conftest import shown

H = timedelta(hours=1)


async def held(world, person: str) -> list[tuple[int, int]]:
    rows = await DutySignup.select(DutySignup.role, DutySignup.distribution).where(
        DutySignup.user == world["people"][person]
    )
    return [(r["role"], r["distribution"]) for r in rows]


async def test_a_member_sees_the_roles_and_signs_up_once(client, world):
    await login(client, "ana@example.org")
    page = await client.get(world["base"])
    assert page.status_code == 200
    text = shown(page)
    assert "PERMANENCES" in text
    assert "Accueil" in text and "Distribution des légumes" in text
    assert "3 places libres sur 3" in text  # two at the welcome desk, one for vegetables
    assert "2 places libres sur 2" in text and "1 place libre sur 1" in text
    assert "Les inscriptions ouvrent 60 jours avant la distribution" in text

    url = f"{world['base']}/{world['distribution']}/{world['welcome']}/inscription"
    response = await post_form(client, url, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].endswith(f"/permanences#d{world['distribution']}")
    assert await held(world, "ana") == [(world["welcome"], world["distribution"])]
    page = shown(await client.get(world["base"]))
    assert "C'est noté : merci pour votre permanence !" in page
    assert "1 place libre sur 2 · vous" in page
    assert "Me désinscrire" in page and "M'inscrire" not in page  # one role per distribution

    # Twice is once: the same answer, still one sign-up.
    again = await post_form(client, url)
    assert again.status_code == 200
    assert "Vous aviez déjà ce rôle : rien n'a changé." in shown(again)
    assert await DutySignup.count() == 1

    # Others see who holds it, by first name and initial.
    await login(client, "bob@example.org")
    assert "1 place libre sur 2 · Ana M." in shown(await client.get(world["base"]))


async def test_one_role_per_distribution_and_leaving(client, world):
    await login(client, "ana@example.org")
    base = f"{world['base']}/{world['distribution']}"
    await post_form(client, f"{base}/{world['welcome']}/inscription")
    refused = await post_form(client, f"{base}/{world['vegetables']}/inscription")
    assert refused.status_code == 422
    assert "Vous avez déjà le rôle « Accueil » à cette distribution" in shown(refused)
    assert await held(world, "ana") == [(world["welcome"], world["distribution"])]

    left = await post_form(client, f"{base}/{world['welcome']}/desistement", follow_redirects=False)
    assert left.status_code == 303
    assert await held(world, "ana") == []
    assert "Vous n'avez plus ce rôle." in shown(await client.get(world["base"]))
    # Leaving twice is leaving once; then the other role is free to take.
    assert (await post_form(client, f"{base}/{world['welcome']}/desistement")).status_code == 200
    assert (await post_form(client, f"{base}/{world['vegetables']}/inscription")).status_code == 200
    assert await held(world, "ana") == [(world["vegetables"], world["distribution"])]


async def test_a_full_role_says_so_and_keeps_its_people(client, world):
    url = f"{world['base']}/{world['distribution']}/{world['vegetables']}/inscription"
    await login(client, "ana@example.org")
    await post_form(client, url)
    await login(client, "bob@example.org")
    page = shown(await client.get(world["base"]))
    assert "Distribution des légumes" in page and "complet · Ana M." in page
    refused = await post_form(client, url)
    assert refused.status_code == 422
    assert "Toutes les places de ce rôle sont prises." in shown(refused)
    assert await held(world, "bob") == []


async def test_htmx_swaps_the_distribution_card(client, world):
    await login(client, "ana@example.org")
    base = f"{world['base']}/{world['distribution']}"
    response = await post_form(client, f"{base}/{world['welcome']}/inscription", htmx=True)
    assert response.status_code == 200
    text = shown(response)
    assert "<html" not in text and f'id="d{world["distribution"]}"' in text
    assert "C'est noté" in text and "Me désinscrire" in text
    refused = await post_form(client, f"{base}/{world['vegetables']}/inscription", htmx=True)
    assert refused.status_code == 422  # htmx swaps a 422 (base.html): the card and its message
    assert "<html" not in refused.text and 'role="alert"' in refused.text
    assert "Vous avez déjà le rôle « Accueil »" in shown(refused)


async def test_a_catalogs_role_only_where_the_catalog_delivers(client, world):
    starts = (
        await Distribution.select(Distribution.starts_at)
        .where(Distribution.id == world["distribution"])
        .first()
    )["starts_at"]
    other = await build.distribution(world["gid"], world["place"], starts + 7 * 24 * H)
    await login(client, "ana@example.org")
    page = shown(await client.get(world["base"]))
    card = page[page.index(f'id="d{other}"') :]
    assert "Accueil" in card and "Distribution des légumes" not in card
    url = f"{world['base']}/{other}/{world['vegetables']}/inscription"
    assert (await post_form(client, url)).status_code == 404
    assert await DutySignup.count() == 0


async def test_sign_ups_open_n_days_ahead(client, world):
    starts = (
        await Distribution.select(Distribution.starts_at)
        .where(Distribution.id == world["distribution"])
        .first()
    )["starts_at"]
    far = await build.distribution(world["gid"], world["place"], starts + 70 * 24 * H)
    await login(client, "ana@example.org")
    page = shown(await client.get(world["base"]))
    card = page[page.index(f'id="d{far}"') :]
    assert "Inscriptions à partir du " in card and "M'inscrire" not in card
    refused = await post_form(client, f"{world['base']}/{far}/{world['welcome']}/inscription")
    assert refused.status_code == 422
    assert "Les inscriptions pour cette distribution ouvrent le " in shown(refused)
    assert await DutySignup.count() == 0
    # With 90 days ahead in the settings, it is open.
    await build.duty_settings(world["gid"], open_days=90)
    ok = await post_form(client, f"{world['base']}/{far}/{world['welcome']}/inscription")
    assert ok.status_code == 200 and await DutySignup.count() == 1


async def test_a_cancelled_or_started_distribution_changes_no_more(client, world):
    dist = await Distribution.select().where(Distribution.id == world["distribution"]).first()
    with pytest.raises(signups.Refused, match="a commencé"):
        await signups.sign_up(
            world["gid"],
            world["distribution"],
            world["welcome"],
            world["people"]["ana"],
            moment=dist["starts_at"],
        )
    await Distribution.update({Distribution.cancelled_at: dist["starts_at"]}).where(
        Distribution.id == world["distribution"]
    )
    await login(client, "ana@example.org")
    url = f"{world['base']}/{world['distribution']}/{world['welcome']}/inscription"
    refused = await post_form(client, url)
    assert refused.status_code == 422 and "Cette distribution est annulée." in shown(refused)
    assert await DutySignup.count() == 0


async def test_who_may_see_the_calendar(client, world):
    assert (await client.get(world["base"], follow_redirects=False)).status_code in (302, 303, 401)
    outsider = await build.person("zed@example.org", "Zed")
    assert outsider
    await login(client, "zed@example.org")
    assert (await client.get(world["base"])).status_code == 403
    url = f"{world['base']}/{world['distribution']}/{world['welcome']}/inscription"
    assert (await post_form(client, url)).status_code == 403
    await login(client, "ana@example.org")
    # A member is not an admin: the day's page and the assigning are not theirs.
    assert (await client.get(f"{world['base']}/{world['distribution']}")).status_code == 403
    assign = f"{world['base']}/{world['distribution']}/{world['welcome']}/affecter"
    response = await post_form(client, assign, {"user_id": str(world["people"]["bob"])})
    assert response.status_code == 403
    assert await DutySignup.count() == 0


async def test_leaving_the_group_frees_the_coming_permanences(client, world):
    await login(client, "ana@example.org")
    await post_form(
        client, f"{world['base']}/{world['distribution']}/{world['welcome']}/inscription"
    )
    membership = await Membership.select(Membership.group).where(
        Membership.user == world["people"]["ana"]
    )
    assert membership
    response = await post_form(client, f"/compte/marches/{world['gid']}/quitter")
    assert response.status_code in (200, 303)
    assert await held(world, "ana") == []


async def test_the_calendar_costs_the_same_queries_for_4_or_52_distributions(client, world):
    """Pinned: the page's queries do not grow with distributions, roles or volunteers."""
    from tests.helpers import QueryCounter

    starts = (
        await Distribution.select(Distribution.starts_at)
        .where(Distribution.id == world["distribution"])
        .first()
    )["starts_at"]
    await login(client, "ana@example.org")
    counts = {}
    made = 1
    for total in (4, 52):
        more = await build.distributions(
            world["gid"],
            world["place"],
            [starts + (made + n) * 7 * 24 * H for n in range(total - made)],
            catalogs=[world["catalog"]],
        )
        made = total
        for dist in more:
            await build.volunteers(world["welcome"], dist, [world["people"]["bob"]])
        if total == 4:
            await build.duty_settings(world["gid"], open_days=365)
        for _ in range(2):  # the second: the caches of the first request warm
            with QueryCounter() as counter:
                page = await client.get(world["base"])
        assert page.status_code == 200
        assert shown(page).count('class="card duty-day') == total
        counts[total] = counter.count
    assert counts[4] == counts[52] <= 12, counts
