"""The cut-over: while `python app.py migrate-groups` runs in another process, and after it,
both hosts polled every 100 ms never answer a 404, a redirect loop or a wrong target, and
the change applies at once (the revision of the moves is read with each request)."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from domain.kernel import clock, dates
from tests.helpers import make_group, make_user
from web import routing

ROOT = Path(__file__).resolve().parents[3]
HOSTS = {"main": "http://localhost", "amap": "http://amap.localhost"}


@pytest.fixture(autouse=True)
def fresh_moves():
    routing.MOVES.reset()
    yield
    routing.MOVES.reset()


async def operator(runs: list[int], *args: str) -> None:
    runs[0] += 1
    process = await asyncio.create_subprocess_exec(
        sys.executable, "app.py", *args, cwd=ROOT, env=dict(os.environ),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    runs[1] += 1
    assert process.returncode == 0, (out.decode(), err.decode())


async def where_served(clients: dict, path: str, problems: list) -> set[str]:
    """Asks both hosts; follows each answer one hop: the hosts that end on the page."""
    served = set()
    for name, client in clients.items():
        response = await client.get(path, follow_redirects=False)
        if response.status_code == 200:
            served.add(name)
            continue
        if response.status_code == 404 and name == "amap":
            continue  # the new host knows nothing of a group not moved (yet, or any more)
        if response.status_code not in (301, 307):
            problems.append(f"{name}: {response.status_code}")
            continue
        location = response.headers["location"]
        target = next((n for n, url in HOSTS.items() if location.startswith(url + "/")), None)
        if target is None or target == name:
            problems.append(f"{name}: vers {location}")
            continue
        second = await clients[target].get(path, follow_redirects=False)
        if second.status_code != 200:
            problems.append(f"{name} → {target}: {second.status_code} (boucle)")
        else:
            served.add(target)
    return served


async def test_both_hosts_answer_right_during_and_after_the_cut_over(app):
    admin = await make_user("admin@example.org")
    group = await make_group(admin, "AMAP des Lilas", "amap")
    path = f"/g/{group['slug']}"
    today = dates.paris_day(clock.now())
    clients = {name: AsyncTestClient(app=app, base_url=url) for name, url in HOSTS.items()}
    problems: list[str] = []
    seen: list[set[str]] = []
    stop = asyncio.Event()
    answered = asyncio.Condition()
    runs = [0, 0]  # operator runs started, ended: a poll's two requests may straddle one

    async def poll():
        while not stop.is_set():
            before = tuple(runs)
            found: list[str] = []
            answer = await where_served(clients, path, found)
            if before == tuple(runs) and before[0] == before[1]:
                seen.append(answer)
                problems.extend(found)
            else:  # each host answered right for its moment; together they mix two moments
                seen.append(None)
            async with answered:
                answered.notify_all()
            await asyncio.sleep(0.1)  # every 100 ms, as the poller did

    async def polls(count: int) -> None:
        """Let the poller answer `count` more times (no fixed wait)."""
        target = len(seen) + count
        async with answered:
            await answered.wait_for(lambda: len(seen) >= target)

    poller = asyncio.create_task(poll())
    try:
        await polls(3)
        await operator(
            runs, "migrate-groups", "--to", "amap", "--slug", group["slug"],
            "--from-date", today.isoformat(), "--until", (today + timedelta(days=30)).isoformat(),
        )  # fmt: skip
        # The next answer already follows the move: the group is served by the new host.
        assert await where_served(clients, path, problems) == {"amap"}
        await polls(3)
        later = today + timedelta(days=10)
        await operator(
            runs, "migrate-groups", "--to", "amap", "--slug", group["slug"],
            "--from-date", later.isoformat(), "--until", (later + timedelta(days=30)).isoformat(),
        )  # fmt: skip
        # Moved to the future: back to the old host at once, no loop in between.
        assert await where_served(clients, path, problems) == {"main"}
        await polls(3)
    finally:
        stop.set()
        await poller
    assert problems == []
    stable = [answer for answer in seen if answer is not None]
    assert all(answer in ({"main"}, {"amap"}) for answer in stable), seen
    assert {"main"} in stable and {"amap"} in stable
