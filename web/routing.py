"""Host -> instance. Unknown hosts get a plain 404, never a redirect to some other host."""

from __future__ import annotations

from litestar.datastructures import State
from litestar.types import ASGIApp, Receive, Scope, Send

from domain.settings import Settings
from web.observability import RequestLogMiddleware

UNKNOWN_HOST_PAGE = (
    "<!doctype html><html lang=fr><meta charset=utf-8>"
    "<meta name=viewport content='width=device-width,initial-scale=1'>"
    "<title>Site inconnu</title><body style='font-family:sans-serif;margin:2em'>"
    "<h1>Site inconnu</h1><p>Aucun site de la plateforme ne répond à cette adresse. "
    "Vérifiez l'adresse saisie.</p></body></html>"
).encode()


def host_of(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"host":
            return value.decode("latin-1")
    server = scope.get("server")
    return server[0] if server else ""


async def _unknown_host(scope: Scope, receive: Receive, send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 404,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(UNKNOWN_HOST_PAGE)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": UNKNOWN_HOST_PAGE})


_UNKNOWN_HOST_APP = RequestLogMiddleware(_unknown_host)


class InstanceMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        instance = self.settings.instance_for_host(host_of(scope))
        if instance is None and scope["path"] != "/healthz":
            # Through the request log too: this answer also gets its line and its X-Request-ID.
            await _UNKNOWN_HOST_APP(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        if isinstance(state, State):
            state.instance = instance or self.settings.default_instance
        else:
            state["instance"] = instance or self.settings.default_instance
        await self.app(scope, receive, send)
