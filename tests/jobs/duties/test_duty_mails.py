"""The permanences' mails: each due in its window, sent once (twice, three times at once,
two scheduler processes), each turned off in Mes communications, never stale.

Most tests build their world around a moment a month ago and ask "what is due at T?"
(time passed in, no sleep); those that deliver for real use a distribution in the coming
days (a notification is dropped once its distribution has started)."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta

from domain import communications, outbox
from domain.demo import world as build
from domain.duties import mails, signups
from domain.outbox import rendering
from domain.tables import Membership, OutboxMail
from jobs import mail as mail_jobs
from jobs import scheduler
from tests.helpers import MAIL_CONTEXT, make_user
from tests.jobs.test_scheduler import run_scheduler_once
from tests.stack import text_of

H = timedelta(hours=1)
DAY = timedelta(days=1)
A_MONTH_AGO = datetime.now(UTC).replace(microsecond=0) - timedelta(days=30)


async def duty_world(start: datetime, *, open_days: int | None = None) -> dict:
    """An AMAP with one distribution at `start`, « Accueil » (two places, held by ana) and
    the catalog's « Distribution des légumes » (one place, empty); bob, cy (who turned
    the openings off) and the admin hold nothing."""
    admin = await make_user("admin@example.org", "Adèle", "Admin")
    group = await build.group(admin, "AMAP des Tilleuls")
    gid = group["id"]
    place = await build.place(gid, "Halle aux grains", "1 rue du Marché")
    dist = await build.distribution(gid, place, start)
    catalog = await build.catalog(
        gid, await build.producer(gid, "Ferme des Saules"), delivers=[dist]
    )
    people = {"admin": admin}
    for first, last in (("Ana", "Martin"), ("Bob", "Petit"), ("Cy", "Durand")):
        people[first.lower()] = await make_user(f"{first.lower()}@example.org", first, last)
    await build.join(gid, [people[n] for n in ("ana", "bob", "cy")])
    await communications.unsubscribe(people["cy"], "duties_open")
    welcome = await build.duty_role(gid, "Accueil", 2, instructions="Arriver à 18 h 30.")
    vegetables = await build.duty_role(
        gid, "Distribution des légumes", 1, catalog=catalog, position=1
    )
    await build.duty_settings(
        gid, open_days=open_days or 60, instructions="Les clés sont chez Paul."
    )
    await build.volunteers(welcome, dist, [people["ana"]])
    return {
        "group": group,
        "gid": gid,
        "place": place,
        "distribution": dist,
        "catalog": catalog,
        "people": people,
        "welcome": welcome,
        "vegetables": vegetables,
        "start": start,
    }


def contexts(settings):
    return scheduler.contexts(settings)


async def keys(kind: str) -> list[str]:
    rows = await OutboxMail.select(OutboxMail.key).where(OutboxMail.kind == kind)
    return sorted(row["key"] for row in rows)


def key(kind: str, world: dict, person: str, dist: int | None = None) -> str:
    return f"{kind}:{world['people'][person]}:{dist or world['distribution']}"


async def row_of(mail_key: str) -> dict:
    return await OutboxMail.select().where(OutboxMail.key == mail_key).first()


async def test_openings_go_once_when_sign_ups_open_to_members_without_a_role(settings):
    world = await duty_world(A_MONTH_AGO)
    start, ctx = world["start"], contexts(settings)

    assert await mails.queue_due(ctx, start - 60 * DAY - H) == []
    ids = await mails.queue_due(ctx, start - 60 * DAY)
    # bob and the admin: ana holds a role already, cy turned these mails off.
    assert await keys("duties_open") == sorted(
        key("duties_open", world, p) for p in ("admin", "bob")
    )
    assert len(ids) == 2
    assert await mails.queue_due(ctx, start - 60 * DAY + timedelta(minutes=1)) == []

    row = await row_of(key("duties_open", world, "bob"))
    assert row["subject"].startswith("Permanences : inscriptions ouvertes pour la distribution du ")
    assert row["user"] == world["people"]["bob"]
    text = row["body_text"]
    assert "Accueil : 1 place libre sur 2" in text
    assert "Distribution des légumes : 1 place libre sur 1" in text
    assert f"/g/{world['group']['slug']}/permanences#d{world['distribution']}" in text
    assert rendering.UNSUBSCRIBE_MARK in text and rendering.UNSUBSCRIBE_MARK in row["body_html"]

    # A member joining while it is news hears of it; later, no stale opening.
    dan = await make_user("dan@example.org", "Dan")
    await Membership.insert(Membership(user=dan, group=world["gid"]))
    await mails.queue_due(ctx, start - 59 * DAY)
    assert f"duties_open:{dan}:{world['distribution']}" in await keys("duties_open")
    eve = await make_user("eve@example.org", "Eve")
    await Membership.insert(Membership(user=eve, group=world["gid"]))
    assert await mails.queue_due(ctx, start - 50 * DAY) == []


async def test_openings_follow_the_groups_days_ahead_and_need_a_free_place(settings):
    world = await duty_world(A_MONTH_AGO, open_days=10)
    start, ctx = world["start"], contexts(settings)
    assert await mails.queue_due(ctx, start - 60 * DAY) == []
    # Every place taken before sign-ups open (the admins assigned them): nothing to say.
    await build.volunteers(world["vegetables"], world["distribution"], [world["people"]["bob"]])
    await signups.assign(
        world["gid"],
        world["distribution"],
        world["welcome"],
        world["people"]["admin"],
        world["people"]["admin"],
        moment=start - 20 * DAY,
    )
    assert await mails.queue_due(ctx, start - 10 * DAY) == []
    assert await keys("duties_open") == []


async def test_instructions_four_days_before_to_each_volunteer(settings):
    world = await duty_world(A_MONTH_AGO)
    start, ctx = world["start"], contexts(settings)
    await build.volunteers(world["vegetables"], world["distribution"], [world["people"]["cy"]])

    await mails.queue_due(ctx, start - 4 * DAY - H)  # the admins' alert is due, not these
    assert await keys("duty_instructions") == []
    await mails.queue_due(ctx, start - 4 * DAY)
    assert await keys("duty_instructions") == sorted(
        key("duty_instructions", world, p) for p in ("ana", "cy")
    )
    row = await row_of(key("duty_instructions", world, "ana"))
    assert row["subject"].startswith("Votre permanence « Accueil » du ")
    text = row["body_text"]
    assert "Votre rôle : Accueil" in text
    assert "Consignes du rôle « Accueil » :\nArriver à 18 h 30." in text
    assert "Consignes pour tous les bénévoles :\nLes clés sont chez Paul." in text
    assert "- Accueil : Ana M." in text and "- Distribution des légumes : Cy D." in text
    assert "Halle aux grains, 1 rue du Marché" in text
    _, conditions = outbox.decode_headers(row["headers"])
    assert conditions == {
        "expires_at": start,
        "distribution": world["distribution"],
        "starts_at": start,
        "volunteer": world["people"]["ana"],
    }

    # Who signs up later gets theirs at the next run; nobody gets a second one.
    bob = world["people"]["bob"]
    await signups.sign_up(
        world["gid"], world["distribution"], world["welcome"], bob, moment=start - 2 * DAY
    )
    await mails.queue_due(ctx, start - 2 * DAY)
    assert await keys("duty_instructions") == sorted(
        key("duty_instructions", world, p) for p in ("ana", "bob", "cy")
    )
    assert await mails.queue_due(ctx, start - DAY) == []
    assert await mails.queue_due(ctx, start) == []


async def test_the_admins_are_alerted_seven_days_before_while_places_are_empty(settings):
    world = await duty_world(A_MONTH_AGO)
    start, ctx = world["start"], contexts(settings)
    await mails.queue_due(ctx, start - 7 * DAY - H)
    assert await keys("duties_empty") == []
    await mails.queue_due(ctx, start - 7 * DAY)
    assert await keys("duties_empty") == [key("duties_empty", world, "admin")]  # admins only
    row = await row_of(key("duties_empty", world, "admin"))
    assert row["subject"].startswith("Permanences à pourvoir : distribution du ")
    assert "des permanences ne sont pas pourvues : 2 places libres." in row["body_text"]
    assert "- Accueil : 1 place libre sur 2" in row["body_text"]
    assert f"/permanences/{world['distribution']}" in row["body_text"]
    assert await mails.queue_due(ctx, start - 6 * DAY) == []

    # Another distribution, every place taken: no alert. A third one seen too late
    # (48 hours before): none either.
    full = await build.distribution(world["gid"], world["place"], start + 7 * DAY)
    await build.volunteers(world["welcome"], full, [world["people"]["ana"], world["people"]["bob"]])
    late = await build.distribution(world["gid"], world["place"], start + 14 * DAY)
    await mails.queue_due(ctx, start)
    await mails.queue_due(ctx, start + 14 * DAY - 47 * H)
    assert await keys("duties_empty") == [key("duties_empty", world, "admin")]
    assert late


async def test_leaving_late_tells_the_admins_once(settings):
    world = await duty_world(A_MONTH_AGO)
    start = world["start"]
    second_admin = await make_user("second@example.org", "Sam", "Second")
    await build.join(world["gid"], second_admin, is_admin=True)
    await communications.unsubscribe(second_admin, "duty_left")
    ana = world["people"]["ana"]

    # 49 hours before: nobody told.
    assert (
        await signups.leave(
            world["gid"],
            world["distribution"],
            world["welcome"],
            ana,
            MAIL_CONTEXT,
            moment=start - 49 * H,
        )
        == []
    )
    await build.volunteers(world["welcome"], world["distribution"], [ana])
    ids = await signups.leave(
        world["gid"],
        world["distribution"],
        world["welcome"],
        ana,
        MAIL_CONTEXT,
        moment=start - 47 * H,
    )
    assert len(ids) == 1  # the first admin; the second turned these off
    row = await OutboxMail.select().where(OutboxMail.id == ids[0]).first()
    assert row["kind"] == "duty_left" and row["to_addr"] == "admin@example.org"
    assert row["subject"].startswith("Désistement : Ana Martin ne sera pas « Accueil » le ")
    assert "Ana Martin a quitté le rôle « Accueil »" in row["body_text"]
    assert "Places libres pour ce rôle : 2." in row["body_text"]
    # Leaving again (nothing held): nothing more.
    assert (
        await signups.leave(
            world["gid"],
            world["distribution"],
            world["welcome"],
            ana,
            MAIL_CONTEXT,
            moment=start - 46 * H,
        )
        == []
    )
    assert await OutboxMail.count().where(OutboxMail.kind == "duty_left") == 1


async def test_three_runs_at_once_queue_each_mail_once(settings):
    world = await duty_world(A_MONTH_AGO, open_days=4)
    ctx, moment = contexts(settings), world["start"] - 4 * DAY
    results = await asyncio.gather(*(mails.queue_due(ctx, moment) for _ in range(3)))
    all_ids = [i for ids in results for i in ids]
    # bob's and the admin's opening, ana's instructions, the admin's alert.
    assert len(all_ids) == len(set(all_ids)) == 4
    assert (
        await OutboxMail.count() - await OutboxMail.count().where(OutboxMail.kind == "welcome") == 4
    )


async def test_each_mail_goes_with_its_unsubscribe_and_a_leaver_gets_no_instructions(
    use_settings, mailbox, settings
):
    now = datetime.now(UTC).replace(microsecond=0)
    world = await duty_world(now + 3 * DAY, open_days=3)
    ctx = contexts(settings)
    await build.volunteers(world["vegetables"], world["distribution"], [world["people"]["bob"]])
    ids = await mails.queue_due(ctx, now + timedelta(minutes=1))
    kinds = {
        r["kind"]: r["id"]
        for r in await OutboxMail.select(OutboxMail.kind, OutboxMail.id, OutboxMail.key).where(
            OutboxMail.id.is_in(ids)
        )
        if r["key"].split(":")[1] in (str(world["people"]["ana"]), str(world["people"]["admin"]))
    }
    assert set(kinds) == {"duties_open", "duty_instructions", "duties_empty"}
    for kind, mail_id in kinds.items():
        assert await mail_jobs.deliver(mail_id) == "sent", kind
    [instructions] = mailbox.to("ana@example.org", "Votre permanence")
    assert "Arriver à 18 h 30." in text_of(instructions)
    assert instructions["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/desabonnement/" in instructions["List-Unsubscribe"]
    [alert] = mailbox.to("admin@example.org", "Permanences à pourvoir")
    assert alert["List-Unsubscribe"]
    [opening] = mailbox.to("admin@example.org", "inscriptions ouvertes")
    assert "M'inscrire" in opening.get_body(preferencelist=("html",)).get_content()

    # bob leaves before his instructions went: they are dropped, not sent.
    [bobs] = [
        r["id"]
        for r in await OutboxMail.select(OutboxMail.id).where(
            OutboxMail.key == key("duty_instructions", world, "bob")
        )
    ]
    await signups.leave(
        world["gid"],
        world["distribution"],
        world["vegetables"],
        world["people"]["bob"],
        MAIL_CONTEXT,
    )
    assert await mail_jobs.deliver(bobs) == "dropped"
    row = await OutboxMail.select().where(OutboxMail.id == bobs).first()
    assert row["last_error"] == "le bénévole a quitté son rôle"
    assert mailbox.to("bob@example.org", "Votre permanence") == []


async def test_two_scheduler_processes_at_once_send_each_duty_mail_once(redis_url, smtp_server):
    now = datetime.now(UTC).replace(microsecond=0)
    world = await duty_world(now + 3 * DAY, open_days=3)
    env = {**os.environ, "REDIS_URL": redis_url, "SMTP_URL": smtp_server.url}
    for _ in range(2):  # twice in a row, each time two processes at once
        processes = [run_scheduler_once(env) for _ in range(2)]
        outputs = [p.communicate(timeout=60)[0].decode(errors="replace") for p in processes]
        assert [p.returncode for p in processes] == [0, 0], outputs
    assert await keys("duties_open") == sorted(
        key("duties_open", world, p) for p in ("admin", "bob")
    )
    assert await keys("duty_instructions") == [key("duty_instructions", world, "ana")]
    assert await keys("duties_empty") == [key("duties_empty", world, "admin")]
