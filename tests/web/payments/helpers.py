"""What the payments tests share: a market or an AMAP with members, their operations read
back, balances."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

from domain.demo import world as build
from domain.tables import Distribution, Operation
from tests.helpers import PASSWORD, login


def shown(response) -> str:
    """The page's text as read: tags out, spaces collapsed, entities decoded."""
    text = re.sub(r"<[^>]+>", " ", response.text)
    text = re.sub(r"[ \t\r\n]+", " ", html.unescape(text))
    return re.sub(r" ([,.)])", r"\1", text)


def key_in(page) -> str:
    return re.search(r'name="key" value="([^"]+)"', page.text).group(1)


async def ops_of(user_id: int, group_id: int | None = None) -> list[dict]:
    query = Operation.select().where(Operation.user == user_id).order_by(Operation.id)
    if group_id is not None:
        query = query.where(Operation.group == group_id)
    return await query


async def balance(user_id: int, group_id: int) -> int:
    return sum(o["amount_cents"] for o in await ops_of(user_id, group_id))


async def market(members: int = 2, *, kind: str = "market", stock: int | None = None) -> dict:
    """A group of « admin@example.org » (Adèle Admin), its catalog « Légumes » of « Ferme du
    Test » at one open distribution (products 1,50 €, 1,51 €, 1,52 €), and members
    m0@…, m1@… (password PASSWORD) with no order yet."""
    admin = await build.person("admin@example.org", "Adèle", "Admin")
    w = await build.distribution_world(admin, kind=kind, stock=stock, name="Marché des Orties")
    users = await build.people(
        members,
        email="m{i}@example.org",
        first_name="Prénom{i}",
        last_name="Nom{i}",
        password=PASSWORD,
    )
    await build.join(w["group"]["id"], users)
    return w | {"admin": admin, "members": users, "slug": w["group"]["slug"]}


async def as_user(app, email: str):
    from litestar.testing import AsyncTestClient

    client = AsyncTestClient(app=app, base_url="http://localhost")
    await login(client, email)
    return client


async def start_distribution(distribution_id: int, hours_ago: float = 1) -> None:
    """The distribution began `hours_ago` (its orders closed the day before)."""
    starts = datetime.now(UTC) - timedelta(hours=hours_ago)
    await Distribution.update(
        {
            Distribution.starts_at: starts,
            Distribution.ends_at: starts + timedelta(hours=2),
            Distribution.orders_open_at: starts - timedelta(days=7),
            Distribution.orders_close_at: starts - timedelta(days=1),
        }
    ).where(Distribution.id == distribution_id)
