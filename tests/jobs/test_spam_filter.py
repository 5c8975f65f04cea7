"""Every kind of mail the platform sends, as it goes out: well formed, and scanned by a real
spam filter (rspamd).

The mails are made by the domain functions that send them (tests/jobs/mail_kinds.py),
with the host names of a real deployment (two instances, each with its own domain and
DKIM key), and written by the sending job and the mailer as they would go out.

rspamd (Debian's package, its built-in rules: see tests/jobs/rspamd.py) scans them as the
receiving server would, told the sending server's address and name, with a DNS of its
own (tests/jobs/fake_dns.py) that holds the records the README asks to publish: SPF,
DKIM (made by `python app.py dkim-record`'s function from the instance's key) and DMARC.
Every mail must pass all three, and get no symbol of positive weight at all, except the
few that only come from scanning a file (ENVIRONMENT_ONLY). Each mail is scanned three
times: rspamd guesses a part's language from a random sample of its words, and a mail
that is scored only sometimes is scored.

rspamd is installed by `./dev test` (as Chromium is). Without it that test is skipped, or
fails with CI=true.
"""

from __future__ import annotations

import os
import re
from email import message_from_bytes, policy
from html.parser import HTMLParser
from pathlib import Path

import pytest

from domain.outbox import MailContext
from domain.outbox import dkim as dkim_records
from domain.settings import Instance
from jobs import mail as mail_jobs
from tests.jobs import rspamd
from tests.jobs.fake_dns import FakeDns, txt
from tests.jobs.mail_kinds import CSV, every_kind

MAIN, MAIN_HOST = "https://circuit-court.example.org", "circuit-court.example.org"
AMAP, AMAP_HOST = "https://amap.example.org", "amap.example.org"
# The SMTP server both instances send through, as the receiving server sees it.
RELAY = {"IP": "203.0.113.25", "Helo": "mail.circuit-court.example.org"}
SELECTORS = {MAIN_HOST: "cc2026", AMAP_HOST: "camap2026"}

# Symbols of positive weight that come from the test's setting, never from a mail.
ENVIRONMENT_ONLY: dict[str, str] = {}
# What a mail that passes SPF, DKIM and DMARC gets.
AUTHENTICATED = ("R_SPF_ALLOW", "R_DKIM_ALLOW", "DMARC_POLICY_ALLOW")


@pytest.fixture(scope="session")
def dkim_keys(tmp_path_factory) -> dict[str, Path]:
    """{domain: its private key}: one per instance."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    folder = tmp_path_factory.mktemp("dkim")
    keys = {}
    for domain in SELECTORS:
        path = folder / f"{domain}.pem"
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
        keys[domain] = path
    return keys


def instances(keys: dict[str, Path]) -> list[Instance]:
    return [
        Instance(
            key="main",
            name="Circuit Court",
            hosts=[MAIN_HOST],
            url=MAIN,
            dkim_key_path=str(keys[MAIN_HOST]),
            dkim_selector=SELECTORS[MAIN_HOST],
        ),
        Instance(
            key="amap",
            name="Camap",
            hosts=[AMAP_HOST],
            url=AMAP,
            producer_space=False,
            dkim_key_path=str(keys[AMAP_HOST]),
            dkim_selector=SELECTORS[AMAP_HOST],
        ),
    ]


def zone(keys: dict[str, Path]) -> dict[tuple[str, str], list[str]]:
    """The records of the deployment, as the README describes them."""
    records: dict[tuple[str, str], list[str]] = {
        (RELAY["Helo"], "A"): [RELAY["IP"]],
        ("25.113.0.203.in-addr.arpa", "PTR"): [RELAY["Helo"] + "."],
    }
    for domain, selector in SELECTORS.items():
        record = dkim_records.public_record(keys[domain].read_bytes())
        records |= {
            (domain, "A"): ["203.0.113.10"],
            (domain, "MX"): [f"10 {RELAY['Helo']}."],
            (domain, "TXT"): [txt(f"v=spf1 ip4:{RELAY['IP']} -all")],
            (f"{selector}._domainkey.{domain}", "TXT"): [txt(record)],
            (f"_dmarc.{domain}", "TXT"): [txt("v=DMARC1; p=quarantine; adkim=s; aspf=s")],
        }
    return records


@pytest.fixture(scope="session")
def spam_filter(tmp_path_factory, dkim_keys):
    if not rspamd.available():
        message = (
            "rspamd absent : installez-le avec « apt-get install -y rspamd » (./dev test le fait)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    dns = FakeDns(zone(dkim_keys))
    try:
        server = rspamd.Rspamd.start(tmp_path_factory.mktemp("rspamd"), dns_port=dns.port)
    except BaseException:
        dns.stop()
        raise
    yield server
    server.stop()
    dns.stop()


async def sent_mails(use_settings, tmp_path: Path, keys) -> dict[str, bytes]:
    """{label: the bytes of the mail} for every kind, as the mailer writes them."""
    settings = use_settings(
        smtp_url="",
        var_dir=str(tmp_path),
        base_url=MAIN,
        instances=instances(keys),
        mail_from="",
        mail_rate_per_minute=0,
    )
    ctx = MailContext(instance="main", site_name="Circuit Court", base_url=MAIN)
    amap = MailContext(instance="amap", site_name="Camap", base_url=AMAP)
    ids = await every_kind(ctx, amap, settings.sender(settings.instances[0]))
    for label, mail_id in ids.items():
        assert await mail_jobs.deliver(mail_id) == "sent", label
    files = {}
    for path in (tmp_path / "outbox").glob("*.eml"):
        raw = path.read_bytes()
        message_id = message_from_bytes(raw, policy=policy.default)["Message-ID"]
        files[int(message_id.strip("<").split(".", 1)[0])] = raw
    return {label: files[mail_id] for label, mail_id in ids.items()}


async def test_no_mail_gets_a_point_from_the_spam_filter(
    use_settings, tmp_path, dkim_keys, spam_filter
):
    mails = await sent_mails(use_settings, tmp_path, dkim_keys)
    report, faults = [], []
    for label, raw in mails.items():
        message = message_from_bytes(raw, policy=policy.default)
        envelope = RELAY | {
            "Hostname": RELAY["Helo"],
            "From": message["From"].addresses[0].addr_spec,
            "Rcpt": message["To"].addresses[0].addr_spec,
        }
        points: dict[str, float] = {}
        scores, missing = [], set(AUTHENTICATED)
        for _ in range(3):
            result = spam_filter.scan(raw, **envelope)
            scores.append(result["score"])
            missing -= set(result["symbols"])
            for name, (weight, _) in result["symbols"].items():
                if weight > 0 and name not in ENVIRONMENT_ONLY:
                    points[name] = max(points.get(name, 0), weight)
            for host in result["urls"]:
                assert host.rsplit(".", 1)[-1] in rspamd.TLDS, (label, host)
        report.append(
            f"{label:38} {max(scores):6.2f}  "
            + " ".join(f"{n}({w:+.2f})" for n, w in sorted(points.items()))
            + (f"  sans {', '.join(sorted(missing))}" if missing else "")
        )
        if points or missing:
            faults.append(label)
    print("\n".join(["", "score de chaque mail (rspamd, le plus haut de trois) :", *report]))
    assert not faults, "\n".join(report)


# ---- the same mails, read as a mail program reads them -----------------------------------

WEEKDAY = re.compile(r"\b(Lundi|Mardi|Mercredi|Jeudi|Vendredi|Samedi|Dimanche)\b")
URL = re.compile(r"https?://[^\s<>\"]+")


class _Visible(HTMLParser):
    """The text a reader sees in an HTML part, and its links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.links: list[str] = []
        self.heading: list[str] = []
        self._hidden = 0
        self._in_h1 = False

    def handle_starttag(self, tag, attrs):
        if tag in ("head", "style", "script"):
            self._hidden += 1
        self._in_h1 = self._in_h1 or tag == "h1"
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.links.append(href)

    def handle_endtag(self, tag):
        if tag in ("head", "style", "script"):
            self._hidden -= 1
        self._in_h1 = self._in_h1 and tag != "h1"

    def handle_data(self, data):
        # The heading repeats the subject (for screen readers); the text part need not.
        if self._in_h1:
            self.heading.append(data)
        elif not self._hidden:
            self.text.append(data)


def words(text: str) -> set[str]:
    return set(re.findall(r"\w+", URL.sub(" ", text).lower()))


async def test_every_mail_is_clean_mime_with_the_right_headers(use_settings, tmp_path, dkim_keys):
    import dkim

    mails = await sent_mails(use_settings, tmp_path, dkim_keys)
    records = {
        f"{selector}._domainkey.{domain}.".encode(): dkim_records.public_record(
            dkim_keys[domain].read_bytes()
        ).encode()
        for domain, selector in SELECTORS.items()
    }
    differ = []
    for label, raw in mails.items():
        message = message_from_bytes(raw, policy=policy.default)
        sender = message["From"].addresses[0]
        host = AMAP_HOST if sender.domain == AMAP_HOST else MAIN_HOST
        # Each instance sends from its own domain, names itself, signs for that domain.
        assert sender.addr_spec == f"noreply@{host}", label
        assert message["Message-ID"].endswith(f"@{host}>"), label
        signature = message["DKIM-Signature"].replace(" ", "").replace("\r\n", "")
        assert f"d={host};" in signature and f"s={SELECTORS[host]};" in signature, label
        assert dkim.verify(raw, dnsfunc=lambda name, timeout=5: records[name]), label
        # multipart/alternative of a text and an HTML part, both quoted-printable; in a
        # multipart/mixed only with an attachment.
        attachments = list(message.iter_attachments()) if message.is_multipart() else []
        if "pièce jointe" in label:
            assert message.get_content_type() == "multipart/mixed", label
            [attachment] = attachments
            assert attachment["Content-Transfer-Encoding"] == "quoted-printable"
            assert attachment.get_payload(decode=True) == CSV  # byte for byte
            [body] = [p for p in message.iter_parts() if p.get_content_type() != "text/csv"]
        else:
            assert message.get_content_type() == "multipart/alternative", label
            body = message
        parts = list(body.iter_parts())
        assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"], label
        for part in parts:
            assert part["Content-Transfer-Encoding"] == "quoted-printable", label
            assert part.get_content_charset() == "utf-8", label
            assert part["MIME-Version"] is None, label
        # What the platform sends by itself says so; a person's message names its list.
        if label.startswith("message"):
            assert message["Auto-Submitted"] is None, label
            assert message["List-Id"] == "AMAP des Tilleuls <amap-des-tilleuls.amap.example.org>"
            assert f"{AMAP}/compte/marches" in parts[0].get_content(), label
            assert "Mes marchés suivis" in parts[1].get_content(), label
        else:
            assert message["Auto-Submitted"] == "auto-generated", label
            assert message["List-Id"] is None, label
        # A Reply-To that would name the recipient is left out.
        if label in ("message", "message (pièce jointe)"):
            assert message["Reply-To"] == "claire.martin@example.net"
        else:
            assert message["Reply-To"] is None, label
        # Subjects read as French sentences: weekdays in lower case.
        assert not WEEKDAY.search(message["Subject"]), (label, message["Subject"])
        # The text part says what the HTML part says, with the same links.
        text, html = parts[0].get_content(), _Visible()
        html.feed(parts[1].get_content())
        seen = " ".join(html.text)
        assert " ".join("".join(html.heading).split()) == message["Subject"], label
        if sorted(set(URL.findall(text))) != sorted(set(html.links)):
            differ.append(f"{label} : liens {set(URL.findall(text)) ^ set(html.links)}")
        if words(text) != words(seen):
            differ.append(
                f"{label} : texte seul {sorted(words(text) - words(seen))}, "
                f"HTML seul {sorted(words(seen) - words(text))}"
            )
    assert not differ, "\n".join(differ)
