"""The default BASE_URL follows the port actually served (`./dev run --port N`)."""

from __future__ import annotations

import json
import re

import pytest

from domain.settings import SettingsError, load_settings


def env(tmp_path, **extra: str) -> dict[str, str]:
    return {"VAR_DIR": str(tmp_path), "SECRET_KEY": "unit-test-secret-0123456789"} | extra


def test_base_url_defaults_to_port_8000(tmp_path):
    settings = load_settings(env(tmp_path))
    assert (settings.port, settings.host) == (8000, "127.0.0.1")
    assert settings.base_url == "http://localhost:8000"


def test_base_url_follows_port(tmp_path):
    settings = load_settings(env(tmp_path, PORT="8101", HOST="0.0.0.0"))
    assert (settings.port, settings.host) == (8101, "0.0.0.0")
    assert settings.base_url == "http://localhost:8101"
    # The instance the mail links are built from, and the AMAP one, are on that port too.
    assert settings.default_instance.url == "http://localhost:8101"
    assert settings.instance("amap").url == "http://amap.localhost:8101"


def test_explicit_base_url_wins_over_port(tmp_path):
    settings = load_settings(env(tmp_path, PORT="8101", BASE_URL="https://amap.example.org/"))
    assert settings.port == 8101
    assert settings.base_url == "https://amap.example.org"
    assert settings.default_instance.url == "https://amap.example.org"


@pytest.mark.parametrize("port", ["huit", "0", "70000", "-1"])
def test_bad_port_is_named(tmp_path, port):
    with pytest.raises(SettingsError, match="PORT"):
        load_settings(env(tmp_path, PORT=port))


def test_defaults_on_a_bare_machine(tmp_path):
    settings = load_settings(env(tmp_path))
    assert settings.database_url == f"sqlite:///{tmp_path / 'app.sqlite3'}"
    assert not settings.is_postgres
    assert [i.key for i in settings.instances] == ["main", "amap"]
    assert (settings.mail_retry_seconds, settings.retention_days) == (30, 30)
    assert list(tmp_path.iterdir()) == []  # the key was given: nothing written


def test_a_missing_secret_key_is_generated_once_under_var_dir(tmp_path):
    first = load_settings({"VAR_DIR": str(tmp_path)}).secret_key
    assert len(first) >= 16
    assert (tmp_path / "secret_key").read_text() == first
    assert load_settings({"VAR_DIR": str(tmp_path)}).secret_key == first


@pytest.mark.parametrize(
    "url", ["mysql://localhost/db", "localhost/db", "http://x", "sqlite:", "postgres"]
)
def test_bad_database_url_is_named(tmp_path, url):
    with pytest.raises(SettingsError, match="^DATABASE_URL n'est pas une URL valide"):
        load_settings(env(tmp_path, DATABASE_URL=url))


def test_postgres_urls_are_accepted(tmp_path):
    for url in ("postgres://u:p@db/cc", "postgresql://u:p@db/cc"):
        assert load_settings(env(tmp_path, DATABASE_URL=url)).is_postgres


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("REDIS_URL", "http://localhost:6379"),
        ("SMTP_URL", "mail.example.org:25"),
        ("BASE_URL", "ftp://x"),
    ],
)
def test_other_bad_urls_are_named(tmp_path, name, value):
    with pytest.raises(SettingsError, match=f"^{name} n'est pas une URL valide"):
        load_settings(env(tmp_path, **{name: value}))


def test_short_secret_key(tmp_path):
    with pytest.raises(SettingsError, match="SECRET_KEY est trop courte"):
        load_settings(env(tmp_path, SECRET_KEY="court"))
    assert load_settings(env(tmp_path, SECRET_KEY="x" * 16)).secret_key == "x" * 16


def instances(*items: dict) -> str:
    return json.dumps(list(items))


MAIN = {
    "key": "main",
    "name": "Circuit Court",
    "hosts": ["circuit.example"],
    "url": "https://circuit.example",
}
AMAP = {"key": "amap", "name": "Camap", "hosts": ["camap.example"], "url": "https://camap.example"}


def test_instances_from_json(tmp_path):
    settings = load_settings(
        env(tmp_path, INSTANCES=instances(MAIN, AMAP | {"producer_space": False}))
    )
    assert settings.instance_for_host("CAMAP.example:443").key == "amap"
    assert settings.instance_for_host("circuit.example.").key == "main"
    assert settings.instance_for_host("ailleurs.example") is None
    assert settings.instance("amap").producer_space is False


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("[{", "INSTANCES n'est pas du JSON valide"),
        ("{}", "INSTANCES est invalide"),
        (json.dumps([{"key": "main"}]), "INSTANCES est invalide"),
        ("[]", "INSTANCES doit contenir au moins une instance."),
        (instances(MAIN | {"url": "circuit.example"}), "INSTANCES n'est pas une URL valide"),
        (instances(MAIN, AMAP | {"key": "main"}), "INSTANCES : deux instances ont la même clé."),
        (
            instances(MAIN, AMAP | {"hosts": ["camap.example", "Circuit.Example"]}),
            "INSTANCES : l'hôte 'Circuit.Example' est déclaré deux fois.",
        ),
    ],
)
def test_bad_instances_are_refused(tmp_path, raw, message):
    with pytest.raises(SettingsError, match=re.escape(message)):
        load_settings(env(tmp_path, INSTANCES=raw))


@pytest.mark.parametrize(
    "given",
    [
        {"DKIM_DOMAIN": "example.org"},
        {"DKIM_DOMAIN": "example.org", "DKIM_SELECTOR": "cc"},
        {"DKIM_KEY_PATH": "/x", "DKIM_SELECTOR": "cc"},
    ],
)
def test_dkim_needs_its_three_variables(tmp_path, given):
    with pytest.raises(
        SettingsError, match="DKIM_KEY_PATH, DKIM_DOMAIN et DKIM_SELECTOR vont ensemble"
    ):
        load_settings(env(tmp_path, **given))


def test_dkim_key_must_exist(tmp_path):
    triple = {
        "DKIM_KEY_PATH": str(tmp_path / "absente.pem"),
        "DKIM_DOMAIN": "example.org",
        "DKIM_SELECTOR": "cc",
    }
    with pytest.raises(SettingsError, match="DKIM_KEY_PATH : fichier introuvable"):
        load_settings(env(tmp_path, **triple))
    key = tmp_path / "dkim.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\n")
    settings = load_settings(env(tmp_path, **(triple | {"DKIM_KEY_PATH": str(key)})))
    assert (settings.dkim_key_path, settings.dkim_domain, settings.dkim_selector) == (
        str(key),
        "example.org",
        "cc",
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("LOGIN_WINDOW_SECONDS", "quinze", "LOGIN_WINDOW_SECONDS doit être un nombre entier."),
        ("RETENTION_DAYS", "1.5", "RETENTION_DAYS doit être un nombre entier."),
        ("MAIL_RETRY_SECONDS", "0", "MAIL_RETRY_SECONDS ≥ 1"),
        ("MAIL_RATE_PER_MINUTE", "-1", "MAIL_RATE_PER_MINUTE doit être ≥ 0"),
        ("INACTIVE_ACCOUNT_DAYS", "30", "INACTIVE_ACCOUNT_DAYS ≥ 60"),
        ("RETENTION_DAYS", "0", "RETENTION_DAYS doit être ≥ 1"),
    ],
)
def test_bad_numbers_are_named(tmp_path, name, value, message):
    with pytest.raises(SettingsError, match=re.escape(message)):
        load_settings(env(tmp_path, **{name: value}))


def test_numbers_are_read(tmp_path):
    settings = load_settings(env(tmp_path, MAIL_RATE_PER_MINUTE="0", RETENTION_DAYS="90"))
    assert (settings.mail_rate_per_minute, settings.retention_days) == (0, 90)
    assert settings.inactive_account_days == 730
    assert load_settings(env(tmp_path, INACTIVE_ACCOUNT_DAYS="400")).inactive_account_days == 400


def test_an_instance_gets_its_legal_texts(tmp_path):
    import json

    instances = [
        {
            "key": "main",
            "name": "Site",
            "hosts": ["localhost"],
            "url": "http://localhost",
            "legal": {"publisher": "Association X", "terms": "Conditions."},
        }
    ]
    settings = load_settings(env(tmp_path, INSTANCES=json.dumps(instances)))
    legal = settings.default_instance.legal
    assert (legal.publisher, legal.terms, legal.host) == ("Association X", "Conditions.", "")
    bad = [instances[0] | {"legal": {"publisher": 3}}]
    with pytest.raises(SettingsError, match="INSTANCES est invalide"):
        load_settings(env(tmp_path, INSTANCES=json.dumps(bad)))
