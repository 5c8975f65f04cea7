"""Hostile values posted to every form route of the app, for each role (Hypothesis, with a
fixed seed and a fixed number of examples: reproducible and bounded in time).

For every answer: never a 500; a refusal is a 4xx with one of the app's own French
messages (422 for a form with errors, htmx included), never a framework's English text;
and a refusal changes nothing in the database (row counts and a checksum of every table,
except the ones a refused request is meant to write: sessions, login throttling).
"""

from __future__ import annotations

import functools
import hashlib
import re
import typing
from urllib.parse import quote, quote_from_bytes

import msgspec
import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from piccolo.conf.apps import Finder

from domain.database import db
from domain.demo import world as build
from tests.helpers import csrf_token, login
from tests.web.access.test_access import registered_handlers

EXAMPLES = 2  # per route and role: 59 form routes x 4 roles x 2 = 472 hostile forms
# Tables a refused request may write by design: the session (a visitor's CSRF-bound
# session, a flash notice), the throttle of failed logins and rate-limited forms.
WRITTEN_ON_REFUSAL = {"web_session", "throttle"}
ROLES = ("anonymous", "member", "admin", "other_admin")

# What Hypothesis draws from: the inputs that broke the server, and generated text.
NASTY: list[str | bytes] = [
    "",
    " ",
    "²",
    "①",
    "١٢",
    "-1",
    "0",
    "1e999",
    "9" * 99,
    "99999999999",
    "9999999,99",
    "3,5",
    "NaN",
    "\x00",
    "a\x00b",
    b"caf\xe9",
    b"\xff\xfe",
    "x" * 301,
    "x" * 100_000,
    "<script>alert(1)</script>",
    "'; DROP TABLE app_user; --",
    "2026-02-30",
    "31/12/2026",
    "25:99",
    "../../etc/passwd",
    "é" * 120,
    "🥕" * 40,
    "\r\n\t",
]
VALUES = st.one_of(st.sampled_from(NASTY), st.text(max_size=40))
# In an address: what fits in a URL.
SEGMENTS = st.one_of(st.sampled_from([v for v in NASTY if len(v) < 400]), st.text(max_size=40))
FILES = st.sampled_from(
    [b"", b"\x00\xff" * 50, b"nom;prix\n\xff\xfe;\x00\n", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40]
)
ENGLISH = (
    "Validation failed",
    "Bad Request",
    "Not Found",
    "Internal Server Error",
    "Method Not Allowed",
    "Unprocessable",
    "Expected `",
    "Request Entity",
    "Traceback",
)


def form_routes(app) -> list[tuple[str, object]]:
    routes = []
    for description, handler in registered_handlers(app):
        if "POST" in (handler.http_methods or ()):
            routes.append((description.split(" ")[1], handler))
    return routes


def form_of(handler) -> tuple[list[str], list[str], bool]:
    """(text fields, file fields, multipart?) of the handler's `data`."""
    hints = typing.get_type_hints(handler.fn, include_extras=True)
    data = hints.get("data")
    if data is None:
        return [], [], False
    kind, *extras = typing.get_args(data) or (data,)
    multipart = any("MULTI_PART" in repr(extra) or "multipart" in repr(extra) for extra in extras)
    if not (isinstance(kind, type) and issubclass(kind, msgspec.Struct)):
        return ["q", "delta", "k", "key", "set", "user_id"], [], multipart  # a raw form
    text, files = [], []
    for field in msgspec.structs.fields(kind):
        (files if "UploadFile" in repr(field.type) else text).append(field.name)
    return text, files, multipart or bool(files)


def _param_value(name: str, world: dict, draw) -> str:
    if name in world["ids"]:
        return str(world["ids"][name])
    return quote(_text(draw(SEGMENTS)), safe="") or "x"


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def url_of(path: str, world: dict, draw) -> str:
    return re.sub(
        r"\{(\w+)(?::\w+)?\}",
        lambda m: _param_value(m.group(1), world, draw),
        path,
    )


def urlencoded(fields: dict[str, str | bytes]) -> bytes:
    def enc(value: str | bytes) -> str:
        raw = value if isinstance(value, bytes) else value.encode("utf-8")
        return quote_from_bytes(raw, safe="")

    return "&".join(f"{enc(name)}={enc(value)}" for name, value in fields.items()).encode()


# The mail worker sends in the background: an outbox row's state moves on its own.
COLUMNS = {"outbox_mail": "id, key, kind, to_addr, subject"}


@functools.cache
def tables() -> list:
    """Read once the tests configured the database (not at import)."""
    found = Finder().get_table_classes()
    return [t for t in found if t._meta.tablename not in WRITTEN_ON_REFUSAL]


async def checksum() -> dict[str, str]:
    """Row count and digest of every table, read in one transaction: one snapshot, and on
    SQLite one connection (Piccolo opens one per query outside a transaction)."""
    sums = {}
    async with db().transaction():
        for table in tables():
            name = table._meta.tablename
            rows = await table.raw(f"SELECT {COLUMNS.get(name, '*')} FROM {name}")  # noqa: S608
            digest = hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()
            sums[name] = f"{len(rows)}:{digest[:16]}"
    return sums


async def make_world() -> dict:
    admin = await build.person("admin@example.org", "Anne", "Admin")
    member = await build.person("member@example.org", "Marc", "Membre")
    other = await build.person("other@example.org", "Olga", "Autre")
    w = await build.distribution_world(admin, kind="amap", products=3, stock=5)
    # A large shop's page (sections, search, their fragments): more products, in categories.
    await build.products(w["catalog"], 70, name="Article {i:02d}", categories=["Pâtes", "Thé"])
    await build.join(w["group"]["id"], member)
    await build.group(other, "Marché d'ailleurs", "market")
    role = await build.duty_role(w["group"]["id"], "Accueil", 2)
    subscription = await build.subscription(
        member, w["catalog"], **build.season(), lines={w["products"][0]: 1}
    )
    ids = {
        "slug": w["group"]["slug"],
        "catalog_id": w["catalog"],
        "distribution_id": w["distribution"],
        "product_id": w["products"][0],
        "user_id": member,
        "group_id": w["group"]["id"],
        "vendor_id": w["vendor"],
        "place_id": w["place"],
        "role_id": role,
        "subscription_id": subscription,
        "section": "c-pates",  # a section of the ordering page
    }
    accounts = {
        "member": "member@example.org",
        "admin": "admin@example.org",
        "other_admin": "other@example.org",
    }
    return {"ids": ids, "accounts": accounts}


@pytest.fixture
def run_state() -> dict:
    """What the examples of one test share: its world, logged-in client, checksum."""
    return {}


@pytest.mark.parametrize("role", ROLES)
@seed(20261202)
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.generate],  # no shrinking: the first failing example is reported as is
    suppress_health_check=list(HealthCheck),
)
@given(data=st.data())
async def test_hostile_values_on_every_form_route(app, client, run_state, role, data):
    state = run_state
    if not state:
        state["world"] = await make_world()
        if role != "anonymous":
            await login(client, state["world"]["accounts"][role])
        state["routes"] = form_routes(app)
        assert len(state["routes"]) >= 50  # the walk sees the app's form routes
        state["sums"] = await checksum()
    world, problems = state["world"], []
    for path, handler in state["routes"]:
        text, files, multipart = form_of(handler)
        url = url_of(path, world, data.draw)
        values = {name: data.draw(VALUES) for name in text}
        token = await csrf_token(client)
        htmx = data.draw(st.booleans())
        headers = {"HX-Request": "true"} if htmx else {}
        if multipart:
            parts = {
                n: (None, v if isinstance(v, bytes) else v.encode()) for n, v in values.items()
            }
            parts |= {n: ("fichier.csv", data.draw(FILES), "text/csv") for n in files}
            parts["_csrf_token"] = (None, token.encode())
            response = await client.post(url, files=parts, headers=headers, follow_redirects=False)
        else:
            body = urlencoded(values | {"_csrf_token": token})
            headers["content-type"] = "application/x-www-form-urlencoded"
            response = await client.post(url, content=body, headers=headers, follow_redirects=False)
        where = f"POST {url[:80]} en {role} ({'htmx' if htmx else 'page'}) : {values!r:.300}"
        status = response.status_code
        if status >= 500:
            problems.append(f"{where} -> {status}")
            continue
        after = await checksum()
        if status >= 400:
            english = [phrase for phrase in ENGLISH if phrase in response.text]
            if english:
                problems.append(f"{where} -> {status} en anglais : {english}")
            changed = [t for t in after if after[t] != state["sums"][t]]
            if changed:
                problems.append(f"{where} -> {status} mais {changed} ont changé")
        state["sums"] = after
    assert not problems, f"{len(problems)} problèmes :\n" + "\n".join(problems[:40])


def test_the_walk_reads_the_fields_of_each_form(app):
    """The test above really posts each form's fields (not an empty form)."""
    by_name = {handler.handler_name: form_of(handler) for _, handler in form_routes(app)}
    assert "name" in by_name["create_group"][0]
    assert by_name["create_product"][1] == ["photo"] and by_name["create_product"][2]
    assert "q" in by_name["submit_order"][0]


def test_the_walk_sends_the_query_strings_of_the_ordering_pages(app):
    """The test below draws the ordering page's view (a section, a search) and the search
    fragment's text, and opens a real section of a large shop's page."""
    pages = {
        handler.handler_name: (description.split(" ")[1], handler)
        for description, handler in registered_handlers(app)
        if "GET" in (handler.http_methods or ())
    }
    assert query_params(pages["order_page"][1], pages["order_page"][0]) == ["section", "q"]
    assert query_params(pages["search_lines"][1], pages["search_lines"][0]) == ["q"]
    assert "{section:str}" in pages["section_lines"][0]


def query_params(handler, path: str) -> list[str]:
    """The handler's parameters that are neither in its path nor the framework's."""
    in_path = set(re.findall(r"\{(\w+)", path))
    reserved = {"request", "data", "state", "scope", "headers", "cookies", "return"}
    names = handler.parsed_fn_signature.parameters
    return [name for name in names if name not in in_path | reserved]


@pytest.mark.parametrize("role", ("anonymous", "admin"))
@seed(20261202)
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)
@given(data=st.data())
async def test_hostile_addresses_and_query_strings_on_every_page(
    app, client, run_state, role, data
):
    """Every page, its ids and texts in the address and its query parameters drawn from
    the same values: never a 500, never English."""
    state = run_state
    if not state:
        state["world"] = await make_world()
        if role != "anonymous":
            await login(client, state["world"]["accounts"][role])
        state["pages"] = [
            (description.split(" ")[1], handler)
            for description, handler in registered_handlers(app)
            if "GET" in (handler.http_methods or ()) and "{file_path" not in description
        ]
    problems = []
    for path, handler in state["pages"]:
        url = url_of(path, state["world"], data.draw)
        query = {name: _text(data.draw(SEGMENTS)) for name in query_params(handler, path)}
        if query:
            url += "?" + "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in query.items())
        response = await client.get(url, follow_redirects=False)
        if response.status_code >= 500:
            problems.append(f"GET {url[:200]} -> {response.status_code}")
        elif response.status_code >= 400 and any(p in response.text for p in ENGLISH):
            problems.append(f"GET {url[:200]} -> {response.status_code} en anglais")
    assert not problems, f"{len(problems)} problèmes :\n" + "\n".join(problems[:40])
