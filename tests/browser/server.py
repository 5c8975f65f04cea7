"""The app served by `app.py serve` in a subprocess, on its own SQLite database, outbox and
port, and the browser's settings (Chromium, a phone's viewport, a slow network): what the
browser tests run against (tests/browser/conftest.py) and what the browser benchmarks
measure (bench/slow_network_bench.py).

    with served() as server:
        ...  # server.base_url, server.seed(...), server.mails_to(...)
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
if not Path(PYTHON).exists():
    PYTHON = sys.executable
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 375, "height": 740}
# A phone on a slow 3G connection, as Chromium's DevTools emulate it (bytes per second).
SLOW_3G = {
    "offline": False,
    "latency": 400,
    "downloadThroughput": 50_000,
    "uploadThroughput": 50_000,
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, port: int, var_dir: Path, env: dict[str, str] | None = None) -> None:
        self.port = port
        self.var_dir = var_dir
        self.env = env or {}
        self.base_url = f"http://localhost:{port}"
        self.log_path = var_dir / "server.log"

    @property
    def outbox(self) -> Path:
        return self.var_dir / "outbox"

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def seed(self, **spec) -> dict:
        """Makes test data in the server's database with the real domain code (seed.py):
        an admin, members and a distribution open now; returns slug, url, products..."""
        done = subprocess.run(
            [PYTHON, "-m", "tests.browser.seed", json.dumps(spec)],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise AssertionError(f"seed {spec} a échoué :\n{done.stdout}\n{done.stderr}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    def mails_to(self, address: str) -> list[EmailMessage]:
        found = []
        for path in sorted(self.outbox.glob("*.eml")):
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            if address.lower() in str(message["To"]).lower():
                found.append(message)
        return found

    def wait_for_mail(self, address: str, seconds: float = 10) -> list[EmailMessage]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = self.mails_to(address)
            if found:
                return found
            time.sleep(0.1)
        files = sorted(p.name for p in self.outbox.glob("*")) if self.outbox.exists() else []
        raise AssertionError(
            f"aucun mail pour {address} dans {self.outbox} après {seconds} s "
            f"(fichiers : {files})\nboîte d'envoi en base : {self.outbox_rows(address)}\n"
            f"journal du serveur :\n{self.log()}"
        )

    def execute(self, sql: str, params: tuple = ()) -> int:
        """Changes the server's data behind its back, as time or another person would (a
        sold-out product, orders closing, a session ending); returns the rows changed."""
        db = sqlite3.connect(self.var_dir / "app.sqlite3", timeout=30)
        try:
            with db:
                return db.execute(sql, params).rowcount
        finally:
            db.close()

    def outbox_rows(self, address: str) -> list[tuple]:
        """The outbox_mail rows of `address`, to tell a slow worker from a failing one."""
        try:
            with sqlite3.connect(f"file:{self.var_dir / 'app.sqlite3'}?mode=ro", uri=True) as db:
                return db.execute(
                    "SELECT id, kind, state, attempts, last_error FROM outbox_mail"
                    " WHERE to_addr = ?",
                    (address,),
                ).fetchall()
        except sqlite3.Error as error:
            return [("illisible", str(error))]


def server_env(port: int, var_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("REDIS_URL", "SMTP_URL", "INSTANCES", "DATABASE_URL", "TEST_DATABASE"):
        env.pop(name, None)
    env.update(
        {
            "PORT": str(port),
            "HOST": "127.0.0.1",
            "VAR_DIR": str(var_dir),
            "DATABASE_URL": f"sqlite:///{var_dir / 'app.sqlite3'}",
            "BASE_URL": f"http://localhost:{port}",
            "SECRET_KEY": "browser-tests-secret-key-0123456789",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


class ServerFailed(Exception):
    """The server could not be migrated or started (its log is in the message)."""


@contextlib.contextmanager
def served(extra_env: dict[str, str] | None = None) -> Iterator[Server]:
    """A migrated, healthy server until the block ends; then stopped and its files removed.
    `extra_env`: more of its environment (ESCARCELLE_URL…)."""
    var_dir = Path(tempfile.mkdtemp(prefix="cc-browser-"))
    port = free_port()
    env = server_env(port, var_dir) | (extra_env or {})
    migrated = subprocess.run(
        [PYTHON, "app.py", "migrate"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if migrated.returncode != 0:
        shutil.rmtree(var_dir, ignore_errors=True)
        raise ServerFailed(f"migrate a échoué :\n{migrated.stdout}\n{migrated.stderr}")

    srv = Server(port, var_dir, env)
    log = open(srv.log_path, "wb")  # noqa: SIM115 - closed below, after the process
    proc = subprocess.Popen(
        [PYTHON, "app.py", "serve"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 30
        while not healthy(port):
            if proc.poll() is not None:
                raise ServerFailed(
                    f"le serveur s'est arrêté (code {proc.returncode}) :\n{srv.log()}"
                )
            if time.monotonic() > deadline:
                raise ServerFailed(f"/healthz ne répond pas 200 après 30 s :\n{srv.log()}")
            time.sleep(0.1)
        yield srv
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()
        shutil.rmtree(var_dir, ignore_errors=True)
