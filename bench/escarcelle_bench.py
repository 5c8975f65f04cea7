"""Escarcelle benchmark, against the simulator of the assumed API run as a process: the
preview and import of 600 products, an hourly stock sync of 600 products, the push of 200
baskets. For each: wall seconds, HTTP calls made to Escarcelle and SQL statements run (the
sync must not make one query per product). Each engine in a process of its own.

    .venv/bin/python bench/escarcelle_bench.py [--products 600] [--baskets 200]
                                               [--engine sqlite|postgres|both]
Never run as a test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "database": "postgres"}
KEY = "esc-bench-0123456789abcdef"
_COUNTING: contextvars.ContextVar = contextvars.ContextVar("counting", default=None)


class Queries:
    """The SQL statements run from this context (the engine's run_querystring, and the
    fixed texts domain.database.fetch sends to asyncpg)."""

    def __init__(self) -> None:
        self.count = 0

    def __enter__(self):
        from domain.database import db

        self.cls = type(db())
        self.original = self.cls.run_querystring
        self.token = _COUNTING.set(self)
        original = self.original

        async def counting(engine, querystring, *args, **kwargs):
            counter = _COUNTING.get()
            if counter is not None:
                counter.count += 1
            return await original(engine, querystring, *args, **kwargs)

        self.cls.run_querystring = counting
        # Fixed texts on PostgreSQL (domain.database.fetch) go to asyncpg directly.
        from domain import database

        self.fixed = database.run_fixed

        async def counting_fixed(connection, text, args, _original=self.fixed):
            counter = _COUNTING.get()
            if counter is not None:
                counter.count += 1
            return await _original(connection, text, args)

        database.run_fixed = counting_fixed
        return self

    def __exit__(self, *exc):
        from domain import database

        self.cls.run_querystring = self.original
        database.run_fixed = self.fixed
        _COUNTING.reset(self.token)


def calls(url: str, path: str) -> int:
    import httpx

    state = httpx.get(f"{url}/_sim/state", params={"key": KEY}, timeout=30).json()
    return sum(1 for c in state["calls"] if c["path"].startswith(path))


async def run(products: int, baskets: int, url: str) -> dict:
    import httpx
    import msgspec

    from domain.catalog_orders import validation
    from domain.database import close_pool, migrate, prepare_engine, start_pool
    from domain.demo import world
    from domain.escarcelle import catalogue, sales
    from domain.settings import load_settings
    from domain.tables import Distribution, EscarcelleSale, Membership, Product
    from jobs import broker as jobs_broker
    from jobs import escarcelle as escarcelle_jobs

    await migrate()
    await prepare_engine()
    await start_pool()
    settings = msgspec.structs.replace(load_settings(), escarcelle_url=url)
    jobs_broker.setup(settings)
    # The benchmark's grocery: `products` in stock (and a few not), clients C0001….
    await asyncio.to_thread(
        httpx.post,
        f"{url}/_sim/groceries",
        json={
            "key": KEY,
            "pdv_id": "PDV-BENCH",
            "name": "Épicerie du banc",
            "products": products + products // 8,
            "clients": baskets,
        },  # fmt: skip
        timeout=30,
    )
    state = await asyncio.to_thread(
        lambda: httpx.get(f"{url}/_sim/state", params={"key": KEY}, timeout=30).json()
    )
    in_stock = sum(1 for p in state["products"].values() if p["stock"] > 0)
    admin = await world.person("admin@bench.test", "Anne")
    group = await world.group(admin, "Point du banc", "grocery")
    vendor = await world.producer(group["id"], "Épicerie du banc", user=admin)
    producer = await world.space_of(vendor)
    await escarcelle_jobs.connect(producer, KEY, admin)
    figures: dict = {"products_in_stock": in_stock, "baskets": baskets}

    # 1. Preview and import.
    started, before = time.perf_counter(), calls(url, "/products")
    with Queries() as preview_queries:
        items = await escarcelle_jobs.fetch_catalogue(producer)
        result = catalogue.preview(items, await catalogue.existing(producer))
    token = catalogue.sign(catalogue.items_to_import(result), settings.secret_key, producer)
    figures["preview"] = {
        "seconds": round(time.perf_counter() - started, 3),
        "http_calls": calls(url, "/products") - before,
        "sql": preview_queries.count,
        "signed_preview_bytes": len(token),
    }
    started = time.perf_counter()
    with Queries() as import_queries:
        counts = await catalogue.confirm(
            producer, catalogue.read(token, settings.secret_key, producer), once="bench"
        )
    figures["import"] = {
        "seconds": round(time.perf_counter() - started, 3),
        "http_calls": 0,
        "sql": import_queries.count,
        "created": counts["new"],
    }

    # 2. The hourly sync, with members' orders reserving stock.
    catalog = await world.catalog(group["id"], vendor, "Épicerie", **world.season())
    place = await world.place(group["id"])
    dist = await world.open_distribution(group["id"], place, catalogs=[catalog])
    rows = await Product.select(Product.id, Product.escarcelle_id).where(
        Product.producer == producer
    )
    await world.offer(catalog, [r["id"] for r in rows])
    people = await world.people(baskets, email="beneficiaire{i}@bench.test")
    await world.join(group["id"], people)
    for n, user in enumerate(people, start=1):
        await Membership.update(
            {Membership.escarcelle_id: f"C{n:04d}", Membership.accepted_at: Membership.created_at}
        ).where(Membership.user == user)
    await world.orders(
        dist, {user: {rows[(n * 7) % len(rows)]["id"]: 1} for n, user in enumerate(people)}
    )
    started, before = time.perf_counter(), calls(url, "/stocks")
    with Queries() as sync_queries:
        outcome = await escarcelle_jobs.sync(producer)
    figures["sync"] = {
        "seconds": round(time.perf_counter() - started, 3),
        "http_calls": calls(url, "/stocks") - before,
        "sql": sync_queries.count,
        "products": len(rows),
        "outcome": outcome,
    }

    # 3. The push of the baskets once the distribution is validated.
    from domain.kernel import clock

    moment = clock.now()
    await Distribution.update(
        {Distribution.starts_at: moment - timedelta(hours=1), Distribution.ends_at: moment}
    ).where(Distribution.id == dist)
    await validation.save(
        group_id=group["id"], distribution_id=dist, user_id=admin, values={}, validate=True
    )
    started, before = time.perf_counter(), calls(url, "/sales")
    instance = settings.default_instance
    with Queries() as push_queries:
        for record in await validation.records_to_use(sales.CONSUMER):
            await sales.prepare(record, base_url=instance.url, instance=instance.key)
        pushed = await escarcelle_jobs.push(producer, dist, "premier envoi")
    figures["push"] = {
        "seconds": round(time.perf_counter() - started, 3),
        "http_calls": calls(url, "/sales") - before,
        "sql": push_queries.count,
        "sent": pushed["sent"],
        "sales_rows": await EscarcelleSale.count(),
    }
    await close_pool()
    return figures


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child(engine: str, products: int, baskets: int, url: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    print(json.dumps({"engine": engine, **asyncio.run(run(products, baskets, url))}))


async def _pg(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(**PG)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def parent(engine: str, products: int, baskets: int) -> dict:
    import httpx

    tmp = tempfile.mkdtemp(prefix="cc-escarcelle-bench-")
    port = free_port()
    simulator = subprocess.Popen(
        [sys.executable, "-m", "connectors.escarcelle_simulator", "--port", str(port)],
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(url + "/_sim/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    env = dict(os.environ, VAR_DIR=tmp, LOG_LEVEL="WARNING", ARGON2_FAST="1")
    env.pop("REDIS_URL", None)
    name = f"cc_bench_escarcelle_{os.getpid()}"
    if engine == "postgres":
        asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
        env["DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:5432/{name}"
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--child", engine, "--products", str(products),
             "--baskets", str(baskets), "--url", url],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"{engine} a échoué :\n{done.stdout}\n{done.stderr}")
        return json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        simulator.terminate()
        simulator.wait(timeout=10)
        if engine == "postgres":
            asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--products", type=int, default=600)
    parser.add_argument("--baskets", type=int, default=200)
    parser.add_argument("--engine", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--child")
    parser.add_argument("--url")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.products, args.baskets, args.url)
        return
    engines = ("sqlite", "postgres") if args.engine == "both" else (args.engine,)
    for engine in engines:
        print(json.dumps(parent(engine, args.products, args.baskets), ensure_ascii=False))


if __name__ == "__main__":
    main()
