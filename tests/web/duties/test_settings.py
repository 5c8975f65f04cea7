"""PARAMÈTRES → Permanences: the roles (of the group, of a catalog), their places and
instructions, the days ahead and the instructions for all; a French message at each bad
field, nothing saved; fewer places or a removed role and the coming volunteers."""

from __future__ import annotations

from datetime import timedelta

from domain.demo import world as build
from domain.duties import Refused, roles, signups
from domain.kernel.clock import now
from domain.tables import DutyRole, DutySettings, DutySignup
from tests.helpers import login, make_user, post_form
from tests.web.duties.conftest import shown

H = timedelta(hours=1)


async def test_roles_are_made_and_changed_with_french_messages(client, world):
    await login(client, "admin@example.org")
    base = f"/g/{world['slug']}/parametres/permanences"
    page = shown(await client.get(base))
    assert "Accueil" in page and "Tout le groupe" in page
    assert "Ferme du Test – Légumes" in page  # the catalog's role says which catalog

    before = await DutyRole.count()
    refused = await post_form(
        client, f"{base}/roles", {"name": " ", "places": "0", "catalog": "999999"}
    )
    assert refused.status_code == 422
    text = shown(refused)
    assert "Indiquez le nom du rôle" in text
    assert "Indiquez un nombre de personnes entre 1 et 50." in text
    assert "Choisissez le groupe ou un de ses catalogues." in text
    for places in ("²", "-1", "2,5", "99999999999"):
        refused = await post_form(client, f"{base}/roles", {"name": "Caisse", "places": places})
        assert refused.status_code == 422, places
    # Another group's catalog is not one of this group's.
    other_admin = await make_user("autre@example.org", "Autre")
    other = await build.distribution_world(other_admin, name="Autre marché")
    refused = await post_form(
        client,
        f"{base}/roles",
        {"name": "Caisse", "places": "1", "catalog": str(other["catalog"])},
    )
    assert refused.status_code == 422
    assert await DutyRole.count() == before

    response = await post_form(
        client,
        f"{base}/roles",
        {"name": "  Caisse   du jour ", "places": "3", "instructions": "Le fond de caisse."},
        follow_redirects=False,
    )
    assert response.status_code == 303
    made = await DutyRole.select().where(DutyRole.name == "Caisse du jour").first()
    assert (made["places"], made["catalog"], made["instructions"]) == (
        3,
        None,
        "Le fond de caisse.",
    )
    assert "Rôle « Caisse du jour » ajouté." in shown(await client.get(base))

    edit = f"{base}/roles/{made['id']}"
    assert "Caisse du jour" in shown(await client.get(edit))
    response = await post_form(
        client,
        edit,
        {"name": "Caisse", "places": "2", "catalog": str(world["catalog"])},
        follow_redirects=False,
    )
    assert response.status_code == 303
    changed = await DutyRole.select().where(DutyRole.id == made["id"]).first()
    assert (changed["name"], changed["places"], changed["catalog"]) == (
        "Caisse",
        2,
        world["catalog"],
    )


async def test_the_days_ahead_and_the_instructions_for_all(client, world):
    await login(client, "admin@example.org")
    base = f"/g/{world['slug']}/parametres/permanences"
    assert 'name="open_days" type="number" value="60"' in (await client.get(base)).text
    for days in ("0", "400", "abc", ""):
        refused = await post_form(client, base, {"open_days": days, "all_instructions": "x"})
        assert refused.status_code == 422, days
    assert await DutySettings.count() == 0
    response = await post_form(
        client,
        base,
        {"open_days": "30", "all_instructions": "Les clés sont chez Paul."},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert await roles.settings_of(world["gid"]) == {
        "open_days": 30,
        "instructions": "Les clés sont chez Paul.",
    }
    await post_form(client, base, {"open_days": "45", "all_instructions": ""})
    assert (await roles.settings_of(world["gid"]))["open_days"] == 45
    assert await DutySettings.count() == 1


async def test_fewer_places_keep_the_role_full(world):
    """Two people at « Accueil » (places 1 and 2); the first leaves, then one place only:
    the one left holds place 1, and the role is full for the next one."""
    ana, bob, cy = (world["people"][n] for n in ("ana", "bob", "cy"))
    await build.volunteers(world["welcome"], world["distribution"], [ana, bob])
    await DutySignup.delete().where(DutySignup.user == ana)
    await roles.save_role(
        world["gid"], role_id=world["welcome"], name="Accueil", places="1", instructions=""
    )
    [row] = await DutySignup.select(DutySignup.user, DutySignup.place).where(
        DutySignup.role == world["welcome"]
    )
    assert row == {"user": bob, "place": 1}
    try:
        await signups.sign_up(world["gid"], world["distribution"], world["welcome"], cy)
    except Refused as refusal:
        assert refusal.message == signups.FULL
    else:
        raise AssertionError("le rôle est complet")


async def test_a_removed_role_frees_its_coming_volunteers_and_keeps_the_past(client, world):
    past = await build.past_distribution(world["gid"], world["place"], ago=7 * 24 * H)
    ana = world["people"]["ana"]
    await build.volunteers(world["welcome"], past, [ana])
    await build.volunteers(world["welcome"], world["distribution"], [ana])
    await login(client, "admin@example.org")
    base = f"/g/{world['slug']}/parametres/permanences/roles/{world['welcome']}"
    page = shown(await client.get(base))
    assert "1 bénévole inscrit aux distributions à venir sera retiré de ce rôle." in page
    response = await post_form(client, f"{base}/supprimer", follow_redirects=False)
    assert response.status_code == 303
    rows = await DutySignup.select(DutySignup.distribution).where(DutySignup.user == ana)
    assert rows == [{"distribution": past}]
    assert (await client.get(base)).status_code == 404
    calendar = shown(await client.get(f"/g/{world['slug']}/permanences"))
    assert "Rôle « Accueil » supprimé. 1 bénévole retiré." in calendar  # the flash notice
    assert "<strong>Accueil</strong>" not in calendar
    assert "<strong>Distribution des légumes</strong>" in calendar
    assert (await post_form(client, f"{base}/supprimer")).status_code == 404
    assert (
        now()
        > (await DutyRole.select().where(DutyRole.id == world["welcome"]).first())["removed_at"]
    )


async def test_only_admins_set_the_permanences(client, world):
    await login(client, "ana@example.org")
    base = f"/g/{world['slug']}/parametres/permanences"
    assert (await client.get(base)).status_code == 403
    response = await post_form(client, f"{base}/roles", {"name": "Caisse", "places": "1"})
    assert response.status_code == 403
    assert await DutyRole.count() == 2
