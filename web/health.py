"""/healthz: the state of the database and of the broker, for the platform's probes; and
/favicon.ico."""

from __future__ import annotations

import asyncio
from pathlib import Path

from litestar import Request, get
from litestar.response import Response

from domain.database import db
from web.access import Policy, policy


async def _database() -> str:
    try:
        await asyncio.wait_for(db().run_ddl("SELECT 1"), timeout=3)
        return "ok"
    except Exception as error:  # noqa: BLE001 - the probe reports any failure
        return f"erreur: {type(error).__name__}"


async def _broker(redis_url: str) -> str:
    if not redis_url:
        return "ok (en mémoire)"
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url, socket_timeout=3, socket_connect_timeout=3)
    try:
        await client.ping()
        return "ok"
    except Exception as error:  # noqa: BLE001
        return f"erreur: {type(error).__name__}"
    finally:
        await client.aclose()


@get("/healthz", opt=policy(Policy.ANONYMOUS), name="healthz")
async def healthz(request: Request) -> Response:
    database, broker = await asyncio.gather(
        _database(), _broker(request.app.state.settings.redis_url)
    )
    ok = database == "ok" and broker.startswith("ok")
    return Response(
        {"status": "ok" if ok else "erreur", "database": database, "broker": broker},
        status_code=200 if ok else 503,
        headers={"Cache-Control": "no-store"},
    )


FAVICON = Path(__file__).resolve().parent.parent / "static" / "favicon.ico"


@get("/favicon.ico", opt=policy(Policy.ANONYMOUS), name="favicon", include_in_schema=False)
async def favicon() -> Response:
    """Browsers ask for it on every site, whatever the page says."""
    return Response(
        FAVICON.read_bytes(),
        media_type="image/x-icon",
        headers={"Cache-Control": "public, max-age=604800"},
    )


handlers = [healthz, favicon]
