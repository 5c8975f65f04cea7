"""The + / − of the ordering page in Chromium: quick taps on a slow network all count, and
every refusal or failure is said at the line, in French (or leads to the login and back).

What changes behind the page's back (the last unit sold, orders closing, the session
ending) is written in the server's database directly (server.execute).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, quote

from playwright.sync_api import expect

from tests.browser.test_order_flow import (
    euros,
    is_line_post,
    line,
    log_in,
    minus,
    plus,
    quantity,
    total,
    unique,
    wait_for_htmx,
    world,
)
from tests.helpers import PASSWORD

# Slow enough that the taps below are made while the first one is still on its way.
SLOW = {"offline": False, "latency": 600, "downloadThroughput": 50_000, "uploadThroughput": 50_000}


def member_on_the_page(new_context, server, **spec):
    email = unique("tap") + "@example.org"
    w = world(server, members=[email], **spec)
    context = new_context()
    page = context.new_page()
    log_in(page, email)
    page.goto(w["url"])
    wait_for_htmx(page)
    return w, context, page, email


def test_three_quick_taps_on_plus_while_the_first_is_in_flight_give_three(new_context, server):
    w, context, page, _ = member_on_the_page(new_context, server, products=2, stock=10)
    product = w["products"][0]
    path = f"{w['url']}/ligne/{product}"
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", SLOW)
    sent: list[dict] = []
    page.on(
        "request",
        lambda r: sent.append(parse_qs(r.post_data or "")) if r.url.endswith(path) else None,
    )
    answers: list[int] = []
    page.on("response", lambda r: answers.append(r.status) if r.url.endswith(path) else None)
    # The first tap is held on its way until the three taps are made: they are made while it
    # is in flight, whatever the machine's speed.
    held = []
    page.route(f"**{path}", lambda route: route.continue_() if held else held.append(route))
    with page.expect_request(lambda r: r.url.endswith(path)):
        plus(page, product).click()
    for _ in range(2):
        plus(page, product).click()
    assert len(held) == 1 and len(sent) == 1, "les appuis suivants devaient attendre"
    held[0].continue_()

    expect(quantity(page, product)).to_have_value("3", timeout=30_000)
    expect(line(page, product)).to_contain_text("reste 7")
    expect(total(page)).to_have_text(euros("Total : 4,50 €"))
    expect(page.locator(".products li")).to_have_count(2)
    assert answers == [200, 200, 200], answers
    # One request per tap, each a relative +1 with a key of its own, made when it was sent.
    assert [s.get("delta") for s in sent] == [["1"]] * 3, sent
    keys = [s["k"][0] for s in sent]
    assert len(set(keys)) == 3 and all(re.fullmatch(r"[0-9a-f-]{32,36}", k) for k in keys), keys
    assert not any(name.startswith("q") or name == "key" for s in sent for name in s), sent
    expect(minus(page, product)).to_be_enabled()

    # Taps the other way queue the same; the page reloaded says what the server kept.
    for _ in range(2):
        minus(page, product).click()
    expect(quantity(page, product)).to_have_value("1", timeout=30_000)
    expect(page.locator(".products li")).to_have_count(2)
    page.reload()
    expect(quantity(page, product)).to_have_value("1")
    expect(line(page, product)).to_contain_text("reste 9")


def test_a_refused_plus_says_why_at_the_line(new_context, server, shots):
    w, _, page, _ = member_on_the_page(new_context, server, products=2, stock=1)
    product = w["products"][0]
    expect(line(page, product)).to_contain_text("reste 1")
    # Someone else takes the last one while the page is open.
    assert server.execute("UPDATE product SET stock = 0 WHERE id = ?", (product,)) == 1
    with page.expect_response(is_line_post(w["url"], product)):
        plus(page, product).click()
    expect(line(page, product).get_by_role("alert")).to_have_text("Épuisé : il n'en reste plus.")
    expect(quantity(page, product)).to_have_value("0")
    expect(line(page, product)).to_contain_text("épuisé")
    expect(plus(page, product)).to_be_disabled()
    page.screenshot(path=str(shots / "ordering-sold-out-refusal-375.png"), full_page=True)


def test_a_tap_after_orders_closed_says_so_at_the_line(new_context, server):
    w, _, page, _ = member_on_the_page(new_context, server, products=2, stock=5)
    product = w["products"][1]
    with page.expect_response(is_line_post(w["url"], product)):
        plus(page, product).click()
    expect(quantity(page, product)).to_have_value("1")
    # The order window ends while the page is open.
    closed = server.execute(
        "UPDATE distribution SET orders_close_at = orders_open_at WHERE id = ?",
        (w["distribution"],),
    )
    assert closed == 1
    with page.expect_response(is_line_post(w["url"], product)):
        plus(page, product).click()
    expect(line(page, product).get_by_role("alert")).to_have_text(
        "Les commandes sont fermées pour cette distribution."
    )
    expect(quantity(page, product)).to_have_value("1")


def test_a_tap_with_an_expired_session_goes_to_the_login_and_back(new_context, server):
    w, _, page, email = member_on_the_page(new_context, server, products=2, stock=5)
    product = w["products"][0]
    with page.expect_response(is_line_post(w["url"], product)):
        plus(page, product).click()
    expect(quantity(page, product)).to_have_value("1")
    # The session ends on the server (expired, or the person logged out elsewhere).
    users = server.execute('DELETE FROM web_session WHERE "user" = ?', (w["members"][email],))
    assert users >= 1
    plus(page, product).click()
    expect(page).to_have_url(re.compile(re.escape(f"/connexion?next={quote(w['url'])}") + "$"))
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(re.compile(re.escape(w["url"]) + "$"))
    expect(quantity(page, product)).to_have_value("1")  # the tap refused was not counted
    wait_for_htmx(page)
    with page.expect_response(is_line_post(w["url"], product)):
        plus(page, product).click()
    expect(quantity(page, product)).to_have_value("2")


def test_a_tap_without_network_says_so_and_the_next_one_works(new_context, server):
    w, context, page, _ = member_on_the_page(new_context, server, products=2, stock=5)
    product = w["products"][0]
    context.set_offline(True)
    plus(page, product).click()
    expect(line(page, product).get_by_role("alert")).to_contain_text("Pas de connexion")
    expect(quantity(page, product)).to_have_value("0")
    context.set_offline(False)
    with page.expect_response(is_line_post(w["url"], product)):
        plus(page, product).click()
    expect(quantity(page, product)).to_have_value("1")
    expect(line(page, product).get_by_role("alert")).to_have_count(0)
    page.reload()
    expect(quantity(page, product)).to_have_value("1")
