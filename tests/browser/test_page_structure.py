"""Every page's structure, for each role, at 320 CSS px (WCAG 1.4.10, reflow): no horizontal
scroll of the page (a wide table scrolls in its own box), lang="fr", one h1, the landmarks,
a skip link to the main content, a title that says where one is. Then the thumb-sized
targets of + / − and of the tab bar, and motion under prefers-reduced-motion."""

from __future__ import annotations

from collections import defaultdict

from playwright.sync_api import Browser, expect

from tests.browser.a11y import (
    EXCUSED,
    ROLES,
    a11y_world,
    axe_violations,
    describe,
    get_routes,
    role_context,
    urls_of,
    wait_for_htmx,
)

__all__ = ["a11y_world"]

REFLOW = {"width": 320, "height": 640}
# Routes that are one page, reached two ways: they may share its title.
SAME_PAGE = [{"/reprise", "/reprise/{token:str}"}]  # the takeover form: by its code, its link

STRUCTURE = """() => {
  const doc = document.documentElement;
  const wide = [];
  // What sticks out of the page: an element wider than the viewport not inside a box that
  // scrolls on its own.
  for (const e of document.querySelectorAll('body *')) {
    const r = e.getBoundingClientRect();
    if (r.right <= innerWidth + 1 || r.width === 0) continue;
    let p = e.parentElement, boxed = false;
    while (p && p !== document.body) {
      const o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll' || o === 'hidden') { boxed = true; break; }
      p = p.parentElement;
    }
    if (!boxed) wide.push(e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className);
  }
  const skip = document.querySelector('body > a.skip');
  return {
    lang: doc.lang,
    scroll: doc.scrollWidth, body: document.body.scrollWidth, view: innerWidth,
    wide: wide.slice(0, 5),
    h1: document.querySelectorAll('h1').length,
    main: document.querySelectorAll('main').length,
    banner: document.querySelectorAll('body > header').length,
    footer: document.querySelectorAll('body > footer').length,
    unnamedNavs: document.querySelectorAll('nav:not([aria-label])').length,
    skip: skip ? skip.getAttribute('href') : null,
    title: document.title,
  };
}"""


def test_every_page_reflows_at_320px_and_has_its_landmarks(browser: Browser, server, a11y_world):
    w = a11y_world
    site = "Circuit Court"
    problems: list[str] = []
    titles: dict[str, set[str]] = defaultdict(set)
    pages = [r for r in get_routes() if r not in EXCUSED]
    for role in ROLES:
        context = role_context(browser, server, role, viewport=REFLOW)
        page = context.new_page()
        try:
            for route in pages:
                for url in urls_of(route, w):
                    response = page.goto(url)
                    if response.status in (401, 403, 404, 410) or response.request.redirected_from:
                        continue
                    s = page.evaluate(STRUCTURE)
                    where = f"{role} {url}"
                    if s["scroll"] > s["view"] or s["body"] > s["view"] or s["wide"]:
                        problems.append(f"{where} : défile à 320 px ({s})")
                    if s["lang"] != "fr":
                        problems.append(f"{where} : lang={s['lang']!r}")
                    if s["h1"] != 1:
                        problems.append(f"{where} : {s['h1']} h1")
                    if (s["main"], s["banner"], s["footer"]) != (1, 1, 1) or s["unnamedNavs"]:
                        problems.append(f"{where} : repères {s}")
                    if s["skip"] != "#main":
                        problems.append(f"{where} : pas de lien d'évitement")
                    if not s["title"].strip() or s["title"].strip() == site and url != "/":
                        problems.append(f"{where} : titre {s['title']!r}")
                    titles[s["title"]].add(route)
        finally:
            context.close()
    # A title says where one is: two different routes never share one.
    shared = {t: sorted(r) for t, r in titles.items() if len(r) > 1 and r not in SAME_PAGE}
    problems += [f"titre {t!r} commun à {r}" for t, r in shared.items()]
    assert not problems, "\n".join(problems)


def test_plus_minus_and_tabs_are_thumb_sized(browser: Browser, server, a11y_world):
    w = a11y_world
    context = role_context(browser, server, "admin")
    try:
        page = context.new_page()
        page.goto(f"/g/{w['amap']['slug']}/commandes/{w['distribution']}")
        wait_for_htmx(page)
        targets = page.locator(".qc button, .tabs a")
        assert targets.count() >= 8
        small = []
        for n in range(targets.count()):
            box = targets.nth(n).bounding_box()
            if box["width"] < 44 or box["height"] < 44:
                small.append((targets.nth(n).inner_text(), box))
        page.goto(f"/g/{w['amap']['slug']}/catalogues/{w['catalog']}/commandes/{w['distribution']}")
        tabs = page.locator(".recap-tabs a")
        for n in range(tabs.count()):
            box = tabs.nth(n).bounding_box()
            if box["width"] < 44 or box["height"] < 44:
                small.append((tabs.nth(n).inner_text(), box))
        assert not small, f"cibles de moins de 44 × 44 px : {small}"
    finally:
        context.close()


def test_motion_respects_prefers_reduced_motion(browser: Browser, server, a11y_world):
    w = a11y_world
    url = f"/g/{w['amap']['slug']}/commandes/{w['distribution']}"
    durations = {}
    for motion in ("no-preference", "reduce"):
        context = role_context(browser, server, "member", reduced_motion=motion)
        try:
            page = context.new_page()
            page.goto(url)
            durations[motion] = page.evaluate(
                """() => {
                  const e = document.createElement('span');
                  e.className = 'htmx-indicator htmx-request';
                  document.body.appendChild(e);
                  const d = parseFloat(getComputedStyle(e).transitionDuration);
                  const root = getComputedStyle(document.documentElement);
                  return {transition: d, smooth: root.scrollBehavior,
                          running: document.getAnimations().length};
                }"""
            )
        finally:
            context.close()
    assert durations["no-preference"]["transition"] > 0.1, durations
    assert durations["reduce"]["transition"] < 0.01, durations
    assert durations["reduce"]["smooth"] == "auto" and durations["reduce"]["running"] == 0


def test_skip_link_is_shown_when_focused(browser: Browser, server, a11y_world):
    context = role_context(browser, server, "visitor")
    try:
        page = context.new_page()
        page.goto("/connexion")
        skip = page.get_by_role("link", name="Aller au contenu")
        assert skip.bounding_box()["y"] < 0  # out of sight until focused
        page.keyboard.press("Tab")
        expect(skip).to_be_focused()
        box = skip.bounding_box()
        assert box["y"] >= 0 and box["height"] >= 44 or box["height"] >= 40, box
    finally:
        context.close()


def test_a_real_mail_passes_axe_and_says_the_same_in_text(browser: Browser, server, a11y_world):
    """A mail the app sent (a password reset), its HTML part opened in Chromium."""
    email = "acheteur3@a11y.test"
    context = role_context(browser, server, "visitor")
    try:
        page = context.new_page()
        page.goto("/compte/mot-de-passe-oublie")
        page.get_by_label("E-mail").fill(email)
        page.get_by_role("button").filter(has_text="lien").first.click()
        (mail,) = server.wait_for_mail(email)
        html = mail.get_body(("html",)).get_content()
        text = mail.get_body(("plain",)).get_content()
        page.set_content(html)
        assert page.evaluate("document.documentElement.lang") == "fr"
        assert page.locator("h1").inner_text() == mail["Subject"] == page.title()
        found = axe_violations(page)
        assert not found, describe(found)
        for link in page.locator("a").all():
            assert link.get_attribute("href") in text, "lien absent de la partie texte"
            assert len(link.inner_text().split()) >= 2, link.inner_text()
    finally:
        context.close()
