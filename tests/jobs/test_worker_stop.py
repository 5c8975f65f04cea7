"""A worker killed or stopped in the middle of an SMTP conversation: real `dramatiq
jobs.worker` processes over Redis, and an SMTP server (aiosmtpd) that stalls on DATA.

- SIGKILL: the claims of the dead worker are leases that nobody renews any more; a new
  worker sweeps at its start, and again once any lease it could not take must have run
  out: every mail goes, once, within a minute of its start. The lease is shortened for
  the test (MAIL_LEASE_SECONDS) instead of waiting its 45 s.
- A live worker renews its lease: a slow conversation longer than the lease is not
  taken by another worker.
- SIGTERM to the worker's processes (as a platform stopping a dyno does): the current
  conversation ends (answered, or cut by the SMTP timeouts) and the worker exits within
  30 s; no row is left `sending`.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import threading
import time

import pytest

from domain import outbox
from domain.tables import OutboxMail
from jobs import mail as mail_jobs
from tests.stack import Mailbox, free_port, wait_until

SITE = {"site_name": "Circuit Court", "url": "http://localhost"}


async def queue(to: str) -> int:
    mail_id = await outbox.queue(
        key=f"welcome:{to}",
        kind="welcome",
        to=to,
        template="welcome",
        context={**SITE, "first_name": "Nina"},
    )
    assert mail_id is not None
    return mail_id


async def rows(ids: list[int]) -> dict[int, dict]:
    return {row["id"]: row for row in await OutboxMail.select().where(OutboxMail.id.is_in(ids))}


async def wait_rows(ids: list[int], seconds: float, **expected) -> dict[int, dict]:
    deadline = time.monotonic() + seconds
    while True:
        found = await rows(ids)
        if all(all(row[k] == v for k, v in expected.items()) for row in found.values()):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{expected} attendu après {seconds} s : {found}")
        await asyncio.sleep(0.1)


class StallingMailbox(Mailbox):
    """Receives like the others, except the DATA of `slow…@` addresses while `stall` is
    set: it holds its answer until `answer_after` seconds have passed (then 250) or, with
    None, until released (then 451, the mail refused). A mail it did not answer 250 is
    not received."""

    def __init__(self) -> None:
        super().__init__()
        self.stall = True
        self.answer_after: float | None = None
        self.stalled = threading.Event()
        self.release = threading.Event()
        self.data_count: dict[str, int] = {}

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's API
        slow = any(address.startswith("slow") for address in envelope.rcpt_tos)
        for address in envelope.rcpt_tos:
            self.data_count[address] = self.data_count.get(address, 0) + 1
        if slow and self.stall:
            self.stalled.set()
            loop = asyncio.get_running_loop()
            if self.answer_after is None:
                await loop.run_in_executor(None, self.release.wait, 120)
                return "451 4.3.0 Réessayez plus tard"
            await asyncio.sleep(self.answer_after)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def stalling_smtp():
    from aiosmtpd.controller import Controller

    mailbox = StallingMailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    mailbox.url = f"smtp://127.0.0.1:{port}"
    yield mailbox
    mailbox.release.set()
    controller.stop()


def terminate(worker, seconds: float) -> float:
    """SIGTERM to every process of the worker, as a platform stopping it does; the
    seconds it took to exit (fails after `seconds`)."""
    started = time.monotonic()
    os.killpg(worker.proc.pid, signal.SIGTERM)
    try:
        worker.proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        raise AssertionError(
            f"le worker tourne encore {seconds} s après SIGTERM :\n{worker.output()}"
        ) from None
    return time.monotonic() - started


async def test_a_killed_workers_mails_go_out_once_within_a_minute_of_a_new_worker(
    redis_broker, start_worker, stalling_smtp
):
    slow = [await queue(f"slow{n}@example.org") for n in range(2)]
    others = [await queue(f"other{n}@example.org") for n in range(4)]
    lease = {"MAIL_LEASE_SECONDS": "3"}
    first = start_worker(SMTP_URL=stalling_smtp.url, **lease)
    mail_jobs.enqueue([*slow, *others])

    # Both threads of the worker are inside the DATA of a slow mail; the others wait in
    # its memory (prefetched from Redis, not acknowledged). Then it dies there.
    await wait_rows(slow, 30, state="sending")
    assert await asyncio.to_thread(stalling_smtp.stalled.wait, 30), first.output()
    # Both DATA must have reached the server before the kill: a DATA still in the socket's
    # buffer when the worker dies is read after `stall` goes off, and accepted (the mail
    # is then received twice, as SMTP allows: the sender never got its 250).
    slow_addresses = [f"slow{n}@example.org" for n in range(2)]

    async def both_in_data() -> bool:
        return all(stalling_smtp.data_count.get(a, 0) for a in slow_addresses)

    await wait_until(both_in_data, seconds=30, what="les deux DATA bloqués")
    first.kill()
    stalling_smtp.stall = False
    stalling_smtp.release.set()

    # Nothing else sweeps: the new worker's start must find them.
    second = start_worker(SMTP_URL=stalling_smtp.url, **lease)
    started = time.monotonic()
    found = await wait_rows([*slow, *others], 60, state="sent")
    assert time.monotonic() - started < 60
    second.assert_running()
    assert [found[i]["attempts"] for i in slow] == [2, 2]
    for n in range(2):
        assert len(stalling_smtp.to(f"slow{n}@example.org")) == 1
    for n in range(4):
        assert len(stalling_smtp.to(f"other{n}@example.org")) == 1


async def test_a_live_worker_keeps_its_lease_through_a_slow_conversation(
    redis_broker, start_worker, stalling_smtp
):
    stalling_smtp.answer_after = 5  # longer than the lease: only renewals keep it
    mail_id = await queue("slow@example.org")
    lease = {"MAIL_LEASE_SECONDS": "2"}
    start_worker(SMTP_URL=stalling_smtp.url, **lease)
    mail_jobs.enqueue([mail_id])
    assert await asyncio.to_thread(stalling_smtp.stalled.wait, 30)

    # A second worker, and sweeps and messages for the same mail while the first waits.
    other = start_worker(SMTP_URL=stalling_smtp.url, **lease)
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        mail_jobs.sweep_outbox.send()
        mail_jobs.enqueue([mail_id])
        await asyncio.sleep(0.1)

    found = await wait_rows([mail_id], 30, state="sent")
    other.assert_running()
    assert found[mail_id]["attempts"] == 1
    assert stalling_smtp.data_count == {"slow@example.org": 1}
    assert len(stalling_smtp.to("slow@example.org")) == 1


@pytest.mark.parametrize("server", ["answers late", "never answers"])
async def test_sigterm_stops_the_worker_within_30_s_and_leaves_no_mail_sending(
    redis_broker, start_worker, stalling_smtp, server
):
    # The SMTP timeouts are shortened through SMTP_URL; with their defaults (10 s a
    # step, 20 s a conversation) the worker stops within 30 s as well.
    stalling_smtp.answer_after = 3 if server == "answers late" else None
    slow = await queue("slow@example.org")
    others = [await queue(f"other{n}@example.org") for n in range(3)]
    worker = start_worker(SMTP_URL=f"{stalling_smtp.url}?timeout=4")
    mail_jobs.enqueue([slow, *others])
    assert await asyncio.to_thread(stalling_smtp.stalled.wait, 30), worker.output()

    seconds = terminate(worker, 30)

    found = await rows([slow, *others])
    assert [row["state"] for row in found.values() if row["state"] == "sending"] == []
    if server == "answers late":
        # The conversation under way was finished and recorded, not left for a resend.
        assert found[slow]["state"] == "sent", worker.output()
        assert len(stalling_smtp.to("slow@example.org")) == 1
    else:
        assert found[slow]["state"] == "pending"
        assert found[slow]["last_error"]
        assert stalling_smtp.to("slow@example.org") == []
    assert seconds < 30
