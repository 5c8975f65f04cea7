"""STATISTIQUES: sales by distribution, as a table and an SVG chart drawn on the server."""

from __future__ import annotations

import math

from litestar import Request, get

from domain.catalogs import statistics
from web.access import Policy, policy
from web.catalogs.menu import catalog_context, managed_catalog
from web.pages import render

# ---- STATISTIQUES ------------------------------------------------------------------------

CHART = {"width": 480, "height": 220, "left": 72, "right": 8, "top": 12, "bottom": 28}


def _nice_ceiling(value: int) -> int:
    """A round top for the chart's scale: 1, 2 or 5 times a power of ten (in cents)."""
    if value <= 0:
        return 100
    power = 10 ** int(math.floor(math.log10(value)))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def sales_chart(points: list[dict]) -> dict:
    """The geometry of a small bar chart of the amounts, drawn as inline SVG by the page."""
    c = CHART
    plot_w = c["width"] - c["left"] - c["right"]
    plot_h = c["height"] - c["top"] - c["bottom"]
    top = _nice_ceiling(max((p["amount_cents"] for p in points), default=0))
    step = plot_w / max(len(points), 1)
    every = max(1, math.ceil(len(points) / 8))  # at most 8 dates written under the bars
    bars = []
    for i, point in enumerate(points):
        height = round(point["amount_cents"] / top * plot_h, 1)
        bars.append(
            {
                "x": round(c["left"] + i * step + step * 0.15, 1),
                "y": round(c["top"] + plot_h - height, 1),
                "w": round(max(step * 0.7, 1), 1),
                "h": height,
                "label_x": round(c["left"] + i * step + step / 2, 1),
                "show_label": i % every == 0,
                **point,
            }
        )
    ticks = [
        {"y": round(c["top"] + plot_h - plot_h * f, 1), "cents": int(top * f)} for f in (0, 0.5, 1)
    ]
    return c | {"bars": bars, "ticks": ticks, "base_y": c["top"] + plot_h}


@get("/g/{slug:str}/catalogues/{catalog_id:int}/statistiques", opt=policy(Policy.CATALOGS))
async def statistics_page(request: Request, slug: str, catalog_id: int) -> object:
    catalog = await managed_catalog(request, catalog_id, edit=False)
    points = await statistics.sales_by_distribution(catalog_id)
    return render(
        request,
        "catalogs/statistics.html",
        catalog_context(
            request,
            catalog,
            "statistiques",
            points=points,
            chart=sales_chart(points),
            total_cents=sum(p["amount_cents"] for p in points),
            top=await statistics.top_products(catalog_id),
        ),
    )


handlers = [
    statistics_page,
]
