"""Rendering: the whole page for a normal request, only the fragment for htmx."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar import Request, Response
from litestar.enums import MediaType
from litestar.response import Redirect, Template


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
        if request.htmx and not request.htmx.boosted:
            name = fragment
    return Template(
        template_name=name,
        context=context or {},
        status_code=status_code,
        headers=headers,
        media_type=MediaType.HTML,
    )


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


def redirect(request: Request, path: str) -> Response:
    """303 for a normal form post. htmx's XMLHttpRequest would follow a 303 by itself (never
    seeing its headers) and swap the next page into the form: htmx gets a 200 with
    HX-Redirect instead, and the browser goes to the page."""
    if request.htmx:
        return Response("", status_code=200, headers={"HX-Redirect": path})
    return Redirect(path, status_code=303)


def form_status(request: Request) -> int:
    """An invalid form: 422, for htmx too (base.html tells htmx to swap a 422: the form
    comes back with its errors at their fields)."""
    return 422


def flash(request: Request, text: str) -> None:
    """A one-time notice shown by the next page (after a redirect)."""
    request.session["flash"] = text


def pop_flash(request: Request) -> str | None:
    return request.session.pop("flash", None) if request.session else None
