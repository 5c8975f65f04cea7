"""Files handed to the browser: CSV exports, documents."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import AsyncIterator
from urllib.parse import quote

from litestar.response import Stream

from domain.kernel import csvio


def attachment(name: str, fallback: str = "export.csv") -> str:
    """Content-Disposition with the French name (RFC 6266) and a plain ASCII fallback."""
    name = re.sub(r'[\x00-\x1f\\/:*?"<>|]+', " ", name).strip()
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_name).strip("-") or fallback
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


def csv_file(batches: AsyncIterator[list[list[object]]], name: str) -> Stream:
    """A CSV streamed as its batches of rows arrive; private (no shared cache keeps it)."""
    return Stream(
        csvio.stream(batches),
        media_type="text/csv",  # Litestar adds "; charset=utf-8"
        headers={"Content-Disposition": attachment(name), "Cache-Control": "no-store"},
    )
