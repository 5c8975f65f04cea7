"""Random single-use tokens, and signed payloads carried by the browser.

A link token is random; only its SHA-256 is stored, so a leak of the database gives no
working link. A signed payload (an import preview in a hidden field) comes back exactly as
it was signed, within its age, for its purpose only: itsdangerous' timed serializer,
compressed when that is shorter, on the domain's clock.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from itsdangerous import BadData, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from domain.kernel import clock


def new_token() -> tuple[str, str]:
    """(the token for the link, its digest for the database)."""
    raw = secrets.token_urlsafe(32)
    return raw, digest(raw)


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class _ClockSigner(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(clock.now().timestamp())


def _serializer(secret: str, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=purpose, signer=_ClockSigner)


def sign(payload: object, secret: str, purpose: str) -> str:
    """A tamper-proof text carrying `payload` (anything JSON can hold)."""
    return _serializer(secret, purpose).dumps(payload)


class Expired(Exception):
    """The signature is right but the payload is older than allowed."""


def unsign(token: str, secret: str, purpose: str, max_age: int) -> object:
    """The payload; Expired when it is too old; None when it was altered, signed with another
    key or for another purpose."""
    serializer = _serializer(secret, purpose)
    try:
        return serializer.loads(token.strip(), max_age=max_age)
    except SignatureExpired as error:  # raised only once the signature is known good
        raise Expired() from error
    except BadData:
        return None


def short_mac(secret: str, message: str, length: int = 32) -> str:
    """A hex HMAC-SHA256 of `message`, cut to `length` (links that must stay short)."""
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()[:length]


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)
