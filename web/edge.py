"""Bytes no handler should ever see are refused at the edge, with a French 400.

A NUL byte is refused by PostgreSQL (and stored as is by SQLite), and text that is not
UTF-8 would be decoded as replacement characters ("��") by the form parser or fail in the
multipart one. Both are refused here, before any lookup, for the path, the query string
and the text fields of a form (urlencoded or multipart; files are left to their handlers),
whatever the engine. A single value is also capped (no field of the app takes more than a
message body), so that a 100 KB string is a French refusal, not work for the server.
"""

from __future__ import annotations

import email.parser
import email.policy
from html import escape
from urllib.parse import unquote_to_bytes

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from web.observability import RequestLogMiddleware

# The longest text any form takes: a message's body (GroupMessage.body).
MAX_VALUE = 50_000
MAX_FIELDS = 5_000  # a bulk action on a 1,000-product catalog sends 1,000 ids
# The largest body a route accepts (the member import); beyond, Litestar says 413 anyway.
MAX_BODY = 16 * 1024 * 1024 + 64 * 1024
MAX_FORM = 10 * 1024 * 1024  # an urlencoded form carries no file: Litestar's default limit

LABELS = {
    "email": "E-mail",
    "new_email": "Nouvel e-mail",
    "login_email": "E-mail de connexion",
    "password": "Mot de passe",
    "current_password": "Mot de passe actuel",
    "new_password": "Nouveau mot de passe",
    "first_name": "Prénom",
    "last_name": "Nom",
    "name": "Nom",
    "phone": "Téléphone",
    "address": "Adresse",
    "city": "Ville",
    "postal_code": "Code postal",
    "description": "Description",
    "subject": "Objet",
    "body": "Message",
    "message": "Message",
    "answer": "Réponse",
    "unit": "Unité",
    "reference": "Référence",
    "means": "Moyen de paiement",
}


class Refusal(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def label_of(name: str) -> str:
    return LABELS.get(name, name)


def check_text(name: str, raw: bytes, *, where: str = "field") -> None:
    """One decoded value (or name): NUL, invalid UTF-8 and excess length are refused."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refusal(_unreadable(name, where)) from None
    if "\x00" in text:
        if where == "address":
            raise Refusal("L'adresse de la page contient un caractère nul : elle n'existe pas.")
        raise Refusal(
            f"Le champ « {label_of(name)} » contient un caractère nul : retirez-le et recommencez."
        )
    if len(text) > MAX_VALUE:
        raise Refusal(
            f"Le champ « {label_of(name)} » est trop long : "
            f"{MAX_VALUE:_} caractères au plus.".replace("_", "\u202f")
        )


def _unreadable(name: str, where: str) -> str:
    if where == "address":
        return "L'adresse de la page contient des caractères illisibles : elle n'existe pas."
    return (
        f"Le champ « {label_of(name)} » contient du texte illisible (pas en UTF-8) : "
        "saisissez-le à nouveau."
    )


def check_pairs(encoded: bytes, *, where: str = "field") -> None:
    """`a=1&b=2` as a query string or an urlencoded body."""
    pairs = [pair for pair in encoded.split(b"&") if pair]
    if len(pairs) > MAX_FIELDS:
        raise Refusal("Le formulaire envoyé contient trop de champs.")
    for pair in pairs:
        raw_name, _, raw_value = pair.partition(b"=")
        name_bytes = unquote_to_bytes(raw_name.replace(b"+", b" "))
        check_text("?", name_bytes, where=where)
        name = name_bytes.decode("utf-8")
        check_text(name, unquote_to_bytes(raw_value.replace(b"+", b" ")), where=where)


def check_multipart(content_type: bytes, body: bytes) -> None:
    """The text parts of a multipart form (those without a file name)."""
    try:
        header = b"Content-Type: " + content_type + b"\r\n\r\n"
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(header + body)
    except Exception:  # noqa: BLE001 - Litestar then refuses the form itself
        return
    if not message.is_multipart():
        return
    parts = list(message.iter_parts())
    if len(parts) > MAX_FIELDS:
        raise Refusal("Le formulaire envoyé contient trop de champs.")
    for part in parts:
        raw_name = part.get_param("name", header="content-disposition") or ""
        name = str(raw_name)
        check_text("?", name.encode("utf-8", "surrogateescape"))
        if part.get_filename() is not None:
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            check_text(name, payload)


class InputGuard:
    """Outside the router: a refused request reaches no lookup, no session, no handler."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.refuse_app = RequestLogMiddleware(self._refuse)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            raw_path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
            check_text("", unquote_to_bytes(raw_path), where="address")
            check_pairs(scope.get("query_string", b""), where="query")
        except Refusal as refusal:
            await self._answer(scope, receive, send, refusal.detail)
            return
        content_type = _header(scope, b"content-type")
        kind = content_type.split(b";")[0].strip().lower()
        if scope["method"] not in ("POST", "PUT", "PATCH") or kind not in (
            b"application/x-www-form-urlencoded",
            b"multipart/form-data",
        ):
            await self.app(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            limit = MAX_BODY if kind == b"multipart/form-data" else MAX_FORM
            if len(body) > limit:
                await self._answer(
                    scope, receive, send, "Le fichier envoyé est trop volumineux.", 413
                )
                return
            if not message.get("more_body", False):
                break
        data = bytes(body)
        try:
            if kind == b"multipart/form-data":
                check_multipart(content_type, data)
            else:
                check_pairs(data)
        except Refusal as refusal:
            await self._answer(scope, receive, send, refusal.detail)
            return
        await self.app(scope, _replay(data, receive), send)

    async def _answer(
        self, scope: Scope, receive: Receive, send: Send, detail: str, status: int = 400
    ) -> None:
        scope["input_refusal"] = (status, detail)
        await self.refuse_app(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        status, detail = scope["input_refusal"]
        if _header(scope, b"hx-request") == b"true":
            # As web/errors.py answers htmx: static/app.js shows the sentence.
            body = detail.encode()
            headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"hx-reswap", b"none")]
        else:
            body = _page(status, detail)
            headers = [(b"content-type", b"text/html; charset=utf-8")]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> bytes:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value
    return b""


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _page(status: int, detail: str) -> bytes:
    title = "Fichier trop volumineux" if status == 413 else "Saisie refusée"
    return (
        "<!doctype html><html lang=fr><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        f"<title>{title}</title><link rel=stylesheet href='/static/app.css'>"
        f"<body><main class=page><h1>{title}</h1><p class=error role=alert>{escape(detail)}</p>"
        "<p>Rien n'a été enregistré : revenez à la page précédente pour corriger la saisie, "
        "ou <a href='/'>allez à l'accueil</a>.</p></main></body></html>"
    ).encode()
