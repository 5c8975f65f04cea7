"""/healthz alone, then while sign-ups and large uploads run: is the event loop free?

Not a test: run it by hand (see bench/README.md).

    .venv/bin/python bench/healthz_bench.py                 # PostgreSQL, about 40 s
    .venv/bin/python bench/healthz_bench.py --sqlite        # SQLite in a temporary folder
    .venv/bin/python bench/healthz_bench.py --sign-ups 50 --uploads 8

In one run, on one `app.py serve` (uvicorn, one process in a session of its own, real
argon2 cost, without Redis: its in-process worker writes the welcome mails):
1. a fresh database (PostgreSQL `cc_hbench_<pid>`, or SQLite), migrated, with one group,
   its catalog and its admin, who logs in;
2. `alone`: a probe asks /healthz every `--interval` seconds (20 ms) for `--alone` seconds,
   whether the previous one answered or not, and times each from when it was due;
3. `under_load`: the same probe while, all at once, `--sign-ups` visitors
   sign up (GET then POST /inscription) and `--uploads` times the admin sends a product
   with a 9000 × 9000 PNG photo that weighs a few hundred KB (made here, row by row);
   the window lasts as long as the load does (at least `--min-load` seconds);
4. prints one JSON document: p50/p95/p99/max of both, `loaded_vs_alone` (p99 under load
   over p99 alone: the target is ≤ 3), the load's statuses and durations, and the
   server's resident memory (peak and now) before and after the load.

The load runs in a process of its own (`_load`), the probe in this one: neither client's
CPU work is counted in the other's latencies. All share the machine's cores with the
server (and PostgreSQL): the ratio is the figure to read, not the milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

THIS = str(Path(__file__).resolve())
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import http_bench  # noqa: E402

PG = http_bench.DEFAULT_PG
ADMIN = "admin@bench.test"
PASSWORD = "motdepasse-solide"
SEED = """
import asyncio, json
from datetime import date, timedelta
from domain import catalogs, producers
from tests.helpers import make_group, make_user

async def main():
    admin = await make_user("admin@bench.test", "Anne")
    group = await make_group(admin, "AMAP du Banc")
    vendor = (await producers.save_vendor(group["id"], name="Ferme du Banc"))["id"]
    catalog = await catalogs.save_catalog(
        group["id"], group["kind"], name="Légumes", vendor_id=str(vendor), kind="variable",
        starts_on=date.today().isoformat(),
        ends_on=(date.today() + timedelta(days=180)).isoformat(), coordinator_id="",
    )
    print(json.dumps({"url": f"/g/{group['slug']}/catalogues/{catalog['id']}/produits/nouveau"}))

asyncio.run(main())
"""


def progress(message: str) -> None:
    print(f"[healthz-bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def large_png(width: int = 9000, height: int = 9000) -> bytes:
    """A valid RGB PNG of one colour, compressed row by row (never 243 MB in memory):
    about 240 KB for 81 million pixels, like the file of the issue."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    compressor = zlib.compressobj(9)
    row = b"\x00" + b"\x5a\x8c\x3c" * width  # filter byte, then the pixels
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def memory_mb(pid: int) -> dict[str, float | None]:
    """Resident memory of the server now and its peak (VmRSS, VmHWM), in MB."""
    found: dict[str, float | None] = {"rss_mb": None, "peak_rss_mb": None}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                found["rss_mb"] = round(int(line.split()[1]) / 1024, 1)
            elif line.startswith("VmHWM:"):
                found["peak_rss_mb"] = round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return found


def summary(latencies_ns: list[int], errors: int, non_200: int) -> dict[str, Any]:
    values = sorted(ns / 1e6 for ns in latencies_ns)
    return {
        "requests": len(values),
        "errors": errors,
        "non_200": non_200,
        "p50_ms": http_bench.percentile(values, 50),
        "p95_ms": http_bench.percentile(values, 95),
        "p99_ms": http_bench.percentile(values, 99),
        "max_ms": round(values[-1], 3) if values else None,
    }


async def probe(port: int, until, interval: float) -> dict[str, Any]:
    """GET /healthz every `interval` seconds, whether the last one answered or not (as a
    platform's probe does), on keep-alive connections taken from a small pool. Latency
    counts from when the request was due: a stalled loop shows in every request that
    waited behind it, not only in the one that was in flight (closed-loop clients miss
    that: they stop asking while the server is stuck)."""
    idle: list[http_bench.Connection] = []
    latencies: list[int] = []
    counts: dict[str, Any] = {"errors": 0, "non_200": 0, "error_types": {}}

    async def one(due: int) -> None:
        reused = bool(idle)
        connection = idle.pop() if idle else http_bench.Connection(port, keep_cookies=False)
        try:
            try:
                response = await asyncio.wait_for(connection.get("/healthz", {}), timeout=60)
            except (ConnectionError, asyncio.IncompleteReadError):
                if not reused:
                    raise
                # uvicorn closed it after 5 s idle (keep-alive timeout): a new one.
                connection.close()
                response = await asyncio.wait_for(connection.get("/healthz", {}), timeout=60)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, http_bench.HTTPError) as error:
            connection.close()
            counts["errors"] += 1
            kind = type(error).__name__
            counts["error_types"][kind] = counts["error_types"].get(kind, 0) + 1
            return
        latencies.append(time.perf_counter_ns() - due)
        if response.status != 200:
            counts["non_200"] += 1
        idle.append(connection)

    tasks = []
    step = int(interval * 1e9)
    due = time.perf_counter_ns()
    while not until():
        tasks.append(asyncio.create_task(one(due)))
        due += step
        await asyncio.sleep(max(0.0, (due - time.perf_counter_ns()) / 1e9))
    await asyncio.gather(*tasks)
    for connection in idle:
        connection.close()
    return summary(latencies, counts["errors"], counts["non_200"]) | {
        "error_types": counts["error_types"]
    }


# --------------------------------------------------------------------------- the load


async def run_load(spec: dict[str, Any], photo: bytes) -> dict[str, Any]:
    """All sign-ups and uploads at once, each on its own connection (httpx)."""
    import httpx

    base = f"http://127.0.0.1:{spec['port']}"
    started = time.perf_counter()

    async def sign_up(n: int) -> tuple[int | str, float]:
        async with httpx.AsyncClient(base_url=base, timeout=120) as client:
            begin = time.perf_counter()
            try:
                await client.get("/inscription")
                response = await client.post(
                    "/inscription",
                    data={
                        "email": f"visiteur{spec['run']}-{n}@bench.test",
                        "password": PASSWORD,
                        "first_name": "Visiteur",
                        "last_name": f"N{n}",
                        "_csrf_token": client.cookies["csrftoken"],
                    },
                )
                status: int | str = response.status_code
            except httpx.HTTPError as error:
                status = type(error).__name__
            return status, time.perf_counter() - begin

    async def upload(n: int) -> tuple[int | str, float]:
        async with httpx.AsyncClient(base_url=base, timeout=120, cookies=spec["cookies"]) as client:
            begin = time.perf_counter()
            try:
                response = await client.post(
                    spec["url"],
                    data={
                        "name": f"Photo {n}",
                        "unit": "kg",
                        "price": "3,50",
                        "vat_rate": "550",
                        "active": "1",
                        "_csrf_token": spec["cookies"]["csrftoken"],
                    },
                    files={"photo": ("grande.png", photo, "image/png")},
                )
                status: int | str = response.status_code
            except httpx.HTTPError as error:
                status = type(error).__name__
            return status, time.perf_counter() - begin

    results = await asyncio.gather(
        *[sign_up(n) for n in range(spec["sign_ups"])],
        *[upload(n) for n in range(spec["uploads"])],
    )
    sign_ups, uploads = results[: spec["sign_ups"]], results[spec["sign_ups"] :]

    def described(part: list[tuple[int | str, float]]) -> dict[str, Any]:
        statuses: dict[str, int] = {}
        for status, _ in part:
            statuses[str(status)] = statuses.get(str(status), 0) + 1
        seconds = sorted(s for _, s in part)
        return {
            "count": len(part),
            "statuses": statuses,
            "slowest_s": round(seconds[-1], 2) if seconds else None,
            "median_s": round(seconds[len(seconds) // 2], 2) if seconds else None,
        }

    return {
        "seconds": round(time.perf_counter() - started, 2),
        "sign_ups": described(sign_ups),
        "uploads": described(uploads),
    }


def load_main(spec_json: str) -> int:
    spec = json.loads(spec_json)
    photo = Path(spec["photo"]).read_bytes()
    print(json.dumps(asyncio.run(run_load(spec, photo))), flush=True)
    return 0


async def under_load(
    port: int, spec: dict[str, Any], min_seconds: float, interval: float
) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        THIS,
        "_load",
        json.dumps(spec),
        stdout=asyncio.subprocess.PIPE,
    )
    started = time.monotonic()
    # The probe starts with the load and ends with it (and not before `min_seconds`).
    probing = asyncio.create_task(
        probe(
            port,
            lambda: process.returncode is not None and time.monotonic() - started >= min_seconds,
            interval,
        )
    )
    output, _ = await process.communicate()
    healthz = await probing
    load = json.loads(output.decode().strip().splitlines()[-1]) if output.strip() else None
    return {"healthz": healthz, "load": load, "load_exit_code": process.returncode}


# --------------------------------------------------------------------------- orchestration


def login(port: int) -> dict[str, str]:
    import httpx

    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        client.get("/connexion")
        response = client.post(
            "/connexion",
            data={"email": ADMIN, "password": PASSWORD, "_csrf_token": client.cookies["csrftoken"]},
        )
        assert response.status_code in (200, 303), response.status_code
        return dict(client.cookies)


def bench(args: argparse.Namespace) -> dict[str, Any]:
    database = f"cc_hbench_{os.getpid()}"
    var_dir = tempfile.mkdtemp(prefix="cc_hbench_")
    server: subprocess.Popen | None = None
    created = False
    try:
        port = http_bench.free_port()
        if args.sqlite:
            database_url = f"sqlite:///{var_dir}/bench.sqlite3"
        else:
            progress(f"creating database {database}")
            asyncio.run(http_bench.pg_execute(args.pg, f'CREATE DATABASE "{database}"'))
            created = True
            database_url = f"{args.pg}/{database}"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "VAR_DIR": var_dir,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "LOG_LEVEL": "WARNING",
            "BASE_URL": f"http://localhost:{port}",
            "PYTHONUNBUFFERED": "1",
        }
        for name in ("INSTANCES", "REDIS_URL", "SMTP_URL", "SECRET_KEY", "ARGON2_FAST"):
            env.pop(name, None)
        python = http_bench.python_for_servers()
        subprocess.run(
            [python, "app.py", "migrate"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
        )
        progress("seeding a group, its catalog and its admin")
        seeded = subprocess.run(
            [python, "-c", SEED],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        url = json.loads(seeded.stdout.strip().splitlines()[-1])["url"]
        photo_path = Path(var_dir) / "grande.png"
        photo_path.write_bytes(large_png())
        progress(f"photo: 9000 × 9000 PNG of {photo_path.stat().st_size // 1024} KB")

        progress(f"starting app.py serve on 127.0.0.1:{port} (real argon2 cost)")
        # In a session of its own, as a service runs: with the kernel's autogroup
        # scheduling, the probe and the load generator then don't share its CPU share.
        server = subprocess.Popen(
            [python, "app.py", "serve"],
            cwd=ROOT,
            env=env,
            stdout=sys.stderr,
            start_new_session=True,
        )
        http_bench.wait_ready(port, "/healthz", server)
        cookies = login(port)
        background = http_bench.background_load()

        progress(f"/healthz alone for {args.alone} s (after 1 s of warm-up)")
        asyncio.run(probe(port, _after(1.0), args.interval))
        alone = asyncio.run(probe(port, _after(args.alone), args.interval))
        progress(f"  {alone}")
        memory_before = memory_mb(server.pid)

        progress(f"/healthz while {args.sign_ups} sign-ups and {args.uploads} uploads run")
        spec = {
            "port": port,
            "url": url,
            "cookies": cookies,
            "photo": str(photo_path),
            "sign_ups": args.sign_ups,
            "uploads": args.uploads,
            "run": os.getpid(),
        }
        loaded = asyncio.run(under_load(port, spec, args.min_load, args.interval))
        progress(f"  {loaded['healthz']}")
        progress(f"  load: {loaded['load']}")
        memory_after = memory_mb(server.pid)
        server_alive = server.poll() is None

        def ratio(key: str) -> float | None:
            a, b = alone.get(key), loaded["healthz"].get(key)
            return round(b / a, 2) if a and b else None

        return {
            "benchmark": "circuit-court healthz_bench",
            "database": "sqlite" if args.sqlite else "postgresql",
            "cpu_count": os.cpu_count(),
            "background_load": background,
            "settings": {
                "alone_seconds": args.alone,
                "probe": f"GET /healthz every {args.interval * 1000:g} ms (open loop, latency "
                "from when each request was due)",
                "sign_ups": args.sign_ups,
                "uploads": args.uploads,
                "photo": f"9000 x 9000 RGB PNG, {photo_path.stat().st_size} bytes",
                "server": "app.py serve: uvicorn, one process, argon2 at production cost",
            },
            "alone": alone,
            "under_load": loaded["healthz"],
            "load": loaded["load"],
            "loaded_vs_alone": {"p50": ratio("p50_ms"), "p99": ratio("p99_ms"), "target_p99": 3},
            "server_memory": {"before_load": memory_before, "after_load": memory_after},
            "server_alive_after_load": server_alive,
        }
    finally:
        if server is not None:
            http_bench.stop(server)
        if created:
            progress(f"dropping database {database}")
            try:
                asyncio.run(
                    http_bench.pg_execute(
                        args.pg, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'
                    )
                )
            except Exception as error:  # noqa: BLE001 - report, then keep cleaning up
                progress(f"could not drop {database}: {error!r}")
        shutil.rmtree(var_dir, ignore_errors=True)


def _after(seconds: float):
    deadline = time.monotonic() + seconds
    return lambda: time.monotonic() >= deadline


def main(argv: list[str]) -> int:
    if argv[:1] == ["_load"]:
        return load_main(argv[1])
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--alone", type=float, default=5.0, help="seconds of /healthz alone")
    parser.add_argument("--sign-ups", type=int, default=20)
    parser.add_argument("--uploads", type=int, default=5)
    parser.add_argument(
        "--min-load", type=float, default=2.0, help="least seconds of probing under load"
    )
    parser.add_argument(
        "--interval", type=float, default=0.02, help="seconds between two probes (0.02)"
    )
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument("--pg", default=PG, help=f"PostgreSQL server URL without database ({PG})")
    args = parser.parse_args(argv)
    print(json.dumps(bench(args), indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
