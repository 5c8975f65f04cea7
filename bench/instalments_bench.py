"""ÉCHÉANCIER of an AMAP contract on PostgreSQL: the coordinator's instalments page and the
list of cheques to collect, for contracts of 100, 1,000 and 3,000 subscriptions. Never
run as a test.

Each contract is a fixed one (a basket of two products) over 12 distributions with a plan
of 3 cheques; every subscription has its basket at the 12 dates (order lines of the
subscription), its debt in the ledger (« Souscription ») and 0, 1 or 2 cheques received
(payments settling it), and each subscriber 10 other operations (orders and payments).

Prints one JSON document:
- `queries`: SQL queries of each page (the ÉCHÉANCIER's first and last page, 50
  subscriptions a page, and the list of cheques to collect, all of them) with 100, 1,000
  and 3,000 subscriptions, counted in-process around the real app: they must not grow
  with the subscriptions;
- `server_cpu_ms_per_request`: the real server's CPU time (utime + stime of `app.py serve`,
  from /proc) per request of each page of the 1,000-subscription contract (and of the
  100 one), over HTTP as the logged-in admin, and of the group's public page measured in
  the same run: the ceiling the ratios are given against; with p50/p95 latencies and the
  HTML's size.

    .venv/bin/python bench/instalments_bench.py [--quick] [--pg postgresql://postgres@127.0.0.1:5432]
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
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import http_bench  # noqa: E402
from recap_bench import QueryCounter, percentile  # noqa: E402

PASSWORD = "motdepasse-solide"
CONTRACTS = {"c100": 100, "c1000": 1000, "c3000": 3000}  # subscriptions
DATES = 12
PLAN = "2027-01-15,2027-02-15,2027-03-15"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def seed() -> dict:
    """One AMAP, one fixed contract per size with its own subscribers. Bulk inserts."""
    from datetime import timedelta

    from domain.demo import world
    from domain.demo.rows import insert
    from domain.kernel import clock
    from domain.payments import subscription_subject
    from domain.tables import ContractTerms, Operation, OrderLine, Settlement, Subscription

    admin = await world.person("admin@bench.test", "Adèle", "Admin", password=PASSWORD)
    group = await world.group(admin, "AMAP du banc", "amap")
    farm = await world.producer(group["id"], "Ferme des Saules")
    place = await world.place(group["id"], "Halle")
    now = clock.now()
    season = world.season(now, before=60, after=120)
    out = {"slug": group["slug"]}
    for key, count in CONTRACTS.items():
        catalog = await world.catalog(
            group["id"], farm, f"Légumes {key}", kind="fixed", coordinator=admin, **season
        )
        await ContractTerms.insert(ContractTerms(catalog=catalog, instalments=PLAN))
        products = await world.products(catalog, [("Panier", 1500), ("Œufs", 300)])
        dists = await world.distributions(
            group["id"],
            place,
            [now + timedelta(days=7 * (i - 5)) for i in range(DATES)],
            catalogs=[catalog],
        )
        people = await world.people(
            count,
            email=f"{key}-{{i}}@bench.test",
            first_name="Prénom{i}",
            last_name="Nom{i:06d}",
            start=1,
        )
        await world.join(group["id"], people)
        subs = await insert(
            Subscription,
            [{"user": p, "catalog": catalog, **season} for p in people],
        )
        basket = {products[0]: 1, products[1]: 2}
        for dist in dists:
            await world.orders(dist, {p: basket for p in people}, validated_at=now)
        await OrderLine.raw(
            "UPDATE order_line l SET subscription = s.id FROM member_order o, subscription s"
            ' WHERE l."order" = o.id AND s."user" = o."user" AND s.catalog = {}',
            catalog,
        )
        total = DATES * (1500 + 2 * 300)
        debts = [
            {
                "group": group["id"],
                "user": user,
                "kind": "subscription",
                "amount_cents": -total,
                "subject": subscription_subject(sub),
                "label": f"Souscription : Légumes {key}",
            }
            for user, sub in zip(people, subs, strict=True)
        ]
        await insert(Operation, debts)
        cheques = [
            (
                sub,
                {
                    "group": group["id"],
                    "user": user,
                    "kind": "payment",
                    "amount_cents": total // 3,
                    "label": "Chèque",
                    "means": "cheque",
                    "reference": f"{sub}{n}",
                    "paid_on": now.date(),
                    "recorded_by": admin,
                },
            )
            for user, sub in zip(people, subs, strict=True)
            for n in range(sub % 3)
        ]
        ids = await insert(Operation, [row for _, row in cheques])
        await insert(
            Settlement,
            [
                {"payment": pid, "subject": subscription_subject(sub)}
                for pid, (sub, _) in zip(ids, cheques, strict=True)
            ],
        )
        await world.operations(group["id"], people, 10, recorded_by=admin)
        out[key] = catalog
        log(f"  {key}: {count} souscriptions, {len(cheques)} chèques reçus")
    await Operation.raw("ANALYZE")
    return out


def pages(world: dict, key: str) -> dict[str, str]:
    """The first and the last page of the ÉCHÉANCIER (50 subscriptions a page), and the
    list of cheques to collect (all of them: it is printed)."""
    base = f"/g/{world['slug']}/catalogues/{world[key]}/echeancier"
    last = -(-CONTRACTS[key] // 50)
    return {
        "echeancier": base,
        "echeancier_derniere": f"{base}?page={last}",
        "cheques": base + "/cheques",
    }


async def in_process(world: dict) -> dict:
    from litestar.testing import AsyncTestClient

    from app import create_app
    from domain.settings import load_settings

    app = create_app(load_settings(), background=False)
    result: dict = {}
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
        for key, count in CONTRACTS.items():
            counts = {}
            for name, url in pages(world, key).items():
                seen = []
                for _ in range(2):
                    with QueryCounter() as counter:
                        response = await client.get(url)
                    assert response.status_code == 200, (url, response.status_code)
                    seen.append(counter.count)
                counts[name] = min(seen)
            result[f"{count}_souscriptions"] = counts
            log(f"  requêtes {key} : {counts}")
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

    urls = {"page_publique_du_groupe (plafond)": f"/g/{world['slug']}"}
    for key in ("c100", "c1000"):
        urls |= {f"{name}_{key[1:]}": url for name, url in pages(world, key).items()}
    out = {}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
        login(client)
        for name, url in urls.items():
            for _ in range(3):
                assert client.get(url).status_code == 200
            times = []
            cpu_before = http_bench.process_cpu_seconds(pid)
            for _ in range(repeats):
                started = time.perf_counter()
                response = client.get(url)
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


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    args = parser.parse_args(argv)
    database = f"cc_ibench_{os.getpid()}"
    var_dir = tempfile.mkdtemp(prefix="cc_ibench_")
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
        log("queries, in-process")
        result = {"database": "postgresql", "queries": asyncio.run(in_process(world))}
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
            port, server.pid, world, 10 if args.quick else 30
        )
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
