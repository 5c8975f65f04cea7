"""The client import says what will be done for each address (an invitation, or nothing for
a member already), never whether the address has an account: any user can create a group
and upload 10,000 addresses."""

from __future__ import annotations

import html
import re

from domain.tables import Membership
from tests.helpers import csrf_token, login, make_group, make_user, post_form


def row_of(page: str, email: str) -> str:
    """The preview's row of one address, the address and the names taken out."""
    row = next(r for r in re.findall(r"<tr>.*?</tr>", page, re.S) if email in r)
    return re.sub(r"<td>\d+</td>", "<td>n</td>", row.replace(email, "@")).replace(
        "Eva Ancienne", ""
    )


async def test_the_preview_and_its_import_read_the_same_with_an_account_or_without(client):
    admin = await make_user("admin@example.org")
    await make_user("existe@example.org", "Eva", "Ancienne")
    member = await make_user("membre@example.org")
    group = await make_group(admin, "AMAP Import")
    await Membership.insert(Membership(user=member, group=group["id"]))
    await login(client, "admin@example.org")
    content = (
        "E-mail;Prénom;Nom\n"
        "existe@example.org;Eva;Ancienne\n"
        "inconnu@example.org;Eva;Ancienne\n"
        "membre@example.org;M;M\n"
    ).encode()
    preview = await client.post(
        f"/g/{group['slug']}/membres/import",
        files={"file": ("clients.csv", content, "text/csv")},
        data={"_csrf_token": await csrf_token(client)},
    )
    page = html.unescape(preview.text)
    assert row_of(page, "existe@example.org") == row_of(page, "inconnu@example.org")
    assert "Sera invité et ajouté au groupe" in row_of(page, "existe@example.org")
    assert "Déjà membre : rien à faire" in row_of(page, "membre@example.org")
    assert (
        "2 invitations seront envoyées (personnes ajoutées au groupe), 1 personne déjà membre"
        in page
    )
    assert "Compte existant" not in page and "Nouveau compte" not in page
    signed = html.unescape(re.search(r'name="signed" value="([^"]+)"', preview.text).group(1))
    done = await post_form(
        client, f"/g/{group['slug']}/membres/import/confirmer", {"signed": signed}
    )
    text = html.unescape(done.text)
    assert "2 personnes invitées et ajoutées au groupe, 1 personne déjà membre" in text
    assert "existant" not in text
