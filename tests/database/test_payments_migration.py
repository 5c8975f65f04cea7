"""m0022 on a database holding data, on SQLite and PostgreSQL (TEST_DATABASE): existing
adhésions enter the ledger as a debt and its payment settling it, older validation records
count as used by the ledger, and running the data steps again adds nothing."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from pathlib import Path

import pytest

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
        yield f"sqlite:///{tmp_path}/payments.sqlite3"
        return
    name = f"cc_payments_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def step(database_url: str, command: str):
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.database.payments_migration_steps",
        command,
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=180)
    assert process.returncode == 0, f"{command}: {err.decode()}\n{out.decode()}"
    lines = out.decode().strip().splitlines()
    return json.loads(lines[-1]) if command == "dump" else None


async def test_existing_adhesions_enter_the_ledger_as_a_debt_and_its_payment(database_url):
    await step(database_url, "before")
    await step(database_url, "fill")
    await step(database_url, "all")
    found = await step(database_url, "dump")
    fees = found["membership_fee"]
    ops = found["ledger_operation"]
    assert len(fees) == 3 and len(ops) == 6
    for fee in fees:
        subject = f"fee:{fee['id']}"
        debt, payment = (
            next(o for o in ops if o["subject"] == subject and o["kind"] == kind)
            for kind in ("membership", "payment")
        )
        for op in (debt, payment):
            assert (op["group"], op["user"], op["paid_on"], op["recorded_by"]) == (
                fee["group"],
                fee["user"],
                fee["paid_on"],
                fee["recorded_by"],
            )
            assert op["created_at"] == fee["created_at"] and op["distribution"] is None
        assert debt["amount_cents"] == -fee["amount_cents"]
        assert payment["amount_cents"] == fee["amount_cents"]  # 2**31 - 1 fits: 64 bits
        assert debt["label"] == f"Adhésion {fee['year']}"
        assert payment["label"] == f"Paiement de l'adhésion {fee['year']}"
        assert payment["means"] == fee["means"]
    # Each payment settles its adhésion, and every account is at zero.
    settlements = found["ledger_settlement"]
    by_id = {o["id"]: o for o in ops}
    assert sorted((by_id[s["payment"]]["subject"], s["subject"]) for s in settlements) == sorted(
        (f"fee:{f['id']}", f"fee:{f['id']}") for f in fees
    )
    assert sum(o["amount_cents"] for o in ops) == 0
    # The record of a distribution validated before the ledger: used, nothing to correct.
    assert [(u["record"], u["consumer"]) for u in found["validation_use"]] == [(1, "payments")]
    # The data steps again: nothing more.
    await step(database_url, "again")
    assert await step(database_url, "dump") == found
