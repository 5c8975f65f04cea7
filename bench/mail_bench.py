"""Mail benchmark: a MESSAGERIE message to 10,000 members, and the scheduler's search.

Prints one JSON document:
- the time to queue a message to 10,000 members (one GroupMessage, 10,000 outbox rows);
- the send rate to a local SMTP server (aiosmtpd in its own process) with one and with
  two `dramatiq jobs.worker` processes over Redis, unthrottled (MAIL_RATE_PER_MINUTE=0),
  and with two workers held to MAIL_RATE_PER_MINUTE (the limit is shared through Redis);
  each run checks that the server received every mail exactly once;
- the time for the scheduler to find due reminders among 10,000 distributions, to queue
  them, and of a tick with nothing new (the steady state, every minute).

Needs PostgreSQL on 127.0.0.1:5432 (user postgres) and Redis on 127.0.0.1:6379 (database
12 is flushed). Never run as a test.

    .venv/bin/python bench/mail_bench.py --quick   # ~1 min: 2,000 mails per send run
    .venv/bin/python bench/mail_bench.py           # ~3 min: all 10,000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import http_bench  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379/12"
MEMBERS = 10_000
DISTRIBUTIONS = 10_000
SMTP_SERVER = """
import sys, threading, time
from aiosmtpd.controller import Controller

class Counter:
    def __init__(self, path):
        self.out = open(path, "a", buffering=1)
        self.lock = threading.Lock()
    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.out.write(rcpt + "\\n")
        return "250 OK"

controller = Controller(Counter(sys.argv[2]), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
try:
    while True:
        time.sleep(3600)
except KeyboardInterrupt:
    controller.stop()
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def seed_members(count: int) -> dict:
    from domain.demo import world

    author = await world.person("auteur@bench.test", "Ada", "", password=None)
    group = await world.group(author, "Marché du banc d'essai", "market")
    members = await world.people(
        count - 1, email="membre{i}@bench.test", first_name="Membre {i}", last_name=""
    )
    await world.join(group["id"], members)
    return {"group": group, "author": {"id": author, "email": "auteur@bench.test"}}


async def queue_message(world: dict) -> tuple[int, float, int]:
    from domain import messaging
    from domain.outbox import MailContext

    ctx = MailContext(instance="main", site_name="Banc d'essai", base_url="http://localhost")
    draft = messaging.Draft(
        subject="Distribution de samedi",
        body="Bonjour à tous,\n\n**Apportez vos sacs.** Programme : https://exemple.org/samedi",
        recipients="all",
    )
    started = time.perf_counter()
    message_id, reached = await messaging.send(world["group"], world["author"], draft, ctx)
    return message_id, time.perf_counter() - started, reached.total


async def reset_message(message_id: int, limit: int) -> list[int]:
    """The first `limit` mails of the message pending again, the others set aside."""
    from domain.tables import OutboxMail

    rows = (
        await OutboxMail.select(OutboxMail.id)
        .where(OutboxMail.message == message_id)
        .order_by(OutboxMail.id)
    )
    ids = [row["id"] for row in rows]
    keep, aside = ids[:limit], ids[limit:]
    await OutboxMail.update(
        {
            OutboxMail.state: "pending",
            OutboxMail.attempts: 0,
            OutboxMail.claimed_at: None,
            OutboxMail.sent_at: None,
        }
    ).where(OutboxMail.message == message_id)
    if aside:
        await OutboxMail.update({OutboxMail.state: "failed"}).where(
            (OutboxMail.message == message_id) & (OutboxMail.id > keep[-1])
        )
    return keep


async def count_sent(message_id: int) -> int:
    from domain.tables import OutboxMail

    return await OutboxMail.count().where(
        (OutboxMail.message == message_id) & (OutboxMail.state == "sent")
    )


def flush_redis() -> None:
    import redis

    client = redis.Redis.from_url(REDIS)
    client.flushdb()
    client.close()


def send_run(env: dict, message_id: int, n: int, workers: int, rate: int, received: Path) -> dict:
    """Start `workers` worker processes, enqueue the message's fan-out, wait for n sent."""
    from jobs import mail as mail_jobs

    flush_redis()
    asyncio.run(reset_message(message_id, n))
    received.write_text("")
    worker_env = {**env, "MAIL_RATE_PER_MINUTE": str(rate)}
    procs = [
        subprocess.Popen(
            [
                str(Path(sys.executable).parent / "dramatiq"),
                "jobs.worker",
                "--processes",
                "1",
                "--threads",
                "4",
            ],
            cwd=ROOT,
            env=worker_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(workers)
    ]
    try:
        time.sleep(3)  # workers booted (imports, connections) before the clock starts
        started = time.perf_counter()
        mail_jobs.enqueue_message(message_id)
        while True:
            sent = asyncio.run(count_sent(message_id))
            if sent >= n:
                break
            if any(p.poll() is not None for p in procs):
                raise RuntimeError("a worker stopped")
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
    finally:
        # Everything is sent: no need for a graceful stop.
        for proc in procs:
            os.killpg(proc.pid, signal.SIGKILL)
        for proc in procs:
            proc.wait(timeout=30)
    time.sleep(0.5)
    lines = [line for line in received.read_text().splitlines() if line]
    return {
        "workers": workers,
        "threads_per_worker": 4,
        "mail_rate_per_minute": rate or "sans limite",
        "mails": n,
        "seconds": round(elapsed, 2),
        "mails_per_second": round(n / elapsed, 1),
        "received_by_server": len(lines),
        "received_twice": len(lines) - len(set(lines)),
    }


async def seed_distributions(count: int, due: int, orders_each: int) -> None:
    """`count` distributions over a year in 100 groups; `due` of them start in the next
    24 h, each with `orders_each` validated orders."""
    from domain.demo import world

    now = datetime.now(UTC)
    admin = await world.person("admin@sched.test", "", "", password=None)
    users = await world.people(
        orders_each, email="client{i}@sched.test", first_name="", last_name=""
    )
    per_group = count // 100
    made = 0
    for g in range(100):
        group = (await world.group(admin, f"Groupe {g}"))["id"]
        catalog = await world.catalog(group, await world.producer(group, "Ferme"))
        basket = await world.product(catalog, "Panier", 1200)
        starts = []
        for index in range(made, made + per_group):
            if index < due:
                starts.append(now + timedelta(hours=1 + 22 * index / max(due, 1)))
            else:
                starts.append(now + timedelta(days=2 + (index % 365), hours=index % 24))
        ids = await world.distributions(group, await world.place(group), starts, catalogs=[catalog])
        for offset, dist_id in enumerate(ids):
            if made + offset < due:
                await world.orders(dist_id, {user: {basket: 1} for user in users})
        made += per_group


async def scheduler_figures() -> dict:
    from domain import notifications
    from domain.outbox import MailContext
    from domain.tables import Distribution

    ctx = {"main": MailContext(instance="main", site_name="Banc", base_url="http://localhost")}
    moment = datetime.now(UTC)
    started = time.perf_counter()
    due = await notifications.due_reminders(moment)
    openings = await notifications.due_openings(moment)
    find = time.perf_counter() - started
    started = time.perf_counter()
    queued = await notifications.queue_due(ctx, moment)
    first = time.perf_counter() - started
    started = time.perf_counter()
    again = await notifications.queue_due(ctx, moment + timedelta(seconds=60))
    steady = time.perf_counter() - started
    return {
        "distributions": await Distribution.count(),
        "due_for_24h_reminder": len(due["reminder_24h"]),
        "due_for_4h_reminder": len(due["reminder_4h"]),
        "with_orders_open": len(openings),
        "find_due_ms": round(find * 1000, 1),
        "first_tick_queued": len(queued),
        "first_tick_ms": round(first * 1000, 1),
        "next_tick_queued": len(again),
        "next_tick_ms": round(steady * 1000, 1),
    }


async def with_db(coro_fn, *args):
    from domain import database

    await database.prepare_engine()
    await database.start_pool()
    try:
        return await coro_fn(*args)
    finally:
        await database.close_pool()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    # Stopped from outside (timeout, Ctrl-C): still stop the workers and drop the database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    per_run = 2_000 if args.quick else MEMBERS
    throttled = 600 if args.quick else 2_000
    database = f"cc_mbench_{os.getpid()}"
    var_dir = tempfile.mkdtemp(prefix="cc_mbench_")
    received = Path(var_dir) / "received.txt"
    asyncio.run(http_bench.pg_execute(PG, f'CREATE DATABASE "{database}"'))
    smtp = None
    try:
        smtp_port = http_bench.free_port()
        env = {
            **os.environ,
            "DATABASE_URL": f"{PG}/{database}",
            "VAR_DIR": var_dir,
            "LOG_LEVEL": "WARNING",
            "BASE_URL": "http://localhost",
            "REDIS_URL": REDIS,
            "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
            "SECRET_KEY": "bench-secret-key-0123456789",
        }
        env.pop("INSTANCES", None)
        os.environ.update(env)
        subprocess.run(
            [sys.executable, "app.py", "migrate"],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        smtp = subprocess.Popen(
            [sys.executable, "-c", SMTP_SERVER, str(smtp_port), str(received)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert smtp.stdout.readline().strip() == "ready"

        from domain.settings import load_settings
        from jobs import broker

        broker.setup(load_settings())

        log(f"seeding {MEMBERS} members")
        world = asyncio.run(with_db(seed_members, MEMBERS))
        log("queuing one message to all of them")
        message_id, queue_seconds, count = asyncio.run(with_db(queue_message, world))
        results = {
            "message_to_members": {
                "recipients": count,
                "queue_seconds": round(queue_seconds, 2),
                "rows_per_second": round(count / queue_seconds),
            },
            "send": [],
        }
        for workers, rate, n in ((1, 0, per_run), (2, 0, per_run), (2, throttled, throttled)):
            log(f"sending {n} mails with {workers} worker(s), rate {rate or 'unlimited'}/min")
            results["send"].append(send_run(env, message_id, n, workers, rate, received))

        log(f"seeding {DISTRIBUTIONS} distributions")
        asyncio.run(with_db(seed_distributions, DISTRIBUTIONS, 100, 10))
        results["scheduler"] = asyncio.run(with_db(scheduler_figures))
        print(json.dumps(results, indent=2, ensure_ascii=False))
    finally:
        if smtp is not None:
            smtp.send_signal(signal.SIGINT)
            try:
                smtp.wait(timeout=10)
            except subprocess.TimeoutExpired:
                smtp.kill()
        flush_redis()
        asyncio.run(http_bench.pg_execute(PG, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
