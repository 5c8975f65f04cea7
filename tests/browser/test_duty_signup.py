"""A member signs up for a permanence on a phone (375 × 740), with htmx and without
JavaScript: the group → DISTRIBUTIONS → « Permanences » → « M'inscrire » beside a role →
the role shows « vous », the place is taken; then « Me désinscrire ». The page never
scrolls sideways.

The data is made in the server's database by the real domain code, by this file run as a
module (`python -m tests.browser.test_duty_signup '<spec>'`), like seed.py does."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest
from playwright.sync_api import Page, expect

from tests.browser.server import PYTHON, ROOT
from tests.browser.test_order_flow import log_in, no_horizontal_scroll, unique, wait_for_htmx


async def seed(spec: dict) -> dict:
    """An AMAP with a distribution in three days and a catalog delivering there, the roles
    « Accueil » (two places, one held by Léa) and « Distribution des légumes » of the
    catalog (one place), and the member who signs up."""
    from domain.database import prepare_engine
    from domain.demo import world as build
    from tests.helpers import make_distribution_world, make_user

    await prepare_engine()
    admin = await make_user(spec["admin"], first_name="Adèle", last_name="Admin")
    w = await make_distribution_world(admin, kind="amap", name=spec["name"])
    gid = w["group"]["id"]
    member = await make_user(spec["member"], first_name="Mia", last_name="Membre")
    lea = await make_user(unique("lea") + "@example.org", first_name="Léa", last_name="Dupont")
    await build.join(gid, [member, lea])
    welcome = await build.duty_role(gid, "Accueil", 2, instructions="Arriver à 18 h 30.")
    await build.duty_role(
        gid, "Distribution des légumes et des fromages", 1, catalog=w["catalog"], position=1
    )
    await build.volunteers(welcome, w["distribution"], [lea])
    return {"slug": w["group"]["slug"], "distribution": w["distribution"]}


def world(server) -> dict:
    spec = {
        "admin": unique("admin") + "@example.org",
        "member": unique("mia") + "@example.org",
        "name": "AMAP " + unique("permanences"),
    }
    done = subprocess.run(
        [PYTHON, "-m", "tests.browser.test_duty_signup", json.dumps(spec)],
        cwd=ROOT,
        env=server.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        raise AssertionError(f"seed a échoué :\n{done.stdout}\n{done.stderr}")
    return spec | json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "sans-js"])
def test_a_member_signs_up_for_a_permanence_on_a_phone(new_context, server, shots, javascript):
    w = world(server)
    page: Page = new_context(java_script_enabled=javascript).new_page()
    log_in(page, w["member"])
    page.get_by_role("link", name=w["name"]).click()
    page.get_by_role("navigation", name="Onglets du groupe").get_by_role(
        "link", name="DISTRIBUTIONS"
    ).click()
    page.get_by_role("link", name="Permanences : s'inscrire comme bénévole").click()
    expect(page.get_by_role("heading", level=2, name="PERMANENCES")).to_be_visible()

    card = page.locator(f"#d{w['distribution']}")
    welcome = card.locator(".duty-roles > li").filter(has_text="Accueil")
    expect(welcome).to_contain_text("1 place libre sur 2 · Léa D.")
    vegetables = card.locator(".duty-roles > li").filter(has_text="Distribution des légumes")
    expect(vegetables).to_contain_text("1 place libre sur 1")
    no_horizontal_scroll(page)
    page.screenshot(path=shots / "permanences-avant.png", full_page=True)

    button = vegetables.get_by_role("button", name="M'inscrire")
    box = button.bounding_box()
    assert box["height"] >= 44 and box["x"] + box["width"] <= 375, box  # a thumb's target
    if javascript:
        wait_for_htmx(page)
        with page.expect_response(lambda r: r.url.endswith("/inscription")) as answer:
            button.click()
        assert answer.value.status == 200
        assert answer.value.request.headers.get("hx-request") == "true"
    else:
        with page.expect_navigation():
            button.click()
    card = page.locator(f"#d{w['distribution']}")
    # In the card (htmx), at the top of the page come back (without JavaScript).
    expect(page.get_by_role("status")).to_contain_text("C'est noté : merci pour votre permanence !")
    vegetables = card.locator(".duty-roles > li").filter(has_text="Distribution des légumes")
    expect(vegetables).to_contain_text("complet · vous")
    expect(card.get_by_role("button", name="M'inscrire")).to_have_count(0)  # one role a day
    no_horizontal_scroll(page)
    page.screenshot(path=shots / "permanences-inscrit.png", full_page=True)

    # Leaving frees the place again.
    leave = vegetables.get_by_role("button", name="Me désinscrire")
    if javascript:
        with page.expect_response(lambda r: r.url.endswith("/desistement")):
            leave.click()
    else:
        with page.expect_navigation():
            leave.click()
    card = page.locator(f"#d{w['distribution']}")
    expect(page.get_by_role("status")).to_contain_text("Vous n'avez plus ce rôle.")
    expect(
        card.locator(".duty-roles > li").filter(has_text="Distribution des légumes")
    ).to_contain_text("1 place libre sur 1")


if __name__ == "__main__":
    print(json.dumps(asyncio.run(seed(json.loads(sys.argv[1])))))
