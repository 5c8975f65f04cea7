"""The bytes of a mail as the mailer writes them (connectors/mailer.compose): the MIME
structure and encodings spam filters expect, whatever the content."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from connectors.mailer import Attachment, OutgoingMail, compose

MAIL = OutgoingMail(
    to="zoe@example.net",
    subject="Rappel : distribution demain, jeudi 3 décembre à 18:00 – AMAP des Tilleuls",
    text="Bonjour Zoé,\n\nLa distribution a lieu à la Halle.\n",
    html="<p>Bonjour Zoé,</p><p>La distribution a lieu à la Halle.</p>",
    from_name="AMAP d'Été, « les Tilleuls »",
    from_addr="noreply@amap.example.org",
    message_id="<7.abc@amap.example.org>",
)


def parse(raw: bytes):
    return message_from_bytes(raw, policy=policy.default)


def test_text_and_html_as_alternatives_quoted_printable():
    raw = compose(MAIL)
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")  # CRLF throughout
    message = parse(raw)
    assert message.get_content_type() == "multipart/alternative"
    plain, html = message.iter_parts()
    assert plain["Content-Transfer-Encoding"] == "quoted-printable"
    assert html["Content-Transfer-Encoding"] == "quoted-printable"
    assert plain.get_content().replace("\r\n", "\n") == MAIL.text
    assert message["Subject"] == MAIL.subject
    sender = message["From"].addresses[0]
    assert (sender.display_name, sender.addr_spec) == (MAIL.from_name, MAIL.from_addr)
    assert raw.count(b"MIME-Version") == 1
    assert len(message.get_all("Date")) == 1


def test_mixed_only_with_attachments_and_text_files_stay_byte_exact():
    csv = "Produit;Quantité\r\nŒufs;6\r\n".encode("cp1252")  # a spreadsheet's export
    pdf = b"%PDF-1.4\n\x00\xff binaire"
    message = parse(
        compose(
            OutgoingMail(
                **{f: getattr(MAIL, f) for f in MAIL.__struct_fields__ if f != "attachments"},
                attachments=[
                    Attachment("bon de commande été.csv", csv, "text/csv"),
                    Attachment("contrat.pdf", pdf, "application/pdf"),
                ],
            )
        )
    )
    assert message.get_content_type() == "multipart/mixed"
    body, sheet, contract = message.iter_parts()
    assert body.get_content_type() == "multipart/alternative"
    assert sheet["Content-Transfer-Encoding"] == "quoted-printable"
    assert sheet.get_filename() == "bon de commande été.csv"
    assert sheet.get_payload(decode=True) == csv
    assert contract["Content-Transfer-Encoding"] == "base64"
    assert contract.get_payload(decode=True) == pdf


@pytest.mark.parametrize("reply_to", ["zoe@example.net", " Zoe@Example.NET "])
def test_no_reply_to_naming_the_recipient(reply_to):
    """The author's own copy of a group message: replying goes to them anyway."""
    assert parse(compose(_with(reply_to=reply_to)))["Reply-To"] is None
    assert parse(compose(_with(reply_to="claire@example.net")))["Reply-To"] == "claire@example.net"


def test_a_header_cannot_be_split_by_a_newline():
    with pytest.raises(ValueError):
        compose(_with(subject="Bonjour\r\nBcc: tout-le-monde@example.org"))


def _with(**changes) -> OutgoingMail:
    import msgspec

    return msgspec.structs.replace(MAIL, **changes)
