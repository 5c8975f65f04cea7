"""PAIEMENTS on PostgreSQL: the balances page and its CSV for a group of 1,000 members with
50,000 operations. Never run as a test.

Prints one JSON document:
- `queries`: SQL queries of the page (first page, a filter, sorted by balance, the htmx
  list) and of the CSV with 100 members (5,000 operations), 1,000 members (50,000) and
  10,000 members (100,000), counted in-process around the real app: the page's must be the
  same whatever the size; the CSV reads its members by batches of 500 (one more query per
  batch);
- `server_cpu_ms_per_request`: the real server's CPU time (utime + stime of `app.py serve`,
  from /proc) per request of each page of the 1,000-member group, over HTTP as a logged-in
  admin, and of the group's public page measured in the same run: the ceiling the ratios are
  given against; with p50/p95 latencies;
- `csv`: the export produced as the Stream response iterates it, for 1,000 and 10,000
  members: time and Python peak memory (tracemalloc), and downloaded from the server: time
  and the server's peak RSS growth (VmHWM reset through /proc/<pid>/clear_refs).

    .venv/bin/python bench/payments_bench.py [--quick] [--pg postgresql://postgres@127.0.0.1:5432]
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
from recap_bench import QueryCounter, percentile, vm_hwm_kib, vm_rss_kib  # noqa: E402

PASSWORD = "motdepasse-solide"
GROUPS = {"g100": (100, 50), "g1000": (1000, 50), "g10k": (10_000, 10)}  # members, ops each


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def seed() -> dict:
    """Three markets of one admin: 100 members × 50 operations, 1,000 × 50, 10,000 × 10."""
    from domain.demo import world
    from domain.tables import Operation

    admin = await world.person("admin@bench.test", "Adèle", "Admin", password=PASSWORD)
    out = {}
    for key, (members, per_member) in GROUPS.items():
        group = await world.group(admin, f"Marché {key}", "market")
        people = await world.people(
            members,
            email=f"{key}-{{i}}@bench.test",
            first_name="Prénom{i}",
            last_name="Nom{i:06d}",
            start=1,
        )
        await world.join(group["id"], people)
        made = 0
        for start in range(0, len(people), 500):
            made += await world.operations(
                group["id"], people[start : start + 500], per_member, recorded_by=admin
            )
        out[key] = {"slug": group["slug"], "id": group["id"], "operations": made}
        log(f"  {key}: {members} membres, {made} opérations")
    await Operation.raw("ANALYZE")
    return out


PAGES = {
    "page": "",
    "a_payer": "?filtre=a-payer",
    "par_solde": "?tri=solde",
    "recherche": "?q=nom000",
    "page_5": "?page=5",
}


async def in_process(world: dict) -> dict:
    from litestar.testing import AsyncTestClient

    from app import create_app
    from domain.kernel import csvio
    from domain.payments import overview
    from domain.settings import load_settings

    app = create_app(load_settings(), background=False)
    result: dict = {"queries": {}, "csv": {}}
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
        for key, (members, per_member) in GROUPS.items():
            base = f"/g/{world[key]['slug']}/paiements"
            counts = {}
            for name, query in {**PAGES, "htmx_list": "?filtre=a-payer", "csv": None}.items():
                url = f"{base}/export.csv" if query is None else base + query
                headers = {"HX-Request": "true"} if name == "htmx_list" else {}
                seen = []
                for _ in range(2):
                    with QueryCounter() as counter:
                        response = await client.get(url, headers=headers)
                    assert response.status_code == 200, (url, response.status_code)
                    seen.append(counter.count)
                counts[name] = min(seen)
            result["queries"][f"{members}_membres_{members * per_member}_operations"] = counts
            log(f"  requêtes {key} : {counts}")
        for key in ("g1000", "g10k"):
            members = GROUPS[key][0]
            entry = result["csv"].setdefault(f"{members}_membres", {})
            for traced in (False, True):
                if traced:
                    tracemalloc.start()
                started = time.perf_counter()
                size = 0
                async for chunk in csvio.stream(overview.csv_rows(world[key]["id"])):
                    size += len(chunk)
                seconds = time.perf_counter() - started
                if traced:
                    _, peak = tracemalloc.get_traced_memory()
                    tracemalloc.stop()
                    entry["python_peak_kib"] = round(peak / 1024)
                else:
                    entry["in_process_seconds"] = round(seconds, 2)
                    entry["bytes"] = size
            log(f"  CSV {members} membres : {entry}")
    return result


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


def server_cpu(port: int, pid: int, world: dict, repeats: int) -> dict:
    """Per request: the server's CPU time, and the latency, one request after another."""
    import httpx

    slug = world["g1000"]["slug"]
    urls = {"page_publique_du_groupe (plafond)": f"/g/{slug}"}
    urls |= {f"paiements_{name}": f"/g/{slug}/paiements{query}" for name, query in PAGES.items()}
    urls["paiements_liste_htmx"] = f"/g/{slug}/paiements?filtre=a-payer"
    out = {}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        login(client)
        for name, url in urls.items():
            headers = {"HX-Request": "true"} if name.endswith("htmx") else {}
            for _ in range(3):
                assert client.get(url, headers=headers).status_code == 200
            times = []
            cpu_before = http_bench.process_cpu_seconds(pid)
            for _ in range(repeats):
                started = time.perf_counter()
                response = client.get(url, headers=headers)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200
            cpu = (http_bench.process_cpu_seconds(pid) - cpu_before) * 1000 / repeats
            out[name] = {
                "cpu_ms": round(cpu, 2),
                "p50_ms": percentile(times, 50),
                "p95_ms": percentile(times, 95),
                "html_bytes": len(response.content),
            }
            log(f"  {name}: {out[name]}")
    ceiling = out["page_publique_du_groupe (plafond)"]["cpu_ms"] or 0.01
    for entry in out.values():
        entry["cpu_ratio_to_public_page"] = round(entry["cpu_ms"] / ceiling, 2)
    return out


def csv_over_http(port: int, pid: int, world: dict, result: dict) -> None:
    import httpx

    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
        login(client)
        client.get(f"/g/{world['g100']['slug']}/paiements/export.csv")  # warm-up
        for key in ("g1000", "g10k", "g1000"):
            members = GROUPS[key][0]
            Path(f"/proc/{pid}/clear_refs").write_text("5")
            rss_before = vm_rss_kib(pid)
            cpu_before = http_bench.process_cpu_seconds(pid)
            started = time.perf_counter()
            size = 0
            with client.stream("GET", f"/g/{world[key]['slug']}/paiements/export.csv") as answer:
                assert answer.status_code == 200
                for chunk in answer.iter_bytes():
                    size += len(chunk)
            entry = result["csv"][f"{members}_membres"]
            name = "http" if "http_seconds" not in entry else "http_again"
            entry[f"{name}_seconds"] = round(time.perf_counter() - started, 2)
            entry[f"{name}_server_cpu_ms"] = round(
                (http_bench.process_cpu_seconds(pid) - cpu_before) * 1000
            )
            entry[f"{name}_server_peak_rss_growth_kib"] = vm_hwm_kib(pid) - rss_before
            log(f"  CSV HTTP {members} membres : {size} octets")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    args = parser.parse_args(argv)
    database = f"cc_pbench_{os.getpid()}"
    var_dir = tempfile.mkdtemp(prefix="cc_pbench_")
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
        log("queries and CSV, in-process")
        result = {"database": "postgresql", **asyncio.run(in_process(world))}
        log("the real server over HTTP")
        server = subprocess.Popen(
            [sys.executable, "app.py", "serve"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        http_bench.wait_ready(port, "/healthz", server)
        result["server_cpu_ms_per_request"] = server_cpu(
            port, server.pid, world, 20 if args.quick else 60
        )
        csv_over_http(port, server.pid, world, result)
        result["note"] = (
            "2 cores shared by the server, PostgreSQL, the client and other work: times "
            "are upper bounds; the server's CPU per request is the steadiest figure. The "
            "ceiling is the group's public page, measured in the same run."
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
