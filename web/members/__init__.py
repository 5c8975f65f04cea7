"""MEMBRES (CLIENTS in a market): the group's members and how people join it; the person's
side (invitation links, Mes marchés suivis)."""

from web.members import (
    answer,
    directory,
    fees,
    following,
    imports,
    invitations,
    joining,
    order_for,
    proofs,
    rights,
    takeover,
)

handlers = [
    *directory.handlers,
    *invitations.handlers,
    *joining.handlers,
    *rights.handlers,
    *order_for.handlers,
    *fees.handlers,
    *imports.handlers,
    *following.handlers,
    *answer.handlers,
    *takeover.handlers,
    *proofs.handlers,
]
