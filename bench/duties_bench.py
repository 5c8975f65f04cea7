"""Permanences and order forms on PostgreSQL. Never run as a test.

Prints one JSON document:
- `calendar`: the members' calendar of a group with 52 coming distributions × 5 roles
  (two of them a catalog's, 300 members, half the places taken), and the admins' page of
  one day, requested from a real server (`app.py serve`) over HTTP by a logged-in member
  (resp. admin): p50/p95, the server process's CPU per request (utime + stime from /proc),
  the page's weight; and their SQL queries, counted in-process around the real app, with
  4 and with 52 distributions (they must be equal);
- `order_form`: the order form of a catalog of 200 products ordered by 300 members
  (10 lines each, 3,000 lines), as the scheduler sends it: the time and CPU of the tick
  that builds and queues it (`order_forms.sending.queue_due`), its SQL queries, the
  minute after (nothing new: the cost of each minute), and the mail's size (text, HTML,
  CSV, and the whole message as the mailer writes it).

    .venv/bin/python bench/duties_bench.py [--quick] [--pg postgresql://postgres@127.0.0.1:5432]
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
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import http_bench  # noqa: E402
from recap_bench import PHONE, QueryCounter, percentile  # noqa: E402

PASSWORD = "motdepasse-solide"
DISTRIBUTIONS = 52
ROLES = 5
MEMBERS = 300
PRODUCTS = 200
LINES_PER_MEMBER = 10


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def seed() -> dict:
    from domain.demo import world
    from domain.kernel import clock
    from domain.tables import DutySignup, OrderLine, Vendor

    now = clock.now()
    admin = await world.person("admin@bench.test", "Adèle", "Admin", password=PASSWORD)
    member = await world.person("membre@bench.test", "Mia", "Membre", password=PASSWORD)
    people = await world.people(MEMBERS - 1, email="m{i}@bench.test", first_name="Prénom{i}")
    out: dict = {}

    async def calendar_group(name: str, count: int) -> dict:
        """A group with `count` weekly distributions, two catalogs, five roles (two of
        them a catalog's), 300 members, about half the places taken."""
        group = await world.group(admin, name)
        gid = group["id"]
        place = await world.place(gid, "Halle")
        await world.join(gid, [member, *people])
        first = now + timedelta(days=2)
        dists = await world.distributions(
            gid, place, [first + timedelta(days=7 * n) for n in range(count)]
        )
        vegetables = await world.catalog(gid, await world.producer(gid, "Ferme"), delivers=dists)
        cheese = await world.catalog(
            gid, await world.producer(gid, "Fromagerie"), "Fromages", delivers=dists[::2]
        )
        await world.duty_settings(gid, open_days=400, instructions="Les clés sont chez Paul.")
        roles = [
            await world.duty_role(gid, "Accueil", 3),
            await world.duty_role(gid, "Caisse", 2, position=1),
            await world.duty_role(gid, "Rangement", 2, position=2),
            await world.duty_role(
                gid, "Distribution des légumes", 2, catalog=vegetables, position=3
            ),
            await world.duty_role(gid, "Distribution des fromages", 1, catalog=cheese, position=4),
        ]
        assert len(roles) == ROLES
        cursor = 0
        for dist in dists:
            for role, taken in zip(roles, (2, 1, 1, 1, 0), strict=True):
                await world.volunteers(role, dist, people[cursor : cursor + taken])
                cursor = (cursor + taken) % (len(people) - 5)
        return {"slug": group["slug"], "day": dists[0], "group": gid}

    out["calendar"] = await calendar_group("AMAP du banc", DISTRIBUTIONS)
    out["small"] = await calendar_group("AMAP du petit banc", 4)
    log(
        f"  calendrier : {DISTRIBUTIONS} distributions × {ROLES} rôles, "
        f"{await DutySignup.count()} bénévoles en tout, {MEMBERS} membres"
    )

    # The order form: 200 products × 300 members, orders closed a minute ago.
    market = await world.group(admin, "Marché du banc", "market")
    mid = market["id"]
    hall = await world.place(mid, "Halle")
    dist = await world.distribution(
        mid, hall, now + timedelta(hours=23), closes_at=now - timedelta(minutes=1)
    )
    farm = await world.producer(mid, "Grande ferme")
    await Vendor.update({Vendor.email: "ferme@bench.test"}).where(Vendor.id == farm)
    catalog = await world.catalog(mid, farm, "Tout", delivers=[dist])
    products = await world.products(catalog, PRODUCTS, unit="kg", reference="EAN{i:013d}")
    buyers = await world.people(
        MEMBERS, email="c{i}@bench.test", first_name="Client{i}", last_name="Nom{i:04d}"
    )
    await world.join(mid, buyers)
    await world.orders(
        dist,
        {
            b: {
                products[(n * 7 + k * 13) % PRODUCTS]: 1 + (n + k) % 4
                for k in range(LINES_PER_MEMBER)
            }
            for n, b in enumerate(buyers)
        },
        validated_at=now,
    )
    out["order_form"] = {"catalog": catalog, "distribution": dist}
    log(
        f"  bon de commande : {PRODUCTS} produits, {MEMBERS} adhérents, "
        f"{await OrderLine.count().where(OrderLine.product.catalog == catalog)} lignes"
    )
    await OrderLine.raw("ANALYZE")
    return out


async def login(client, email: str) -> None:
    await client.get("/connexion")
    response = await client.post(
        "/connexion",
        data={"email": email, "password": PASSWORD, "_csrf_token": client.cookies["csrftoken"]},
    )
    assert response.status_code in (200, 303), response.status_code


async def calendar_queries(world: dict) -> dict:
    """The pages' SQL queries for the group of 52 distributions and for the one of 4,
    counted around the real app (they must be equal)."""
    from litestar.testing import AsyncTestClient

    from app import create_app
    from domain.settings import load_settings

    app = create_app(load_settings(), background=False)
    out: dict = {}
    async with AsyncTestClient(app=app, base_url="http://localhost") as client:
        for label, key in (("52_distributions", "calendar"), ("4_distributions", "small")):
            slug, day = world[key]["slug"], world[key]["day"]
            counts = {}
            for email, name, url in (
                ("membre@bench.test", "calendrier", f"/g/{slug}/permanences"),
                ("admin@bench.test", "jour_admin", f"/g/{slug}/permanences/{day}"),
            ):
                client.cookies.clear()
                await login(client, email)
                seen = []
                for _ in range(2):
                    with QueryCounter() as counter:
                        response = await client.get(url)
                    assert response.status_code == 200, (url, response.status_code)
                    seen.append(counter.count)
                counts[name] = min(seen)
            out[label] = counts
    return out


def calendar_over_http(port: int, pid: int, world: dict, repeats: int) -> dict:
    import httpx

    slug, day = world["calendar"]["slug"], world["calendar"]["day"]
    out = {}
    for email, name, url in (
        ("membre@bench.test", "calendrier_52_distributions_5_roles", f"/g/{slug}/permanences"),
        ("admin@bench.test", "jour_admin_300_membres", f"/g/{slug}/permanences/{day}"),
    ):
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=PHONE, timeout=60) as c:
            c.get("/connexion")
            c.post(
                "/connexion",
                data={"email": email, "password": PASSWORD, "_csrf_token": c.cookies["csrftoken"]},
            )
            for _ in range(3):
                assert c.get(url).status_code == 200
            times = []
            cpu_before = http_bench.process_cpu_seconds(pid)
            for _ in range(repeats):
                started = time.perf_counter()
                response = c.get(url)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200
            cpu_after = http_bench.process_cpu_seconds(pid)
            raw = c.get(url, headers={"Accept-Encoding": "identity"})
            out[name] = {
                "p50_ms": percentile(times, 50),
                "p95_ms": percentile(times, 95),
                "server_cpu_ms_per_request": round((cpu_after - cpu_before) * 1000 / repeats, 1)
                if cpu_before is not None and cpu_after is not None
                else None,
                "html_bytes": len(raw.content),
                "compressed_bytes": int(response.headers.get("content-length") or 0)
                or len(response.content),
                "cards": raw.text.count('class="card duty-day'),
            }
            log(f"  {name}: {out[name]}")
    return out


async def order_form(world: dict) -> dict:
    from connectors.mailer import Attachment, OutgoingMail, _message
    from domain.kernel import clock
    from domain.order_forms import sending
    from domain.settings import load_settings
    from domain.tables import OutboxMail
    from jobs.scheduler import contexts

    sites = contexts(load_settings())
    moment = clock.now()
    with QueryCounter() as counter:
        cpu, started = time.process_time(), time.perf_counter()
        ids = await sending.queue_due(sites, moment)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert len(ids) == 1, ids
    with QueryCounter() as idle:
        idle_started = time.perf_counter()
        assert await sending.queue_due(sites, moment + timedelta(minutes=1)) == []
        idle_seconds = time.perf_counter() - idle_started
    row = await OutboxMail.select().where(OutboxMail.id == ids[0]).first()
    attachment = bytes(row["attachment"])
    message = _message(
        OutgoingMail(
            to=row["to_addr"],
            subject=row["subject"],
            text=row["body_text"],
            html=row["body_html"],
            from_name="Circuit Court",
            from_addr="noreply@bench.test",
            message_id="<1.bench@bench.test>",
            attachments=[Attachment(row["attachment_name"], attachment, "text/csv")],
        )
    )
    whole = message.as_string().encode()
    return {
        "tick_that_sends_seconds": round(seconds, 3),
        "tick_that_sends_cpu_seconds": round(cpu, 3),
        "tick_that_sends_sql_queries": counter.count,
        "tick_with_nothing_new_seconds": round(idle_seconds, 3),
        "tick_with_nothing_new_sql_queries": idle.count,
        "mail_text_bytes": len(row["body_text"].encode()),
        "mail_html_bytes": len(row["body_html"].encode()),
        "csv_bytes": len(attachment),
        "csv_rows": attachment.count(b"\r\n"),
        "whole_message_bytes": len(whole),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    args = parser.parse_args(argv)
    database = f"cc_dbench_{os.getpid()}"
    var_dir = tempfile.mkdtemp(prefix="cc_dbench_")
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

        async def in_process() -> dict:
            await start_pool()
            try:
                world = await seed()
                log("order form, in-process")
                result = {"order_form": await order_form(world)}
                log(f"  {result['order_form']}")
                log("queries per page, in-process")
                result["calendar_queries"] = await calendar_queries(world)
                log(f"  {result['calendar_queries']}")
                return world, result
            finally:
                await close_pool()

        world, result = asyncio.run(in_process())
        server = subprocess.Popen(
            [sys.executable, "app.py", "serve"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        http_bench.wait_ready(port, "/healthz", server)
        log("pages over HTTP")
        result["calendar"] = calendar_over_http(port, server.pid, world, 20 if args.quick else 60)
        result["note"] = (
            "PostgreSQL; 2 cores shared by the server, PostgreSQL, the client and other work: "
            "times are upper bounds, the server's CPU per request the steadier figure."
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
