"""Mode création through the real stack: the account an admin made for a person receives
no mail of any kind (orders open, messages, recaps, password reset, sign-up links) until
the person takes it over with the takeover sheet (a code typed at /reprise, or its link)
or the link mailed to the address they gave; then it is a normal account that gets its
mails. Links and codes work once, for 30 days; codes typed are throttled; another group's
admin reaches none of it."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from domain import notifications, outbox
from domain.demo import world as build
from domain.kernel import clock
from domain.members import takeover
from domain.ordering.recap import RECAP_GROUPING
from domain.tables import AccountToken, OutboxMail, User
from jobs import mail as mail_jobs
from jobs import scheduler
from tests.helpers import PASSWORD, login, make_distribution_world, make_user, post_form
from tests.stack import text_of, wait_until

HELD = "jeanne.papier@invente.example"
EMPTY_FILE = {"attachment": ("", b"", "application/octet-stream")}
NEW_PASSWORD = "mon-mot-de-passe-a-moi"


def shown(response) -> str:
    return html.unescape(response.text)


async def world(name: str = "AMAP des Lilas") -> dict:
    admin = await make_user("admin@example.org", first_name="Adèle", last_name="Admin")
    w = await make_distribution_world(admin, kind="amap", products=2, name=name)
    return w | {"admin": admin, "slug": w["group"]["slug"]}


async def held_account(w: dict, email: str = HELD) -> int:
    return await build.created_account(w["group"]["id"], w["admin"], email)


async def settled(user_id: int, email: str = HELD) -> list[dict]:
    """The rows to this person once none waits any more: the app's worker takes the ones
    due; a recap waits RECAP_GROUPING, so it is taken here, that much later."""

    async def rows():
        found = await OutboxMail.select(
            OutboxMail.id, OutboxMail.kind, OutboxMail.state, OutboxMail.send_after
        ).where((OutboxMail.user == user_id) | (OutboxMail.to_addr == email))
        waiting = [r for r in found if r["state"] in ("pending", "sending")]
        return found if all(r["send_after"] for r in waiting) else None

    found = await wait_until(rows, seconds=20, what="les e-mails traités")
    with clock.travel(RECAP_GROUPING + timedelta(seconds=1)):
        for row in found:
            if row["state"] == "pending":
                row["state"] = await mail_jobs.deliver(row["id"])
    return found


async def send_message(client, w: dict, subject: str):
    page = await client.get(f"/g/{w['slug']}/messagerie")
    key = page.text.split('name="form_key" value="', 1)[1].split('"', 1)[0]
    return await post_form(
        client,
        f"/g/{w['slug']}/messagerie",
        {"form_key": key, "subject": subject, "body": "Bonjour à tous.", "recipients": "all"},
        files=EMPTY_FILE,
        follow_redirects=False,
    )


async def open_orders_mails(settings) -> None:
    ids = await notifications.queue_due(scheduler.contexts(settings), clock.now())
    await mail_jobs.hand_over(ids)


async def print_sheet(client, w: dict, user_id: int) -> dict:
    page = await post_form(client, f"/g/{w['slug']}/membres/{user_id}/reprise/fiche")
    assert page.status_code == 200, page.text
    assert page.headers["cache-control"] == "no-store"
    code = re.search(r'class="sheet-code">([A-Z0-9]{4}-[A-Z0-9]{4})<', page.text).group(1)
    link = re.search(r'class="sheet-url">(http://localhost/reprise/[^<]+)<', page.text).group(1)
    return {"code": code, "link": link, "page": page}


async def take_over_with_code(client, code: str, **fields):
    answer = await post_form(client, "/reprise", {"code": code})
    assert answer.status_code == 200, shown(answer)
    ticket = re.search(r'name="ticket" value="([^"]+)"', answer.text).group(1)
    return await post_form(
        client,
        "/reprise/mot-de-passe",
        {"ticket": ticket, "password": NEW_PASSWORD} | fields,
        follow_redirects=False,
    )


# ---- no mail before the takeover, mails after -------------------------------------------


async def test_no_mail_of_any_kind_before_the_takeover_and_mails_after(
    app, client, mailbox, settings
):
    w = await world()
    await login(client, "admin@example.org")
    created = await post_form(
        client,
        f"/g/{w['slug']}/membres/nouveau",
        {
            "email": HELD,
            "first_name": "Jeanne",
            "last_name": "Papier",
            "creation": "1",
            "consent": "1",
        },
    )
    assert "aucun e-mail ne lui est envoyé tant que la personne n'a pas repris" in shown(created)
    user = await User.select().where(User.email == HELD).first()
    assert user["takeover_pending"] and user["password_hash"] is None
    page = shown(await client.get(f"/g/{w['slug']}/membres/{user['id']}"))
    assert "Compte créé en Mode création, pas encore repris" in page
    assert "Imprimer une fiche de reprise" in page and "Renvoyer l'invitation" not in page
    listing = shown(await client.get(f"/g/{w['slug']}/membres"))
    assert "Mode création : compte à reprendre" in listing

    # Every way a mail could reach her: orders open, a group message, her recap (the admin
    # orders for her), a reset link, a sign-up with her address, the invitation again.
    await open_orders_mails(settings)
    assert (await send_message(client, w, "Avant la reprise")).status_code == 303
    order_url = f"/g/{w['slug']}/membres/{user['id']}/commander/{w['distribution']}"
    ordered = await post_form(client, order_url, {f"q{w['products'][0]}": "2", "key": "k-1"})
    assert "Commande validée pour Jeanne Papier" in ordered.text
    resent = await post_form(client, f"/g/{w['slug']}/membres/{user['id']}/invitation")
    assert "Ce compte a été créé en Mode création" in shown(resent)
    visitor = type(client)(app=app, base_url="http://localhost")
    forgot = await post_form(visitor, "/compte/mot-de-passe-oublie", {"email": HELD})
    assert forgot.status_code == 200
    signup = await post_form(
        visitor,
        "/inscription",
        {"email": HELD, "password": PASSWORD, "first_name": "J", "last_name": "P"},
    )
    text = shown(signup)
    assert "Aucun e-mail n'est envoyé à cette adresse tant que vous n'avez pas repris" in text
    assert "nous venons d'envoyer" not in text and 'href="/reprise"' in signup.text

    rows = await settled(user["id"])
    assert {r["kind"] for r in rows} >= {"orders_open", "message", "order_recap", "password_reset"}
    assert {r["state"] for r in rows} == {"dropped"}
    assert mailbox.to(HELD) == []
    assert mailbox.to("admin@example.org", "Avant la reprise")  # the others got theirs

    # The takeover, on her own device, with the code of the sheet.
    sheet = await print_sheet(client, w, user["id"])
    assert "Jeanne Papier" in sheet["page"].text and HELD in sheet["page"].text
    person = type(client)(app=app, base_url="http://localhost")
    assert (await person.get("/reprise")).status_code == 200
    done = await take_over_with_code(person, sheet["code"].lower().replace("-", " "))
    assert done.status_code == 303
    home = shown(await person.get("/"))
    assert f"Votre compte est à vous : vous vous connectez désormais avec {HELD}." in home
    user = await User.select().where(User.id == user["id"]).first()
    assert not user["takeover_pending"] and user["password_hash"]
    await login(type(client)(app=app, base_url="http://localhost"), HELD, NEW_PASSWORD)

    # From now on, a normal account: the group's mails reach her.
    assert (await send_message(client, w, "Après la reprise")).status_code == 303
    [after] = await mailbox.wait_for(HELD, subject="Après la reprise")
    assert "Bonjour à tous." in text_of(after)
    assert mailbox.to(HELD, "Avant la reprise") == []  # what was dropped stays dropped
    page = shown(await client.get(f"/g/{w['slug']}/membres/{user['id']}"))
    assert "pas encore repris" not in page and "Imprimer une fiche de reprise" not in page
    assert "compte à reprendre" not in shown(await client.get(f"/g/{w['slug']}/membres"))


async def test_the_link_mailed_to_the_address_she_gives_becomes_her_login(app, client, mailbox):
    w = await world()
    user_id = await held_account(w)
    await login(client, "admin@example.org")
    url = f"/g/{w['slug']}/membres/{user_id}/reprise/lien"
    bad = await post_form(client, url, {"address": "pas-une-adresse"})
    assert bad.status_code == 422
    assert "Cette adresse e-mail n'est pas valide." in shown(bad)
    assert 'id="f-address"' in bad.text and 'aria-invalid="true"' in bad.text
    sent = await post_form(client, url, {"address": " Jeanne@Example.org "}, follow_redirects=False)
    assert sent.status_code == 303
    notice = shown(await client.get(sent.headers["location"]))
    assert (
        "Lien de reprise envoyé à jeanne@example.org : valable 30 jours, une seule fois." in notice
    )

    [mail] = await mailbox.wait_for("jeanne@example.org")
    assert mail["Subject"] == "Votre compte sur Circuit Court vous attend"
    body = text_of(mail)
    assert "Bonjour Jeanne," in body and "Adèle Admin a créé pour vous un compte" in body
    link = re.search(r"http://localhost/reprise/\S+", body).group(0)
    assert mailbox.to(HELD) == []
    # Sent: the outbox keeps no working link.
    row = await OutboxMail.select().where(OutboxMail.kind == "takeover").first()
    assert await wait_until(
        lambda: OutboxMail.exists().where(
            (OutboxMail.id == row["id"]) & (OutboxMail.state == "sent")
        )
    )
    row = await OutboxMail.select().where(OutboxMail.id == row["id"]).first()
    assert link not in row["body_text"] + row["body_html"]
    assert row["body_text"] == outbox.LINK_REMOVED

    person = type(client)(app=app, base_url="http://localhost")
    page = await person.get(link.replace("http://localhost", ""))
    assert page.status_code == 200 and 'value="jeanne@example.org"' in page.text
    short = await post_form(person, link, {"password": "court", "email": "jeanne@example.org"})
    assert short.status_code == 422 and "au moins 10 caractères" in shown(short)
    done = await post_form(person, link, {"password": NEW_PASSWORD, "email": "jeanne@example.org"})
    assert "vous vous connectez désormais avec jeanne@example.org" in shown(done)
    user = await User.select().where(User.id == user_id).first()
    assert user["email"] == "jeanne@example.org" and not user["takeover_pending"]
    # Once only.
    again = await post_form(
        type(client)(app=app, base_url="http://localhost"),
        link,
        {"password": NEW_PASSWORD, "email": "x@example.org"},
    )
    assert again.status_code == 410 and "n'est plus valable" in shown(again)
    assert (await person.get(link.replace("http://localhost", ""))).status_code == 410


async def test_another_address_typed_on_the_sheet_gets_a_confirmation_link(app, client, mailbox):
    w = await world()
    user_id = await held_account(w)
    await login(client, "admin@example.org")
    sheet = await print_sheet(client, w, user_id)
    person = type(client)(app=app, base_url="http://localhost")
    done = await take_over_with_code(person, sheet["code"], email="vraie@example.org")
    assert done.status_code == 303
    notice = shown(await person.get("/"))
    assert f"vous vous connectez désormais avec {HELD}" in notice
    assert "Pour utiliser vraie@example.org, ouvrez le lien de confirmation" in notice
    [mail] = await mailbox.wait_for("vraie@example.org")
    assert mail["Subject"] == "Confirmez votre nouvelle adresse e-mail"
    assert (await User.select(User.email).where(User.id == user_id).first())["email"] == HELD


# ---- single use, replaced, expiry -------------------------------------------------------


async def test_a_sheet_works_once_and_a_new_one_replaces_it(app, client, mailbox):
    w = await world()
    user_id = await held_account(w)
    await login(client, "admin@example.org")
    first = await print_sheet(client, w, user_id)
    second = await print_sheet(client, w, user_id)
    assert first["code"] != second["code"] and first["link"] != second["link"]
    person = type(client)(app=app, base_url="http://localhost")
    old = await post_form(person, "/reprise", {"code": first["code"]})
    assert old.status_code == 422 and takeover.BAD_CODE in shown(old)
    assert (await person.get(first["link"].replace("http://localhost", ""))).status_code == 410
    # Only digests are stored: neither the code nor the link is in the database.
    stored = await AccountToken.select(AccountToken.token_hash).where(AccountToken.user == user_id)
    assert all(
        second["code"].replace("-", "") not in r["token_hash"]
        and second["link"].rsplit("/", 1)[1] not in r["token_hash"]
        for r in stored
    )
    assert (await take_over_with_code(person, second["code"])).status_code == 303
    # The code and the link of that sheet are both spent.
    other = type(client)(app=app, base_url="http://localhost")
    assert (await post_form(other, "/reprise", {"code": second["code"]})).status_code == 422
    assert (await other.get(second["link"].replace("http://localhost", ""))).status_code == 410
    # Nothing more to take over: the admin's buttons say so.
    refused = await post_form(client, f"/g/{w['slug']}/membres/{user_id}/reprise/fiche")
    assert "la personne l'utilise déjà" in shown(refused)


async def test_links_and_codes_expire_after_30_days(app, client):
    w = await world()
    user_id = await held_account(w)
    await login(client, "admin@example.org")
    sheet = await print_sheet(client, w, user_id)
    path = sheet["link"].replace("http://localhost", "")
    raw = path.rsplit("/", 1)[1]
    # Time passed in: the domain's rule at any moment.
    issued = (await AccountToken.select(AccountToken.created_at).first())["created_at"]
    assert await takeover.of_link(raw, issued + timedelta(days=29, hours=23)) is not None
    assert await takeover.of_link(raw, issued + timedelta(days=30, minutes=1)) is None
    person = type(client)(app=app, base_url="http://localhost")
    with clock.travel(timedelta(days=30, minutes=1)):
        assert (await person.get(path)).status_code == 410
        late = await post_form(person, path, {"password": NEW_PASSWORD})
        assert late.status_code == 410
        code = await post_form(person, "/reprise", {"code": sheet["code"]})
        assert code.status_code == 422 and takeover.BAD_CODE in shown(code)
    user = await User.select().where(User.id == user_id).first()
    assert user["takeover_pending"] and user["password_hash"] is None
    # Back to today: still valid (the code's tries were counted in the future, so the link).
    done = await post_form(person, path, {"password": NEW_PASSWORD}, follow_redirects=False)
    assert done.status_code == 303


async def test_typing_codes_is_throttled_per_address(app, client):
    w = await world()
    user_id = await held_account(w)
    await login(client, "admin@example.org")
    sheet = await print_sheet(client, w, user_id)
    guesser = type(client)(app=app, base_url="http://localhost")
    for n in range(takeover.CODE_TRIES):
        wrong = await post_form(guesser, "/reprise", {"code": f"ZZZZ-ZZ{n:02d}"})
        assert wrong.status_code == 422
    blocked = await post_form(guesser, "/reprise", {"code": sheet["code"]})
    assert blocked.status_code == 429 and "Trop de demandes : réessayez dans" in shown(blocked)
    with clock.travel(timedelta(seconds=31)):
        assert (await post_form(guesser, "/reprise", {"code": sheet["code"]})).status_code == 200


# ---- who may ----------------------------------------------------------------------------


async def test_no_one_else_reaches_the_takeover_of_a_groups_account(app, client):
    w = await world()
    user_id = await held_account(w)
    other_admin = await make_user("autre@example.org", first_name="Otto", last_name="Autre")
    other = await build.group(other_admin, "Marché d'ailleurs", "market")
    plain = await make_user("membre@example.org")
    await build.join(w["group"]["id"], plain)
    own = await make_user("normal@example.org")
    await build.join(w["group"]["id"], own)

    await login(client, "autre@example.org")
    for tail in ("fiche", "lien"):
        # Through their own group: she is not its member.
        url = f"/g/{other['slug']}/membres/{user_id}/reprise/{tail}"
        answer = await post_form(client, url, {"address": "x@example.org"})
        assert answer.status_code == 404, tail
        assert "Jeanne" not in answer.text
        # Through the group's address: not theirs.
        url = f"/g/{w['slug']}/membres/{user_id}/reprise/{tail}"
        answer = await post_form(client, url, {"address": "x@example.org"})
        assert answer.status_code == 403 and "Jeanne" not in answer.text
    client.cookies.clear()
    await login(client, "membre@example.org")
    answer = await post_form(client, f"/g/{w['slug']}/membres/{user_id}/reprise/fiche")
    assert answer.status_code == 403
    assert await AccountToken.count().where(AccountToken.user == user_id) == 0
    assert await OutboxMail.count().where(OutboxMail.kind == "takeover") == 0

    # The group's admin, for an account that is not one made in Mode création: nothing.
    client.cookies.clear()
    await login(client, "admin@example.org")
    refused = await post_form(client, f"/g/{w['slug']}/membres/{own}/reprise/fiche")
    assert "Ce compte n'est pas à reprendre" in shown(refused)
    assert await AccountToken.count().where(AccountToken.user == own) == 0
