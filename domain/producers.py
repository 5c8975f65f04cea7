"""Producers (vendors) of a group: who sells through its catalogs, and their login."""

from __future__ import annotations

from domain.accounts import EMAIL_RE, normalize_email
from domain.database import transaction
from domain.kernel import forms
from domain.kernel.errors import FieldErrors
from domain.members.invitations import queue_invitation
from domain.outbox import MailContext
from domain.producer_space import producers as spaces
from domain.tables import (
    AccountToken,
    Catalog,
    CatalogOffer,
    Group,
    Producer,
    Product,
    User,
    Vendor,
)


async def vendors_of(group_id: int) -> list[dict]:
    return (
        await Vendor.select(*Vendor.all_columns(), Vendor.user.email.as_alias("user_email"))
        .where(Vendor.group == group_id)
        .order_by(Vendor.name)
    )


async def vendor(group_id: int, vendor_id: int) -> dict | None:
    return (
        await Vendor.select(*Vendor.all_columns(), Vendor.user.email.as_alias("user_email"))
        .where((Vendor.id == vendor_id) & (Vendor.group == group_id))
        .first()
    )


async def save_vendor(
    group_id: int,
    *,
    name: str,
    description: str = "",
    email: str = "",
    phone: str = "",
    address: str = "",
    login_email: str = "",
    vendor_id: int | None = None,
    ctx: MailContext | None = None,
) -> dict:
    """`login_email` lets the producer log in: it is linked to the account of that address,
    or to a pending one made for it with an invitation to finish it (`ctx`: its mail, whose
    id is in the answer's "mail_ids"). Either way the admin is told the same: whether an
    account exists is the address owner's business, not the group's."""
    errors: dict[str, str] = {}
    name = name.strip()
    if not name:
        errors["name"] = "Indiquez le nom du producteur."
    elif len(name) > 120:
        errors["name"] = "Le nom ne doit pas dépasser 120 caractères."
    email = normalize_email(email)
    if email and (len(email) > 254 or not EMAIL_RE.match(email)):
        errors["email"] = "Cette adresse e-mail n'est pas valide."
    if len(phone.strip()) > 40:
        errors["phone"] = "Le numéro ne doit pas dépasser 40 caractères."
    forms.check_length(errors, "description", description, forms.LONG_TEXT)
    forms.check_length(errors, "address", address, forms.ADDRESS_TEXT)
    login_email = normalize_email(login_email)
    if login_email and (len(login_email) > 254 or not EMAIL_RE.match(login_email)):
        errors["login_email"] = "Cette adresse e-mail n'est pas valide."
    if errors:
        raise FieldErrors(errors)
    user_id, mail_ids = None, []
    # One transaction: the producer's account and its invitation exist only with the
    # producer that names them.
    async with transaction():
        if login_email:
            group = await Group.select(Group.name).where(Group.id == group_id).first()
            note = (
                f"{group['name']} vous donne accès aux catalogues de {name} : une fois votre "
                "inscription finie, vous les retrouverez dans votre espace producteur."
            )
            user_id, mail_ids = await _login_account(login_email, ctx, note)
        values = {
            Vendor.name: name,
            Vendor.description: description.strip(),
            Vendor.email: email,
            Vendor.phone: phone.strip(),
            Vendor.address: address.strip(),
            Vendor.user: user_id,
        }
        if vendor_id:
            await Vendor.update(values).where((Vendor.id == vendor_id) & (Vendor.group == group_id))
            await _join_login_space(vendor_id, user_id)
        else:
            producer = await spaces.for_login(user_id, name)
            rows = await Vendor.insert(
                Vendor(
                    group=group_id,
                    producer=producer,
                    **{col._meta.name: v for col, v in values.items()},
                )
            ).returning(Vendor.id)
            vendor_id = rows[0]["id"]
    return await vendor(group_id, vendor_id) | {"mail_ids": mail_ids}


async def _join_login_space(vendor_id: int, user_id: int | None) -> None:
    """A vendor newly linked to an account that runs a producer space joins it, with its
    catalogs' products, when its own space holds nothing else (no other vendor, no product
    of a list, no Escarcelle link): the account then has one space. Otherwise it keeps
    its own (the account sees both)."""
    if user_id is None:
        return
    row = await Vendor.select(Vendor.producer).where(Vendor.id == vendor_id).first()
    current = row["producer"]
    target = (
        await Vendor.select(Vendor.producer)
        .where((Vendor.user == user_id) & (Vendor.id != vendor_id) & Vendor.producer.is_not_null())
        .order_by(Vendor.id)
        .first()
    )
    if target is None or target["producer"] == current:
        return
    if current is not None:
        shared = await Vendor.exists().where(
            (Vendor.producer == current) & (Vendor.id != vendor_id)
        ) or await Product.exists().where((Product.producer == current) & Product.catalog.is_null())
        if shared or await CatalogOffer.exists().where(
            CatalogOffer.catalog.is_in(
                Catalog.select(Catalog.id).where(Catalog.vendor == vendor_id)
            )
        ):
            return
        if await spaces.is_linked(current):
            return
    await Vendor.update({Vendor.producer: target["producer"]}).where(Vendor.id == vendor_id)
    await Product.update({Product.producer: target["producer"]}).where(
        Product.catalog.is_in(Catalog.select(Catalog.id).where(Catalog.vendor == vendor_id))
    )
    if current is not None:
        await Producer.delete().where(Producer.id == current)


async def _login_account(email: str, ctx: MailContext | None, note: str) -> tuple[int, list[int]]:
    """The account of the address; without one, a pending account invited to finish it
    (then to land on the producer's space)."""
    async with transaction():
        await User.insert(User(email=email)).on_conflict(action="DO NOTHING")
        user = (
            await User.select(User.id, User.email, User.first_name, User.password_hash)
            .where(User.email == email)
            .first()
        )
        if user["password_hash"] is not None or ctx is None:
            return user["id"], []
        if await AccountToken.exists().where(
            (AccountToken.user == user["id"]) & (AccountToken.purpose == "invite")
        ):
            return user["id"], []  # invited already (by this form or by a group)
        mail_id = await queue_invitation(
            user, None, ctx, "/producteur", kind="finish_signup", note=note
        )
    return user["id"], [mail_id] if mail_id else []
