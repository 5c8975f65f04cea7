"""Groups moved to another instance: redirection of every group URL from the old host to the
new one during the window, the page after it, the way back before it, the login on the new
host, what PARAMÈTRES shows, the operator commands, and crafted requests that must never
redirect anywhere but to a configured instance.

The test settings are the defaults: "main" (Circuit Court) on localhost / 127.0.0.1 at
http://localhost, "amap" (Camap) on amap.localhost at http://amap.localhost.
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from domain import instances
from domain.demo import world as build
from domain.instances import InstanceError, migrate_groups
from domain.kernel import dates
from domain.kernel.dates import paris_midnight
from domain.tables import Group, Order, OrderLine, RedirectCount
from tests.helpers import (
    QueryCounter,
    login,
    make_group,
    make_user,
    post_form,
)
from web import routing

ROOT = Path(__file__).resolve().parents[3]
MAIN = "http://localhost"
AMAP = "http://amap.localhost"
CONFIGURED = (MAIN + "/", AMAP + "/")


@pytest.fixture(autouse=True)
def fresh_moves():
    routing.MOVES.reset()
    yield
    routing.MOVES.reset()


@pytest.fixture
async def amap_client(app):
    """A browser on the AMAP instance's host: its own cookies, as a real browser keeps them."""
    return AsyncTestClient(app=app, base_url=AMAP)


def now() -> datetime:
    return datetime.now(UTC)


async def move(group_id: int, *, start: timedelta, end: timedelta | None, to="amap", old="main"):
    """Moved at now+start, redirected until now+end (negative: in the past)."""
    await Group.update(
        {
            Group.instance: to,
            Group.previous_instance: old,
            Group.migrated_at: now() + start,
            Group.redirect_until: now() + end if end is not None else None,
        }
    ).where(Group.id == group_id)
    routing.MOVES.invalidate()


DURING = {"start": timedelta(days=-1), "end": timedelta(days=30)}
BEFORE = {"start": timedelta(days=1), "end": timedelta(days=30)}
AFTER = {"start": timedelta(days=-30), "end": timedelta(hours=-1)}


async def world() -> dict:
    admin = await make_user("admin@example.org", "Anne", "Admin")
    w = await build.distribution_world(admin, kind="amap", name="AMAP des Lilas")
    w["admin"] = admin
    w["slug"] = w["group"]["slug"]
    return w


def group_urls(w: dict) -> list[str]:
    """Every kind of group URL: home, tabs, a distribution's ordering page, PARAMÈTRES,
    catalog pages, the CSV export and print URL patterns, with and without a query."""
    s, c, d = w["slug"], w["catalog"], w["distribution"]
    return [
        f"/g/{s}",
        f"/g/{s}/",
        f"/g/{s}/commandes",
        f"/g/{s}/commandes/{d}",
        f"/g/{s}/commandes/{d}?vue=panier&x=1",
        f"/g/{s}/contrats",
        f"/g/{s}/membres?q=dur%C3%A9e&page=2",
        f"/g/{s}/parametres",
        f"/g/{s}/catalogues",
        f"/g/{s}/catalogues/{c}/gerer",
        f"/g/{s}/catalogues/{c}/produits?actifs=1",
        f"/g/{s}/catalogues/{c}/commandes",
        f"/g/{s}/catalogues/{c}/commandes/{d}?vue=adherents",
        f"/g/{s}/catalogues/{c}/commandes/{d}/produits.csv",
        f"/g/{s}/catalogues/{c}/commandes/{d}/adherents.csv?sep=%3B",
        f"/g/{s}/catalogues/{c}/commandes/{d}/emargement",
        f"/g/{s}/catalogues/{c}/commande-en-gros?distribution={d}",
        f"/g/{s}/page/qui/n-existe/pas?a=b&c=%2F%2F",
    ]


# --- redirection during the window ----------------------------------------------------------


async def test_every_group_url_is_redirected_with_its_path_and_query(client):
    w = await world()
    await move(w["group"]["id"], **DURING)
    for url in group_urls(w):
        response = await client.get(url, follow_redirects=False)
        assert response.status_code == 301, url
        assert response.headers["location"] == AMAP + url, url
        assert "max-age" in response.headers["cache-control"]
        assert "set-cookie" not in response.headers, url  # answered before any session
        head = await client.head(url, follow_redirects=False)
        assert (head.status_code, head.headers["location"]) == (301, AMAP + url)
    # A form post keeps its method and body: 308, not 301.
    for url in (f"/g/{w['slug']}/parametres", f"/g/{w['slug']}/commandes/{w['distribution']}"):
        response = await client.post(url, data={"name": "x"}, follow_redirects=False)
        assert response.status_code == 308, url
        assert response.headers["location"] == AMAP + url
    # The new host serves the group.
    page = await AsyncTestClient(app=client.app, base_url=AMAP).get(f"/g/{w['slug']}")
    assert page.status_code == 200 and "AMAP des Lilas" in page.text


async def test_the_redirect_is_followed_to_the_same_page_on_the_new_host(client):
    w = await world()
    await move(w["group"]["id"], **DURING)
    response = await client.get(f"/g/{w['slug']}?ref=lettre", follow_redirects=True)
    assert response.status_code == 200
    assert str(response.url) == f"{AMAP}/g/{w['slug']}?ref=lettre"
    assert "AMAP des Lilas" in response.text


async def test_other_urls_and_other_groups_are_not_redirected(client):
    w = await world()
    other = await make_group(w["admin"], "Marché du Port", "market")
    await move(w["group"]["id"], **DURING)
    assert (await client.get(f"/g/{other['slug']}", follow_redirects=False)).status_code == 200
    for url in ("/", "/connexion", "/static/app.css", "/healthz", "/g/", "/g", "/commandes"):
        response = await client.get(url, follow_redirects=False)
        assert "location" not in response.headers or not response.headers["location"].startswith(
            AMAP
        ), url
    # A slug that only starts like the moved one is another group.
    response = await client.get(f"/g/{w['slug']}x", follow_redirects=False)
    assert response.status_code == 404


async def test_redirections_are_counted_per_group_and_day(client):
    w = await world()
    await move(w["group"]["id"], **DURING)
    for _ in range(3):
        await client.get(f"/g/{w['slug']}", follow_redirects=False)
    await client.post(f"/g/{w['slug']}/parametres", follow_redirects=False)
    await routing.MOVES.flush()
    today = dates.paris_day(now())
    rows = await RedirectCount.select().where(RedirectCount.group == w["group"]["id"])
    assert [(r["day"], r["count"]) for r in rows] == [(today, 4)]
    await client.get(f"/g/{w['slug']}/commandes", follow_redirects=False)
    await routing.MOVES.flush()
    rows = await RedirectCount.select().where(RedirectCount.group == w["group"]["id"])
    assert [(r["day"], r["count"]) for r in rows] == [(today, 5)]  # the same row, added to
    # Days are Paris days; UPSERTs add up.
    await instances.add_redirect_counts({(w["group"]["id"], date(2026, 3, 14)): 7})
    await instances.add_redirect_counts({(w["group"]["id"], date(2026, 3, 14)): 2})
    rows = await RedirectCount.select().where(RedirectCount.day == date(2026, 3, 14))
    assert rows[0]["count"] == 9


# --- before, during, after ------------------------------------------------------------------


async def test_before_the_move_date_the_old_host_serves_and_the_new_one_sends_back(
    client, amap_client
):
    w = await world()
    await move(w["group"]["id"], **BEFORE)
    url = f"/g/{w['slug']}/commandes/{w['distribution']}?x=1"
    assert (await client.get(f"/g/{w['slug']}", follow_redirects=False)).status_code == 200
    response = await amap_client.get(url, follow_redirects=False)
    # Temporary and not cached: from the move date the old host redirects the other way.
    assert response.status_code == 307
    assert response.headers["location"] == MAIN + url
    assert response.headers["cache-control"] == "no-store"
    await routing.MOVES.flush()
    assert not await RedirectCount.exists()  # only redirections of the move are counted


async def test_during_the_window_the_old_host_redirects_and_the_new_one_serves(client, amap_client):
    w = await world()
    await move(w["group"]["id"], **DURING)
    assert (await client.get(f"/g/{w['slug']}", follow_redirects=False)).status_code == 301
    assert (await amap_client.get(f"/g/{w['slug']}", follow_redirects=False)).status_code == 200


async def test_after_the_end_the_old_host_explains_where_the_group_is(client, amap_client):
    w = await world()
    await move(w["group"]["id"], **AFTER)
    url = f"/g/{w['slug']}/commandes/{w['distribution']}?vue=panier&a=%C3%A9"
    response = await client.get(url, follow_redirects=False)
    assert response.status_code == 410
    assert "location" not in response.headers
    text = response.text
    assert "Ce groupe a déménagé" in text
    assert "AMAP des Lilas" in text and "Camap" in text
    assert f'href="{AMAP}{url.replace("&", "&amp;")}"' in text  # the same page, new host
    assert "mêmes identifiants" in text
    assert "a pris fin le" in text
    head = await client.head(url, follow_redirects=False)
    assert head.status_code == 410 and head.content == b""
    # The new host serves it; an htmx request on the old host reloads into the full page.
    assert (await amap_client.get(f"/g/{w['slug']}", follow_redirects=False)).status_code == 200
    htmx = await client.get(url, headers={"HX-Request": "true"}, follow_redirects=False)
    assert htmx.status_code == 200 and htmx.headers["hx-refresh"] == "true"


async def test_a_move_without_end_date_redirects_for_good(client):
    w = await world()
    await move(w["group"]["id"], start=timedelta(days=-400), end=None)
    response = await client.get(f"/g/{w['slug']}", follow_redirects=False)
    assert response.status_code == 301


async def test_reverse_direction_amap_to_main(client, amap_client):
    """A group moved the other way: the AMAP host redirects to the main one."""
    w = await world()
    await move(w["group"]["id"], to="main", old="amap", **DURING)
    url = f"/g/{w['slug']}/parametres?onglet=2"
    response = await amap_client.get(url, follow_redirects=False)
    assert response.status_code == 301
    assert response.headers["location"] == MAIN + url
    assert (await client.get(f"/g/{w['slug']}", follow_redirects=False)).status_code == 200


async def test_a_group_never_moved_stays_a_404_on_the_other_host(amap_client):
    w = await world()
    response = await amap_client.get(f"/g/{w['slug']}", follow_redirects=False)
    assert response.status_code == 404
    assert "location" not in response.headers


async def test_htmx_requests_get_the_page_they_were_on(client):
    w = await world()
    await move(w["group"]["id"], **DURING)
    page = f"/g/{w['slug']}/commandes/{w['distribution']}?vue=panier"
    fragment = f"/g/{w['slug']}/commandes/{w['distribution']}/ligne/{w['products'][0]}"
    response = await client.post(
        fragment,
        headers={"HX-Request": "true", "HX-Current-URL": MAIN + page},
        follow_redirects=False,
    )
    assert response.status_code == 200
    assert response.headers["hx-redirect"] == AMAP + page
    # A current page elsewhere (or forged) is replaced by the group's home, on the new host.
    for current in ("http://evil.example/ailleurs", "", "//evil.example/g/x", f"{MAIN}/compte"):
        response = await client.post(
            fragment,
            headers={"HX-Request": "true", "HX-Current-URL": current},
            follow_redirects=False,
        )
        assert response.headers["hx-redirect"] == f"{AMAP}/g/{w['slug']}", current


# --- crafted requests -----------------------------------------------------------------------


async def raw_request(
    app, path: str, *, host: str = "localhost", raw_path: bytes | None = None, query=b"", **kw
) -> tuple[int, dict[str, str]]:
    """One request straight through the ASGI app, with exactly the scope given."""
    messages = []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": kw.get("method", "GET"),
        "scheme": "http",
        "path": path,
        "raw_path": raw_path if raw_path is not None else path.encode("latin-1"),
        "root_path": "",
        "query_string": query,
        "headers": [(b"host", host.encode("latin-1")), *kw.get("headers", [])],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
    }

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        messages.append(message)

    await app(scope, receive, send)
    start = next(m for m in messages if m["type"] == "http.response.start")
    headers = {}
    for name, value in start["headers"]:
        headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return start["status"], headers


def assert_safe(status: int, headers: dict[str, str], what: str) -> None:
    location = headers.get("location")
    if location is not None:
        assert location.startswith(CONFIGURED), f"{what} : {location!r}"
        assert "\r" not in location and "\n" not in location, what
        assert "\\" not in location, what
    assert "x-injected" not in headers, what


async def test_crafted_hosts_never_redirect_elsewhere(app, client):
    w = await world()
    await move(w["group"]["id"], **DURING)
    url = f"/g/{w['slug']}/commandes"
    for host in ("evil.example", "evil.example:80", "localhost.evil.example", "localhost@evil"):
        response = await client.get(url, headers={"Host": host}, follow_redirects=False)
        assert response.status_code == 404, host
        assert "Site inconnu" in response.text and "location" not in response.headers, host
    # A known host with a port, or in capitals, or with a trailing dot: the configured URL.
    for host in ("localhost:8000", "LOCALHOST", "localhost.", "127.0.0.1:80"):
        response = await client.get(url, headers={"Host": host}, follow_redirects=False)
        assert response.status_code == 301, host
        assert response.headers["location"] == AMAP + url, host
    # Forwarding headers are not a source for the Location either.
    response = await client.get(
        url,
        headers={"X-Forwarded-Host": "evil.example", "Forwarded": "host=evil.example"},
        follow_redirects=False,
    )
    assert response.headers["location"] == AMAP + url
    # Absolute-form request targets (as a server may pass them on) and a raw path that
    # disagrees with the routed one.
    status, headers = await raw_request(
        app, f"http://evil.example{url}", raw_path=f"http://evil.example{url}".encode()
    )
    assert_safe(status, headers, "absolute-form")
    assert status == 404
    status, headers = await raw_request(app, url, raw_path=f"http://evil.example{url}".encode())
    assert (status, headers["location"]) == (301, AMAP + url)
    status, headers = await raw_request(app, url, raw_path=b"//evil.example/x")
    assert (status, headers["location"]) == (301, AMAP + url)


async def test_crafted_paths_and_queries_never_redirect_elsewhere(app, client):
    w = await world()
    await move(w["group"]["id"], **DURING)
    s = w["slug"]
    cases = [
        # (path as routed, raw path as received, query)
        ("//evil.example", b"//evil.example", b""),
        ("///evil.example", b"/%2F%2Fevil.example", b""),
        ("/\\evil.example", b"/\\evil.example", b""),
        ("/g///evil.example", b"/g/%2F%2Fevil.example", b""),
        ("/g/\\\\evil.example", b"/g/%5C%5Cevil.example", b""),
        (f"/g/{s}/..//evil.example", f"/g/{s}/..//evil.example".encode(), b""),
        (f"/g/{s}//evil.example", f"/g/{s}//evil.example".encode(), b""),
        (f"/g/{s}/\\evil.example", f"/g/{s}/\\evil.example".encode(), b""),
        (f"/g/{s}/\r\nX-Injected: 1", f"/g/{s}/%0D%0AX-Injected:%201".encode(), b""),
        (f"/g/{s}", f"/g/{s}".encode(), b"next=//evil.example&u=http://evil.example"),
        (f"/g/{s}", f"/g/{s}".encode(), b"a=1\r\nX-Injected: 1"),
        (f"/g/{s}", f"/g/{s}".encode(), b"a=\\\\evil.example#frag"),
        (f"/g/{s}/é", f"/g/{s}/%C3%A9".encode(), "q=été".encode()),
    ]
    for path, raw_path, query in cases:
        status, headers = await raw_request(app, path, raw_path=raw_path, query=query)
        assert_safe(status, headers, f"{path!r} ?{query!r}")
        if path.startswith(f"/g/{s}"):
            assert status == 301, path
            assert headers["location"].startswith(f"{AMAP}/g/{s}"), path
        else:
            assert "location" not in headers, path
    # The encoded forms are kept as received; CR and LF stay encoded.
    status, headers = await raw_request(
        app, f"/g/{s}/\r\nX-Injected: 1", raw_path=f"/g/{s}/%0D%0AX-Injected:%201".encode()
    )
    assert headers["location"] == f"{AMAP}/g/{s}/%0D%0AX-Injected:%201"
    status, headers = await raw_request(app, f"/g/{s}", query=b"a=1\r\nX-Injected: 1")
    assert headers["location"] == f"{AMAP}/g/{s}?a=1%0D%0AX-Injected:%201"
    # Through the HTTP client too (it normalises some of these itself).
    for url in ("//evil.example", "/%2F%2Fevil.example", f"/g/{s}/%2F%2Fevil.example", "/\\x"):
        response = await client.get(url, follow_redirects=False)
        assert_safe(response.status_code, dict(response.headers), url)


# --- a logged-in user during the move --------------------------------------------------------


async def test_logged_in_user_lands_on_the_new_login_page_and_comes_back(client, amap_client):
    w = await world()
    member = await make_user("membre@example.org", "Marc", "Membre")
    from domain.tables import Membership

    await Membership.insert(Membership(user=member, group=w["group"]["id"]))
    await login(client, "membre@example.org")  # on the old host
    await move(w["group"]["id"], **DURING)
    asked = f"/g/{w['slug']}/commandes?tri=date&vue=liste"
    response = await client.get(asked, follow_redirects=False)
    assert response.status_code == 301
    new_url = response.headers["location"]
    assert new_url == AMAP + asked
    # Not logged out on the old host, whose home gives the group's new address.
    assert (await client.get("/compte", follow_redirects=False)).status_code == 200
    home = await client.get("/")
    assert f'<a href="{AMAP}/g/{w["slug"]}">AMAP des Lilas</a> est désormais sur Camap' in home.text
    # The new host has no session for them: its login page, with the page asked for kept.
    response = await amap_client.get(asked, follow_redirects=False)
    assert response.status_code == 303
    login_url = response.headers["location"]
    assert login_url == "/connexion?next=/g/" + w["slug"] + "/commandes%3Ftri%3Ddate%26vue%3Dliste"
    page = await amap_client.get(login_url)
    assert page.status_code == 200
    assert (
        "Ce groupe (AMAP des Lilas) a déménagé sur Camap : "
        "connectez-vous ici avec les mêmes identifiants." in page.text
    )
    assert 'name="next" value="/g/' + w["slug"] + "/commandes?tri=date&amp;vue=liste" in page.text
    # A wrong password keeps the message; the right one brings them back to the page.
    response = await post_form(
        amap_client,
        "/connexion",
        {"email": "membre@example.org", "password": "faux", "next": asked},
    )
    assert response.status_code == 422 and "a déménagé sur Camap" in response.text
    response = await post_form(
        amap_client,
        "/connexion",
        {"email": "membre@example.org", "password": "motdepasse-solide", "next": asked},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == asked  # the original query, intact
    page = await amap_client.get(asked)
    assert page.status_code == 200 and "AMAP des Lilas" in page.text


async def test_homes_list_a_moved_group_where_it_is_served(client, amap_client):
    w = await world()
    await login(client, "admin@example.org")
    await login(amap_client, "admin@example.org")
    await move(w["group"]["id"], **BEFORE)
    home = await client.get("/")
    assert "désormais sur" not in home.text
    assert f'href="/g/{w["slug"]}"' in home.text  # still served here
    assert f'href="/g/{w["slug"]}"' not in (await amap_client.get("/")).text
    await move(w["group"]["id"], **AFTER)
    home = await client.get("/")
    assert f'href="{AMAP}/g/{w["slug"]}"' in home.text and "désormais sur Camap" in home.text
    assert f'href="/g/{w["slug"]}"' not in home.text
    assert f'href="/g/{w["slug"]}"' in (await amap_client.get("/")).text


async def test_no_move_message_for_other_pages_or_outside_the_window(amap_client):
    w = await world()
    for next_path in ("", "/compte", f"/g/{w['slug']}", "/g/inconnu/commandes"):
        page = await amap_client.get(f"/connexion?next={next_path}")
        assert "a déménagé" not in page.text, next_path
    await move(w["group"]["id"], **AFTER)
    page = await amap_client.get(f"/connexion?next=/g/{w['slug']}/commandes")
    assert "a déménagé" not in page.text
    await move(w["group"]["id"], **DURING)
    page = await amap_client.get(f"/connexion?next=/g/{w['slug']}/commandes")
    assert "a déménagé sur Camap" in page.text


# --- PARAMÈTRES -----------------------------------------------------------------------------


async def test_settings_page_shows_the_instance_and_the_move_dates(amap_client, client):
    w = await world()
    await migrate_groups(
        client.app.state.settings.instances,
        to="amap",
        slugs=[w["slug"]],
        from_date=date(2026, 3, 14),
        until=date(2026, 8, 31),
    )
    routing.MOVES.invalidate()
    await login(amap_client, "admin@example.org")
    page = await amap_client.get(f"/g/{w['slug']}/parametres")
    assert page.status_code == 200
    text = page.text
    assert "Ce groupe est servi par Camap" in text
    assert "Déménagé depuis</dt><dd>Circuit Court" in text
    assert "14 mars 2026 à 00:00" in text
    assert "31 août 2026 à 00:00" in text
    expected_state = "terminée" if now() >= paris_midnight(date(2026, 8, 31)) else "en cours"
    assert f"({expected_state})" in text
    # A group never moved shows no move.
    other = await make_group(w["admin"], "Marché du Port", "market")
    await login(client, "admin@example.org")
    page = await client.get(f"/g/{other['slug']}/parametres")
    assert "Ce groupe est servi par Circuit Court" in page.text
    assert "Déménagé depuis" not in page.text


# --- the operator commands ------------------------------------------------------------------


async def run_app(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "app.py",
        *args,
        cwd=ROOT,
        env=dict(os.environ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return process.returncode, out.decode(), err.decode()


async def test_operator_moves_all_amap_groups_and_lists_them_with_counts(client):
    w = await world()
    admin = w["admin"]
    second = await make_group(admin, "AMAP du Moulin", "amap")
    market = await make_group(admin, "Marché du Port", "market")
    orders_before = await Order.count()
    lines_before = await OrderLine.count()

    code, out, err = await run_app(
        "migrate-groups",
        "--to",
        "amap",
        "--kind",
        "amap",
        "--from-date",
        "2026-03-14",
        "--until",
        "2026-08-31",
        "--dry-run",
    )
    assert code == 0, err
    assert "2 groupes seraient concernés" in out
    assert (await Group.select(Group.instance).where(Group.id == second["id"]).first())[
        "instance"
    ] == "main"

    code, out, err = await run_app(
        "migrate-groups",
        "--to",
        "amap",
        "--kind",
        "amap",
        "--from-date",
        "2026-03-14",
        "--until",
        "2026-08-31",
    )
    assert code == 0, err
    assert "AMAP des Lilas" in out and "AMAP du Moulin" in out and "Marché du Port" not in out
    assert "Circuit Court → Camap" in out
    assert "migré le 14/03/2026 00:00, redirection jusqu'au 31/08/2026 00:00" in out
    assert "2 groupes traités." in out
    rows = {g["slug"]: g for g in await Group.select()}
    for slug in (w["slug"], second["slug"]):
        assert rows[slug]["instance"] == "amap"
        assert rows[slug]["previous_instance"] == "main"
        # 00:00 in Paris: 23:00 UTC the day before in winter, 22:00 in summer.
        assert rows[slug]["migrated_at"] == datetime(2026, 3, 13, 23, 0, tzinfo=UTC)
        assert rows[slug]["redirect_until"] == datetime(2026, 8, 30, 22, 0, tzinfo=UTC)
    assert rows[market["slug"]]["instance"] == "main"
    assert rows[market["slug"]]["migrated_at"] is None
    # The data stays where it was.
    assert await Order.count() == orders_before and await OrderLine.count() == lines_before

    # Redirections served are listed per day.
    await instances.add_redirect_counts(
        {(w["group"]["id"], date(2026, 3, 14)): 12, (w["group"]["id"], date(2026, 3, 15)): 3}
    )
    code, out, err = await run_app("migrated-groups")
    assert code == 0, err
    assert "AMAP des Lilas (" + w["slug"] + ") : Circuit Court → Camap" in out
    assert "redirections servies : 15" in out
    assert "2026-03-14 : 12" in out and "2026-03-15 : 3" in out
    assert "AMAP du Moulin" in out and "redirections servies : 0" in out
    assert "Marché du Port" not in out

    # Extending the redirection of one group: only its dates change.
    code, out, err = await run_app(
        "migrate-groups",
        "--to",
        "amap",
        "--slug",
        second["slug"],
        "--from-date",
        "2026-03-14",
        "--until",
        "2027-01-31",
    )
    assert code == 0, err
    assert "dates mises à jour" in out
    row = await Group.select().where(Group.id == second["id"]).first()
    assert row["previous_instance"] == "main" and row["instance"] == "amap"
    assert row["redirect_until"] == datetime(2027, 1, 30, 23, 0, tzinfo=UTC)


async def test_operator_errors_are_explained_and_change_nothing(client):
    w = await world()
    code, out, err = await run_app(
        "migrate-groups",
        "--to",
        "ailleurs",
        "--kind",
        "amap",
        "--from-date",
        "2026-03-14",
        "--until",
        "2026-08-31",
    )
    assert code == 2
    assert "Instance cible inconnue : 'ailleurs' (instances : main, amap)" in err
    settings = client.app.state.settings.instances
    bad = [
        ({"to": "amap", "kind": "amap", "from_date": date(2026, 8, 31), "until": date(2026, 3, 14)},
         "doit suivre --from-date"),
        ({"to": "amap", "from_date": date(2026, 3, 14), "until": date(2026, 8, 31)},
         "Indiquez les groupes"),
        ({"to": "amap", "slugs": ["inconnu"], "from_date": date(2026, 3, 14),
          "until": date(2026, 8, 31)}, "introuvable : inconnu"),
        ({"to": "main", "kind": "amap", "from_date": date(2026, 3, 14),
          "until": date(2026, 8, 31)}, "la même"),
        ({"to": "amap", "kind": "amap", "source": "nulle-part", "from_date": date(2026, 3, 14),
          "until": date(2026, 8, 31)}, "Instance d'origine inconnue"),
        ({"to": "amap", "kind": "ferme", "from_date": date(2026, 3, 14),
          "until": date(2026, 8, 31)}, "Type de groupe inconnu"),
        ({"to": "amap", "kind": "market", "slugs": [w["slug"]], "from_date": date(2026, 3, 14),
          "until": date(2026, 8, 31)}, "introuvable"),
    ]  # fmt: skip
    for kwargs, message in bad:
        with pytest.raises(InstanceError, match=message.replace("(", r"\(").replace(")", r"\)")):
            await migrate_groups(settings, **kwargs)
    row = await Group.select().where(Group.id == w["group"]["id"]).first()
    assert row["instance"] == "main" and row["migrated_at"] is None
    # A group created on the target and never moved cannot be "moved" there.
    await Group.update({Group.instance: "amap"}).where(Group.id == w["group"]["id"])
    with pytest.raises(InstanceError, match="pas sur l'instance d'origine"):
        await migrate_groups(
            settings,
            to="amap",
            slugs=[w["slug"]],
            from_date=date(2026, 3, 14),
            until=date(2026, 8, 31),
        )


async def test_main_entry_point_runs_the_listing_in_process(client, capsys):
    """`main()` itself (the CLI entry), run in a thread: it owns its event loop."""
    from cli import main

    w = await world()
    await migrate_groups(
        client.app.state.settings.instances,
        to="amap",
        slugs=[w["slug"]],
        from_date=date(2026, 3, 14),
        until=date(2026, 8, 31),
    )
    code = await asyncio.to_thread(main, ["migrated-groups"])
    assert code == 0
    assert "AMAP des Lilas" in capsys.readouterr().out


# --- cost: the database is not asked on every request --------------------------------------


async def test_moved_groups_are_kept_in_memory_and_reloaded_when_their_revision_moves(
    client, monkeypatch
):
    w = await world()
    await move(w["group"]["id"], **DURING)
    loads = []
    real_moves = routing.instances.moves

    async def counted_moves():
        loads.append(1)
        return await real_moves()

    monkeypatch.setattr(routing.instances, "moves", counted_moves)
    with QueryCounter() as counter:
        assert (await client.get("/static/app.css")).status_code == 200
    assert counter.count == 0 and loads == []  # nothing for a URL that is not a group's
    await client.get(f"/g/{w['slug']}", follow_redirects=False)
    assert loads == [1]  # the list of moved groups, loaded once
    with QueryCounter() as counter:
        for _ in range(5):
            response = await client.get(f"/g/{w['slug']}/commandes", follow_redirects=False)
            assert response.status_code == 301
    # One single-row read of the revision per request; the list is not read again.
    assert counter.count == 5 and loads == [1]
    # A move made by any process bumps the revision: the next request, here or in any
    # other process, answers from the new list, without waiting for anything.
    await Group.update({Group.redirect_until: now() - timedelta(hours=1)}).where(
        Group.id == w["group"]["id"]
    )
    await instances.bump_moves()
    assert (await client.get(f"/g/{w['slug']}", follow_redirects=False)).status_code == 410
    assert loads == [1, 1]


def test_decisions_for_each_host_and_moment():
    t0 = datetime(2026, 3, 13, 23, 0, tzinfo=UTC)
    t1 = datetime(2026, 8, 30, 22, 0, tzinfo=UTC)
    m = instances.Move(1, "x", "X", "amap", "main", t0, t1)
    hour = timedelta(hours=1)
    A = instances.Answer
    assert m.answer("main", t0 - hour) is A.SERVE
    assert m.answer("amap", t0 - hour) is A.BACK
    assert m.answer("main", t0) is A.REDIRECT
    assert m.answer("amap", t0) is A.SERVE
    assert m.answer("main", t1 - hour) is A.REDIRECT
    assert m.answer("main", t1) is A.GONE
    assert m.answer("amap", t1) is A.SERVE
    assert m.answer("other", t0) is A.SERVE  # a third instance: 404 later, as any group
