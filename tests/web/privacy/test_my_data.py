"""« Mes données »: the archive of everything about oneself (and of no one else), streamed;
deleting one's account: what the groups keep goes to an anonymous placeholder, the rest
goes, every session ends and no mail reaches the person any more."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import tracemalloc
import zipfile
from datetime import UTC, date, datetime, timedelta

from litestar.testing import AsyncTestClient

from domain import outbox
from domain.demo import world as build
from domain.kernel import clock
from domain.privacy import deletion, export
from domain.tables import (
    CalendarFeed,
    ConsentRecord,
    GroupMessage,
    JoinRequest,
    Membership,
    MembershipFee,
    Order,
    OrderLine,
    OutboxMail,
    Product,
    Subscription,
    User,
    ValidationRecord,
    WebSession,
)
from tests.helpers import MAIL_CONTEXT, login, make_group, make_user, post_form

DAY = timedelta(days=1)


async def lea_world() -> dict:
    """Léa in an AMAP run by Anne: a past order (closed), an order still open on a product
    with stock, a running contract, an adhésion, a consent record, a mail, a message she
    wrote as an admin of a second group, a join request; Noé's order next to hers."""
    anne = await make_user("anne@example.org", "Anne")
    lea = await make_user("lea@example.org", "Léa", "Martin")
    noe = await make_user("noe@example.org", "Noé")
    await User.update({User.phone: "06 12 34 56 78"}).where(User.id == lea)
    group = await make_group(anne, "AMAP des Prés")
    await build.join(group["id"], [lea, noe])
    hall = await build.place(group["id"], "Halle")
    now = clock.now()
    past = await build.distribution(group["id"], hall, now - 3 * DAY)
    coming = await build.distribution(
        group["id"], hall, now + 5 * DAY, opens_at=now - DAY, closes_at=now + 4 * DAY
    )
    farm = await build.producer(group["id"], "Ferme des Saules")
    catalog = await build.catalog(group["id"], farm, name="Légumes", delivers=[past, coming])
    leeks = await build.product(catalog, "Poireaux", 250, unit="botte", stock=10)
    secret = await build.product(catalog, "Produit de Noé", 100)
    past_order = await build.order(lea, past, {leeks: 2})
    await build.order(lea, coming, {leeks: 3})
    await Product.update({Product.stock: 7}).where(Product.id == leeks)  # 3 taken
    await build.order(noe, past, {secret: 1})
    today = now.date()
    subscription = await build.subscription(
        lea, catalog, starts_on=today - 30 * DAY, ends_on=today + 90 * DAY, lines={leeks: 1}
    )
    await MembershipFee.insert(
        MembershipFee(
            group=group["id"],
            user=lea,
            year=today.year,
            amount_cents=1500,
            paid_on=today,
            means="chèque",
            recorded_by=anne,
        )
    )
    await ConsentRecord.insert(
        ConsentRecord(group=group["id"], user=lea, recorded_by=anne, statement="Accord donné")
    )
    await outbox.queue(
        key="test:lea",
        kind="test_mail",
        to="lea@example.org",
        template="test_mail",
        ctx=MAIL_CONTEXT,
        context={
            "first_name": "Léa",
            "url": "http://localhost",
            "sender": "x@localhost",
            "signed_for": "",
        },
    )
    other = await make_group(lea, "Marché de Léa", "market")
    await GroupMessage.insert(
        GroupMessage(group=other["id"], author=lea, subject="Bienvenue", body="Bonjour à tous")
    )
    waiting = await build.group(anne, "AMAP en attente", registration="waiting_list")
    await JoinRequest.insert(JoinRequest(user=lea, group=waiting["id"], message="Je voudrais"))
    await ValidationRecord.insert(
        ValidationRecord(
            distribution=past,
            content=json.dumps({"orders": [{"order": past_order, "user": lea, "lines": []}]}),
        )
    )
    return {
        "group": group,
        "other": other,
        "lea": lea,
        "noe": noe,
        "anne": anne,
        "past": past,
        "coming": coming,
        "leeks": leeks,
        "subscription": subscription,
        "catalog": catalog,
    }


def rows_of(archive: zipfile.ZipFile, name: str) -> list[list[str]]:
    text = archive.read(name).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text), delimiter=";"))


async def test_the_archive_holds_everything_about_oneself_and_nothing_of_others(client):
    world = await lea_world()
    await login(client, "lea@example.org")
    account = await client.get("/compte")
    assert 'href="/compte/donnees"' in account.text
    page = await client.get("/compte/donnees")
    assert "Télécharger mes données" in page.text and "Supprimer mon compte" in page.text

    response = await client.get("/compte/donnees/mes-donnees.zip")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip", response.text[:3000]
    assert "attachment" in response.headers["content-disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.testzip() is None
    names = set(archive.namelist())
    assert {"LISEZ-MOI.txt", "compte.json", "adhesions.csv", "commandes.csv"} <= names
    assert {"souscriptions.csv", "cotisations.csv", "emails.csv", "consentements.csv"} <= names
    me = json.loads(archive.read("compte.json"))
    assert (me["email"], me["prenom"], me["telephone"]) == (
        "lea@example.org",
        "Léa",
        "06 12 34 56 78",
    )
    assert "password_hash" not in json.dumps(me) and "argon2" not in json.dumps(me)
    groups = [r[0] for r in rows_of(archive, "adhesions.csv")[1:]]
    assert sorted(groups) == ["AMAP des Prés", "Marché de Léa"]
    orders = rows_of(archive, "commandes.csv")
    assert orders[0][:3] == ["Groupe", "Distribution", "Lieu"]
    assert sorted(r[6] for r in orders[1:]) == ["2", "3"]
    assert all(r[4] == "Poireaux" for r in orders[1:]) and orders[1][8] == "2,50"
    assert rows_of(archive, "souscriptions.csv")[1][1:3] == ["Légumes", "Ferme des Saules"]
    assert rows_of(archive, "cotisations.csv")[1][2:5][0] == "15,00"
    mails = rows_of(archive, "emails.csv")[1:]
    assert any(r[2] == "lea@example.org" for r in mails)  # her welcome and the test mail
    assert rows_of(archive, "consentements.csv")[1][3] == "Accord donné"
    assert rows_of(archive, "messages.csv")[1][2] == "Bienvenue"
    assert rows_of(archive, "demandes.csv")[1][2] == "Je voudrais"
    everything = b"".join(archive.read(n) for n in names).decode("utf-8", "replace")
    for other in ("Produit de Noé", "noe@example.org", "anne@example.org"):
        assert other not in everything, other
    assert world["noe"]


async def history(email: str, distributions: int, products: int) -> int:
    """A person who ordered every product of a catalog at each of `distributions` dates."""
    user = await make_user(email, "Léa")
    group = await build.group(user, f"AMAP {email}")
    hall = await build.place(group["id"], "Halle")
    catalog = await build.catalog(group["id"], await build.producer(group["id"], "Ferme"))
    ids = await build.products(catalog, products, unit="kg")
    now = clock.now()
    dists = await build.distributions(
        group["id"], hall, [now - timedelta(weeks=w) for w in range(distributions)]
    )
    for dist in dists:
        await build.orders(dist, {user: {p: 1 + i for i, p in enumerate(ids)}})
    return user


async def peak_of_archive(user_id: int) -> tuple[int, bytes]:
    """The most memory Python held while the archive was written, and the archive."""
    tracemalloc.start()
    try:
        chunks = [c async for c in export.archive(user_id, clock.now(), "Test")]
        return tracemalloc.get_traced_memory()[1], b"".join(chunks)
    finally:
        tracemalloc.stop()


async def test_the_archive_is_written_as_it_is_read(client):
    """Five times the history, about the same memory: the lines are read in batches and
    each batch is compressed and handed over before the next is read."""
    small = await history("petite@example.org", 20, 60)  # 1,200 order lines
    large = await history("grande@example.org", 100, 60)  # 6,000
    small_peak, _ = await peak_of_archive(small)
    large_peak, archive = await peak_of_archive(large)
    lines = rows_of(zipfile.ZipFile(io.BytesIO(archive)), "commandes.csv")
    assert len(lines) == 1 + 6000
    assert large_peak < 2 * small_peak, (small_peak, large_peak)


async def test_archives_are_limited_per_hour(client):
    await make_user("lea@example.org", "Léa")
    await login(client, "lea@example.org")
    for _ in range(export.EXPORTS_PER_HOUR):
        assert (await client.get("/compte/donnees/mes-donnees.zip")).status_code == 200
    refused = await client.get("/compte/donnees/mes-donnees.zip")
    assert refused.status_code == 429 and "Trop de demandes" in refused.text


async def test_deleting_ones_account_keeps_what_the_groups_need_anonymously(app, client, mailbox):
    world = await lea_world()
    other_browser = AsyncTestClient(app=app, base_url="http://localhost")
    await login(other_browser, "lea@example.org")
    await login(client, "lea@example.org")
    await post_form(client, f"/g/{world['group']['slug']}/calendrier", {"action": "creer"})
    # Léa runs her own market alone: nobody else is in it, so she may go.

    wrong = await post_form(
        client, "/compte/donnees/supprimer", {"password": "pas le bon", "confirm": "1"}
    )
    assert wrong.status_code == 422 and "Mot de passe incorrect" in wrong.text
    unconfirmed = await post_form(
        client, "/compte/donnees/supprimer", {"password": "motdepasse-solide"}
    )
    assert unconfirmed.status_code == 422 and "Cochez cette case" in unconfirmed.text
    assert await User.exists().where(User.email == "lea@example.org")

    done = await post_form(
        client, "/compte/donnees/supprimer", {"password": "motdepasse-solide", "confirm": "1"}
    )
    assert done.status_code == 200 and "Votre compte est supprimé" in done.text
    assert not await User.exists().where(User.email == "lea@example.org")
    # Every browser is logged out; the account no longer logs in.
    assert (await client.get("/compte", follow_redirects=False)).status_code == 303
    assert (await other_browser.get("/compte", follow_redirects=False)).status_code == 303
    relogin = await post_form(
        client, "/connexion", {"email": "lea@example.org", "password": "motdepasse-solide"}
    )
    assert "E-mail ou mot de passe incorrect" in relogin.text

    [placeholder] = await User.select().where(User.deleted_at.is_not_null())
    assert placeholder["email"].endswith("@compte-supprime.invalid")
    assert placeholder["password_hash"] is None and placeholder["phone"] == ""
    assert (placeholder["first_name"], placeholder["last_name"]) == ("", "Compte supprimé")
    # The past order stays, the placeholder's; the open one is gone, its stock given back.
    kept = await Order.select().where(Order.user == placeholder["id"])
    assert [o["distribution"] for o in kept] == [world["past"]]
    assert not await Order.exists().where(Order.distribution == world["coming"])  # hers only
    assert (await Product.select(Product.stock).where(Product.id == world["leeks"]).first())[
        "stock"
    ] == 10
    assert await OrderLine.count().where(OrderLine.order == kept[0]["id"]) == 1
    sub = await Subscription.select().where(Subscription.id == world["subscription"]).first()
    assert sub["user"] == placeholder["id"] and sub["ended_at"] is not None
    fee = await MembershipFee.select().first()
    assert (fee["user"], fee["amount_cents"]) == (placeholder["id"], 1500)
    message = await GroupMessage.select().first()
    assert message["author"] == placeholder["id"]
    record = json.loads((await ValidationRecord.select().first())["content"])
    assert record["orders"][0]["user"] == placeholder["id"]
    # Gone: memberships, consent about her, sessions, mails, join requests, calendar.
    assert not await Membership.exists().where(Membership.user == placeholder["id"])
    assert await Membership.count() == 3  # Anne in her two groups, Noé
    for table in (ConsentRecord, WebSession, JoinRequest, CalendarFeed):
        assert not await table.exists().where(table.user == placeholder["id"]), table
    assert await ConsentRecord.count() == 0
    assert not await OutboxMail.exists().where(OutboxMail.to_addr == "lea@example.org")
    # Her group, now without members, stays; nothing names her anywhere.
    assert await User.count() == 3  # Anne, Noé, the placeholder


async def test_the_only_admin_of_a_group_with_members_cannot_leave_it_headless(client):
    anne = await make_user("anne@example.org", "Anne")
    noe = await make_user("noe@example.org", "Noé")
    group = await make_group(anne, "AMAP des Prés")
    await build.join(group["id"], noe)
    await login(client, "anne@example.org")
    page = await client.get("/compte/donnees")
    assert "seul administrateur de AMAP des Prés" in page.text
    refused = await post_form(
        client, "/compte/donnees/supprimer", {"password": "motdepasse-solide", "confirm": "1"}
    )
    assert refused.status_code == 422 and "nommez un autre administrateur" in refused.text
    assert await User.exists().where(User.id == anne)


async def test_two_deletions_at_once_delete_once(client):
    lea = await make_user("lea@example.org", "Léa")
    now = datetime.now(UTC)
    results = await asyncio.gather(*(deletion.delete_account(lea, now) for _ in range(3)))
    assert len([r for r in results if r is not None]) == 1
    assert await User.count() == 1  # the placeholder of the one deletion
    assert date.today()
