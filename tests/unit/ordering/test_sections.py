"""A large shop's sections and search, as pure rules (domain/ordering/sections.py)."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from domain.kernel.wording import fold
from domain.ordering import sections


def product(pid: int, name: str, category=None, vendor=(1, "Ferme"), catalog=(10, "Légumes")):
    return {
        "id": pid,
        "name": name,
        "category": category,
        "vendor_id": vendor[0],
        "vendor_name": vendor[1],
        "catalog": catalog[0],
        "catalog_name": catalog[1],
    }


def test_fold_drops_case_accents_ligatures_and_punctuation():
    assert fold("Pâtes") == "pates"
    assert fold("ŒUFS frais x6") == "oeufs frais x6"
    assert fold("  Crème fraîche — 20 cl ") == "creme fraiche 20 cl"
    assert fold("Straße") == "strasse"
    assert fold("%%_") == ""


def test_categories_that_fold_alike_are_one_section():
    found = sections.sections_of(
        [product(1, "A", "Épicerie"), product(2, "B", "epicerie "), product(3, "C", "Thé")]
    )
    assert [(s.key, s.title, [p["id"] for p in s.products]) for s in found] == [
        ("c-epicerie", "Épicerie", [1, 2]),
        ("c-the", "Thé", [3]),
    ]


def test_a_producer_of_several_catalogs_names_each():
    found = sections.sections_of(
        [
            product(1, "Pomme", catalog=(10, "Fruits")),
            product(2, "Poire", catalog=(11, "Légumes")),
            product(3, "Pain", vendor=(2, "Fournil"), catalog=(12, "Pain")),
        ]
    )
    assert [(s.key, s.title) for s in found] == [
        ("k10", "Ferme – Fruits"),
        ("k11", "Ferme – Légumes"),
        ("k12", "Fournil"),
    ]


def test_a_search_needs_every_word_somewhere():
    items = [
        product(1, "Pâtes complètes", "Épicerie"),
        product(2, "Riz", "Pâtes et riz"),
        product(3, "Savon", vendor=(2, "Savonnerie des pâtes")),
    ]
    assert [p["id"] for p in sections.search(items, "PATES")] == [1, 2, 3]
    assert [p["id"] for p in sections.search(items, "pâtes riz")] == [2]
    assert sections.search(items, "  ") == [] and sections.search(items, "%") == []


def test_a_small_shop_is_not_sectioned_and_a_search_wins_over_a_section():
    few = [product(i, f"P{i}", "Thé") for i in range(sections.SECTIONED_ABOVE)]
    assert not sections.view(few, {}, section="c-the").sectioned
    many = [*few, product(999, "Café moulu", "Café")]
    shown = sections.view(many, {999: 2}, section="c-the", query="cafe")
    assert shown.sectioned and [p["id"] for p in shown.shown] == [999]
    assert [p["id"] for p in shown.basket] == [999]
    assert {s.key: s.in_basket for s in shown.sections} == {"c-cafe": 1, "c-the": 0}


_TEXT = st.text(alphabet="aAéÉœß -_\u0301", max_size=6)


@given(
    st.lists(st.tuples(_TEXT, st.none() | _TEXT, st.none() | _TEXT), min_size=1, max_size=6),
    _TEXT,
)
@example([("b", "a", "a"), ("b", "\u0301a", "é")], "aa")  # a word across two: none
@example([("b", "Œ", "a"), ("b", "\u0301a", "é")], "oe É")
def test_a_search_finds_what_the_folded_name_category_and_producer_hold(rows, query):
    """Folding the three apart (the categories and producers once per search) finds what
    folding « name category producer » finds, accents combining or not, words or none."""
    items = [
        product(i, name, category, vendor=(i, vendor))
        for i, (name, category, vendor) in enumerate(rows)
    ]
    words = fold(query[: sections.QUERY_MAX]).split()[: sections.WORDS_MAX]
    expected = [
        p["id"]
        for p in items
        if words
        and all(
            w in fold(f"{p['name']} {p['category'] or ''} {p['vendor_name'] or ''}") for w in words
        )
    ]
    assert [p["id"] for p in sections.search(items, query)] == expected
