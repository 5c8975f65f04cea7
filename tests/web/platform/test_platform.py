"""The platform around the pages: hosts and instances, /healthz, static files, htmx
fragments, request ids, and the settings read from the environment."""

from __future__ import annotations

import hashlib
import json
import re
import stat
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from domain import groups
from domain.settings import SettingsError, load_settings
from tests.helpers import login, make_group, make_user, post_form

STATIC = Path(__file__).resolve().parents[3] / "static"


async def make_amap_instance_group(admin_id: int, name: str = "AMAP de Camap") -> dict:
    return await groups.create_group(
        user_id=admin_id,
        name=name,
        kind="amap",
        registration="open",
        description="",
        instance="amap",
    )


def vary_of(response) -> set[str]:
    return {
        part.strip().lower()
        for value in response.headers.get_list("vary")
        for part in value.split(",")
        if part.strip()
    }


# --- 1. Unknown hosts and /healthz ------------------------------------------------------------


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "localhost.evil.example"])
async def test_unknown_host_is_a_french_404_never_a_redirect(client, host):
    admin = await make_user("hote@example.org")
    group = await make_group(admin, "AMAP Visible")
    for method, path in (
        ("GET", "/"),
        ("GET", "/connexion"),
        ("GET", "/compte"),
        ("GET", f"/g/{group['slug']}"),
        ("GET", f"/g/{group['slug']}/parametres"),
        ("GET", "/static/app.css"),
        ("POST", "/connexion"),
    ):
        response = await client.request(
            method, path, headers={"Host": host}, follow_redirects=False
        )
        assert response.status_code == 404, (method, path)
        assert "location" not in response.headers
        assert response.headers["content-type"].startswith("text/html")
        assert "<title>Site inconnu</title>" in response.text
        assert "Aucun site de la plateforme ne répond à cette adresse." in response.text
        assert "AMAP Visible" not in response.text
        assert "set-cookie" not in response.headers


async def test_known_host_is_matched_without_port_or_case(client):
    for host in ("localhost", "localhost:8000", "LocalHost", "127.0.0.1:8000"):
        response = await client.get("/", headers={"Host": host})
        assert response.status_code == 200, host
        assert "Circuit Court" in response.text


async def test_healthz_reports_database_and_broker_as_json(client):
    for host in ("localhost", "10.0.0.7:8000"):  # probes may come by address: always answered
        response = await client.get("/healthz", headers={"Host": host})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        assert response.headers["cache-control"] == "no-store"
        body = response.json()
        assert body["status"] == "ok"
        assert body["database"] == "ok"
        assert body["broker"].startswith("ok")  # "ok (en mémoire)" without REDIS_URL


# --- 2. Instances -----------------------------------------------------------------------------


async def test_group_of_the_amap_instance_is_served_only_on_its_host(client):
    admin = await make_user("camap@example.org")
    amap_group = await make_amap_instance_group(admin)
    main_group = await make_group(admin, "AMAP Principale")
    url = f"/g/{amap_group['slug']}"
    assert (await client.get(url)).status_code == 404
    assert (await client.get(url, headers={"Host": "localhost"})).status_code == 404

    page = await client.get(url, headers={"Host": "amap.localhost"})
    assert page.status_code == 200
    assert "AMAP de Camap" in page.text
    assert '<a class="brand" href="/">Camap</a>' in page.text
    assert "Circuit Court" not in page.text
    assert 'value="http://amap.localhost/g/' + amap_group["slug"] + '"' in page.text

    # And the other way round: a group of the main instance is not on the AMAP host.
    other = await client.get(f"/g/{main_group['slug']}", headers={"Host": "amap.localhost"})
    assert other.status_code == 404
    assert "AMAP Principale" not in other.text
    main_page = await client.get(f"/g/{main_group['slug']}")
    assert main_page.status_code == 200
    assert '<a class="brand" href="/">Circuit Court</a>' in main_page.text
    assert "Camap" not in main_page.text


async def test_home_lists_only_the_groups_of_the_host_instance(client):
    admin = await make_user("deux@example.org")
    await make_amap_instance_group(admin, "AMAP Côté Camap")
    await make_group(admin, "AMAP Côté Principal")
    await login(client, "deux@example.org")
    main_home = await client.get("/")
    assert "AMAP Côté Principal" in main_home.text and "AMAP Côté Camap" not in main_home.text
    amap_home = await client.get("/", headers={"Host": "amap.localhost"})
    assert amap_home.status_code == 200
    assert "AMAP Côté Camap" in amap_home.text and "AMAP Côté Principal" not in amap_home.text
    assert "<title>Camap</title>" in amap_home.text


# --- 3. Static files --------------------------------------------------------------------------


def content_hash(name: str) -> str:
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]


@pytest.mark.parametrize("name", ["app.css", "htmx-2.0.11.min.js"])
async def test_static_files_are_versioned_cached_a_year_and_compressed(client, name):
    page = await client.get("/")
    match = re.search(rf'"(/static/{re.escape(name)}\?v=([0-9a-f]+))"', page.text)
    assert match, f"{name} n'est pas référencé par la page"
    url, version = match.groups()
    assert version == content_hash(name)  # the URL changes when the content does
    original = (STATIC / name).read_bytes()
    for encoding in ("br", "gzip"):
        response = await client.get(url, headers={"Accept-Encoding": encoding})
        assert response.status_code == 200
        assert "max-age=31536000" in response.headers["cache-control"]
        assert response.headers["content-encoding"] == encoding
        assert "accept-encoding" in vary_of(response)
        assert response.content == original  # httpx decoded it back
    plain = await client.get(url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.content == original


async def test_htmx_is_version_2_0_11():
    text = (STATIC / "htmx-2.0.11.min.js").read_text()
    versions = re.findall(r'version\s*:\s*"(\d+\.\d+\.\d+)"', text) or re.findall(
        r'"(2\.\d+\.\d+)"', text
    )
    assert versions and set(versions) == {"2.0.11"}, versions
    assert sorted(p.name for p in STATIC.glob("htmx*")) == ["htmx-2.0.11.min.js"]


# --- 4. One URL, page or fragment ---------------------------------------------------------------


async def test_settings_url_varies_on_hx_request_and_htmx_gets_the_fragment(client):
    admin = await make_user("frag@example.org")
    group = await make_group(admin, "AMAP Fragment")
    await login(client, "frag@example.org")
    url = f"/g/{group['slug']}/parametres"
    form = {"name": "AMAP Fragment", "kind": "amap", "registration": "open", "description": ""}

    page = await client.get(url)
    assert "hx-request" in vary_of(page)
    assert "<html" in page.text and 'id="settings-form"' in page.text
    fragment = await client.get(url, headers={"HX-Request": "true"})
    assert "hx-request" in vary_of(fragment)
    assert "<html" not in fragment.text and fragment.text.lstrip().startswith("<form")

    posted = await post_form(client, url, form, htmx=True)
    assert posted.status_code == 200
    assert "hx-request" in vary_of(posted)
    assert "<html" not in posted.text and "<header" not in posted.text
    assert posted.text.lstrip().startswith("<form") and "Paramètres enregistrés." in posted.text

    full = await post_form(client, url, form)
    assert full.status_code == 200
    assert "hx-request" in vary_of(full)
    assert "<html" in full.text and "Paramètres enregistrés." in full.text

    boosted = await client.get(url, headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in boosted.text  # a boosted link swaps the whole body: the full page

    invalid = await post_form(client, url, form | {"name": ""}, htmx=True)
    assert invalid.status_code == 422  # base.html tells htmx to swap a 422
    assert "hx-request" in vary_of(invalid)
    assert "<html" not in invalid.text and "Indiquez le nom du groupe." in invalid.text


# --- 5. Request ids -----------------------------------------------------------------------------


async def test_every_response_carries_a_request_id(client):
    admin = await make_user("rid@example.org")
    group = await make_group(admin, "AMAP Rid")
    await make_user("autre@example.org")
    answers = {
        "page": await client.get("/"),
        "redirection": await client.get("/compte", follow_redirects=False),
        "introuvable": await client.get("/g/inexistant"),
        "statique": await client.get("/static/app.css"),
        "healthz": await client.get("/healthz"),
        "hôte inconnu": await client.get("/", headers={"Host": "evil.example"}),
    }
    await login(client, "autre@example.org")
    answers["refus"] = await client.get(f"/g/{group['slug']}/parametres")
    answers["htmx"] = await post_form(
        client, "/compte/email", {"new_email": "x", "password": "y"}, htmx=True
    )
    expected_status = {
        "page": 200,
        "redirection": 303,
        "introuvable": 404,
        "statique": 200,
        "healthz": 200,
        "hôte inconnu": 404,
        "refus": 403,
        "htmx": 422,
    }
    ids = set()
    for what, response in answers.items():
        assert response.status_code == expected_status[what], what
        rid = response.headers.get("x-request-id")
        assert rid and re.fullmatch(r"[A-Za-z0-9._-]{8,64}", rid), what
        ids.add(rid)
    assert len(ids) == len(answers)  # one id per request


async def test_request_id_from_the_proxy_is_kept_if_sane(client):
    response = await client.get("/", headers={"X-Request-ID": "proxy-abc-12345"})
    assert response.headers["x-request-id"] == "proxy-abc-12345"
    response = await client.get("/", headers={"X-Request-ID": "<script>x</script>"})
    assert response.headers["x-request-id"] != "<script>x</script>"
    assert re.fullmatch(r"[0-9a-f]{16}", response.headers["x-request-id"])


# Litestar runs the app's middlewares (instance, request log) only around a matched route,
# and an exception raised by its own CSRF middleware is answered outside of them. The fix
# belongs to app.py (e.g. wrap `app.asgi_handler` in InstanceMiddleware and
# RequestLogMiddleware instead of listing them in `middleware=`): these two tests say what
# is expected and will pass (XPASS, strict: then remove the marks) once it is done.
NOT_THROUGH_MIDDLEWARES = (
    "app.py : réponse produite hors des middlewares de l'app (pas de request.state.instance, "
    "pas de X-Request-ID)"
)


async def test_unknown_path_or_method_is_a_french_error_page_with_a_request_id(app):
    browser = AsyncTestClient(app=app, base_url="http://localhost", raise_server_exceptions=False)
    response = await browser.get("/cette-page-n-existe-pas")  # today: 500, empty
    assert response.status_code == 404
    assert "Page introuvable" in response.text
    assert response.headers.get("x-request-id")
    response = await browser.put("/compte")  # today: 500, empty
    assert response.status_code == 405
    assert response.headers.get("x-request-id")
    response = await browser.get("/cette-page-n-existe-pas", headers={"Host": "evil.example"})
    assert response.status_code == 404
    assert "Site inconnu" in response.text


async def test_csrf_refusal_carries_a_request_id(client):
    await client.get("/connexion")
    response = await client.post("/connexion", data={"email": "a@b.fr", "password": "x"})
    assert response.status_code == 403
    assert response.headers.get("x-request-id")


# --- 6. Settings ------------------------------------------------------------------------------


def _instances(*hosts_per_instance: list[str]) -> str:
    return json.dumps(
        [
            {"key": f"i{n}", "name": f"Instance {n}", "hosts": hosts, "url": f"https://{hosts[0]}"}
            for n, hosts in enumerate(hosts_per_instance)
        ]
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "mysql://x"),
        ("DATABASE_URL", "pas une url"),
        ("REDIS_URL", "http://x"),
        ("SMTP_URL", "http://x"),
        ("BASE_URL", "ftp://x"),
        ("INSTANCES", "not json"),
        ("INSTANCES", "[]"),
        ("INSTANCES", '[{"key": "main"}]'),
        ("INSTANCES", _instances(["a.example", "b.example"], ["c.example", "B.example"])),
        ("SECRET_KEY", "trop-court"),
        ("LOGIN_WINDOW_SECONDS", "quinze"),
    ],
)
def test_bad_setting_is_refused_naming_the_variable(tmp_path, variable, value):
    env = {"VAR_DIR": str(tmp_path), "SECRET_KEY": "une-cle-secrete-assez-longue", variable: value}
    with pytest.raises(SettingsError) as raised:
        load_settings(env)
    assert variable in str(raised.value)


def test_duplicated_host_in_instances_is_named(tmp_path):
    env = {
        "VAR_DIR": str(tmp_path),
        "SECRET_KEY": "une-cle-secrete-assez-longue",
        "INSTANCES": _instances(["a.example"], ["a.example"]),
    }
    with pytest.raises(SettingsError, match=r"INSTANCES.*'a\.example'.*deux fois"):
        load_settings(env)


def test_empty_environment_gives_sqlite_and_a_kept_secret_key(tmp_path):
    var_dir = tmp_path / "var"
    settings = load_settings({"VAR_DIR": str(var_dir)})
    assert settings.database_url == f"sqlite:///{var_dir / 'app.sqlite3'}"
    assert not settings.is_postgres
    assert settings.redis_url == "" and settings.smtp_url == ""
    assert settings.var_dir == str(var_dir)
    assert len(settings.secret_key) >= 32
    key_file = var_dir / "secret_key"
    assert key_file.read_text().strip() == settings.secret_key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600  # readable by the app only
    again = load_settings({"VAR_DIR": str(var_dir)})
    assert again.secret_key == settings.secret_key  # sessions and links survive a restart
    assert [i.key for i in settings.instances] == ["main", "amap"]
    assert settings.default_instance.name == "Circuit Court"
    assert settings.instance_for_host("amap.localhost").name == "Camap"
    assert settings.instance_for_host("evil.example") is None


def test_explicit_secret_key_is_used_and_no_file_is_written(tmp_path):
    settings = load_settings({"VAR_DIR": str(tmp_path), "SECRET_KEY": "k" * 40})
    assert settings.secret_key == "k" * 40
    assert not (tmp_path / "secret_key").exists()


def test_instances_from_the_environment_are_found_by_host_whatever_the_case(tmp_path):
    settings = load_settings(
        {
            "VAR_DIR": str(tmp_path),
            "SECRET_KEY": "une-cle-secrete-assez-longue",
            "INSTANCES": _instances(["Circuit.Example", "www.circuit.example"], ["camap.example"]),
        }
    )
    assert settings.default_instance.key == "i0"
    assert settings.instance_for_host("circuit.example").key == "i0"
    assert settings.instance_for_host("WWW.Circuit.Example:443").key == "i0"
    assert settings.instance_for_host("camap.example.").key == "i1"
    assert settings.instance_for_host("localhost") is None


async def test_anonymous_pages_store_no_session_and_static_files_set_no_cookie(client, settings):
    from pathlib import Path

    sessions = Path(settings.var_dir) / "sessions"
    before = len(list(sessions.glob("*"))) if sessions.exists() else 0
    response = await client.get("/")
    assert "session=" not in response.headers.get("set-cookie", "")
    assert "csrftoken=" in response.headers.get("set-cookie", "")  # forms still work
    after = len(list(sessions.glob("*"))) if sessions.exists() else 0
    assert after == before
    client.cookies.clear()
    static = await client.get("/static/app.css")
    assert "set-cookie" not in static.headers


async def test_ids_beyond_the_database_range_are_not_found(client):
    from tests.helpers import login, make_distribution_world, make_user, post_form

    admin = await make_user("big@example.org")
    world = await make_distribution_world(admin)
    await login(client, "big@example.org")
    slug = world["group"]["slug"]
    for path in (
        f"/g/{slug}/commandes/99999999999",
        f"/g/{slug}/catalogues/99999999999/produits",
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert "Page introuvable" in response.text
    line = f"/g/{slug}/commandes/{world['distribution']}/ligne/99999999999"
    assert (await post_form(client, line, {"q": "1"}, htmx=True)).status_code == 404
