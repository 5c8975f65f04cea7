"""Ordering page benchmark: what a member's phone downloads, and how the server holds.

Prints one JSON document: for an ordering page of 200 products on PostgreSQL, the bytes
of the first load (HTML + CSS + JS, compressed as a phone asks), the bytes of one quantity
change, p50/p95/p99 latency at 1, 8 and 32 concurrent logged-in members, and the number
of SQL queries of the page with 20 and with 200 products. Never run as a test.

    .venv/bin/python bench/ordering_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import http_bench  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432"
PHONE = {"Accept-Encoding": "br, gzip", "User-Agent": "Mozilla/5.0 (Linux; Android 10) bench"}
SEED = """
import asyncio, json, os
from domain.tables import Membership
from tests.helpers import make_distribution_world, make_user

async def main():
    admin = await make_user("admin@bench.test")
    out = {}
    for n in (20, 200):
        world = await make_distribution_world(
            admin, products=n, stock=100000, name=f"Marché {n}", closes_in_hours=240
        )
        member = await make_user(f"member{n}@bench.test")
        await Membership.insert(Membership(user=member, group=world["group"]["id"]))
        out[n] = {"url": world["url"], "product": world["products"][0]}
    print(json.dumps(out))

asyncio.run(main())
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def login(port: int, email: str) -> dict[str, str]:
    import httpx

    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=PHONE) as client:
        client.get("/connexion")
        response = client.post(
            "/connexion",
            data={
                "email": email,
                "password": "motdepasse-solide",
                "_csrf_token": client.cookies["csrftoken"],
            },
        )
        assert response.status_code in (200, 303), response.status_code
        return dict(client.cookies)


def weights(port: int, cookies: dict[str, str], world: dict) -> dict:
    import httpx

    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=PHONE, cookies=cookies) as c:
        page = c.get(world["url"])
        compressed = int(page.headers.get("content-length") or 0) or len(page.content)
        raw_html = c.get(world["url"], headers={"Accept-Encoding": "identity"}).content
        assets = {}
        for name in ("app.css", "htmx-2.0.11.min.js"):
            path = next(
                part.split('"')[0]
                for part in page.text.split('"/static/')[1:]
                if part.startswith(name)
            )
            r = c.get(f"/static/{path}")
            assets[name] = int(r.headers.get("content-length") or 0)
        change = c.post(
            f"{world['url']}/ligne/{world['product']}",
            data={"q": "2", "k": os.urandom(8).hex(), "_csrf_token": c.cookies["csrftoken"]},
            headers={"HX-Request": "true"},
        )
        change_raw = c.post(
            f"{world['url']}/ligne/{world['product']}",
            data={"q": "3", "k": os.urandom(8).hex(), "_csrf_token": c.cookies["csrftoken"]},
            headers={"HX-Request": "true", "Accept-Encoding": "identity"},
        )
    first_load = compressed + sum(assets.values())
    return {
        "page_html_compressed_bytes": compressed,
        "page_html_uncompressed_bytes": len(raw_html),
        "css_compressed_bytes": assets["app.css"],
        "htmx_compressed_bytes": assets["htmx-2.0.11.min.js"],
        "first_load_compressed_bytes": first_load,
        "first_load_target_bytes": 35 * 1024,
        "quantity_change_compressed_bytes": int(change.headers.get("content-length") or 0)
        or len(change.content),
        "quantity_change_uncompressed_bytes": len(change_raw.content),
        "quantity_change_target_bytes": 2 * 1024,
    }


def count_queries(env: dict, urls: dict) -> dict:
    """Queries of the page per product count, counted in-process around the real app."""
    script = f"""
import asyncio, json
from litestar.testing import AsyncTestClient
from app import create_app
from domain.settings import load_settings
from piccolo.engine.finder import engine_finder

async def main():
    app = create_app(load_settings())
    cls = type(engine_finder())
    original = cls.run_querystring
    counter = {{"n": 0}}
    async def counting(engine, qs, *a, **k):
        counter["n"] += 1
        return await original(engine, qs, *a, **k)
    out = {{}}
    async with AsyncTestClient(app=app, base_url="http://localhost") as client:
        for n, (url, product) in {json.dumps(urls)}.items():
            client.cookies.clear()
            await client.get("/connexion")
            await client.post("/connexion", data={{"email": f"member{{n}}@bench.test",
                "password": "motdepasse-solide", "_csrf_token": client.cookies["csrftoken"]}})
            await client.post(f"{{url}}/ligne/{{product}}", headers={{"HX-Request": "true"}},
                data={{"q": "1", "_csrf_token": client.cookies["csrftoken"]}})  # a basket, as 200's
            await client.get(url)  # warm: the lifespan's first sweep runs meanwhile
            cls.run_querystring = counting
            counter["n"] = 0
            r = await client.get(url)
            cls.run_querystring = original
            assert r.status_code == 200, r.status_code
            out[n] = counter["n"]
    print(json.dumps(out))

asyncio.run(main())
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--concurrency", default="1,8,32")
    args = parser.parse_args(argv)
    load_args = argparse.Namespace(
        warmup=0.5 if args.quick else 2.0,
        duration=2.0 if args.quick else 8.0,
        requests=0,
        no_cookies=False,
    )
    database = f"cc_obench_{os.getpid()}"
    var_dir = tempfile.mkdtemp(prefix="cc_obench_")
    asyncio.run(http_bench.pg_execute(PG, f'CREATE DATABASE "{database}"'))
    server = None
    try:
        port = http_bench.free_port()
        env = {
            **os.environ,
            "DATABASE_URL": f"{PG}/{database}",
            "VAR_DIR": var_dir,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "LOG_LEVEL": "WARNING",
            "BASE_URL": f"http://localhost:{port}",
            "ARGON2_FAST": "1",
        }
        for name in ("INSTANCES", "REDIS_URL", "SMTP_URL"):
            env.pop(name, None)
        python = sys.executable
        subprocess.run(
            [python, "app.py", "migrate"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
        )
        log("seeding 20- and 200-product ordering pages")
        seeded = subprocess.run(
            [python, "-c", SEED], cwd=ROOT, env=env, check=True, capture_output=True, text=True
        )
        worlds = json.loads(seeded.stdout.strip().splitlines()[-1])
        big = worlds["200"]
        server = subprocess.Popen(
            [python, "app.py", "serve"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        http_bench.wait_ready(port, "/healthz", server)
        cookies = login(port, "member200@bench.test")
        log("measuring bytes")
        result = {"products": 200, "database": "postgresql", "weights": weights(port, cookies, big)}
        log("counting queries (20 and 200 products)")
        result["queries_per_page"] = count_queries(
            env, {k: [w["url"], w["product"]] for k, w in worlds.items()}
        )
        result["latency"] = []
        for level in [int(c) for c in args.concurrency.split(",")]:
            log(f"{level} concurrent member(s) on {big['url']}")
            run = http_bench.run_level(port, server.pid, big["url"], level, load_args, cookies)
            result["latency"].append(
                {
                    "concurrency": level,
                    "rps": run["rps"],
                    "latency_ms": run["latency_ms"],
                    "errors": run["errors"],
                    "non_200": run["non_200"],
                }
            )
        result["note"] = (
            "2 cores shared by the server (one uvicorn process) and the load generator; "
            "the members are logged in (session cookie), Accept-Encoding: br, gzip."
        )
        print(json.dumps(result, indent=2))
    finally:
        if server is not None:
            http_bench.stop(server)
        asyncio.run(http_bench.pg_execute(PG, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
