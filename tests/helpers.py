"""Acting as a person through the HTTP stack: forms carry the CSRF token like a browser's."""

from __future__ import annotations

import contextvars
import re
from datetime import timedelta

from domain.demo import world
from domain.demo.world import PASSWORD
from domain.outbox import MailContext

__all__ = ["PASSWORD"]  # the password of every account the builders make
MAIL_CONTEXT = MailContext(instance="main", site_name="Test", base_url="http://localhost")


_TOKEN = re.compile(r'"x-csrftoken": "([^"]+)"')


async def csrf_token(client) -> str:
    """The token a page gives to its forms, as a browser has it: a logged-in session's is
    bound to the session, a visitor's is the signed double-submit cookie. Read again only
    when the cookies changed (a login gives a new session)."""
    cookies = (client.cookies.get("session"), client.cookies.get("csrftoken"))
    cached = getattr(client, "_csrf_cache", None)
    if cached and cached[0] == cookies:
        return cached[1]
    page = await client.get("/connexion")
    token = _TOKEN.search(page.text).group(1)
    cookies = (client.cookies.get("session"), client.cookies.get("csrftoken"))
    client._csrf_cache = (cookies, token)
    return token


async def post_form(client, url: str, data: dict | None = None, *, htmx: bool = False, **kwargs):
    payload = dict(data or {})
    payload["_csrf_token"] = await csrf_token(client)
    headers = kwargs.pop("headers", {})
    if htmx:
        headers["HX-Request"] = "true"
    return await client.post(url, data=payload, headers=headers, **kwargs)


async def make_user(email: str, first_name: str = "Alice", last_name: str = "Durand") -> int:
    """An account made by the sign-up itself (its welcome mail queued), password PASSWORD."""
    return await world.person(email, first_name, last_name, signup=MAIL_CONTEXT)


async def make_group(admin_id: int, name: str = "AMAP du Test", kind: str = "amap") -> dict:
    return await world.group(admin_id, name, kind)


async def login(client, email: str, password: str = PASSWORD):
    response = await post_form(client, "/connexion", {"email": email, "password": password})
    assert response.status_code in (200, 303), response.text
    return response


def link_in(text: str, path_prefix: str) -> str:
    match = re.search(rf"https?://[^\s\"<>]*{re.escape(path_prefix)}[^\s\"<>]*", text)
    assert match, f"aucun lien {path_prefix} dans : {text}"
    return match.group(0)


async def make_distribution_world(
    admin_id: int,
    *,
    opens_in_hours: float = -1,
    closes_in_hours: float = 48,
    **options,
) -> dict:
    """A group with a producer, a catalog delivering at one distribution and products:
    `world.distribution_world` (kind, registration, products, stock, name, moment), its
    order window in hours from now."""
    return await world.distribution_world(
        admin_id,
        opens_in=timedelta(hours=opens_in_hours),
        closes_in=timedelta(hours=closes_in_hours),
        **options,
    )


_COUNTING: contextvars.ContextVar[QueryCounter | None] = contextvars.ContextVar(
    "query_counter", default=None
)


class QueryCounter:
    """Counts the SQL statements the engine runs for the code inside the `with` block (a
    context manager over the real engine). Only statements run from this context count: the
    app's background sweep and in-process job threads have their own, so they never skew it."""

    def __init__(self) -> None:
        self.count = 0
        self.rows = 0  # the rows those statements returned

    def __enter__(self):
        from domain.database import db

        self.cls = type(db())
        self.original = self.cls.run_querystring
        self.token = _COUNTING.set(self)
        original = self.original

        async def counting(engine, querystring, *args, **kwargs):
            counter = _COUNTING.get()
            if counter is not None:
                counter.count += 1
            response = await original(engine, querystring, *args, **kwargs)
            if counter is not None and isinstance(response, list):
                counter.rows += len(response)
            return response

        self.cls.run_querystring = counting
        # Fixed texts on PostgreSQL (domain.database.fetch) bypass run_querystring.
        from domain import database

        self.fixed = database.run_fixed

        async def counting_fixed(connection, text, args, _original=self.fixed):
            counter = _COUNTING.get()
            if counter is not None:
                counter.count += 1
            response = await _original(connection, text, args)
            if counter is not None:
                counter.rows += len(response)
            return response

        database.run_fixed = counting_fixed
        return self

    def __exit__(self, *exc):
        self.cls.run_querystring = self.original
        from domain import database

        database.run_fixed = self.fixed
        _COUNTING.reset(self.token)
