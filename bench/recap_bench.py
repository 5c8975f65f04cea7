"""COMMANDES of a catalog on PostgreSQL: the orders pages of a big distribution, and the CSV
export of 100,000 lines. Never run as a test.

Prints one JSON document:
- `pages`: p50/p95 of the "Par produit" and "Par adhérent" pages (first and last page, and
  the htmx tab), the émargement and the validation page of a distribution of 1,000 members
  × 8 lines, requested from a real server (`app.py serve`) over HTTP as a logged-in admin;
- `queries_per_page`: the same pages' SQL queries with 100 and with 1,000 members, counted
  in-process around the real app (they must be equal; the by-member export reads its
  members by batches of 500: two more queries per batch);
- `csv_export_in_process`: the by-member export of 10,000 and 100,000 lines produced as the
  Stream response iterates it: time, and Python peak memory (tracemalloc);
- `csv_export_over_http`: the same exports downloaded from the server: time, and the server
  process's peak RSS growth during each download (VmHWM reset through /proc/<pid>/clear_refs).

    .venv/bin/python bench/recap_bench.py [--quick] [--pg postgresql://postgres@127.0.0.1:5432]
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
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import http_bench  # noqa: E402

PASSWORD = "motdepasse-solide"
LINES_PER_MEMBER = 8
SIZES = {"d100": 100, "d1000": 1000, "d10k": 1250, "d100k": 12500}  # members


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return round(ordered[index], 1)


async def seed() -> dict:
    """One group, one catalog of 8 products, four distributions with 100, 1,000, 1,250 and
    12,500 members who each ordered the 8 products (validated orders). Bulk SQL."""
    from datetime import UTC, datetime, timedelta

    from domain import accounts, groups
    from domain.tables import (
        Catalog,
        CatalogDistribution,
        Distribution,
        OrderLine,
        Place,
        Product,
        User,
        Vendor,
    )

    admin = await User.insert(
        User(
            email="admin@bench.test",
            password_hash=accounts.hash_password(PASSWORD),
            first_name="Adèle",
            last_name="Admin",
        )
    ).returning(User.id)
    admin_id = admin[0]["id"]
    group = await groups.create_group(
        user_id=admin_id,
        name="AMAP du banc",
        kind="amap",
        registration="open",
        description="",
        instance="main",
    )
    vendor = await Vendor.insert(Vendor(group=group["id"], name="Ferme")).returning(Vendor.id)
    catalog = await Catalog.insert(
        Catalog(group=group["id"], vendor=vendor[0]["id"], name="Légumes", coordinator=admin_id)
    ).returning(Catalog.id)
    catalog_id = catalog[0]["id"]
    await Product.insert(
        *[
            Product(catalog=catalog_id, name=f"Légume {i}", unit="kg", price_cents=150 + 37 * i)
            for i in range(LINES_PER_MEMBER)
        ]
    )
    place = await Place.insert(Place(group=group["id"], name="MGDD")).returning(Place.id)
    starts = datetime.now(UTC) - timedelta(hours=1)
    out = {"slug": group["slug"], "catalog": catalog_id}
    for n, (key, members) in enumerate(SIZES.items()):
        day = starts - timedelta(days=7 * n)
        dist = await Distribution.insert(
            Distribution(
                group=group["id"],
                place=place[0]["id"],
                starts_at=day,
                ends_at=day + timedelta(hours=2),
                orders_open_at=day - timedelta(days=7),
                orders_close_at=day - timedelta(days=1),
            )
        ).returning(Distribution.id)
        dist_id = dist[0]["id"]
        await CatalogDistribution.insert(
            CatalogDistribution(catalog=catalog_id, distribution=dist_id)
        )
        await OrderLine.raw(
            "INSERT INTO app_user (email, password_hash, first_name, last_name, phone, created_at)"
            " SELECT {} || g || '@bench.test', NULL, 'Prénom' || g,"
            " 'Nom' || lpad(g::text, 6, '0'), '06 00 ' || g, now()"
            " FROM generate_series(1, {}) g",
            f"{key}-",
            members,
        )
        await OrderLine.raw(
            'INSERT INTO member_order ("user", distribution, state, validated_at, updated_at,'
            " total_cents, absent)"
            " SELECT id, {}, 'validated', now(), now(), 0, false FROM app_user"
            " WHERE email LIKE {}",
            dist_id,
            f"{key}-%",
        )
        await OrderLine.raw(
            'INSERT INTO order_line ("order", product, quantity, unit_price_cents)'
            " SELECT o.id, p.id, 1 + (o.id + p.id) % 3, p.price_cents"
            " FROM member_order o CROSS JOIN product p"
            " WHERE o.distribution = {} AND p.catalog = {}",
            dist_id,
            catalog_id,
        )
        await OrderLine.raw(
            'UPDATE member_order o SET total_cents = s.total FROM (SELECT "order",'
            ' SUM(quantity * unit_price_cents) AS total FROM order_line GROUP BY "order") s'
            ' WHERE s."order" = o.id AND o.distribution = {}',
            dist_id,
        )
        out[key] = dist_id
        log(f"  {key}: {members} membres × {LINES_PER_MEMBER} lignes")
    await OrderLine.raw("ANALYZE")
    return out


class QueryCounter:
    def __enter__(self):
        from domain.database import db

        self.count = 0
        self.cls = type(db())
        self.original = original = self.cls.run_querystring
        counter = self

        async def counting(engine, querystring, *args, **kwargs):
            counter.count += 1
            return await original(engine, querystring, *args, **kwargs)

        self.cls.run_querystring = counting
        return self

    def __exit__(self, *exc):
        self.cls.run_querystring = self.original


async def in_process(world: dict, repeats: int) -> dict:
    from litestar.testing import AsyncTestClient

    from app import create_app
    from domain import recaps
    from domain.settings import load_settings

    app = create_app(load_settings())
    base = f"/g/{world['slug']}/catalogues/{world['catalog']}/commandes"
    result: dict = {"queries_per_page": {}, "csv_export_in_process": {}}
    async with AsyncTestClient(app=app, base_url="http://localhost") as client:
        await client.get("/connexion")
        await client.post(
            "/connexion",
            data={
                "email": "admin@bench.test",
                "password": PASSWORD,
                "_csrf_token": client.cookies["csrftoken"],
            },
        )
        for members, key in ((100, "d100"), (1000, "d1000")):
            counts = {}
            for name, suffix in {
                "par_produit": "",
                "par_adherent": "?vue=adherents",
                "emargement": "/emargement",
                "adherents_csv": "/adherents.csv",
                "produits_csv": "/produits.csv",
            }.items():
                seen = []
                for _ in range(2):  # the least of two: the app's periodic sweep may run
                    with QueryCounter() as counter:
                        response = await client.get(f"{base}/{world[key]}{suffix}")
                    assert response.status_code == 200
                    seen.append(counter.count)
                counts[name] = min(seen)
            result["queries_per_page"][f"{members}_membres"] = counts
        # The export's own work (what the Stream response iterates), with the pool running.
        for key, lines in (("d10k", 10_000), ("d100k", 100_000)):
            for traced in (False, True):
                if traced:
                    tracemalloc.start()
                started = time.perf_counter()
                size = 0
                async for chunk in recaps.csv_stream(
                    recaps.member_rows(world["catalog"], world[key])
                ):
                    size += len(chunk)
                seconds = time.perf_counter() - started
                entry = result["csv_export_in_process"].setdefault(f"{lines}_lignes", {})
                if traced:
                    _, peak = tracemalloc.get_traced_memory()
                    tracemalloc.stop()
                    entry["python_peak_kib"] = round(peak / 1024)
                else:
                    entry["seconds"] = round(seconds, 2)
                    entry["bytes"] = size
            log(f"  export {lines} lignes : {result['csv_export_in_process'][f'{lines}_lignes']}")

    return result


def vm_hwm_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def vm_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


PHONE = {"Accept-Encoding": "br, gzip", "User-Agent": "Mozilla/5.0 (Linux; Android 10) bench"}


def login(client) -> None:
    client.get("/connexion")
    response = client.post(
        "/connexion",
        data={
            "email": "admin@bench.test",
            "password": PASSWORD,
            "_csrf_token": client.cookies["csrftoken"],
        },
    )
    assert response.status_code in (200, 303), response.status_code


def pages_over_http(port: int, world: dict, repeats: int) -> dict:
    """p50/p95 of each page, one request after another (keep-alive, as a phone asks)."""
    import httpx

    from domain.recaps import MEMBERS_PER_PAGE

    base = f"/g/{world['slug']}/catalogues/{world['catalog']}/commandes/{world['d1000']}"
    last = -(-SIZES["d1000"] // MEMBERS_PER_PAGE)
    pages = {
        "par_produit": base,
        "par_adherent_page_1": f"{base}?vue=adherents",
        f"par_adherent_page_{last}": f"{base}?vue=adherents&page={last}",
        "par_adherent_htmx_tab": f"{base}?vue=adherents",
        "emargement_1000_membres": f"{base}/emargement",
        "valider_1000_membres_8000_champs": f"/g/{world['slug']}/distributions/"
        f"{world['d1000']}/valider",
    }
    out = {}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=PHONE, timeout=60) as client:
        login(client)
        for name, url in pages.items():
            headers = {"HX-Request": "true"} if name.endswith("htmx_tab") else {}
            heavy = name.startswith(("emargement", "valider"))
            for _ in range(3):  # warm-up
                assert client.get(url, headers=headers).status_code == 200
            times = []
            for _ in range(max(5, repeats // 4) if heavy else repeats):
                started = time.perf_counter()
                response = client.get(url, headers=headers)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (url, response.status_code)
            raw = client.get(url, headers=headers | {"Accept-Encoding": "identity"})
            out[name] = {
                "p50_ms": percentile(times, 50),
                "p95_ms": percentile(times, 95),
                "html_bytes": len(raw.content),
                "compressed_bytes": int(response.headers.get("content-length") or 0)
                or len(response.content),
            }
            log(f"  {name}: p50 {out[name]['p50_ms']} ms, p95 {out[name]['p95_ms']} ms")
    return out


def over_http(port: int, pid: int, world: dict) -> dict:
    """Downloads the exports from the real server; its peak RSS growth during each one."""
    import httpx

    base = f"/g/{world['slug']}/catalogues/{world['catalog']}/commandes"
    out = {}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
        client.get("/connexion")
        client.post(
            "/connexion",
            data={
                "email": "admin@bench.test",
                "password": PASSWORD,
                "_csrf_token": client.cookies["csrftoken"],
            },
        )
        client.get(f"{base}/{world['d100']}/adherents.csv")  # warm-up
        for key, lines in (("d10k", 10_000), ("d100k", 100_000), ("d10k", 10_000)):
            Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS
            rss_before = vm_rss_kib(pid)
            started = time.perf_counter()
            size = chunks = 0
            with client.stream("GET", f"{base}/{world[key]}/adherents.csv") as response:
                assert response.status_code == 200
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    chunks += 1
            seconds = time.perf_counter() - started
            out[f"{lines}_lignes" + ("_encore" if f"{lines}_lignes" in out else "")] = {
                "seconds": round(seconds, 2),
                "bytes": size,
                "chunks_received": chunks,
                "server_rss_before_kib": rss_before,
                "server_peak_rss_growth_kib": vm_hwm_kib(pid) - rss_before,
            }
            log(f"  HTTP {lines} lignes : {seconds:.2f} s")
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    args = parser.parse_args(argv)
    database = f"cc_rbench_{os.getpid()}"
    var_dir = tempfile.mkdtemp(prefix="cc_rbench_")
    asyncio.run(http_bench.pg_execute(args.pg, f'CREATE DATABASE "{database}"'))
    port = http_bench.free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"{args.pg}/{database}",
        "VAR_DIR": var_dir,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "BASE_URL": f"http://localhost:{port}",
        "ARGON2_FAST": "1",
    }
    for name in ("INSTANCES", "REDIS_URL", "SMTP_URL"):
        env.pop(name, None)
    os.environ.clear()
    os.environ.update(env)
    server = None
    try:
        subprocess.run(
            [sys.executable, "app.py", "migrate"],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        log("seeding (PostgreSQL, bulk SQL)")
        from domain.database import close_pool, start_pool

        async def prepare() -> dict:
            await start_pool()
            try:
                return await seed()
            finally:
                await close_pool()

        world = asyncio.run(prepare())
        from domain.recaps import MEMBERS_PER_PAGE

        log("pages and exports, in-process")
        result = {
            "database": "postgresql",
            "members_per_page_par_adherent": MEMBERS_PER_PAGE,
            **asyncio.run(in_process(world, 20 if args.quick else 60)),
        }
        log("exports over HTTP from `app.py serve`")
        server = subprocess.Popen(
            [sys.executable, "app.py", "serve"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        http_bench.wait_ready(port, "/healthz", server)
        log("pages over HTTP (1,000 members × 8 lines)")
        result["pages"] = pages_over_http(port, world, 20 if args.quick else 60)
        result["csv_export_over_http"] = over_http(port, server.pid, world)
        result["targets"] = {"pages_p95_ms": 150, "export_100k_seconds": 3}
        result["note"] = (
            "2 cores shared by the server, PostgreSQL, the client and other work (tests of "
            "other sessions may run meanwhile): times are upper bounds. Pages: the real "
            "server (`app.py serve`) over HTTP, logged in as an admin (the by-member view "
            f"has its edit links), Accept-Encoding br, gzip. 'Par adhérent' shows "
            f"{MEMBERS_PER_PAGE} members per page."
        )
        print(json.dumps(result, indent=2, ensure_ascii=False))
    finally:
        if server is not None:
            http_bench.stop(server)
        asyncio.run(
            http_bench.pg_execute(args.pg, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
