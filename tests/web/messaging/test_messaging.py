"""MESSAGERIE: write, count, preview and send a message to a list of the group's people;
history with delivery states; a group's admin sees and reaches only their own group.

Mails go through the app's in-process worker to a real SMTP server (the `mailbox`)."""

from __future__ import annotations

from datetime import date, timedelta

from domain import messaging
from domain.demo import world as build
from domain.kernel import clock
from domain.tables import (
    Catalog,
    GroupMessage,
    JoinRequest,
    Membership,
    OutboxMail,
    Vendor,
)
from tests.helpers import QueryCounter, login, make_group, make_user, post_form
from tests.stack import text_of, wait_until

EMPTY_FILE = {"attachment": ("", b"", "application/octet-stream")}  # a browser's empty input


def html_of(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


async def world() -> dict:
    """Group A (admin Ada; members Bea, Cid, Dom; Eve waiting) with a catalog and a
    distribution; group B (admin Bob) with its own member."""
    ids = {
        name: await make_user(f"{name}@example.org", name.title(), "Test")
        for name in ("ada", "bea", "cid", "dom", "eve", "bob", "bmember")
    }
    a = await make_group(ids["ada"], "AMAP des Alouettes")
    b = await make_group(ids["bob"], "Marché des Bleuets", "market")
    await build.join(a["id"], [ids[name] for name in ("bea", "cid", "dom")])
    await build.join(b["id"], ids["bmember"])
    await JoinRequest.insert(JoinRequest(user=ids["eve"], group=a["id"]))
    await JoinRequest.insert(JoinRequest(user=ids["bmember"], group=a["id"], state="refused"))
    catalog_id = await build.catalog(a["id"], await build.producer(a["id"], "Ferme"))
    today = date.today()  # what the recipients' query compares with
    # Bea's subscription runs, Cid's has ended, Dom's was stopped.
    for name, ends, ended in (("bea", 30, None), ("cid", -1, None), ("dom", 30, clock.now())):
        await build.subscription(
            ids[name],
            catalog_id,
            starts_on=today - timedelta(days=60),
            ends_on=today + timedelta(days=ends),
            ended_at=ended,
        )
    place = await build.place(a["id"], "Lavoir")
    dist_id = await build.distribution(a["id"], place, clock.now() + timedelta(days=2))
    basket = await build.product(catalog_id, "Panier", 100)
    await build.order(ids["cid"], dist_id, {basket: 5})  # 5,00 €, validated
    await build.order(ids["dom"], dist_id, {basket: 3}, state="draft")
    return {"ids": ids, "a": a, "b": b, "catalog": catalog_id, "distribution": dist_id}


def url(group: dict, tail: str = "") -> str:
    return f"/g/{group['slug']}/messagerie{tail}"


async def send(client, group: dict, fields: dict, *, files=None, htmx: bool = False):
    page = await client.get(url(group))
    key = page.text.split('name="form_key" value="', 1)[1].split('"', 1)[0]
    return await post_form(
        client,
        url(group),
        {"form_key": key, **fields},
        files=files or EMPTY_FILE,
        htmx=htmx,
        follow_redirects=False,
    )


async def wait_sent(message_id: int, count: int) -> None:
    async def sent() -> bool:
        return count == await OutboxMail.count().where(
            (OutboxMail.message == message_id) & (OutboxMail.state == "sent")
        )

    await wait_until(sent, seconds=20, what=f"{count} envois du message {message_id}")


async def messages_sent() -> list[str]:
    """The addresses of every message mail, once all of them are sent (the outbox is the
    only way a mail leaves: no row, no mail)."""

    async def rows() -> list[str]:
        found = await OutboxMail.select(OutboxMail.to_addr, OutboxMail.state).where(
            OutboxMail.kind == "message"
        )
        return (
            sorted(r["to_addr"] for r in found) if all(r["state"] == "sent" for r in found) else []
        )

    return await wait_until(rows, seconds=20, what="les messages envoyés")


async def test_counts_for_each_list_of_recipients(client):
    w = await world()
    await login(client, "ada@example.org")
    page = await client.get(url(w["a"]))
    assert page.status_code == 200
    assert "4 destinataires" in page.text  # all members: Ada, Bea, Cid, Dom
    expected = {
        "all": "4 destinataires",
        f"catalog:{w['catalog']}": "1 destinataire<",  # Bea: Cid's ended, Dom's stopped
        f"distribution:{w['distribution']}": "1 destinataire<",  # Cid; Dom's is a draft
        "waiting": "1 destinataire<",  # Eve; a refused request is not the waiting list
        "admins": "1 destinataire<",
        "catalog:999999": "Choix de destinataires inconnu",
        "n-importe-quoi": "Choix de destinataires inconnu",
    }
    for choice, text in expected.items():
        response = await client.get(
            url(w["a"], "/destinataires"),
            params={"recipients": choice},
            headers={"HX-Request": "true"},
        )
        assert response.status_code == 200
        assert "<html" not in response.text
        assert text in response.text, (choice, response.text)
        assert "HX-Request" in response.headers["vary"]
    # Every list appears in the form.
    for value in expected:
        if ":" in value and not value.startswith("catalog:9"):
            assert f'value="{value}"' in page.text
    assert 'value="waiting"' in page.text and 'value="admins"' in page.text


async def test_send_to_all_members_with_reply_to_the_author(client, mailbox):
    w = await world()
    await login(client, "ada@example.org")
    response = await send(
        client,
        w["a"],
        {
            "recipients": "all",
            "subject": "Distribution  de  jeudi",
            "body": "Bonjour à tous,\n\n**Apportez vos sacs** : https://exemple.org/a?b=1&c=2.\n"
            "Merci <script>alert(1)</script>",
        },
    )
    assert response.status_code == 303
    [message] = await GroupMessage.select().where(GroupMessage.group == w["a"]["id"])
    assert message["subject"] == "Distribution de jeudi"
    assert message["recipient_count"] == 4
    rows = await OutboxMail.select().where(OutboxMail.message == message["id"])
    assert sorted(r["key"] for r in rows) == sorted(
        f"message:{message['id']}:{w['ids'][n]}" for n in ("ada", "bea", "cid", "dom")
    )
    assert {r["reply_to"] for r in rows} == {"ada@example.org"}
    assert {r["kind"] for r in rows} == {"message"}

    for name in ("ada", "bea", "cid", "dom"):
        [mail] = await mailbox.wait_for(f"{name}@example.org", subject="Distribution de jeudi")
    assert mail["Subject"] == "[AMAP des Alouettes] Distribution de jeudi"
    assert mail["Reply-To"] == "ada@example.org"
    assert mail["List-Unsubscribe"] is None  # members leave the group instead
    html = html_of(mail)
    assert "<strong>Apportez vos sacs</strong>" in html
    assert (
        '<a href="https://exemple.org/a?b=1&amp;c=2">https://exemple.org/a?b=1&amp;c=2</a>.' in html
    )
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Merci <script>alert(1)</script>" in text_of(mail)
    assert "quittez ce groupe" in text_of(mail)
    assert mailbox.to("eve@example.org") == mailbox.to("bmember@example.org") == []

    await wait_sent(message["id"], 4)
    page = await client.get(url(w["a"]))
    assert "Message envoyé à 4 destinataires." in page.text
    assert "Distribution de jeudi" in page.text and "Ada Test" in page.text
    assert "Envoyés : 4" in page.text and "En file : 0" in page.text
    assert "&lt;script&gt;" in page.text and "<script>alert" not in page.text


async def test_attachment_up_to_the_limit_goes_with_every_mail(client, mailbox):
    w = await world()
    await login(client, "ada@example.org")
    content = b"%PDF-1.4 contrat " + b"x" * 1000
    response = await send(
        client,
        w["a"],
        {"recipients": f"catalog:{w['catalog']}", "subject": "Contrat", "body": "Ci-joint."},
        files={"attachment": ("../Contrat été.pdf", content, "application/pdf")},
    )
    assert response.status_code == 303
    [mail] = await mailbox.wait_for("bea@example.org", subject="Contrat")
    [part] = list(mail.iter_attachments())
    assert part.get_filename() == "Contrat été.pdf"
    assert part.get_content() == content
    assert mailbox.to("cid@example.org") == []

    too_big = b"x" * (messaging.MAX_ATTACHMENT + 1)
    response = await send(
        client,
        w["a"],
        {"recipients": "all", "subject": "Trop gros", "body": "Voir pièce jointe."},
        files={"attachment": ("gros.pdf", too_big, "application/pdf")},
    )
    assert response.status_code == 422
    assert "La pièce jointe ne doit pas dépasser 2 Mo" in response.text
    assert 'value="Trop gros"' in response.text  # the form keeps what was typed
    assert await GroupMessage.count() == 1


async def test_waiting_list_and_admins_lists(client, mailbox):
    w = await world()
    await login(client, "ada@example.org")
    await send(client, w["a"], {"recipients": "waiting", "subject": "Liste", "body": "Patience"})
    [mail] = await mailbox.wait_for("eve@example.org", subject="Liste")
    assert "liste d'attente de AMAP des Alouettes" in text_of(mail)
    await send(client, w["a"], {"recipients": "admins", "subject": "Admins", "body": "Réunion"})
    await mailbox.wait_for("ada@example.org", subject="Admins")
    # Each message went to its list only: Eve, then Ada; none to Bea or to B's member.
    assert await messages_sent() == ["ada@example.org", "eve@example.org"]
    assert mailbox.to("bmember@example.org") == [] and mailbox.to("bea@example.org") == []


async def test_bad_input_is_refused_at_the_fields_and_nothing_is_sent(client):
    w = await world()
    await login(client, "ada@example.org")
    response = await send(client, w["a"], {"recipients": "all", "subject": " ", "body": ""})
    assert response.status_code == 422
    assert "Indiquez l&#39;objet du message." in response.text
    assert "Écrivez le message." in response.text
    assert 'id="e-subject"' in response.text and 'aria-invalid="true"' in response.text
    response = await send(client, w["a"], {"recipients": "x" * 50, "subject": "a", "body": "b"})
    assert "Choisissez les destinataires dans la liste." in response.text
    # A list with nobody in it.
    empty = await Catalog.insert(
        Catalog(group=w["a"]["id"], vendor=(await Vendor.select().first())["id"], name="Vide")
    ).returning(Catalog.id)
    response = await send(
        client, w["a"], {"recipients": f"catalog:{empty[0]['id']}", "subject": "a", "body": "b"}
    )
    assert "Personne ne correspond à ce choix de destinataires." in response.text
    assert await GroupMessage.count() == 0
    assert await OutboxMail.count().where(OutboxMail.kind == "message") == 0


async def test_preview_shows_the_message_and_sends_nothing(client):
    w = await world()
    await login(client, "ada@example.org")
    await client.get(url(w["a"]))
    fields = {"recipients": "all", "subject": "Essai", "body": "Ligne 1\nLigne **2**"}
    response = await post_form(client, url(w["a"], "/apercu"), fields, files=EMPTY_FILE, htmx=True)
    assert response.status_code == 200 and "<html" not in response.text
    assert "Aperçu : 4 destinataires (tous les membres)" in response.text
    assert "[AMAP des Alouettes] Essai" in response.text
    assert "<p>Ligne 1<br>\nLigne <strong>2</strong></p>" in response.text
    # Errors of a preview come back at their fields (out of band).
    response = await post_form(
        client,
        url(w["a"], "/apercu"),
        {"recipients": "all", "subject": "", "body": "x"},
        files=EMPTY_FILE,
        htmx=True,
    )
    assert response.status_code == 422
    assert '<div id="err-subject" hx-swap-oob="true"><p class="error" id="e-subject">' in (
        response.text
    )
    # Without JavaScript: the whole page with the preview under the form.
    response = await post_form(client, url(w["a"], "/apercu"), fields, files=EMPTY_FILE)
    assert "<html" in response.text and "Aperçu : 4 destinataires" in response.text
    assert 'value="Essai"' in response.text
    assert (
        await GroupMessage.count() == 0
        and await OutboxMail.count().where(OutboxMail.kind == "message") == 0
    )


async def test_a_double_click_sends_one_message(client):
    w = await world()
    await login(client, "ada@example.org")
    page = await client.get(url(w["a"]))
    key = page.text.split('name="form_key" value="', 1)[1].split('"', 1)[0]
    fields = {"form_key": key, "recipients": "admins", "subject": "Une fois", "body": "x"}
    for _ in range(2):
        response = await post_form(
            client, url(w["a"]), fields, files=EMPTY_FILE, follow_redirects=False
        )
        assert response.status_code == 303
    assert await GroupMessage.count() == 1


async def test_a_member_with_the_messaging_right_may_send(client, mailbox):
    w = await world()
    await Membership.update({Membership.can_messages: True}).where(
        Membership.user == w["ids"]["bea"]
    )
    await login(client, "bea@example.org")
    response = await send(client, w["a"], {"recipients": "admins", "subject": "Q", "body": "?"})
    assert response.status_code == 303
    [mail] = await mailbox.wait_for("ada@example.org", subject="Q")
    assert mail["Reply-To"] == "bea@example.org"
    await login(client, "cid@example.org")  # a plain member
    assert (await client.get(url(w["a"]))).status_code == 403


async def test_admin_of_b_cannot_see_or_send_messages_of_a(client, mailbox):
    w = await world()
    await login(client, "ada@example.org")
    await send(client, w["a"], {"recipients": "all", "subject": "Secret de A", "body": "Chut"})
    await login(client, "bob@example.org")

    page = await client.get(url(w["a"]))
    assert page.status_code == 403 and "Secret de A" not in page.text
    response = await client.get(
        url(w["a"], "/destinataires"), params={"recipients": "all"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 403
    await client.get(url(w["b"]))
    for tail in ("", "/apercu"):
        response = await post_form(
            client,
            url(w["a"], tail),
            {"recipients": "all", "subject": "Pris par B", "body": "x"},
            files=EMPTY_FILE,
        )
        assert response.status_code == 403
        assert "AMAP des Alouettes" not in response.text
    # From B's own messagerie, A's lists name no one.
    page = await client.get(url(w["b"]))
    assert "Secret de A" not in page.text and "Légumes" not in page.text
    for choice in (f"catalog:{w['catalog']}", f"distribution:{w['distribution']}"):
        response = await send(client, w["b"], {"recipients": choice, "subject": "x", "body": "y"})
        assert response.status_code == 422
        assert "Choisissez les destinataires dans la liste." in response.text
        counted = await client.get(
            url(w["b"], "/destinataires"),
            params={"recipients": choice},
            headers={"HX-Request": "true"},
        )
        assert "Choix de destinataires inconnu" in counted.text
    assert await GroupMessage.count().where(GroupMessage.group == w["b"]["id"]) == 0
    # The only mails are those of A's own message, to A's four members.
    assert await messages_sent() == [f"{n}@example.org" for n in ("ada", "bea", "cid", "dom")]
    for name in ("ada", "bea", "cid", "dom"):
        assert mailbox.to(f"{name}@example.org", "Pris par B") == []
        assert mailbox.to(f"{name}@example.org", "[Marché des Bleuets]") == []


async def test_history_shows_delivery_states_and_its_queries_do_not_grow(client):
    w = await world()
    author = w["ids"]["ada"]

    async def add_messages(n: int) -> None:
        for i in range(n):
            rows = await GroupMessage.insert(
                GroupMessage(
                    group=w["a"]["id"],
                    author=author,
                    subject=f"Ancien {i}",
                    body="Texte",
                    recipients="all",
                    recipients_label="tous les membres",
                    recipient_count=3,
                )
            ).returning(GroupMessage.id)
            for j, state in enumerate(("sent", "bounced", "pending")):
                await OutboxMail.insert(
                    OutboxMail(
                        key=f"message:{rows[0]['id']}:{j}",
                        kind="message",
                        to_addr=f"p{j}@example.org",
                        subject="s",
                        body_text="t",
                        body_html="h",
                        state=state,
                        message=rows[0]["id"],
                    )
                )

    await login(client, "ada@example.org")
    counts = {}
    for n in (1, 15):
        await add_messages(n if n == 1 else n - 1)
        measured = []
        for _ in range(2):  # the fewest of two: the worker thread's queries count too
            with QueryCounter() as counter:
                page = await client.get(url(w["a"]))
            measured.append(counter.count)
            assert page.status_code == 200
        counts[n] = min(measured)
    assert counts[1] == counts[15], counts
    assert "Envoyés : 1 · Échecs : 0 · Refusés : 1" in page.text
    assert "En file : 1" in page.text
    assert page.text.count("<article") == 15
