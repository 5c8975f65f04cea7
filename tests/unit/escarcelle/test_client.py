"""The Escarcelle client's rules, over httpx's MockTransport (no network): retries with
back-off honouring Retry-After, which answers are retried, how errors map, and that the key
never shows in an error or a repr."""

from __future__ import annotations

import httpx
import msgspec
import pytest

from connectors import escarcelle as esc

KEY = "cle-tres-secrete-1234"


def client_of(answers: list, waits: list | None = None, **options) -> esc.Client:
    """A client whose calls get `answers` in turn (a Response, or an exception to raise)."""
    waits = [] if waits is None else waits
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == f"Bearer {KEY}"
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    return esc.Client(
        "http://esc.test", KEY, transport=httpx.MockTransport(handler), sleep=sleep, **options
    )


def ok(data: dict, status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=msgspec.json.encode(data))


async def test_429_is_retried_after_the_time_it_asks():
    waits: list[float] = []
    client = client_of(
        [httpx.Response(429, headers={"Retry-After": "7"}), ok({"pdv_id": 4, "name": "É"})],
        waits,
    )
    grocery = await client.me()
    assert (grocery.pdv_id, grocery.name, client.calls) == (4, "É", 2)
    assert waits[0] >= 7


async def test_5xx_and_timeouts_are_retried_with_a_doubling_wait_then_unavailable():
    waits: list[float] = []
    client = client_of(
        [httpx.Response(500), httpx.ReadTimeout("t"), httpx.Response(503), httpx.Response(502)],
        waits,
        retries=3,
        backoff=1.0,
    )
    with pytest.raises(esc.Unavailable) as raised:
        await client.me()
    assert client.calls == 4
    assert [round(w) for w in waits] == [1, 2, 4] or all(
        lo <= w <= hi
        for w, (lo, hi) in zip(waits, [(0.8, 1.2), (1.6, 2.4), (3.2, 4.8)], strict=True)
    )
    assert "GET /me" in raised.value.message and KEY not in raised.value.message


@pytest.mark.parametrize(
    ("status", "kind"),
    [(401, esc.Unauthorized), (403, esc.Forbidden), (404, esc.NotFound), (409, esc.Conflict),
     (422, esc.Rejected)],
)  # fmt: skip
async def test_client_errors_are_not_retried(status, kind):
    client = client_of([ok({"error": "x", "detail": "produit 12 inconnu"}, status)])
    with pytest.raises(kind) as raised:
        await client.me()
    assert client.calls == 1 and raised.value.status == status
    if status == 422:
        assert raised.value.detail == "produit 12 inconnu"


async def test_a_malformed_answer_is_reported_not_retried():
    client = client_of([httpx.Response(200, content=b'{"items": [')])
    with pytest.raises(esc.Malformed):
        await client.products_page()
    assert client.calls == 1


async def test_every_page_of_the_products_is_read():
    def page(n, items, total):
        return ok({"items": items, "page": n, "per_page": 2, "total": total})

    item = {"id": 1, "name": "Pâtes 500G", "price_cents": 120, "barcodes": ["3760000000017"]}
    client = client_of([page(1, [item, item], 5), page(2, [item, item], 5), page(3, [item], 5)])
    assert len(await client.products_in_stock(per_page=2)) == 5
    assert client.calls == 3


async def test_a_sale_says_whether_it_was_made_now():
    sale = esc.Sale(lines=[esc.SaleLine(product_id="1", quantity=2, unit_price_cents=120)])
    client = client_of([ok({"id": "T1"}, 201), ok({"id": "T1"}, 200)])
    assert await client.post_sale(sale, "k") == (esc.SaleReceipt(id="T1"), True)
    assert await client.post_sale(sale, "k") == (esc.SaleReceipt(id="T1"), False)


def test_retry_after_reads_seconds_and_dates():
    assert esc.retry_after("12") == 12
    assert esc.retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470) == 10
    assert esc.retry_after("soon") is None and esc.retry_after(None) is None


def test_the_key_is_not_in_the_repr():
    assert KEY not in repr(esc.Client("http://esc.test", KEY))
