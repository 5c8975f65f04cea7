"""Creating a group, its public page, its tabs, and PARAMÈTRES."""

from __future__ import annotations

from domain.tables import Group, Membership
from tests.helpers import login, make_group, make_user, post_form


async def test_create_group_makes_the_creator_admin_and_lists_it_on_home(client):
    user_id = await make_user("ines@example.org")
    await login(client, "ines@example.org")
    response = await post_form(
        client,
        "/groupes/nouveau",
        {"name": "AMAP des Tilleuls", "kind": "amap", "registration": "waiting_list"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/g/amap-des-tilleuls"
    group = await Group.select().where(Group.slug == "amap-des-tilleuls").first()
    assert group["kind"] == "amap" and group["registration"] == "waiting_list"
    membership = await Membership.select().where(Membership.group == group["id"]).first()
    assert membership["user"] == user_id and membership["is_admin"]
    page = await client.get("/g/amap-des-tilleuls")
    for tab in ("COMMANDES", "MES CONTRATS", "PRODUCTEURS", "MEMBRES", "DISTRIBUTIONS"):
        assert tab in page.text
    for tab in ("CATALOGUES", "MESSAGERIE", "PARAMÈTRES"):
        assert tab in page.text
    assert 'value="http://localhost/g/amap-des-tilleuls"' in page.text
    assert ">Partager<" in page.text
    home = await client.get("/")
    assert "AMAP des Tilleuls" in home.text


async def test_two_groups_with_the_same_name_get_distinct_urls(client):
    admin = await make_user("jo@example.org")
    first = await make_group(admin, "Marché du Lundi", "market")
    second = await make_group(admin, "Marché du Lundi", "market")
    assert first["slug"] == "marche-du-lundi"
    assert second["slug"] != first["slug"] and second["slug"].startswith("marche-du-lundi-")


async def test_market_has_no_contracts_tab(client):
    admin = await make_user("kim@example.org")
    group = await make_group(admin, "Marché", "market")
    await login(client, "kim@example.org")
    page = await client.get(f"/g/{group['slug']}")
    assert "MES CONTRATS" not in page.text
    assert (await client.get(f"/g/{group['slug']}/contrats")).status_code == 404


async def test_group_creation_errors_are_shown_at_the_field(client):
    await make_user("lou@example.org")
    await login(client, "lou@example.org")
    response = await post_form(
        client, "/groupes/nouveau", {"name": " ", "kind": "club", "registration": "open"}
    )
    assert response.status_code == 422
    assert "Indiquez le nom du groupe." in response.text
    assert "Choisissez le type" in response.text
    assert await Group.count() == 0


async def test_settings_are_saved_and_htmx_gets_the_fragment(client):
    admin = await make_user("max@example.org")
    group = await make_group(admin, "AMAP Bleue")
    await login(client, "max@example.org")
    url = f"/g/{group['slug']}/parametres"
    page = await client.get(url)
    assert page.status_code == 200 and 'value="AMAP Bleue"' in page.text
    response = await post_form(
        client,
        url,
        {
            "name": "AMAP Verte",
            "kind": "amap",
            "registration": "closed",
            "description": "Distribution le jeudi",
        },
        htmx=True,
    )
    assert response.status_code == 200
    assert "Paramètres enregistrés." in response.text
    assert "<html" not in response.text
    saved = await Group.select().where(Group.id == group["id"]).first()
    assert (saved["name"], saved["registration"]) == ("AMAP Verte", "closed")
    assert saved["description"] == "Distribution le jeudi"
    # The slug, and so the shared URL, does not change with the name.
    assert saved["slug"] == group["slug"]


async def test_bad_settings_change_nothing(client):
    admin = await make_user("noe@example.org")
    group = await make_group(admin, "AMAP Rouge")
    await login(client, "noe@example.org")
    response = await post_form(
        client,
        f"/g/{group['slug']}/parametres",
        {"name": "", "kind": "amap", "registration": "nimporte"},
    )
    assert response.status_code == 422
    assert "Indiquez le nom du groupe." in response.text
    assert "Rien n'a été enregistré" in response.text
    saved = await Group.select().where(Group.id == group["id"]).first()
    assert (saved["name"], saved["registration"]) == ("AMAP Rouge", "open")


async def test_closed_group_home_says_so_to_visitors(client):
    admin = await make_user("oui@example.org")
    group = await make_group(admin, "AMAP Fermée")
    from domain.groups import update_settings

    await update_settings(
        group["id"], name="AMAP Fermée", kind="amap", registration="closed", description=""
    )
    page = await client.get(f"/g/{group['slug']}")
    assert page.status_code == 200
    assert "Ce groupe est fermé" in page.text
    assert "COMMANDES" not in page.text


async def test_unknown_paths_get_the_french_404_page_and_unknown_hosts_stay_unknown(client):
    response = await client.get("/cette-page-n-existe-pas")
    assert response.status_code == 404
    assert "Page introuvable" in response.text
    response = await client.get("/nope", headers={"Host": "evil.example"})
    assert response.status_code == 404 and "Site inconnu" in response.text


async def test_htmx_settings_save_refreshes_the_group_header(client):
    admin = await make_user("pia@example.org")
    group = await make_group(admin, "AMAP Jaune")
    await login(client, "pia@example.org")
    response = await post_form(
        client,
        f"/g/{group['slug']}/parametres",
        {"name": "AMAP Orange", "kind": "amap", "registration": "open"},
        htmx=True,
    )
    assert 'id="group-head" hx-swap-oob="true"' in response.text
    assert "AMAP Orange</a></h1>" in response.text
