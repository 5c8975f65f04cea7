"""The ordering page of 200 products on a phone's slow 3G network, in Chromium. Never run
as a test (tests/browser/test_order_flow.py checks that the page works on that network).

Starts `app.py serve` on a fresh SQLite database as the browser tests do
(tests/browser/server.py), makes a group with a distribution open now, 200 products and
a member, logs the member in, emulates slow 3G (400 ms latency, 50 kB/s each way) and
prints one JSON document: for each run, the first visit (browser cache cleared), the next
visit (CSS and htmx from the cache), opening the section of the product tapped (a page of
more than 60 products comes in sections) and one tap on "+" (until the quantity shows):
seconds measured around each step, and the browser's navigation timing (bytes transferred,
compressed and decompressed; time to first byte, document received, DOMContentLoaded,
load) with each resource's; then the median of each time over the runs.

    .venv/bin/python bench/slow_network_bench.py [--runs 3] [--products 200]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

from domain.ordering import sections  # noqa: E402
from tests.browser.server import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    SLOW_3G,
    VIEWPORT,
    served,
)
from tests.helpers import PASSWORD  # noqa: E402

TIMING_SCRIPT = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const res = performance.getEntriesByType('resource').map(r => ({
    name: r.name.split('/').pop(), type: r.initiatorType, transfer: r.transferSize,
    encoded: r.encodedBodySize, decoded: r.decodedBodySize, duration_ms: Math.round(r.duration)}));
  return {transfer: nav.transferSize, encoded: nav.encodedBodySize,
          decoded: nav.decodedBodySize, ttfb_ms: Math.round(nav.responseStart),
          response_end_ms: Math.round(nav.responseEnd),
          dom_content_loaded_ms: Math.round(nav.domContentLoadedEventEnd),
          load_ms: Math.round(nav.loadEventEnd), resources: res};
}"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def log_in(page: Page, email: str) -> None:
    page.goto("/connexion")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_role("heading", level=1, name="Mes groupes").wait_for()


def one_run(browser, base_url: str, world: dict, email: str) -> dict:
    context = browser.new_context(base_url=base_url, viewport=VIEWPORT, locale="fr-FR")
    context.set_default_timeout(120_000)
    try:
        page = context.new_page()
        log_in(page, email)
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", SLOW_3G)

        cdp.send("Network.clearBrowserCache")
        started = time.monotonic()
        page.goto(world["url"], wait_until="load")
        first = {"seconds": round(time.monotonic() - started, 2), **page.evaluate(TIMING_SCRIPT)}
        sectioned = page.locator(".sections").count() > 0
        count = page.locator(".products li[id^=p]").count()
        assert count == (0 if sectioned else len(world["products"])), count

        started = time.monotonic()
        page.reload(wait_until="load")
        again = {"seconds": round(time.monotonic() - started, 2), **page.evaluate(TIMING_SCRIPT)}

        page.wait_for_function("() => window.htmx !== undefined")
        index = len(world["products"]) // 2
        product = world["products"][index]
        line = page.locator(f"li#p{product}")
        opened = None
        if sectioned:  # one catalog without categories: runs of RUN products by name
            key = f"n{index // sections.RUN + 1}"
            started = time.monotonic()
            with page.expect_response(lambda r: r.url.endswith(f"/rayons/{key}")) as answer:
                page.locator(f"#s-{key} > a").click()
            line.wait_for()
            opened = {
                "seconds": round(time.monotonic() - started, 2),
                "response_bytes": len(answer.value.body()),
            }
        before = line.get_by_label("Quantité").input_value()
        started = time.monotonic()
        with page.expect_response(lambda r: r.url.endswith(f"/ligne/{product}")) as answer:
            line.get_by_role("button", name="Un de plus").click()
        expect(line.get_by_label("Quantité")).to_have_value(str(int(before) + 1), timeout=120_000)
        tap = {
            "seconds": round(time.monotonic() - started, 2),
            "response_bytes": len(answer.value.body()),
        }
        return {"first_visit": first, "next_visit": again, "open_section": opened, "one_tap": tap}
    finally:
        context.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--products", type=int, default=200)
    args = parser.parse_args(argv)
    email = f"lent-{uuid.uuid4().hex[:8]}@example.org"
    with served() as server:
        log(f"seeding a distribution of {args.products} products")
        world = server.seed(
            admin=f"admin-{uuid.uuid4().hex[:8]}@example.org",
            name="Marché du réseau lent",
            products=args.products,
            stock=100_000,
            members=[email],
        )
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                runs = []
                for n in range(args.runs):
                    log(f"run {n + 1}/{args.runs}")
                    runs.append(one_run(browser, server.base_url, world, email))
            finally:
                browser.close()

    def median(step: str, key: str) -> float:
        return statistics.median(run[step][key] for run in runs)

    result = {
        "products": args.products,
        "network": SLOW_3G,
        "median": {
            "first_visit_seconds": median("first_visit", "seconds"),
            "first_visit_load_ms": median("first_visit", "load_ms"),
            "first_visit_transfer_bytes": median("first_visit", "transfer"),
            "next_visit_seconds": median("next_visit", "seconds"),
            "next_visit_load_ms": median("next_visit", "load_ms"),
            "one_tap_seconds": median("one_tap", "seconds"),
            **(
                {"open_section_seconds": median("open_section", "seconds")}
                if runs[0]["open_section"]
                else {}
            ),
        },
        "runs": runs,
        "note": "Chromium, the server and its database share the machine's cores; the "
        "emulated network dominates the times.",
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
