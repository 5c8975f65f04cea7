"""COMMANDES of a catalog on PostgreSQL: the orders pages of a big distribution, and the CSV
export of 100,000 lines. Never run as a test.

Prints one JSON document:
- `recap_and_emargement`: « Par adhérent » (first and last page) and the émargement of
  distributions of 100, 1,000 and 5,000 members × 8 lines, requested from the real server
  over HTTP in interleaved rounds (each target a few requests per round, so that the load
  of the machine weighs on all alike): p50/p95, the server process's CPU per request (utime
  + stime from /proc/<pid>/stat around each batch), the SQL queries of each page (counted
  in-process), and the ratios of the issue's targets (recap CPU at 5,000 members / at 100
  ≤ 1.5; émargement CPU / the recap page's at the same size ≤ 2);
- `pages`: p50/p95 of the "Par produit" and "Par adhérent" pages (first and last page, and
  the htmx tab), the émargement and the validation page of a distribution of 1,000 members
  × 8 lines, requested from a real server (`app.py serve`) over HTTP as a logged-in admin;
- `queries_per_page`: the same pages' SQL queries with 100, 1,000 and 5,000 members, counted
  in-process around the real app (they must be equal; the by-member export reads its
  members by batches of 500: two more queries per batch);
- `csv_export_in_process`: the by-member export of 10,000 and 100,000 lines produced as the
  Stream response iterates it: time, and Python peak memory (tracemalloc);
- `csv_export_over_http`: the same exports downloaded from the server: time, and the server
  process's peak RSS growth during each download (VmHWM reset through /proc/<pid>/clear_refs).

    .venv/bin/python bench/recap_bench.py [--quick] [--recaps-only] [--rounds N]
                                          [--pg postgresql://postgres@127.0.0.1:5432]
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
SIZES = {"d100": 100, "d1000": 1000, "d5000": 5000, "d10k": 1250, "d100k": 12500}  # members
RECAP_SIZES = (("d100", 100), ("d1000", 1000), ("d5000", 5000))


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return round(ordered[index], 1)


async def seed() -> dict:
    """One group, one catalog of 8 products, five distributions with 100, 1,000, 5,000, 1,250
    and 12,500 people who each ordered the 8 products (validated orders). Bulk inserts."""
    from datetime import timedelta

    from domain.demo import world
    from domain.kernel import clock
    from domain.tables import OrderLine

    admin_id = await world.person("admin@bench.test", "Adèle", "Admin", password=PASSWORD)
    group = await world.group(admin_id, "AMAP du banc")
    catalog_id = await world.catalog(
        group["id"], await world.producer(group["id"], "Ferme"), coordinator=admin_id
    )
    products = await world.products(
        catalog_id, [(f"Légume {i}", 150 + 37 * i) for i in range(LINES_PER_MEMBER)], unit="kg"
    )
    place = await world.place(group["id"], "MGDD")
    now = clock.now()
    starts = now - timedelta(hours=1)
    out = {"slug": group["slug"], "catalog": catalog_id}
    volunteers: dict[str, list[int]] = {}
    for n, (key, members) in enumerate(SIZES.items()):
        dist_id = await world.distribution(
            group["id"], place, starts - timedelta(days=7 * n), catalogs=[catalog_id]
        )
        people = await world.people(
            members,
            email=f"{key}-{{i}}@bench.test",
            first_name="Prénom{i}",
            last_name="Nom{i:06d}",
            phone="06 00 {i}",
            start=1,
        )
        await world.orders(
            dist_id,
            {person: {p: 1 + (person + p) % 3 for p in products} for person in people},
            validated_at=now,
        )
        out[key] = dist_id
        log(f"  {key}: {members} membres × {LINES_PER_MEMBER} lignes")
        volunteers[key] = people[:9]
    # The day's permanences, printed with the émargement: five roles (three of the group,
    # two of the catalog), nine volunteers at each of the two measured dates.
    for n, (role, places) in enumerate(
        (("Accueil", 3), ("Caisse", 2), ("Rangement", 2), ("Légumes", 2), ("Pesée", 1))
    ):
        role_id = await world.duty_role(
            group["id"], role, places, catalog=catalog_id if n > 2 else None, position=n
        )
        for key in ("d100", "d1000"):
            await world.join(group["id"], volunteers[key][n * 2 : n * 2 + min(places, 2)])
            await world.volunteers(
                role_id, out[key], volunteers[key][n * 2 : n * 2 + min(places, 2)]
            )
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


def last_page(members: int) -> int:
    from domain.catalog_orders.recaps import MEMBERS_PER_PAGE

    return -(-members // MEMBERS_PER_PAGE)


async def in_process(world: dict, exports_too: bool) -> dict:
    from litestar.testing import AsyncTestClient

    from app import create_app
    from domain.catalog_orders import exports
    from domain.kernel import csvio
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
        for key, members in RECAP_SIZES:
            counts = {}
            for name, suffix in {
                "par_produit": "",
                "par_adherent": "?vue=adherents",
                "par_adherent_derniere_page": f"?vue=adherents&page={last_page(members)}",
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
        for key, lines in (("d10k", 10_000), ("d100k", 100_000)) if exports_too else ():
            for traced in (False, True):
                if traced:
                    tracemalloc.start()
                started = time.perf_counter()
                size = 0
                async for chunk in csvio.stream(exports.member_rows(world["catalog"], world[key])):
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

    from domain.catalog_orders.recaps import MEMBERS_PER_PAGE

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


def idle_cpu_ms_per_s(pid: int, seconds: float = 5.0) -> float:
    """The server's CPU while nobody asks anything (its background threads and tasks)."""
    before = http_bench.process_cpu_seconds(pid)
    time.sleep(seconds)
    return (http_bench.process_cpu_seconds(pid) - before) * 1000 / seconds


def recaps_over_http(port: int, pid: int, world: dict, rounds: int, queries: dict) -> dict:
    """« Par adhérent » (first and last page) and the émargement at 100, 1,000 and 5,000
    members: in each round, every target a few requests in a row (keep-alive), the server's
    CPU read from /proc around each batch. Interleaving the targets round after round makes
    their ratios hold when the load of the machine changes during the run."""
    import httpx

    base = f"/g/{world['slug']}/catalogues/{world['catalog']}/commandes"
    targets = []
    for key, members in RECAP_SIZES:
        url = f"{base}/{world[key]}"
        size = f"{members}_membres"
        targets += [
            (size, "par_adherent_page_1", f"{url}?vue=adherents", 5),
            (
                size,
                "par_adherent_derniere_page",
                f"{url}?vue=adherents&page={last_page(members)}",
                5,
            ),
            (size, "emargement", f"{url}/emargement", 2),
        ]
    times: dict[tuple, list[float]] = {(s, n): [] for s, n, _, _ in targets}
    cpu: dict[tuple, float] = dict.fromkeys(times, 0.0)
    sizes: dict[tuple, tuple[int, int]] = {}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=PHONE, timeout=120) as client:
        login(client)
        for size, name, url, _ in targets:  # warm-up, and the weight of each page
            for _ in range(2):
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)
            raw = client.get(url, headers={"Accept-Encoding": "identity"})
            sizes[(size, name)] = (len(raw.content), response.num_bytes_downloaded)
        idle = [idle_cpu_ms_per_s(pid)]
        for n in range(rounds):
            for size, name, url, batch in targets:
                cpu_0 = http_bench.process_cpu_seconds(pid)
                for _ in range(batch):
                    started = time.perf_counter()
                    response = client.get(url)
                    times[(size, name)].append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200, (url, response.status_code)
                cpu[(size, name)] += http_bench.process_cpu_seconds(pid) - cpu_0
            log(f"  round {n + 1}/{rounds}")
        idle.append(idle_cpu_ms_per_s(pid))
    idle_rate = sum(idle) / len(idle)
    out: dict = {"server_idle_cpu_ms_per_s": [round(i, 1) for i in idle]}
    for (size, name), values in times.items():
        out.setdefault(size, {})[name] = {
            "p50_ms": percentile(values, 50),
            "p95_ms": percentile(values, 95),
            "server_cpu_ms_per_request": round(cpu[(size, name)] * 1000 / len(values), 1),
            # less what the idle server spends meanwhile (its in-process job worker polls)
            "server_cpu_ms_per_request_less_idle": round(
                cpu[(size, name)] * 1000 / len(values)
                - idle_rate * sum(values) / len(values) / 1000,
                1,
            ),
            "requests": len(values),
            "queries": queries.get(size, {}).get(name.replace("_page_1", "")),
            "html_bytes": sizes[(size, name)][0],
            "compressed_bytes": sizes[(size, name)][1],
        }
        log(f"  {size} {name}: {out[size][name]}")

    sizes_ = [f"{m}_membres" for _, m in RECAP_SIZES]

    def ratios(field: str) -> dict:
        def cpu(size: str, name: str) -> float:
            return out[size][name][field]

        return {
            "par_adherent_cpu_5000_vs_100": {
                page: round(cpu("5000_membres", page) / cpu("100_membres", page), 2)
                for page in ("par_adherent_page_1", "par_adherent_derniere_page")
            }
            | {"target_max": 1.5},
            "emargement_cpu_vs_par_adherent_page_1": {
                size: round(cpu(size, "emargement") / cpu(size, "par_adherent_page_1"), 2)
                for size in sizes_
            }
            | {"target_max": 2},
        }

    out["ratios"] = ratios("server_cpu_ms_per_request")
    out["ratios_less_idle"] = ratios("server_cpu_ms_per_request_less_idle")
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
    parser.add_argument(
        "--recaps-only",
        action="store_true",
        help="only `recap_and_emargement` (no other pages, no exports)",
    )
    parser.add_argument("--rounds", type=int, default=0, help="rounds of the recap figures")
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
        from domain.catalog_orders.recaps import MEMBERS_PER_PAGE

        log("pages and exports, in-process")
        result = {
            "database": "postgresql",
            "members_per_page_par_adherent": MEMBERS_PER_PAGE,
            **asyncio.run(in_process(world, not args.recaps_only)),
        }
        log("starting `app.py serve`")
        server = subprocess.Popen(
            [sys.executable, "app.py", "serve"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        http_bench.wait_ready(port, "/healthz", server)
        rounds = args.rounds or (4 if args.quick else 12)
        log(f"« Par adhérent » and émargement over HTTP, {rounds} rounds")
        result["recap_and_emargement"] = recaps_over_http(
            port, server.pid, world, rounds, result["queries_per_page"]
        )
        if not args.recaps_only:
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
