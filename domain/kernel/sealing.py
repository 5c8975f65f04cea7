"""Secrets the platform must read back (an Escarcelle key), stored sealed: Fernet (AES and
HMAC, `cryptography`) with a key derived from SECRET_KEY for one purpose (HKDF-SHA256).
A copy of the database opens nothing without SECRET_KEY; another purpose's seal, an altered
one or one made with another SECRET_KEY reads as None."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def _fernet(secret: str, purpose: str) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"circuit-court", info=purpose.encode()
    ).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(text: str, secret: str, purpose: str) -> str:
    return _fernet(secret, purpose).encrypt(text.encode()).decode("ascii")


def unseal(sealed: str, secret: str, purpose: str) -> str | None:
    try:
        return _fernet(secret, purpose).decrypt(sealed.encode("ascii")).decode()
    except (InvalidToken, ValueError, UnicodeError):
        return None


def hint(text: str, shown: int = 4) -> str:
    """The last characters of a secret, what a masked field shows: "••••1234"."""
    return text[-shown:] if len(text) > 2 * shown else ""
