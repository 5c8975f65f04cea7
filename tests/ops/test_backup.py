"""Backup and restore, with the very commands the README's « Exploitation » section gives.

Each test makes databases of its own (never the test session's): `python app.py migrate`
and `python app.py seed-demo` fill one, the README's backup command saves it, its restore
commands put the save into another fresh database, and every table is compared, row
count and checksum of all its rows ordered by id. SQLite always; PostgreSQL when the
suite runs on it (TEST_DATABASE=postgres).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
PG_ADMIN = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "database": "postgres"}

MIGRATE = "python app.py migrate"
SEED = "python app.py seed-demo"
SQLITE_BACKUPS = {
    "python": "python -c \"import sqlite3; s=sqlite3.connect('var/app.sqlite3'); "
    "d=sqlite3.connect('sauvegarde.sqlite3'); s.backup(d); d.close()\"",
    "sqlite3": "sqlite3 var/app.sqlite3 '.backup sauvegarde.sqlite3'",
    "vacuum-into": "sqlite3 var/app.sqlite3 \"VACUUM INTO 'sauvegarde.sqlite3'\"",
}
SQLITE_RESTORE = [
    "rm -f var/app.sqlite3-wal var/app.sqlite3-shm",
    "cp sauvegarde.sqlite3 var/app.sqlite3",
]
PG_BACKUP = 'pg_dump -Fc --file=sauvegarde.dump "$DATABASE_URL"'
PG_RESTORE = 'pg_restore --clean --if-exists --no-owner --dbname="$NOUVELLE_BASE" sauvegarde.dump'
PG_MIGRATE = 'DATABASE_URL="$NOUVELLE_BASE" python app.py migrate'


def sh(command: str, *, cwd: Path, **env: str) -> None:
    """One README command, in a shell, with the venv's python first on PATH."""
    # Nothing of the session's world (its database, its VAR_DIR) leaks into the commands.
    drop = ("TEST_DATABASE", "DATABASE_URL", "VAR_DIR", "SECRET_KEY")
    full = {k: v for k, v in os.environ.items() if k not in drop}
    full |= {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    full |= {"ARGON2_FAST": "1", "LOG_LEVEL": "WARNING"} | env
    done = subprocess.run(
        command, shell=True, cwd=cwd, env=full, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"


def app_command(command: str, database_url: str, var_dir: Path, **env: str) -> None:
    sh(command, cwd=ROOT, DATABASE_URL=database_url, VAR_DIR=str(var_dir), **env)


def checksum(rows) -> str:
    digest = hashlib.sha256()
    for row in rows:
        digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def test_readme_gives_these_commands():
    for command in [
        MIGRATE,
        *SQLITE_BACKUPS.values(),
        *SQLITE_RESTORE,
        PG_BACKUP,
        PG_RESTORE,
        PG_MIGRATE,
    ]:
        assert command in README, command


# ---------------------------------------------------------------- SQLite


def sqlite_tables(conn: sqlite3.Connection) -> dict[str, tuple[int, str]]:
    found = {}
    names = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    for (name,) in names.fetchall():
        columns = [row[1] for row in conn.execute(f'PRAGMA table_info("{name}")')]
        order = "id" if "id" in columns else ", ".join(str(i + 1) for i in range(len(columns)))
        rows = conn.execute(f'SELECT * FROM "{name}" ORDER BY {order}').fetchall()  # noqa: S608
        found[name] = (len(rows), checksum(rows))
    return found


@pytest.fixture(scope="module")
def live_sqlite(tmp_path_factory):
    """A migrated, demo-filled SQLite database, open as the running app holds it: WAL
    mode, and a last write still in the WAL file only."""
    site = tmp_path_factory.mktemp("site")
    url = f"sqlite:///{site / 'var' / 'app.sqlite3'}"
    app_command(MIGRATE, url, site / "var")
    app_command(SEED, url, site / "var")
    conn = sqlite3.connect(site / "var" / "app.sqlite3", isolation_level=None)
    assert conn.execute("PRAGMA journal_mode=WAL").fetchone() == ("wal",)
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("UPDATE app_user SET first_name = 'Claire-Anne' WHERE email = 'claire@demo.test'")
    yield site, conn
    conn.close()


def test_copying_the_live_sqlite_file_alone_is_not_a_backup(live_sqlite, tmp_path):
    site, _ = live_sqlite
    shutil.copy(site / "var" / "app.sqlite3", tmp_path / "copie.sqlite3")
    copy = sqlite3.connect(tmp_path / "copie.sqlite3")
    try:
        name = "SELECT first_name FROM app_user WHERE email = 'claire@demo.test'"
        assert copy.execute(name).fetchone() == ("Claire",)  # the last write is missing
    finally:
        copy.close()


@pytest.mark.parametrize("method", list(SQLITE_BACKUPS))
def test_sqlite_backup_and_restore_keep_every_row(live_sqlite, tmp_path, method):
    if method != "python" and shutil.which("sqlite3") is None:
        pytest.skip("l'outil sqlite3 n'est pas installé")
    site, live = live_sqlite
    (site / "sauvegarde.sqlite3").unlink(missing_ok=True)  # VACUUM INTO wants a new file
    sh(SQLITE_BACKUPS[method], cwd=site)

    restored = tmp_path / "restauree"
    (restored / "var").mkdir(parents=True)
    shutil.move(site / "sauvegarde.sqlite3", restored / "sauvegarde.sqlite3")
    for command in SQLITE_RESTORE:
        sh(command, cwd=restored)
    app_command(MIGRATE, f"sqlite:///{restored / 'var' / 'app.sqlite3'}", restored / "var")

    before = sqlite_tables(live)
    back = sqlite3.connect(restored / "var" / "app.sqlite3")
    try:
        after = sqlite_tables(back)
        claire = "SELECT first_name FROM app_user WHERE email = 'claire@demo.test'"
        assert back.execute(claire).fetchone() == ("Claire-Anne",)
    finally:
        back.close()
    assert after == before
    assert before["app_user"][0] == 9 and before["order_line"][0] > 0
    assert before["migration"][0] > 0


# ---------------------------------------------------------------- PostgreSQL


async def pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(**PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def pg_tables(name: str) -> dict[str, tuple[int, str]]:
    import asyncpg

    conn = await asyncpg.connect(**(PG_ADMIN | {"database": name}))
    try:
        found = {}
        tables = await conn.fetch(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1"
        )
        for (table,) in tables:
            rows = await conn.fetch(f'SELECT * FROM "{table}" ORDER BY id')  # noqa: S608
            found[table] = (len(rows), checksum(rows))
        # Sequences too: the restored database must hand out new ids after the old ones.
        for sequence in await conn.fetch(
            "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'"
        ):
            found[f"sequence {sequence['sequencename']}"] = (sequence["last_value"], "")
        return found
    finally:
        await conn.close()


@pytest.mark.skipif(
    os.environ.get("TEST_DATABASE") != "postgres", reason="la suite tourne sur SQLite"
)
def test_postgres_backup_and_restore_keep_every_row(tmp_path):
    missing = [tool for tool in ("pg_dump", "pg_restore") if shutil.which(tool) is None]
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"outils PostgreSQL manquants : {', '.join(missing)}")
        pytest.skip(f"outils PostgreSQL manquants : {', '.join(missing)}")
    stem = f"cc_backup_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    source, target = f"{stem}_source", f"{stem}_restauree"
    url = "postgresql://postgres@127.0.0.1:5432/{}".format
    created: list[str] = []
    try:
        for name in (source, target):
            asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
            created.append(name)
        app_command(MIGRATE, url(source), tmp_path / "var")
        app_command(SEED, url(source), tmp_path / "var")

        sh(PG_BACKUP, cwd=tmp_path, DATABASE_URL=url(source))
        sh(PG_RESTORE, cwd=tmp_path, NOUVELLE_BASE=url(target))
        sh(PG_MIGRATE, cwd=ROOT, NOUVELLE_BASE=url(target), VAR_DIR=str(tmp_path / "var"))

        before, after = asyncio.run(pg_tables(source)), asyncio.run(pg_tables(target))
        assert after == before
        assert before["app_user"][0] == 9 and before["order_line"][0] > 0
        assert before["migration"][0] > 0
    finally:
        for name in created:
            asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
