"""`python app.py dkim-record`: the TXT record to publish, from the key the instance signs
with; a mail signed with that key verifies against exactly what the command prints."""

from __future__ import annotations

import json
import re

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from cli import main
from connectors.mailer import Dkim, OutgoingMail, compose
from domain.outbox import dkim as records


def pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@pytest.fixture
def configured(tmp_path, monkeypatch):
    key = tmp_path / "camap.pem"
    key.write_bytes(pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    instances = [
        {
            "key": "main",
            "name": "Circuit Court",
            "hosts": ["cc.example.org"],
            "url": "https://cc.example.org",
        },
        {
            "key": "amap",
            "name": "Camap",
            "hosts": ["camap.example.fr"],
            "url": "https://camap.example.fr",
            "dkim_key_path": str(key),
            "dkim_selector": "camap2026",
        },
    ]
    for name, value in {
        "VAR_DIR": str(tmp_path),
        "SECRET_KEY": "unit-test-secret-0123456789",
        "INSTANCES": json.dumps(instances),
        "LOG_LEVEL": "WARNING",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("DKIM_KEY_PATH", "DKIM_DOMAIN", "DKIM_SELECTOR", "MAIL_FROM"):
        monkeypatch.delenv(name, raising=False)
    return key


def test_the_printed_record_verifies_a_signed_mail(configured, capsys):
    assert main(["dkim-record"]) == 0
    out = capsys.readouterr().out
    assert "; main (Circuit Court) : e-mails de noreply@cc.example.org, non signés" in out
    assert (
        "; amap (Camap) : e-mails de noreply@camap.example.fr, signés pour camap.example.fr" in out
    )
    line = next(li for li in out.splitlines() if li.startswith("camap2026._domainkey."))
    assert line.startswith("camap2026._domainkey.camap.example.fr. 3600 IN TXT ( ")
    # DNS joins the quoted strings back: that is the record a receiving server reads.
    published = "".join(re.findall(r'"([^"]*)"', line))
    assert all(len(chunk) <= 255 for chunk in re.findall(r'"([^"]*)"', line))
    assert published.startswith("v=DKIM1; k=rsa; p=")
    assert published in out  # also printed alone, for a hosting provider's form

    raw = compose(
        OutgoingMail(
            to="zoe@example.net",
            subject="Bienvenue dans l'AMAP des Tilleuls",
            text="Bonjour Zoé,\n",
            html="<p>Bonjour Zoé,</p>",
            from_name="Camap",
            from_addr="noreply@camap.example.fr",
            message_id="<1.a@camap.example.fr>",
        ),
        Dkim(key=configured.read_bytes(), domain="camap.example.fr", selector="camap2026"),
    )

    def dns(name, timeout=5):
        assert name == b"camap2026._domainkey.camap.example.fr."
        return published.encode()

    assert dkim.verify(raw, dnsfunc=dns)


def test_one_instance_only_and_unknown_ones(configured, capsys):
    assert main(["dkim-record", "--instance", "amap"]) == 0
    out = capsys.readouterr().out
    assert "camap2026._domainkey.camap.example.fr." in out and "Circuit Court" not in out
    assert main(["dkim-record", "--instance", "ailleurs"]) == 2
    assert "instance inconnue (main, amap)" in capsys.readouterr().err


def test_no_key_at_all_is_an_error(configured, capsys):
    assert main(["dkim-record", "--instance", "main"]) == 1
    assert "aucune clé DKIM configurée" in capsys.readouterr().err


def test_only_rsa_keys_are_published():
    with pytest.raises(records.DkimKeyError, match="clé RSA"):
        records.public_record(pem(ec.generate_private_key(ec.SECP256R1())))
    with pytest.raises(records.DkimKeyError, match="pas une clé privée PEM"):
        records.public_record(b"-----BEGIN PRIVATE KEY-----\nabc\n")
