"""What an order form says: the table by product and the list by member of one catalog at
one distribution (the COMMANDES recaps, validated orders only), their grand total, and
the same as a CSV a French spreadsheet opens as it is (`;`, BOM, decimal commas, French
headers: domain/kernel/csvio)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from domain.catalog_orders import recaps
from domain.groups import slugify
from domain.kernel import csvio
from domain.kernel.dates import label, local
from domain.kernel.money import decimal, euros

PRODUCT_HEADER = ["Produit", "Référence", "Unité", "Quantité", "Prix unitaire", "Total"]
MEMBER_HEADER = [
    "Adhérent",
    "Produit",
    "Référence",
    "Unité",
    "Quantité",
    "Prix unitaire",
    "Total",
]


@dataclass
class OrderFormContent:
    """One catalog's orders at one distribution, as the producer reads them."""

    products: list[dict]  # name, reference, unit, quantity, unit_price_cents, total_cents
    members: list[dict]  # name, lines [{name, reference, unit, quantity, ...}], total_cents
    quantity: int
    total_cents: int
    references: dict[int, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.products


async def read(catalog_id: int, distribution_id: int) -> OrderFormContent:
    """The form's content: three queries (by product; members and their lines)."""
    by_product = await recaps.by_product(catalog_id, distribution_id)
    members = await recaps.all_members(catalog_id, distribution_id)
    references = {row["product_id"]: row["reference"] for row in by_product.rows}
    return OrderFormContent(
        products=by_product.rows,
        members=members,
        quantity=by_product.quantity,
        total_cents=by_product.total_cents,
        references=references,
    )


@dataclass
class Heading:
    """Whose form it is, for when, and which version."""

    vendor: str
    catalog: str
    group: str
    starts_at: datetime
    place: str
    version: int = 1
    previous_at: datetime | None = None  # when the form this one replaces was sent

    @property
    def title(self) -> str:
        return f"{self.vendor} – {self.catalog}"

    @property
    def updated(self) -> bool:
        return self.version > 1


def csv_rows(form: OrderFormContent, heading: Heading) -> list[list]:
    rows: list[list] = [
        ["Bon de commande", heading.title],
        ["Groupe", heading.group],
        ["Distribution", label(heading.starts_at), heading.place],
    ]
    if heading.updated:
        rows.append(
            [
                "Mise à jour",
                f"n° {heading.version}",
                f"remplace le bon du {label(heading.previous_at)}" if heading.previous_at else "",
            ]
        )
    rows += [[], PRODUCT_HEADER]
    for r in form.products:
        rows.append(
            [
                csvio.cell(r["name"]),
                csvio.cell(r["reference"]),
                csvio.cell(r["unit"]),
                r["quantity"],
                decimal(r["unit_price_cents"]),
                decimal(r["total_cents"]),
            ]
        )
    rows += [["Total", "", "", form.quantity, "", decimal(form.total_cents)], [], MEMBER_HEADER]
    for m in form.members:
        who = csvio.cell(m["name"])
        for line in m["lines"]:
            rows.append(
                [
                    who,
                    csvio.cell(line["name"]),
                    csvio.cell(form.references.get(line["product_id"], "")),
                    csvio.cell(line["unit"]),
                    line["quantity"],
                    decimal(line["unit_price_cents"]),
                    decimal(line["total_cents"]),
                ]
            )
    rows.append(["Total", "", "", "", form.quantity, "", decimal(form.total_cents)])
    return rows


def csv_bytes(form: OrderFormContent, heading: Heading) -> bytes:
    return csvio.file_bytes(csv_rows(form, heading))


def file_name(heading: Heading) -> str:
    """ "bon-de-commande-2026-04-04-ferme-des-saules-legumes.csv" (sorts by day)."""
    name = slugify(f"{heading.vendor} {heading.catalog}")[:80]
    suffix = f"-maj{heading.version}" if heading.updated else ""
    return f"bon-de-commande-{local(heading.starts_at):%Y-%m-%d}-{name}{suffix}.csv"


def mail_context(form: OrderFormContent, heading: Heading) -> dict:
    """What the mail templates show (amounts written as people read them)."""
    return {
        "title": heading.title,
        "group_name": heading.group,
        "when": label(heading.starts_at),
        "place": heading.place,
        "version": heading.version,
        "updated": heading.updated,
        "previous": label(heading.previous_at) if heading.previous_at else "",
        "empty": form.empty,
        "products": [
            r
            | {
                "unit_price": euros(r["unit_price_cents"]),
                "total": euros(r["total_cents"]),
            }
            for r in form.products
        ],
        "members": [
            {
                "name": m["name"],
                "lines": ", ".join(f"{line['quantity']} × {line['name']}" for line in m["lines"]),
                "total": euros(m["total_cents"]),
            }
            for m in form.members
        ],
        "member_count": len(form.members),
        "quantity": form.quantity,
        "total": euros(form.total_cents),
    }
