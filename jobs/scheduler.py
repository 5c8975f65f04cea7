"""The scheduler: every minute, queue the notifications that are due and enqueue them.

    python -m jobs.scheduler           # the Procfile's `scheduler` process
    python -m jobs.scheduler --once    # one tick, then exit (cron, tests)

No lock, on purpose: exactly once comes from the outbox's unique keys
(`<kind>:<user>:<distribution>`). Two schedulers at once compute the same due
notifications; INSERT … ON CONFLICT DO NOTHING lets one row per key in, and each
scheduler enqueues only the rows it inserted itself. A lock would only save the
duplicate work, and a lock held by a dead process is one more thing to go wrong.
Windows (domain/notifications.py) make a late tick skip what is no longer useful, so a
scheduler back after two hours sends what is still due and nothing stale.

Without Redis the web process runs the same tick in its own loop (app.py), since an
in-memory broker's messages cannot reach another process.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from datetime import datetime

from domain import notifications
from domain.accounts import MailContext
from domain.settings import Settings
from jobs import broker as jobs_broker

log = logging.getLogger("jobs.scheduler")
INTERVAL = 60.0


def contexts(settings: Settings) -> dict[str, MailContext]:
    return {
        instance.key: MailContext(
            instance=instance.key, site_name=instance.name, base_url=instance.url
        )
        for instance in settings.instances
    }


async def tick(moment: datetime | None = None) -> int:
    """Queue what is due at `moment` (now by default) and enqueue it; returns how many."""
    from jobs import mail as mail_jobs

    ids = await notifications.queue_due(contexts(jobs_broker.settings()), moment)
    mail_jobs.enqueue(ids)
    if ids:
        log.info("%s notification(s) mise(s) en file", len(ids))
    return len(ids)


async def run(once: bool = False) -> None:
    from domain import database
    from jobs import mail as mail_jobs

    await database.prepare_engine()
    await database.start_pool()
    try:
        while True:
            started = time.monotonic()
            try:
                await tick()
                # The sweep too: nothing else may run it when no web process is up.
                mail_jobs.sweep_outbox.send()
            except Exception:  # noqa: BLE001 - the next minute is another chance
                log.exception("tour du planificateur en échec")
            if once:
                return
            await asyncio.sleep(max(1.0, INTERVAL - (time.monotonic() - started)))
    finally:
        await database.close_pool()


def main(argv: list[str]) -> int:
    from domain.settings import SettingsError, load_settings

    parser = argparse.ArgumentParser(prog="python -m jobs.scheduler")
    parser.add_argument("--once", action="store_true", help="un seul tour, puis s'arrêter")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"Configuration invalide : {error}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    jobs_broker.setup(settings)
    if not settings.redis_url:
        log.warning(
            "REDIS_URL absent : les e-mails mis en file ici partiront au prochain "
            "balayage d'un processus web (qui fait aussi ce travail sans Redis)."
        )
    from jobs import mail  # noqa: F401  (actors are declared on the broker set above)

    asyncio.run(run(once=args.once))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
