"""A simulator of Escarcelle's partner API as connectors/escarcelle.py assumes it: not the real
Escarcelle (its API is not public), a stand-in that the tests, the benchmark and the demo
(`./dev run`) run as a process of its own:

    python -m connectors.escarcelle_simulator --port 8765 [--products 40] [--key CLE]

In memory: groceries (by key) with their products, stocks and clients (beneficiaries),
stock decremented by sales, `Idempotency-Key` honoured (a repeat answers 200 with the first
answer's body and changes nothing). Faults on demand, for the tests:

    POST /_sim/fault {"mode": "401"|"429"|"500"|"slow"|"slow_after"|"malformed"|"none",
                      "count": 1, "path": "/stocks", "delay": 2.0, "retry_after": 1,
                      "after": 0 (matching calls answered normally first)}
    POST /_sim/reset {"products": 40} · POST /_sim/groceries {...} · GET /_sim/state?key=
    POST /_sim/till {"key", "product_id", "qty"}: a sale at the till · POST /_sim/stock
    GET /_sim/export-mailing: the clients as Escarcelle's Clients → Export Mailing CSV, with
    the end of their access period (« Fin d'accès ») · POST /_sim/client {"key", "id",
    "access_until": "2026-03-31", "email": …}: a client changed (access ended, renewed…)

`slow` waits `delay` seconds before answering; `slow_after` does the work first, then
waits (a sale made whose answer never arrives). A plain ASGI app: no framework.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
from dataclasses import asdict, dataclass, field
from urllib.parse import parse_qs

import msgspec

DEMO_KEY = "esc-demo-0123456789abcdef"
DEMO_PDV = "PDV-4242"
DEMO_NAME = "Épicerie solidaire La Passerelle (simulateur)"

_NAMES = [
    ("Pâtes 500G", "Épicerie salée", False),
    ("Farine 1KG", "Épicerie sucrée", False),
    ("Riz long 1KG", "Épicerie salée", False),
    ("Sucre en poudre 1KG", "Épicerie sucrée", False),
    ("Huile de tournesol 1L", "Épicerie salée", False),
    ("Lait demi-écrémé 1L", "Frais", False),
    ("Café moulu 250G", "Petit déjeuner", False),
    ("Thé noir", "Petit déjeuner", False),
    ("Pommes", "Fruits et légumes", True),
    ("Carottes", "Fruits et légumes", True),
    ("Lentilles vertes 500G", "Épicerie salée", False),
    ("Confiture de fraises 370G", "Petit déjeuner", False),
    ("Savon de Marseille", "Hygiène", False),
    ("Dentifrice 75ML", "Hygiène", False),
    ("Couches T4", "Bébé", False),
    ("Compote de pommes", "Épicerie sucrée", False),
]


def ean13(number: int) -> str:
    """A valid EAN-13 from a 12-digit number (its check digit computed)."""
    body = f"{number:012d}"[-12:]
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


@dataclass
class SimProduct:
    id: str
    name: str
    price_cents: int
    barcodes: list[str]
    vat_rate: float = 5.5
    category: str | None = None
    sold_by_weight: bool = False
    stock: int = 0


@dataclass
class SimGrocery:
    key: str
    pdv_id: str
    name: str
    products: dict[str, SimProduct] = field(default_factory=dict)
    clients: dict[str, dict] = field(default_factory=dict)
    sales: list[dict] = field(default_factory=list)
    replies: dict[str, tuple[int, bytes]] = field(default_factory=dict)  # idempotency


def demo_products(count: int, start: int = 1) -> list[SimProduct]:
    """`count` products: the demo's names first, then numbered ones; a few out of stock."""
    made = []
    for n in range(start, start + count):
        name, category, weight = _NAMES[(n - start) % len(_NAMES)]
        if n - start >= len(_NAMES):
            name = f"{name} n°{n}"
        made.append(
            SimProduct(
                id=str(1000 + n),
                name=name,
                price_cents=80 + (n * 37) % 900,
                barcodes=[ean13(376_000_000_000 + n)],
                vat_rate=20.0 if category == "Hygiène" else 5.5,
                category=category,
                sold_by_weight=weight,
                stock=0 if n % 9 == 0 else 5 + (n * 7) % 40,
            )
        )
    return made


def demo_clients(count: int = 12) -> dict[str, dict]:
    first = ["Amina", "Bruno", "Chloé", "David", "Emma", "Farid", "Gisèle", "Hugo"]
    return {
        f"C{n:04d}": {
            "id": f"C{n:04d}",
            "first_name": first[n % len(first)],
            "last_name": f"Bénéficiaire{n}",
            "email": f"beneficiaire{n}@demo.test",
            "postal_code": "35000",
            "access_until": "2099-12-31",
        }
        for n in range(1, count + 1)
    }


@dataclass
class Fault:
    mode: str
    count: int = 1
    path: str = ""
    delay: float = 0.0
    retry_after: int = 1
    after: int = 0  # matching calls answered normally first


class Simulator:
    def __init__(self, products: int = 40, key: str = DEMO_KEY) -> None:
        self.reset(products, key)

    def reset(self, products: int = 40, key: str = DEMO_KEY) -> None:
        grocery = SimGrocery(key=key, pdv_id=DEMO_PDV, name=DEMO_NAME, clients=demo_clients())
        grocery.products = {p.id: p for p in demo_products(products)}
        self.groceries: dict[str, SimGrocery] = {key: grocery}
        self.faults: list[Fault] = []
        self.calls: list[dict] = []
        self._ids = itertools.count(1)

    # ---- ASGI -----------------------------------------------------------------------------

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        query = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
        status, payload, extra = await self.handle(
            scope["method"], scope["path"], query, headers, body
        )
        raw = payload if isinstance(payload, bytes) else msgspec.json.encode(payload)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": (
                    [] if "content-type" in extra else [(b"content-type", b"application/json")]
                )
                + [(k.encode(), v.encode()) for k, v in extra.items()],
            }
        )
        await send({"type": "http.response.body", "body": raw})

    async def handle(self, method, path, query, headers, body):
        if path.startswith("/_sim/"):
            return self.control(method, path, query, body)
        # Logged on arrival: a slow request still running after a reset stays in the old log.
        call = {"method": method, "path": path, "status": None}
        self.calls.append(call)
        fault = self._fault(path)
        after = None
        if fault is not None:
            if fault.mode == "slow":
                await asyncio.sleep(fault.delay)
            elif fault.mode == "slow_after":
                after = fault.delay
            elif fault.mode == "malformed":
                return self._answer(call, 200, b'{"items": [{"id": ', {})
            else:
                status = int(fault.mode)
                extra = {"Retry-After": str(fault.retry_after)} if status == 429 else {}
                return self._answer(call, status, {"error": f"simulated {status}"}, extra)
        answer = self.api(method, path, query, headers, body)
        if after is not None:
            await asyncio.sleep(after)
        return self._answer(call, *answer)

    def _fault(self, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.count > 0 and (not fault.path or path.startswith(fault.path)):
                if fault.after > 0:
                    fault.after -= 1
                    return None
                fault.count -= 1
                return fault
        return None

    @staticmethod
    def _answer(call, status, payload, extra=None):
        call["status"] = status
        return status, payload, extra or {}

    # ---- the contract -------------------------------------------------------------------

    def api(self, method, path, query, headers, body):
        auth = headers.get("authorization", "")
        grocery = self.groceries.get(auth.removeprefix("Bearer ").strip())
        if grocery is None or not auth.startswith("Bearer "):
            return 401, {"error": "unauthorized", "detail": "clé inconnue"}, {}
        if method == "GET" and path == "/me":
            return 200, {"pdv_id": grocery.pdv_id, "name": grocery.name}, {}
        if method == "GET" and path == "/products":
            return 200, self._products(grocery, query), {}
        if method == "GET" and path == "/stocks":
            ids = [i for i in query.get("product_ids", "").split(",") if i]
            items = [
                {"product_id": i, "qty": grocery.products[i].stock}
                for i in ids
                if i in grocery.products
            ]
            return 200, {"items": items}, {}
        if method == "POST" and path == "/sales":
            return self._sale(grocery, headers.get("idempotency-key", ""), body)
        return 404, {"error": "not_found"}, {}

    def _products(self, grocery: SimGrocery, query: dict) -> dict:
        items = list(grocery.products.values())
        if "barcode" in query:
            wanted = query["barcode"].lstrip("0")
            items = [p for p in items if any(b.lstrip("0") == wanted for b in p.barcodes)]
            return {"items": [asdict(p) for p in items], "page": 1, "per_page": 100,
                    "total": len(items)}  # fmt: skip
        if query.get("in_stock") == "true":
            items = [p for p in items if p.stock > 0]
        page = max(1, int(query.get("page", "1") or 1))
        per_page = min(200, max(1, int(query.get("per_page", "100") or 100)))
        chunk = items[(page - 1) * per_page : page * per_page]
        return {"items": [asdict(p) for p in chunk], "page": page, "per_page": per_page,
                "total": len(items)}  # fmt: skip

    def _sale(self, grocery: SimGrocery, key: str, body: bytes):
        if not key:
            return 422, {"error": "idempotency_key_missing"}, {}
        if key in grocery.replies:
            status, raw = grocery.replies[key]
            return 200, raw, {}
        try:
            sale = msgspec.json.decode(body)
            lines = sale["lines"]
        except (msgspec.DecodeError, KeyError, TypeError):
            return 422, {"error": "bad_sale"}, {}
        client = sale.get("client_id")
        if client is not None and client not in grocery.clients:
            return 422, {"error": "unknown_client", "detail": f"client {client} inconnu"}, {}
        for line in lines:
            product = grocery.products.get(str(line.get("product_id")))
            if product is None:
                detail = f"produit {line.get('product_id')} inconnu"
                return 422, {"error": "unknown_product", "detail": detail}, {}
            if line["quantity"] > product.stock:
                detail = f"stock insuffisant pour {product.id}"
                return 409, {"error": "stock_conflict", "detail": detail}, {}
        for line in lines:
            grocery.products[str(line["product_id"])].stock -= line["quantity"]
        sale_id = f"T{next(self._ids):06d}"
        grocery.sales.append({"id": sale_id, "key": key, **sale})
        raw = msgspec.json.encode({"id": sale_id})
        grocery.replies[key] = (201, raw)
        return 201, raw, {}

    # ---- control (tests, demo) ----------------------------------------------------------

    def control(self, method, path, query, body):
        data = msgspec.json.decode(body) if body else {}
        if path == "/_sim/health":
            return 200, {"ok": True}, {}
        if path == "/_sim/reset" and method == "POST":
            self.reset(int(data.get("products", 40)), data.get("key", DEMO_KEY))
            return 200, {"ok": True}, {}
        if path == "/_sim/fault" and method == "POST":
            if data.get("mode") == "none":
                self.faults = []
            else:
                self.faults.append(Fault(**data))
            return 200, {"ok": True}, {}
        if path == "/_sim/groceries" and method == "POST":
            grocery = SimGrocery(key=data["key"], pdv_id=str(data["pdv_id"]), name=data["name"])
            count = int(data.get("products", 0))
            grocery.products = {p.id: p for p in demo_products(count, int(data.get("start", 1)))}
            for product in data.get("items", []):
                grocery.products[str(product["id"])] = SimProduct(**product)
            grocery.clients = demo_clients(int(data.get("clients", 12)))
            self.groceries[grocery.key] = grocery
            return 200, {"ok": True}, {}
        grocery = self.groceries.get(query.get("key") or data.get("key") or DEMO_KEY)
        if grocery is None:
            return 404, {"error": "no such grocery"}, {}
        if path == "/_sim/state":
            return 200, {
                "products": {i: asdict(p) for i, p in grocery.products.items()},
                "sales": grocery.sales,
                "clients": grocery.clients,
                "calls": self.calls,
            }, {}  # fmt: skip
        if path == "/_sim/export-mailing":
            # Clients → Export Mailing, as Escarcelle writes it (Windows-1252, « ; »).
            # The end of each client's access period as its last column (jj/mm/aaaa).
            lines = ["Code client;Nom;Prénom;Adresse;Code postal;Ville;Téléphone;Email;Fin d'accès"]
            for c in grocery.clients.values():
                end = c.get("access_until") or ""
                if end:
                    end = "/".join(reversed(end.split("-")))  # 2099-12-31 -> 31/12/2099
                lines.append(
                    f"{c['id']};{c['last_name']};{c['first_name']};;{c['postal_code']};Rennes;;"
                    f"{c['email']};{end}"
                )
            raw = ("\r\n".join(lines) + "\r\n").encode("cp1252")
            return 200, raw, {"content-type": "text/csv; charset=windows-1252"}
        if path == "/_sim/client" and method == "POST":
            client = grocery.clients[str(data["id"])]
            client.update({k: v for k, v in data.items() if k in client and k != "id"})
            return 200, client, {}
        if path in ("/_sim/till", "/_sim/stock") and method == "POST":
            product = grocery.products[str(data["product_id"])]
            qty = int(data["qty"])
            product.stock = product.stock - qty if path == "/_sim/till" else qty
            return 200, {"stock": product.stock}, {}
        return 404, {"error": "not_found"}, {}


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="Simulateur de l'API Escarcelle (supposée).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--products", type=int, default=40)
    parser.add_argument("--key", default=DEMO_KEY)
    parser.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="s'arrêter quand le processus parent s'arrête",
    )
    args = parser.parse_args(argv)
    app = Simulator(args.products, args.key)
    if args.exit_with_parent:
        _watch_parent()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", lifespan="on")


def _watch_parent() -> None:
    """The demo's simulator goes when the app that started it goes, however it went."""
    import os
    import threading
    import time

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


if __name__ == "__main__":
    main()
