"""Two people racing for a role's last place: one gets it, the other is told; the same
person signing up twice at once: one sign-up. Concurrent requests through the real app,
and concurrent calls of the domain, on the session's engine (SQLite or PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections import Counter

from domain.demo import world as build
from domain.duties import Refused, signups
from domain.tables import DutySignup
from tests.helpers import post_form
from tests.web.duties.conftest import client_of, shown


async def test_two_members_post_for_the_last_place_at_once(app, world):
    ana = await client_of(app, "ana@example.org")
    bob = await client_of(app, "bob@example.org")
    url = f"{world['base']}/{world['distribution']}/{world['vegetables']}/inscription"
    for _ in range(3):
        await DutySignup.delete().where(DutySignup.id > 0)
        responses = await asyncio.gather(post_form(ana, url), post_form(bob, url))
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200, 422], [shown(r)[-300:] for r in responses]
        [lost] = [r for r in responses if r.status_code == 422]
        assert "Toutes les places de ce rôle sont prises." in shown(lost)
        rows = await DutySignup.select(DutySignup.user, DutySignup.place).where(
            DutySignup.role == world["vegetables"]
        )
        assert len(rows) == 1 and rows[0]["place"] == 1
        [won] = [r for r in responses if r.status_code == 200]
        winner = "ana" if won is responses[0] else "bob"
        assert rows[0]["user"] == world["people"][winner]


async def test_many_at_once_fill_the_places_and_no_more(world):
    """Eight members for the two places of « Accueil », all at once: two get one each,
    six are told it is full."""
    others = await build.people(8, email="racer{i}@example.org", password=None)
    await build.join(world["gid"], others)

    async def attempt(user: int):
        try:
            return await signups.sign_up(
                world["gid"], world["distribution"], world["welcome"], user
            )
        except Refused as refusal:
            return refusal.message

    results = await asyncio.gather(*(attempt(u) for u in others))
    assert Counter(results) == {signups.SIGNED: 2, signups.FULL: 6}
    rows = await DutySignup.select(DutySignup.place).where(DutySignup.role == world["welcome"])
    assert sorted(r["place"] for r in rows) == [1, 2]


async def test_the_same_member_twice_at_once_is_one_sign_up(app, world):
    ana = await client_of(app, "ana@example.org")
    url = f"{world['base']}/{world['distribution']}/{world['welcome']}/inscription"
    responses = await asyncio.gather(*(post_form(ana, url) for _ in range(4)))
    assert [r.status_code for r in responses] == [200] * 4
    assert await DutySignup.count().where(DutySignup.user == world["people"]["ana"]) == 1
    texts = [shown(r) for r in responses]
    assert sum("C'est noté" in t for t in texts) == 1
    assert sum("Vous aviez déjà ce rôle" in t for t in texts) == 3
