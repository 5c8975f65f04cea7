"""What axe cannot see, done with the keyboard alone: ordering, the inline product editor,
the member import (Tab, Enter, Space, Escape), a visible focus at every step, focus kept
across htmx swaps, the new total announced, form errors tied to their fields."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.browser.a11y import a11y_world, role_context, wait_for_htmx

__all__ = ["a11y_world"]

FOCUS = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const s = getComputedStyle(e), r = e.getBoundingClientRect();
  const label = e.getAttribute('aria-label') || '';
  return {tag: e.tagName, id: e.id, text: (e.innerText || e.value || label).trim().slice(0, 60),
          label, outline: s.outlineStyle, width: parseFloat(s.outlineWidth),
          shadow: s.boxShadow, w: r.width, h: r.height, top: r.top, left: r.left,
          inView: r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth};
}"""


def focused(page: Page) -> dict:
    """What has the focus, and whether one sees it (an outline of 2 px or more, in view)."""
    found = page.evaluate(FOCUS)
    assert found is not None, "le focus est perdu (sur <body>)"
    return found


def assert_focus_visible(page: Page) -> dict:
    found = focused(page)
    seen = (found["outline"] != "none" and found["width"] >= 2) or found["shadow"] != "none"
    assert seen, f"focus invisible sur {found}"
    assert found["inView"] and found["w"] > 0 and found["h"] > 0, f"focus hors de la vue : {found}"
    return found


def tab_to(page: Page, matches, limit: int = 80, key: str = "Tab") -> dict:
    """Press Tab until the focused element satisfies `matches`, checking at every step that
    the focus is visible."""
    for _ in range(limit):
        page.keyboard.press(key)
        found = assert_focus_visible(page)
        if matches(found):
            return found
    raise AssertionError(f"{limit} × {key} sans atteindre l'élément voulu")


def test_ordering_with_the_keyboard_alone(browser: Browser, server, a11y_world):
    w = a11y_world
    leeks, carrots = w["products"][0], w["products"][1]
    context = role_context(browser, server, "member")
    try:
        page = context.new_page()
        page.goto(f"/g/{w['amap']['slug']}/commandes/{w['distribution']}")
        wait_for_htmx(page)
        # The first Tab: the skip link, shown; Enter takes the focus to the content.
        skip = tab_to(page, lambda f: True, limit=1)
        assert skip["text"] == "Aller au contenu", skip
        page.keyboard.press("Enter")
        expect(page.locator("main")).to_be_focused()

        total = page.locator("#total")
        assert total.get_attribute("aria-live") == "polite"
        before = total.inner_text()
        tab_to(page, lambda f: f["id"] == f"pp{carrots}")
        page.keyboard.press("Enter")
        expect(page.locator(f"#q{carrots}")).to_have_value("1")
        expect(total).not_to_have_text(before)
        assert focused(page)["id"] == f"pp{carrots}", "le focus a quitté le « + » pressé"
        page.keyboard.press("Space")
        expect(page.locator(f"#q{carrots}")).to_have_value("2")
        assert assert_focus_visible(page)["id"] == f"pp{carrots}"
        # The live region is the one of the page (swapped inside, never replaced).
        assert total.get_attribute("aria-live") == "polite" and "€" in total.inner_text()

        # Back to the quantity; a refused value: the error is announced and tied to it.
        page.keyboard.press("Shift+Tab")
        assert focused(page)["id"] == f"q{carrots}"
        page.keyboard.press("ControlOrMeta+a")
        page.keyboard.type("beaucoup")
        page.keyboard.press("Tab")
        quantity = page.locator(f"#q{carrots}")
        expect(quantity).to_have_attribute("aria-invalid", "true")
        error = page.locator(f"#{quantity.get_attribute('aria-describedby')}")
        expect(error).to_be_visible()
        assert error.get_attribute("role") == "alert"
        assert focused(page)["id"] == f"pp{carrots}"

        # Fixed with the keyboard, then « Valider ma commande » with Enter.
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("ControlOrMeta+a")
        page.keyboard.type("3")
        page.keyboard.press("Tab")
        expect(quantity).to_have_value("3")
        expect(quantity).not_to_have_attribute("aria-invalid", "true")
        assert page.locator(f"#q{leeks}").input_value() == "2"
        tab_to(page, lambda f: f["text"] in ("Valider ma commande", "Enregistrer mes changements"))
        page.keyboard.press("Enter")
        expect(page.locator(".notice").first).to_contain_text("validée")
    finally:
        context.close()


def test_inline_product_editor_with_the_keyboard(browser: Browser, server, a11y_world):
    w = a11y_world
    context = role_context(browser, server, "coordinator")
    try:
        page = context.new_page()
        page.goto(f"/g/{w['amap']['slug']}/catalogues/{w['catalog']}/produits")
        wait_for_htmx(page)
        salad = page.locator("tr", has_text="Salade batavia")
        price = lambda f: f["tag"] == "A" and f["text"].startswith("1,50")  # noqa: E731
        tab_to(page, price)
        page.keyboard.press("Enter")
        editor = salad.locator("input[name=value]")
        expect(editor).to_be_focused()
        assert_focus_visible(page)
        # Escape: the row as it was, the focus back on the price.
        page.keyboard.press("Escape")
        expect(editor).to_have_count(0)
        expect(salad.get_by_role("link", name="1,50")).to_be_focused()
        # Enter again; a refused value: the error tied to the field, the focus in it.
        page.keyboard.press("Enter")
        expect(editor).to_be_focused()
        page.keyboard.press("ControlOrMeta+a")
        page.keyboard.type("gratuit")
        page.keyboard.press("Enter")
        expect(editor).to_have_attribute("aria-invalid", "true")
        expect(editor).to_be_focused()
        error = page.locator(f"#{editor.get_attribute('aria-describedby')}")
        expect(error).to_be_visible()
        # A good value with Enter: saved, the focus back on the cell.
        page.keyboard.press("ControlOrMeta+a")
        page.keyboard.type("1,70")
        page.keyboard.press("Enter")
        expect(salad.get_by_role("link", name="1,70")).to_be_focused()
        assert_focus_visible(page)
    finally:
        context.close()


def test_member_import_with_the_keyboard(browser: Browser, server, a11y_world):
    w = a11y_world
    context = role_context(browser, server, "admin")
    try:
        page = context.new_page()
        # A listener from the start turns on Playwright's file-chooser interception before
        # the key press (switched on by expect_file_chooser alone, it raced the Space key
        # on a loaded machine and the chooser never reached the test).
        page.on("filechooser", lambda _chooser: None)
        page.goto(f"/g/{w['amap']['slug']}/membres/import")
        tab_to(page, lambda f: f["id"] == "f-file", limit=120)
        csv = "E-mail;Prénom;Nom\nzoe.clavier@a11y.test;Zoé;Clavier\n"
        with page.expect_file_chooser() as chosen:
            page.keyboard.press("Space")
        chosen.value.set_files(
            files=[{"name": "membres.csv", "mimeType": "text/csv", "buffer": csv.encode()}]
        )
        tab_to(page, lambda f: f["text"] == "Voir l'aperçu", limit=3)
        page.keyboard.press("Enter")
        preview = page.locator("#apercu")
        expect(preview).to_be_visible()
        # The preview takes the focus: the next Tab is its « Importer » button.
        expect(preview).to_be_focused()
        tab_to(page, lambda f: f["text"].startswith("Importer ces"), limit=3)
        page.keyboard.press("Enter")
        expect(page.locator(".notice").first).to_be_visible()
    finally:
        context.close()


def test_a_refused_form_ties_its_errors_and_focuses_the_first(browser: Browser, server):
    context = browser.new_context(base_url=server.base_url, locale="fr-FR")
    try:
        page = context.new_page()
        page.goto("/inscription")
        page.get_by_label("E-mail").fill("pas-une-adresse")
        page.get_by_label("Mot de passe").fill("court")
        page.get_by_role("button", name="Créer mon compte").click()
        invalid = page.locator('[aria-invalid="true"]')
        expect(invalid.first).to_be_visible()
        assert invalid.count() >= 3
        expect(invalid.first).to_be_focused()
        for n in range(invalid.count()):
            field = invalid.nth(n)
            ids = (field.get_attribute("aria-describedby") or "").split()
            errors = [i for i in ids if page.locator(f"#{i}.error").count()]
            assert errors, f"{field.get_attribute('name')} : erreur non reliée au champ"
            expect(page.locator(f"#{errors[0]}")).not_to_be_empty()
    finally:
        context.close()
