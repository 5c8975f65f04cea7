"""An account made in Mode création receives no mail of any kind until the person takes it
over: the outbox claim drops every row to it (by its account or by its address), whatever
queued it, through the real outbox, mail job and SMTP server."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain import outbox
from domain.demo import world as build
from domain.outbox import kinds
from domain.tables import OutboxMail, User
from jobs import mail as mail_jobs

HELD = "jeanne.papier@invente.example"


async def held_account() -> int:
    admin = await build.person("admin@example.org", "Adèle", "Admin")
    group = await build.group(admin, "AMAP des Lilas")
    return await build.created_account(group["id"], admin, HELD)


def mail(kind: str, key: str, *, to: str = HELD, user: int | None = None) -> outbox.NewMail:
    return outbox.NewMail(
        key=key,
        kind=kind,
        to=to,
        subject=f"Mail {kind}",
        text="Bonjour,",
        html="<p>Bonjour,</p>",
        user=user,
    )


async def row_of(mail_id: int) -> dict:
    return await OutboxMail.select().where(OutboxMail.id == mail_id).first()


@pytest.mark.parametrize("kind", sorted(kinds.KINDS))
async def test_no_kind_of_mail_reaches_an_account_not_taken_over(use_settings, mailbox, kind):
    user = await held_account()
    [by_account] = await outbox.queue_many([mail(kind, f"{kind}:a", user=user)])
    [by_address] = await outbox.queue_many([mail(kind, f"{kind}:b")])  # no account given
    # The account's id with another address (the one the person gave) is still theirs.
    [elsewhere] = await outbox.queue_many(
        [mail(kind, f"{kind}:c", to="vraie@example.org", user=user)]
    )

    results = [await mail_jobs.deliver(m) for m in (by_account, by_address, elsewhere)]

    if kind in kinds.TO_HELD_ACCOUNTS:
        assert results == ["sent"] * 3
        assert len(mailbox.to(HELD)) == 2 and len(mailbox.to("vraie@example.org")) == 1
        return
    # "skipped": the app's worker (of an earlier test, whose delayed message names a row id
    # SQLite gave again) took the row first; either way it ends dropped.
    assert set(results) <= {"dropped", "skipped"} and "dropped" in results
    assert mailbox.messages == []
    for mail_id in (by_account, by_address, elsewhere):
        row = await row_of(mail_id)
        assert (row["state"], row["last_error"]) == ("dropped", kinds.HELD_REASON)
        # Final: never sent, never retried, never swept again.
        assert await mail_jobs.deliver(mail_id) == "skipped"
    assert await outbox.due_ids(older_than=timedelta(0)) == []
    assert mailbox.messages == []


async def test_once_taken_over_the_account_receives_its_mails(use_settings, mailbox):
    user = await held_account()
    [before] = await outbox.queue_many([mail("message", "message:1", user=user)])
    assert await mail_jobs.deliver(before) == "dropped"
    await User.update({User.takeover_pending: False}).where(User.id == user)
    [after] = await outbox.queue_many([mail("message", "message:2", user=user)])
    assert await mail_jobs.deliver(after) == "sent"
    [received] = mailbox.to(HELD)
    assert received["Subject"] == "Mail message"
    # What was dropped before the takeover stays dropped: it is not sent late.
    assert (await row_of(before))["state"] == "dropped"
    assert await mail_jobs.deliver(before) == "skipped"


async def test_other_accounts_are_not_held(use_settings, mailbox):
    await held_account()
    other = await build.person("autre@example.org", "Paul", "Autre")
    [mail_id] = await outbox.queue_many(
        [mail("message", "message:3", to="autre@example.org", user=other)]
    )
    [no_account] = await outbox.queue_many([mail("test", "test:1", to="libre@example.org")])
    assert await mail_jobs.deliver(mail_id) == "sent"
    assert await mail_jobs.deliver(no_account) == "sent"
    assert len(mailbox.messages) == 2


async def test_a_stale_claim_of_a_held_account_is_dropped_not_sent(use_settings, mailbox):
    """A worker that died holding a claim: the row is taken back, and dropped."""
    user = await held_account()
    [mail_id] = await outbox.queue_many([mail("order_recap", "recap:1", user=user)])
    past = outbox._now() - outbox.LEASE * 2
    await OutboxMail.update(
        {OutboxMail.state: "sending", OutboxMail.claimed_at: past, OutboxMail.attempts: 1}
    ).where(OutboxMail.id == mail_id)
    assert await mail_jobs.deliver(mail_id) == "dropped"
    assert mailbox.messages == []
