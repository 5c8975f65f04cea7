"""A large shop's ordering page: its products in sections, a search, the basket apart.

Up to `SECTIONED_ABOVE` products the page shows every line at once (a small shop's page,
as it always was). Above, the first load carries the sections' headings and the member's
basket only; a section's lines come when it is opened (or on a page of its own without
JavaScript), and a search shows the matching products of every section. Whatever the
view, the products are those of `baskets.basket` (its two queries): a section or a search
is a choice among them, made here, never a query of its own.

Sections: by category (a field of the product; the Escarcelle import fills it), the
products without one under their producer's name; with no category at all, by catalog
(its producer's name, with the catalog's when the producer has several); and a shop of one
catalog without categories in runs of `RUN` products in alphabetical order, so that no
first load carries the whole catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.kernel.wording import fold

SECTIONED_ABOVE = 60  # lines on the page beyond which it comes in sections
RUN = 40  # products per section of a shop with nothing to group them by
RESULTS_SHOWN = 40  # lines a search shows at most
QUERY_MAX = 100  # characters of a search kept
WORDS_MAX = 8  # words of a search compared


@dataclass
class Section:
    key: str  # in the section's address: letters, digits and dashes only
    title: str
    products: list[dict] = field(default_factory=list)
    in_basket: int = 0  # products of the section in the member's basket


@dataclass
class View:
    """What the page shows. `sectioned`: False for a small shop (every line, as before)."""

    sectioned: bool
    sections: list[Section]
    basket: list[dict]  # the products with a quantity, in the page's order
    section: Section | None = None  # the section shown open (?section=…)
    unknown_section: bool = False  # asked for one the page does not have (any more)
    query: str = ""  # the search, as kept (at most QUERY_MAX characters, trimmed)
    results: list[dict] | None = None  # the search's lines shown (None: no search)
    found: int = 0  # how many products the search found (more may be than shown)

    @property
    def shown(self) -> list[dict]:
        """The product lines listed below the basket."""
        if self.results is not None:
            return self.results
        return self.section.products if self.section else []


def _slug(text: str) -> str:
    return fold(text).replace(" ", "-")[:50].strip("-")


def _short(name: str, size: int = 24) -> str:
    name = " ".join(name.split())
    return name if len(name) <= size else name[: size - 1].rstrip() + "…"


def _by_catalog(products: list[dict]) -> list[Section]:
    catalogs_of: dict[object, set] = {}
    for p in products:
        catalogs_of.setdefault(p["vendor_id"], set()).add(p["catalog"])
    found: dict[str, Section] = {}
    for p in products:
        key = f"k{p['catalog']}"
        if key not in found:
            title = p["vendor_name"] or p["catalog_name"] or "Autres produits"
            if len(catalogs_of[p["vendor_id"]]) > 1 and p["vendor_name"]:
                title = f"{p['vendor_name']} – {p['catalog_name']}"
            found[key] = Section(key, title)
        found[key].products.append(p)
    return sorted(found.values(), key=lambda s: (fold(s.title), s.key))


def _runs(products: list[dict]) -> list[Section]:
    ordered = sorted(products, key=lambda p: (fold(p["name"]), p["id"]))
    runs = []
    for n, start in enumerate(range(0, len(ordered), RUN), start=1):
        run = ordered[start : start + RUN]
        title = f"{_short(run[0]['name'])} – {_short(run[-1]['name'])}"
        runs.append(Section(f"n{n}", title, run))
    return runs


def sections_of(products: list[dict]) -> list[Section]:
    """The page's products in sections (see the module's docstring), each product in one.
    The work per product is a dictionary look-up: a category's key is worked out once per
    distinct spelling of it (a shop has a few, for hundreds of products)."""
    categories: dict[str, Section] = {}
    section_of_category: dict[str | None, Section | None] = {}
    rest = []
    for p in products:
        category = p["category"]
        if category in section_of_category:
            found = section_of_category[category]
        else:
            slug = _slug(category or "")
            found = None
            if slug:
                key = f"c-{slug}"
                found = categories.get(key)
                if found is None:
                    found = categories[key] = Section(key, " ".join(category.split()))
            section_of_category[category] = found
        if found is None:
            rest.append(p)
        else:
            found.products.append(p)
    if categories:
        named = sorted(categories.values(), key=lambda s: (fold(s.title), s.key))
        return named + _by_catalog(rest)
    grouped = _by_catalog(products)
    return grouped if len(grouped) > 1 else _runs(products)


def search(products: list[dict], query: str) -> list[dict]:
    """The products whose name, category or producer has every word of the query, accents
    and case aside (« pates » finds « Pâtes »), in the page's order.

    A word (no space in it) is in « name category producer », folded, when it is in one of
    the three folded apart (`fold` joins words with one space): the few categories and
    producers of a shop are folded once per search, not once per product."""
    words = fold(query[:QUERY_MAX]).split()[:WORDS_MAX]
    if not words:
        return []
    folded: dict[tuple, str] = {}  # (category, producer) -> the two folded
    found = []
    for p in products:
        pair = (p["category"], p["vendor_name"])
        hay = folded.get(pair)
        if hay is None:
            hay = folded[pair] = f"{fold(pair[0] or '')} {fold(pair[1] or '')}"
        name = fold(p["name"])
        if all(word in name or word in hay for word in words):
            found.append(p)
    return found


def view(
    products: list[dict],
    quantities: dict[int, int],
    *,
    section: str | None = None,
    query: str | None = None,
) -> View:
    """The page for these products (those of `baskets.basket`, in its order): every line for
    a small shop, else the sections' headings, with one open (`section`, its key) or the
    results of a search (`query`, which wins)."""
    basket = [p for p in products if quantities.get(p["id"])]
    if len(products) <= SECTIONED_ABOVE:
        return View(False, [], basket)
    sections = sections_of(products)
    for s in sections:
        s.in_basket = sum(1 for p in s.products if quantities.get(p["id"]))
    shown = View(True, sections, basket)
    kept = " ".join((query or "").split())[:QUERY_MAX]
    if kept and fold(kept):
        found = search(products, kept)
        shown.query, shown.found, shown.results = kept, len(found), found[:RESULTS_SHOWN]
    elif section:
        shown.section = next((s for s in sections if s.key == section), None)
        shown.unknown_section = shown.section is None
    return shown


def section_of(products: list[dict], quantities: dict[int, int], key: str) -> Section | None:
    """One section of the page (its htmx fragment), or None."""
    found = next((s for s in sections_of(products) if s.key == key), None)
    if found is not None:
        found.in_basket = sum(1 for p in found.products if quantities.get(p["id"]))
    return found
