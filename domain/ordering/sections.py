"""A large shop's ordering page: its products in sections, a search, the basket apart.

Up to `SECTIONED_ABOVE` products the page shows every line at once (a small shop's page,
as it always was). Above, the first load carries the sections' headings and the member's
basket only; a section's lines come when it is opened (or on a page of its own without
JavaScript), and a search shows the matching products of every section. The products are
those of `baskets.basket`: every offered one for a small shop and a search; for a large
shop's headings only its shelves (the products counted by catalog and category, so the
first load does not read the catalogue) with the basket's products and an open section's.

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
    products: list[dict] = field(default_factory=list)  # its lines, when they are read
    in_basket: int = 0  # products of the section in the member's basket
    count: int = 0  # its products
    # What it is made of: products, or shelves (`baskets.basket`'s counts, `n` each).
    items: list[dict] = field(default_factory=list)


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
        found[key].items.append(p)
    return sorted(found.values(), key=lambda s: (fold(s.title), s.key))


def _runs(products: list[dict]) -> list[Section]:
    ordered = sorted(products, key=lambda p: (fold(p["name"]), p["id"]))
    runs = []
    for n, start in enumerate(range(0, len(ordered), RUN), start=1):
        run = ordered[start : start + RUN]
        title = f"{_short(run[0]['name'])} – {_short(run[-1]['name'])}"
        runs.append(Section(f"n{n}", title, items=run))
    return runs


def in_runs(items: list[dict]) -> bool:
    """A shop of one catalog without categories: its sections are runs of its products in
    alphabetical order, which only its products' names can make (not its shelves)."""
    return len({i["catalog"] for i in items}) <= 1 and not any(
        _slug(i["category"] or "") for i in items
    )


def sections_of(products: list[dict]) -> list[Section]:
    """The page's products in sections (see the module's docstring), each product in one,
    with its lines."""
    found = _grouped(products)
    for s in found:
        s.products, s.count = s.items, len(s.items)
    return found


def headings_of(items: list[dict]) -> list[Section]:
    """The sections made of shelves (a catalog's products of one category, `n` of them) and
    of single products: the same as `sections_of` the products they count, lines apart."""
    found = _grouped(items)
    for s in found:
        s.count = sum(i.get("n", 1) for i in s.items)
    return found


def _grouped(products: list[dict]) -> list[Section]:
    """The work per item is a dictionary look-up: a category's key is worked out once per
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
            found.items.append(p)
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


def key_of(product: dict) -> str:
    """The key of a product's section, but in a shop of runs (`in_runs`)."""
    slug = _slug(product["category"] or "")
    return f"c-{slug}" if slug else f"k{product['catalog']}"


def _headings(
    products: list[dict], quantities: dict[int, int], shelves: list[dict] | None
) -> list[Section]:
    """The sections, each with the number of its products in the basket. `shelves`: what
    `baskets.basket` counted instead of reading every product (None: `products` are all)."""
    if shelves is None:
        found = sections_of(products)
        for s in found:
            s.in_basket = sum(1 for p in s.products if quantities.get(p["id"]))
        return found
    found = headings_of(shelves)
    by_key = {s.key: s for s in found}
    for p in products:
        s = by_key.get(key_of(p))
        if s is not None:
            if quantities.get(p["id"]):
                s.in_basket += 1
            s.products.append(p)  # the basket's, and the open section's that were read
    return found


def view(
    products: list[dict],
    quantities: dict[int, int],
    *,
    section: str | None = None,
    query: str | None = None,
    shelves: list[dict] | None = None,
) -> View:
    """The page for these products (those of `baskets.basket`, in its order): every line for
    a small shop, else the sections' headings, with one open (`section`, its key) or the
    results of a search (`query`, which wins, and needs every product: no `shelves`)."""
    basket = [p for p in products if quantities.get(p["id"])]
    if shelves is None and len(products) <= SECTIONED_ABOVE:
        return View(False, [], basket)
    sections = _headings(products, quantities, shelves)
    shown = View(True, sections, basket)
    kept = " ".join((query or "").split())[:QUERY_MAX]
    if kept and fold(kept):
        if shelves is not None:
            raise ValueError("a search reads every product")
        found = search(products, kept)
        shown.query, shown.found, shown.results = kept, len(found), found[:RESULTS_SHOWN]
    elif section:
        shown.section = next((s for s in sections if s.key == section), None)
        shown.unknown_section = shown.section is None
    return shown


def section_of(
    products: list[dict], quantities: dict[int, int], key: str, shelves: list[dict] | None = None
) -> Section | None:
    """One section of the page (its htmx fragment), or None."""
    return next((s for s in _headings(products, quantities, shelves) if s.key == key), None)
