"""The producer's login e-mail answers the same whether the address has an account or not:
the admin learns nothing of other people's accounts; the producer gets access either way."""

from __future__ import annotations

import html

from domain.tables import User, Vendor
from tests.helpers import PASSWORD, link_in, login, make_group, make_user, post_form
from tests.stack import text_of


def masked(text: str, email: str) -> str:
    """The page with the address and the ids taken out: what differs between two answers
    that should be the same."""
    return html.unescape(text).replace(email, "<adresse>")


async def test_the_answer_is_the_same_for_an_address_with_an_account_and_without(client, mailbox):
    admin = await make_user("anne@example.org", "Anne")
    await make_user("jean@example.org", "Jean")
    group = await make_group(admin, "AMAP des Prés")
    await login(client, "anne@example.org")
    url = f"/g/{group['slug']}/producteurs"
    answers = {}
    for email in ("jean@example.org", "inconnu@example.org"):
        response = await post_form(
            client,
            f"{url}/nouveau",
            {"name": "Ferme", "login_email": email},
            follow_redirects=False,
        )
        assert response.status_code == 303
        listing = await client.get(url)
        flash = listing.text.split('role="status"', 1)[1].split("</", 1)[0]
        answers[email] = (response.headers["location"], masked(flash, email))
        assert f"Compte de connexion : {email}" in listing.text
        vendor = await Vendor.select().order_by(Vendor.id, ascending=False).first()
        page = await client.get(f"{url}/{vendor['id']}")
        answers[email] += (masked(page.text, email).replace(f"/{vendor['id']}", "/<id>"),)
    assert answers["jean@example.org"] == answers["inconnu@example.org"]
    assert (
        "s'il n'a pas encore de compte, un e-mail l'invite à le créer"
        in answers["jean@example.org"][1]
    )

    # Without an account: a pending one, invited, that lands on the producer's space.
    pending = await User.select().where(User.email == "inconnu@example.org").first()
    assert pending["password_hash"] is None
    mail = (await mailbox.wait_for("inconnu@example.org"))[0]
    assert "vous donne accès aux catalogues de Ferme" in text_of(mail)
    link = link_in(text_of(mail), "/invitation/").replace("http://localhost", "")
    client.cookies.clear()
    page = await client.get(link)
    assert page.status_code == 200
    finished = await post_form(
        client,
        link.split("?")[0],
        {"first_name": "Inès", "last_name": "Connue", "password": PASSWORD, "next": "/producteur"},
    )
    assert str(finished.url).endswith("/producteur") and "Ferme" in finished.text
    # Saving the producer again sends no second invitation.
    client.cookies.clear()
    await login(client, "anne@example.org")
    vendor = await Vendor.select().where(Vendor.user == pending["id"]).first()
    await post_form(
        client, f"{url}/{vendor['id']}", {"name": "Ferme", "login_email": "inconnu@example.org"}
    )
    assert len(mailbox.to("inconnu@example.org")) == 1
