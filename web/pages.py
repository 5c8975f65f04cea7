"""Rendering: the whole page for a normal request, only the fragment for htmx."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar import Request
from litestar.enums import MediaType
from litestar.response import Redirect, Template

from domain.accounts import FieldErrors


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    fragment: str | None = None,
    status_code: int = 200,
) -> Template:
    """`fragment` is the partial (`_thing.html`) the page includes; htmx gets only it.

    Such a URL answers two ways, so it says so to caches with `Vary: HX-Request`.
    """
    name = template
    headers = {}
    if fragment is not None:
        headers["Vary"] = "HX-Request"
        if (
            request.headers.get("hx-request") == "true"
            and request.headers.get("hx-boosted") != "true"
        ):
            name = fragment
    return Template(
        template_name=name,
        context=context or {},
        status_code=status_code,
        headers=headers,
        media_type=MediaType.HTML,
    )


def form_errors(error: FieldErrors) -> dict[str, str]:
    return error.errors


def safe_next(value: str | None, default: str = "/") -> str:
    """Only a local path: never an open redirect to another host."""
    if not value:
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//"):
        return default
    if "\\" in value:
        return default
    return value


def redirect(request: Request, path: str) -> Redirect:
    """303 for a normal form post; htmx follows HX-Redirect instead of swapping a page."""
    if request.headers.get("hx-request") == "true":
        return Redirect(path, status_code=303, headers={"HX-Redirect": path})
    return Redirect(path, status_code=303)
