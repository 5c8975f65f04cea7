"""Wires the app together, and the command line: serve, migrate, seed-demo.

`app` (for `uvicorn app:app`) is built on first access from the environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from litestar import Litestar, Request, Response
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.plugins.htmx import HTMXPlugin
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.stores.file import FileStore
from litestar.template.config import TemplateConfig

from domain import database
from domain.ordering import euros
from domain.settings import Settings, SettingsError, load_settings
from web import (
    accounts,
    catalog_orders,
    catalogs,
    communications,
    contracts,
    distributions,
    groups,
    health,
    members,
    messaging,
    ordering,
    producer_space,
    producers,
)
from web.access import Policy, login_url, policy, policy_guard
from web.observability import RequestLogMiddleware, configure_logging
from web.routing import UNKNOWN_HOST_PAGE, InstanceMiddleware
from web.sessions import AppSessionConfig

ROOT = Path(__file__).resolve().parent
STATIC = ROOT / "static"
TEMPLATES = ROOT / "web" / "templates"
log = logging.getLogger("app")

# Cacheable responses carry no cookie (shared caches refuse to store those).
NO_COOKIES = ["^/static/", "^/photos/", "^/healthz$"]

ERROR_TITLES = {
    400: "Requête invalide",
    403: "Accès refusé",
    404: "Page introuvable",
    405: "Action impossible",
    410: "Lien expiré",
    413: "Fichier trop volumineux",
    429: "Trop de requêtes",
    500: "Erreur du serveur",
}


def static_versions() -> dict[str, str]:
    """A content hash per static file, for URLs that can be cached for a year."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        for path in STATIC.iterdir()
        if path.is_file()
    }


def error_handler(request: Request, exc: Exception) -> Response:
    if "instance" not in request.state:
        # No route matched, so the instance middleware did not run: resolve the host here.
        settings = request.app.state.settings
        instance = settings.instance_for_host(request.headers.get("host", ""))
        if instance is None:
            return Response(UNKNOWN_HOST_PAGE, status_code=404, media_type="text/html")
        request.state.instance = instance
    if isinstance(exc, NotAuthorizedException):
        target = login_url(
            request.url.path + (f"?{request.url.query}" if request.url.query else "")
        )
        if request.headers.get("hx-request") == "true":
            return Response("", status_code=401, headers={"HX-Redirect": target})
        return Redirect(target, status_code=303)
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status >= 500:
        log.exception("erreur non gérée", exc_info=exc)
    detail = exc.detail if isinstance(exc, HTTPException) and status < 500 else ""
    if status == 403 and "CSRF" in str(detail):
        detail = "Le formulaire a expiré. Rechargez la page et recommencez."
    return Template(
        template_name="errors/error.html",
        context={"status": status, "title": ERROR_TITLES.get(status, "Erreur"), "detail": detail},
        status_code=status,
        media_type="text/html",
    )


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or load_settings()
    configure_logging(settings.log_level)

    from jobs import broker as jobs_broker

    broker = jobs_broker.setup(settings)
    from jobs import mail as mail_jobs

    versions = static_versions()

    def static_url(name: str) -> str:
        return f"/static/{name}?v={versions.get(name, '0')}"

    def configure_templates(engine: JinjaTemplateEngine) -> None:
        engine.engine.globals["static"] = static_url
        engine.engine.filters["euros"] = euros
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
        sweeper = asyncio.create_task(_sweep_forever(mail_jobs))
        try:
            yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            if worker is not None:
                await asyncio.to_thread(worker.stop)
            await database.close_pool()

    if settings.redis_url:
        from litestar.stores.redis import RedisStore

        session_store = RedisStore.with_client(url=settings.redis_url, namespace="sessions")
    else:
        session_store = FileStore(Path(settings.var_dir) / "sessions")
    secure = settings.base_url.startswith("https://")

    app = Litestar(
        route_handlers=[
            *accounts.handlers,
            *groups.handlers,
            *health.handlers,
            *producers.handlers,
            *distributions.handlers,
            *catalogs.handlers,
            *ordering.handlers,
            *contracts.handlers,
            *catalog_orders.handlers,
            *members.handlers,
            *messaging.handlers,
            *communications.handlers,
            *producer_space.handlers,
            create_static_files_router(
                path="/static",
                directories=[STATIC],
                cache_control=CacheControlHeader(max_age=31_536_000, public=True),
                opt=policy(Policy.ANONYMOUS),
            ),
        ],
        guards=[policy_guard],
        middleware=[
            AppSessionConfig(
                store="sessions",
                httponly=True,
                secure=secure,
                samesite="lax",
                max_age=30 * 86400,
                exclude=NO_COOKIES,
            ).middleware,
        ],
        stores={"sessions": session_store},
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_secure=secure,
            cookie_httponly=False,
            exclude=NO_COOKIES,
        ),
        template_config=TemplateConfig(
            directory=TEMPLATES, engine=JinjaTemplateEngine, engine_callback=configure_templates
        ),
        compression_config=CompressionConfig(
            backend="brotli", brotli_gzip_fallback=True, minimum_size=500
        ),
        plugins=[HTMXPlugin()],
        exception_handlers={Exception: error_handler},
        lifespan=[lifespan],
        logging_config=None,
        debug=False,
    )
    app.state.settings = settings
    # Outside the router, so that every request (no matching route, wrong method, CSRF
    # refusal) is tied to its instance and logged with its request id.
    app.asgi_handler = InstanceMiddleware(RequestLogMiddleware(app.asgi_handler), settings)
    return app


async def _sweep_forever(mail_jobs, interval: float = 60.0) -> None:
    """At start and then periodically: enqueue mails a crash or restart left pending, and
    give back the stock of baskets never validated once orders closed. Both are safe to
    run in several web processes at once (conditional updates). Without Redis, also the
    scheduler's tick (due notifications; unique keys make it safe to run twice)."""
    from domain.ordering import release_abandoned_baskets
    from jobs import broker as jobs_broker
    from jobs import scheduler

    while True:
        if jobs_broker.is_in_process():
            try:
                await scheduler.tick()
            except Exception:  # noqa: BLE001
                log.exception("tour du planificateur impossible")
        try:
            mail_jobs.sweep_outbox.send()
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


async def migrate() -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    response = await run_forwards(app_name="domain", migration_id="all", fake=False)
    if not response.success:
        raise SystemExit(f"Échec des migrations : {response.message}")


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "serve"
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"Configuration invalide : {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    if command == "migrate":
        asyncio.run(migrate())
        return 0
    if command == "seed-demo":
        from domain.demo import seed_demo

        created = asyncio.run(seed_demo())
        print(created)
        return 0
    if command == "serve":
        import uvicorn

        port = int(os.environ.get("PORT", "8000"))
        host = os.environ.get("HOST", "127.0.0.1")
        instance = settings.default_instance
        print(f"\n  {instance.name} : {instance.url}/\n", flush=True)
        uvicorn.run("app:app", host=host, port=port, log_level="warning", proxy_headers=True)
        return 0
    if command in ("migrate-groups", "migrated-groups"):
        from domain.instances import run_command

        return asyncio.run(run_command(command, argv[1:], settings.instances))
    print(
        "usage: python app.py [serve | migrate | seed-demo | migrate-groups --to INSTANCE "
        "(--kind KIND | --slug SLUG ...) --from-date AAAA-MM-JJ --until AAAA-MM-JJ "
        "| migrated-groups]",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
