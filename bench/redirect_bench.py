"""Cost of the moved-group check (web/routing.py) on every request. Never run as a test.

Prints one JSON document:
- `middleware_us`: the instance middleware called directly around a do-nothing ASGI app,
  many times, p50/p99 in µs per request, for a `/static` URL, a group that never moved, a
  moved group's URL on its old host (answered 301 and counted) and the do-nothing app alone;
  `added_us` is the middleware's own cost (p50 minus the bare app's p50);
- `reload_ms`: reloading the list of moved groups (once per 30 s per process, on a `/g/` URL);
- `counting`: an in-memory count per redirection (what the middleware does, flushed every
  30 s) against an UPSERT of RedirectCount per redirection;
- `end_to_end_ms`: the real app in process (Litestar test client): a group's public page with
  the moved groups in memory and with none, a redirected URL, a static file.

    .venv/bin/python bench/redirect_bench.py [--quick] [--moved 2000] [--pg]

SQLite in a temporary directory by default; `--pg` uses a fresh database on
postgresql://postgres@127.0.0.1:5432 (dropped at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG = "postgresql://postgres@127.0.0.1:5432"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentiles(samples: list[float], scale: float) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50": round(statistics.median(ordered) * scale, 2),
        "p99": round(ordered[int(len(ordered) * 0.99) - 1] * scale, 2),
    }


def scope(path: str, host: str = "localhost", method: str = "GET") -> dict:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"vue=produits",
        "headers": [(b"host", host.encode()), (b"user-agent", b"bench")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
    }


async def receive() -> dict:
    return {"type": "http.request", "body": b"", "more_body": False}


async def send(message: dict) -> None:
    return None


async def bare_app(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def seed(moved: int) -> dict:
    from domain.database import insert_many
    from domain.demo import world
    from domain.tables import Group

    admin = await world.person("admin@bench.test")
    normal = await world.group(admin, "Marché du Port", "market")
    target = await world.group(admin, "AMAP des Lilas", "amap")
    now = datetime.now(UTC)
    await Group.update(
        {
            Group.instance: "amap",
            Group.previous_instance: "main",
            Group.migrated_at: now - timedelta(days=1),
            Group.redirect_until: now + timedelta(days=30),
        }
    ).where(Group.id == target["id"])
    await insert_many(
        [
            Group(
                name=f"AMAP {i}",
                slug=f"amap-{i}",
                kind="amap",
                instance="amap",
                previous_instance="main",
                migrated_at=now - timedelta(days=i % 200),
                redirect_until=now + timedelta(days=30 - i % 60),
            )
            for i in range(moved)
        ]
    )
    return {"normal": normal, "moved": target}


async def time_calls(call, iterations: int) -> list[float]:
    samples = []
    for _ in range(iterations):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return samples


async def run(args: argparse.Namespace) -> dict:
    from app import create_app
    from domain import database, instances
    from domain.database import migrate
    from domain.kernel import clock, dates
    from domain.settings import load_settings
    from web import routing

    with contextlib.redirect_stdout(sys.stderr):  # stdout is the JSON document
        await migrate()
    await database.prepare_engine()
    await database.start_pool()  # as the app's lifespan does (PostgreSQL: a pool)
    world = await seed(args.moved)
    settings = load_settings()
    normal, moved = world["normal"]["slug"], world["moved"]["slug"]
    n = args.iterations

    # --- the middleware alone -----------------------------------------------------------
    directory = routing.MoveDirectory()
    middleware = routing.InstanceMiddleware(bare_app, settings, moves=directory)
    await directory.get("x")  # load once, as the first /g/ request does
    cases = {
        "static": "/static/app.css",
        "group_not_moved": f"/g/{normal}/catalogues/1/commandes/2",
        "moved_group_redirect": f"/g/{moved}/catalogues/1/commandes/2",
    }
    results: dict = {"moved_groups_in_memory": len(directory.by_slug)}
    await time_calls(lambda: bare_app(scope("/static/app.css"), receive, send), n // 5)  # warm
    bare = await time_calls(lambda: bare_app(scope("/static/app.css"), receive, send), n)
    mw: dict = {"bare_app": percentiles(bare, 1e6)}
    for name, path in cases.items():
        await time_calls(lambda p=path: middleware(scope(p), receive, send), n // 5)  # warm
        samples = await time_calls(lambda p=path: middleware(scope(p), receive, send), n)
        mw[name] = percentiles(samples, 1e6)
    base = mw["bare_app"]["p50"]
    mw["added_us"] = {k: round(mw[k]["p50"] - base, 2) for k in cases}
    results["middleware_us"] = mw
    results["redirects_counted_in_memory"] = sum(directory.pending.values())
    await directory.flush()

    # --- reloading the list ---------------------------------------------------------------
    reload = await time_calls(instances.moves, max(20, n // 1000))
    results["reload_ms"] = percentiles(reload, 1e3)

    # --- counting: in memory vs an UPSERT per redirection ---------------------------------
    move = directory.by_slug[moved]
    memory = []
    for _ in range(n):
        started = time.perf_counter()
        directory.pending[(move.group_id, dates.paris_day(clock.now()))] += 1
        memory.append(time.perf_counter() - started)
    upserts = await time_calls(
        lambda: instances.add_redirect_counts({(move.group_id, dates.paris_day(clock.now())): 1}),
        max(50, n // 100),
    )
    directory.pending.clear()
    results["counting"] = {
        "in_memory_us": percentiles(memory, 1e6),
        "upsert_per_redirect_ms": percentiles(upserts, 1e3),
    }

    # --- end to end: the real app ---------------------------------------------------------
    from litestar.testing import AsyncTestClient

    app = create_app(settings)
    e2e: dict = {}
    async with AsyncTestClient(app=app, base_url="http://localhost") as client:

        async def page(path: str, status: int):
            response = await client.get(path, follow_redirects=False)
            assert response.status_code == status, (path, response.status_code)

        m = max(100, n // 50)
        for label, path, status in (
            ("group_page_moves_in_memory", f"/g/{normal}", 200),
            ("redirect", f"/g/{moved}/commandes?x=1", 301),
            ("static", "/static/app.css", 200),
        ):
            await page(path, status)  # warm
            e2e[label] = percentiles(await time_calls(lambda p=path, s=status: page(p, s), m), 1e3)
        # The same group page with an empty list of moved groups (what it costs without).
        saved = routing.MOVES.by_slug
        routing.MOVES.by_slug, routing.MOVES.expires = {}, float("inf")
        e2e["group_page_no_moves"] = percentiles(
            await time_calls(lambda: page(f"/g/{normal}", 200), m), 1e3
        )
        routing.MOVES.by_slug = saved
        await routing.MOVES.flush()
    results["end_to_end_ms"] = e2e
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--moved", type=int, default=2000, help="moved groups in the database")
    parser.add_argument("--pg", action="store_true", help="PostgreSQL instead of SQLite")
    args = parser.parse_args()
    args.iterations = 5000 if args.quick else 50000
    var_dir = tempfile.mkdtemp(prefix="cc-redirect-bench-")
    database = f"cc_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    os.environ.update(
        {
            "VAR_DIR": var_dir,
            "BASE_URL": "http://localhost",
            "LOG_LEVEL": "WARNING",
            "SECRET_KEY": "bench-secret-key-0123456789abcdef",
            "ARGON2_FAST": "1",
            "DATABASE_URL": f"{PG}/{database}" if args.pg else f"sqlite:///{var_dir}/b.sqlite3",
        }
    )
    for name in ("INSTANCES", "REDIS_URL", "SMTP_URL"):
        os.environ.pop(name, None)

    async def pg(sql: str) -> None:
        import asyncpg

        conn = await asyncpg.connect(f"{PG}/postgres")
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def whole() -> dict:
        if args.pg:
            await pg(f'CREATE DATABASE "{database}"')
        try:
            return await run(args)
        finally:
            from domain.database import close_pool

            await close_pool()
            if args.pg:
                await pg(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    log(f"{args.iterations} appels par cas, {args.moved} groupes déplacés…")
    results = asyncio.run(whole())
    results["engine"] = "postgresql" if args.pg else "sqlite"
    results["iterations"] = args.iterations
    print(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
