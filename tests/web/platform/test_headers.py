"""Headers and error pages: a strict Content-Security-Policy (our scripts only, no inline
script, no eval), no framing, no type sniffing; HSTS over https; every error page in French."""

from __future__ import annotations

import html
import re
from pathlib import Path

import msgspec
from litestar.testing import AsyncTestClient

from tests.helpers import post_form

TEMPLATES = Path(__file__).resolve().parents[3] / "web" / "templates"


async def test_every_answer_carries_the_security_headers(client):
    for path in ("/", "/connexion", "/static/app.css", "/nulle-part", "/healthz"):
        response = await client.get(path)
        headers = response.headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
        assert "strict-transport-security" not in headers  # plain http here


async def test_hsts_over_https(settings):
    from app import create_app

    secure = msgspec.structs.replace(settings, base_url="https://circuit.example")
    async with AsyncTestClient(create_app(secure, background=False)) as client:
        response = await client.get("/connexion")
        assert "max-age=31536000" in response.headers["strict-transport-security"]


def test_no_template_has_an_inline_script_or_handler():
    """What the policy would block: an inline <script>, hx-on, on…= attributes, style=."""
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template
        assert not re.search(r"\shx-on[:-]|\son[a-z]+=", text), template
        assert not re.search(r'\sstyle="', text), template
        # htmx evaluates trigger filters and js: values with eval, which the policy forbids.
        assert not re.search(r'hx-trigger="[^"]*\[', text), template
        assert "js:" not in text and "javascript:" not in text, template


async def test_htmx_is_told_not_to_eval(client):
    page = await client.get("/connexion")
    assert '"allowEval":false' in page.text and '"includeIndicatorStyles":false' in page.text
    assert "/static/app.js" in page.text


def shown(response) -> str:
    return html.unescape(response.text)


async def test_error_pages_are_in_french(client):
    missing = await client.get("/nulle-part")
    assert missing.status_code == 404 and "Cette page n'existe pas." in shown(missing)
    assert "Not Found" not in missing.text
    wrong_method = await client.put("/connexion")
    assert wrong_method.status_code == 405
    assert "Cette action n'est pas possible sur cette page." in shown(wrong_method)
    assert "Method Not Allowed" not in wrong_method.text
    too_big = await post_form(client, "/connexion", {"email": "x" * (11 * 1024 * 1024)})
    assert too_big.status_code == 413 and "trop volumineux" in too_big.text
    broken = await client.post(
        "/connexion",
        content=b"--x\r\nnot a part",
        headers={"content-type": "multipart/form-data; boundary=x"},
    )
    assert broken.status_code in (400, 403)
    assert "Validation failed" not in broken.text and "Bad Request" not in broken.text
