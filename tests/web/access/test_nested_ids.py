"""Every id nested in a URL is loaded through its parent: swapped for an id of the same kind
under another parent (of the same group, or of another group), the answer is a 404 and the
database does not change.

The routes are read from the app (every path with two or more integer ids), so a new route
with nested ids is walked too. The requests are the group admin's: the most privileged role,
so that no 403 can hide a missing check. Each route is also asked with the ids that belong
together, which must not be a 404: the 404s of the swaps are the swaps' doing.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, date, datetime, timedelta

from domain import accounts, groups
from domain.database import is_sqlite
from domain.tables import (
    Catalog,
    CatalogDistribution,
    CatalogDocument,
    ConsentRecord,
    Distribution,
    DutyRole,
    Group,
    GroupMessage,
    Membership,
    MembershipFee,
    Order,
    OrderLine,
    Place,
    Product,
    Subscription,
    User,
    Vendor,
)
from tests.helpers import PASSWORD, csrf_token, login, post_form
from tests.stack import tables_in_delete_order

# The kind of each integer path parameter: what a swapped id is replaced with.
KINDS = {
    "catalog_id": "catalog",
    "product_id": "product",
    "distribution_id": "distribution",
    "order_id": "order",
    "line_id": "line",
    "subscription_id": "subscription",
    "document_id": "document",
    "user_id": "member",
    "consent_id": "consent",
    "role_id": "duty_role",
}
# Ids whose parent is the group, not the id before them in the path: the distribution of
# « commander pour » is one of the group's, whoever the member is.
GROUP_CHILDREN = {("member", "distribution")}
# Forms of the POST routes (the fields a real page sends); "multipart": a file form.
FORMS = {
    "/produits/{product_id:int}": (
        "multipart",
        {"name": "Renommé", "price": "9", "vat_rate": "550", "active": "1"},
    ),
    "/produits/{product_id:int}/ligne": ("form", {"field": "name", "value": "Renommé"}),
    "/distributions/{distribution_id:int}/dates": ("form", {"opens": "", "closes": ""}),
    "/commander/{distribution_id:int}": ("form", {"key": ""}),
    "/ligne/{product_id:int}": ("form", {"q": "2"}),
    "/adherents/{order_id:int}/lignes": ("form", {"quantite": "1"}),
    "/lignes/{line_id:int}": ("form", {"quantite": "3"}),
    "/consentement/{consent_id:int}/piece": ("multipart", {}),
}
# Asked last with the ids that belong together, being the ones that remove something.
DESTRUCTIVE = ("/retirer", "/supprimer", "/terminer")

_HASH: list[str] = []


async def add_user(email: str, first: str) -> int:
    if not _HASH:
        _HASH.append(accounts.hash_password(PASSWORD))
    rows = await User.insert(
        User(email=email, password_hash=_HASH[0], first_name=first, last_name="Test")
    ).returning(User.id)
    return rows[0]["id"]


async def one(table, **values) -> int:
    return (await table.insert(table(**values)).returning(table.id))[0]["id"]


async def add_branch(group_id: int, letter: str, n: int, place: int) -> dict:
    """One catalog of the group with everything under it: products, a distribution it
    delivers at, a member's validated order with a line, a subscription, a document; and
    the member (their account made with consent: an admin may order for them)."""
    tag = f"{letter}{n}"
    now = datetime.now(UTC)
    member = await add_user(f"membre-{tag}@example.org", f"Membre{tag}")
    await Membership.insert(Membership(user=member, group=group_id))
    admin = (
        await Membership.select(Membership.user)
        .where((Membership.group == group_id) & (Membership.is_admin == True))  # noqa: E712
        .first()
    )["user"]
    consent = await one(
        ConsentRecord,
        user=member,
        group=group_id,
        recorded_by=admin,
        statement="Consentement",
        proof=b"%PDF-1.4\n%%EOF\n",
        proof_type="application/pdf",
        proof_size=15,
    )
    vendor = await one(Vendor, group=group_id, name=f"Ferme {tag}")
    catalog = await one(
        Catalog,
        group=group_id,
        vendor=vendor,
        name=f"Catalogue {tag}",
        kind="variable",
        starts_on=date.today() - timedelta(days=30),
        ends_on=date.today() + timedelta(days=300),
    )
    products = [
        await one(Product, catalog=catalog, name=f"Produit {tag}-{i}", price_cents=200, position=i)
        for i in range(2)
    ]
    starts = now + timedelta(days=3 + n)
    distribution = await one(
        Distribution,
        group=group_id,
        place=place,
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
        orders_open_at=now - timedelta(days=1),
        orders_close_at=now + timedelta(days=2),
    )
    await CatalogDistribution.insert(
        CatalogDistribution(catalog=catalog, distribution=distribution)
    )
    order = await one(
        Order,
        user=member,
        distribution=distribution,
        state="validated",
        validated_at=now,
        total_cents=400,
    )
    line = await one(OrderLine, order=order, product=products[0], quantity=2, unit_price_cents=200)
    subscription = await one(
        Subscription,
        user=member,
        catalog=catalog,
        starts_on=date.today(),
        ends_on=date.today() + timedelta(days=300),
    )
    document = await one(
        CatalogDocument,
        catalog=catalog,
        name=f"Contrat {tag}.pdf",
        content=b"%PDF-1.4\n%%EOF\n",
        size=15,
        uploaded_by=admin,
    )
    # A role of the catalog: needed at its distribution only, so that a role of another
    # branch (same group or not) is not found at this one.
    duty_role = await one(DutyRole, group=group_id, catalog=catalog, name=f"Rôle {tag}", places=2)
    await MembershipFee.insert(
        MembershipFee(
            group=group_id,
            user=member,
            year=date.today().year,
            amount_cents=1000,
            paid_on=date.today(),
        )
    )
    return {
        "catalog": catalog,
        "product": products[0],
        "other_product": products[1],
        "distribution": distribution,
        "order": order,
        "line": line,
        "subscription": subscription,
        "document": document,
        "member": member,
        "consent": consent,
        "duty_role": duty_role,
    }


async def build_world() -> dict:
    """Groups A and B, each with two branches (catalogs) and a message of the group."""
    world = {}
    for letter, name in (("a", "AMAP des Alouettes"), ("b", "AMAP des Bleuets")):
        admin = await add_user(f"admin-{letter}@example.org", f"Admin{letter}")
        group = await groups.create_group(
            user_id=admin,
            name=name,
            kind="amap",
            registration="open",
            description="",
            instance="main",
        )
        place = await one(Place, group=group["id"], name=f"Lavoir {letter}")
        await GroupMessage.insert(
            GroupMessage(
                group=group["id"], author=admin, subject="Bonjour", body="Texte", recipients="all"
            )
        )
        world[letter] = {
            "group": group,
            "branches": [await add_branch(group["id"], letter, n, place) for n in (1, 2)],
        }
    return world


def nested_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every group route whose path holds two or more integer ids."""
    found = set()
    for route in app.routes:
        path = route.path
        if "{slug:str}" not in path or len(re.findall(r"\{\w+:int\}", path)) < 2:
            continue
        for method in getattr(route, "methods", ()):
            if method in ("GET", "POST"):
                found.add((method, path))
    return sorted(found)


def swaps(path: str) -> list[tuple[str, str]]:
    """(parameter, where the swapped id comes from) for each id of the path: another branch
    of the same group when the id has a parent in the path (or is the parent of one), and
    always a branch of the other group."""
    names = re.findall(r"\{(\w+):int\}", path)
    kinds = [KINDS[name] for name in names]
    nested = all(pair not in GROUP_CHILDREN for pair in zip(kinds, kinds[1:], strict=False))
    cases = []
    for name in names:
        if nested:
            cases.append((name, "same group"))
        cases.append((name, "other group"))
    return cases


def url_of(path: str, slug: str, ids: dict) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1)
        if name == "slug":
            return slug
        if name == "field":
            return "name"
        return str(ids[KINDS[name]])

    return re.sub(r"\{(\w+):\w+\}", value, path)


def form_of(path: str, home: dict) -> tuple[str, dict]:
    for tail, (kind, data) in FORMS.items():
        if path.endswith(tail):
            data = dict(data)
            if tail == "/commander/{distribution_id:int}":
                data |= {"key": secrets.token_urlsafe(12), f"q{home['product']}": "1"}
            if tail == "/adherents/{order_id:int}/lignes":
                data["produit"] = str(home["other_product"])
            return kind, data
    return "form", {}


async def send(client, method: str, url: str, path: str, home: dict):
    if method == "GET":
        return await client.get(url, follow_redirects=False)
    kind, data = form_of(path, home)
    if kind == "multipart":
        payload = data | {"_csrf_token": await csrf_token(client)}
        return await client.post(url, data=payload, files={}, follow_redirects=False)
    return await post_form(client, url, data, follow_redirects=False)


# What these routes write (checked after each request; every table, once after all swaps).
TOUCHED = (
    "product",
    "catalog_distribution",
    "catalog_document",
    "member_order",
    "order_line",
    "subscription",
    "subscription_line",
    "membership",
    "outbox_mail",
    "request_key",
    "consent_record",
)


def _table_text(table) -> str:
    """SQL for one table: its row count and every row as text, in id order."""
    name = table._meta.tablename
    if is_sqlite():
        row = " || ',' || ".join(f'quote("{c._meta.db_column_name}")' for c in table._meta.columns)
        rows = f'SELECT {row} AS r FROM "{name}" ORDER BY id'  # noqa: S608 - fixed names
        return f"(SELECT COUNT(*) || ':' || COALESCE(group_concat(r, '|'), '') FROM ({rows}))"  # noqa: S608
    return (
        f"(SELECT COUNT(*) || ':' || COALESCE(string_agg(t::text, '|' ORDER BY t.id), '') "  # noqa: S608
        f'FROM "{name}" t)'
    )


async def fingerprint(tables=None) -> dict[str, str]:
    """Per table: its row count and a digest of every row, in one query."""
    from piccolo.conf.apps import Finder

    by_name = {t._meta.tablename: t for t in Finder().get_table_classes()}
    names = list(tables or tables_in_delete_order())
    sql = "SELECT " + ", ".join(f"{_table_text(by_name[n])} AS {n}" for n in names)
    row = (await Group.raw(sql))[0]
    return {n: hashlib.sha256(str(row[n]).encode()).hexdigest() for n in names}


def _diff(before: dict, after: dict) -> list[str]:
    return [name for name in before if before[name] != after[name]]


async def test_swapped_nested_ids_are_not_found_and_change_nothing(app, client):
    world = await build_world()
    routes = nested_routes(app)
    assert len(routes) >= 19, routes
    a = world["a"]
    slug = a["group"]["slug"]
    home = a["branches"][0]
    source = {"same group": a["branches"][1], "other group": world["b"]["branches"][0]}
    await login(client, "admin-a@example.org")
    problems: list[str] = []
    cases = 0
    start = await fingerprint()
    before = {name: start[name] for name in TOUCHED}
    for method, path in routes:
        for name, where in swaps(path):
            ids = dict(home) | {KINDS[name]: source[where][KINDS[name]]}
            url = url_of(path, slug, ids)
            response = await send(client, method, url, path, home)
            cases += 1
            after = await fingerprint(TOUCHED)
            changed, before = _diff(before, after), after
            if response.status_code != 404 or changed:
                problems.append(
                    f"{method} {path}, {name} d'un autre parent ({where}) : "
                    f"{response.status_code}{', a changé ' + ', '.join(changed) if changed else ''}"
                )
    changed = _diff(start, await fingerprint())
    if changed:
        problems.append(f"les requêtes refusées ont changé : {', '.join(changed)}")
    # The ids that belong together are found: the 404s above are the swaps' doing.
    ordered = sorted(routes, key=lambda r: (r[0] == "POST", r[1].endswith(DESTRUCTIVE)))
    for method, path in ordered:
        response = await send(client, method, url_of(path, slug, home), path, home)
        if response.status_code == 404 or response.status_code >= 500:
            problems.append(f"{method} {path} avec ses propres ids : {response.status_code}")
    assert cases >= 70, cases
    assert not problems, f"{len(problems)} sur {cases} cas :\n" + "\n".join(problems)


def test_every_nested_id_has_a_known_kind(app):
    """A new route with a nested id of an unknown kind fails here: add it to KINDS (and to
    the world) so that it is walked."""
    unknown = {
        name
        for _, path in nested_routes(app)
        for name in re.findall(r"\{(\w+):int\}", path)
        if name not in KINDS
    }
    assert not unknown, unknown


async def test_the_coordinator_of_one_catalog_cannot_end_a_subscription_of_another(client):
    """The issue's case: through catalog 1's URL, a subscription of catalog 2 of the same
    group is not found (through catalog 2's URL this coordinator is refused)."""
    world = await build_world()
    a = world["a"]
    mine, theirs = a["branches"]
    coordinator = await add_user("coordinateur@example.org", "Coordinateur")
    await Membership.insert(Membership(user=coordinator, group=a["group"]["id"]))
    await Catalog.update({Catalog.coordinator: coordinator}).where(Catalog.id == mine["catalog"])
    await login(client, "coordinateur@example.org")
    base = f"/g/{a['group']['slug']}/catalogues"
    through_mine = f"{base}/{mine['catalog']}/souscriptions/{theirs['subscription']}/terminer"
    through_theirs = f"{base}/{theirs['catalog']}/souscriptions/{theirs['subscription']}/terminer"
    assert (await post_form(client, through_mine, follow_redirects=False)).status_code == 404
    assert (await post_form(client, through_theirs, follow_redirects=False)).status_code == 403
    ended = await Subscription.select(Subscription.ended_at).where(
        Subscription.id == theirs["subscription"]
    )
    assert ended == [{"ended_at": None}]
    # Nor does the other catalog's date show through this catalog's COMMANDES.
    dates = f"{base}/{mine['catalog']}/commandes/{theirs['distribution']}"
    assert (await client.get(dates)).status_code == 404
    assert (
        await client.get(f"{base}/{mine['catalog']}/commandes/{mine['distribution']}")
    ).status_code == 200
