"""An existing account added to a group by its admin: until the person accepts (the link of
the welcome mail, or their first order), the group's admins see its e-mail and what they
typed, never the account's names, phone or address, on any page or export; the page looks
as for an account the add made. « Ne pas rejoindre ce groupe » takes the person out, with
everything of the group that would still reach them."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from domain import messaging, notifications
from domain.kernel import clock
from domain.messaging import Draft
from domain.outbox import MailContext
from domain.tables import Membership, Order, OutboxMail, Subscription, User
from tests.helpers import csrf_token, login, make_distribution_world, make_user, post_form
from tests.stack import text_of
from tests.web.subscriptions.test_subscriptions import fixed_world

SECRETS = ("Pénélope", "Secrète", "06 99 88 77 66", "rue Cachée", "69009")
CTX = MailContext(instance="main", site_name="Test", base_url="http://localhost")


async def account(email: str = "penelope@example.org") -> int:
    """An account of its own, with everything a stranger should not learn from it."""
    user = await make_user(email, "Pénélope", "Secrète")
    await User.update(
        {
            User.phone: "06 99 88 77 66",
            User.address: "3 rue Cachée",
            User.postal_code: "69009",
            User.city: "Lyon",
        }
    ).where(User.id == user)
    return user


async def add(client, group: dict, email: str, phone: str = "07 11 11 11 11"):
    response = await post_form(
        client,
        f"/g/{group['slug']}/membres/nouveau",
        {"email": email, "first_name": "Pen", "last_name": "Cliente", "phone": phone},
    )
    assert response.status_code == 200, response.text
    return response


def leaks(text: str) -> list[str]:
    """The account's own data found in a page (in any case: recaps write DURAND Alice)."""
    shown = html.unescape(text).lower()
    return [s for s in SECRETS if s.lower() in shown]


def answer_links(mail) -> tuple[str, str]:
    text = text_of(mail)
    accept = re.search(r"http://localhost(/adhesion/\S+/rejoindre)", text).group(1)
    decline = re.search(r"http://localhost(/adhesion/\S+/refuser)", text).group(1)
    return accept, decline


async def accepted(user: int, group: dict) -> bool:
    row = (
        await Membership.select(Membership.accepted_at)
        .where((Membership.user == user) & (Membership.group == group["id"]))
        .first()
    )
    return row is not None and row["accepted_at"] is not None


async def test_until_the_yes_no_page_or_export_shows_the_account(client, mailbox):
    admin = await make_user("admin@example.org", "Adèle")
    world = await fixed_world(admin)
    group, slug = world["group"], world["group"]["slug"]
    person = await account()
    await login(client, "admin@example.org")
    await add(client, group, "penelope@example.org")
    # The admin subscribes the person to the contract: orders at every coming date, which
    # are not the person's yes.
    base = f"/g/{slug}/catalogues/{world['catalog']}"
    a, _ = world["products"]
    await post_form(client, f"{base}/souscriptions", {"user_id": str(person), f"q{a}": "1"})
    assert await Order.count().where(Order.user == person) == 3
    assert not await accepted(person, group)
    date = f"{base}/commandes/{world['distribution']}"
    pages = {
        "liste": f"/g/{slug}/membres",
        "recherche": f"/g/{slug}/membres?q=Cliente",
        "invitations": f"/g/{slug}/membres?filtre=invitation",
        "membre": f"/g/{slug}/membres/{person}",
        "adhésions": f"/g/{slug}/membres/adhesions",
        "catalogue": base,
        "souscriptions": f"{base}/souscriptions",
        "par adhérent": f"{date}?vue=adherents",
        "émargement": f"{date}/emargement",
        "export": f"{date}/adherents.csv",
        "validation": f"/g/{slug}/distributions/{world['distribution']}/valider",
    }
    for name, url in pages.items():
        response = await client.get(url)
        assert response.status_code == 200, name
        assert not leaks(response.text), (name, leaks(response.text))
        assert "cliente" in html.unescape(response.text).lower(), name  # what the admin typed
    # The account's own names are not searchable either.
    found = await client.get(f"/g/{slug}/membres?q=Secr%C3%A8te")
    assert "Aucun membre ne correspond" in found.text

    # The page reads as for an address without an account, added the same way.
    await add(client, group, "nouvelle@example.org")
    newcomer = (await User.select(User.id).where(User.email == "nouvelle@example.org").first())[
        "id"
    ]

    def contact(text: str, email: str) -> str:
        card = html.unescape(text).split("<h3>Contact</h3>", 1)[1].split("<h3>Droits", 1)[0]
        card = re.sub(r'name="key" value="[^"]*"', 'name="key"', card)  # a random form key
        card = re.sub(r"Membre depuis le [^<·]*", "Membre depuis", card)  # the minute of the add
        return re.sub(r"/membres/\d+/", "/membres/<id>/", card.replace(email, "<adresse>"))

    mine = contact((await client.get(pages["membre"])).text, "penelope@example.org")
    theirs = contact(
        (await client.get(f"/g/{slug}/membres/{newcomer}")).text, "nouvelle@example.org"
    )
    assert mine == theirs
    assert "Invitation en attente" in mine and "07 11 11 11 11" in mine

    # « Renvoyer l'invitation » sends the welcome mail again, as for a pending account.
    again = await post_form(client, f"{pages['membre']}/invitation", {"key": "cle-renvoi-1"})
    assert "Invitation envoyée à nouveau" in html.unescape(again.text)
    await mailbox.wait_for("penelope@example.org", 2, subject="Bienvenue dans AMAP Fixe")
    # « Rejoindre … »: the GET only asks (a link checker accepts nothing), the POST acts.
    mail = (await mailbox.wait_for("penelope@example.org", subject="Bienvenue dans AMAP Fixe"))[0]
    accept, decline = answer_links(mail)
    visitor = type(client)(app=client.app, base_url="http://localhost")
    for link in (accept, decline):
        page = await visitor.get(link)
        assert page.status_code == 200 and "<button" in page.text
    assert not await accepted(person, group)
    assert await Membership.exists().where(Membership.user == person)
    done = await post_form(visitor, accept)
    assert "Vous avez rejoint AMAP Fixe" in html.unescape(done.text)
    assert await accepted(person, group)
    page = await client.get(pages["membre"])
    assert "Pénélope Secrète" in page.text and "06 99 88 77 66" in page.text
    assert "Invitation en attente" not in page.text
    # Accepted, the link no longer removes the person.
    refused = await post_form(visitor, decline)
    assert "ce lien ne peut plus vous en retirer" in html.unescape(refused.text)
    assert await Membership.exists().where(Membership.user == person)


async def test_declining_takes_the_person_out_and_nothing_of_the_group_reaches_them(
    client, mailbox
):
    admin = await make_user("admin@example.org", "Adèle")
    world = await fixed_world(admin)
    group, slug = world["group"], world["group"]["slug"]
    person = await account()
    await login(client, "admin@example.org")
    await add(client, group, "penelope@example.org")
    a, _ = world["products"]
    base = f"/g/{slug}/catalogues/{world['catalog']}"
    await post_form(client, f"{base}/souscriptions", {"user_id": str(person), f"q{a}": "1"})
    # A message of the group is waiting to go when the person declines.
    author = await User.select().where(User.id == admin).first()
    draft = Draft(subject="Infos", body="Bonjour à tous", recipients="all")
    await messaging.send(group, author, draft, CTX)
    waiting = await OutboxMail.select().where(
        (OutboxMail.user == person) & (OutboxMail.kind == "message")
    )
    assert [m["state"] for m in waiting] == ["pending"]

    mail = (await mailbox.wait_for("penelope@example.org", subject="Bienvenue dans AMAP Fixe"))[0]
    assert "Ne pas rejoindre ce groupe" in text_of(mail)
    _, decline = answer_links(mail)
    visitor = type(client)(app=client.app, base_url="http://localhost")
    done = await post_form(visitor, decline)
    assert done.status_code == 200
    assert "vous ne recevrez plus aucun e-mail de ce groupe" in html.unescape(done.text)
    assert not await Membership.exists().where(Membership.user == person)
    assert await Order.count().where(Order.user == person) == 0  # coming orders removed
    assert (await Subscription.select().where(Subscription.user == person).first())["ended_at"]
    dropped = await OutboxMail.select(OutboxMail.state).where(OutboxMail.id == waiting[0]["id"])
    assert dropped == [{"state": "dropped"}]
    # Nothing more of the group: a new message, the orders-open notifications.
    before = await OutboxMail.count().where(OutboxMail.user == person)
    await messaging.send(
        group, author, Draft(subject="Encore", body="Texte", recipients="all"), CTX
    )
    await notifications.queue_due({"main": CTX}, clock.now() + timedelta(minutes=1))
    assert await OutboxMail.count().where(OutboxMail.user == person) == before
    # The link works once: afterwards it is gone.
    assert (await visitor.get(decline)).status_code == 410
    # Nor is the person's account shown anywhere: it is not a member any more.
    assert "penelope@example.org" not in (await client.get(f"/g/{slug}/membres")).text


async def test_the_first_order_of_the_person_is_their_yes(client):
    admin = await make_user("admin@example.org", "Adèle")
    world = await make_distribution_world(admin, products=1)
    group = world["group"]
    person = await account()
    await login(client, "admin@example.org")
    await add(client, group, "penelope@example.org")
    assert not await accepted(person, group)
    shopper = type(client)(app=client.app, base_url="http://localhost")
    await login(shopper, "penelope@example.org")
    response = await post_form(
        shopper, f"{world['url']}/ligne/{world['products'][0]}", {"q": "1"}, htmx=True
    )
    assert response.status_code == 200
    assert await accepted(person, group)
    page = await client.get(f"/g/{group['slug']}/membres/{person}")
    assert "Pénélope Secrète" in page.text and "06 99 88 77 66" in page.text


async def test_an_existing_account_imported_shows_what_the_file_says(client):
    admin = await make_user("admin@example.org", "Adèle")
    world = await make_distribution_world(admin, kind="amap", name="AMAP Import")
    slug = world["group"]["slug"]
    person = await account()
    await login(client, "admin@example.org")
    content = "E-mail;Prénom;Nom;Téléphone\npenelope@example.org;Pen;Cliente;07 22 22 22 22\n"
    preview = await client.post(
        f"/g/{slug}/membres/import",
        files={"file": ("clients.csv", content.encode(), "text/csv")},
        data={"_csrf_token": await csrf_token(client)},
    )
    signed = html.unescape(re.search(r'name="signed" value="([^"]+)"', preview.text).group(1))
    await post_form(client, f"/g/{slug}/membres/import/confirmer", {"signed": signed})
    page = await client.get(f"/g/{slug}/membres/{person}")
    assert page.status_code == 200
    assert not leaks(page.text), leaks(page.text)
    assert "Pen Cliente" in page.text and "07 22 22 22 22" in page.text
    assert "Invitation en attente" in page.text
