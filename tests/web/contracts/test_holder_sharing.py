"""The holder of a subscription shares their basket from MES CONTRATS (« Partager mon
panier »): by the e-mail of a member of the group, with who starts, and stops sharing;
the turns, the émargement and the reminders follow as when the coordinator sets it. An
address that is no member's is refused in the same words whether an account has it or
not; only the holder has this page."""

from __future__ import annotations

from datetime import timedelta

from domain import notifications
from domain.tables import Distribution, OutboxMail, SharedBasket, Subscription
from tests.helpers import MAIL_CONTEXT, login, post_form
from tests.web.contracts.helpers import contract_world, read, subscribe
from tests.web.payments.helpers import as_user


def _url(w) -> str:
    return f"/g/{w['slug']}/contrats/{w['catalog']}/partage"


async def test_the_holder_names_their_second_holder_and_the_turns_follow(app, client):
    w = await contract_world()
    await login(client, "m0@example.org")
    await subscribe(client, w, {w["basket"]: 1})
    tab = read(await client.get(f"/g/{w['slug']}/contrats"))
    assert "Partager mon panier" in tab
    page = await client.get(_url(w))
    assert page.status_code == 200 and "E-mail du second titulaire" in read(page)
    for _ in range(2):  # the same form twice: one share
        done = await post_form(
            client, _url(w), {"email": "  M1@Example.org ", "partner_first": "1"}
        )
        assert "Votre panier est partagé avec NOM1 Prénom1." in read(done)
    [share] = await SharedBasket.select()
    assert share["partner"] == w["members"][1] and share["partner_first"] is True
    assert share["updated_by"] == w["members"][0]
    tab = read(await client.get(f"/g/{w['slug']}/contrats"))
    assert "Panier partagé avec NOM1 Prénom1" in tab and "Modifier le partage" in tab
    partner = await as_user(app, "m1@example.org")
    theirs = read(await partner.get(f"/g/{w['slug']}/contrats"))
    assert "Panier partagé avec NOM0 Prénom0" in theirs and "Modifier le partage" not in theirs
    # The second holder starts: first date theirs on the émargement and in the reminders.
    first, second, _ = w["distributions"]
    coordinator = await as_user(app, "coord@example.org")
    sheet = read(await coordinator.get(f"{w['base']}/commandes/{first}/emargement"))
    assert "NOM0 Prénom0 retiré par NOM1 Prénom1" in sheet
    for dist, expected in ((first, "m1@example.org"), (second, "m0@example.org")):
        starts = (await Distribution.select().where(Distribution.id == dist).first())["starts_at"]
        await notifications.queue_due({"main": MAIL_CONTEXT}, starts - timedelta(hours=10))
        sent = await OutboxMail.select(OutboxMail.to_addr).where(
            (OutboxMail.kind == "reminder_24h") & OutboxMail.key.like(f"%:{dist}")
        )
        assert [m["to_addr"] for m in sent] == [expected], dist
    # Stopping: twice is once; the coordinator keeps the switch too.
    for _ in range(2):
        await post_form(client, _url(w) + "/retirer", {})
    assert await SharedBasket.count() == 0
    assert "Panier partagé avec" not in read(await client.get(f"/g/{w['slug']}/contrats"))
    sub_id = (await Subscription.select(Subscription.id).first())["id"]
    done = await post_form(
        coordinator,
        f"{w['base']}/souscriptions/{sub_id}/partage",
        {"partner_id": str(w["members"][1])},
    )
    assert "Panier partagé enregistré." in read(done)


async def test_an_address_of_no_member_tells_nothing_and_bad_holders_are_refused(app, client):
    w = await contract_world(members=4)
    await login(client, "m0@example.org")
    await subscribe(client, w, {w["basket"]: 1})
    # Whether an account has the address (another group's admin) or not: the same answer.
    answers = []
    for email in ("other@example.org", "personne@example.org"):
        refused = await post_form(client, _url(w), {"email": email})
        assert refused.status_code == 422
        answers.append(read(refused).replace(email, "…"))
    assert answers[0] == answers[1]
    assert "Aucun membre du groupe n'a cette adresse e-mail" in answers[0]
    m2 = await as_user(app, "m2@example.org")
    await subscribe(m2, w, {w["eggs"]: 1})
    m3 = await as_user(app, "m3@example.org")
    for email, message in (
        ("m0@example.org", "Le second titulaire doit être une autre personne."),
        ("pas-une-adresse", "Cette adresse e-mail n'est pas valide."),
        ("", "Indiquez une adresse e-mail."),
        ("m2@example.org", "Cette personne a déjà sa propre souscription à ce contrat."),
    ):
        refused = await post_form(client, _url(w), {"email": email})
        assert refused.status_code == 422 and message in read(refused), email
        assert 'id="e-email"' in refused.text  # at the field
    assert await SharedBasket.count() == 0
    # Someone already sharing another basket of the contract.
    done = await post_form(m2, _url(w), {"email": "m3@example.org"})
    assert "Votre panier est partagé avec NOM3 Prénom3." in read(done)
    refused = await post_form(client, _url(w), {"email": "m3@example.org"})
    assert "Cette personne partage déjà un autre panier de ce contrat." in read(refused)
    assert [s["partner"] for s in await SharedBasket.select()] == [w["members"][3]]
    # Only the holder: the second holder, a member without a subscription, another group.
    for other in (m3, await as_user(app, "m1@example.org")):
        assert (await other.get(_url(w))).status_code == 404
        answer = await post_form(other, _url(w), {"email": "m1@example.org"})
        assert answer.status_code == 404
        assert (await post_form(other, _url(w) + "/retirer", {})).status_code == 404
    stranger = await as_user(app, "other@example.org")
    assert (await stranger.get(_url(w))).status_code == 403
    crafted = f"/g/{w['other_slug']}/contrats/{w['catalog']}/partage"
    assert (await post_form(stranger, crafted, {"email": "m1@example.org"})).status_code == 404
    assert (await post_form(stranger, crafted + "/retirer", {})).status_code == 404
    assert [s["partner"] for s in await SharedBasket.select()] == [w["members"][3]]
