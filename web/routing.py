"""Host -> instance, and the groups moved to another instance.

Unknown hosts get a plain 404, never a redirect to some other host.

A request for a moved group's URL (`/g/{slug}` and everything under it) on one of the two
instances of the move is answered here, before sessions and guards:
- old host, from the move date to the end of the redirection: 301 (GET, HEAD) or 308 (other
  methods: a 301 lets browsers turn a POST into a GET and lose the form; 308 keeps the method
  and the body) to the same path and query on the new instance's URL;
- old host after the end: 410 and a page saying where the group is now (410 rather than 200:
  the address is gone for good, link checkers and search engines drop it; the page still
  shows, with the link);
- new host before the move date: 307 back to the old host (temporary: a cached permanent
  redirect would loop once the old host starts redirecting the other way).
Only `/g/...` URLs belong to a group. Invitation links (`/invitation/{token}`) name an
account, not a group, so they are not redirected: they work on every host (one database),
and the old host's home lists the member's moved groups with their new address. Product
photos (`/photos/...`) are served on every host; `/producteur` is per instance.
htmx requests get `HX-Redirect` (to the page they were on) or `HX-Refresh` instead, since
htmx would follow a redirect to another host in the background and swap nothing. The 301
carries `Cache-Control: max-age=86400` so that a move undone by the operator is not stuck
in browsers' caches forever.
The Location is always the configured URL of an instance + the request's path (which starts
with "/g/", re-encoded) + its query (re-encoded): a crafted Host, path or query cannot send
anyone elsewhere.

Cost: the moved groups are kept in memory and reloaded when their revision changes (read
with each `/g/` request: one single-row query); any other URL costs a string test.
Redirections are counted in memory and added to RedirectCount by one UPSERT per (group, day)
at most every 30 s (bench/redirect_bench.py compares with an UPSERT per redirection).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import logging
from collections import defaultdict
from datetime import date
from html import escape
from pathlib import Path
from urllib.parse import quote, unquote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar.datastructures import State
from litestar.types import ASGIApp, Receive, Scope, Send

from domain import instances
from domain.instances import Answer, Move
from domain.kernel import clock, dates
from domain.kernel.filters import FILTERS
from domain.settings import Instance, Settings
from web.observability import RequestLogMiddleware

log = logging.getLogger("web.routing")
ROOT = Path(__file__).resolve().parent
UNKNOWN_HOST_PAGE = (
    "<!doctype html><html lang=fr><meta charset=utf-8>"
    "<meta name=viewport content='width=device-width,initial-scale=1'>"
    "<title>Site inconnu</title><body style='font-family:sans-serif;margin:2em'>"
    "<h1>Site inconnu</h1><p>Aucun site de la plateforme ne répond à cette adresse. "
    "Vérifiez l'adresse saisie.</p></body></html>"
).encode()

FLUSH_SECONDS = 30.0
# Characters left as they are when re-encoding a path or a query for a Location header;
# everything else (CR, LF, spaces, backslashes, quotes, non-ASCII) is percent-encoded.
PATH_SAFE = "/%:@!$&'()*+,;=-._~"
QUERY_SAFE = PATH_SAFE + "?"


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


class MoveDirectory:
    """The moved groups by slug, in memory, and the redirections not yet written.

    Consistent across processes: every `/g/` request reads the revision of the moves (one
    indexed single-row read) and, when another process (the operator's `migrate-groups`)
    changed them, reloads before answering; so no process answers from a list that another
    already left (no 404 where the group is still served, no redirect loop between hosts)."""

    def __init__(self, flush_after: float = FLUSH_SECONDS) -> None:
        self.flush_after = flush_after
        self.by_slug: dict[str, Move] = {}
        self.revision: int | None = None
        self.loading: asyncio.Future | None = None
        self.pending: defaultdict[tuple[int, date], int] = defaultdict(int)
        self.flush_task: asyncio.Task | None = None

    def invalidate(self) -> None:
        """The next `/g/` request reloads before answering (a change made without bumping
        the revision: a test editing the table)."""
        self.revision = None

    async def get(self, slug: str) -> Move | None:
        try:
            revision = await instances.moves_revision()
        except Exception:  # noqa: BLE001 - the database is away: answer from the last list
            log.exception("révision des groupes déplacés illisible")
            return self.by_slug.get(slug)
        if revision != self.revision:
            if self.loading is None or self.loading.done():
                # One reload for the requests arriving together; in a fresh context (not
                # the request's: its log line's request id, the tests' query counts).
                self.loading = asyncio.get_running_loop().create_task(
                    self.refresh(revision), context=contextvars.Context()
                )
            await asyncio.shield(self.loading)
        return self.by_slug.get(slug)

    async def refresh(self, revision: int | None = None) -> None:
        try:
            self.by_slug = {move.slug: move for move in await instances.moves()}
            self.revision = revision
        except Exception:  # noqa: BLE001 - keep the last list; the guard still says 404
            log.exception("liste des groupes déplacés illisible")

    def count(self, move: Move) -> None:
        self.pending[(move.group_id, dates.paris_day(clock.now()))] += 1
        if self.flush_task is None or self.flush_task.done():
            self.flush_task = asyncio.get_running_loop().create_task(
                self._flush_later(), context=contextvars.Context()
            )

    async def _flush_later(self) -> None:
        await asyncio.sleep(self.flush_after)
        await self.flush()

    async def flush(self) -> None:
        batch, self.pending = dict(self.pending), defaultdict(int)
        try:
            await instances.add_redirect_counts(batch)
        except Exception:  # noqa: BLE001 - statistics: dropped rather than retried forever
            log.exception("compteurs de redirection perdus : %s", batch)

    def reset(self) -> None:
        """Forget everything (tests: a fresh database each time)."""
        for task in (self.flush_task, self.loading):
            if task is not None and not task.done():
                with contextlib.suppress(RuntimeError):  # its event loop may be gone
                    task.cancel()
        self.flush_task = None
        self.loading = None
        self.pending = defaultdict(int)
        self.by_slug = {}
        self.invalidate()


MOVES = MoveDirectory()


def _path_of(scope: Scope) -> str:
    """The path as received when it decodes to the routed one, else the routed one; then
    re-encoded. The routed path starts with "/g/<slug>", so the result never starts with
    "//" and never holds CR, LF or a backslash."""
    path = scope["path"]
    raw = scope.get("raw_path")
    if raw:
        raw_text = raw.split(b"?", 1)[0].decode("latin-1")
        if raw_text.startswith("/") and unquote(raw_text) == path:
            return quote(raw_text, safe=PATH_SAFE)
    return quote(path, safe=PATH_SAFE)


def target_url(instance: Instance, scope: Scope) -> str:
    query = scope.get("query_string", b"").decode("latin-1")
    url = instance.url.rstrip("/") + _path_of(scope)
    return url + "?" + quote(query, safe=QUERY_SAFE) if query else url


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""


def _htmx_target(instance: Instance, scope: Scope, move: Move) -> str:
    """htmx asked for a fragment (often a POST-only URL): send the browser to the page it
    shows, when that page is one of the group's, else to the group's home."""
    current = _header(scope, b"hx-current-url")
    path, _, query = current.split("://", 1)[-1].partition("/")[2].partition("?")
    path = "/" + unquote(path)
    home = f"/g/{move.slug}"
    if path != home and not path.startswith(home + "/"):
        path, query = home, ""
    url = instance.url.rstrip("/") + quote(path, safe=PATH_SAFE)
    return url + "?" + quote(query, safe=QUERY_SAFE) if query else url


_PAGES = Environment(
    loader=FileSystemLoader(ROOT / "templates" / "instances"),
    autoescape=select_autoescape(default=True),
)
_PAGES.filters.update(FILTERS)


def _css_version() -> str:
    css = ROOT.parent / "static" / "app.css"
    return hashlib.sha256(css.read_bytes()).hexdigest()[:12] if css.exists() else "0"


class InstanceMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings, moves: MoveDirectory = MOVES) -> None:
        self.app = app
        self.settings = settings
        self.moves = moves
        self.by_key = {instance.key: instance for instance in settings.instances}
        self.css = f"/static/app.css?v={_css_version()}"
        # Through the request log too: these answers also get their line and X-Request-ID.
        self.answer_app = RequestLogMiddleware(self._answer)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        instance = self.settings.instance_for_host(host_of(scope))
        if instance is None and scope["path"] != "/healthz":
            await _UNKNOWN_HOST_APP(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        if isinstance(state, State):
            state.instance = instance or self.settings.default_instance
        else:
            state["instance"] = instance or self.settings.default_instance
        path = scope["path"]
        if instance is not None and scope["type"] == "http" and path.startswith("/g/"):
            slug = path[3:].partition("/")[0]
            move = await self.moves.get(slug) if slug else None
            scope["move_checked"] = slug  # the guard: this host may serve it (see access)
            if move is not None:
                answer = move.answer(instance.key, clock.now())
                if answer is not Answer.SERVE:
                    scope["moved_group"] = (move, answer)
                    await self.answer_app(scope, receive, send)
                    return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        move, answer = scope["moved_group"]
        target = self.by_key.get(move.previous_instance if answer is Answer.BACK else move.instance)
        if target is None:  # an instance no longer in the settings: nowhere safe to send to
            await self.app(scope, receive, send)
            return
        url = target_url(target, scope)
        htmx = _header(scope, b"hx-request") == "true"
        method = scope["method"]
        if answer is Answer.GONE:
            if htmx:  # htmx swaps no 4xx: reload the page, which shows the full explanation
                await _send(send, 200, b"", [(b"hx-refresh", b"true")])
                return
            page = _PAGES.get_template("moved.html").render(
                group=move.name,
                old=self.by_key.get(move.previous_instance, target).name,
                new=target,
                url=url,
                until=move.redirect_until,
                css=self.css,
            )
            body = b"" if method == "HEAD" else page.encode()
            await _send(send, 410, body, [(b"content-type", b"text/html; charset=utf-8")])
            return
        if answer is Answer.REDIRECT:
            self.moves.count(move)
        if htmx:
            await _send(
                send,
                200,
                b"",
                [(b"hx-redirect", _htmx_target(target, scope, move).encode("latin-1"))],
            )
            return
        if answer is Answer.BACK:
            status, cache = 307, b"no-store"
        else:
            status, cache = (301 if method in ("GET", "HEAD") else 308), b"max-age=86400"
        link = escape(url, quote=True)
        body = (
            f"<!doctype html><meta charset=utf-8><title>Groupe déplacé</title>"
            f'<p>Ce groupe est sur {escape(target.name)} : <a href="{link}">{link}</a></p>'
        ).encode()
        await _send(
            send,
            status,
            b"" if method == "HEAD" else body,
            [
                (b"location", url.encode("latin-1")),
                (b"cache-control", cache),
                (b"content-type", b"text/html; charset=utf-8"),
            ],
        )


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
