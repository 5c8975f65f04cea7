"""Shared baskets (alternance): a subscription's second holder; the distributions
alternate (a switch starts with the other one); each holder sees their own dates in MES
CONTRATS, the émargement says who collects, the reminder goes to the one whose turn it is;
a household sharing one membership shows both names in the header."""

from __future__ import annotations

from datetime import timedelta

from domain import notifications
from domain.demo import world as build
from domain.tables import Distribution, Membership, OutboxMail, SharedBasket
from tests.helpers import MAIL_CONTEXT, login, post_form
from tests.web.contracts.helpers import contract_world, read, subscribe
from tests.web.payments.helpers import as_user


async def _shared(app, client, w, **form):
    member = await as_user(app, "m0@example.org")
    await subscribe(member, w, {w["basket"]: 1})
    coordinator = await as_user(app, "coord@example.org")
    sub = (await coordinator.get(f"{w['base']}/souscriptions")).text
    assert "Panier partagé" in sub
    from domain.tables import Subscription

    sub_id = (await Subscription.select(Subscription.id).first())["id"]
    response = await post_form(
        coordinator,
        f"{w['base']}/souscriptions/{sub_id}/partage",
        {"partner_id": str(w["members"][1])} | form,
    )
    assert "Panier partagé enregistré." in read(response), read(response)[:3000]
    return member, coordinator, sub_id


def _dates(page: str) -> str:
    return page[page.index("Vos dates") :]


async def test_each_holder_sees_their_own_dates_and_the_switch_swaps_them(app, client):
    w = await contract_world()
    holder, coordinator, sub_id = await _shared(app, client, w)
    assert "panier partagé avec NOM1 Prénom1" in read(
        await coordinator.get(f"{w['base']}/souscriptions")
    )
    mine = _dates(read(await holder.get(f"/g/{w['slug']}/contrats")))
    assert mine.count("— à vous") == 2 and mine.count("— retiré par NOM1 Prénom1") == 1
    first = mine.index("à vous")
    assert first < mine.index("retiré par NOM1 Prénom1")
    partner = await as_user(app, "m1@example.org")
    theirs = read(await partner.get(f"/g/{w['slug']}/contrats"))
    assert "Panier partagé avec NOM0 Prénom0" in theirs
    assert "Modifier mon panier" not in theirs  # only the holder changes the basket
    dates = _dates(theirs)
    assert dates.count("— à vous") == 1 and dates.count("— retiré par NOM0 Prénom0") == 2
    assert dates.index("retiré par NOM0 Prénom0") < dates.index("à vous")
    refused = await post_form(
        partner, f"/g/{w['slug']}/contrats/{w['catalog']}", {f"q{w['basket']}": "3"}
    )
    assert refused.status_code == 422 and "Ce panier est partagé" in read(refused)
    # « Commencer par l'autre »: the turns swap.
    await post_form(
        coordinator,
        f"{w['base']}/souscriptions/{sub_id}/partage",
        {"partner_id": str(w["members"][1]), "partner_first": "1"},
    )
    dates = _dates(read(await partner.get(f"/g/{w['slug']}/contrats")))
    assert dates.count("— à vous") == 2 and dates.index("à vous") < dates.index("retiré par")
    # Who collects, on the liste d'émargement of each date.
    first_dist, second_dist, _ = w["distributions"]
    sheet = read(await coordinator.get(f"{w['base']}/commandes/{first_dist}/emargement"))
    assert "NOM0 Prénom0 retiré par NOM1 Prénom1" in sheet
    sheet = read(await coordinator.get(f"{w['base']}/commandes/{second_dist}/emargement"))
    assert "NOM0 Prénom0 retiré par NOM0 Prénom0" in sheet
    # No longer shared.
    await post_form(coordinator, f"{w['base']}/souscriptions/{sub_id}/partage", {})
    assert await SharedBasket.count() == 0
    assert "Panier partagé avec" not in read(await holder.get(f"/g/{w['slug']}/contrats"))


async def test_the_reminder_goes_to_the_one_whose_turn_it_is(app, client):
    w = await contract_world()
    await _shared(app, client, w, partner_first="1")
    first, second, _ = w["distributions"]
    for dist, expected in ((first, "m1@example.org"), (second, "m0@example.org")):
        starts = (await Distribution.select().where(Distribution.id == dist).first())["starts_at"]
        await notifications.queue_due({"main": MAIL_CONTEXT}, starts - timedelta(hours=10))
        sent = await OutboxMail.select(OutboxMail.to_addr).where(
            (OutboxMail.kind == "reminder_24h") & OutboxMail.key.like(f"%:{dist}")
        )
        assert [m["to_addr"] for m in sent] == [expected], dist


async def test_bad_second_holders_are_refused_and_others_cannot_share(app, client):
    w = await contract_world(members=3)
    holder, coordinator, sub_id = await _shared(app, client, w)
    url = f"{w['base']}/souscriptions/{sub_id}/partage"
    for partner, message in (
        (w["members"][0], "Le second titulaire doit être une autre personne."),
        (w["other"], "Cette personne n'est pas membre du groupe."),
        ("abc", "Choisissez le second titulaire dans la liste."),
    ):
        refused = await post_form(coordinator, url, {"partner_id": str(partner)})
        assert refused.status_code == 422 and message in read(refused), partner
    third = await as_user(app, "m2@example.org")
    await subscribe(third, w, {w["eggs"]: 1})
    refused = await post_form(coordinator, url, {"partner_id": str(w["members"][2])})
    assert "a déjà sa propre souscription à ce contrat" in read(refused)
    assert [s["partner"] for s in await SharedBasket.select()] == [w["members"][1]]
    for email in ("coord2@example.org", "m1@example.org", "other@example.org"):
        other = await as_user(app, email)
        assert (await post_form(other, url, {})).status_code == 403, email
    stranger = await as_user(app, "other@example.org")
    crafted = f"/g/{w['other_slug']}/catalogues/{w['catalog']}/souscriptions/{sub_id}/partage"
    assert (await post_form(stranger, crafted, {})).status_code == 404
    await login(client, "coord2@example.org")
    swapped = f"/g/{w['slug']}/catalogues/{w['chocolate']}/souscriptions/{sub_id}/partage"
    assert (await post_form(client, swapped, {})).status_code == 404
    assert await SharedBasket.count() == 1


async def test_a_household_sharing_one_membership_shows_both_names(app, client):
    w = await contract_world()
    melissa = await build.person("melissa@example.org", "Mélissa", "Boursier")
    await build.join(w["group"]["id"], melissa)
    paul = w["coordinator"]
    await Membership.update({Membership.shared_with: melissa}).where(Membership.user == paul)
    await Membership.update({Membership.shared_with: paul}).where(Membership.user == melissa)
    await login(client, "coord@example.org")
    page = read(await client.get(f"/g/{w['slug']}/contrats"))
    assert "Martign'AMAP MARIUZZO-RAYNAUD Paul et BOURSIER Mélissa" in page
    other = await as_user(app, "melissa@example.org")
    assert "BOURSIER Mélissa et MARIUZZO-RAYNAUD Paul" in read(await other.get(f"/g/{w['slug']}"))
    alone = await as_user(app, "m0@example.org")
    assert " et " not in read(await alone.get(f"/g/{w['slug']}/contrats")).split("COMMANDES")[0]
