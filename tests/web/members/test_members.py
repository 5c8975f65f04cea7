"""Members and clients: joining by registration mode, the waiting list, "Nouveau client"
and its invitation, Mode création, adhésions, the MEMBRES list and a member's page,
rights, the last admin, leaving a group; and that no one acts on another group's members.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta

import pytest

from domain.demo import world as build
from domain.tables import (
    AccountToken,
    Catalog,
    ConsentRecord,
    Group,
    JoinRequest,
    Membership,
    MembershipFee,
    Order,
    OutboxMail,
    User,
    Vendor,
)
from tests.helpers import (
    PASSWORD,
    QueryCounter,
    csrf_token,
    link_in,
    login,
    make_distribution_world,
    make_group,
    make_user,
    post_form,
)
from tests.stack import text_of


def shown(response) -> str:
    """The page as read: messages from the code come HTML-escaped (n&#39;est)."""
    return html.unescape(response.text)


async def group_with(registration: str, admin_email: str = "admin@example.org", **kw) -> dict:
    admin = await make_user(admin_email, first_name="Adèle", last_name="Admin")
    name, kind = kw.get("name", "Marché Test"), kw.get("kind", "market")
    group = await build.group(admin, name, kind, registration=registration)
    return group | {"admin": admin}


async def add_member(group: dict, email: str, **rights) -> int:
    user = await make_user(email, first_name=email.split("@")[0].title(), last_name="Membre")
    await build.join(group["id"], user, **rights)
    return user


async def is_member(group: dict, user_id: int) -> bool:
    return await Membership.exists().where(
        (Membership.group == group["id"]) & (Membership.user == user_id)
    )


async def user_by_email(email: str) -> dict | None:
    return await User.select().where(User.email == email).first()


# ---- 1. Ouvert ------------------------------------------------------------------------


async def test_open_market_follow_creates_an_account_on_the_way_and_comes_back(client, mailbox):
    group = await group_with("open")
    home = await client.get(f"/g/{group['slug']}")
    assert "Faire mes courses" in home.text
    assert f'href="/g/{group["slug"]}/suivre"' in home.text and "Suivre ce marché" in home.text
    page = await client.get(f"/g/{group['slug']}/suivre")
    assert page.status_code == 200
    next_path = f"/g/{group['slug']}/suivre"
    assert f"/inscription?next={next_path}" in page.text
    assert f"/connexion?next={next_path}" in page.text
    response = await post_form(
        client,
        "/inscription",
        {
            "email": "nouveau@example.org",
            "password": PASSWORD,
            "first_name": "Noé",
            "last_name": "Nouveau",
            "next": f"/g/{group['slug']}/suivre",
        },
    )
    assert str(response.url).endswith(f"/g/{group['slug']}/suivre")
    assert '<button class="primary">Suivre ce marché</button>' in response.text
    response = await post_form(client, f"/g/{group['slug']}/suivre")
    assert "Vous suivez maintenant Marché Test" in response.text
    user = await user_by_email("nouveau@example.org")
    assert await is_member(group, user["id"])
    mail = (await mailbox.wait_for("nouveau@example.org", subject="Bienvenue dans Marché Test"))[0]
    assert f"/g/{group['slug']}" in text_of(mail)
    # A member going back to the follow page is sent to the group.
    again = await client.get(f"/g/{group['slug']}/suivre", follow_redirects=False)
    assert again.status_code == 303


async def test_open_market_follow_by_logging_in(client, mailbox):
    group = await group_with("open")
    user = await make_user("deja@example.org")
    response = await post_form(
        client,
        "/connexion",
        {"email": "deja@example.org", "password": PASSWORD, "next": f"/g/{group['slug']}/suivre"},
    )
    assert str(response.url).endswith("/suivre")
    await post_form(client, f"/g/{group['slug']}/suivre")
    assert await is_member(group, user)
    await mailbox.wait_for("deja@example.org", subject="Bienvenue dans Marché Test")


# ---- 2. Liste d'attente -----------------------------------------------------------------


async def test_waiting_list_request_mails_every_admin_and_is_made_once(client, mailbox):
    group = await group_with("waiting_list", name="AMAP Attente", kind="amap")
    await add_member(group, "admin2@example.org", is_admin=True)
    await add_member(group, "simple@example.org")
    home = await client.get(f"/g/{group['slug']}")
    assert "liste d'attente" in home.text
    assert f"/inscription?next=/g/{group['slug']}%23rejoindre" in home.text
    assert "Demander à rejoindre" not in home.text  # an account first

    person = await make_user("candidat@example.org", first_name="Cléo", last_name="Candidat")
    await login(client, "candidat@example.org")
    home = await client.get(f"/g/{group['slug']}")
    assert "Demander à rejoindre" in home.text
    response = await post_form(
        client, f"/g/{group['slug']}/rejoindre", {"message": "J'habite à côté du lavoir."}
    )
    assert "Votre demande est envoyée aux administrateurs" in response.text
    assert "est en attente de réponse" in response.text
    # A double click is one request and one mail per admin.
    await post_form(client, f"/g/{group['slug']}/rejoindre", {"message": "encore"})
    requests = await JoinRequest.select().where(JoinRequest.group == group["id"])
    assert len(requests) == 1 and requests[0]["user"] == person
    assert requests[0]["message"] == "J'habite à côté du lavoir."
    assert not await is_member(group, person)
    for admin in ("admin@example.org", "admin2@example.org"):
        mail = (await mailbox.wait_for(admin, subject="demande d'inscription de Cléo"))[0]
        assert "J'habite à côté du lavoir." in text_of(mail)
        link = link_in(text_of(mail), f"/g/{group['slug']}/membres")
        assert link.endswith(f"?filtre=attente#r{requests[0]['id']}")
    assert mailbox.to("simple@example.org") == []
    assert await OutboxMail.count().where(OutboxMail.kind == "join_request") == 2


async def test_waiting_list_message_too_long_is_refused_at_the_field(client):
    group = await group_with("waiting_list")
    await make_user("bavard@example.org")
    await login(client, "bavard@example.org")
    response = await post_form(client, f"/g/{group['slug']}/rejoindre", {"message": "x" * 2001})
    assert response.status_code == 422
    assert "Le message ne doit pas dépasser 2 000 caractères." in response.text
    assert await JoinRequest.count() == 0


async def test_admin_accepts_a_request_the_person_becomes_member_and_is_welcomed(client, mailbox):
    group = await group_with("waiting_list", name="Marché Attente")
    person = await make_user("candidat@example.org", first_name="Cléo")
    await login(client, "candidat@example.org")
    await post_form(client, f"/g/{group['slug']}/rejoindre", {"message": "Bonjour"})
    request_id = (await JoinRequest.select().first())["id"]
    client.cookies.clear()
    await login(client, "admin@example.org")
    assert "Liste d'attente (1)" in (await client.get(f"/g/{group['slug']}/membres")).text
    page = await client.get(f"/g/{group['slug']}/membres?filtre=attente")
    assert page.status_code == 200
    assert f'id="r{request_id}"' in page.text and "candidat@example.org" in page.text
    assert "Bonjour" in page.text
    url = f"/g/{group['slug']}/membres/attente/{request_id}/accepter"
    response = await post_form(client, url)
    assert "Demande acceptée" in response.text
    assert await is_member(group, person)
    row = await JoinRequest.select().where(JoinRequest.id == request_id).first()
    assert row["state"] == "accepted" and row["decided_by"] == group["admin"]
    mail = (
        await mailbox.wait_for("candidat@example.org", subject="Bienvenue dans Marché Attente")
    )[0]
    assert "Votre demande est acceptée" in text_of(mail)
    # Deciding twice: the request is already answered.
    assert (await post_form(client, url)).status_code == 404
    assert len(mailbox.to("candidat@example.org")) == 1
    # They can order now: COMMANDES is theirs.
    client.cookies.clear()
    await login(client, "candidat@example.org")
    assert (await client.get(f"/g/{group['slug']}/commandes")).status_code == 200


async def test_admin_refuses_a_request_with_a_message_and_the_person_is_told(client, mailbox):
    group = await group_with("waiting_list", name="Marché Attente")
    person = await make_user("candidat@example.org", first_name="Cléo")
    await login(client, "candidat@example.org")
    await post_form(client, f"/g/{group['slug']}/rejoindre")
    request_id = (await JoinRequest.select().first())["id"]
    client.cookies.clear()
    await login(client, "admin@example.org")
    response = await post_form(
        client,
        f"/g/{group['slug']}/membres/attente/{request_id}/refuser",
        {"answer": "Nous sommes complets cette saison."},
    )
    assert "Demande refusée" in response.text
    assert not await is_member(group, person)
    mail = (await mailbox.wait_for("candidat@example.org", subject="votre demande d'inscription"))[
        0
    ]
    assert "n'a pas été acceptée" in text_of(mail)
    assert "Nous sommes complets cette saison." in text_of(mail)
    client.cookies.clear()
    await login(client, "candidat@example.org")
    home = await client.get(f"/g/{group['slug']}")
    assert "n'a pas été acceptée" in home.text and "Demander à rejoindre" in home.text


async def test_joining_requests_only_where_the_mode_allows_them(client):
    open_group = await group_with("open", name="Marché Ouvert")
    closed = await group_with("closed", admin_email="a2@example.org", name="Marché Fermé")
    await make_user("x@example.org")
    await login(client, "x@example.org")
    for group in (open_group, closed):
        response = await post_form(client, f"/g/{group['slug']}/rejoindre", {"message": "?"})
        assert response.status_code == 403
    assert await JoinRequest.count() == 0
    # Closed: the home page says so, and following is refused.
    home = await client.get(f"/g/{closed['slug']}")
    assert "Ce groupe est fermé : seul un administrateur peut y inscrire" in home.text
    assert "Suivre ce marché" not in home.text
    assert (await post_form(client, f"/g/{closed['slug']}/suivre")).status_code == 403
    assert (
        await client.get(f"/g/{closed['slug']}/suivre", follow_redirects=False)
    ).status_code == 303


# ---- 4. Nouveau client and invitations ----------------------------------------------------


async def test_new_client_with_an_account_becomes_member_and_is_welcomed(client, mailbox):
    group = await group_with("closed", name="Marché Fermé")
    existing = await make_user("existe@example.org", first_name="Eva")
    await login(client, "admin@example.org")
    response = await post_form(
        client,
        f"/g/{group['slug']}/membres/nouveau",
        {"email": " Existe@Example.org ", "first_name": "Autre", "last_name": "Nom"},
    )
    assert "un e-mail l'invite à rejoindre le groupe" in html.unescape(response.text)
    assert str(response.url).endswith(f"/membres/{existing}")
    assert await is_member(group, existing)
    account = await user_by_email("existe@example.org")
    assert account["first_name"] == "Eva"  # an account's names are its owner's
    await mailbox.wait_for("existe@example.org", subject="Bienvenue dans Marché Fermé")
    # Twice: already a member, said at the field, nothing sent.
    response = await post_form(
        client, f"/g/{group['slug']}/membres/nouveau", {"email": "existe@example.org"}
    )
    assert response.status_code == 422
    assert "existe@example.org est déjà membre du groupe." in response.text
    assert await Membership.count().where(Membership.group == group["id"]) == 2


async def test_new_client_bad_email_is_refused_at_the_field_htmx_and_plain(client):
    group = await group_with("open")
    await login(client, "admin@example.org")
    url = f"/g/{group['slug']}/membres/nouveau"
    response = await post_form(client, url, {"email": "pas-une-adresse"})
    assert response.status_code == 422
    assert 'id="e-email"' in response.text and "Cette adresse e-mail n'est pas valide." in shown(
        response
    )
    response = await post_form(client, url, {"email": ""}, htmx=True)
    assert response.status_code == 422 and "<html" not in response.text
    assert "Indiquez une adresse e-mail." in response.text
    assert await User.count() == 1


async def invite(client, group: dict, email: str, **names) -> int:
    """An admin (logged in) invites `email` with "Nouveau client"; returns the user id."""
    response = await post_form(
        client, f"/g/{group['slug']}/membres/nouveau", {"email": email, **names}
    )
    assert "un e-mail l'invite à rejoindre le groupe" in html.unescape(response.text)
    return (await user_by_email(email))["id"]


async def test_new_client_without_account_gets_a_pending_account_and_an_invitation(client, mailbox):
    group = await group_with("closed", name="Marché Fermé")
    await login(client, "admin@example.org")
    user_id = await invite(client, group, "nouvelle@example.org", first_name="Nina")
    account = await user_by_email("nouvelle@example.org")
    assert account["password_hash"] is None and account["first_name"] == "Nina"
    assert await is_member(group, user_id)  # a member already: order-opening mails reach her
    mail = (await mailbox.wait_for("nouvelle@example.org", subject="Bienvenue dans Marché Fermé"))[
        0
    ]
    link = link_in(text_of(mail), "/invitation/")
    assert "valable 30 jours" in text_of(mail)
    token = await AccountToken.select().where(AccountToken.user == user_id).first()
    assert token["purpose"] == "invite" and link.split("/")[-1] not in token["token_hash"]
    assert token["expires_at"] > datetime.now(UTC) + timedelta(days=29)
    # Listed with the "Invitation en attente" filter.
    listing = await client.get(f"/g/{group['slug']}/membres?filtre=invitation")
    assert "nouvelle@example.org" in listing.text and "admin@example.org" not in listing.text

    # She finishes her registration on first visit; she is logged in.
    client.cookies.clear()
    path = link.replace("http://localhost", "")
    page = await client.get(path)
    assert page.status_code == 200 and 'value="Nina"' in page.text
    response = await post_form(
        client, path, {"first_name": "Nina", "last_name": "Neuve", "password": "court"}
    )
    assert response.status_code == 422 and "au moins 10 caractères" in response.text
    response = await post_form(
        client, path, {"first_name": "Nina", "last_name": "Neuve", "password": PASSWORD}
    )
    assert "Votre inscription est terminée" in response.text
    assert (await client.get("/compte")).status_code == 200
    account = await user_by_email("nouvelle@example.org")
    assert account["password_hash"] and account["last_name"] == "Neuve"
    # The link works once.
    client.cookies.clear()
    assert (await client.get(path)).status_code == 410
    response = await post_form(
        client, path, {"first_name": "X", "last_name": "Y", "password": "autre-mot-de-passe"}
    )
    assert response.status_code == 410
    await login(client, "nouvelle@example.org")


async def test_invitation_link_expires(client, mailbox):
    group = await group_with("open")
    await login(client, "admin@example.org")
    user_id = await invite(client, group, "tard@example.org")
    mail = (await mailbox.wait_for("tard@example.org"))[0]
    path = link_in(text_of(mail), "/invitation/").replace("http://localhost", "")
    await AccountToken.update(
        {AccountToken.expires_at: datetime.now(UTC) - timedelta(minutes=1)}
    ).where(AccountToken.user == user_id)
    client.cookies.clear()
    page = await client.get(path)
    assert page.status_code == 410 and "Ce lien n'est plus valable" in page.text
    response = await post_form(
        client, path, {"first_name": "T", "last_name": "Ard", "password": PASSWORD}
    )
    assert response.status_code == 410
    assert (await user_by_email("tard@example.org"))["password_hash"] is None


async def test_resend_invitation_makes_a_new_link_and_the_old_one_stops(client, mailbox):
    group = await group_with("open")
    await login(client, "admin@example.org")
    user_id = await invite(client, group, "relance@example.org")
    first = link_in(text_of((await mailbox.wait_for("relance@example.org"))[0]), "/invitation/")
    page = await client.get(f"/g/{group['slug']}/membres/{user_id}")
    assert "Invitation en attente" in page.text and "Renvoyer l'invitation" in page.text
    key = re.search(r'name="key" value="([^"]+)"', page.text).group(1)
    url = f"/g/{group['slug']}/membres/{user_id}/invitation"
    response = await post_form(client, url, {"key": key})
    assert "Invitation envoyée à nouveau" in response.text
    await post_form(client, url, {"key": key})  # a double click: one new link, one mail
    mails = await mailbox.wait_for("relance@example.org", count=2)
    second = link_in(text_of(mails[1]), "/invitation/")
    assert second != first
    assert await OutboxMail.count().where(OutboxMail.to_addr == "relance@example.org") == 2
    client.cookies.clear()
    assert (await client.get(first.replace("http://localhost", ""))).status_code == 410
    assert (await client.get(second.replace("http://localhost", ""))).status_code == 200


async def test_sign_up_with_a_pending_address_sends_the_link_instead_of_taking_the_account(
    client, mailbox
):
    group = await group_with("open")
    await login(client, "admin@example.org")
    user_id = await invite(client, group, "prepare@example.org")
    await mailbox.wait_for("prepare@example.org")
    client.cookies.clear()
    response = await post_form(
        client,
        "/inscription",
        {
            "email": "prepare@example.org",
            "password": "mot-de-passe-d-un-autre",
            "first_name": "Intrus",
            "last_name": "Malin",
            "next": "/commandes",
        },
    )
    assert response.status_code == 200
    assert "Un compte a déjà été préparé pour" in response.text
    account = await user_by_email("prepare@example.org")
    assert account["password_hash"] is None and account["first_name"] != "Intrus"
    assert (await client.get("/compte", follow_redirects=False)).status_code == 303  # not logged in
    mails = await mailbox.wait_for("prepare@example.org", count=2)
    link = link_in(text_of(mails[1]), "/invitation/")
    assert link.endswith("?next=/commandes")
    assert "Finissez votre inscription" in str(mails[1]["Subject"])
    # Typing it again right away sends no more mail.
    await post_form(
        client,
        "/inscription",
        {"email": "prepare@example.org", "password": PASSWORD, "first_name": "A", "last_name": "B"},
    )
    assert await OutboxMail.count().where(OutboxMail.to_addr == "prepare@example.org") == 2
    # The owner of the address follows the link, and lands where they were going.
    response = await post_form(
        client,
        link.replace("http://localhost", "").split("?")[0],
        {"first_name": "Paula", "last_name": "Prête", "password": PASSWORD, "next": "/commandes"},
    )
    assert str(response.url).endswith("/commandes")
    assert await is_member(group, user_id)


async def test_guest_order_with_a_pending_address_is_finished_through_the_invitation(
    client, mailbox
):
    admin = await make_user("admin@example.org")
    world = await make_distribution_world(admin, products=2, stock=5)
    await login(client, "admin@example.org")
    user_id = await invite(client, world["group"], "client@example.org")
    await mailbox.wait_for("client@example.org")
    client.cookies.clear()
    # A guest basket, then "Valider ma commande", then the sign-up with that address.
    product = world["products"][0]
    await post_form(client, world["url"], {f"q{product}": "2", "valider": "1"})
    finish = f"{world['url']}/finaliser"
    response = await post_form(
        client,
        "/inscription",
        {
            "email": "client@example.org",
            "password": PASSWORD,
            "first_name": "Cli",
            "last_name": "Ent",
            "next": finish,
        },
    )
    assert "votre panier est gardé" in response.text
    mail = (await mailbox.wait_for("client@example.org", count=2))[1]
    link = link_in(text_of(mail), "/invitation/")
    path, _, query = link.replace("http://localhost", "").partition("?")
    assert query == f"next={finish}"
    page = await client.get(f"{path}?{query}")
    assert f'name="next" value="{finish}"' in page.text
    response = await post_form(
        client,
        path,
        {"first_name": "Cli", "last_name": "Ent", "password": PASSWORD, "next": finish},
    )
    assert "Votre commande est validée" in response.text
    order = await Order.select().where(Order.user == user_id).first()
    assert order["state"] == "validated" and order["total_cents"] == 300


# ---- 5. Mode création -----------------------------------------------------------------


async def test_mode_creation_requires_names_email_and_consent(client):
    group = await group_with("open")
    await login(client, "admin@example.org")
    response = await post_form(
        client, f"/g/{group['slug']}/membres/nouveau", {"email": "", "creation": "1"}
    )
    assert response.status_code == 422
    for message in (
        "Indiquez une adresse e-mail.",
        "Indiquez le prénom : il est obligatoire en Mode création.",
        "Indiquez le nom : il est obligatoire en Mode création.",
        "le consentement de la personne est obligatoire",
    ):
        assert message in shown(response)
    assert "peut être inventé mais est obligatoire" in response.text
    assert await User.count() == 1 and await ConsentRecord.count() == 0


async def test_mode_creation_records_the_consent_and_the_admin_orders_for_the_person(
    client, mailbox
):
    admin = await make_user("admin@example.org", first_name="Adèle", last_name="Admin")
    world = await make_distribution_world(admin, products=2, stock=5, name="Marché Création")
    group = world["group"]
    await login(client, "admin@example.org")
    response = await post_form(
        client,
        f"/g/{group['slug']}/membres/nouveau",
        {
            "email": "jeanne.sans.mail@invente.example",
            "first_name": "Jeanne",
            "last_name": "Sansmail",
            "creation": "1",
            "consent": "1",
        },
    )
    assert (
        "Mode création" in response.text and "aucun e-mail ne lui est envoyé tant" in response.text
    )
    person = await user_by_email("jeanne.sans.mail@invente.example")
    assert person["password_hash"] is None and person["last_name"] == "Sansmail"
    record = await ConsentRecord.select().first()
    assert (record["user"], record["group"], record["recorded_by"]) == (
        person["id"],
        group["id"],
        admin,
    )
    assert record["statement"] == (
        "J'ai obtenu le consentement de cette personne pour lui créer un compte sur "
        "Circuit Court et l'inscrire à Marché Création."
    )
    assert await OutboxMail.count().where(OutboxMail.to_addr == person["email"]) == 0
    page = await client.get(f"/g/{group['slug']}/membres/{person['id']}")
    assert "Consentement (Mode création)" in page.text
    assert "Enregistré par Adèle Admin" in page.text and record["statement"] in shown(page)
    assert "Commander pour cette personne" in page.text

    # Ordering for her: the order is hers, the admin stays logged in as themself.
    listing = await client.get(f"/g/{group['slug']}/membres/{person['id']}/commander")
    order_url = f"/g/{group['slug']}/membres/{person['id']}/commander/{world['distribution']}"
    assert order_url in listing.text
    page = await client.get(order_url)
    assert "Vous commandez pour <strong>Jeanne Sansmail</strong>" in page.text
    product = world["products"][1]
    response = await post_form(client, order_url, {f"q{product}": "3", "key": "k-1"})
    assert "Commande validée pour Jeanne Sansmail" in response.text
    order = await Order.select().where(Order.user == person["id"]).first()
    assert order["state"] == "validated" and order["total_cents"] == 3 * 151
    assert not await Order.exists().where(Order.user == admin)
    assert "Adèle" in (await client.get("/compte")).text
    # Too much: nothing changed, the product says why.
    response = await post_form(client, order_url, {f"q{product}": "9", "key": "k-2"})
    assert response.status_code == 422 and "Plus que" in response.text


async def test_ordering_for_someone_is_only_for_mode_creation_accounts_and_admins(client):
    admin = await make_user("admin@example.org")
    world = await make_distribution_world(admin, products=1)
    group = world["group"]
    plain = await add_member(group, "plain@example.org")
    manager = await add_member(group, "gestion@example.org", can_members=True)
    await login(client, "admin@example.org")
    await post_form(
        client,
        f"/g/{group['slug']}/membres/nouveau",
        {
            "email": "cree@example.org",
            "first_name": "C",
            "last_name": "R",
            "creation": "1",
            "consent": "1",
        },
    )
    created = (await user_by_email("cree@example.org"))["id"]
    url = f"/g/{group['slug']}/membres/{plain}/commander/{world['distribution']}"
    assert (await client.get(url)).status_code == 403
    response = await post_form(client, url, {f"q{world['products'][0]}": "1"})
    assert response.status_code == 403
    assert not await Order.exists().where(Order.user == plain)
    client.cookies.clear()
    await login(client, "gestion@example.org")
    url = f"/g/{group['slug']}/membres/{created}/commander/{world['distribution']}"
    assert (await client.get(url)).status_code == 403
    # Refused although the manager has the right to manage members.
    right = await Membership.select(Membership.can_members).where(Membership.user == manager)
    assert [bool(r["can_members"]) for r in right] == [True]


async def test_mode_creation_with_an_existing_account_is_refused(client):
    group = await group_with("open")
    await make_user("reel@example.org")
    await login(client, "admin@example.org")
    response = await post_form(
        client,
        f"/g/{group['slug']}/membres/nouveau",
        {
            "email": "reel@example.org",
            "first_name": "R",
            "last_name": "E",
            "creation": "1",
            "consent": "1",
        },
    )
    assert response.status_code == 422 and "décochez « Mode création »" in response.text
    assert await ConsentRecord.count() == 0 and await Membership.count() == 1


# ---- 6. Gestion adhérents ---------------------------------------------------------------


async def test_membership_fees_record_and_who_is_up_to_date(client):
    group = await group_with("open", name="AMAP Adhésions", kind="amap")
    paid = await add_member(group, "paye@example.org")
    late = await add_member(group, "retard@example.org")
    await login(client, "admin@example.org")
    page = await client.get(f"/g/{group['slug']}/membres/adhesions?annee=2026")
    assert page.status_code == 200 and "Pas à jour pour 2026 (3)" in page.text
    key = re.search(r'name="key" value="([^"]+)"', page.text).group(1)
    form = {
        "user_id": str(paid),
        "year": "2026",
        "amount": "15,50",
        "paid_on": "2026-03-01",
        "means": "cheque",
        "key": key,
    }
    response = await post_form(client, f"/g/{group['slug']}/membres/adhesions", form)
    assert "Adhésion enregistrée." in response.text
    await post_form(client, f"/g/{group['slug']}/membres/adhesions", form)  # double click
    fees = await MembershipFee.select()
    assert len(fees) == 1
    assert (fees[0]["user"], fees[0]["amount_cents"], fees[0]["paid_on"], fees[0]["means"]) == (
        paid,
        1550,
        date(2026, 3, 1),
        "cheque",
    )
    page = await client.get(f"/g/{group['slug']}/membres/adhesions?annee=2026")
    up, down = page.text.split('id="pas-a-jour"')
    assert "Paye Membre" in up and "15,50\xa0€" in up and "Chèque" in up
    assert "Retard Membre" in down and "Paye Membre" not in down
    assert "Pas à jour pour 2026 (2)" in page.text
    other_year = await client.get(f"/g/{group['slug']}/membres/adhesions?annee=2025")
    assert "Pas à jour pour 2025 (3)" in other_year.text
    # The member's page shows it too.
    assert "15,50\xa0€" in (await client.get(f"/g/{group['slug']}/membres/{paid}")).text
    assert not await MembershipFee.exists().where(MembershipFee.user == late)


async def test_membership_fee_bad_input_is_said_at_each_field(client):
    group = await group_with("open")
    stranger = await make_user("ailleurs@example.org")
    await login(client, "admin@example.org")
    response = await post_form(
        client,
        f"/g/{group['slug']}/membres/adhesions",
        {"user_id": str(stranger), "year": "99", "amount": "abc", "paid_on": "", "means": "or"},
    )
    assert response.status_code == 422
    for message in (
        "Choisissez un membre du groupe.",
        "Indiquez l'année de l'adhésion",
        "Indiquez un montant en euros",
        "Indiquez la date du paiement.",
        "Choisissez le moyen de paiement.",
    ):
        assert message in shown(response)
    assert await MembershipFee.count() == 0


async def test_new_adherent_from_the_fees_page_with_the_payment(client, mailbox):
    group = await group_with("open", name="AMAP Adhésions", kind="amap")
    await login(client, "admin@example.org")
    page = await client.get(f"/g/{group['slug']}/membres/adhesions")
    assert "Nouvel adhérent" in page.text
    form = await client.get(f"/g/{group['slug']}/membres/adhesions/nouveau")
    assert "Mode création" in form.text and "Moyen de paiement" in form.text
    response = await post_form(
        client,
        f"/g/{group['slug']}/membres/adhesions/nouveau",
        {
            "email": "adherent@example.org",
            "first_name": "Ad",
            "last_name": "Hérent",
            "with_fee": "1",
            "year": "2026",
            "amount": "20",
            "paid_on": "2026-01-15",
            "means": "especes",
        },
    )
    assert str(response.url).endswith("/membres/adhesions")
    user = await user_by_email("adherent@example.org")
    fee = await MembershipFee.select().first()
    assert (fee["user"], fee["amount_cents"], fee["year"]) == (user["id"], 2000, 2026)
    await mailbox.wait_for("adherent@example.org", subject="Bienvenue dans AMAP Adhésions")
    # A bad payment: nobody is created.
    response = await post_form(
        client,
        f"/g/{group['slug']}/membres/adhesions/nouveau",
        {"email": "autre@example.org", "with_fee": "1", "year": "2026", "amount": "-3"},
    )
    assert response.status_code == 422 and "Indiquez un montant" in response.text
    assert await user_by_email("autre@example.org") is None


# ---- 7. The list, a member's page, rights -----------------------------------------------


async def test_list_search_with_htmx_and_without(client):
    group = await group_with("open")
    await add_member(group, "camille@example.org")
    await add_member(group, "dominique@example.org")
    await login(client, "admin@example.org")
    page = await client.get(f"/g/{group['slug']}/membres")
    assert 'hx-trigger="input changed delay:300ms' in page.text
    assert "3 membres" in page.text
    plain = await client.get(f"/g/{group['slug']}/membres?q=cami")
    assert "<html" in plain.text and "camille@example.org" in plain.text
    assert "dominique@example.org" not in plain.text
    fragment = await client.get(
        f"/g/{group['slug']}/membres?q=DOMI", headers={"HX-Request": "true"}
    )
    assert fragment.headers["vary"] == "HX-Request"
    assert "<html" not in fragment.text and 'id="member-list"' in fragment.text
    assert "dominique@example.org" in fragment.text and "camille@example.org" not in fragment.text
    assert "1 membre trouvé" in fragment.text
    none = await client.get(f"/g/{group['slug']}/membres?q=%25%25", headers={"HX-Request": "true"})
    assert none.status_code == 200


async def test_list_filters(client):
    admin = await make_user("admin@example.org", first_name="Adèle", last_name="Admin")
    world = await make_distribution_world(admin, products=1)
    group = world["group"]
    buyer = await add_member(group, "acheteur@example.org")
    await add_member(group, "dormeur@example.org")
    await MembershipFee.insert(
        MembershipFee(
            group=group["id"],
            user=buyer,
            year=datetime.now(UTC).year,
            amount_cents=1000,
            paid_on=date.today(),
        )
    )
    await Order.insert(Order(user=buyer, distribution=world["distribution"], total_cents=300))
    await login(client, "admin@example.org")
    await post_form(client, f"/g/{group['slug']}/membres/nouveau", {"email": "invite@example.org"})
    base = f"/g/{group['slug']}/membres?filtre="

    async def shown(kind: str) -> set[str]:
        text = (await client.get(base + kind)).text
        return set(re.findall(r"<small>([a-z]+@example\.org)", text))

    assert await shown("") == {
        "admin@example.org",
        "acheteur@example.org",
        "dormeur@example.org",
        "invite@example.org",
    }
    assert await shown("invitation") == {"invite@example.org"}
    assert await shown("sans-commande") == {
        "admin@example.org",
        "dormeur@example.org",
        "invite@example.org",
    }
    assert await shown("adhesion") == {
        "admin@example.org",
        "dormeur@example.org",
        "invite@example.org",
    }


async def test_list_pages(client):
    group = await group_with("open")
    await User.insert(
        *[User(email=f"m{i:03d}@example.org", last_name=f"Nom{i:03d}") for i in range(60)]
    )
    ids = await User.select(User.id).where(User.email.like("m%@example.org"))
    await Membership.insert(*[Membership(user=row["id"], group=group["id"]) for row in ids])
    await login(client, "admin@example.org")
    first = await client.get(f"/g/{group['slug']}/membres")
    assert "61 membres" in first.text and "Page 1 sur 2" in first.text
    assert first.text.count("<li>\n      <a href") == 50
    assert "m000@example.org" in first.text and "m059@example.org" not in first.text
    assert f'href="/g/{group["slug"]}/membres?page=2"' in first.text
    second = await client.get(f"/g/{group['slug']}/membres?page=2")
    assert "m059@example.org" in second.text and "m000@example.org" not in second.text
    assert second.text.count("<li>\n      <a href") == 11
    beyond = await client.get(f"/g/{group['slug']}/membres?page=999999999999")
    assert beyond.status_code == 200 and "Page 2 sur 2" in beyond.text


async def test_pages_make_the_same_number_of_queries_for_10_or_200_members(client):
    counts = {}
    for n in (10, 200):
        admin = await make_user(f"admin{n}@example.org")
        world = await make_distribution_world(admin, products=1, name=f"Marché {n}")
        group = world["group"]
        await User.insert(*[User(email=f"u{n}-{i}@example.org") for i in range(n)])
        ids = await User.select(User.id).where(User.email.like(f"u{n}-%"))
        await Membership.insert(*[Membership(user=row["id"], group=group["id"]) for row in ids])
        someone = ids[0]["id"]
        await Order.insert(
            *[
                Order(user=row["id"], distribution=world["distribution"], total_cents=100)
                for row in ids
            ]
        )
        await MembershipFee.insert(
            *[
                MembershipFee(
                    group=group["id"],
                    user=someone,
                    year=2000 + i,
                    amount_cents=100,
                    paid_on=date.today(),
                )
                for i in range(n // 10)
            ]
        )
        client.cookies.clear()
        await login(client, f"admin{n}@example.org")
        slug = group["slug"]
        counts[n] = {}
        for name, url in (
            ("liste", f"/g/{slug}/membres"),
            ("sans commande", f"/g/{slug}/membres?filtre=sans-commande"),
            ("adhésions", f"/g/{slug}/membres/adhesions"),
            ("membre", f"/g/{slug}/membres/{someone}"),
        ):
            # The fewer of two loads: web/routing.py reloads its list of moved groups in
            # the background every 30 s, and that query may fall in one of them.
            seen = []
            for _ in range(2):
                with QueryCounter() as counter:
                    response = await client.get(url)
                assert response.status_code == 200
                seen.append(counter.count)
            counts[n][name] = min(seen)
    assert counts[10] == counts[200], counts
    assert max(counts[200].values()) <= 16, counts


async def test_member_page_shows_contact_orders_subscriptions_fees_and_bounced_mails(client):
    admin = await make_user("admin@example.org")
    world = await make_distribution_world(admin, products=1, kind="amap", name="AMAP Page")
    group = world["group"]
    person = await add_member(group, "lea@example.org")
    await User.update({User.phone: "06 11 22 33 44"}).where(User.id == person)
    await Order.insert(
        Order(user=person, distribution=world["distribution"], total_cents=1234, state="validated")
    )
    from domain.tables import Subscription

    await Subscription.insert(
        Subscription(
            user=person,
            catalog=world["catalog"],
            starts_on=date(2026, 1, 1),
            ends_on=date(2026, 12, 31),
        )
    )
    await OutboxMail.insert(
        OutboxMail(
            key="b1",
            kind="order_recap",
            to_addr="lea@example.org",
            subject="Sujet d'un autre groupe",
            body_text="",
            body_html="",
            state="bounced",
            last_error="550 5.1.1 user unknown",
        ),
        OutboxMail(
            key="b2",
            kind="welcome",
            to_addr="ancienne@example.org",
            subject="x",
            body_text="",
            body_html="",
            state="failed",
            user=person,
        ),
        OutboxMail(
            key="b3",
            kind="welcome",
            to_addr="lea@example.org",
            subject="x",
            body_text="",
            body_html="",
            state="sent",
        ),
    )
    await login(client, "admin@example.org")
    page = await client.get(f"/g/{group['slug']}/membres/{person}")
    text = page.text
    assert "lea@example.org" in text and "06 11 22 33 44" in text
    assert "12,34\xa0€" in text
    assert "Ferme du Test – Légumes" in text
    assert "E-mails non remis" in text and "550 5.1.1 user unknown" in text
    assert "ancienne@example.org" in text  # found by the account, not the address
    assert "Sujet d'un autre groupe" not in text  # never another group's words
    assert text.count("<li>") >= 3


async def test_rights_are_granted_inline_and_the_last_admin_is_kept(client):
    admin = await make_user("admin@example.org")
    group = await make_group(admin, "AMAP Droits")
    person = await add_member(group, "lea@example.org")
    vendor = (await Vendor.insert(Vendor(group=group["id"], name="Ferme")).returning(Vendor.id))[0][
        "id"
    ]
    legumes, fruits = [
        (
            await Catalog.insert(Catalog(group=group["id"], vendor=vendor, name=n)).returning(
                Catalog.id
            )
        )[0]["id"]
        for n in ("Légumes", "Fruits")
    ]
    await Catalog.update({Catalog.coordinator: admin}).where(Catalog.id == fruits)
    await login(client, "admin@example.org")
    url = f"/g/{group['slug']}/membres/{person}/droits"
    response = await post_form(
        client, url, {"can_messages": "1", "catalog_ids": [str(legumes), str(fruits)]}, htmx=True
    )
    assert response.status_code == 200 and "<html" not in response.text
    assert "Droits enregistrés." in response.text and 'id="rights"' in response.text
    row = await Membership.select().where(Membership.user == person).first()
    assert (row["is_admin"], row["can_messages"], row["can_members"]) == (False, True, False)
    coordinators = {
        c["id"]: c["coordinator"] for c in await Catalog.select(Catalog.id, Catalog.coordinator)
    }
    assert coordinators == {legumes: person, fruits: person}
    response = await post_form(client, url, {"is_admin": "1", "catalog_ids": str(fruits)})
    assert "Droits enregistrés." in response.text  # plain post: redirected to the page
    row = await Membership.select().where(Membership.user == person).first()
    assert row["is_admin"] and not row["can_messages"]
    assert (await Catalog.select(Catalog.coordinator).where(Catalog.id == legumes).first())[
        "coordinator"
    ] is None
    # Two admins: one may go. Then the last one cannot lose the right.
    response = await post_form(client, f"/g/{group['slug']}/membres/{admin}/droits", {}, htmx=True)
    assert "Droits enregistrés." in response.text
    assert not (await Membership.select().where(Membership.user == admin).first())["is_admin"]
    client.cookies.clear()
    await login(client, "lea@example.org")
    response = await post_form(client, f"/g/{group['slug']}/membres/{person}/droits", {}, htmx=True)
    assert response.status_code == 422
    assert "C'est le dernier administrateur du groupe" in shown(response)
    response = await post_form(client, f"/g/{group['slug']}/membres/{person}/droits", {})
    assert response.status_code == 422
    assert (await Membership.select().where(Membership.user == person).first())["is_admin"]
    # Nor removed, nor leaving.
    response = await post_form(client, f"/g/{group['slug']}/membres/{person}/retirer")
    assert response.status_code == 422 and "dernier administrateur" in response.text
    response = await post_form(client, f"/compte/marches/{group['id']}/quitter")
    assert response.status_code == 422 and "dernier administrateur" in response.text
    assert await is_member(group, person)


async def test_member_managers_manage_members_but_not_rights_nor_admins(client):
    group = await group_with("open")
    manager = await add_member(group, "gestion@example.org", can_members=True)
    person = await add_member(group, "lea@example.org")
    await login(client, "gestion@example.org")
    page = await client.get(f"/g/{group['slug']}/membres/{person}")
    assert (
        page.status_code == 200 and "Seul un administrateur peut changer les droits." in page.text
    )
    response = await post_form(
        client, f"/g/{group['slug']}/membres/{manager}/droits", {"is_admin": "1"}
    )
    assert response.status_code == 403
    assert not (await Membership.select().where(Membership.user == manager).first())["is_admin"]
    response = await post_form(client, f"/g/{group['slug']}/membres/{group['admin']}/retirer")
    assert response.status_code == 403 and await is_member(group, group["admin"])
    response = await post_form(client, f"/g/{group['slug']}/membres/{person}/retirer")
    assert "ne fait plus partie du groupe" in response.text
    assert not await is_member(group, person)


async def test_a_plain_member_cannot_see_the_member_list(client):
    group = await group_with("open")
    person = await add_member(group, "simple@example.org")
    await login(client, "simple@example.org")
    for url in (
        f"/g/{group['slug']}/membres",
        f"/g/{group['slug']}/membres/{person}",
        f"/g/{group['slug']}/membres/import",
        f"/g/{group['slug']}/membres/adhesions",
    ):
        response = await client.get(url)
        assert response.status_code == 403, url
        assert "admin@example.org" not in response.text


async def test_removing_a_member_keeps_their_orders_and_frees_their_catalogs(client):
    admin = await make_user("admin@example.org")
    world = await make_distribution_world(admin, products=1)
    group = world["group"]
    person = await add_member(group, "lea@example.org")
    await Catalog.update({Catalog.coordinator: person}).where(Catalog.id == world["catalog"])
    await Order.insert(Order(user=person, distribution=world["distribution"], total_cents=500))
    await login(client, "admin@example.org")
    confirm = await client.get(f"/g/{group['slug']}/membres/{person}/retirer")
    assert "Retirer Lea Membre du groupe ?" in confirm.text
    response = await post_form(client, f"/g/{group['slug']}/membres/{person}/retirer")
    assert "Lea Membre ne fait plus partie du groupe." in response.text
    assert not await is_member(group, person)
    assert await Order.exists().where(Order.user == person)
    assert (await Catalog.select().where(Catalog.id == world["catalog"]).first())[
        "coordinator"
    ] is None
    assert (await client.get(f"/g/{group['slug']}/membres/{person}")).status_code == 404


# ---- 9. Mes marchés suivis ----------------------------------------------------------------


async def test_followed_groups_and_leaving_one(client):
    admin = await make_user("admin@example.org")
    world = await make_distribution_world(admin, products=1, kind="amap", name="AMAP Quitter")
    other = await make_group(admin, "Marché Gardé", "market")
    group = world["group"]
    person = await add_member(group, "lea@example.org")
    await Membership.insert(Membership(user=person, group=other["id"]))
    await Order.insert(
        Order(user=person, distribution=world["distribution"], total_cents=700, state="validated")
    )
    await login(client, "lea@example.org")
    account = await client.get("/compte")
    assert 'href="/compte/marches"' in account.text and "Mes marchés suivis" in account.text
    page = await client.get("/compte/marches")
    assert "AMAP Quitter" in page.text and "Marché Gardé" in page.text
    assert page.text.count("Quitter ce marché") == 2
    confirm = await client.get(f"/compte/marches/{group['id']}/quitter")
    assert "Quitter AMAP Quitter ?" in confirm.text
    assert await is_member(group, person)  # the confirmation page changes nothing
    response = await post_form(client, f"/compte/marches/{group['id']}/quitter")
    assert "Vous ne suivez plus AMAP Quitter." in response.text
    assert not await is_member(group, person) and await is_member(other, person)
    assert (await client.get(f"/g/{group['slug']}/commandes")).status_code == 403
    # Past orders stay, and the admin still sees them with the distribution's orders.
    order = await Order.select().where(Order.user == person).first()
    assert order["total_cents"] == 700
    from domain.distributions import _members_with_orders

    assert [m["email"] for m in await _members_with_orders(world["distribution"])] == [
        "lea@example.org"
    ]
    # A group one does not follow: 404, nothing changes.
    assert (await post_form(client, f"/compte/marches/{group['id']}/quitter")).status_code == 404
    stranger = await make_group(admin, "Pas à moi", "market")
    assert (await client.get(f"/compte/marches/{stranger['id']}/quitter")).status_code == 404


# ---- isolation: nothing of group A through group B's rights -----------------------------


async def isolation_world() -> dict:
    a = await group_with("waiting_list", admin_email="admin_a@example.org", name="AMAP Alouettes")
    b = await group_with("open", admin_email="admin_b@example.org", name="Marché Bleuets")
    member_a = await add_member(a, "membre_a@example.org")
    await add_member(b, "gestion_b@example.org", can_members=True)
    candidate = await make_user("candidat@example.org")
    request_id = (
        await JoinRequest.insert(JoinRequest(user=candidate, group=a["id"])).returning(
            JoinRequest.id
        )
    )[0]["id"]
    created = await make_user("cree_a@example.org")
    await Membership.insert(Membership(user=created, group=a["id"]))
    await ConsentRecord.insert(
        ConsentRecord(user=created, group=a["id"], recorded_by=a["admin"], statement="oui")
    )
    return {"a": a, "b": b, "member_a": member_a, "request": request_id, "created": created}


def isolation_routes(w: dict) -> list[tuple[str, str, dict]]:
    """(method, path, form) of every MEMBRES route, pointed at group A's people."""
    a, m, r, c = w["a"]["slug"], w["member_a"], w["request"], w["created"]
    return [
        ("GET", f"/g/{a}/membres", {}),
        ("GET", f"/g/{a}/membres?filtre=attente", {}),
        ("GET", f"/g/{a}/membres/{m}", {}),
        ("GET", f"/g/{a}/membres/nouveau", {}),
        ("POST", f"/g/{a}/membres/nouveau", {"email": "intrus@example.org"}),
        ("GET", f"/g/{a}/membres/adhesions", {}),
        ("GET", f"/g/{a}/membres/adhesions/nouveau", {}),
        (
            "POST",
            f"/g/{a}/membres/adhesions",
            {
                "user_id": str(m),
                "year": "2026",
                "amount": "5",
                "paid_on": "2026-01-01",
                "means": "cheque",
            },
        ),
        ("POST", f"/g/{a}/membres/adhesions/nouveau", {"email": "intrus2@example.org"}),
        ("POST", f"/g/{a}/membres/attente/{r}/accepter", {}),
        ("POST", f"/g/{a}/membres/attente/{r}/refuser", {"answer": "non"}),
        ("POST", f"/g/{a}/membres/{m}/droits", {"is_admin": "1"}),
        ("POST", f"/g/{a}/membres/{m}/invitation", {}),
        ("GET", f"/g/{a}/membres/{m}/retirer", {}),
        ("POST", f"/g/{a}/membres/{m}/retirer", {}),
        ("GET", f"/g/{a}/membres/{c}/commander", {}),
        ("GET", f"/g/{a}/membres/import", {}),
        ("GET", f"/g/{a}/membres/import/modele.csv", {}),
        ("POST", f"/g/{a}/membres/import/confirmer", {"signed": "x.y"}),
    ]


async def snapshot(group_id: int) -> tuple:
    return (
        sorted(
            (m["user"], m["is_admin"], m["can_members"])
            for m in await Membership.select().where(Membership.group == group_id)
        ),
        await JoinRequest.select(JoinRequest.state).where(JoinRequest.group == group_id),
        await MembershipFee.count(),
        await User.count(),
        await OutboxMail.count(),
    )


@pytest.mark.parametrize("who", ["admin_b@example.org", "gestion_b@example.org"])
async def test_admins_and_managers_of_b_can_never_touch_the_members_of_a(client, who):
    w = await isolation_world()
    before = await snapshot(w["a"]["id"])
    await login(client, who)
    for method, path, form in isolation_routes(w):
        if method == "GET":
            response = await client.get(path, follow_redirects=False)
        else:
            response = await post_form(client, path, form, follow_redirects=False)
        assert response.status_code == 403, f"{method} {path}: {response.status_code}"
        for secret in ("membre_a@example.org", "candidat@example.org", "AMAP Alouettes"):
            assert secret not in response.text, f"{method} {path} montre {secret}"
    # The import upload as well.
    response = await client.post(
        f"/g/{w['a']['slug']}/membres/import",
        files={"file": ("c.csv", b"Prenom;Nom;E-mail\nI;N;intrus3@example.org\n", "text/csv")},
        data={"_csrf_token": await csrf_token(client)},
    )
    assert response.status_code == 403
    assert await snapshot(w["a"]["id"]) == before


async def test_admin_of_b_reaching_a_members_through_b_gets_404(client):
    w = await isolation_world()
    before = await snapshot(w["a"]["id"])
    await login(client, "admin_b@example.org")
    b, m, r, c = w["b"]["slug"], w["member_a"], w["request"], w["created"]
    for method, path, form in [
        ("GET", f"/g/{b}/membres/{m}", {}),
        ("POST", f"/g/{b}/membres/{m}/droits", {"is_admin": "1"}),
        ("POST", f"/g/{b}/membres/{m}/invitation", {}),
        ("GET", f"/g/{b}/membres/{m}/retirer", {}),
        ("POST", f"/g/{b}/membres/{m}/retirer", {}),
        ("GET", f"/g/{b}/membres/{c}/commander", {}),
        ("POST", f"/g/{b}/membres/attente/{r}/accepter", {}),
        ("POST", f"/g/{b}/membres/attente/{r}/refuser", {}),
    ]:
        response = await (client.get(path) if method == "GET" else post_form(client, path, form))
        assert response.status_code == 404, f"{method} {path}: {response.status_code}"
        assert "membre_a@example.org" not in response.text
    # A fee for A's member recorded through B: refused at the field.
    response = await post_form(
        client,
        f"/g/{b}/membres/adhesions",
        {
            "user_id": str(m),
            "year": "2026",
            "amount": "5",
            "paid_on": "2026-01-01",
            "means": "cheque",
        },
    )
    assert response.status_code == 422 and "Choisissez un membre du groupe." in response.text
    # B's list holds only B's people.
    page = await client.get(f"/g/{b}/membres?q=example")
    assert "membre_a@example.org" not in page.text and "admin_a@example.org" not in page.text
    assert await snapshot(w["a"]["id"]) == before
    assert (await Group.select(Group.id).where(Group.id == w["a"]["id"]).first()) is not None


async def test_pending_members_get_order_opening_mails_and_those_who_left_do_not(client):
    """A member invited by "Nouveau client" gets the order-opening mails before finishing
    their registration; someone who left the group gets none."""
    from domain import notifications
    from domain.outbox import MailContext

    admin = await make_user("admin@example.org")
    world = await make_distribution_world(admin, products=1, name="Marché Ouverture")
    group = world["group"]
    await add_member(group, "partie@example.org")
    await login(client, "admin@example.org")
    await invite(client, group, "pas-encore@example.org")
    client.cookies.clear()
    await login(client, "partie@example.org")
    await post_form(client, f"/compte/marches/{group['id']}/quitter")
    ctx = MailContext(instance="main", site_name="Test", base_url="http://localhost")
    await notifications.queue_due({"main": ctx})
    rows = await OutboxMail.select(OutboxMail.to_addr).where(OutboxMail.kind == "orders_open")
    assert {r["to_addr"] for r in rows} == {"admin@example.org", "pas-encore@example.org"}
