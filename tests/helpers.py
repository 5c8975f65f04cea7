"""Acting as a person through the HTTP stack: forms carry the CSRF token like a browser's."""

from __future__ import annotations

import re

from domain import accounts, groups

PASSWORD = "motdepasse-solide"


async def csrf_token(client) -> str:
    token = client.cookies.get("csrftoken")
    if not token:
        await client.get("/connexion")
        token = client.cookies.get("csrftoken")
    return token


async def post_form(client, url: str, data: dict | None = None, *, htmx: bool = False, **kwargs):
    payload = dict(data or {})
    payload["_csrf_token"] = await csrf_token(client)
    headers = kwargs.pop("headers", {})
    if htmx:
        headers["HX-Request"] = "true"
    return await client.post(url, data=payload, headers=headers, **kwargs)


async def make_user(email: str, first_name: str = "Alice", last_name: str = "Durand") -> int:
    ctx = accounts.MailContext(instance="main", site_name="Test", base_url="http://localhost")
    user_id, _ = await accounts.sign_up(
        email=email, password=PASSWORD, first_name=first_name, last_name=last_name, ctx=ctx
    )
    return user_id


async def make_group(admin_id: int, name: str = "AMAP du Test", kind: str = "amap") -> dict:
    return await groups.create_group(
        user_id=admin_id,
        name=name,
        kind=kind,
        registration="open",
        description="",
        instance="main",
    )


async def login(client, email: str, password: str = PASSWORD):
    response = await post_form(client, "/connexion", {"email": email, "password": password})
    assert response.status_code in (200, 303), response.text
    return response


def link_in(text: str, path_prefix: str) -> str:
    match = re.search(rf"https?://[^\s\"<>]*{re.escape(path_prefix)}[^\s\"<>]*", text)
    assert match, f"aucun lien {path_prefix} dans : {text}"
    return match.group(0)
