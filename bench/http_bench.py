"""HTTP benchmark: the public group page under uvicorn, against a bare Litestar app.

Not a test: run it by hand (see bench/README.md).

    .venv/bin/python bench/http_bench.py                  # full run, about 1 min 30 s
    .venv/bin/python bench/http_bench.py --quick          # about 25 s

What it does, in one run:
1. creates a fresh PostgreSQL database `cc_bench_<pid>`, runs `app.py migrate` and
   `app.py seed-demo` against it, starts `app.py serve` (uvicorn) on a free port;
2. starts bench/bare_app.py (one GET route returning a fixed string) with the same uvicorn
   options on another free port;
3. measures the bytes of a first visit of the page (HTML, CSS, JS; compressed and not);
4. for each target and each concurrency level, runs the load generator in its own process
   (raw asyncio sockets, HTTP/1.1 keep-alive, one connection per client, bounded in time
   and count, 127.0.0.1 only) and reports requests per second and p50/p95/p99 latency;
5. prints one JSON document on stdout (progress goes to stderr), then stops the servers and
   drops the database, whatever happened.

The load generator shares the machine's cores with the server (and PostgreSQL): the JSON
says so, and gives the CPU time each side used so the split can be judged.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import importlib.metadata
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PAGE_PATH = "/g/martignamap"
BARE_PATH = "/"
TARGET_HOST = "127.0.0.1"  # the load generator refuses anything else
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432"
# What a phone's browser sends for a page (the encodings are what the brief asks for;
# over HTTPS a real browser also lists deflate and zstd, which the app does not offer).
BROWSER_HEADERS = {
    "User-Agent": (
        "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36"
    ),
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "fr-FR,fr;q=0.9,en;q=0.8",
    "Accept-Encoding": "br, gzip",
}


def progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- HTTP client


class HTTPError(Exception):
    pass


class Response:
    __slots__ = ("status", "headers", "body", "head_bytes", "wire_bytes")

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes, head: int):
        self.status = status
        self.headers = headers
        self.body = body
        self.head_bytes = head
        self.wire_bytes = head

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None


class Connection:
    """One keep-alive HTTP/1.1 connection, with a cookie jar like a browser tab's."""

    def __init__(self, port: int, keep_cookies: bool = True) -> None:
        self.port = port
        self.keep_cookies = keep_cookies
        self.cookies: dict[str, str] = {}
        self.requests: dict[str, bytes] = {}  # path -> request bytes (headers fixed per conn)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.close()
        self.reader, self.writer = await asyncio.open_connection(TARGET_HOST, self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    def build(self, path: str, headers: dict[str, str]) -> bytes:
        lines = [f"GET {path} HTTP/1.1", f"Host: {TARGET_HOST}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def get(self, path: str, headers: dict[str, str]) -> Response:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        request = self.requests.get(path)
        if request is None:
            request = self.requests[path] = self.build(path, headers)
        return await self.send(request)

    async def send(self, request: bytes) -> Response:
        """One request written out as it is (any method), its response read."""
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        self.writer.write(request)
        reader = self.reader
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head[:-4].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
            raise HTTPError(f"bad status line {lines[0]!r}")
        status = int(parts[1])
        pairs = []
        length = None
        chunked = close = False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            value = value.strip()
            pairs.append((name, value))
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding":
                chunked = "chunked" in value.lower()
            elif name == "connection":
                close = value.lower() == "close"
            elif name == "set-cookie" and self.keep_cookies:
                cookie_name, _, cookie_value = value.split(";", 1)[0].partition("=")
                if self.cookies.get(cookie_name.strip()) != cookie_value.strip():
                    self.cookies[cookie_name.strip()] = cookie_value.strip()
                    self.requests.clear()
        framing = 0
        if chunked:
            pieces = []
            while True:
                size_line = await reader.readuntil(b"\r\n")
                size = int(size_line.split(b";", 1)[0], 16)
                framing += len(size_line) + 2
                if size == 0:
                    while (await reader.readuntil(b"\r\n")) != b"\r\n":
                        pass
                    break
                pieces.append((await reader.readexactly(size + 2))[:-2])
            body = b"".join(pieces)
        elif length is not None:
            body = await reader.readexactly(length) if length else b""
        else:
            body = await reader.read()
            close = True
        response = Response(status, pairs, body, len(head))
        response.wire_bytes = len(head) + len(body) + framing
        if close:
            self.close()
        return response


# --------------------------------------------------------------------------- CPU accounting


def process_cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process, from /proc (Linux only; None elsewhere)."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = data.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_ticks() -> tuple[int, int] | None:
    """(busy, total) jiffies over all cores, from /proc/stat."""
    try:
        first = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    values = [int(v) for v in first[1:9]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


# --------------------------------------------------------------------------- load generator


def percentile(sorted_values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile of an already sorted list, rounded to the microsecond."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return round(sorted_values[rank - 1], 3)


async def load(spec: dict[str, Any]) -> dict[str, Any]:
    """Closed-loop load: `concurrency` clients, each sending its next request on receipt.

    A warm-up (not recorded), then a measured window that ends after `duration` seconds or
    `requests` responses, whichever comes first; in-flight requests are then abandoned.
    """
    port = spec["port"]
    path = spec["path"]
    concurrency = spec["concurrency"]
    limit = spec.get("requests") or 0
    headers = dict(BROWSER_HEADERS)
    latencies: list[int] = []
    counters = {"errors": 0, "non_200": 0, "bytes": 0}
    state = {"recording": False, "stop": False}
    done = asyncio.Event()
    clock = time.perf_counter_ns

    async def client() -> None:
        connection = Connection(port, keep_cookies=spec["cookies"])
        connection.cookies.update(spec.get("initial_cookies", {}))
        while not state["stop"]:
            started = clock()
            try:
                response = await connection.get(path, headers)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, HTTPError):
                connection.close()
                if state["recording"]:
                    counters["errors"] += 1
                await asyncio.sleep(0.01)
                continue
            elapsed = clock() - started
            if state["recording"]:
                latencies.append(elapsed)
                counters["bytes"] += response.wire_bytes
                if response.status != 200:
                    counters["non_200"] += 1
                if limit and len(latencies) >= limit:
                    done.set()
        connection.close()

    tasks = [asyncio.create_task(client()) for _ in range(concurrency)]
    await asyncio.sleep(spec["warmup"])
    server_cpu_0 = process_cpu_seconds(spec["server_pid"])
    machine_0 = machine_cpu_ticks()
    client_cpu_0 = time.process_time()
    started = time.perf_counter()
    state["recording"] = True
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), timeout=spec["duration"])
    state["recording"] = False
    elapsed = time.perf_counter() - started
    client_cpu = time.process_time() - client_cpu_0
    server_cpu_1 = process_cpu_seconds(spec["server_pid"])
    machine_1 = machine_cpu_ticks()
    state["stop"] = True
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

    count = len(latencies)
    ms = sorted(value / 1e6 for value in latencies)
    server_cpu = None
    if server_cpu_0 is not None and server_cpu_1 is not None:
        server_cpu = server_cpu_1 - server_cpu_0
    machine_busy = None
    if machine_0 and machine_1 and machine_1[1] > machine_0[1]:
        machine_busy = (machine_1[0] - machine_0[0]) / (machine_1[1] - machine_0[1])
    return {
        "concurrency": concurrency,
        "requests": count,
        "errors": counters["errors"],
        "non_200": counters["non_200"],
        "seconds": round(elapsed, 3),
        "rps": round(count / elapsed, 1) if elapsed else None,
        "latency_ms": {
            "p50": percentile(ms, 50),
            "p95": percentile(ms, 95),
            "p99": percentile(ms, 99),
            "mean": round(sum(ms) / count, 3) if count else None,
            "max": round(ms[-1], 3) if ms else None,
        },
        "bytes_received_per_request": round(counters["bytes"] / count) if count else None,
        "cpu": {
            "server_seconds": round(server_cpu, 2) if server_cpu is not None else None,
            "server_ms_per_request": (
                round(server_cpu * 1000 / count, 3) if server_cpu is not None and count else None
            ),
            "server_share_of_one_core": (
                round(server_cpu / elapsed, 2) if server_cpu is not None and elapsed else None
            ),
            "load_generator_seconds": round(client_cpu, 2),
            "load_generator_share_of_one_core": round(client_cpu / elapsed, 2) if elapsed else None,
            "machine_busy_all_cores": round(machine_busy, 2) if machine_busy is not None else None,
            "other_processes_cores_incl_postgres": (
                round(
                    machine_busy * (os.cpu_count() or 1)
                    - server_cpu / elapsed
                    - client_cpu / elapsed,
                    2,
                )
                if machine_busy is not None and server_cpu is not None and elapsed
                else None
            ),
        },
    }


def loadgen_main(raw_spec: str) -> int:
    spec = json.loads(raw_spec)
    result = asyncio.run(load(spec))
    print(json.dumps(result))
    return 0


def run_level(
    port: int,
    pid: int,
    path: str,
    concurrency: int,
    args: argparse.Namespace,
    initial_cookies: dict[str, str] | None = None,
) -> dict[str, Any]:
    spec = {
        "port": port,
        "server_pid": pid,
        "path": path,
        "concurrency": concurrency,
        "warmup": args.warmup,
        "duration": args.duration,
        "requests": args.requests,
        "cookies": not args.no_cookies,
        "initial_cookies": initial_cookies or {},
    }
    completed = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "_loadgen", json.dumps(spec)],
        stdout=subprocess.PIPE,
        timeout=args.warmup + args.duration + 60,
        check=True,
        text=True,
    )
    return json.loads(completed.stdout)


# --------------------------------------------------------------------------- page weight


def decode(body: bytes, encoding: str | None) -> bytes:
    if encoding == "br":
        import brotli

        return brotli.decompress(body)
    if encoding == "gzip":
        return gzip.decompress(body)
    return body


async def fetch(port: int, path: str, encoding: str) -> Response:
    connection = Connection(port, keep_cookies=False)
    try:
        return await connection.get(path, {**BROWSER_HEADERS, "Accept-Encoding": encoding})
    finally:
        connection.close()


async def resource_weight(port: int, path: str) -> dict[str, Any]:
    """One URL fetched as a first visit with `br, gzip`, and also gzip-only and identity."""
    preferred = await fetch(port, path, BROWSER_HEADERS["Accept-Encoding"])
    if preferred.status != 200:
        raise RuntimeError(f"GET {path} answered {preferred.status}")
    encoding = preferred.header("content-encoding")
    gzip_only = await fetch(port, path, "gzip")
    identity = await fetch(port, path, "identity")
    decoded = decode(preferred.body, encoding)
    if decoded != identity.body and path != PAGE_PATH:  # the page has a per-visit CSRF token
        raise RuntimeError(f"{path}: decoded body differs from the identity body")
    return {
        "path": path,
        "status": preferred.status,
        "content_type": preferred.header("content-type"),
        "content_encoding": encoding or "identity",
        "compressed_body_bytes": len(preferred.body),
        "gzip_body_bytes": len(gzip_only.body)
        if gzip_only.header("content-encoding") == "gzip"
        else None,
        "uncompressed_body_bytes": len(identity.body),
        "response_header_bytes": preferred.head_bytes,
        "cache_control": preferred.header("cache-control"),
        "sets_cookies": [
            value.split("=", 1)[0] for name, value in preferred.headers if name == "set-cookie"
        ],
        "body": decoded,
    }


async def page_weight(port: int) -> dict[str, Any]:
    page = await resource_weight(port, PAGE_PATH)
    html = page.pop("body").decode("utf-8")
    if "Martign" not in html:
        raise RuntimeError(f"{PAGE_PATH} does not look like the demo AMAP page")
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)
    resources = [await resource_weight(port, asset) for asset in assets]
    for resource in resources:
        resource.pop("body")
    everything = [page, *resources]
    return {
        "page": page,
        "assets": resources,
        "first_load": {
            "resources": len(everything),
            "compressed_body_bytes": sum(r["compressed_body_bytes"] for r in everything),
            "compressed_bytes_with_response_headers": sum(
                r["compressed_body_bytes"] + r["response_header_bytes"] for r in everything
            ),
            "uncompressed_body_bytes": sum(r["uncompressed_body_bytes"] for r in everything),
        },
    }


# --------------------------------------------------------------------------- orchestration


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((TARGET_HOST, 0))
        return sock.getsockname()[1]


def python_for_servers() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


async def pg_execute(base_url: str, sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(f"{base_url}/postgres", timeout=10)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def wait_ready(port: int, path: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server on port {port} exited with {process.returncode}")
        try:
            response = asyncio.run(fetch(port, path, "identity"))
            if response.status == 200:
                return
        except (OSError, asyncio.IncompleteReadError, HTTPError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server on port {port} was not ready after {timeout} s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown (runs the lifespan end)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def background_load(seconds: float = 1.0) -> dict[str, Any]:
    """How busy the machine is without our load: other work skews every figure."""
    before = machine_cpu_ticks()
    time.sleep(seconds)
    after = machine_cpu_ticks()
    busy = None
    if before and after and after[1] > before[1]:
        busy = round((after[0] - before[0]) / (after[1] - before[1]), 2)
    try:
        load_average = [round(value, 2) for value in os.getloadavg()]
    except OSError:
        load_average = None
    return {"machine_busy_all_cores": busy, "load_average_1_5_15": load_average}


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in ("litestar", "uvicorn", "h11", "httptools", "uvloop", "jinja2", "piccolo"):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def summarise(levels: list[int], page: list[dict], bare: list[dict]) -> list[dict[str, Any]]:
    rows = []
    for concurrency, p, b in zip(levels, page, bare, strict=True):
        rows.append(
            {
                "concurrency": concurrency,
                "page_rps": p["rps"],
                "bare_rps": b["rps"],
                "page_over_bare_rps": round(p["rps"] / b["rps"], 3) if b["rps"] else None,
                "page_p50_ms": p["latency_ms"]["p50"],
                "page_p99_ms": p["latency_ms"]["p99"],
                "bare_p50_ms": b["latency_ms"]["p50"],
                "bare_p99_ms": b["latency_ms"]["p99"],
                "page_server_cpu_ms_per_request": p["cpu"]["server_ms_per_request"],
                "bare_server_cpu_ms_per_request": b["cpu"]["server_ms_per_request"],
                "page_over_bare_server_cpu": (
                    round(p["cpu"]["server_ms_per_request"] / b["cpu"]["server_ms_per_request"], 1)
                    if p["cpu"]["server_ms_per_request"] and b["cpu"]["server_ms_per_request"]
                    else None
                ),
            }
        )
    return rows


def bench(args: argparse.Namespace) -> dict[str, Any]:
    database = f"cc_bench_{os.getpid()}"
    started_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    var_dir = tempfile.mkdtemp(prefix="cc_bench_")
    processes: list[subprocess.Popen] = []
    created = False
    try:
        progress(f"creating database {database}")
        asyncio.run(pg_execute(args.pg, f'CREATE DATABASE "{database}"'))
        created = True
        app_port, bare_port = free_port(), free_port()
        while bare_port == app_port:
            bare_port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": f"{args.pg}/{database}",
            "VAR_DIR": var_dir,
            "HOST": TARGET_HOST,
            "LOG_LEVEL": "WARNING",
            "BASE_URL": f"http://localhost:{app_port}",
            "PYTHONUNBUFFERED": "1",
        }
        for name in ("INSTANCES", "REDIS_URL", "SMTP_URL", "SECRET_KEY"):
            env.pop(name, None)
        python = python_for_servers()
        for command in ("migrate", "seed-demo"):
            progress(f"app.py {command}")
            subprocess.run(
                [python, "app.py", command],
                cwd=ROOT,
                env=env,
                check=True,
                stdout=sys.stderr,
                timeout=120,
            )
        progress(f"starting app.py serve on {TARGET_HOST}:{app_port}")
        app_process = subprocess.Popen(
            [python, "app.py", "serve"],
            cwd=ROOT,
            env={**env, "PORT": str(app_port)},
            stdout=sys.stderr,
        )
        processes.append(app_process)
        progress(f"starting bench/bare_app.py on {TARGET_HOST}:{bare_port}")
        bare_process = subprocess.Popen(
            [python, str(BENCH / "bare_app.py")],
            cwd=ROOT,
            env={**env, "PORT": str(bare_port)},
            stdout=sys.stderr,
        )
        processes.append(bare_process)
        wait_ready(app_port, "/healthz", app_process)
        wait_ready(bare_port, BARE_PATH, bare_process)

        progress("measuring the background load (servers idle, 1 s)")
        background = background_load()
        progress(f"  {background}")
        progress("measuring the page weight")
        weight = asyncio.run(page_weight(app_port))

        results: dict[str, list[dict]] = {"page": [], "bare": []}
        targets = (
            ("page", app_port, app_process.pid, PAGE_PATH),
            ("bare", bare_port, bare_process.pid, BARE_PATH),
        )
        for name, port, pid, path in targets:
            for concurrency in args.concurrency:
                progress(f"{name} {path}: {concurrency} concurrent client(s)")
                result = run_level(port, pid, path, concurrency, args)
                progress(
                    f"  {result['rps']} rps, p50 {result['latency_ms']['p50']} ms, "
                    f"p99 {result['latency_ms']['p99']} ms, errors {result['errors']}, "
                    f"non-200 {result['non_200']}"
                )
                results[name].append(result)

        sessions = Path(var_dir) / "sessions"
        session_files = sum(1 for _ in sessions.iterdir()) if sessions.is_dir() else 0
        return {
            "benchmark": "circuit-court http_bench",
            "note": (
                f"Load generator and servers share this machine's {os.cpu_count()} cores "
                "(and PostgreSQL runs on it too): figures are a lower bound of what the "
                "server alone could do; see each level's cpu block for who used what, and "
                "background_load_before_levels for other work on the machine. uvicorn runs "
                "one process (one event loop, so at most one core of Python): "
                "server_ms_per_request (server CPU time / responses) is the steadiest figure "
                "when the machine is shared."
            ),
            "started": started_at,
            "environment": {
                "cpu_count": os.cpu_count(),
                "python": platform.python_version(),
                "packages": versions(),
                "uvicorn_options": "uvicorn.run(log_level='warning', proxy_headers=True), "
                "defaults otherwise (1 worker, loop=auto, http=auto)",
                "database": "PostgreSQL (fresh database, demo data)",
            },
            "settings": {
                "warmup_seconds": args.warmup,
                "duration_seconds": args.duration,
                "requests_per_level": args.requests,
                "concurrency": args.concurrency,
                "client": "raw asyncio sockets, HTTP/1.1 keep-alive, one connection per client, "
                "closed loop, in its own process",
                "request_headers": BROWSER_HEADERS,
                "cookies_kept": not args.no_cookies,
            },
            "background_load_before_levels": background,
            "page_weight": weight,
            "targets": {
                "page": {"url": f"http://{TARGET_HOST}:{app_port}{PAGE_PATH}"},
                "bare": {"url": f"http://{TARGET_HOST}:{bare_port}{BARE_PATH}"},
            },
            "results": results,
            "app_session_files_after_run": session_files,
            "summary": summarise(args.concurrency, results["page"], results["bare"]),
        }
    finally:
        for process in processes:
            stop(process)
        if created:
            progress(f"dropping database {database}")
            try:
                asyncio.run(
                    pg_execute(args.pg, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
                )
            except Exception as error:  # noqa: BLE001 - report, then keep cleaning up
                progress(f"could not drop {database}: {error!r}")
        shutil.rmtree(var_dir, ignore_errors=True)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--duration", type=float, default=10.0, help="measured seconds per level (default 10)"
    )
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="unrecorded seconds before each level (default 2)"
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=None,
        help="stop a level after this many responses (still bounded by --duration)",
    )
    parser.add_argument(
        "--concurrency",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[1, 8, 32],
        help="comma-separated levels (default 1,8,32)",
    )
    parser.add_argument("--quick", action="store_true", help="--warmup 0.5 --duration 2")
    parser.add_argument(
        "--no-cookies",
        action="store_true",
        help="send no cookies back (every request is a first visit; default: keep them)",
    )
    parser.add_argument(
        "--pg", default=DEFAULT_PG, help=f"PostgreSQL server URL without database ({DEFAULT_PG})"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.warmup, args.duration = 0.5, 2.0
    if not all(1 <= level <= 1000 for level in args.concurrency):
        parser.error("concurrency levels must be between 1 and 1000")
    if args.duration <= 0 or args.duration > 600 or args.warmup < 0 or args.warmup > 60:
        parser.error("--duration must be in (0, 600] and --warmup in [0, 60]")
    return args


def main(argv: list[str]) -> int:
    if argv[:1] == ["_loadgen"]:
        return loadgen_main(argv[1])
    args = parse_args(argv)

    def terminate(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    report = bench(args)
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
