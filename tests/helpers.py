"""Acting as a person through the HTTP stack: forms carry the CSRF token like a browser's."""

from __future__ import annotations

import contextvars
import re

from domain import accounts, groups

PASSWORD = "motdepasse-solide"


async def csrf_token(client) -> str:
    token = client.cookies.get("csrftoken")
    if not token:
        await client.get("/connexion")
        token = client.cookies.get("csrftoken")
    return token


async def post_form(client, url: str, data: dict | None = None, *, htmx: bool = False, **kwargs):
    payload = dict(data or {})
    payload["_csrf_token"] = await csrf_token(client)
    headers = kwargs.pop("headers", {})
    if htmx:
        headers["HX-Request"] = "true"
    return await client.post(url, data=payload, headers=headers, **kwargs)


async def make_user(email: str, first_name: str = "Alice", last_name: str = "Durand") -> int:
    ctx = accounts.MailContext(instance="main", site_name="Test", base_url="http://localhost")
    user_id, _ = await accounts.sign_up(
        email=email, password=PASSWORD, first_name=first_name, last_name=last_name, ctx=ctx
    )
    return user_id


async def make_group(admin_id: int, name: str = "AMAP du Test", kind: str = "amap") -> dict:
    return await groups.create_group(
        user_id=admin_id,
        name=name,
        kind=kind,
        registration="open",
        description="",
        instance="main",
    )


async def login(client, email: str, password: str = PASSWORD):
    response = await post_form(client, "/connexion", {"email": email, "password": password})
    assert response.status_code in (200, 303), response.text
    return response


def link_in(text: str, path_prefix: str) -> str:
    match = re.search(rf"https?://[^\s\"<>]*{re.escape(path_prefix)}[^\s\"<>]*", text)
    assert match, f"aucun lien {path_prefix} dans : {text}"
    return match.group(0)


async def make_distribution_world(
    admin_id: int,
    *,
    kind: str = "market",
    registration: str = "open",
    products: int = 3,
    stock: int | None = None,
    opens_in_hours: float = -1,
    closes_in_hours: float = 48,
    name: str = "Marché Test",
) -> dict:
    """A group with a producer, a catalog delivering at one distribution and products."""
    from datetime import UTC, date, datetime, timedelta

    from domain.tables import (
        Catalog,
        CatalogDistribution,
        Distribution,
        Place,
        Product,
        Vendor,
    )

    group = await make_group(admin_id, name, kind)
    if registration != "open":
        from domain.groups import update_settings

        group = await update_settings(
            group["id"], name=name, kind=kind, registration=registration, description=""
        )
    now = datetime.now(UTC)
    place = (await Place.insert(Place(group=group["id"], name="Halle")).returning(Place.id))[0]
    starts = now + timedelta(hours=closes_in_hours + 24)
    dist = (
        await Distribution.insert(
            Distribution(
                group=group["id"],
                place=place["id"],
                starts_at=starts,
                ends_at=starts + timedelta(hours=2),
                orders_open_at=now + timedelta(hours=opens_in_hours),
                orders_close_at=now + timedelta(hours=closes_in_hours),
            )
        ).returning(Distribution.id)
    )[0]["id"]
    vendor = (
        await Vendor.insert(Vendor(group=group["id"], name="Ferme du Test")).returning(Vendor.id)
    )[0]["id"]
    catalog = (
        await Catalog.insert(
            Catalog(
                group=group["id"],
                vendor=vendor,
                name="Légumes",
                kind="variable",
                starts_on=date.today() - timedelta(days=30),
                ends_on=date.today() + timedelta(days=365),
            )
        ).returning(Catalog.id)
    )[0]["id"]
    await CatalogDistribution.insert(CatalogDistribution(catalog=catalog, distribution=dist))
    product_ids = []
    for start in range(0, products, 500):
        rows = await Product.insert(
            *[
                Product(
                    catalog=catalog,
                    name=f"Produit {i:03d}",
                    unit="kg",
                    price_cents=150 + i,
                    stock=stock,
                    position=i,
                )
                for i in range(start, min(products, start + 500))
            ]
        ).returning(Product.id)
        product_ids += [row["id"] for row in rows]
    return {
        "group": group,
        "distribution": dist,
        "catalog": catalog,
        "vendor": vendor,
        "products": product_ids,
        "url": f"/g/{group['slug']}/commandes/{dist}",
    }


_COUNTING: contextvars.ContextVar[QueryCounter | None] = contextvars.ContextVar(
    "query_counter", default=None
)


class QueryCounter:
    """Counts the SQL statements the engine runs for the code inside the `with` block (a
    context manager over the real engine). Only statements run from this context count: the
    app's background sweep and in-process job threads have their own, so they never skew it."""

    def __init__(self) -> None:
        self.count = 0

    def __enter__(self):
        from domain.database import db

        self.cls = type(db())
        self.original = self.cls.run_querystring
        self.token = _COUNTING.set(self)
        original = self.original

        async def counting(engine, querystring, *args, **kwargs):
            counter = _COUNTING.get()
            if counter is not None:
                counter.count += 1
            return await original(engine, querystring, *args, **kwargs)

        self.cls.run_querystring = counting
        return self

    def __exit__(self, *exc):
        self.cls.run_querystring = self.original
        _COUNTING.reset(self.token)
