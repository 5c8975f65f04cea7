"""Sends one mail with the `emails` package, over SMTP or into a folder of .eml files.

Plain client: takes a msgspec Struct, raises on failure (the package itself
fails silently by default, which would make retries impossible).
"""

from __future__ import annotations

import contextlib
import os
import smtplib
import tempfile
from email.utils import formatdate
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import emails
import msgspec
from emails.backend.smtp import SMTPBackend


class Attachment(msgspec.Struct, frozen=True):
    filename: str
    data: bytes
    content_type: str = "application/octet-stream"


class OutgoingMail(msgspec.Struct, frozen=True):
    to: str
    subject: str
    text: str
    html: str
    from_name: str
    from_addr: str
    message_id: str
    headers: dict[str, str] = {}
    reply_to: str = ""
    attachments: list[Attachment] = []


class Dkim(msgspec.Struct, frozen=True):
    """DKIM signing: the PEM private key, the signing domain and the DNS selector."""

    key: bytes
    domain: str
    selector: str


class SendError(Exception):
    """The mail was not accepted; `permanent` when retrying cannot help (5xx)."""

    def __init__(self, message: str, *, permanent: bool = False, code: int | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.code = code


class SmtpTransport(msgspec.Struct, frozen=True):
    host: str
    port: int = 25
    user: str = ""
    password: str = ""
    ssl: bool = False
    starttls: bool = False
    timeout: float = 15.0

    @classmethod
    def from_url(cls, url: str) -> SmtpTransport:
        """smtp://user:pass@host:port?starttls=1, or smtps://… for implicit TLS."""
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        return cls(
            host=parts.hostname or "localhost",
            port=parts.port or (465 if parts.scheme == "smtps" else 25),
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            ssl=parts.scheme == "smtps",
            starttls=query.get("starttls", ["0"])[0] in ("1", "true", "yes"),
        )


class FileTransport(msgspec.Struct, frozen=True):
    """Writes each mail as an .eml file a developer can open."""

    folder: str


# Signed headers; one absent from a mail is signed as absent (none can be added later).
DKIM_HEADERS = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"reply-to",
    b"mime-version",
    b"content-type",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
    b"from",
)


def _message(mail: OutgoingMail, dkim: Dkim | None = None) -> emails.Message:
    # Date and Message-ID through their own arguments: `emails` always writes a Date
    # header, so passing them in `headers` would give the mail two of each.
    message = emails.html(
        html=mail.html,
        text=mail.text,
        subject=mail.subject,
        mail_from=(mail.from_name, mail.from_addr),
        mail_to=mail.to,
        message_id=mail.message_id,
        date=formatdate(localtime=False, usegmt=True),
        headers=dict(mail.headers),
        reply_to=mail.reply_to or None,
        charset="utf-8",
    )
    for attachment in mail.attachments:
        message.attach(
            data=attachment.data,
            filename=attachment.filename,
            content_disposition="attachment",
            mime_type=attachment.content_type,
        )
    if dkim is not None:
        # Signed when the message is written out, over the headers a reader trusts; the
        # one-click unsubscribe headers must be signed too (RFC 8058, section 4).
        message.dkim(
            key=dkim.key,
            domain=dkim.domain,
            selector=dkim.selector,
            include_headers=list(DKIM_HEADERS),
        )
    return message


def _is_permanent(error: Exception) -> tuple[bool, int | None]:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes), (codes or [None])[0]
    code = getattr(error, "smtp_code", None)
    return (code is not None and code >= 500), code


def send(
    mail: OutgoingMail, transport: SmtpTransport | FileTransport, dkim: Dkim | None = None
) -> None:
    message = _message(mail, dkim)
    if isinstance(transport, FileTransport):
        folder = Path(transport.folder)
        folder.mkdir(parents=True, exist_ok=True)
        safe_id = "".join(c for c in mail.message_id if c.isalnum() or c in "-_.")[:120]
        # Written then renamed, so a reader never sees half a mail.
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(message.as_string().encode("utf-8"))
        os.replace(tmp, folder / f"{safe_id}.eml")
        return
    smtp = {
        "host": transport.host,
        "port": transport.port,
        "ssl": transport.ssl,
        "tls": transport.starttls,
        "timeout": transport.timeout,
        "fail_silently": False,
    }
    if transport.user:
        smtp |= {"user": transport.user, "password": transport.password}
    try:
        # Our own backend, closed (QUIT) after the send: given a dict, `emails` keeps
        # the connection open in a pool that lives as long as the message object.
        backend = SMTPBackend(**smtp)
        try:
            response = message.send(to=mail.to, smtp=backend)
        finally:
            # The mail may already be accepted: a failing QUIT must not cause a resend.
            with contextlib.suppress(smtplib.SMTPException, OSError):
                backend.close()
    except (smtplib.SMTPException, OSError) as error:
        permanent, code = _is_permanent(error)
        raise SendError(
            f"{type(error).__name__}: {error}", permanent=permanent, code=code
        ) from error
    if response is None or response.status_code != 250:
        code = getattr(response, "status_code", None)
        raise SendError(
            f"SMTP a répondu {code}: {getattr(response, 'status_text', b'')!r}",
            permanent=code is not None and code >= 500,
            code=code,
        )
