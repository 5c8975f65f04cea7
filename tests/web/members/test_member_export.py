"""MEMBRES / CLIENTS « Exporter la liste »: the list as the page filters it, as a CSV for a
French spreadsheet (13.11), for the group's admins only; an added account not accepted yet
shows what the admin typed, never the account's own data; a constant number of queries."""

from __future__ import annotations

import csv
import html
import io
from datetime import date

from domain.demo import world as build
from domain.kernel import clock
from domain.members import exports, this_year
from domain.tables import Membership, MembershipFee, User
from tests.helpers import QueryCounter, login, make_group, make_user, post_form
from tests.web.members.test_added_account_consent import SECRETS, account, add


def parse_csv(response) -> list[list[str]]:
    raw = response.content
    assert raw.startswith(b"\xef\xbb\xbf"), "pas de BOM UTF-8"
    return list(csv.reader(io.StringIO(raw.decode("utf-8")[1:]), delimiter=";"))


def header() -> list[str]:
    return [
        "Nom",
        "Prénom",
        "E-mail",
        "Téléphone",
        "Adresse",
        "Code postal",
        "Ville",
        "Statut",
        f"Adhésion {this_year()}",
    ]


async def paid(group: dict, user: int, day: date, by: int) -> None:
    await MembershipFee.insert(
        MembershipFee(
            group=group["id"],
            user=user,
            year=this_year(),
            amount_cents=1500,
            paid_on=day,
            means="cheque",
            recorded_by=by,
        )
    )


async def market(client) -> dict:
    """A market with an admin (logged in), members with a phone and an address, a couple
    sharing its adhésion, an address added by e-mail only, and a name a spreadsheet would
    run as a formula."""
    admin = await make_user("admin@example.org", "Adèle", "Admin")
    group = await make_group(admin, "Marché du Port", "market")
    zoe = await build.person("zoe@example.org", "Zoé", "Bernard", "06 11 22 33 44")
    await User.update(
        {User.address: "2 quai Ouest", User.postal_code: "44000", User.city: "Nantes"}
    ).where(User.id == zoe)
    anna = await build.person("anna@example.org", "Anna", "Martin")
    paul = await build.person("paul@example.org", "Paul", "Martin")
    evil = await build.person("evil@example.org", "=HYPERLINK(1)", "Zorro", "+33 6")
    await build.join(group["id"], [zoe, anna, paul, evil])
    await Membership.update({Membership.shared_with: paul}).where(Membership.user == anna)
    await Membership.update({Membership.shared_with: anna}).where(Membership.user == paul)
    await paid(group, zoe, date(this_year(), 3, 12), admin)
    await paid(group, paul, date(this_year(), 2, 1), admin)
    await login(client, "admin@example.org")
    response = await post_form(
        client, f"/g/{group['slug']}/membres/nouveau", {"email": "nouveau@example.org"}
    )
    assert response.status_code == 200, response.text
    return {"admin": admin, "group": group, "slug": group["slug"], "zoe": zoe}


async def test_the_export_has_every_member_with_names_contact_status_and_adhesion(client):
    w = await market(client)
    page = await client.get(f"/g/{w['slug']}/membres")
    assert f'href="/g/{w["slug"]}/membres/export.csv" download' in page.text
    response = await client.get(f"/g/{w['slug']}/membres/export.csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    disposition = response.headers["content-disposition"]
    assert "filename*=UTF-8''Clients%20-%20March%C3%A9%20du%20Port%20-%20" in disposition
    rows = parse_csv(response)
    assert rows[0] == header()
    by_email = {r[2]: r for r in rows[1:]}
    assert list(by_email) == [
        "nouveau@example.org",
        "admin@example.org",
        "zoe@example.org",
        "anna@example.org",
        "paul@example.org",
        "evil@example.org",
    ]
    assert by_email["nouveau@example.org"][7:] == ["Invitation en attente", "Non payée"]
    assert by_email["admin@example.org"] == [
        "Admin", "Adèle", "admin@example.org", "", "", "", "", "Administrateur", "Non payée",
    ]  # fmt: skip
    assert by_email["zoe@example.org"] == [
        "Bernard", "Zoé", "zoe@example.org", "06 11 22 33 44", "2 quai Ouest", "44000",
        "Nantes", "Membre", f"Payée le 12/03/{this_year()}",
    ]  # fmt: skip
    assert by_email["anna@example.org"][7:] == ["Membre", "Payée (adhésion partagée)"]
    assert by_email["paul@example.org"][8] == f"Payée le 01/02/{this_year()}"
    assert by_email["evil@example.org"][:4] == [
        "Zorro", "'=HYPERLINK(1)", "evil@example.org", "'+33 6",
    ]  # fmt: skip
    assert not any(c.startswith(("=", "+", "-", "@")) for r in rows for c in r)


async def test_the_export_is_the_list_as_filtered(client):
    w = await market(client)
    base = f"/g/{w['slug']}/membres"

    async def emails(query: str) -> list[str]:
        response = await client.get(f"{base}/export.csv?{query}")
        assert response.status_code == 200, query
        return [r[2] for r in parse_csv(response)[1:]]

    assert await emails("q=martin") == ["anna@example.org", "paul@example.org"]
    assert await emails("q=Z") == ["zoe@example.org", "evil@example.org"]
    assert await emails("filtre=adhesion") == [
        "nouveau@example.org",
        "admin@example.org",
        "evil@example.org",
    ]
    assert await emails("filtre=invitation") == ["nouveau@example.org"]
    assert await emails("filtre=adhesion&q=admin") == ["admin@example.org"]
    assert await emails("q=personne") == []
    # The link of the page carries the page's search and filter (also in its htmx answer).
    page = await client.get(f"{base}?q=martin&filtre=adhesion", headers={"HX-Request": "true"})
    assert "Aucun membre ne correspond" in page.text and "export.csv" not in page.text
    page = await client.get(f"{base}?q=Z&filtre=adhesion", headers={"HX-Request": "true"})
    assert f'href="{base}/export.csv?q=Z&amp;filtre=adhesion" download' in page.text
    assert "Exporter cette liste" in page.text


async def test_an_added_account_not_accepted_shows_what_the_admin_typed_only(client):
    admin = await make_user("admin@example.org", "Adèle")
    group = await make_group(admin, "AMAP des Lilas")
    person = await account()  # names, phone, address of its own
    await login(client, "admin@example.org")
    await add(client, group, "penelope@example.org", phone="07 11 11 11 11")
    for url in ("export.csv", "export.csv?q=Cliente", "export.csv?filtre=invitation"):
        response = await client.get(f"/g/{group['slug']}/membres/{url}")
        text = html.unescape(response.content.decode("utf-8")).lower()
        assert not [s for s in SECRETS if s.lower() in text], url
        row = next(r for r in parse_csv(response) if r[2] == "penelope@example.org")
        assert row == [
            "Cliente", "Pen", "penelope@example.org", "07 11 11 11 11", "", "", "",
            "Invitation en attente", "Non payée",
        ]  # fmt: skip
    # The account's own names find nothing.
    response = await client.get(f"/g/{group['slug']}/membres/export.csv?q=Secr%C3%A8te")
    assert parse_csv(response)[1:] == []
    # Once the person said yes, their own data is theirs to share with the group.
    await Membership.update({Membership.accepted_at: clock.now()}).where(Membership.user == person)
    response = await client.get(f"/g/{group['slug']}/membres/export.csv")
    row = next(r for r in parse_csv(response) if r[2] == "penelope@example.org")
    assert row[:7] == [
        "Secrète", "Pénélope", "penelope@example.org", "06 99 88 77 66", "3 rue Cachée",
        "69009", "Lyon",
    ]  # fmt: skip


async def test_only_the_groups_admins_may_export(client):
    w = await market(client)
    url = f"/g/{w['slug']}/membres/export.csv"
    manager = await build.person("gestion@example.org", "Gil", "Gestion")
    await build.join(w["group"]["id"], manager, can_members=True)
    other_admin = await make_user("autre@example.org", "Oscar", "Autre")
    await make_group(other_admin, "Autre Marché", "market")
    for email in ("zoe@example.org", "gestion@example.org", "autre@example.org"):
        client.cookies.clear()
        await login(client, email)
        response = await client.get(url)
        assert response.status_code == 403, email
        assert "Bernard" not in response.text and "06 11" not in response.text
    # The member manager sees the list, without the export link.
    client.cookies.clear()
    await login(client, "gestion@example.org")
    page = await client.get(f"/g/{w['slug']}/membres")
    assert page.status_code == 200 and "export.csv" not in page.text
    client.cookies.clear()
    response = await client.get(url, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/connexion")
    # No such group here: not found.
    await login(client, "admin@example.org")
    assert (await client.get("/g/nulle-part/membres/export.csv")).status_code == 404


async def test_queries_do_not_grow_with_the_members(client):
    w = await market(client)
    url = f"/g/{w['slug']}/membres/export.csv"

    async def count(query: str = "") -> tuple[int, int]:
        await client.get(url + query)
        with QueryCounter() as counter:
            response = await client.get(url + query)
        assert response.status_code == 200
        return counter.count, len(parse_csv(response)) - 1

    few = {q: await count(q) for q in ("", "?filtre=adhesion", "?filtre=sans-commande&q=a")}
    more = await build.people(120, phone="06 00 00 {i:04d}", password="x")
    await build.join(w["group"]["id"], more)
    for user in more[::3]:
        await paid(w["group"], user, date(this_year(), 1, 5), w["admin"])
    many = {q: await count(q) for q in few}
    assert {q: n for q, (n, _) in few.items()} == {q: n for q, (n, _) in many.items()}
    assert many[""][1] == few[""][1] + 120
    assert max(n for n, _ in few.values()) <= 12, few


async def test_batches_lose_no_one_and_keep_the_name_order(client):
    w = await market(client)
    twins = await build.people(5, first_name="Jean", last_name="Martin", email="twin{i}@x.org")
    await build.join(w["group"]["id"], twins)
    seen = []
    async for members in exports.member_batches(w["group"]["id"], batch=2):
        assert len(members) <= 2
        seen += [m["email"] for m in members]
    assert len(seen) == len(set(seen)) == 11
    assert seen.index("anna@example.org") < seen.index("twin0@x.org")
    assert seen.index("paul@example.org") > seen.index("twin4@x.org")
