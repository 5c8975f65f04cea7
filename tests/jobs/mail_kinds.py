"""One mail of every kind the platform sends, made by the domain functions that send them
in the app (sign-up, joining, messaging, ordering, notifications…), so that each goes
through the real outbox row, the sending job and the mailer.

`every_kind(ctx, amap, sender)` (the two instances' MailContext, the main one's sender)
returns {label: outbox id}; the labels name the kind and, where one kind has variants (a
group message with an attachment, the author's own copy), the variant. The settings the
sending job reads come from the test (realistic host names).
"""

from __future__ import annotations

import re
from datetime import timedelta

from domain import accounts, communications, distributions, messaging, notifications
from domain.demo import world
from domain.kernel import clock
from domain.kernel.dates import PARIS
from domain.members import invitations, joining
from domain.ordering import recap
from domain.outbox import MailContext
from domain.tables import JoinRequest, OutboxMail

H = timedelta(hours=1)
CSV = "Produit;Quantité\r\nPoireaux;2\r\nŒufs;6\r\n".encode()


def _ids(found: list[int | None]) -> int:
    [mail_id] = [m for m in found if m]
    return mail_id


async def _link(mail_id: int, path: str) -> str:
    row = await OutboxMail.select(OutboxMail.body_text).where(OutboxMail.id == mail_id).first()
    match = re.search(rf"{re.escape(path)}([A-Za-z0-9_\-]+)", row["body_text"])
    assert match, row["body_text"]
    return match.group(1)


async def every_kind(ctx: MailContext, amap: MailContext, sender: str) -> dict[str, int]:
    mails: dict[str, int] = {}
    now = clock.now()

    # Accounts: sign-up, password reset, e-mail change and its notice to the old address.
    claire, signup = await accounts.sign_up(
        email="claire.martin@example.net",
        password=world.PASSWORD,
        first_name="Claire",
        last_name="Martin",
        ctx=ctx,
    )
    mails["welcome"] = _ids(signup)
    mails["password_reset"] = _ids(
        await accounts.request_password_reset("claire.martin@example.net", ctx)
    )
    zoe = await world.person("zoe.lefevre@example.net", "Zoé", "Lefèvre")
    change = _ids(
        await accounts.request_email_change(zoe, "zoe.l@example.com", world.PASSWORD, ctx)
    )
    mails["email_change"] = change
    raw = await _link(change, "/compte/email/")
    _, changed = await accounts.confirm_email_change(raw, ctx, "contact@circuit-court.example.org")
    mails["email_changed"] = _ids(changed)

    # A market with a waiting list: a request, accepted; another, refused.
    market = await world.group(claire, "Marché de la Gare", "market", registration="waiting_list")
    paul = await world.person("paul.bernard@example.net", "Paul", "Bernard")
    request = await joining.ask_to_join(
        paul, market["id"], "Bonjour, j'habite à côté de la gare et je voudrais commander.", ctx
    )
    mails["join_request"] = _ids(request)
    asked = await JoinRequest.select(JoinRequest.id).where(JoinRequest.user == paul).first()
    mails["join_accepted"] = _ids(
        await joining.accept_request(market["id"], asked["id"], claire, ctx)
    )
    lea = await world.person("lea.dubois@example.net", "Léa", "Dubois")
    await joining.ask_to_join(lea, market["id"], "", ctx)
    asked = await JoinRequest.select(JoinRequest.id).where(JoinRequest.user == lea).first()
    mails["join_refused"] = _ids(
        await joining.refuse_request(
            market["id"], asked["id"], claire, "Le marché est complet pour cette saison.", ctx
        )
    )

    # An open AMAP (on the AMAP instance): joining, an admin adding people.
    tilleuls = await world.group(
        claire, "AMAP des Tilleuls", "amap", instance=amap.instance, slug="amap-des-tilleuls"
    )
    mails["group_welcome"] = _ids(await joining.join_open_group(zoe, tilleuls["id"], amap))
    await world.person("ahmed.benali@example.net", "Ahmed", "Benali")  # an account already
    added = await invitations.add_client(
        tilleuls["id"],
        by_user_id=claire,
        email="ahmed.benali@example.net",
        ctx=amap,
        secret="test-secret-key-0123456789abcdef",
    )
    mails["group_welcome (ajouté par un admin)"] = _ids(added.mail_ids)
    added = await invitations.add_client(
        tilleuls["id"],
        by_user_id=claire,
        email="nina.roux@example.net",
        first_name="Nina",
        last_name="Roux",
        ctx=amap,
        secret="test-secret-key-0123456789abcdef",
    )
    mails["invitation"] = _ids(added.mail_ids)
    await world.person("marc.petit@example.net", "Marc", "", password=None)
    mails["finish_signup"] = _ids(
        (await invitations.invite_pending_account("marc.petit@example.net", "/g/x", ctx)).mail_ids
    )

    # Distributions of the AMAP: orders, reminders, a recap, a move, a cancellation.
    halle = await world.place(tilleuls["id"], "Halle des Tilleuls", "2 place du Marché, Rennes")
    vendor = await world.producer(tilleuls["id"], "Ferme des Saules")
    soon = await world.distribution(
        tilleuls["id"], halle, now + 20 * H, opens_at=now - 48 * H, closes_at=now + 10 * H
    )
    today = await world.distribution(
        tilleuls["id"], halle, now + 3 * H, opens_at=now - 72 * H, closes_at=now - 1 * H
    )
    later = await world.distribution(tilleuls["id"], halle, now + 200 * H)
    gone = await world.distribution(tilleuls["id"], halle, now + 250 * H)
    catalog = await world.catalog(
        tilleuls["id"], vendor, "Légumes de saison", **world.season(), delivers=[soon, today]
    )
    await world.deliver(catalog, [later, gone])
    leeks = await world.product(catalog, "Poireaux", 250, unit="kg")
    eggs = await world.product(catalog, "Œufs fermiers (boîte de 6)", 320)
    for dist in (soon, today, later, gone):
        order = await world.order(zoe, dist, {leeks: 2, eggs: 1})
    dist = await distributions.distribution(tilleuls["id"], soon)
    recap_ids = await recap.queue_recap(order, zoe, dist, amap)
    await OutboxMail.update({OutboxMail.send_after: now - H}).where(OutboxMail.id.is_in(recap_ids))
    mails["order_recap"] = _ids(recap_ids)
    await world.join(tilleuls["id"], [lea])
    due = await notifications.queue_due({amap.instance: amap, ctx.instance: ctx}, now)
    rows = await OutboxMail.select(OutboxMail.id, OutboxMail.kind).where(OutboxMail.id.is_in(due))
    for kind in ("orders_open", "reminder_24h", "reminder_4h"):
        mails[kind] = next(row["id"] for row in rows if row["kind"] == kind)
    day = (now + 230 * H).astimezone(PARIS).date()
    form = distributions.DistributionForm(
        group_id=tilleuls["id"],
        place_id=str(halle),
        day=day.isoformat(),
        start="18:00",
        end="19:30",
    )
    mails["distribution_moved"] = _ids(
        await distributions.move_distribution(tilleuls["id"], later, form, amap)
    )
    mails["distribution_cancelled"] = _ids(
        await distributions.cancel_distribution(tilleuls["id"], gone, amap)
    )

    # Messagerie: a message to every member, one with an attachment; the author is a
    # member, so the message reaches them too.
    author = await accounts.get_user(claire)
    draft = messaging.Draft(
        subject="Distribution de jeudi : apportez vos sacs",
        body="Bonjour à toutes et à tous,\n\nJeudi, pensez à vos sacs et à vos boîtes "
        "d'œufs vides.\nLe programme est sur https://amap.example.org/g/amap-des-tilleuls\n\n"
        "Merci et à jeudi !\nClaire",
        recipients="all",
    )
    message_id, _ = await messaging.send(tilleuls, author, draft, amap)
    rows = await OutboxMail.select(OutboxMail.id, OutboxMail.to_addr).where(
        OutboxMail.message == message_id
    )
    mails["message"] = next(r["id"] for r in rows if r["to_addr"] != author["email"])
    mails["message (copie de l'auteur)"] = next(
        r["id"] for r in rows if r["to_addr"] == author["email"]
    )
    draft = messaging.Draft(
        subject="Bon de commande de décembre",
        body="Bonjour,\n\nVoici le bon de commande de décembre en pièce jointe.\n\nClaire",
        recipients=f"distribution:{soon}",
        attachment_name="bon-de-commande.csv",
        attachment=CSV,
    )
    message_id, _ = await messaging.send(tilleuls, author, draft, amap)
    [row] = await OutboxMail.select(OutboxMail.id).where(OutboxMail.message == message_id)
    mails["message (pièce jointe)"] = row["id"]

    # The test mail.
    user = await accounts.get_user(claire)
    mails["test"] = await communications.queue_test_mail(
        user, ctx, sender, signed_for=sender.rpartition("@")[2]
    )
    return mails
