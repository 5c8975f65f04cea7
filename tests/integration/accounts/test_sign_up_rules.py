"""Account rules at the domain level, whatever the caller."""

from __future__ import annotations

import pytest

from domain import accounts
from domain.kernel.errors import FieldErrors
from domain.outbox import MailContext
from domain.tables import OutboxMail, User
from tests.helpers import PASSWORD

CTX = MailContext(instance="main", site_name="Test", base_url="http://localhost")


async def test_sign_up_never_completes_a_pending_account():
    """A pending account (an admin's "Nouveau client") is finished through its mailed link
    only: signing up with its address must not hand the account to whoever typed it."""
    await User.insert(User(email="attente@example.org", first_name="", last_name=""))
    with pytest.raises(FieldErrors) as refused:
        await accounts.sign_up(
            email="Attente@Example.org",
            password=PASSWORD,
            first_name="Intrus",
            last_name="Malin",
            ctx=CTX,
        )
    assert "suivez le lien reçu par e-mail" in refused.value.errors["email"]
    user = await User.select().where(User.email == "attente@example.org").first()
    assert user["password_hash"] is None and user["first_name"] == ""
    assert await OutboxMail.count() == 0


async def test_sign_up_creates_a_new_account_with_its_welcome_mail():
    user_id, mail_ids = await accounts.sign_up(
        email="neuf@example.org", password=PASSWORD, first_name="N", last_name="F", ctx=CTX
    )
    assert await User.exists().where((User.id == user_id) & User.password_hash.is_not_null())
    assert len(mail_ids) == 1
