"""The SMTP conversation is bounded as a whole, not only step by step: a server that
answers each command just before the step's timeout cannot hold a worker (and its stop)
for minutes. Through the real connector and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
import time

import pytest

from connectors.mailer import OutgoingMail, SendError, SmtpTransport, send
from tests.stack import Mailbox, free_port

MAIL = OutgoingMail(
    to="lent@example.org",
    subject="Bonjour",
    text="Bonjour",
    html="<p>Bonjour</p>",
    from_name="Circuit Court",
    from_addr="noreply@example.org",
    message_id="<1.test@example.org>",
)


class SlowMailbox(Mailbox):
    """Answers MAIL FROM and RCPT TO after `pause` seconds each."""

    pause = 1.5

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802
        await asyncio.sleep(self.pause)
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        await asyncio.sleep(self.pause)
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def slow_smtp():
    from aiosmtpd.controller import Controller

    mailbox = SlowMailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    mailbox.url = f"smtp://127.0.0.1:{port}"
    yield mailbox
    controller.stop()


def test_the_timeouts_are_read_from_smtp_url():
    assert SmtpTransport.from_url("smtp://h").conversation_seconds == 20
    transport = SmtpTransport.from_url("smtp://h:587?starttls=1&timeout=4&deadline=9")
    assert (transport.timeout, transport.conversation_seconds, transport.starttls) == (4, 9, True)
    assert SmtpTransport.from_url("smtp://h?timeout=abc&deadline=-1").conversation_seconds == 20


def test_a_server_slow_at_every_step_is_cut_at_the_deadline(slow_smtp):
    # Each step answers within its 2 s, the conversation would take over 3 s.
    transport = SmtpTransport.from_url(f"{slow_smtp.url}?timeout=2&deadline=2.5")
    started = time.monotonic()
    with pytest.raises(SendError) as refused:
        send(MAIL, transport)
    assert time.monotonic() - started < 2.5 + 1
    assert not refused.value.permanent  # retried later, not a bounce
    assert slow_smtp.to("lent@example.org") == []

    # Given the time, the same server takes the mail.
    send(MAIL, SmtpTransport.from_url(f"{slow_smtp.url}?timeout=2&deadline=10"))
    assert len(slow_smtp.to("lent@example.org")) == 1
