"""The product form's rules (the CSV import applies them too)."""

from __future__ import annotations

import pytest

from domain.catalogs.products import VAT_RATES, check_product, form_fields

GOOD = {
    "name": "Pain de campagne",
    "unit": "pièce",
    "price": "3,50",
    "vat_rate": "550",
    "stock": "",
    "max_per_order": "",
    "reference": "",
}


def check(**changes):
    return check_product(**(GOOD | changes))


def test_a_good_product_and_its_defaults():
    values, errors = check(name="  Pain de campagne ", unit="  ", reference=" P-01 ")
    assert errors == {}
    assert values == {
        "name": "Pain de campagne",
        "unit": "pièce",
        "price_cents": 350,
        "vat_rate": 550,
        "stock": None,
        "max_per_order": None,
        "reference": "P-01",
    }


def test_stock_and_maximum_when_given():
    values, errors = check(stock="0", max_per_order="3")
    assert errors == {} and (values["stock"], values["max_per_order"]) == (0, 3)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "Indiquez le nom du produit."),
        ("name", "   ", "Indiquez le nom du produit."),
        ("name", "x" * 151, "Le nom ne doit pas dépasser 150 caractères."),
        ("price", "", "Indiquez un prix en euros, par exemple 3,50."),
        ("price", "-1", "Indiquez un prix en euros, par exemple 3,50."),
        ("price", "3,505", "Indiquez un prix en euros, par exemple 3,50."),
        ("vat_rate", "", "Choisissez un taux de TVA."),
        ("vat_rate", "7", "Choisissez un taux de TVA."),
        ("vat_rate", "5,5", "Choisissez un taux de TVA."),
        ("stock", "-1", "Indiquez un nombre entier positif ou zéro."),
        ("stock", "1,5", "Indiquez un nombre entier positif ou zéro."),
        ("stock", "٣", "Indiquez un nombre entier positif ou zéro."),
        ("max_per_order", "0", "Le maximum par commande doit être d'au moins 1."),
        ("max_per_order", "abc", "Indiquez un nombre entier positif ou zéro."),
    ],
)
def test_each_field_is_refused_with_its_message(field, value, message):
    _, errors = check(**{field: value})
    assert errors == {field: message}


def test_every_vat_rate_is_accepted():
    for rate in VAT_RATES:
        values, errors = check(vat_rate=str(rate))
        assert errors == {} and values["vat_rate"] == rate


def test_name_of_150_characters_is_accepted_and_long_unit_and_reference_are_cut():
    values, errors = check(name="n" * 150, unit="u" * 40, reference="r" * 70)
    assert errors == {}
    assert (len(values["name"]), len(values["unit"]), len(values["reference"])) == (150, 30, 64)


def test_a_free_product_is_allowed():
    values, errors = check(price="0")
    assert errors == {} and values["price_cents"] == 0


def test_a_superscript_vat_rate_is_refused_with_a_message():
    _, errors = check(vat_rate="²")
    assert errors == {"vat_rate": "Choisissez un taux de TVA."}


def test_form_fields_read_back_unchanged():
    product = {
        "name": "Miel",
        "unit": "pot",
        "price_cents": 1205,
        "vat_rate": 550,
        "stock": 0,
        "max_per_order": None,
        "reference": "M1",
    }
    fields = form_fields(product)
    assert fields["price"] == "12,05" and fields["stock"] == "0" and fields["max_per_order"] == ""
    values, errors = check_product(**fields)
    assert errors == {} and values == {k: product[k] for k in values}
