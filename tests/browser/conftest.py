"""The browser world: the real app served by `app.py serve` in a subprocess, and Chromium.

Run on their own: `.venv/bin/python -m pytest -q tests/browser` (Playwright's sync API and
pytest-asyncio's loop must not share a process with the async tests).

Nothing of the in-process stack (tests/stack.py) is used here: the server gets its own
environment, database and outbox (tests/browser/server.py, which the browser benchmarks
use too).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.browser.server import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PYTHON,
    ROOT,
    VIEWPORT,
    Server,
    ServerFailed,
    served,
)

# Waits are for conditions, never fixed: generous bounds so that a CI machine shared with
# other work (argon2 at low priority, a loaded PostgreSQL) is not a failure.
expect.set_options(timeout=15_000)

__all__ = ["PYTHON", "ROOT"]


@pytest.fixture(scope="session")
def server():
    try:
        with served() as srv:
            yield srv
    except ServerFailed as error:
        pytest.fail(str(error))


@pytest.fixture(scope="session")
def browser() -> Browser:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_context(browser: Browser, server: Server):
    """Makes French browser contexts on the server, phone-sized unless `viewport` says
    otherwise (an admin's screen: {"width": 1280, "height": 800}); all closed after the
    test."""
    made: list[BrowserContext] = []

    def make(**options) -> BrowserContext:
        options.setdefault("viewport", VIEWPORT)
        context = browser.new_context(base_url=server.base_url, locale="fr-FR", **options)
        context.set_default_timeout(30_000)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


@pytest.fixture
def page(new_context) -> Page:
    return new_context().new_page()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where the test's screenshots go: its own temporary folder (pytest keeps the last
    runs' folders, under /tmp/pytest-of-<user>/)."""
    return tmp_path
