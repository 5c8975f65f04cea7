"""Wires the app together; `python app.py <command>` runs the command line (cli.py).

`app` (for `uvicorn app:app`) is built on first access from the environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.datastructures import CacheControlHeader
from litestar.middleware import DefineMiddleware
from litestar.plugins.htmx import HTMXConfig, HTMXPlugin
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from cli import Commands
from domain import database
from domain.kernel import cpu
from domain.kernel.filters import FILTERS
from domain.settings import Settings, load_settings
from web import (
    accounts,
    calendars,
    catalog_orders,
    catalogs,
    communications,
    distributions,
    duties,
    errors,
    escarcelle,
    groups,
    health,
    help,
    members,
    messaging,
    order_forms,
    ordering,
    payments,
    privacy,
    producer_space,
    producers,
    subscriptions,
)
from web.access import Policy, policy, policy_guard
from web.csrf import BoundCSRFMiddleware
from web.edge import InputGuard
from web.headers import SecurityHeadersMiddleware
from web.observability import RequestLogMiddleware, configure_logging
from web.routing import InstanceMiddleware
from web.sessions import SessionMiddleware

ROOT = Path(__file__).resolve().parent
STATIC = ROOT / "static"
TEMPLATES = ROOT / "web" / "templates"
log = logging.getLogger("app")

# Cacheable responses carry no cookie (shared caches refuse to store those); nor do the
# calendar feeds, which calendar apps fetch without a session (web/calendars.py).
NO_COOKIES = [
    "^/static/",
    "^/photos/",
    "^/healthz$",
    "^/favicon.ico$",
    r"^/g/[^/]+/calendrier(\.ics$|/[^/]+\.ics$)",
]


def static_versions() -> dict[str, str]:
    """A content hash per static file, for URLs that can be cached for a year."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        for path in STATIC.iterdir()
        if path.is_file()
    }


def compression_config() -> CompressionConfig:
    """Brotli, gzip for clients without it; bench/memory_app.py serves with the same."""
    return CompressionConfig(backend="brotli", brotli_gzip_fallback=True, minimum_size=500)


def create_app(settings: Settings | None = None, *, background: bool = True) -> Litestar:
    """`background=False` (tests): no periodic sweep; tests run its steps themselves."""
    settings = settings or load_settings()
    configure_logging(settings.log_level)
    for warning in settings.mail_warnings():
        log.warning("e-mails : %s", warning)
    cpu.configure(settings.cpu_threads)

    from jobs import broker as jobs_broker

    broker = jobs_broker.setup(settings)
    from jobs import mail as mail_jobs

    versions = static_versions()

    def static_url(name: str) -> str:
        return f"/static/{name}?v={versions.get(name, '0')}"

    def configure_templates(engine: JinjaTemplateEngine) -> None:
        engine.engine.globals["static"] = static_url
        engine.engine.filters.update(FILTERS)
        engine.engine.globals["settings"] = settings

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await database.prepare_engine()
        await database.start_pool()
        worker = None
        if jobs_broker.is_in_process():
            from dramatiq import Worker

            worker = Worker(broker, worker_threads=2, worker_timeout=100)
            worker.start()
        sweeper = asyncio.create_task(_sweep_forever(mail_jobs)) if background else None
        try:
            yield
        finally:
            if sweeper is not None:
                sweeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sweeper
            if worker is not None:
                await asyncio.to_thread(worker.stop)
            await database.close_pool()

    secure = settings.base_url.startswith("https://")

    app = Litestar(
        route_handlers=[
            *accounts.handlers,
            *groups.handlers,
            *health.handlers,
            *producers.handlers,
            *distributions.handlers,
            *calendars.handlers,
            *duties.handlers,
            *catalogs.handlers,
            *ordering.handlers,
            *subscriptions.handlers,
            *catalog_orders.handlers,
            *order_forms.handlers,
            *members.handlers,
            *messaging.handlers,
            *payments.handlers,
            *communications.handlers,
            *privacy.handlers,
            *help.handlers,
            *producer_space.handlers,
            *escarcelle.handlers,
            create_static_files_router(
                path="/static",
                directories=[STATIC],
                cache_control=CacheControlHeader(max_age=31_536_000, public=True),
                opt=policy(Policy.ANONYMOUS),
            ),
        ],
        guards=[policy_guard],
        # Sessions first: the CSRF check binds a logged-in session's token to its key.
        middleware=[
            DefineMiddleware(SessionMiddleware, secure=secure, exclude=NO_COOKIES),
            DefineMiddleware(
                BoundCSRFMiddleware,
                config=CSRFConfig(
                    secret=settings.secret_key,
                    cookie_secure=secure,
                    cookie_httponly=False,
                    exclude=NO_COOKIES,
                ),
            ),
        ],
        template_config=TemplateConfig(
            directory=TEMPLATES, engine=JinjaTemplateEngine, engine_callback=configure_templates
        ),
        compression_config=compression_config(),
        plugins=[HTMXPlugin(HTMXConfig(set_request_class_globally=True)), Commands()],
        exception_handlers={Exception: errors.error_handler},
        lifespan=[lifespan],
        logging_config=None,
        debug=False,
    )
    app.state.settings = settings
    # Outside the router, so that every request (no matching route, wrong method, CSRF
    # refusal) is tied to its instance and logged with its request id; and bytes no
    # handler may see (NUL, invalid UTF-8) refused before any of it.
    app.asgi_handler = SecurityHeadersMiddleware(
        InputGuard(InstanceMiddleware(RequestLogMiddleware(app.asgi_handler), settings)),
        https=secure,
    )
    return app


async def _sweep_forever(mail_jobs, interval: float = 60.0) -> None:
    """At start and then periodically: enqueue mails a crash or restart left pending, and
    give back the stock of baskets never validated once orders closed. Both are safe to
    run in several web processes at once (conditional updates). Without Redis, also the
    scheduler's tick (due notifications; unique keys make it safe to run twice)."""
    from domain.ordering.changes import release_abandoned_baskets
    from jobs import broker as jobs_broker
    from jobs import scheduler

    while True:
        if jobs_broker.is_in_process():
            try:
                await scheduler.tick()
                await scheduler.prune_due(jobs_broker.settings())
            except Exception:  # noqa: BLE001
                log.exception("tour du planificateur impossible")
        try:
            await asyncio.to_thread(mail_jobs.sweep_outbox.send)
        except Exception:  # noqa: BLE001 - a broker hiccup must not kill the web process
            log.exception("balayage de la boîte d'envoi impossible")
        try:
            released = await release_abandoned_baskets()
            if released:
                log.info("%s panier(s) non validé(s) libéré(s)", released)
        except Exception:  # noqa: BLE001
            log.exception("libération des paniers impossible")
        await asyncio.sleep(interval)


def __getattr__(name: str):
    if name == "app":
        instance = create_app()
        globals()["app"] = instance
        return instance
    raise AttributeError(name)


if __name__ == "__main__":
    from cli import main

    sys.exit(main(sys.argv[1:]))
