"""Server-side sessions that cost nothing for visitors who have none.

Litestar stores the session of every response, even an empty one: a file write (or a
Redis key) per anonymous page view, kept 30 days. Here an empty session of a request
that came without a session cookie is neither stored nor sent back.
"""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.types import Empty, Message, ScopeSession


class LazySessionBackend(ServerSideSessionBackend):
    async def store_in_message(
        self, scope_session: ScopeSession, message: Message, connection: ASGIConnection
    ) -> None:
        had_cookie = self.config.key in connection.cookies
        if not had_cookie and (scope_session is Empty or not scope_session):
            return
        await super().store_in_message(scope_session, message, connection)


class AppSessionConfig(ServerSideSessionConfig):
    _backend_class = LazySessionBackend
