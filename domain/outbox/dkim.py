"""The DNS record that publishes an instance's DKIM key (`python app.py dkim-record`).

Receiving servers check a mail's DKIM signature against the public key published at
`<selector>._domainkey.<domain>` in a TXT record; this derives that record from the
private key the instance signs with, so the two cannot drift apart.
"""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


class DkimKeyError(ValueError):
    """The file is not an RSA private key in PEM (the message says so in French)."""


def public_record(private_pem: bytes) -> str:
    """`v=DKIM1; k=rsa; p=<the public key, base64 DER>` for an RSA private key in PEM."""
    try:
        key = serialization.load_pem_private_key(private_pem, password=None)
    except (ValueError, TypeError) as error:
        raise DkimKeyError(
            "la clé DKIM n'est pas une clé privée PEM lisible (sans mot de passe)"
        ) from error
    if not isinstance(key, rsa.RSAPrivateKey):
        raise DkimKeyError("la clé DKIM doit être une clé RSA (openssl genrsa 2048)")
    if key.key_size < 1024:
        raise DkimKeyError(f"clé RSA de {key.key_size} bits : 1024 au moins, 2048 conseillé")
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"


def record_name(selector: str, domain: str) -> str:
    return f"{selector}._domainkey.{domain.rstrip('.')}."


def zone_line(selector: str, domain: str, record: str) -> str:
    """The record as a zone file line: a TXT value longer than 255 characters is written
    as several quoted strings, which DNS joins back (most DNS hosting forms take either)."""
    chunks = [record[i : i + 255] for i in range(0, len(record), 255)]
    quoted = " ".join(f'"{chunk}"' for chunk in chunks)
    return f"{record_name(selector, domain)} 3600 IN TXT ( {quoted} )"
