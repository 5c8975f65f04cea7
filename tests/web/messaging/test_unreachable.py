"""MESSAGERIE says how many of the chosen members a message will not reach by mail: the
accounts made in Mode création that nobody took over (the outbox drops their mails), and
the addresses whose server refused the last mail; in French, singular and plural."""

from __future__ import annotations

import html

from domain import outbox
from domain.demo import world as build
from domain.tables import OutboxMail, User
from tests.helpers import login, make_group, make_user, post_form

EMPTY_FILE = {"attachment": ("", b"", "application/octet-stream")}


def shown(response) -> str:
    return html.unescape(response.text)


async def count_text(client, group: dict, recipients: str = "all") -> str:
    answer = await client.get(
        f"/g/{group['slug']}/messagerie/destinataires",
        params={"recipients": recipients},
        headers={"HX-Request": "true"},
    )
    return shown(answer)


async def bounce(user_id: int, email: str, key: str) -> None:
    [mail_id] = await outbox.queue_many(
        [
            outbox.NewMail(
                key=key, kind="message", to=email, subject="s", text="t", html="h", user=user_id
            )
        ]
    )
    await OutboxMail.update({OutboxMail.state: "bounced"}).where(OutboxMail.id == mail_id)


async def test_the_count_says_who_will_not_get_the_message_by_mail(client):
    admin = await make_user("admin@example.org", "Adèle", "Admin")
    group = await make_group(admin, "AMAP des Lilas")
    members = [await make_user(f"m{n}@example.org", "M", str(n)) for n in range(3)]
    await build.join(group["id"], members)
    await login(client, "admin@example.org")
    assert "4 destinataires</p>" in await count_text(client, group)

    await build.created_account(group["id"], admin, "jeanne@invente.example")
    text = await count_text(client, group)
    assert (
        "5 destinataires, dont 1 ne recevra pas ce message par e-mail (1 compte créé en Mode "
        "création, pas encore repris par la personne) : pensez à prévenir cette personne "
        "autrement." in text
    )

    await build.created_account(group["id"], admin, "paul@invente.example", "Paul", "Papier")
    await bounce(members[0], "m0@example.org", "message:old:1")
    # A refusal followed by a delivery is not one any more; an older address's neither.
    await bounce(members[1], "m1@example.org", "message:old:2")
    await bounce(members[1], "m1@example.org", "message:new:2")
    await OutboxMail.update({OutboxMail.state: "sent"}).where(OutboxMail.key == "message:new:2")
    await bounce(members[2], "ancienne@example.org", "message:old:3")
    text = await count_text(client, group)
    assert (
        "6 destinataires, dont 3 ne recevront pas ce message par e-mail (2 comptes créés en "
        "Mode création, pas encore repris par les personnes ; 1 adresse refusée par son "
        "serveur au dernier envoi) : pensez à les prévenir autrement." in text
    )
    # The admins alone: everyone reachable.
    assert "1 destinataire</p>" in await count_text(client, group, "admins")

    page = await client.get(f"/g/{group['slug']}/messagerie")
    key = page.text.split('name="form_key" value="', 1)[1].split('"', 1)[0]
    fields = {"form_key": key, "subject": "Samedi", "body": "Bonjour.", "recipients": "all"}
    preview = await post_form(
        client, f"/g/{group['slug']}/messagerie/apercu", fields, files=EMPTY_FILE, htmx=True
    )
    assert (
        "Aperçu : 6 destinataires (tous les membres), dont 3 ne recevront pas ce message par "
        "e-mail" in shown(preview)
    )
    sent = await post_form(client, f"/g/{group['slug']}/messagerie", fields, files=EMPTY_FILE)
    assert (
        "Message envoyé à 6 destinataires. 3 ne le recevront pas par e-mail (2 comptes créés "
        "en Mode création, pas encore repris par les personnes ; 1 adresse refusée par son "
        "serveur au dernier envoi)." in shown(sent)
    )
    held = await User.select(User.id).where(User.takeover_pending == True)  # noqa: E712
    assert len(held) == 2
