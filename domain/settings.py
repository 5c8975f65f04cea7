"""Settings: one msgspec Struct read from the environment and checked at start.

Every variable has an embedded default so that the app runs on a bare machine:
SQLite under var/, in-process jobs, mails written to var/outbox/.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import msgspec


class SettingsError(Exception):
    """A bad environment variable; the message names it."""


class Instance(msgspec.Struct, frozen=True):
    """One deployment answering on its own hosts (e.g. the main platform, the AMAP one)."""

    key: str
    name: str
    hosts: list[str]
    url: str
    producer_space: bool = True
    mail_from: str = ""

    def primary_host(self) -> str:
        return self.hosts[0]


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str
    redis_url: str = ""
    smtp_url: str = ""
    secret_key: str
    base_url: str
    instances: list[Instance]
    var_dir: str = "var"
    mail_from: str = "noreply@localhost"
    log_level: str = "INFO"
    login_max_failures_per_account: int = 5
    login_max_failures_per_address: int = 20
    login_window_seconds: int = 900
    # Mail delivery: a shared send rate (0: no limit), the first retry delay (doubling
    # after each failure), DKIM signing when the three DKIM_* are set, the support address.
    mail_rate_per_minute: int = 600
    mail_retry_seconds: int = 30
    dkim_key_path: str = ""
    dkim_domain: str = ""
    dkim_selector: str = ""
    support_email: str = ""

    @property
    def outbox_dir(self) -> Path:
        return Path(self.var_dir) / "outbox"

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgres://", "postgresql://"))

    def instance(self, key: str) -> Instance:
        for instance in self.instances:
            if instance.key == key:
                return instance
        raise KeyError(key)

    @property
    def default_instance(self) -> Instance:
        return self.instances[0]

    def instance_for_host(self, host: str) -> Instance | None:
        host = host.split(":", 1)[0].lower().rstrip(".")
        for instance in self.instances:
            if host in (h.lower() for h in instance.hosts):  # INSTANCES may say "Camap.fr"
                return instance
        return None


def _secret_key(var_dir: Path) -> str:
    """Generate the key once and keep it, so sessions and links survive restarts."""
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    tmp = var_dir / f".secret_key.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    try:
        os.link(tmp, path)  # atomic: of two processes starting at once, one key wins
    except FileExistsError:
        key = path.read_text().strip()
    finally:
        tmp.unlink(missing_ok=True)
    return key


def _check_url(name: str, value: str, schemes: tuple[str, ...]) -> str:
    parts = urlsplit(value)
    if parts.scheme not in schemes or not (parts.netloc or parts.path):
        raise SettingsError(
            f"{name} n'est pas une URL valide ({value!r}) : "
            f"schéma attendu {', '.join(s + '://' for s in schemes)}"
        )
    return value


def _default_instances(base_url: str) -> list[dict]:
    host = urlsplit(base_url).hostname or "localhost"
    port = urlsplit(base_url).port
    suffix = f":{port}" if port else ""
    hosts = [host] + [h for h in ("localhost", "127.0.0.1") if h != host]
    return [
        {"key": "main", "name": "Circuit Court", "hosts": hosts, "url": base_url},
        {
            "key": "amap",
            "name": "Camap",
            "hosts": ["amap.localhost"],
            "url": f"http://amap.localhost{suffix}",
            "producer_space": False,
        },
    ]


def database_url(env: dict[str, str] | None = None) -> str:
    env = dict(os.environ if env is None else env)
    var_dir = Path(env.get("VAR_DIR") or "var")
    return env.get("DATABASE_URL") or f"sqlite:///{var_dir / 'app.sqlite3'}"


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Read and validate the environment; raise SettingsError naming the bad variable."""
    env = dict(os.environ if env is None else env)
    var_dir = Path(env.get("VAR_DIR") or "var")
    db_url = database_url(env)
    _check_url("DATABASE_URL", db_url, ("sqlite", "postgres", "postgresql"))
    redis_url = env.get("REDIS_URL", "")
    if redis_url:
        _check_url("REDIS_URL", redis_url, ("redis", "rediss"))
    smtp_url = env.get("SMTP_URL", "")
    if smtp_url:
        _check_url("SMTP_URL", smtp_url, ("smtp", "smtps"))
    base_url = (env.get("BASE_URL") or "http://localhost:8000").rstrip("/")
    _check_url("BASE_URL", base_url, ("http", "https"))
    secret_key = env.get("SECRET_KEY") or _secret_key(var_dir)
    if len(secret_key) < 16:
        raise SettingsError("SECRET_KEY est trop courte : 16 caractères au moins.")

    raw_instances = env.get("INSTANCES")
    try:
        instances_data = json.loads(raw_instances) if raw_instances else None
    except json.JSONDecodeError as error:
        raise SettingsError(f"INSTANCES n'est pas du JSON valide : {error}") from error
    if instances_data is None:
        instances_data = _default_instances(base_url)
    try:
        instances = msgspec.convert(instances_data, list[Instance])
    except msgspec.ValidationError as error:
        raise SettingsError(f"INSTANCES est invalide : {error}") from error
    if not instances:
        raise SettingsError("INSTANCES doit contenir au moins une instance.")
    seen_hosts: set[str] = set()
    for instance in instances:
        _check_url("INSTANCES", instance.url, ("http", "https"))
        for host in instance.hosts:
            if host.lower() in seen_hosts:
                raise SettingsError(f"INSTANCES : l'hôte {host!r} est déclaré deux fois.")
            seen_hosts.add(host.lower())
    if len({i.key for i in instances}) != len(instances):
        raise SettingsError("INSTANCES : deux instances ont la même clé.")

    raw = {
        "database_url": db_url,
        "redis_url": redis_url,
        "smtp_url": smtp_url,
        "secret_key": secret_key,
        "base_url": base_url,
        "instances": instances,
        "var_dir": str(var_dir),
        "mail_from": env.get("MAIL_FROM") or "noreply@localhost",
        "log_level": env.get("LOG_LEVEL") or "INFO",
    }
    for name, field in (
        ("LOGIN_MAX_FAILURES_PER_ACCOUNT", "login_max_failures_per_account"),
        ("LOGIN_MAX_FAILURES_PER_ADDRESS", "login_max_failures_per_address"),
        ("LOGIN_WINDOW_SECONDS", "login_window_seconds"),
        ("MAIL_RATE_PER_MINUTE", "mail_rate_per_minute"),
        ("MAIL_RETRY_SECONDS", "mail_retry_seconds"),
    ):
        if env.get(name):
            try:
                raw[field] = int(env[name])
            except ValueError as error:
                raise SettingsError(f"{name} doit être un nombre entier.") from error
    if raw.get("mail_rate_per_minute", 0) < 0 or raw.get("mail_retry_seconds", 1) < 1:
        raise SettingsError("MAIL_RATE_PER_MINUTE doit être ≥ 0 et MAIL_RETRY_SECONDS ≥ 1.")
    dkim = {k: env.get(k, "").strip() for k in ("DKIM_KEY_PATH", "DKIM_DOMAIN", "DKIM_SELECTOR")}
    if any(dkim.values()):
        if not all(dkim.values()):
            raise SettingsError("DKIM_KEY_PATH, DKIM_DOMAIN et DKIM_SELECTOR vont ensemble.")
        if not Path(dkim["DKIM_KEY_PATH"]).is_file():
            raise SettingsError(f"DKIM_KEY_PATH : fichier introuvable ({dkim['DKIM_KEY_PATH']}).")
        raw |= {
            "dkim_key_path": dkim["DKIM_KEY_PATH"],
            "dkim_domain": dkim["DKIM_DOMAIN"],
            "dkim_selector": dkim["DKIM_SELECTOR"],
        }
    raw["support_email"] = env.get("SUPPORT_EMAIL", "").strip()
    return Settings(**raw)
