"""STATISTIQUES' chart geometry (pure functions of web/catalogs/statistics.py)."""

from __future__ import annotations

import re

import pytest

from web.catalogs.statistics import CHART, _nice_ceiling, sales_chart

PLOT_H = CHART["height"] - CHART["top"] - CHART["bottom"]  # 180
BASE_Y = CHART["top"] + PLOT_H  # 192


@pytest.mark.parametrize(
    ("value", "top"),
    [
        (-5, 100),
        (0, 100),
        (1, 1),
        (7, 10),
        (10, 10),
        (11, 20),
        (150, 200),
        (201, 500),
        (500, 500),
        (501, 1000),
        (1001, 2000),
        (123456, 200000),
    ],
)
def test_nice_ceiling(value, top):
    assert _nice_ceiling(value) == top


def test_nice_ceiling_is_a_round_top_above_any_value():
    for power in range(0, 16):
        for value in (10**power - 1, 10**power, 10**power + 1, 3 * 10**power, 5 * 10**power + 1):
            if value <= 0:
                continue
            top = _nice_ceiling(value)
            assert value <= top < 10 * value + 10, value
            assert re.fullmatch(r"[125]0*", str(top)), (value, top)


def test_bars_scale_to_the_round_top():
    chart = sales_chart([{"amount_cents": 1500, "label": "a"}, {"amount_cents": 0, "label": "b"}])
    assert chart["base_y"] == BASE_Y
    assert [t["cents"] for t in chart["ticks"]] == [0, 1000, 2000]
    assert [t["y"] for t in chart["ticks"]] == [BASE_Y, 102.0, CHART["top"]]
    first, second = chart["bars"]
    assert first["h"] == 135.0 and first["y"] == BASE_Y - 135.0  # 1500 / 2000 of 180 px
    assert second["h"] == 0.0 and second["y"] == BASE_Y
    assert (first["x"], first["w"], first["label_x"]) == (102.0, 140.0, 172.0)
    assert first["label"] == "a" and first["amount_cents"] == 1500  # the point's own keys


def test_the_highest_bar_may_reach_the_top():
    chart = sales_chart([{"amount_cents": 2000}])
    assert chart["bars"][0]["h"] == PLOT_H and chart["bars"][0]["y"] == CHART["top"]


def test_at_most_eight_dates_are_written():
    chart = sales_chart([{"amount_cents": i * 100} for i in range(20)])
    shown = [i for i, bar in enumerate(chart["bars"]) if bar["show_label"]]
    assert shown == [0, 3, 6, 9, 12, 15, 18]
    assert all(bar["w"] >= 1 for bar in chart["bars"])
    right = CHART["width"] - CHART["right"]
    assert chart["bars"][-1]["x"] + chart["bars"][-1]["w"] <= right


def test_an_empty_chart():
    chart = sales_chart([])
    assert chart["bars"] == []
    assert [t["cents"] for t in chart["ticks"]] == [0, 50, 100]
