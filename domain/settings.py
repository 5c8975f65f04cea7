"""Settings: one msgspec Struct read from the environment and checked at start.

Every variable has an embedded default so that the app runs on a bare machine:
SQLite under var/, in-process jobs, mails written to var/outbox/.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import msgspec


class SettingsError(Exception):
    """A bad environment variable; the message names it."""


class Legal(msgspec.Struct, frozen=True):
    """What an instance's « Aide » pages say of who runs it (INSTANCES' `legal` object).
    Plain text; a blank line between paragraphs. Empty: the page says what is missing."""

    publisher: str = ""  # l'éditeur : nom, forme juridique, adresse, SIREN, e-mail
    director: str = ""  # le directeur de la publication
    host: str = ""  # l'hébergeur : nom, adresse, téléphone
    contact: str = ""  # à qui écrire pour ses données (défaut : SUPPORT_EMAIL)
    notice: str = ""  # mentions légales : paragraphes ajoutés
    terms: str = ""  # conditions d'utilisation : remplacent le texte par défaut
    privacy: str = ""  # politique de confidentialité : paragraphes ajoutés


class Instance(msgspec.Struct, frozen=True):
    """One deployment answering on its own hosts (e.g. the main platform, the AMAP one).

    Each sends from its own domain and signs with its own DKIM key: `mail_from` (default:
    MAIL_FROM for the first instance, noreply@<its host> for the others), `dkim_key_path`
    and `dkim_selector` (its key; `dkim_domain` defaults to the domain of its sender)."""

    key: str
    name: str
    hosts: list[str]
    url: str
    producer_space: bool = True
    mail_from: str = ""
    legal: Legal = Legal()
    dkim_key_path: str = ""
    dkim_selector: str = ""
    dkim_domain: str = ""

    @property
    def host(self) -> str:
        return (urlsplit(self.url).hostname or "localhost").lower()


class DkimKey(msgspec.Struct, frozen=True):
    """Where an instance's DKIM private key is, and what it signs for."""

    key_path: str
    domain: str
    selector: str


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].strip().lower().rstrip(".")


def _aligned(domain: str, signing: str) -> bool:
    """DMARC's relaxed alignment: the sender's domain is the signing one or below it."""
    signing = signing.lower().rstrip(".")
    return domain == signing or domain.endswith("." + signing)


_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0")


def _is_local(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host in _LOCAL_HOSTS or host.endswith(".localhost") or "." not in host


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str
    redis_url: str = ""
    smtp_url: str = ""
    secret_key: str
    base_url: str
    instances: list[Instance]
    # Where `python app.py serve` listens (PORT, HOST); the default BASE_URL follows PORT.
    port: int = 8000
    host: str = "127.0.0.1"
    var_dir: str = "var"
    # MAIL_FROM: the first instance's sender (empty: noreply@<its host>).
    mail_from: str = ""
    log_level: str = "INFO"
    # Login attempts per (account, address) before each next one waits longer, and per
    # account from all addresses together, in a window of LOGIN_WINDOW_SECONDS.
    login_max_per_pair: int = 5
    login_max_per_account: int = 50
    login_window_seconds: int = 900
    # Mail delivery: a shared send rate (0: no limit), the first retry delay (doubling
    # after each failure), DKIM signing when the three DKIM_* are set, the support address.
    mail_rate_per_minute: int = 600
    mail_retry_seconds: int = 30
    # A worker's claim on a mail is a lease it renews while sending: a crashed worker's
    # mails are taken back this many seconds after its last renewal.
    mail_lease_seconds: int = 45
    dkim_key_path: str = ""
    dkim_domain: str = ""
    dkim_selector: str = ""
    support_email: str = ""
    # Delivered mails are deleted after this many days (`prune`).
    retention_days: int = 30
    # An account unused for this many days is deleted after three warnings (`prune`,
    # domain/privacy/inactivity.py): two years.
    inactive_account_days: int = 730
    # Threads per process for password hashes and photo resizing (domain/kernel/cpu.py);
    # 0: one per core, up to 4.
    cpu_threads: int = 0
    # Escarcelle's partner API (connectors/escarcelle.py): its address, and seconds per call.
    # Empty: no Escarcelle sync (`./dev run`'s demo starts connectors/escarcelle_simulator.py).
    escarcelle_url: str = ""
    escarcelle_timeout: float = 10.0
    # The first wait before a retry (429, 5xx, timeout), doubling from there.
    escarcelle_backoff: float = 0.5
    # A push's claim on a sale: a worker killed mid-push leaves it to another after this.
    escarcelle_lease_seconds: int = 120

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

    def sender(self, instance: Instance) -> str:
        """The address the instance's mails come from: its own domain, never another
        instance's (a member of the AMAP instance gets mail from the AMAP host)."""
        if instance.mail_from:
            return instance.mail_from
        if instance.key == self.default_instance.key and self.mail_from:
            return self.mail_from
        return f"noreply@{instance.host}"

    def dkim(self, instance: Instance) -> DkimKey | None:
        """The key the instance's mails are signed with: its own (INSTANCES), or DKIM_*
        when their domain covers the instance's sender; None: not signed."""
        if instance.dkim_key_path:
            return DkimKey(
                key_path=instance.dkim_key_path,
                domain=instance.dkim_domain or domain_of(self.sender(instance)),
                selector=instance.dkim_selector,
            )
        if self.dkim_key_path and _aligned(domain_of(self.sender(instance)), self.dkim_domain):
            return DkimKey(
                key_path=self.dkim_key_path, domain=self.dkim_domain, selector=self.dkim_selector
            )
        return None

    def mail_warnings(self) -> list[str]:
        """What the start-up log warns about when mails really leave (SMTP_URL is set):
        a sender or links on localhost (filters and people distrust them), a sender whose
        mails are not signed, or signed for another domain."""
        if not self.smtp_url:
            return []  # development: mails go to var/outbox/
        warnings = []
        for instance in self.instances:
            sender = self.sender(instance)
            if _is_local(instance.host):
                warnings.append(
                    f"instance {instance.key} : son adresse {instance.url} est locale ; "
                    "les liens des e-mails ne marcheront pas (BASE_URL ou INSTANCES)."
                )
            if _is_local(domain_of(sender)):
                warnings.append(
                    f"instance {instance.key} : les e-mails partent de {sender}, une adresse "
                    "locale que les filtres anti-spam refusent (MAIL_FROM ou INSTANCES)."
                )
            dkim = self.dkim(instance)
            if dkim is None:
                warnings.append(
                    f"instance {instance.key} : les e-mails de {sender} ne sont pas signés "
                    "(DKIM) ; voir le README, « Faire arriver les e-mails »."
                )
            elif not _aligned(domain_of(sender), dkim.domain):
                warnings.append(
                    f"instance {instance.key} : signature DKIM pour {dkim.domain}, mais les "
                    f"e-mails partent de {sender} (DMARC demande le même domaine)."
                )
        return warnings

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


def _port(value: str) -> int:
    value = value.strip()
    if not value:
        return 8000
    if not re.fullmatch(r"[0-9]{1,5}", value) or not 0 < int(value) < 65536:
        raise SettingsError(f"PORT doit être un numéro de port entre 1 et 65535 ({value!r}).")
    return int(value)


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
    port = _port(env.get("PORT", ""))
    listen_host = env.get("HOST", "").strip() or "127.0.0.1"
    base_url = (env.get("BASE_URL") or f"http://localhost:{port}").rstrip("/")
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
    for instance in instances:
        if (instance.dkim_key_path or instance.dkim_domain) and not (
            instance.dkim_key_path and instance.dkim_selector
        ):
            raise SettingsError(
                f"INSTANCES : l'instance {instance.key} a besoin de dkim_key_path et de "
                "dkim_selector ensemble."
            )
        if instance.dkim_key_path and not Path(instance.dkim_key_path).is_file():
            raise SettingsError(
                f"INSTANCES : clé DKIM de l'instance {instance.key} introuvable "
                f"({instance.dkim_key_path})."
            )

    raw = {
        "database_url": db_url,
        "redis_url": redis_url,
        "smtp_url": smtp_url,
        "secret_key": secret_key,
        "base_url": base_url,
        "instances": instances,
        "port": port,
        "host": listen_host,
        "var_dir": str(var_dir),
        "mail_from": env.get("MAIL_FROM", "").strip(),
        "log_level": env.get("LOG_LEVEL") or "INFO",
    }
    for name, field in (
        ("LOGIN_MAX_PER_PAIR", "login_max_per_pair"),
        ("LOGIN_MAX_PER_ACCOUNT", "login_max_per_account"),
        ("LOGIN_WINDOW_SECONDS", "login_window_seconds"),
        ("MAIL_RATE_PER_MINUTE", "mail_rate_per_minute"),
        ("MAIL_RETRY_SECONDS", "mail_retry_seconds"),
        ("MAIL_LEASE_SECONDS", "mail_lease_seconds"),
        ("RETENTION_DAYS", "retention_days"),
        ("INACTIVE_ACCOUNT_DAYS", "inactive_account_days"),
        ("CPU_THREADS", "cpu_threads"),
        ("ESCARCELLE_LEASE_SECONDS", "escarcelle_lease_seconds"),
    ):
        if env.get(name):
            try:
                raw[field] = int(env[name])
            except ValueError as error:
                raise SettingsError(f"{name} doit être un nombre entier.") from error
    if raw.get("mail_rate_per_minute", 0) < 0 or raw.get("mail_retry_seconds", 1) < 1:
        raise SettingsError("MAIL_RATE_PER_MINUTE doit être ≥ 0 et MAIL_RETRY_SECONDS ≥ 1.")
    if raw.get("mail_lease_seconds", 45) < 1 or raw.get("cpu_threads", 0) < 0:
        raise SettingsError("MAIL_LEASE_SECONDS doit être ≥ 1 et CPU_THREADS ≥ 0.")
    if raw.get("retention_days", 30) < 1 or raw.get("inactive_account_days", 730) < 60:
        raise SettingsError("RETENTION_DAYS doit être ≥ 1 et INACTIVE_ACCOUNT_DAYS ≥ 60.")
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
    escarcelle = env.get("ESCARCELLE_URL", "").strip().rstrip("/")
    if escarcelle:
        raw["escarcelle_url"] = _check_url("ESCARCELLE_URL", escarcelle, ("http", "https"))
    if env.get("ESCARCELLE_TIMEOUT"):
        try:
            raw["escarcelle_timeout"] = float(env["ESCARCELLE_TIMEOUT"])
        except ValueError as error:
            raise SettingsError("ESCARCELLE_TIMEOUT doit être un nombre de secondes.") from error
        if not 0 < raw["escarcelle_timeout"] <= 120:
            raise SettingsError("ESCARCELLE_TIMEOUT doit être entre 0 et 120 secondes.")
    if raw.get("escarcelle_lease_seconds", 120) < 1:
        raise SettingsError("ESCARCELLE_LEASE_SECONDS doit être ≥ 1.")
    return Settings(**raw)
