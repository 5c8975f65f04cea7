"""A client an admin added by e-mail only has no names: their mails greet « Bonjour, » (never
« Bonjour , »), and they give their first and last names (« Vos prénom et nom ») before
their first order, with or without JavaScript, then find their basket again (13.5)."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import pytest

from domain import notifications
from domain.demo import world as build
from domain.ordering import NamesNeeded, changes
from domain.tables import Order, OrderLine, OutboxMail, User
from jobs import mail as mail_jobs
from tests.helpers import (
    MAIL_CONTEXT,
    PASSWORD,
    csrf_token,
    link_in,
    login,
    make_distribution_world,
    make_user,
    post_form,
)
from tests.stack import text_of


def names_page(url: str) -> str:
    return f"/compte/nom?next={quote(url, safe='/')}"


async def names_of(email: str) -> tuple[str, str]:
    row = await User.select(User.first_name, User.last_name).where(User.email == email).first()
    return row["first_name"], row["last_name"]


async def nameless_member(world: dict, email: str = "claire@example.org") -> int:
    user = await build.person(email, "", "")
    await build.join(world["group"]["id"], user)
    return user


async def test_added_by_email_greeted_without_a_name_then_asked_for_it_before_ordering(
    client, mailbox
):
    """The whole path without JavaScript: the admin adds an address, the person sets a
    password through « Mot de passe oublié », opens the ordering page, validates: their
    names are asked, the basket kept, and the order validated after."""
    admin = await make_user("admin@example.org", "Adèle")
    world = await make_distribution_world(admin, registration="closed", stock=10)
    slug, url = world["group"]["slug"], world["url"]
    await login(client, "admin@example.org")
    added = await post_form(client, f"/g/{slug}/membres/nouveau", {"email": "claire@example.org"})
    assert added.status_code == 200, added.text
    await mail_jobs.hand_over(await notifications.queue_due({"main": MAIL_CONTEXT}))
    client.cookies.clear()
    await post_form(client, "/compte/mot-de-passe-oublie", {"email": "claire@example.org"})
    [reset] = await mailbox.wait_for("claire@example.org", subject="nouveau mot de passe")
    [opening] = await mailbox.wait_for("claire@example.org", subject="Les commandes sont ouvertes")
    [welcome] = await mailbox.wait_for("claire@example.org", subject="Bienvenue")
    for mail in (reset, opening, welcome):
        text = text_of(mail)
        assert text.startswith("Bonjour,\n"), text[:40]
        html_part = mail.get_body(preferencelist=("html",)).get_content()
        assert "<p>Bonjour,</p>" in html_part and "Bonjour ," not in html_part
    path = urlsplit(link_in(text_of(reset), "/compte/mot-de-passe/")).path
    await post_form(client, path, {"password": "un-mot-de-passe-solide"})
    await login(client, "claire@example.org", "un-mot-de-passe-solide")

    # Opening the ordering form asks for the names first.
    response = await client.get(url, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == names_page(url)
    # A form posted anyway (a page opened before): the basket is kept, not validated.
    a, b, _ = world["products"]
    response = await post_form(
        client, url, {"key": "k-1", f"q{a}": "2", f"q{b}": "1", "valider": "1"},
        follow_redirects=False,
    )  # fmt: skip
    assert response.status_code == 303 and response.headers["location"] == names_page(url)
    order = await Order.select().where(Order.user.email == "claire@example.org").first()
    assert order["state"] == "draft" and order["total_cents"] == 2 * 150 + 151
    assert await OutboxMail.count().where(OutboxMail.kind == "order_recap") == 0

    page = await client.get(names_page(url))
    assert page.status_code == 200
    assert "Vos prénom et nom" in page.text and "Votre panier est gardé" in page.text
    assert 'autocomplete="given-name"' in page.text and 'name="next"' in page.text
    refused = await post_form(client, "/compte/nom", {"first_name": " ", "next": url})
    assert refused.status_code == 422
    assert "Indiquez votre prénom." in refused.text and "Indiquez votre nom." in refused.text
    assert 'aria-invalid="true"' in refused.text
    too_long = await post_form(
        client, "/compte/nom", {"first_name": "C" * 101, "last_name": "Roy", "next": url}
    )
    assert too_long.status_code == 422
    assert "Le prénom ne doit pas dépasser 100 caractères." in too_long.text
    assert 'value="Roy"' in too_long.text
    assert await names_of("claire@example.org") == ("", "")

    done = await post_form(
        client, "/compte/nom", {"first_name": " Claire ", "last_name": "Roy", "next": url}
    )
    assert done.status_code == 200 and str(done.url).endswith(url)
    assert "Merci, vos prénom et nom sont enregistrés. Votre panier est gardé." in done.text
    assert f'name="q{a}" value="2"' in done.text and f'name="q{b}" value="1"' in done.text
    assert await names_of("claire@example.org") == ("Claire", "Roy")
    response = await post_form(
        client, url, {"key": "k-2", f"q{a}": "2", f"q{b}": "1", "valider": "1"}
    )
    assert "Votre commande est validée" in response.text
    order = await Order.select().where(Order.id == order["id"]).first()
    assert order["state"] == "validated"
    [recap] = await OutboxMail.select().where(OutboxMail.kind == "order_recap")
    assert recap["body_text"].startswith("Bonjour Claire,\n")
    # Named now: the page opens directly.
    assert (await client.get(url, follow_redirects=False)).status_code == 200


async def test_with_htmx_a_change_sends_the_browser_to_the_names_then_back(client):
    admin = await make_user("admin@example.org")
    world = await make_distribution_world(admin, stock=5)
    user = await nameless_member(world)
    await login(client, "claire@example.org")
    a = world["products"][0]
    response = await post_form(
        client, f"{world['url']}/ligne/{a}", {"q": "1", "k": "h-1"}, htmx=True
    )
    assert response.status_code == 200
    assert response.headers["hx-redirect"] == names_page(world["url"])
    assert await OrderLine.count() == 0
    # Sent there by htmx, the form is a plain page; the names given, back to the basket.
    done = await post_form(
        client, "/compte/nom", {"first_name": "Claire", "last_name": "Roy", "next": world["url"]},
        htmx=True,
    )  # fmt: skip
    assert done.headers["hx-redirect"] == world["url"]
    response = await post_form(
        client, f"{world['url']}/ligne/{a}", {"q": "1", "k": "h-2"}, htmx=True
    )
    assert "hx-redirect" not in response.headers and f'id="p{a}"' in response.text
    assert await OrderLine.count().where(OrderLine.order.user == user) == 1


async def test_a_names_form_with_errors_is_422_for_htmx_too(client):
    admin = await make_user("admin@example.org")
    world = await make_distribution_world(admin)
    await nameless_member(world)
    await login(client, "claire@example.org")
    response = await post_form(
        client, "/compte/nom", {"first_name": "Claire", "next": world["url"]}, htmx=True
    )
    assert response.status_code == 422 and "Indiquez votre nom." in response.text


async def test_a_visitor_who_logs_in_to_a_nameless_account_keeps_the_basket(client):
    """An open market's visitor fills a basket, then logs in to an account an admin made:
    the names, then the order is validated with the basket of the visit."""
    admin = await make_user("admin@example.org")
    world = await make_distribution_world(admin, stock=5)
    await build.person("claire@example.org", "", "")  # not a member yet
    a = world["products"][0]
    await post_form(client, world["url"], {f"q{a}": "3", "valider": "1"})
    finish = f"{world['url']}/finaliser"
    response = await post_form(
        client,
        "/connexion",
        {"email": "claire@example.org", "password": PASSWORD, "next": finish},
        follow_redirects=False,
    )
    assert response.headers["location"] == finish
    response = await client.get(finish, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == names_page(finish)
    assert await Order.count() == 0
    response = await post_form(
        client, "/compte/nom", {"first_name": "Claire", "last_name": "Roy", "next": finish}
    )
    assert "Votre commande est validée" in response.text
    order = await Order.select().where(Order.user.email == "claire@example.org").first()
    assert order["state"] == "validated" and order["total_cents"] == 3 * 150


async def test_the_names_form_needs_its_csrf_token_and_a_login(client):
    admin = await make_user("admin@example.org")
    world = await make_distribution_world(admin)
    await nameless_member(world)
    response = await client.get("/compte/nom", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/connexion")
    await login(client, "claire@example.org")
    await csrf_token(client)
    response = await client.post("/compte/nom", data={"first_name": "C", "last_name": "R"})
    assert response.status_code == 403
    assert await names_of("claire@example.org") == ("", "")
    # Only a local path to go back to.
    response = await post_form(
        client,
        "/compte/nom",
        {"first_name": "C", "last_name": "R", "next": "https://ailleurs.example/"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/compte"


async def test_the_rule_holds_in_the_domain_whoever_calls(client):
    """Validating one's own order without names is refused, nothing changed; an admin's
    order for a member (own=False) is not the person's own and is not refused."""
    admin = await make_user("admin@example.org")
    world = await make_distribution_world(admin)
    user = await nameless_member(world)
    a = world["products"][0]
    common = {
        "user_id": user,
        "group_id": world["group"]["id"],
        "distribution_id": world["distribution"],
        "quantities": {a: 1},
        "ctx": MAIL_CONTEXT,
    }
    with pytest.raises(NamesNeeded):
        await changes.submit_basket(**common, key="d-1", own=True)
    assert await Order.count() == 0
    order, _ = await changes.submit_basket(**common, key="d-2", own=True, validate=False)
    assert order["state"] == "draft"
    order, _ = await changes.submit_basket(**common, key="d-3", own=False)
    assert order["state"] == "validated"


async def test_in_an_amap_the_names_come_before_a_first_contract(client):
    from domain.tables import Subscription
    from tests.web.subscriptions.test_subscriptions import fixed_world

    admin = await make_user("admin@example.org")
    world = await fixed_world(admin)
    await nameless_member(world)
    await login(client, "claire@example.org")
    url = f"/g/{world['group']['slug']}/contrats/{world['catalog']}"
    response = await client.get(url, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == names_page(url)
    a = world["products"][0]
    refused = await post_form(client, url, {f"q{a}": "2"})  # a page opened before
    assert refused.status_code == 422
    assert "Indiquez vos prénom et nom avant de souscrire." in refused.text
    assert await Subscription.count() == 0 and await Order.count() == 0
    await post_form(
        client, "/compte/nom", {"first_name": "Claire", "last_name": "Roy", "next": url}
    )
    response = await post_form(client, url, {f"q{a}": "2"})
    assert "Votre souscription est enregistrée." in response.text
    assert await Subscription.count() == 1
