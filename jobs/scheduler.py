"""The scheduler: every minute, queue the notifications that are due and enqueue them;
every hour, the prune step (what the platform keeps no longer, unused accounts warned then
deleted: `prune_step`).

    python app.py scheduler           # the Procfile's `scheduler` process
    python app.py scheduler --once    # one tick, then exit (cron, tests)

Each tick runs four areas: the notifications (orders open, reminders), the
permanences' mails (domain/duties/mails.py), the producers' order forms
(domain/order_forms/sending.py) and the default orders of variable AMAP contracts
(domain/contracts/variable.py), each deciding what is due at the moment it is given.

No lock, on purpose: exactly once comes from the outbox's unique keys
(`<kind>:<user>:<distribution>`), and for the order forms from their OrderForm row, claimed
by the INSERT or UPDATE that writes the form's mails in the same transaction. Two
schedulers at once compute the same due notifications; INSERT … ON CONFLICT DO NOTHING
lets one row per key in, and each scheduler enqueues only the rows it inserted itself. A
lock would only save the duplicate work, and a lock held by a dead process is one more
thing to go wrong.
Windows (domain/notifications.py) make a late tick skip what is no longer useful, so a
scheduler back after two hours sends what is still due and nothing stale.

Without Redis the web process runs the same tick in its own loop (app.py), since an
in-memory broker's messages cannot reach another process.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime

from domain import notifications, retention
from domain.contracts import variable as contract_defaults
from domain.duties import mails as duty_mails
from domain.kernel import clock
from domain.order_forms import sending as order_forms
from domain.outbox import MailContext
from domain.payments import ledger
from domain.privacy import inactivity
from domain.settings import Settings
from jobs import broker as jobs_broker

log = logging.getLogger("jobs.scheduler")
INTERVAL = 60.0
PRUNE_EVERY = 3600.0
_last_prune: float | None = None


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

    sites = contexts(jobs_broker.settings())
    ids = await notifications.queue_due(sites, moment)
    ids += await duty_mails.queue_due(sites, moment)
    ids += await order_forms.queue_due(sites, moment)
    # Variable AMAP contracts: the default order told before the closing, applied after.
    ids += await contract_defaults.queue_notices(sites, moment)
    await contract_defaults.apply_defaults(moment)
    # The ledger's safety net: a validation record no validation used (each used once).
    await ledger.sweep_validations()
    mail_jobs.enqueue(ids)
    if ids:
        log.info("%s notification(s) mise(s) en file", len(ids))
    # Escarcelle: the hourly stock syncs, the sales to push and to retry (jobs/escarcelle.py);
    # the mails above are queued whatever Escarcelle does.
    try:
        from jobs import escarcelle as escarcelle_jobs

        await escarcelle_jobs.tick(moment or clock.now())
    except Exception:  # noqa: BLE001 - the next minute is another chance
        log.exception("tour Escarcelle du planificateur impossible")
    return len(ids)


async def prune_step(settings: Settings, moment: datetime | None = None) -> dict[str, int]:
    """Delivered mails, dead links, old form keys and sessions deleted; unused accounts
    warned, their groups' admins told (Mode création), or deleted. Idempotent, and safe in
    two schedulers at once: each mail once, each account deleted once (the privacy area's
    notices and outbox keys are unique). Returns what it did, by kind."""
    from jobs import mail as mail_jobs

    moment = moment or clock.now()
    done = await retention.prune(moment, settings.retention_days)
    pruned = await inactivity.prune_inactive(
        contexts(settings), moment, settings.inactive_account_days
    )
    mail_jobs.enqueue(pruned.mail_ids or [])
    done |= {
        "accounts_warned": pruned.warned,
        "admins_told": pruned.admins_told,
        "accounts_deleted": pruned.deleted,
    }
    if pruned.warned or pruned.admins_told or pruned.deleted:
        log.info("comptes inutilisés : %s", done)
    return done


async def prune_due(settings: Settings, *, force: bool = False) -> dict[str, int] | None:
    """The prune step if an hour passed since this process last ran it (or `force`)."""
    global _last_prune
    if not force and _last_prune is not None and time.monotonic() - _last_prune < PRUNE_EVERY:
        return None
    _last_prune = time.monotonic()
    return await prune_step(settings)


async def _sweep() -> None:
    """The outbox's sweep: nothing else may run it when no web process is up."""
    from jobs import mail as mail_jobs

    mail_jobs.sweep_outbox.send()


async def run(once: bool = False) -> None:
    from domain import database

    await database.prepare_engine()
    await database.start_pool()
    try:
        while True:
            started = time.monotonic()
            # Each step on its own: a tick that fails (a busy database) must not skip the
            # prune or the sweep; the next minute is another chance for the one that failed.
            for name, step in (
                ("tour", tick),
                ("nettoyage", lambda: prune_due(jobs_broker.settings(), force=once)),
                ("balayage", _sweep),
            ):
                try:
                    await step()
                except Exception:  # noqa: BLE001 - the next minute is another chance
                    log.exception("planificateur : %s en échec", name)
            if once:
                return
            await asyncio.sleep(max(1.0, INTERVAL - (time.monotonic() - started)))
    finally:
        await database.close_pool()


async def start(settings: Settings, once: bool = False) -> None:
    """`python app.py scheduler`: the broker first (actors are declared on it), then ticks."""
    jobs_broker.setup(settings)
    if not settings.redis_url:
        log.warning(
            "REDIS_URL absent : les e-mails mis en file ici partiront au prochain "
            "balayage d'un processus web (qui fait aussi ce travail sans Redis)."
        )
    from jobs import mail  # noqa: F401  (actors are declared on the broker set above)

    await run(once=once)
