"""Member import benchmark: 5,000 rows read, previewed and imported, on SQLite and PostgreSQL.

Prints one JSON document per engine: the seconds to parse the CSV, to preview it (with
the database lookups of existing accounts and members), to sign and check the preview,
and to confirm (users, memberships, invitation tokens and 5,000 mail rows in one
transaction, inserts chunked by 500 rows), with the CSV and signed-preview sizes.
Never run as a test.

    .venv/bin/python bench/member_import_bench.py [--rows 5000] [--engine sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "database": "postgres"}


def make_csv(rows: int, existing: int) -> bytes:
    """A file as Excel writes it in France: `;`, Windows-1252, accents, a few couples."""
    lines = ["Prénom;Nom;E-mail;Téléphone;Adresse;Code postal;Ville;Prénom 2;Nom 2;E-mail 2"]
    for i in range(rows):
        email = f"existant{i}@bench.test" if i < existing else f"client{i}@bench.test"
        second = (
            f"Dominique;Lefèvre{i};conjoint{i}@bench.test"
            if i % 50 == 0 and i >= existing
            else ";;"
        )
        lines.append(
            f"Hélène;Dupré{i};{email};06 12 34 {i % 100:02d} {i % 97:02d};"
            f'"{i} rue des Lilas";69001;Lyon;{second}'
        )
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


async def run(rows: int) -> dict:
    from domain.database import close_pool, migrate, prepare_engine, start_pool
    from domain.demo import world
    from domain.members import imports as member_import
    from domain.outbox import MailContext
    from domain.tables import Membership, OutboxMail

    await migrate()
    await prepare_engine()
    await start_pool()
    admin = await world.person("admin@bench.test")
    group = await world.group(admin, "AMAP Bench")
    existing = rows // 10
    await world.people(
        existing, email="existant{i}@bench.test", first_name="", last_name=""
    )  # accounts without a password, as an earlier import leaves them
    data = make_csv(rows, existing)
    ctx = MailContext(instance="main", site_name="Bench", base_url="http://localhost")
    secret = "bench-secret-key-0123456789abcdef"
    figures: dict = {"rows": rows, "csv_bytes": len(data)}

    started = time.perf_counter()
    parsed = member_import.parse(data)
    figures["parse_s"] = round(time.perf_counter() - started, 3)
    assert parsed.ok, (parsed.problems, parsed.bad_rows[:3])

    started = time.perf_counter()
    preview = await member_import.preview(group["id"], data)
    figures["preview_s"] = round(time.perf_counter() - started, 3)

    started = time.perf_counter()
    signed = member_import.sign(group["id"], preview, secret)
    signed_rows = member_import.unsign(signed, group["id"], secret)
    figures["sign_and_check_s"] = round(time.perf_counter() - started, 3)
    figures["signed_preview_bytes"] = len(signed)

    # How much of the confirmation is the mail rows (domain/outbox.queue_many).
    from domain import outbox

    real_queue_many, spent = outbox.queue_many, []

    async def timed_queue_many(mails):
        begun = time.perf_counter()
        try:
            return await real_queue_many(mails)
        finally:
            spent.append(time.perf_counter() - begun)

    outbox.queue_many = timed_queue_many
    started, cpu = time.perf_counter(), time.process_time()
    result = await member_import.confirm(group["id"], signed_rows, ctx)
    figures["confirm_s"] = round(time.perf_counter() - started, 3)
    figures["confirm_cpu_s"] = round(time.process_time() - cpu, 3)
    figures["of_which_mail_rows_s"] = round(sum(spent), 3)
    outbox.queue_many = real_queue_many
    figures["total_s"] = round(
        figures["parse_s"]
        + figures["preview_s"]
        + figures["sign_and_check_s"]
        + figures["confirm_s"],
        3,
    )
    figures["created"] = result.created
    figures["linked"] = result.linked
    figures["mail_rows"] = len(result.mail_ids)
    figures["members_after"] = await Membership.count().where(Membership.group == group["id"])
    figures["outbox_rows"] = await OutboxMail.count()
    await close_pool()
    return figures


def child(engine: str, rows: int) -> None:
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    result = asyncio.run(run(rows))
    print(json.dumps({"engine": engine, **result}))


async def _pg(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(**PG)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def parent(engine: str, rows: int) -> dict:
    """Each engine in its own process: the engine is chosen when piccolo_conf is imported."""
    tmp = tempfile.mkdtemp(prefix="cc-import-bench-")
    env = dict(os.environ, VAR_DIR=tmp, LOG_LEVEL="WARNING", ARGON2_FAST="1")
    env.pop("REDIS_URL", None)
    name = f"cc_bench_import_{os.getpid()}"
    if engine == "postgres":
        asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
        env["DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:5432/{name}"
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--child", engine, "--rows", str(rows)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if done.returncode != 0:
            raise SystemExit(f"{engine} a échoué :\n{done.stdout}\n{done.stderr}")
        return json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        if engine == "postgres":
            asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--engine", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--child", choices=("sqlite", "postgres"))
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rows)
        return
    engines = ("sqlite", "postgres") if args.engine == "both" else (args.engine,)
    load = os.getloadavg()[0]
    results = [parent(engine, args.rows) for engine in engines]
    print(json.dumps({"load_average_1min_before": round(load, 2), "results": results}, indent=2))


if __name__ == "__main__":
    main()
