"""The registry of mail kinds is complete: every kind the code queues is in it, so the
outbox knows each one (and holds all but the takeover link from an account made in Mode
création)."""

from __future__ import annotations

import re
from pathlib import Path

from domain.notifications import REMINDERS
from domain.ordering.recap import RECAP_KIND
from domain.outbox import kinds

ROOT = Path(__file__).resolve().parents[3]
# `kind="…"` written in the code, not all of them mails: catalogs and groups have kinds.
NOT_MAILS = {"amap", "market", "grocery", "variable", "fixed"} | {
    # ledger operations (domain/payments)
    "order",
    "subscription",
    "membership",
    "adjustment",
    "payment",
    "refund",
}


def kinds_in_the_code() -> set[str]:
    found = set()
    for folder in ("domain", "jobs", "web"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            found |= set(re.findall(r'kind(?:: str)? ?= ?"([a-z_0-9]+)"', text))
    return found - NOT_MAILS


def test_every_kind_queued_by_the_code_is_registered():
    queued = kinds_in_the_code() | set(REMINDERS) | {"orders_open", RECAP_KIND}
    assert {"welcome", "message", "order_recap", "takeover"} <= queued
    assert queued - set(kinds.KINDS) == set()


def test_only_the_takeover_link_reaches_a_held_account():
    assert kinds.TO_HELD_ACCOUNTS == {"takeover"}
    assert kinds.TO_HELD_ACCOUNTS <= set(kinds.KINDS)
    assert kinds.label("orders_open") == "Ouverture des commandes"
    assert kinds.label("inconnu") == "Message"
