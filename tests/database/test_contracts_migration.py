"""m0026 on a database holding a contract, on SQLite and PostgreSQL (TEST_DATABASE): the
subscriptions, their orders and their debts are left as they were, the new tables start
empty (no terms: one payment, no absences, no minimum), the app reads the migrated
contract's plan from its debt, and the unique (subscription, distribution) of an absence
holds."""

from __future__ import annotations

import asyncio
import json
import os
import sys

from tests.database.test_payments_migration import ROOT, database_url  # noqa: F401 - fixture


async def step(url: str, command: str):
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.database.contracts_migration_steps",
        command,
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=180)
    assert process.returncode == 0, f"{command}: {err.decode()}\n{out.decode()}"
    lines = out.decode().strip().splitlines()
    return json.loads(lines[-1]) if command in ("dump", "use") else None


async def test_existing_contracts_are_kept_and_read_by_the_new_code(database_url):  # noqa: F811
    await step(database_url, "before")
    await step(database_url, "fill")
    before = await step(database_url, "dump")
    assert before["contract_terms"] is None and before["shared_basket"] is None
    await step(database_url, "all")
    after = await step(database_url, "dump")
    for table in ("subscription", "subscription_line", "member_order", "order_line"):
        assert after[table] == before[table] and len(after[table]) == 1, table
    assert after["ledger_operation"] == before["ledger_operation"]
    assert after["contract_terms"] == after["contract_absence"] == after["shared_basket"] == []
    used = await step(database_url, "use")
    # No plan: one payment of the whole debt, still expected.
    assert used == {
        "due": 3000,
        "left": 3000,
        "instalments": [[3000, False]],
        "absence_twice_refused": True,
    }
