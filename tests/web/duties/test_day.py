"""The admins' page of one day: volunteers and empty places, assigning a member (at any
time before the start, within the same rules), removing one; the day's list printed with
the émargement of each catalog."""

from __future__ import annotations

import re
from datetime import timedelta

from domain.demo import world as build
from domain.tables import Distribution, DutySignup, User
from tests.helpers import login, post_form
from tests.web.duties.conftest import shown

H = timedelta(hours=1)


def sheet(page: str) -> list[list[str]]:
    """The rows of the day's sheet: [role, volunteer, phone]."""
    table = re.search(r'<table class="recap sign duty-sheet">.*?</table>', page, re.S).group(0)
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)[1:]:
        cells = [
            re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        rows.append(cells[:3])
    return rows


async def test_the_admin_assigns_and_removes_within_the_rules(client, world):
    await User.update({User.phone: "06 12 34 56 78"}).where(User.id == world["people"]["bob"])
    await login(client, "admin@example.org")
    day = f"{world['base']}/{world['distribution']}"
    page = shown(await client.get(day))
    assert "Permanences du " in page and "Imprimer" in page
    assert "3 places libres sur 3." in page
    assert sheet(page) == [
        ["Accueil", "place libre", ""],
        ["Accueil", "place libre", ""],
        ["Distribution des légumes", "place libre", ""],
    ]

    bob = str(world["people"]["bob"])
    response = await post_form(
        client, f"{day}/{world['welcome']}/affecter", {"user_id": bob}, follow_redirects=False
    )
    assert response.status_code == 303
    page = shown(await client.get(day))
    assert "Bénévole inscrit." in page
    assert sheet(page)[0] == ["Accueil", "PETIT Bob", "06 12 34 56 78"]
    row = await DutySignup.select().where(DutySignup.user == world["people"]["bob"]).first()
    assert row["assigned_by"] == world["people"]["admin"] and row["place"] == 1

    # One role per distribution, for an admin's assigning too.
    refused = await post_form(client, f"{day}/{world['vegetables']}/affecter", {"user_id": bob})
    assert refused.status_code == 422
    assert "Bob Petit a déjà le rôle « Accueil » à cette distribution." in shown(refused)
    # Someone who is not a member, or no one at all.
    stranger = await build.person("zed@example.org", "Zed")
    for value in (str(stranger), "", "abc", "²"):
        refused = await post_form(
            client, f"{day}/{world['vegetables']}/affecter", {"user_id": value}
        )
        assert refused.status_code == 422
        assert "Choisissez un membre du groupe." in shown(refused)
    # A full role.
    await post_form(
        client, f"{day}/{world['vegetables']}/affecter", {"user_id": str(world["people"]["cy"])}
    )
    refused = await post_form(
        client, f"{day}/{world['vegetables']}/affecter", {"user_id": str(world["people"]["ana"])}
    )
    assert refused.status_code == 422 and "Toutes les places" in shown(refused)
    assert await DutySignup.count() == 2

    response = await post_form(
        client, f"{day}/{world['welcome']}/retirer", {"user_id": bob}, follow_redirects=False
    )
    assert response.status_code == 303
    assert await DutySignup.count().where(DutySignup.user == world["people"]["bob"]) == 0
    assert "Bénévole retiré de ce rôle." in shown(await client.get(day))
    # Removing again: they no longer hold it, and the page says so.
    again = await post_form(client, f"{day}/{world['welcome']}/retirer", {"user_id": bob})
    assert "Cette personne n'avait pas ce rôle." in shown(again)


async def test_admins_assign_before_members_may_sign_up(client, world):
    starts = (
        await Distribution.select(Distribution.starts_at)
        .where(Distribution.id == world["distribution"])
        .first()
    )["starts_at"]
    far = await build.distribution(world["gid"], world["place"], starts + 80 * 24 * H)
    await login(client, "admin@example.org")
    response = await post_form(
        client,
        f"{world['base']}/{far}/{world['welcome']}/affecter",
        {"user_id": str(world["people"]["ana"])},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert await DutySignup.count().where(DutySignup.distribution == far) == 1


async def test_the_day_list_is_printed_with_the_emargement(client, world):
    await build.volunteers(world["welcome"], world["distribution"], [world["people"]["ana"]])
    await login(client, "admin@example.org")
    url = (
        f"/g/{world['slug']}/catalogues/{world['catalog']}/commandes/{world['distribution']}"
        "/emargement"
    )
    page = shown(await client.get(url))
    assert "Liste d'émargement" in page and "Permanences du jour" in page
    assert sheet(page) == [
        ["Accueil", "MARTIN Ana", ""],
        ["Accueil", "place libre", ""],
        ["Distribution des légumes", "place libre", ""],
    ]


async def test_a_group_without_roles_shows_no_permanence(client):
    from tests.helpers import make_user

    admin = await make_user("solo@example.org", "Solo")
    w = await build.distribution_world(admin, kind="amap", name="AMAP sans rôles")
    await login(client, "solo@example.org")
    page = shown(await client.get(f"/g/{w['group']['slug']}/permanences"))
    assert "Ce groupe n'a pas encore de rôles de bénévoles." in page
    assert "Définir les rôles de bénévoles" in page
    emargement = shown(
        await client.get(
            f"/g/{w['group']['slug']}/catalogues/{w['catalog']}/commandes/{w['distribution']}"
            "/emargement"
        )
    )
    assert "Permanences du jour" not in emargement


async def test_a_started_day_is_printed_and_changes_no_more(client, world):
    past = await build.past_distribution(world["gid"], world["place"], ago=2 * H)
    await build.volunteers(world["welcome"], past, [world["people"]["ana"]])
    await login(client, "admin@example.org")
    page = shown(await client.get(f"{world['base']}/{past}"))
    assert sheet(page)[0] == ["Accueil", "MARTIN Ana", ""]
    assert "Inscrire un bénévole" not in page and "Retirer" not in page
    response = await post_form(
        client,
        f"{world['base']}/{past}/{world['welcome']}/retirer",
        {"user_id": str(world["people"]["ana"])},
    )
    assert response.status_code == 422
    assert "Cette distribution a commencé" in shown(response)
    assert await DutySignup.count().where(DutySignup.distribution == past) == 1
