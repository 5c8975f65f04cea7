"""What a catalog offers: its own products (`product.catalog`), and the products of its
producer's list that it takes (`catalog_offer`). A product of the list has no catalog of
its own and one stock, whatever the number of catalogs offering it; one catalog per group
offers it (unique (product, group)), so that an order line belongs to exactly one
catalog: the one of its order's group that offers its product.

Every query "of a catalog" goes through here: the Piccolo conditions and the SQL
fragments, so that the two ways a catalog holds a product are written once.
"""

from __future__ import annotations

from domain.tables import CatalogOffer, OrderLine, Product

# For SQL written out, `p` being the product's alias: two parameters, the catalog twice.
# Exact when the query is about one distribution of the catalog (its group's).
OFFERED_SQL = (
    "(p.catalog = {} OR p.id IN (SELECT co.product FROM catalog_offer co WHERE co.catalog = {}))"
)
# For lines over every distribution, `o` being the order's alias: a product of the list
# counts only at the distributions of the catalog's group. Two parameters: the catalog twice.
LINE_SQL = (
    "(p.catalog = {} OR EXISTS (SELECT 1 FROM catalog_offer co JOIN distribution od "
    'ON od."group" = co."group" WHERE co.product = p.id AND co.catalog = {} '
    "AND od.id = o.distribution))"
)


def offered_ids(catalog_id: int):
    """Sub-query: the ids of the list's products this catalog takes."""
    return CatalogOffer.select(CatalogOffer.product).where(CatalogOffer.catalog == catalog_id)


def offered(catalog_id: int):
    """Condition on Product: the catalog offers it (its own or taken from the list)."""
    return (Product.catalog == catalog_id) | Product.id.is_in(offered_ids(catalog_id))


def line_offered(catalog_id: int):
    """Condition on OrderLine (of one distribution of the catalog): its product is offered
    by the catalog."""
    return (OrderLine.product.catalog == catalog_id) | OrderLine.product.is_in(
        offered_ids(catalog_id)
    )


async def catalogs_of_products(product_ids: list[int], group_id: int) -> dict[int, int]:
    """{product: catalog} for products of the list offered in this group (one query)."""
    if not product_ids:
        return {}
    rows = await CatalogOffer.select(CatalogOffer.product, CatalogOffer.catalog).where(
        CatalogOffer.product.is_in(sorted(set(product_ids))) & (CatalogOffer.group == group_id)
    )
    return {row["product"]: row["catalog"] for row in rows}


async def taken_products(catalog_id: int) -> list[dict]:
    """The products of the list the catalog takes, for its PRODUITS page (read-only there:
    they are edited in the producer space)."""
    return (
        await CatalogOffer.select(
            CatalogOffer.product.id.as_alias("id"),
            CatalogOffer.product.name.as_alias("name"),
            CatalogOffer.product.unit.as_alias("unit"),
            CatalogOffer.product.category.as_alias("category"),
            CatalogOffer.product.price_cents.as_alias("price_cents"),
            CatalogOffer.product.vat_rate.as_alias("vat_rate"),
            CatalogOffer.product.stock.as_alias("stock"),
            CatalogOffer.product.reference.as_alias("reference"),
            CatalogOffer.product.active.as_alias("active"),
            CatalogOffer.product.photo_version.as_alias("photo_version"),
        )
        .where(CatalogOffer.catalog == catalog_id)
        .order_by(CatalogOffer.product.position)
        .order_by(CatalogOffer.product.name)
    )


async def vendor_names(product_ids: list[int], group_id: int) -> dict[int, str]:
    """{product: the name of the vendor whose catalog offers it in this group}."""
    if not product_ids:
        return {}
    rows = await CatalogOffer.select(
        CatalogOffer.product, CatalogOffer.catalog.vendor.name.as_alias("vendor_name")
    ).where(CatalogOffer.product.is_in(sorted(set(product_ids))) & (CatalogOffer.group == group_id))
    return {row["product"]: row["vendor_name"] for row in rows}
