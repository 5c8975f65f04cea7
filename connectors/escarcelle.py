"""Escarcelle's partner API, as this project assumes it (it is not publicly documented): the
whole contract is here, so that adapting to the real API is a change in this one module.

- a key per grocery (Escarcelle → Paramètres → API), sent as `Authorization: Bearer`;
- amounts in cents; a shared national catalogue in which a grocery's products are those it
  has stock of; products carry barcodes (EAN) and no weight or volume;
- `GET /me` → the grocery (`pdv_id`, `name`); 401 for a bad key;
- `GET /products?in_stock=true&page=&per_page=` → `{items: [...], page, per_page, total}`;
  `GET /products?barcode=` → the same, for the products of that barcode (stock or not);
- `GET /stocks?product_ids=1,2,…` → `{items: [{product_id, qty}]}`;
- `POST /sales` with `Idempotency-Key` → 201 `{id}` the first time, 200 with the same body
  on a repeat; 422 for an unknown product or client; 409 for a stock conflict;
- errors: 401, 403, 404, 422, 429 (with `Retry-After`), 5xx, timeouts.

Every call has a timeout; 429, 5xx, timeouts and refused connections are retried a few
times with a doubling back-off (honouring `Retry-After`, within a cap), then raised as
`Unavailable`. Nothing of the key is ever logged or put in an error: errors name the call
and the status only. Plain client of the outside world: msgspec Structs in and out,
nothing of the project imported.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Awaitable, Callable

import httpx
import msgspec

PER_PAGE = 100  # products per page of the catalogue
STOCK_BATCH = 100  # product ids per GET /stocks


# ---- the contract's data -------------------------------------------------------------------


class Grocery(msgspec.Struct, frozen=True):
    pdv_id: str | int
    name: str


class Product(msgspec.Struct, frozen=True):
    id: str | int
    name: str
    price_cents: int
    barcodes: list[str] = []
    vat_rate: float = 5.5  # a percentage: 5.5, 20
    category: str | None = None
    sold_by_weight: bool = False
    stock: int = 0


class ProductPage(msgspec.Struct, frozen=True):
    items: list[Product]
    page: int = 1
    per_page: int = PER_PAGE
    total: int = 0


class StockLevel(msgspec.Struct, frozen=True):
    product_id: str | int
    qty: int


class StockLevels(msgspec.Struct, frozen=True):
    items: list[StockLevel]


class SaleLine(msgspec.Struct, frozen=True):
    product_id: str
    quantity: int
    unit_price_cents: int


class Sale(msgspec.Struct, frozen=True):
    """A ticket: the basket of one member at one distribution."""

    lines: list[SaleLine]
    client_id: str | None = None
    reference: str = ""  # ours, shown in Escarcelle
    sold_at: str = ""  # ISO 8601


class SaleReceipt(msgspec.Struct, frozen=True):
    id: str | int


class _Problem(msgspec.Struct):
    error: str = ""
    detail: str = ""


# ---- errors ----------------------------------------------------------------------------------


class EscarcelleError(Exception):
    """A call that did not give what was asked; `message` is French, names the call and the
    answer, never the key."""

    def __init__(self, message: str, *, status: int | None = None, detail: str = ""):
        super().__init__(message)
        self.message = message
        self.status = status
        self.detail = detail


class Unauthorized(EscarcelleError):
    """401: the key is wrong or was revoked in Escarcelle."""


class Forbidden(EscarcelleError):
    """403: the key may not do this."""


class NotFound(EscarcelleError):
    """404."""


class Rejected(EscarcelleError):
    """422: an unknown product or client (the detail says which)."""


class Conflict(EscarcelleError):
    """409: a stock conflict."""


class Unavailable(EscarcelleError):
    """Down, too slow, overloaded (429) or failing (5xx) after the retries: try later."""


class Malformed(Unavailable):
    """The answer is not what the contract says (not JSON, missing fields)."""


# ---- the client --------------------------------------------------------------------------------


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff(attempt: int, base: float, cap: float) -> float:
    """The wait before retry `attempt` (0, 1, …): doubling from `base`, a little jitter, at
    most `cap`."""
    return min(cap, base * (2**attempt)) * (0.8 + 0.4 * random.random())  # noqa: S311


class Client:
    """One grocery's access to Escarcelle. `timeout`: seconds per call (connect, read,
    write); `retries`: extra tries after a 429, a 5xx or a timeout; waits double from
    `backoff` seconds, a Retry-After is honoured up to `max_wait`. `calls` counts the HTTP
    requests made (the benchmark prints it)."""

    def __init__(
        self,
        base_url: str,
        key: str,
        *,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_wait: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {key}", "Accept": "application/json"},
            timeout=httpx.Timeout(timeout),
            transport=transport,
        )
        self.retries = retries
        self.backoff = backoff
        self.max_wait = max_wait
        self._sleep = sleep
        self.calls = 0

    def __repr__(self) -> str:  # never the key
        return f"<Escarcelle {self._http.base_url}>"

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        body: bytes | None = None,
        headers: dict | None = None,
    ) -> httpx.Response:
        what = f"{method} {path}"
        attempt = 0
        while True:
            wait: float | None = None
            self.calls += 1
            try:
                response = await self._http.request(
                    method,
                    path,
                    params=params,
                    content=body,
                    headers={
                        **(headers or {}),
                        **({"Content-Type": "application/json"} if body else {}),
                    },
                )
            except httpx.TimeoutException as error:
                problem = Unavailable(f"Escarcelle ne répond pas à temps ({what}).")
                cause: Exception = error
            except httpx.TransportError as error:
                problem = Unavailable(f"Escarcelle est injoignable ({what}).")
                cause = error
            else:
                status = response.status_code
                if status < 400:
                    return response
                detail = _detail(response)
                if status == 429 or status >= 500:
                    problem = Unavailable(
                        f"Escarcelle est indisponible ({what} : {status}).", status=status
                    )
                    cause = None
                    if status == 429:
                        wait = retry_after(response.headers.get("Retry-After"))
                else:
                    kind = {401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict}.get(
                        status, Rejected
                    )
                    raise kind(
                        f"Escarcelle refuse {what} ({status}){' : ' + detail if detail else ''}.",
                        status=status,
                        detail=detail,
                    )
            if attempt >= self.retries:
                raise problem from cause
            delay = backoff(attempt, self.backoff, self.max_wait)
            if wait is not None:
                delay = max(delay, min(wait, self.max_wait))
            await self._sleep(delay)
            attempt += 1

    async def _json(self, what: str, response: httpx.Response, kind: type):
        try:
            return msgspec.json.decode(response.content, type=kind)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            raise Malformed(
                f"Réponse inattendue d'Escarcelle ({what}) : {str(error)[:120]}"
            ) from error

    # ---- the calls ---------------------------------------------------------------------------

    async def me(self) -> Grocery:
        return await self._json("GET /me", await self._call("GET", "/me"), Grocery)

    async def products_page(self, page: int = 1, per_page: int = PER_PAGE) -> ProductPage:
        params = {"in_stock": "true", "page": page, "per_page": per_page}
        response = await self._call("GET", "/products", params=params)
        return await self._json("GET /products", response, ProductPage)

    async def products_in_stock(
        self, per_page: int = PER_PAGE, limit: int = 100_000
    ) -> list[Product]:
        """Every page of the grocery's products with stock > 0 (more than `limit`: stops
        there, the caller sees there were more)."""
        found: list[Product] = []
        page = 1
        while True:
            batch = await self.products_page(page, per_page)
            found += batch.items
            if not batch.items or len(found) >= batch.total or len(found) > limit:
                return found
            page += 1

    async def products_by_barcode(self, barcode: str) -> list[Product]:
        response = await self._call("GET", "/products", params={"barcode": barcode})
        return (await self._json("GET /products", response, ProductPage)).items

    async def stocks(self, product_ids: list[str]) -> dict[str, int]:
        """{product id: quantity} in batches of ids; an id Escarcelle does not return is
        absent from the result."""
        levels: dict[str, int] = {}
        for start in range(0, len(product_ids), STOCK_BATCH):
            ids = ",".join(product_ids[start : start + STOCK_BATCH])
            response = await self._call("GET", "/stocks", params={"product_ids": ids})
            for level in (await self._json("GET /stocks", response, StockLevels)).items:
                levels[str(level.product_id)] = level.qty
        return levels

    async def post_sale(self, sale: Sale, idempotency_key: str) -> tuple[SaleReceipt, bool]:
        """(the sale's receipt, True if Escarcelle made it now; False: it had it already)."""
        response = await self._call(
            "POST",
            "/sales",
            body=msgspec.json.encode(sale),
            headers={"Idempotency-Key": idempotency_key},
        )
        receipt = await self._json("POST /sales", response, SaleReceipt)
        return receipt, response.status_code == 201


def _detail(response: httpx.Response) -> str:
    try:
        problem = msgspec.json.decode(response.content, type=_Problem)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return ""
    return (problem.detail or problem.error)[:200]
