"""The baseline for bench/http_bench.py: a bare Litestar app with one GET route.

Served the way `python app.py serve` serves the real app (same uvicorn options),
so that page rps / bare rps says what the app itself costs per request.
Run: PORT=8001 .venv/bin/python bench/bare_app.py
"""

from __future__ import annotations

import os

from litestar import Litestar, MediaType, get

BODY = "Hello, world!"


@get("/", media_type=MediaType.TEXT)
async def hello() -> str:
    return BODY


app = Litestar(route_handlers=[hello], logging_config=None, debug=False)


def main() -> None:
    import uvicorn

    port = int(os.environ.get("PORT", "8001"))
    host = os.environ.get("HOST", "127.0.0.1")
    # The same options as `python app.py serve` (app.py, main()).
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=True)


if __name__ == "__main__":
    main()
