"""Mail delivery through the real parts: the outbox table, the `emails` connector, a real
SMTP server (aiosmtpd), the file outbox, and a real dramatiq worker process over Redis.

Sign-up mail through the app's in-process worker is covered in tests/web/test_accounts.py.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.utils import parsedate_to_datetime

import dramatiq
import pytest

from domain import communications, outbox
from domain.outbox import rendering
from domain.tables import OutboxMail, User
from jobs import broker as jobs_broker
from jobs import mail as mail_jobs
from tests.helpers import make_user
from tests.jobs.conftest import join
from tests.stack import text_of

SITE = {"site_name": "Circuit Court", "url": "http://localhost"}
TEMPLATES = [
    (
        "welcome",
        {"first_name": "Zoé & <Léa>"},
        "Bienvenue sur Circuit Court",
        "À bientôt,",
    ),
    (
        "password_reset",
        {"first_name": "Zoé & <Léa>", "url": "http://localhost/mot-de-passe/abc", "hours": 2},
        "Choisir un nouveau mot de passe",
        "valable 2 heures",
    ),
    (
        "email_change",
        {
            "first_name": "Zoé & <Léa>",
            "new_email": "nouvelle@example.org",
            "url": "http://localhost/adresse/abc",
        },
        "Confirmez votre nouvelle adresse e-mail",
        "nouvelle@example.org",
    ),
]


async def queue_welcome(to: str, *, key: str | None = None, instance: str = "main") -> int:
    mail_id = await outbox.queue(
        key=key or f"welcome:{to}",
        kind="welcome",
        to=to,
        template="welcome",
        context={**SITE, "first_name": "Nina"},
        instance=instance,
    )
    assert mail_id is not None
    return mail_id


async def row_of(mail_id: int) -> dict:
    return await OutboxMail.select().where(OutboxMail.id == mail_id).first()


def html_of(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


# 1. Domain + connector with a real SMTP server


@pytest.mark.parametrize(("template", "context", "subject", "snippet"), TEMPLATES)
async def test_deliver_sends_one_french_multipart_mail_and_marks_it_sent(
    use_settings, mailbox, template, context, subject, snippet
):
    mail_id = await outbox.queue(
        key=f"{template}:zoe@example.org",
        kind=template,
        to="zoe@example.org",
        template=template,
        context={**SITE, **context},
    )
    before = datetime.now(UTC)

    assert await mail_jobs.deliver(mail_id) == "sent"

    [mail] = mailbox.to("zoe@example.org")
    assert mail["Subject"] == subject
    assert mail["To"] == "zoe@example.org"
    [sender] = mail["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Circuit Court", "noreply@localhost")
    assert mail.is_multipart()
    text, html = text_of(mail), html_of(mail)
    assert "Bonjour Zoé & <Léa>," in text and snippet in text
    assert "Bonjour Zoé &amp; &lt;Léa&gt;," in html and '<html lang="fr">' in html
    assert re.fullmatch(rf"<{mail_id}\.[0-9a-f]{{16}}@localhost>", mail["Message-ID"])
    assert len(mail.get_all("Date")) == 1 and len(mail.get_all("Message-ID")) == 1
    sent_on = parsedate_to_datetime(mail["Date"])
    assert before - timedelta(seconds=2) <= sent_on <= datetime.now(UTC) + timedelta(seconds=2)

    row = await row_of(mail_id)
    assert (row["state"], row["attempts"], row["last_error"]) == ("sent", 1, "")
    assert row["sent_at"] is not None

    # Delivered already: a second run (a redelivered message) sends nothing.
    assert await mail_jobs.deliver(mail_id) == "skipped"
    assert len(mailbox.to("zoe@example.org")) == 1
    assert (await row_of(mail_id))["attempts"] == 1


async def test_mail_comes_from_the_instance_it_was_queued_for(use_settings, mailbox):
    mail_id = await queue_welcome("amap@example.org", instance="amap")
    assert await mail_jobs.deliver(mail_id) == "sent"
    [mail] = mailbox.to("amap@example.org")
    assert mail["From"].addresses[0].display_name == "Camap"


async def test_queuing_twice_with_the_same_key_creates_one_row(use_settings, mailbox):
    first = await queue_welcome("once@example.org", key="welcome:user:1")
    second = await outbox.queue(
        key="welcome:user:1",
        kind="welcome",
        to="once@example.org",
        template="welcome",
        context={**SITE, "first_name": "Nina"},
    )
    assert second is None
    assert await OutboxMail.count().where(OutboxMail.key == "welcome:user:1") == 1
    assert await mail_jobs.deliver(first) == "sent"
    assert len(mailbox.to("once@example.org")) == 1


async def test_unknown_mail_id_is_skipped(use_settings, mailbox):
    assert await mail_jobs.deliver(987654) == "skipped"


# 2. Failures: transient (retry) and permanent (give up)


async def make_due(mail_id: int) -> None:
    """As if the retry delay had passed (no test waits for it)."""
    await OutboxMail.update(
        {OutboxMail.send_after: datetime.now(UTC) - timedelta(seconds=1)}
    ).where(OutboxMail.id == mail_id)


async def test_smtp_down_releases_the_row_for_a_retry_later_and_later(
    use_settings, closed_smtp_url, mailbox
):
    mail_id = await queue_welcome("down@example.org")
    use_settings(smtp_url=closed_smtp_url, mail_retry_seconds=30)

    before = datetime.now(UTC)
    assert await mail_jobs.deliver(mail_id) == "retry"
    row = await row_of(mail_id)
    assert (row["state"], row["attempts"]) == ("pending", 1)
    assert "ConnectionRefused" in row["last_error"]
    assert row["sent_at"] is None
    first_wait = row["send_after"] - before
    assert timedelta(seconds=29) <= first_wait <= timedelta(seconds=32)
    # Not due yet: neither a redelivered message nor the sweep sends it before its time.
    assert await mail_jobs.deliver(mail_id) == "delayed"
    assert mail_id not in await outbox.due_ids(older_than=timedelta(0))

    # Down again at the second attempt: the delay doubles.
    await make_due(mail_id)
    before = datetime.now(UTC)
    assert await mail_jobs.deliver(mail_id) == "retry"
    row = await row_of(mail_id)
    assert row["attempts"] == 2
    assert timedelta(seconds=59) <= row["send_after"] - before <= timedelta(seconds=62)
    assert outbox.retry_delay(7, timedelta(seconds=30)) == timedelta(minutes=32)
    assert outbox.retry_delay(11, timedelta(seconds=30)) == outbox.MAX_RETRY_DELAY

    # The server is back: the retry sends it, once.
    use_settings()
    await make_due(mail_id)
    assert mail_id in await outbox.due_ids(older_than=timedelta(0))
    assert await mail_jobs.deliver(mail_id) == "sent"
    row = await row_of(mail_id)
    assert (row["state"], row["attempts"], row["last_error"]) == ("sent", 3, "")
    assert len(mailbox.to("down@example.org")) == 1


async def test_smtp_down_for_the_last_allowed_attempt_fails_the_row(use_settings, closed_smtp_url):
    mail_id = await queue_welcome("tired@example.org")
    await OutboxMail.update({OutboxMail.attempts: outbox.MAX_ATTEMPTS - 1}).where(
        OutboxMail.id == mail_id
    )
    use_settings(smtp_url=closed_smtp_url)

    assert await mail_jobs.deliver(mail_id) == "failed"
    row = await row_of(mail_id)
    assert (row["state"], row["attempts"]) == ("failed", outbox.MAX_ATTEMPTS)


async def test_recipient_refused_with_550_bounces_the_row_without_retry(
    use_settings, refusing_smtp_url
):
    user_id = await make_user("nobody@example.org")
    mail_id = await queue_welcome("nobody@example.org", key="welcome:bounce")
    use_settings(smtp_url=refusing_smtp_url)

    assert await mail_jobs.deliver(mail_id) == "bounced"  # no exception: no retry
    row = await row_of(mail_id)
    assert (row["state"], row["attempts"]) == ("bounced", 1)
    assert "550" in row["last_error"]
    # The row names the account (found from the address), for the member's page.
    assert row["user"] == user_id
    [bounce] = await outbox.refused_mails(user_id, "nobody@example.org")
    assert bounce["to_addr"] == "nobody@example.org" and "550" in bounce["last_error"]
    # Refused for good: nothing picks it up again.
    assert await mail_jobs.deliver(mail_id) == "skipped"
    assert mail_id not in await outbox.due_ids(older_than=timedelta(0))
    # Once the member has another address, the old refusal stays in the account's history.
    await User.update({User.email: "new-address@example.org"}).where(User.id == user_id)
    [old] = await outbox.refused_mails(user_id, "new-address@example.org")
    assert old["to_addr"] == "nobody@example.org"


async def test_unexpected_error_releases_the_row_and_propagates(use_settings, monkeypatch):
    mail_id = await queue_welcome("bug@example.org")

    def broken_send(mail, transport, dkim=None):
        raise ValueError("bogue")

    monkeypatch.setattr(mail_jobs, "send", broken_send)
    with pytest.raises(ValueError, match="bogue"):
        await mail_jobs.deliver(mail_id)
    row = await row_of(mail_id)
    assert (row["state"], row["attempts"]) == ("pending", 1)
    assert "ValueError: bogue" in row["last_error"]


# The same through the actor, on the in-process broker the app uses without Redis.


async def test_actor_refused_recipient_is_not_retried(use_settings, refusing_smtp_url, stub_worker):
    mail_id = await queue_welcome("nobody@example.org")
    use_settings(smtp_url=refusing_smtp_url)

    mail_jobs.send_mail.send(mail_id)
    await join(stub_worker)  # fail_fast: would raise if the message had failed

    assert stub_worker.dead_letters == []
    row = await row_of(mail_id)
    assert (row["state"], row["attempts"]) == ("bounced", 1)


async def wait_for_row(mail_id: int, seconds: float = 15, **expected) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        row = await row_of(mail_id)
        if all(row[k] == v for k, v in expected.items()):
            return row
        if time.monotonic() > deadline:
            raise AssertionError(f"ligne {mail_id} : {row} au lieu de {expected}")
        await asyncio.sleep(0.05)


async def test_actor_smtp_down_comes_back_by_itself_when_the_retry_is_due(
    use_settings, closed_smtp_url, mailbox, stub_worker
):
    mail_id = await queue_welcome("down@example.org")
    use_settings(smtp_url=closed_smtp_url, mail_retry_seconds=1)

    mail_jobs.send_mail.send_with_options(args=(mail_id,), max_retries=0)
    row = await wait_for_row(mail_id, state="pending", attempts=1)
    assert "ConnectionRefused" in row["last_error"]

    # The server is back before the retry is due: the delayed message sends it, once,
    # with no exception (dramatiq's own retries are for bugs, not for SMTP trouble).
    use_settings(mail_retry_seconds=1)
    await mailbox.wait_for("down@example.org")
    row = await wait_for_row(mail_id, state="sent")
    assert row["attempts"] == 2
    assert len(mailbox.to("down@example.org")) == 1
    assert stub_worker.dead_letters == []


async def test_sweep_enqueues_old_pending_and_stale_claims_only(use_settings, mailbox, stub_worker):
    now = datetime.now(UTC)
    old_pending = await queue_welcome("old-pending@example.org")
    fresh_pending = await queue_welcome("fresh-pending@example.org")
    stale_claim = await queue_welcome("stale@example.org")
    live_claim = await queue_welcome("live@example.org")
    await OutboxMail.update({OutboxMail.created_at: now - timedelta(minutes=1)}).where(
        OutboxMail.id == old_pending
    )
    for mail_id, claimed_at in ((stale_claim, now - timedelta(minutes=11)), (live_claim, now)):
        await OutboxMail.update(
            {OutboxMail.state: "sending", OutboxMail.claimed_at: claimed_at, OutboxMail.attempts: 1}
        ).where(OutboxMail.id == mail_id)

    assert await outbox.due_ids() == [old_pending, stale_claim]
    mail_jobs.sweep_outbox.send()
    await join(stub_worker)

    assert len(mailbox.to("old-pending@example.org")) == 1
    assert len(mailbox.to("stale@example.org")) == 1
    assert mailbox.to("fresh-pending@example.org") == mailbox.to("live@example.org") == []
    states = {row["id"]: row["state"] for row in await OutboxMail.select()}
    assert states == {
        old_pending: "sent",
        fresh_pending: "pending",
        stale_claim: "sent",
        live_claim: "sending",
    }


# 3. File outbox (no SMTP_URL)


async def test_without_smtp_url_the_mail_is_an_eml_file(use_settings, tmp_path):
    use_settings(smtp_url="", var_dir=str(tmp_path))
    mail_id = await queue_welcome("file@example.org")

    assert await mail_jobs.deliver(mail_id) == "sent"

    files = list((tmp_path / "outbox").iterdir())
    assert [f.suffix for f in files] == [".eml"]  # no temporary file left behind
    mail = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert mail["Subject"] == "Bienvenue sur Circuit Court"
    assert mail["To"] == "file@example.org"
    assert mail["From"].addresses[0].display_name == "Circuit Court"
    assert mail["Message-ID"].startswith(f"<{mail_id}.")
    assert mail["Date"]
    assert "Bonjour Nina" in text_of(mail) and "À bientôt" in text_of(mail)
    assert "Bonjour Nina" in html_of(mail)
    assert (await row_of(mail_id))["state"] == "sent"


# 4. A real worker process over Redis


async def test_worker_process_delivers_the_mail_once(redis_broker, start_worker, mailbox):
    mail_id = await queue_welcome("redis@example.org")
    worker = start_worker()

    mail_jobs.send_mail.send(mail_id)
    [mail] = await mailbox.wait_for("redis@example.org", seconds=30)
    await join(redis_broker)

    worker.assert_running()
    assert len(mailbox.to("redis@example.org")) == 1, worker.output()
    assert mail["Message-ID"].startswith(f"<{mail_id}.")
    row = await row_of(mail_id)
    assert (row["state"], row["attempts"]) == ("sent", 1), worker.output()


async def test_same_message_enqueued_five_times_sends_one_mail(redis_broker, start_worker, mailbox):
    mail_id = await queue_welcome("five@example.org")
    for _ in range(5):
        mail_jobs.send_mail.send(mail_id)
    worker = start_worker()

    await mailbox.wait_for("five@example.org", seconds=30)
    await join(redis_broker)

    worker.assert_running()
    assert len(mailbox.to("five@example.org")) == 1
    row = await row_of(mail_id)
    assert (row["state"], row["attempts"]) == ("sent", 1), worker.output()


async def test_sweep_delivers_a_mail_left_claimed_by_a_dead_worker(
    redis_broker, start_worker, mailbox
):
    # As if a worker was killed after the claim and before marking the row sent.
    mail_id = await queue_welcome("crash@example.org")
    await OutboxMail.update(
        {
            OutboxMail.state: "sending",
            OutboxMail.attempts: 1,
            OutboxMail.claimed_at: datetime.now(UTC) - timedelta(minutes=11),
        }
    ).where(OutboxMail.id == mail_id)
    worker = start_worker()

    mail_jobs.sweep_outbox.send()
    await mailbox.wait_for("crash@example.org", seconds=30)
    await join(redis_broker)

    worker.assert_running()
    assert len(mailbox.to("crash@example.org")) == 1
    row = await row_of(mail_id)
    assert (row["state"], row["attempts"]) == ("sent", 2), worker.output()


async def test_grouped_mail_waits_for_its_time_then_goes_once(use_settings, mailbox, stub_worker):
    mail_id = await outbox.queue_grouped(
        key_prefix="recap:1",
        kind="welcome",
        to="later@example.org",
        template="welcome",
        context={**SITE, "first_name": "Nina"},
        send_after=datetime.now(UTC) + timedelta(seconds=0.5),
    )
    assert await mail_jobs.deliver(mail_id) == "delayed"
    mail_jobs.send_mail.send(mail_id)
    await mailbox.wait_for("later@example.org", seconds=5)
    await join(stub_worker)
    assert len(mailbox.to("later@example.org")) == 1
    row = await row_of(mail_id)
    assert (row["state"], row["attempts"]) == ("sent", 1)


async def test_far_delayed_messages_do_not_hold_back_a_near_one(use_settings, mailbox, stub_worker):
    # More far-future messages (recaps waiting minutes, retry backoffs) than the ordinary
    # prefetch of the in-process worker (2 threads × 2) ...
    for _ in range(6):
        mail_jobs.send_mail.send_with_options(args=(987654,), delay=180_000)
    mail_id = await outbox.queue_grouped(
        key_prefix="recap:2",
        kind="welcome",
        to="soon@example.org",
        template="welcome",
        context={**SITE, "first_name": "Nina"},
        send_after=datetime.now(UTC) + timedelta(seconds=0.3),
    )
    # ... and a mail due in 0.3 s still goes long before them (a loaded machine may take
    # seconds: the far ones come out after three minutes).
    mail_jobs.send_mail.send(mail_id)
    await mailbox.wait_for("soon@example.org", seconds=90)
    # Received by the server a moment before the worker marks the row sent.
    assert (await wait_for_row(mail_id, state="sent"))["state"] == "sent"


async def test_a_second_app_object_leaves_the_first_ones_worker_working(
    settings, use_settings, mailbox
):
    """What create_app does, twice in one process (tests/web builds a second app): the
    second gets the same in-memory broker, and its worker's shutdown doesn't stop the
    event loop the first worker runs async actors on."""
    found, found_settings = dramatiq.get_broker(), jobs_broker._settings
    first = jobs_broker.setup(settings)
    worker = dramatiq.Worker(first, worker_threads=2, worker_timeout=100)
    worker.start()
    try:
        second = jobs_broker.setup(settings)
        assert second is first
        other = dramatiq.Worker(second, worker_threads=1, worker_timeout=100)
        other.start()
        await asyncio.to_thread(other.stop)

        mail_id = await queue_welcome("first-app@example.org")
        mail_jobs.send_mail.send(mail_id)
        await mailbox.wait_for("first-app@example.org", seconds=5)
    finally:
        await asyncio.to_thread(worker.stop)
        jobs_broker.use(found)
        jobs_broker._settings = found_settings


# 5. Headers of automatic mails, DKIM, throttling


async def test_automatic_mail_carries_its_signed_one_click_unsubscribe(use_settings, mailbox):

    user_id = await make_user("auto@example.org")
    mail_id = await outbox.queue(
        key="orders_open:test",
        kind="orders_open",
        to="auto@example.org",
        template="welcome",
        context={**SITE, "first_name": "Nina"},
    )
    assert await mail_jobs.deliver(mail_id) == "sent"
    [mail] = mailbox.to("auto@example.org")
    token = communications.unsubscribe_token(
        "test-secret-key-0123456789abcdef", user_id, "orders_open"
    )
    url = f"http://localhost/desabonnement/{token}"
    # Folded by the mail library when long (legal): the value is the URL in angle brackets.
    assert mail["List-Unsubscribe"].strip() == f"<{url}>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert url in text_of(mail) and f'href="{url}"' in html_of(mail)
    assert "Ouverture des commandes" in text_of(mail)
    assert rendering.UNSUBSCRIBE_MARK not in text_of(mail) + html_of(mail)
    # The token names this user and this kind, and nothing else.
    secret = "test-secret-key-0123456789abcdef"
    assert communications.read_unsubscribe_token(secret, token) == (user_id, "orders_open")
    forged = token.replace("orders_open", "reminder_4h")
    assert communications.read_unsubscribe_token(secret, forged) is None
    assert communications.read_unsubscribe_token("another-secret-0123456789", token) is None
    other_user = f"{user_id + 1}.{token.split('.', 1)[1]}"
    assert communications.read_unsubscribe_token(secret, other_user) is None


async def test_other_mails_carry_no_unsubscribe(use_settings, mailbox):
    mail_id = await queue_welcome("plain@example.org")
    assert await mail_jobs.deliver(mail_id) == "sent"
    [mail] = mailbox.to("plain@example.org")
    assert mail["List-Unsubscribe"] is None and mail["List-Unsubscribe-Post"] is None
    assert "Ne plus recevoir" not in text_of(mail) + html_of(mail)


class RawMailbox:
    """The bytes as the server received them (a DKIM signature covers exact bytes)."""

    def __init__(self) -> None:
        self.raw: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's API
        self.raw.append(envelope.original_content or envelope.content)
        return "250 OK"


@pytest.fixture
def raw_smtp():
    from aiosmtpd.controller import Controller

    from tests.stack import free_port

    handler = RawMailbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    handler.url = f"smtp://127.0.0.1:{port}"
    yield handler
    controller.stop()


@pytest.fixture
def dkim_key(tmp_path):
    import base64
    import shutil
    import subprocess

    if not shutil.which("openssl"):
        pytest.skip("openssl absent : pas de clé RSA de test pour DKIM")
    key = tmp_path / "dkim.pem"
    subprocess.run(
        ["openssl", "genrsa", "-traditional", "-out", str(key), "2048"],
        check=True,
        capture_output=True,
    )
    public = subprocess.run(
        ["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    return key, base64.b64encode(public)


async def test_dkim_signature_verifies_with_the_published_key(use_settings, raw_smtp, dkim_key):
    import dkim

    key_path, public = dkim_key
    use_settings(
        smtp_url=raw_smtp.url,
        mail_from="noreply@example.org",
        dkim_key_path=str(key_path),
        dkim_domain="example.org",
        dkim_selector="cc2026",
    )
    await make_user("signed@example.org")
    mail_id = await outbox.queue(
        key="orders_open:signed",
        kind="orders_open",
        to="signed@example.org",
        template="welcome",
        context={**SITE, "first_name": "Nina"},
    )
    assert await mail_jobs.deliver(mail_id) == "sent"
    [raw] = raw_smtp.raw
    assert raw.startswith(b"DKIM-Signature:")
    signature = raw.split(b"\r\n\r\n", 1)[0].replace(b"\r\n", b"").replace(b" ", b"")
    # RFC 8058: the one-click headers are covered by the signature.
    signed = signature.split(b"h=", 1)[1].split(b";", 1)[0].split(b":")
    assert {b"from", b"list-unsubscribe", b"list-unsubscribe-post"} <= set(signed)

    def dns(name, timeout=5):
        assert name == b"cc2026._domainkey.example.org."
        return b"v=DKIM1; k=rsa; p=" + public

    assert dkim.verify(raw, dnsfunc=dns)
    # A change on the way breaks it: the check above can fail.
    tampered = raw.replace(b"Bienvenue", b"Bienvenu")
    assert not dkim.verify(tampered, dnsfunc=dns)


def test_dkim_settings_go_together(tmp_path):
    from domain.settings import SettingsError, load_settings

    base = {"SECRET_KEY": "x" * 20, "VAR_DIR": str(tmp_path)}
    with pytest.raises(SettingsError, match="vont ensemble"):
        load_settings(base | {"DKIM_DOMAIN": "example.org"})
    with pytest.raises(SettingsError, match="introuvable"):
        load_settings(
            base
            | {
                "DKIM_KEY_PATH": str(tmp_path / "absent.pem"),
                "DKIM_DOMAIN": "example.org",
                "DKIM_SELECTOR": "s",
            }
        )
    assert load_settings(base | {"MAIL_RATE_PER_MINUTE": "120"}).mail_rate_per_minute == 120
    with pytest.raises(SettingsError, match="MAIL_RATE_PER_MINUTE"):
        load_settings(base | {"MAIL_RATE_PER_MINUTE": "-1"})


def test_local_rate_gives_a_burst_then_one_slot_per_interval():
    rate = mail_jobs.LocalRate(per_minute=120)  # 2 per second, a burst of 2
    waits = [rate.reserve() for _ in range(6)]
    assert waits[0] == waits[1] == 0
    # Reservations computed back to back: each waits half a second more than the last.
    for before, after in zip(waits[1:], waits[2:], strict=False):
        assert 0.45 <= after - before <= 0.5


async def test_redis_rate_is_shared_by_every_worker(redis_url):
    """Two workers (two limiter objects, two connections) draw from one rate: the waits of
    their interleaved reservations grow as those of a single sender would."""
    first = mail_jobs.RedisRate(redis_url, per_minute=60, key="test:mail-rate")
    second = mail_jobs.RedisRate(redis_url, per_minute=60, key="test:mail-rate")
    try:
        waits = [(first if i % 2 else second).reserve() for i in range(4)]
    finally:
        first.client.close()
        second.client.close()
    assert waits[0] == 0
    for index, wait in enumerate(waits[1:], start=1):
        assert index - 0.5 < wait <= index  # one second per mail, whoever sends it


async def test_deliveries_take_their_turn_from_the_configured_rate(use_settings, mailbox):
    """The job reserves a slot before each send: the limiter's next free slot moves on by
    one interval per mail delivered."""
    use_settings(mail_rate_per_minute=6000)  # a burst of 100: nothing waits in this test
    rate = mail_jobs._rate()
    before = rate.next_slot
    for n in range(3):
        assert await mail_jobs.deliver(await queue_welcome(f"rate{n}@example.org")) == "sent"
    assert rate.next_slot >= max(before, 0) + 3 * rate.interval - 1e-9
    use_settings(mail_rate_per_minute=0)
    assert mail_jobs._rate() is None
