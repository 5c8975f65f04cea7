"""Products of a producer's list (the producer space's Produits) and the catalogs that
take them, for the world builders (domain/demo/world.py)."""

from __future__ import annotations

from collections.abc import Iterable

from domain.demo.rows import insert as _insert
from domain.tables import Catalog, CatalogOffer, Product


async def list_products(
    producer_id: int,
    items: int | Iterable[tuple[str, int]] = 3,
    *,
    name: str = "Article {i:03d}",
    price_cents: int = 150,
    **fields,
) -> list[int]:
    """Products of a producer's list (no catalog of their own), as `products` makes them;
    `escarcelle_id` and `reference` may be templates of `i`."""
    pairs = (
        [(name.format(i=i), price_cents + i) for i in range(items)]
        if isinstance(items, int)
        else list(items)
    )
    templates = {k: fields.pop(k) for k in ("reference", "escarcelle_id") if k in fields}
    return await _insert(
        Product,
        [
            {
                "catalog": None,
                "producer": producer_id,
                "name": product_name,
                "price_cents": price,
                "position": i,
                **{k: v.format(i=i) for k, v in templates.items()},
                **fields,
            }
            for i, (product_name, price) in enumerate(pairs)
        ],
    )


async def offer(catalog_id: int, product_ids: Iterable[int]) -> None:
    """The catalog takes these products of its producer's list."""
    row = await Catalog.select(Catalog.group).where(Catalog.id == catalog_id).first()
    await _insert(
        CatalogOffer,
        [{"catalog": catalog_id, "product": p, "group": row["group"]} for p in product_ids],
    )
