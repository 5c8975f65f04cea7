"""CSRF protection: every form and htmx request carries a token that another site cannot
know.

With a logged-in session the token is an HMAC of the session's key: bound to it, it changes
at every login (the session gets a new key), and a cookie planted by someone else is
worth nothing. A visitor without a session (a guest filling a basket) gets Litestar's
signed double-submit cookie, so that no session is written for visitors.
"""

from __future__ import annotations

import re
from secrets import compare_digest
from typing import Any

from litestar.enums import RequestEncodingType, ScopeType
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.middleware._utils import should_bypass_middleware
from litestar.middleware.csrf import CSRFMiddleware, generate_csrf_token
from litestar.types import Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from domain.kernel import tokens

SESSION_TOKEN = re.compile(r"[0-9a-f]{64}")  # a visitor's (Litestar's) token has 128


def session_token(secret: str, meta: dict) -> str:
    return tokens.short_mac(secret, f"csrf:{meta['key_hash']}", 64)


def is_session_token(sent: str) -> bool:
    """The shape of a logged-in session's token, not its value (there is no session left
    to check it against): such a request can only say « log in again »."""
    return bool(SESSION_TOKEN.fullmatch(sent))


class BoundCSRFMiddleware(CSRFMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or should_bypass_middleware(
            scope=scope,
            scopes=self.scopes,
            exclude_opt_key=self.config.exclude_from_csrf_key,
            exclude_path_pattern=self.exclude,
        ):
            await self.app(scope, receive, send)
            return
        meta = scope.get("session_meta")
        logged_in = bool(meta and scope.get("session", {}).get("user_id"))
        request: Any = scope["litestar_app"].request_class(scope=scope, receive=receive)
        state = ScopeState.from_scope(scope)
        cookie = request.cookies.get(self.config.cookie_name)
        if request.method in self.config.safe_methods:
            if logged_in:
                state.csrf_token = session_token(self.config.secret, meta)
                await self.app(scope, receive, send)
                return
            token = state.csrf_token = cookie or generate_csrf_token(secret=self.config.secret)
            await self.app(scope, receive, self.create_send_wrapper(send, token, cookie))
            return
        sent = request.headers.get(self.config.header_name)
        content_type, _ = request.content_type
        if not sent and content_type in {
            RequestEncodingType.URL_ENCODED,
            RequestEncodingType.MULTI_PART,
        }:
            sent = (await request.form()).get("_csrf_token")
        if not isinstance(sent, str):
            raise PermissionDeniedException("CSRF token verification failed")
        if logged_in:
            expected = session_token(self.config.secret, meta)
            if not compare_digest(sent.encode(), expected.encode()):
                raise PermissionDeniedException("CSRF token verification failed")
        elif cookie is None or not self._csrf_tokens_match(sent, cookie):
            if is_session_token(sent):
                # A page of a logged-in session whose session is gone (expired, ended in
                # another tab): the person logs in again and comes back (web/errors.py).
                raise NotAuthorizedException("Votre session a expiré : connectez-vous.")
            raise PermissionDeniedException("CSRF token verification failed")
        state.csrf_token = sent
        await self.app(scope, receive, send)
