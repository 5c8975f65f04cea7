from tests.browser.test_producer_orders import world, log_in
def test_debug(page, server):
    w = world(server)
    log_in(page, w["producer"])
    page.goto(f"/g/{w['slug']}/catalogues/{w['catalog']}/commandes/{w['distribution']}?vue=adherents")
    print(page.evaluate("""() => {
      const t = document.querySelector('#by-member');
      const out = {table: t.scrollWidth, wrap: t.parentElement.clientWidth};
      out.ths = [...t.querySelectorAll('thead th')].map(e => e.getBoundingClientRect().width);
      out.who = [...t.querySelectorAll('tr.who > *')].map(e => [e.tagName, e.getBoundingClientRect().width, e.scrollWidth]);
      return out;
    }"""))
