"""Who may use each route. Every handler declares a policy in `opt`; none means refused.

Group routes take the group's slug as the path parameter `slug`; the guard loads
the group once, checks it belongs to the instance of the request's host, and
leaves the group and the user's roles on `request.state` for the handler.
"""

from __future__ import annotations

from enum import StrEnum
from urllib.parse import quote

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from domain import accounts, groups
from domain.instances import serving_instance
from domain.kernel import forms


class Policy(StrEnum):
    ANONYMOUS = "anonymous"  # anyone, logged in or not
    USER = "user"  # any logged-in user
    GROUP_PUBLIC = "group_public"  # anyone; the group is loaded (its public home page)
    MEMBER = "member"  # member of the group
    PRODUCER = "producer"  # producer of a catalog of the group (or admin)
    COORDINATOR = "coordinator"  # coordinator of a catalog of the group (or admin)
    CATALOGS = "catalogs"  # producer or coordinator in the group (or admin)
    MESSAGES = "messages"  # member with the messaging right (or admin)
    MEMBERS = "members"  # member with the member-management right (or admin)
    ADMIN = "admin"  # admin of the group


def policy(value: Policy) -> dict:
    """`opt=policy(Policy.MEMBER)` on a route handler."""
    return {"policy": value}


_GROUP_CHECKS = {
    Policy.GROUP_PUBLIC: lambda r: True,
    Policy.MEMBER: lambda r: r.member,
    Policy.PRODUCER: lambda r: r.producer or r.admin,
    Policy.COORDINATOR: lambda r: r.coordinator or r.admin,
    Policy.CATALOGS: lambda r: r.producer or r.coordinator or r.admin,
    Policy.MESSAGES: lambda r: r.can_messages,
    Policy.MEMBERS: lambda r: r.can_members,
    Policy.ADMIN: lambda r: r.admin,
}


async def load_user(connection: ASGIConnection) -> dict | None:
    """The logged-in user, once per request."""
    if "user" in connection.state:
        return connection.state.user
    user_id = connection.session.get("user_id") if "session" in connection.scope else None
    user = await accounts.get_user(user_id) if user_id else None
    if user_id and not user:
        connection.scope["session"] = {}  # the account is gone: log out
    connection.state.user = user
    return user


def _served_here(connection: ASGIConnection, group: dict) -> bool:
    """The host serves the group now; or the routing layer, reading the moves a moment
    before, decided this host serves it (a move committed in between: for that one request
    the group is served by either of its two instances, never a 404)."""
    host = connection.state.instance.key
    if serving_instance(group) == host:
        return True
    return connection.scope.get("move_checked") == group["slug"] and host in (
        group["instance"],
        group["previous_instance"],
    )


async def policy_guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    if any(
        isinstance(v, int) and not 0 <= v <= forms.MAX_ID for v in connection.path_params.values()
    ):
        raise NotFoundException("Cette page n'existe pas.")
    raw = handler.opt.get("policy")
    if raw is None:
        raise PermissionDeniedException("Aucune règle d'accès déclarée pour cette page.")
    rule = Policy(raw)
    user = await load_user(connection)
    if rule is Policy.ANONYMOUS:
        return
    slug = connection.path_params.get("slug")
    if rule is not Policy.USER and slug is None:
        raise PermissionDeniedException("Route de groupe sans groupe.")
    if slug is not None:
        found = await groups.group_and_roles(slug, user["id"] if user else None)
        # A moved group is still served by its old instance until the move date.
        if found is None or not _served_here(connection, found[0]):
            raise NotFoundException("Ce groupe n'existe pas.")
        connection.state.group, connection.state.roles = found
        if rule is Policy.GROUP_PUBLIC:
            return
    if user is None:
        raise NotAuthorizedException("Connectez-vous pour continuer.")
    if rule is Policy.USER:
        return
    if not _GROUP_CHECKS[rule](connection.state.roles):
        raise PermissionDeniedException("Vous n'avez pas accès à cette page de ce groupe.")


def login_url(next_path: str) -> str:
    return f"/connexion?next={quote(next_path, safe='/')}"
