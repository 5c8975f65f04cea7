"""Ordering page benchmark: the page and the "+" against ceilings measured in the same run.

Prints one JSON document (progress on stderr). On a fresh PostgreSQL database, for ordering
pages of 20, 200, 600 and 1,000 products, each with 33 logged-in members holding a basket:

- `sizes.<n>.weights`: bytes of the first load (HTML + CSS + JS, compressed as a phone asks)
  and of one "+" (the htmx fragment); the products are shared out among 15 categories,
  so that a page of more than 60 products comes in sections (domain/ordering/sections.py):
  the first load is the sections' headings and the member's basket, and the weights say
  too what opening a section costs (`section_*`: the fragment of the first section), a
  search (`search_*`) and a "+" on that page (`change_sectioned_*`: the line, its copy in
  the basket, the total);
- `sizes.<n>.database`: SQL statements and database round trips of the page, of a section's
  and a search's fragments, and of one "+"
  (of a draft basket, and of a validated order, which rewrites the recap mail), counted in
  the process around the real app: statements at asyncpg, round trips by a TCP proxy
  between the app and PostgreSQL (every flight of bytes from the app after an answer is one
  round trip: BEGIN, COMMIT and the pool's reset count);
- `levels`: at 1, 8 and 32 clients (`--concurrency`), loaded one after the other, size by
  size: the real page (each client a member of its own), the same HTML served from memory
  by a bare Litestar app with the app's compression (bench/memory_app.py), the "+" (htmx
  POST, a fresh key per request, as static/app.js sends it) and a bare route
  (bench/bare_app.py). Each: rps, p50/p95/p99, server CPU ms per request (utime + stime
  from /proc), PostgreSQL CPU ms per request (the backends of the bench's database), bytes.
  `page_vs_memory` = page rps / memory rps, `change_vs_bare` = "+" rps / bare rps.

`--servers standard,plain` runs the whole thing under uvicorn's standard stack (uvloop,
httptools: what production runs) and then again under asyncio + h11, for comparison.

    .venv/bin/python bench/ordering_bench.py --quick          # ~4 min
    .venv/bin/python bench/ordering_bench.py                  # ~8 min
    .venv/bin/python bench/ordering_bench.py --sizes 200 --concurrency 8
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import http_bench  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432"
MEMBERS = 32  # clients at the highest level, each a member of its own
BASKET_LINES = 8  # what each member holds before the run (a draft basket)
TAP_PRODUCTS = 10  # each client taps "+" on ten products of its own, in turn

# A grocery's shelves (the Escarcelle import fills a product's category).
CATEGORIES = [
    "Boissons",
    "Bébé",
    "Boulangerie",
    "Conserves",
    "Crèmerie",
    "Entretien",
    "Épicerie salée",
    "Épicerie sucrée",
    "Fruits et légumes",
    "Hygiène",
    "Pâtes, riz et céréales",
    "Petit-déjeuner",
    "Surgelés",
    "Viandes et poissons",
    "Condiments",
]

SEED = """
import asyncio, json, sys
from datetime import timedelta
from domain import sessions
from domain.demo import world
from domain.kernel import clock, tokens
from domain.settings import load_settings
from web.csrf import session_token

SIZES = json.loads(sys.argv[1])
MEMBERS, LINES = int(sys.argv[2]), int(sys.argv[3])
CATEGORIES = json.loads(sys.argv[4])

async def main():
    secret = load_settings().secret_key
    admin = await world.person("admin@bench.test")
    out = {}
    for n in SIZES:
        made = await world.distribution_world(
            admin, products=n, stock=1_000_000, name=f"Marché {n}",
            closes_in=timedelta(hours=240), categories=CATEGORIES,
        )
        # MEMBERS members for the load, one more whose order is validated (the recap path)
        users = await world.people(
            MEMBERS + 1, email=f"m{n}-{{i}}@bench.test", password=world.PASSWORD
        )
        await world.join(made["group"]["id"], users)
        products = made["products"]
        baskets = {
            u: {products[(i * 3 + j * 7) % n]: 1 + j % 3 for j in range(min(LINES, n))}
            for i, u in enumerate(users)
        }
        await world.orders(made["distribution"], {u: baskets[u] for u in users[:-1]},
                           state="draft")
        await world.orders(made["distribution"], {users[-1]: baskets[users[-1]]})
        members = []
        for u in users:
            token = await sessions.create({"user_id": u}, clock.now())
            members.append({
                "id": u, "cookie": token,
                "csrf": session_token(secret, {"key_hash": tokens.digest(token)}),
            })
        out[n] = {"url": made["url"], "products": products, "members": members,
                  "section": "c-boissons"}  # one of the sections
    print(json.dumps(out))

asyncio.run(main())
"""

# In-process counting: the real app (no background sweep) through Litestar's test client,
# its database connections through a TCP proxy that counts round trips.
COUNT = r"""
import asyncio, json, os, sys, threading, uuid

PG_PORT, SIZES = int(sys.argv[1]), json.loads(sys.argv[2])
flights = {"n": 0}

async def pipe(reader, writer, client_side, state):
    try:
        while data := await reader.read(65536):
            if client_side and state["last"] != "client":
                flights["n"] += 1
            state["last"] = "client" if client_side else "server"
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()

async def handle(client_reader, client_writer):
    server_reader, server_writer = await asyncio.open_connection("127.0.0.1", PG_PORT)
    state = {"last": None}
    await asyncio.gather(
        pipe(client_reader, server_writer, True, state),
        pipe(server_reader, client_writer, False, state),
    )

ready = threading.Event()
def proxy():
    async def serve():
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        proxy_port.append(server.sockets[0].getsockname()[1])
        ready.set()
        await asyncio.Event().wait()
    asyncio.run(serve())
proxy_port = []
threading.Thread(target=proxy, daemon=True).start()
ready.wait()
url = os.environ["DATABASE_URL"]
os.environ["DATABASE_URL"] = url.replace(f":{PG_PORT}/", f":{proxy_port[0]}/")

import asyncpg
statements = {"n": 0, "text": []}
CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "SELECT PG_ADVISORY_UNLOCK_ALL")
for name in ("fetch", "fetchrow", "fetchval", "execute", "executemany"):
    original = getattr(asyncpg.connection.Connection, name)
    def counting(self, query, *args, __original=original, **kwargs):
        if not query.lstrip().upper().startswith(CONTROL):
            statements["n"] += 1
            statements["text"].append(" ".join(query.split())[:160])
        return __original(self, query, *args, **kwargs)
    setattr(asyncpg.connection.Connection, name, counting)

import dramatiq
dramatiq.Worker.start = lambda self: None  # mail jobs queued, not run: the request alone
from litestar.testing import AsyncTestClient
from app import create_app
from domain.settings import load_settings

async def measured(call):
    flights["n"] = 0
    statements["n"] = 0
    statements["text"] = []
    response = await call()
    await asyncio.sleep(0.05)  # the pool's release (its reset) runs after the response
    assert response.status_code == 200, (response.status_code, response.text[:300])
    return {"statements": statements["n"], "round_trips": flights["n"],
            "sql": list(statements["text"])}

async def main():
    app = create_app(load_settings(), background=False)
    out = {}
    async with AsyncTestClient(app=app, base_url="http://localhost") as client:
        for n, world in SIZES.items():
            url, product = world["url"], world["products"][0]
            figures = {}
            members = world["members"]
            for who, member in (("draft", members[0]), ("validated", members[-1])):
                client.cookies.clear()
                client.cookies.set("session", member["cookie"])
                headers = {"HX-Request": "true", "x-csrftoken": member["csrf"]}
                def page():
                    return client.get(url)
                def tap():
                    return client.post(f"{url}/ligne/{product}", headers=headers,
                                       data={"delta": "1", "k": uuid.uuid4().hex})
                for _ in range(2):  # warm: statement caches, templates, the moves list
                    await page()
                    await tap()
                def section():
                    return client.get(f"{url}/rayons/{world['section']}", headers=headers)
                def search():
                    return client.get(f"{url}/recherche?q=produit+01", headers=headers)
                if who == "draft":
                    for _ in range(2):
                        await section()
                        await search()
                    figures["page"] = await measured(page)
                    figures["section"] = await measured(section)
                    figures["search"] = await measured(search)
                figures[f"change_{who}_order"] = await measured(tap)
            out[n] = figures
    print(json.dumps(out))

asyncio.run(main())
"""


def log(message: str) -> None:
    print(f"[obench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- load


def _request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {http_bench.TARGET_HOST}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _backend_cpu(connection, database: str | None) -> dict[int, float]:
    """CPU seconds of the PostgreSQL backends of `database` (None: nothing to read)."""
    if connection is None or database is None:
        return {}
    rows = await connection.fetch(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        database,
    )
    found = {}
    for row in rows:
        seconds = http_bench.process_cpu_seconds(row["pid"])
        if seconds is not None:
            found[row["pid"]] = seconds
    return found


async def load(spec: dict[str, Any]) -> dict[str, Any]:
    """Closed loop: `concurrency` clients, each sending its next request on receipt; a
    warm-up, then a measured window of `duration` seconds. Client i is member i."""
    concurrency = spec["concurrency"]
    members = spec["members"]
    base = dict(http_bench.BROWSER_HEADERS)
    latencies: list[int] = []
    counters = {"errors": 0, "non_200": 0, "bytes": 0, "statuses": {}}
    state = {"recording": False, "stop": False}
    clock = time.perf_counter_ns

    def requests_of(index: int):
        member = members[index % len(members)] if members else None
        headers = dict(base)
        if member:
            headers["Cookie"] = f"session={member['cookie']}"
        if spec["kind"] != "change":
            fixed = _request("GET", spec["path"], headers)
            while True:
                yield fixed
        headers |= {
            "Accept": "*/*",
            "Content-Type": "application/x-www-form-urlencoded",
            "HX-Request": "true",
            "HX-Current-URL": f"http://{http_bench.TARGET_HOST}{spec['path']}",
            "X-CSRFToken": member["csrf"],
        }
        products = spec["products"]
        mine = [products[(index * TAP_PRODUCTS + j) % len(products)] for j in range(10)]
        turn = 0
        while True:
            product = mine[turn % len(mine)]
            turn += 1
            body = f"delta=1&k={uuid.uuid4()}".encode()
            yield _request(
                "POST",
                f"{spec['path']}/ligne/{product}",
                headers | {"HX-Target": f"p{product}"},
                body,
            )

    async def client(index: int) -> None:
        connection = http_bench.Connection(spec["port"], keep_cookies=False)
        requests = requests_of(index)
        while not state["stop"]:
            started = clock()
            try:
                response = await connection.send(next(requests))
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as error:
                connection.close()
                if state["recording"]:
                    counters["errors"] += 1
                    counters["last_error"] = repr(error)
                await asyncio.sleep(0.01)
                continue
            except http_bench.HTTPError:
                connection.close()
                continue
            elapsed = clock() - started
            if state["recording"]:
                latencies.append(elapsed)
                counters["bytes"] += response.wire_bytes
                if response.status != 200:
                    counters["non_200"] += 1
                    key = str(response.status)
                    counters["statuses"][key] = counters["statuses"].get(key, 0) + 1
        connection.close()

    pg = None
    if spec.get("database"):
        import asyncpg

        pg = await asyncpg.connect(f"{spec['pg']}/postgres")
    tasks = [asyncio.create_task(client(i)) for i in range(concurrency)]
    await asyncio.sleep(spec["warmup"])
    server_0 = http_bench.process_cpu_seconds(spec["server_pid"])
    db_0 = await _backend_cpu(pg, spec.get("database"))
    started = time.perf_counter()
    state["recording"] = True
    await asyncio.sleep(spec["duration"])
    state["recording"] = False
    elapsed = time.perf_counter() - started
    server_1 = http_bench.process_cpu_seconds(spec["server_pid"])
    db_1 = await _backend_cpu(pg, spec.get("database"))
    state["stop"] = True
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    if pg is not None:
        await pg.close()
    count = len(latencies)
    ms = sorted(value / 1e6 for value in latencies)
    server = server_1 - server_0 if server_0 is not None and server_1 is not None else None
    db = sum(seconds - db_0.get(pid, 0.0) for pid, seconds in db_1.items()) if db_1 else None
    return {
        "requests": count,
        "rps": round(count / elapsed, 1) if elapsed else None,
        "p50_ms": http_bench.percentile(ms, 50),
        "p95_ms": http_bench.percentile(ms, 95),
        "p99_ms": http_bench.percentile(ms, 99),
        "server_cpu_ms_per_request": round(server * 1000 / count, 3)
        if server is not None and count
        else None,
        "postgres_cpu_ms_per_request": round(db * 1000 / count, 3)
        if db is not None and count
        else None,
        "bytes_per_response": round(counters["bytes"] / count) if count else None,
        "errors": counters["errors"],
        "non_200": counters["non_200"],
        **({"statuses": counters["statuses"]} if counters["statuses"] else {}),
        **({"last_error": counters["last_error"]} if "last_error" in counters else {}),
    }


def run_load(spec: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "_loadgen", json.dumps(spec)],
        stdout=subprocess.PIPE,
        timeout=spec["warmup"] + spec["duration"] + 60,
        check=True,
        text=True,
    )
    return json.loads(done.stdout)


# --------------------------------------------------------------------------- weights


def weights(port: int, world: dict) -> tuple[dict, str]:
    """Bytes of a first load and of one "+"; returns them and the page's HTML."""
    import httpx

    member = world["members"][0]
    headers = {**http_bench.BROWSER_HEADERS}
    with httpx.Client(
        base_url=f"http://127.0.0.1:{port}", headers=headers, cookies={"session": member["cookie"]}
    ) as c:
        page = c.get(world["url"])
        assert page.status_code == 200, page.status_code
        compressed = int(page.headers.get("content-length") or 0) or len(page.content)
        html = c.get(world["url"], headers={"Accept-Encoding": "identity"}).text
        assets = {}
        for path in sorted(set(re.findall(r'(?:href|src)="(/static/[^"]+)"', html))):
            r = c.get(path)
            assets[path.split("?")[0].rsplit("/", 1)[-1]] = int(
                r.headers.get("content-length") or 0
            ) or len(r.content)
        tap = {"HX-Request": "true", "x-csrftoken": member["csrf"]}
        url = f"{world['url']}/ligne/{world['products'][1]}"
        change = c.post(url, data={"delta": "1", "k": uuid.uuid4().hex}, headers=tap)
        change_raw = c.post(
            url,
            data={"delta": "-1", "k": uuid.uuid4().hex},
            headers={**tap, "Accept-Encoding": "identity"},
        )
        assert change.status_code == 200 and change_raw.status_code == 200
        fragments = {}
        htmx = {"HX-Request": "true"}
        for name, path in (
            ("section", f"{world['url']}/rayons/{world['section']}"),
            ("search", f"{world['url']}/recherche?q=produit+01"),
        ):
            got = c.get(path, headers=htmx)
            raw = c.get(path, headers={**htmx, "Accept-Encoding": "identity"})
            assert got.status_code == 200 and raw.status_code == 200, (name, got.status_code)
            fragments[f"{name}_compressed_bytes"] = int(
                got.headers.get("content-length") or 0
            ) or len(got.content)
            fragments[f"{name}_uncompressed_bytes"] = len(raw.content)
            fragments[f"{name}_lines"] = raw.text.count('<li id="p')
        sectioned = c.post(  # a "+" in the open section, the product in the basket already
            url,
            data={"delta": "1", "k": uuid.uuid4().hex, "w": "Bbp"},
            headers={**tap, "HX-Target": f"p{world['products'][1]}"},
        )
        assert sectioned.status_code == 200
        fragments["change_sectioned_compressed_bytes"] = int(
            sectioned.headers.get("content-length") or 0
        ) or len(sectioned.content)
    return {
        "page_html_compressed_bytes": compressed,
        "page_html_uncompressed_bytes": len(html.encode()),
        "assets_compressed_bytes": assets,
        "first_load_compressed_bytes": compressed + sum(assets.values()),
        "first_load_target_bytes": 35 * 1024,
        "change_compressed_bytes": int(change.headers.get("content-length") or 0)
        or len(change.content),
        "change_uncompressed_bytes": len(change_raw.content),
        "page_product_lines": html.count('<li id="p'),
        "page_sections": html.count('<li id="s-'),
        **fragments,
    }, html


def count_database(env: dict, worlds: dict) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", COUNT, "5432", json.dumps(worlds)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- orchestration


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a and b else None


def start(command: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def run_servers(args, env: dict, worlds: dict, variant: str, database: str) -> dict:
    """Starts the real app, the memory app and the bare app under `variant`, measures."""
    loop, http = ("auto", "auto") if variant == "standard" else ("asyncio", "h11")
    ports = [http_bench.free_port() for _ in range(3)]
    while len(set(ports)) < 3:
        ports = [http_bench.free_port() for _ in range(3)]
    app_port, memory_port, bare_port = ports
    uvicorn_env = {"UVICORN_LOOP": loop, "UVICORN_HTTP": http}
    memory_dir = tempfile.mkdtemp(prefix="cc_obench_memory_")
    processes: list[subprocess.Popen] = []
    python = sys.executable
    try:
        serve = (
            "import os, uvicorn; uvicorn.run('app:app', host='127.0.0.1', "
            f"port={app_port}, log_level='warning', proxy_headers=True, "
            f"loop='{loop}', http='{http}')"
        )
        app = start([python, "-c", serve], {**env, "PORT": str(app_port)})
        processes.append(app)
        http_bench.wait_ready(app_port, "/healthz", app)
        sizes: dict[str, dict] = {}
        for n, world in worlds.items():
            log(f"{variant}: weights of the {n}-product page")
            weight, html = weights(app_port, world)
            Path(memory_dir, f"{n}.html").write_text(html, encoding="utf-8")
            sizes[n] = {"weights": weight}
        memory = start(
            [python, str(BENCH / "memory_app.py")],
            {**env, **uvicorn_env, "PORT": str(memory_port), "MEMORY_DIR": memory_dir},
        )
        processes.append(memory)
        bare = start(
            [python, str(BENCH / "bare_app.py")], {**env, **uvicorn_env, "PORT": str(bare_port)}
        )
        processes.append(bare)
        http_bench.wait_ready(memory_port, f"/m/{next(iter(worlds))}", memory)
        http_bench.wait_ready(bare_port, "/", bare)
        common = {"warmup": args.warmup, "duration": args.duration, "pg": args.pg}
        levels = []
        for level in args.concurrency:
            by_size = {}
            for n, world in worlds.items():
                members = world["members"][:MEMBERS]
                targets = {
                    "page": {
                        "kind": "get",
                        "port": app_port,
                        "server_pid": app.pid,
                        "path": world["url"],
                        "members": members,
                        "database": database,
                    },
                    "memory": {
                        "kind": "get",
                        "port": memory_port,
                        "server_pid": memory.pid,
                        "path": f"/m/{n}",
                        "members": [],
                    },
                    "change": {
                        "kind": "change",
                        "port": app_port,
                        "server_pid": app.pid,
                        "path": world["url"],
                        "members": members,
                        "database": database,
                        "products": world["products"],
                    },
                    "bare": {
                        "kind": "get",
                        "port": bare_port,
                        "server_pid": bare.pid,
                        "path": "/",
                        "members": [],
                    },
                }
                row: dict[str, Any] = {}
                for name, spec in targets.items():
                    row[name] = run_load({**common, **spec, "concurrency": level})
                    log(
                        f"{variant} c={level} n={n} {name}: {row[name]['rps']} rps, "
                        f"p50 {row[name]['p50_ms']} ms, "
                        f"cpu {row[name]['server_cpu_ms_per_request']} ms/req, "
                        f"non-200 {row[name]['non_200']}, errors {row[name]['errors']}"
                    )
                row["page_vs_memory"] = ratio(row["page"]["rps"], row["memory"]["rps"])
                row["change_vs_bare"] = ratio(row["change"]["rps"], row["bare"]["rps"])
                by_size[n] = row
            levels.append({"concurrency": level, "sizes": by_size})
        return {"sizes": sizes, "levels": levels}
    finally:
        for process in processes:
            http_bench.stop(process)


def summary(result: dict, database: dict) -> dict:
    rows = {}
    for level in result["levels"]:
        for n, row in level["sizes"].items():
            rows.setdefault(n, {})[f"c{level['concurrency']}"] = {
                "page_vs_memory": row["page_vs_memory"],
                "change_vs_bare": row["change_vs_bare"],
                "page_cpu_ms": row["page"]["server_cpu_ms_per_request"],
                "memory_cpu_ms": row["memory"]["server_cpu_ms_per_request"],
                "change_cpu_ms": row["change"]["server_cpu_ms_per_request"],
                "bare_cpu_ms": row["bare"]["server_cpu_ms_per_request"],
                "page_p95_ms": row["page"]["p95_ms"],
                "change_p95_ms": row["change"]["p95_ms"],
            }
    for n, figures in database.items():
        if n in rows:
            weights = result["sizes"][n]["weights"]
            rows[n]["first_load_bytes"] = weights["first_load_compressed_bytes"]
            rows[n]["section_fragment_bytes"] = weights["section_compressed_bytes"]
            rows[n]["search_fragment_bytes"] = weights["search_compressed_bytes"]
            rows[n]["round_trips"] = {k: v["round_trips"] for k, v in figures.items()}
            rows[n]["statements"] = {k: v["statements"] for k, v in figures.items()}
    return rows


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="--warmup 0.5 --duration 2")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--duration", type=float, default=4.0)
    parser.add_argument(
        "--concurrency", type=lambda t: [int(x) for x in t.split(",")], default=[1, 8, 32]
    )
    parser.add_argument(
        "--sizes", type=lambda t: [int(x) for x in t.split(",")], default=[20, 200, 600, 1000]
    )
    parser.add_argument("--servers", default="standard", help="standard,plain")
    parser.add_argument("--pg", default=PG)
    parser.add_argument("--show-sql", action="store_true", help="the statements, in `database`")
    args = parser.parse_args(argv)
    if args.quick:
        args.warmup, args.duration = 0.5, 2.0
    if max(args.concurrency) > MEMBERS:
        parser.error(f"at most {MEMBERS} clients (one member each)")
    return args


def main(argv: list[str]) -> int:
    if argv[:1] == ["_loadgen"]:
        print(json.dumps(asyncio.run(load(json.loads(argv[1])))))
        return 0
    args = parse_args(argv)
    database = f"cc_obench_{os.getpid()}"
    var_dir = tempfile.mkdtemp(prefix="cc_obench_")
    asyncio.run(http_bench.pg_execute(args.pg, f'CREATE DATABASE "{database}"'))
    try:
        env = {
            **os.environ,
            "DATABASE_URL": f"{args.pg}/{database}",
            "VAR_DIR": var_dir,
            "HOST": "127.0.0.1",
            "LOG_LEVEL": "WARNING",
            "BASE_URL": "http://localhost:8000",
            "ARGON2_FAST": "1",
            "PYTHONUNBUFFERED": "1",
        }
        for name in ("INSTANCES", "REDIS_URL", "SMTP_URL", "SECRET_KEY"):
            env.pop(name, None)
        python = sys.executable
        subprocess.run(
            [python, "app.py", "migrate"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
        )
        log(f"seeding {args.sizes} products, {MEMBERS + 1} members each")
        seeded = subprocess.run(
            [
                python,
                "-c",
                SEED,
                json.dumps(args.sizes),
                str(MEMBERS),
                str(BASKET_LINES),
                json.dumps(CATEGORIES),
            ],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        worlds = json.loads(seeded.stdout.strip().splitlines()[-1])
        log("counting statements and round trips in process")
        database_figures = count_database(env, worlds)
        if not args.show_sql:
            for figures in database_figures.values():
                for entry in figures.values():
                    entry.pop("sql")
        report: dict[str, Any] = {
            "benchmark": "circuit-court ordering_bench",
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "environment": {
                "cpu_count": os.cpu_count(),
                "packages": http_bench.versions(),
                "database": "PostgreSQL, fresh database",
                "background_before": http_bench.background_load(),
            },
            "settings": {
                "warmup_seconds": args.warmup,
                "duration_seconds": args.duration,
                "concurrency": args.concurrency,
                "sizes": args.sizes,
                "members_per_size": MEMBERS,
                "basket_lines": BASKET_LINES,
            },
            "database": database_figures,
        }
        for variant in args.servers.split(","):
            result = run_servers(args, env, worlds, variant, database)
            report[variant] = result
            report[f"summary_{variant}"] = summary(result, database_figures)
        report["note"] = (
            "2 shared cores: the load generator, the servers and PostgreSQL share them; "
            "compare ratios measured in the same run. CPU per request: utime + stime of "
            "the server process (and of the database's backends) over the window / responses."
        )
        print(json.dumps(report, indent=2, ensure_ascii=False))
    finally:
        with contextlib.suppress(Exception):
            asyncio.run(
                http_bench.pg_execute(args.pg, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
