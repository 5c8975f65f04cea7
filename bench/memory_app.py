"""The ceiling of bench/ordering_bench.py: the real page's HTML served from memory by a bare
Litestar app with the real app's compression (app.compression_config), so that page rps /
memory rps says what building the page costs, compression aside.

Serves every `*.html` file of MEMORY_DIR at `/m/<file name without .html>`.
Run: MEMORY_DIR=dir PORT=8002 .venv/bin/python bench/memory_app.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bare_app import serve  # noqa: E402
from litestar import Litestar, MediaType, Response, get  # noqa: E402
from litestar.exceptions import NotFoundException  # noqa: E402

from app import compression_config  # noqa: E402

PAGES = {
    path.stem: path.read_text(encoding="utf-8")
    for path in Path(os.environ.get("MEMORY_DIR", ".")).glob("*.html")
}


@get("/m/{name:str}", media_type=MediaType.HTML)
async def page(name: str) -> Response:
    body = PAGES.get(name)
    if body is None:
        raise NotFoundException()
    return Response(body, media_type=MediaType.HTML)


app = Litestar(
    route_handlers=[page],
    compression_config=compression_config(),
    logging_config=None,
    debug=False,
)

if __name__ == "__main__":
    serve(app)
