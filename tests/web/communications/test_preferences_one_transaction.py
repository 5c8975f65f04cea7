"""Mes communications saves its switches in one transaction: when one of them cannot be
written (here a trigger refuses it), the others are not changed either."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from domain.tables import MailOptOut
from tests.faults import failing_writes
from tests.helpers import login, make_user, post_form


async def test_a_switch_that_fails_leaves_the_others_as_they_were(app):
    browser = AsyncTestClient(app=app, base_url="http://localhost", raise_server_exceptions=False)
    user = await make_user("lea@example.org")
    await MailOptOut.insert(MailOptOut(user=user, kind="orders_open"))
    await login(browser, "lea@example.org")
    # orders_open back on (its row deleted first), reminder_4h off (its row refused).
    wanted = {"kinds": ["orders_open", "order_recap", "reminder_24h"]}
    async with failing_writes("mail_opt_out", "INSERT", when="NEW.kind = 'reminder_4h'"):
        response = await post_form(browser, "/compte/communications", wanted)
    assert response.status_code == 500
    rows = await MailOptOut.select(MailOptOut.kind).where(MailOptOut.user == user)
    assert [row["kind"] for row in rows] == ["orders_open"]  # before: deleted
