"""Sessions: a random token in an HttpOnly cookie, the session itself in the database.

Loaded with its user in one query before the routes run (the access guard then needs no
query for the user), written back after the handler only when it changed, created only
when there is something to keep: a visitor without a basket costs no write. A token that
names no session (expired, invented, planted by someone else) is never adopted: if the
request leaves something to keep, it gets a token of its own. `log_in`, `log_out` and
`rotate` give the browser a new token (session fixation).
"""

from __future__ import annotations

import re
from http.cookies import SimpleCookie

from litestar import Request
from litestar.datastructures import State
from litestar.types import ASGIApp, Empty, Message, Receive, Scope, Send

from domain import sessions
from domain.kernel import clock

COOKIE = "session"
MAX_AGE = int(sessions.LIFETIME.total_seconds())


def log_in(request: Request, user_id: int) -> None:
    """A new session token at login; only a visitor's baskets are carried over, so that
    they can validate them."""
    kept = {k: v for k, v in (request.session or {}).items() if k.startswith("basket:")}
    request.set_session({**kept, "user_id": user_id})
    rotate(request)


def log_out(request: Request) -> None:
    request.set_session({})
    rotate(request)


def rotate(request: Request) -> None:
    """The session keeps its data under a new token (the old one stops working)."""
    request.scope["session_rotate"] = True


def _cookie(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            jar = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # noqa: BLE001 - a malformed Cookie header is no session
                return ""
            if COOKIE in jar:
                return jar[COOKIE].value
    return ""


class SessionMiddleware:
    def __init__(self, app: ASGIApp, *, secure: bool, exclude: list[str]) -> None:
        self.app = app
        self.secure = secure
        self.exclude = re.compile("|".join(exclude)) if exclude else None

    def _set_cookie(self, token: str, max_age: int) -> bytes:
        attributes = f"Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax"
        if self.secure:
            attributes += "; Secure"
        return f"{COOKIE}={token}; {attributes}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (self.exclude and self.exclude.search(scope["path"])):
            await self.app(scope, receive, send)
            return
        token = _cookie(scope)
        found = await sessions.load(token, clock.now()) if token else None
        data, user, meta = found if found else ({}, None, None)
        if user is None and "user_id" in data:
            data = {k: v for k, v in data.items() if k != "user_id"}  # the account is gone
        scope["session"] = dict(data)
        scope["session_meta"] = meta
        state = scope.setdefault("state", {})
        if isinstance(state, State):
            state.user = user
        else:
            state["user"] = user

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookie = await self._persist(scope, meta, sent_token=bool(token))
                if cookie is not None:
                    message["headers"] = [*message.get("headers", []), (b"set-cookie", cookie)]
            await send(message)

        await self.app(scope, receive, send_wrapper)

    async def _persist(self, scope: Scope, meta: dict | None, *, sent_token: bool) -> bytes | None:
        data = scope.get("session")
        data = {} if data is Empty or not isinstance(data, dict) else data
        moment = clock.now()
        if meta is not None and (scope.get("session_rotate") or not data):
            await sessions.delete(meta)
            meta = None
            sent_token = True  # the browser holds a token that no longer works
        if meta is None:
            if data:
                return self._set_cookie(await sessions.create(data, moment), MAX_AGE)
            return self._set_cookie("", 0) if sent_token else None
        await sessions.save(meta, data, moment)
        return None
