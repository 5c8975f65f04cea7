"""m0009 on a database holding data: migrated up to m0008, filled, migrated to the end.
Every row stays with its values (but the rows m0009 normalises), foreign keys hold, and
the new constraints are active.

The database is one of its own, never the session's: a SQLite file in a temporary folder,
or with TEST_DATABASE=postgres a PostgreSQL database created and dropped here. The steps
run in processes of their own (tests/database/migration_steps.py), since piccolo_conf
picks the engine from DATABASE_URL at import."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import sys
import uuid
from pathlib import Path

import pytest

from tests.database.migration_steps import M0008, M0016, M0022

ROOT = Path(__file__).resolve().parents[2]
ENGINE = os.environ.get("TEST_DATABASE", "sqlite")
PG_ADMIN = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "database": "postgres"}


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(**PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
async def database_url(tmp_path):
    if ENGINE != "postgres":
        yield f"sqlite:///{tmp_path}/migrated.sqlite3"
        return
    name = f"cc_migration_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def step(database_url: str, *args: str):
    """One step in a process of its own; the JSON it prints, if any."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.database.migration_steps",
        *args,
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=180)
    assert process.returncode == 0, f"{args}: {err.decode()}\n{out.decode()}"
    lines = out.decode().strip().splitlines()
    return json.loads(lines[-1]) if args[0] in ("dump", "probe", "probe-list") else None


async def test_m0009_keeps_every_row_and_adds_the_constraints(database_url):
    await step(database_url, "forwards", M0008)
    await step(database_url, "fill")
    before = await step(database_url, "dump")
    rows = before["rows"]
    assert all(len(rows[t]) >= 3 for t in ("product", "order_line", "subscription_line"))
    assert any(p["stock"] is None for p in rows["product"])

    await step(database_url, "forwards", "all")
    after = await step(database_url, "dump")

    # What m0009 normalises: lines of quantity 0 go (as apply_line does), a stock below
    # zero becomes 0. Everything else is as it was, ids included.
    expected = copy.deepcopy(rows)
    for table in ("order_line", "subscription_line"):
        expected[table] = [r for r in expected[table] if r["quantity"] != 0]
    for product in expected["product"]:
        if product["stock"] is not None and product["stock"] < 0:
            product["stock"] = 0
    assert len(expected["order_line"]) == len(rows["order_line"]) - 4
    assert len(expected["subscription_line"]) == len(rows["subscription_line"]) - 1
    # What m0012 adds: every membership accepted at its creation, none an added account.
    for membership in after["rows"]["membership"]:
        assert membership.pop("accepted_at") == membership["created_at"]
        assert not membership.pop("existing_account")
        typed = [membership.pop(k) for k in list(membership) if k.startswith("invited_")]
        assert typed == [""] * 6
        # m0025: no beneficiary has an Escarcelle id yet.
        assert (membership.pop("escarcelle_id"), membership.pop("escarcelle_access_until")) == (
            None,
            None,
        )
    # What m0024 adds: the vendor's producer space (one, named after it), every product
    # its catalog's vendor's, no category nor Escarcelle figures.
    (space,) = after["rows"].pop("producer")
    assert space["name"] == "Ferme"
    for vendor in after["rows"]["vendor"]:
        assert vendor.pop("producer") == space["id"]
    for product in after["rows"]["product"]:
        assert product.pop("producer") == space["id"]
        added = ("category", "escarcelle_id", "escarcelle_stock", "escarcelle_synced_at")
        assert [product.pop(k) for k in added] == [None] * 4
    # What m0017 adds: no account held (none was made in Mode création).
    for user in after["rows"]["app_user"]:
        assert user.pop("takeover_pending") in (False, 0)
    # What m0021 adds: no account seen yet nor deleted; distributions at sequence 0.
    for user in after["rows"]["app_user"]:
        assert (user.pop("last_seen_at"), user.pop("deleted_at")) == (None, None)
    for dist in after["rows"]["distribution"]:
        assert dist.pop("sequence") == 0
    # What m0022 adds: each adhésion enters the ledger as its debt and its payment.
    ledger = after["rows"].pop("ledger_operation")
    settlements = after["rows"].pop("ledger_settlement")
    fees = rows["membership_fee"]
    assert len(ledger) == 2 * len(fees) and len(settlements) == len(fees)
    for fee in fees:
        subject = f"fee:{fee['id']}"
        mine = [o for o in ledger if o["subject"] == subject]
        assert sorted((o["kind"], o["amount_cents"]) for o in mine) == [
            ("membership", -fee["amount_cents"]),
            ("payment", fee["amount_cents"]),
        ]
        assert {(o["user"], o["group"], o["paid_on"]) for o in mine} == {
            (fee["user"], fee["group"], fee["paid_on"])
        }
    # What m0020 adds: no catalog copies its coordinator on the order form.
    for catalog in after["rows"]["catalog"]:
        assert catalog.pop("order_form_copy") in (False, 0)
    # Tables of later migrations come in empty.
    assert {t: r for t, r in after["rows"].items() if t in expected} == expected
    assert all(not r for t, r in after["rows"].items() if t not in expected)

    # The foreign keys of the rebuilt tables and of their children are the same, and hold
    # (m0024 adds those to the producer space).
    old = before["foreign_keys"]
    kept = {
        t: [k for k in fk if "producer" not in str(k)]
        for t, fk in after["foreign_keys"].items()
        if t in old
    }
    assert kept == old
    assert after["broken"] == [] and after["integrity"] == ["ok"]
    # Every index survived the rebuild (on PostgreSQL the unique ones now back constraints).
    for table, names in before["indexes"].items():
        assert set(names) <= set(after["indexes"][table]), table

    assert await step(database_url, "probe") == {
        "negative_stock": True,
        "null_stock": True,
        "zero_line": True,
        "zero_subscription_line": True,
        "second_order": True,
        "second_line": True,
        "unknown_product": True,
        "big_total": True,
    }

    # Running m0009's step again changes nothing.
    probed = await step(database_url, "dump")
    await step(database_url, "reapply")
    assert await step(database_url, "dump") == probed


async def test_m0017_holds_the_accounts_made_in_mode_creation_and_not_taken_over(database_url):
    """An account made in Mode création before m0017 and never taken over gets no mail
    either: the data step holds it. Taken over, invited by e-mail or of its own: not held."""
    await step(database_url, "forwards", M0016)
    await step(database_url, "fill-creation")
    before = await step(database_url, "dump")
    await step(database_url, "forwards", "all")
    after = await step(database_url, "dump")
    held = {u["email"]: bool(u.pop("takeover_pending")) for u in after["rows"]["app_user"]}
    for user in after["rows"]["app_user"]:  # what m0021 adds later: unused till a visit
        assert (user.pop("last_seen_at"), user.pop("deleted_at")) == (None, None)
    assert held == {
        "creee@example.org": True,
        "reprise@example.org": False,
        "invitee@example.org": False,
        "seule@example.org": False,
    }
    assert after["rows"]["app_user"] == before["rows"]["app_user"]
    proofs = after["rows"]["consent_record"]
    assert len(proofs) == 2
    for record in proofs:
        assert (record.pop("proof"), record.pop("proof_name"), record.pop("proof_type")) == (
            None,
            "",
            "",
        )
        assert (record.pop("proof_size"), record.pop("proof_at")) == (0, None)
    assert proofs == before["rows"]["consent_record"]


async def test_m0024_gives_every_product_a_producer_and_frees_the_catalog(database_url):
    """Vendors of one login account share one producer space, a vendor without login has
    its own; every product belongs to its catalog's vendor's space; the rows are kept, and
    a product may then have no catalog (a product of a producer's list)."""
    await step(database_url, "forwards", M0022)
    await step(database_url, "fill-producers")
    before = await step(database_url, "dump")
    await step(database_url, "forwards", "all")
    after = await step(database_url, "dump")

    spaces = {p["id"]: p["name"] for p in after["rows"]["producer"]}
    assert sorted(spaces.values()) == ["Ferme (AMAP)", "Fromagerie"]
    by_name = {v["name"]: v.pop("producer") for v in after["rows"]["vendor"]}
    assert by_name["Ferme (AMAP)"] == by_name["Ferme (marché)"]
    assert by_name["Fromagerie"] != by_name["Ferme (AMAP)"]
    assert spaces[by_name["Fromagerie"]] == "Fromagerie"
    assert after["rows"]["vendor"] == before["rows"]["vendor"]
    vendor_of_catalog = {c["id"]: c["vendor"] for c in after["rows"]["catalog"]}
    name_of_vendor = {v["id"]: v["name"] for v in after["rows"]["vendor"]}
    for product in after["rows"]["product"]:
        vendor = name_of_vendor[vendor_of_catalog[product["catalog"]]]
        assert product.pop("producer") == by_name[vendor]
        for added in ("category", "escarcelle_id", "escarcelle_stock", "escarcelle_synced_at"):
            assert product.pop(added) is None
    assert after["rows"]["product"] == before["rows"]["product"]
    assert after["integrity"] == ["ok"] and after["broken"] == []
    assert await step(database_url, "probe-list") == {
        "list_product": True,
        "second_offer_in_group": True,
        "second_escarcelle_id": True,
    }
