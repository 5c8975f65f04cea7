"""The baseline for bench/http_bench.py and bench/ordering_bench.py: a bare Litestar app
with one GET route.

Served the way `python app.py serve` serves the real app (same uvicorn options),
so that page rps / bare rps says what the app itself costs per request.
Run: PORT=8001 .venv/bin/python bench/bare_app.py
(UVICORN_LOOP=asyncio UVICORN_HTTP=h11: without uvloop and httptools, for comparison.)
"""

from __future__ import annotations

import os

from litestar import Litestar, MediaType, get

BODY = "Hello, world!"


@get("/", media_type=MediaType.TEXT)
async def hello() -> str:
    return BODY


app = Litestar(route_handlers=[hello], logging_config=None, debug=False)


def serve(target) -> None:
    import uvicorn

    port = int(os.environ.get("PORT", "8001"))
    host = os.environ.get("HOST", "127.0.0.1")
    # The same options as `python app.py serve` (cli.py, serve()).
    uvicorn.run(
        target,
        host=host,
        port=port,
        log_level="warning",
        proxy_headers=True,
        loop=os.environ.get("UVICORN_LOOP", "auto"),
        http=os.environ.get("UVICORN_HTTP", "auto"),
    )


if __name__ == "__main__":
    serve(app)
