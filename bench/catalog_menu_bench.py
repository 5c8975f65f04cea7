"""Catalog menu benchmark: STATISTIQUES and RÉCAPITULATIF of a busy catalog, and the CSV
import and export of a large one, through the real app on PostgreSQL.

Prints one JSON document: for a catalog with 52 distributions × 200 validated orders of 5
lines (52,000 lines), the p50/p95 latency and the SQL queries of the statistics and recap
pages (the same count with 4 distributions: it must not grow); for 2,000 products, the time
of the export, of the import preview and of its confirmation. Never run as a test.

    .venv/bin/python bench/catalog_menu_bench.py [--quick]
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
NAME = f"cc_bench_menu_{os.getpid()}_{uuid.uuid4().hex[:4]}"
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


async def build(distributions: int, orders: int, products: int) -> dict:
    """A group, a catalog with `products` products delivering at `distributions` past dates,
    each with `orders` validated orders of 5 lines."""
    from domain.demo import world
    from domain.kernel import clock

    tag = uuid.uuid4().hex[:6]
    admin = await world.person(f"admin-{tag}@bench.test")
    made = await world.group(admin, f"AMAP {tag}")
    group = made["id"]
    place = await world.place(group)
    catalog = await world.catalog(group, await world.producer(group, "Ferme"))
    product_ids = await world.products(
        catalog, products, name="Produit {i:04d}", price_cents=100, reference="R{i}"
    )
    users = await world.people(orders, email=f"m{{i}}-{tag}@bench.test", first_name="M{i}")
    await world.join(group, users)
    now = clock.now()
    dates = await world.distributions(
        group,
        place,
        [now - timedelta(weeks=distributions - week) for week in range(distributions)],
        catalogs=[catalog],
    )
    popular = min(len(product_ids), 40)  # the orders share the first 40 products
    for dist in dates:
        await world.orders(
            dist,
            {
                user: {product_ids[(n * 5 + k) % popular]: 1 + k for k in range(5)}
                for n, user in enumerate(users)
            },
        )
    # What autovacuum does after a bulk load: the planner needs the tables' statistics.
    from domain.database import db

    await db().run_ddl("ANALYZE")
    return {"slug": made["slug"], "catalog": catalog, "admin": admin}


async def timed(client, url: str, runs: int) -> dict:
    from tests.helpers import QueryCounter

    await client.get(url)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = await client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    with QueryCounter() as counter:
        await client.get(url)
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 1),
        "queries": counter.count,
        "bytes": len(response.content),
    }


async def main(quick: bool) -> dict:
    await pg(f'CREATE DATABASE "{NAME}"')
    try:
        from litestar.testing import AsyncTestClient

        from app import create_app
        from domain.database import migrate, prepare_engine, start_pool
        from domain.settings import load_settings
        from domain.tables import User
        from tests.helpers import login, post_form

        with contextlib.redirect_stdout(sys.stderr):  # stdout is the JSON document
            await migrate()
        await prepare_engine()
        await start_pool()
        orders = 50 if quick else 200
        runs = 10 if quick else 30
        log("données : 4 distributions…")
        small = await build(4, orders, 40)
        log(f"données : 52 distributions × {orders} commandes × 5 lignes…")
        big = await build(52, orders, 2000)
        app = create_app(load_settings())
        result: dict = {"orders_per_distribution": orders, "lines_per_order": 5}
        async with AsyncTestClient(app=app, base_url="http://localhost") as client:
            for world in (small, big):
                email = (await User.select(User.email).where(User.id == world["admin"]).first())[
                    "email"
                ]
                client.cookies.clear()
                await login(client, email)
                base = f"/g/{world['slug']}/catalogues/{world['catalog']}"
                key = "4_distributions" if world is small else "52_distributions"
                log(f"pages : {key}…")
                result[key] = {
                    "statistiques": await timed(client, f"{base}/statistiques", runs),
                    "recapitulatif": await timed(client, f"{base}/gerer", runs),
                }
            log("CSV : 2 000 produits…")
            start = time.perf_counter()
            export = await client.get(f"{base}/produits/export.csv")
            export_ms = (time.perf_counter() - start) * 1000
            # Imported into the small catalog: its 40 products are unchanged, 1,960 are new.
            target = f"/g/{small['slug']}/catalogues/{small['catalog']}/produits"
            client.cookies.clear()
            email = (await User.select(User.email).where(User.id == small["admin"]).first())[
                "email"
            ]
            await login(client, email)
            start = time.perf_counter()
            preview = await client.post(
                f"{target}/import",
                data={"_csrf_token": client.cookies.get("csrftoken")},
                files={"file": ("p.csv", export.content, "text/csv")},
            )
            preview_ms = (time.perf_counter() - start) * 1000
            match = re.search(r'name="token" value="([^"]+)"', preview.text)
            assert match, preview.text[-2000:]
            start = time.perf_counter()
            confirm = await post_form(
                client, f"{target}/import/confirmer", {"token": match.group(1)}
            )
            confirm_ms = (time.perf_counter() - start) * 1000
            assert "1960 produit(s) créé(s)" in confirm.text, confirm.text[-800:]
            result["csv_2000_products"] = {
                "export_ms": round(export_ms, 1),
                "export_bytes": len(export.content),
                "preview_ms": round(preview_ms, 1),
                "preview_html_bytes": len(preview.content),
                "signed_token_bytes": len(match.group(1)),
                "confirm_1960_new_ms": round(confirm_ms, 1),
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
