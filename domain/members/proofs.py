"""« Une pièce justificative de ce consentement »: the signed form of a person whose account
an admin made in Mode création, attached to the consent record as a PDF or a photo.

It is personal data of the most private kind (a signature, an address): stored in the
database with its record (never under static/, never at an address one could guess), and
handed only to the group's admins, through the record's group and person (web layer).
A PDF is kept as sent once it is checked to be one; a photo is decoded within the kernel's
pixel budget and written again as a JPEG large enough to read the form, without the
phone's metadata (where it was taken).
"""

from __future__ import annotations

from domain.kernel import cpu, images
from domain.kernel.clock import now
from domain.kernel.errors import FieldErrors
from domain.tables import ConsentRecord

MAX_BYTES = 5 * 1024 * 1024
MAX_LABEL = "5 Mo"
LONGEST = 2000  # px: an A4 form stays legible
PDF, JPEG = "application/pdf", "image/jpeg"
NOT_A_PROOF = "Ce fichier n'est ni une photo (JPEG, PNG, WebP) ni un PDF."


class NoSuchRecord(Exception):
    """No consent record of this person in this group by that id."""


def _checked(data: bytes) -> tuple[bytes, str]:
    """(what is kept, its type), or FieldErrors at the field `proof`. CPU-heavy for a
    photo: through `cpu.run`."""
    if not data:
        raise FieldErrors({"proof": "Choisissez la photo ou le PDF du formulaire signé."})
    if len(data) > MAX_BYTES:
        raise FieldErrors({"proof": f"Le fichier ne doit pas dépasser {MAX_LABEL}."})
    if data.startswith(b"%PDF-"):
        if b"%%EOF" not in data[-2048:]:
            raise FieldErrors({"proof": "Ce PDF est incomplet : envoyez-le à nouveau."})
        return data, PDF
    try:
        return images.reencode(data, longest=LONGEST, quality=85, formats=images.FORMATS), JPEG
    except images.TooManyPixels as error:
        raise FieldErrors({"proof": images.too_large("La photo", error)}) from error
    except images.NotAnImage as error:
        raise FieldErrors({"proof": NOT_A_PROOF}) from error


async def _record(group_id: int, user_id: int, consent_id: int) -> dict:
    row = (
        await ConsentRecord.select(ConsentRecord.id)
        .where(
            (ConsentRecord.id == consent_id)
            & (ConsentRecord.group == group_id)
            & (ConsentRecord.user == user_id)
        )
        .first()
    )
    if row is None:
        raise NoSuchRecord()
    return row


async def attach(group_id: int, user_id: int, consent_id: int, data: bytes) -> dict:
    """The proof of this record (a new one replaces the old): its type and size. The
    record is found through the group and the person (NoSuchRecord otherwise), before
    the file is decoded; one statement writes it."""
    await _record(group_id, user_id, consent_id)
    content, kind = await cpu.run(_checked, data)
    rows = (
        await ConsentRecord.update(
            {
                ConsentRecord.proof: content,
                ConsentRecord.proof_type: kind,
                ConsentRecord.proof_size: len(content),
                ConsentRecord.proof_name: "consentement.pdf" if kind == PDF else "consentement.jpg",
                ConsentRecord.proof_at: now(),
            }
        )
        .where(
            (ConsentRecord.id == consent_id)
            & (ConsentRecord.group == group_id)
            & (ConsentRecord.user == user_id)
        )
        .returning(ConsentRecord.proof_type, ConsentRecord.proof_size)
    )
    if not rows:
        raise NoSuchRecord()
    return rows[0]


async def proof_of(group_id: int, user_id: int, consent_id: int) -> dict | None:
    """The proof (content, type, name) of this person's record in this group, if any."""
    row = (
        await ConsentRecord.select(
            ConsentRecord.proof,
            ConsentRecord.proof_type,
            ConsentRecord.proof_name,
            ConsentRecord.user.first_name.as_alias("first_name"),
            ConsentRecord.user.last_name.as_alias("last_name"),
        )
        .where(
            (ConsentRecord.id == consent_id)
            & (ConsentRecord.group == group_id)
            & (ConsentRecord.user == user_id)
        )
        .first()
    )
    if row is None or row["proof"] is None:
        return None
    row["proof"] = bytes(row["proof"])
    return row
