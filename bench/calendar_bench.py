"""Calendar feeds benchmark: the ICS feed of a group with 52 distributions, and a member's
own feed of it (an order of 5 lines and a contract at every distribution), through the real
app on PostgreSQL.

Prints one JSON document: per feed the p50/p95 latency, the server CPU per request (the
process's CPU time, client and server being one process: an upper bound), the SQL queries
(the same with 4 distributions: it must not grow) and the bytes; and the same figures for
the group's home page measured in the same run, as the ceiling the feeds are compared to
(`cpu_vs_home`). Never run as a test.

    .venv/bin/python bench/calendar_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_ADMIN = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "database": "postgres"}
NAME = f"cc_bench_calendar_{os.getpid()}_{uuid.uuid4().hex[:4]}"
os.environ.update(
    {
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{NAME}",
        "VAR_DIR": tempfile.mkdtemp(prefix="cc-bench-"),
        "SECRET_KEY": "bench-secret-key-0123456789abcdef",
        "BASE_URL": "http://localhost",
        "LOG_LEVEL": "WARNING",
        "ARGON2_FAST": "1",
    }
)
for name in ("REDIS_URL", "SMTP_URL", "INSTANCES"):
    os.environ.pop(name, None)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def pg(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(**PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def build(count: int) -> dict:
    """An AMAP with `count` weekly distributions (26 past, the rest to come), 3 catalogs
    delivering at each, 30 members; the measured member ordered 5 lines at each and
    subscribed to one contract."""
    from domain.demo import world
    from domain.kernel import clock

    tag = uuid.uuid4().hex[:6]
    admin = await world.person(f"admin-{tag}@bench.test")
    member = await world.person(f"membre-{tag}@bench.test", "Léa")
    made = await world.group(admin, f"AMAP {tag}")
    group = made["id"]
    place = await world.place(group, "Halle", "1 place du Marché, 44000 Nantes")
    now = clock.now()
    starts = [now + timedelta(weeks=week - count // 2) for week in range(count)]
    catalogs = []
    for name in ("Légumes", "Œufs", "Pain"):
        vendor = await world.producer(group, f"Ferme {name}")
        catalogs.append(await world.catalog(group, vendor, name))
    dates = await world.distributions(group, place, starts, catalogs=catalogs)
    products = await world.products(catalogs[0], 20, name="Produit {i:02d}", price_cents=250)
    others = await world.people(29, email=f"m{{i}}-{tag}@bench.test")
    await world.join(group, [member, *others])
    for n, dist in enumerate(dates):
        basket = {products[(n + k) % 20]: 1 + k for k in range(5)}
        await world.orders(dist, {member: basket, **{u: basket for u in others}})
    today = now.date()
    await world.subscription(
        member, catalogs[1], starts_on=today - timedelta(days=400), ends_on=today + timedelta(400)
    )
    from domain.database import db

    await db().run_ddl("ANALYZE")
    return {"slug": made["slug"], "member": member, "dates": len(dates)}


async def timed(client, url: str, runs: int) -> dict:
    from tests.helpers import QueryCounter

    response = await client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    times, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        response = await client.get(url)
        cpu.append((time.process_time() - start_cpu) * 1000)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    with QueryCounter() as counter:
        await client.get(url)
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 2),
        "cpu_ms": round(statistics.median(cpu), 2),
        "queries": counter.count,
        "bytes": len(response.content),
        "events": response.text.count("BEGIN:VEVENT"),
    }


async def private_path(client, slug: str, email: str) -> str:
    from tests.helpers import login, post_form

    client.cookies.clear()
    await login(client, email)
    await post_form(client, f"/g/{slug}/calendrier", {"action": "creer"})
    page = await client.get(f"/g/{slug}/calendrier")
    match = re.search(r'value="http://localhost(/g/[^"]+/calendrier/[0-9a-f-]+\.ics)"', page.text)
    assert match, page.text[-2000:]
    client.cookies.clear()  # a calendar app has no session
    return match.group(1)


async def main(quick: bool) -> dict:
    await pg(f'CREATE DATABASE "{NAME}"')
    try:
        from litestar.testing import AsyncTestClient

        from app import create_app
        from domain.database import migrate, prepare_engine, start_pool
        from domain.settings import load_settings
        from domain.tables import User

        with contextlib.redirect_stdout(sys.stderr):  # stdout is the JSON document
            await migrate()
        await prepare_engine()
        await start_pool()
        runs = 20 if quick else 100
        log("données : 4 et 52 distributions…")
        worlds = {"4_distributions": await build(4), "52_distributions": await build(52)}
        app = create_app(load_settings(), background=False)
        result: dict = {"runs": runs}
        async with AsyncTestClient(app=app, base_url="http://localhost") as client:
            for key, world in worlds.items():
                log(f"flux : {key}…")
                email = (await User.select(User.email).where(User.id == world["member"]).first())[
                    "email"
                ]
                mine = await private_path(client, world["slug"], email)
                home = await timed(client, f"/g/{world['slug']}", runs)
                group = await timed(client, f"/g/{world['slug']}/calendrier.ics", runs)
                member = await timed(client, mine, runs)
                result[key] = {
                    "home_page": home,
                    "group_feed": group
                    | {"cpu_vs_home": round(group["cpu_ms"] / home["cpu_ms"], 2)},
                    "member_feed": member
                    | {"cpu_vs_home": round(member["cpu_ms"] / home["cpu_ms"], 2)},
                }
        return result
    finally:
        from domain.database import close_pool

        await close_pool()
        await pg(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.quick)), indent=2, ensure_ascii=False))
