"""Sends one mail over SMTP or into a folder of .eml files.

The message is composed with the standard library (`compose`: the MIME structure and
encodings that spam filters expect) and signed with `emails`' DKIM signer; `emails`'
SMTP backend sends it. Plain client: takes a msgspec Struct, raises on failure (the
package itself fails silently by default, which would make retries impossible).
"""

from __future__ import annotations

import contextlib
import math
import os
import smtplib
import tempfile
import time
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import msgspec
from emails.backend.smtp import SMTPBackend
from emails.backend.smtp.client import SMTPClientWithResponse, SMTPClientWithResponse_SSL
from emails.signers import DKIMSigner


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
    """`timeout`: seconds for each step of the conversation (connecting, each command and
    its answer); `deadline`: seconds for the whole of it (0: twice `timeout`). A worker
    told to stop finishes its current send within `deadline`, however slow the server."""

    host: str
    port: int = 25
    user: str = ""
    password: str = ""
    ssl: bool = False
    starttls: bool = False
    timeout: float = 10.0
    deadline: float = 0.0

    @classmethod
    def from_url(cls, url: str) -> SmtpTransport:
        """smtp://user:pass@host:port?starttls=1, or smtps://… for implicit TLS; `timeout=`
        and `deadline=` in seconds."""
        parts = urlsplit(url)
        query = parse_qs(parts.query)

        def seconds(name: str, default: float) -> float:
            try:
                value = float(query.get(name, [default])[0])
            except ValueError:
                return default
            return value if math.isfinite(value) and value > 0 else default

        return cls(
            host=parts.hostname or "localhost",
            port=parts.port or (465 if parts.scheme == "smtps" else 25),
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            ssl=parts.scheme == "smtps",
            starttls=query.get("starttls", ["0"])[0] in ("1", "true", "yes"),
            timeout=seconds("timeout", 10.0),
            deadline=seconds("deadline", 0.0),
        )

    @property
    def conversation_seconds(self) -> float:
        return self.deadline or 2 * self.timeout


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
    b"list-id",
    b"auto-submitted",
    b"from",
)


class _Deadline:
    """Each read and write of the conversation within what is left of its deadline (a
    socket timeout alone lets a server that answers every 9 s hold a worker for minutes)."""

    timeout: float
    sock: object

    def _start(self, parent: _Backend) -> None:
        self._ends_at = time.monotonic() + parent.conversation_seconds

    def _budget(self) -> None:
        left = self._ends_at - time.monotonic()
        if left <= 0:
            self.close()  # type: ignore[attr-defined]
            raise TimeoutError("conversation SMTP trop longue, abandonnée")
        if self.sock is not None:
            self.sock.settimeout(min(self.timeout, left))  # type: ignore[attr-defined]

    def send(self, s):
        self._budget()
        return super().send(s)  # type: ignore[misc]

    def getreply(self):
        self._budget()
        return super().getreply()  # type: ignore[misc]


class _Client(_Deadline, SMTPClientWithResponse):
    def __init__(self, parent, **kwargs):
        self._start(parent)
        super().__init__(parent, **kwargs)


class _SslClient(_Deadline, SMTPClientWithResponse_SSL):
    def __init__(self, parent, **kwargs):
        self._start(parent)
        super().__init__(parent=parent, **kwargs)


class _Backend(SMTPBackend):
    """`emails`' backend with a deadline, and without its resend after a disconnection
    (the server may have the mail already: a timeout on the answer to DATA is one)."""

    connection_cls = _Client
    connection_ssl_cls = _SslClient

    def __init__(self, *, conversation_seconds: float, **kwargs):
        self.conversation_seconds = conversation_seconds
        super().__init__(**kwargs)

    def retry_on_disconnect(self, func):
        return func


def _address(name: str, addr: str) -> Address:
    local, _, domain = addr.rpartition("@")
    return Address(display_name=name, username=local, domain=domain)


def compose(mail: OutgoingMail, dkim: Dkim | None = None) -> bytes:
    """The mail as it goes out, CRLF line ends: `multipart/alternative` of the text and
    the HTML (both quoted-printable, which filters and people read better than base64),
    inside a `multipart/mixed` only when there are attachments. A `Reply-To` that would
    name the recipient is left out (a reply goes to them anyway, and filters score it).
    Signed with DKIM when `dkim` is given (the signature first, over the final bytes)."""
    message = EmailMessage(policy=SMTP)
    message["From"] = _address(mail.from_name, mail.from_addr)
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = mail.message_id
    if mail.reply_to and mail.reply_to.strip().lower() != mail.to.strip().lower():
        message["Reply-To"] = mail.reply_to
    for name, value in mail.headers.items():
        message[name] = value
    message.set_content(mail.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(mail.html, subtype="html", charset="utf-8", cte="quoted-printable")
    for attachment in mail.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        maintype, subtype = maintype or "application", subtype or "octet-stream"
        message.add_attachment(
            attachment.data,
            maintype=maintype,
            subtype=subtype,
            filename=attachment.filename,
            # A text file (a CSV order form) quoted-printable too, its bytes kept exactly
            # (CR and LF included): filters score base64 text.
            cte="quoted-printable" if maintype == "text" else "base64",
        )
    for part in message.walk():
        if part is not message:
            del part["MIME-Version"]  # the standard library repeats it on each part
    raw = message.as_bytes()
    if dkim is not None:
        # Over the headers a reader trusts; the one-click unsubscribe headers must be
        # signed too (RFC 8058, section 4). Relaxed canonicalization of the body as well:
        # a relay that rewraps lines or trailing spaces does not break the signature.
        signature = DKIMSigner(
            selector=dkim.selector,
            domain=dkim.domain,
            key=dkim.key,
            include_headers=list(DKIM_HEADERS),
            canonicalize=(b"relaxed", b"relaxed"),
        ).get_sign_bytes(raw)
        raw = signature + raw
    return raw


class _Composed:
    """What `emails`' backend sends: our bytes, as they are."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def as_bytes(self) -> bytes:
        return self.raw


def _is_permanent(error: Exception) -> tuple[bool, int | None]:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes), (codes or [None])[0]
    code = getattr(error, "smtp_code", None)
    return (code is not None and code >= 500), code


def send(
    mail: OutgoingMail, transport: SmtpTransport | FileTransport, dkim: Dkim | None = None
) -> None:
    raw = compose(mail, dkim)
    if isinstance(transport, FileTransport):
        folder = Path(transport.folder)
        folder.mkdir(parents=True, exist_ok=True)
        safe_id = "".join(c for c in mail.message_id if c.isalnum() or c in "-_.")[:120]
        # Written then renamed, so a reader never sees half a mail.
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
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
        # the connection open in a pool that lives as long as the message object. QUIT
        # too is within the deadline.
        backend = _Backend(conversation_seconds=transport.conversation_seconds, **smtp)
        try:
            response = backend.sendmail(
                from_addr=mail.from_addr, to_addrs=[mail.to], msg=_Composed(raw)
            )
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
