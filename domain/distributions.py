"""Places and distributions: when and where orders are handed over, and when orders open."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from domain import outbox
from domain.database import transaction
from domain.kernel import forms
from domain.kernel.clock import now
from domain.kernel.dates import PARIS, label, paris_datetime
from domain.kernel.errors import FieldErrors
from domain.tables import Distribution, Group, Order, Place

DEFAULT_OPEN_BEFORE = timedelta(days=7)
DEFAULT_CLOSE_BEFORE = timedelta(hours=24)
MAX_SERIES = 104  # two years of weekly distributions


def _parse_date(value: str, field: str, errors: dict[str, str]) -> date | None:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        errors[field] = "Indiquez une date valide (jj/mm/aaaa)."
        return None


def _parse_time(value: str, field: str, errors: dict[str, str]) -> time | None:
    try:
        return time.fromisoformat(value.strip())
    except ValueError:
        errors[field] = "Indiquez une heure valide (hh:mm)."
        return None


def _parse_moment(value: str, field: str, errors: dict[str, str]) -> datetime | None:
    """A datetime-local input (Paris time), or empty for the default."""
    if not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip()).replace(tzinfo=PARIS).astimezone(UTC)
    except ValueError:
        errors[field] = "Indiquez une date et une heure valides."
        return None


# ---- places ----------------------------------------------------------------------------


async def places_of(group_id: int) -> list[dict]:
    return await Place.select().where(Place.group == group_id).order_by(Place.name)


async def place(group_id: int, place_id: int) -> dict | None:
    return await Place.select().where((Place.id == place_id) & (Place.group == group_id)).first()


async def save_place(group_id: int, name: str, address: str, place_id: int | None = None) -> dict:
    name = name.strip()
    if not name:
        raise FieldErrors({"name": "Indiquez le nom du lieu."})
    if len(name) > 120:
        raise FieldErrors({"name": "Le nom ne doit pas dépasser 120 caractères."})
    errors: dict[str, str] = {}
    forms.check_length(errors, "address", address, forms.ADDRESS_TEXT)
    if errors:
        raise FieldErrors(errors)
    if place_id:
        await Place.update({Place.name: name, Place.address: address.strip()}).where(
            (Place.id == place_id) & (Place.group == group_id)
        )
        return await place(group_id, place_id)
    rows = await Place.insert(Place(group=group_id, name=name, address=address.strip())).returning(
        *Place.all_columns()
    )
    return rows[0]


# ---- distributions ---------------------------------------------------------------------


class DistributionForm:
    """Parsed and checked fields of a distribution (or of a series of them)."""

    def __init__(
        self,
        *,
        group_id: int,
        place_id: str,
        day: str,
        start: str,
        end: str,
        opens: str = "",
        closes: str = "",
    ):
        self.errors: dict[str, str] = {}
        self.place_id = forms.an_id(place_id)
        if self.place_id is None:
            self.errors["place_id"] = "Choisissez un lieu."
        self.day = _parse_date(day, "day", self.errors)
        self.start = _parse_time(start, "start", self.errors)
        self.end = _parse_time(end, "end", self.errors)
        self.opens = _parse_moment(opens, "opens", self.errors)
        self.closes = _parse_moment(closes, "closes", self.errors)
        if self.start and self.end and self.end <= self.start:
            self.errors["end"] = "L'heure de fin doit être après l'heure de début."
        self.group_id = group_id

    def moments(self, day: date) -> dict:
        starts = paris_datetime(day, self.start)
        ends = paris_datetime(day, self.end)
        opens = self.opens or starts - DEFAULT_OPEN_BEFORE
        closes = self.closes or starts - DEFAULT_CLOSE_BEFORE
        return {"starts_at": starts, "ends_at": ends, "opens": opens, "closes": closes}


async def _check_place(group_id: int, place_id: int | None, errors: dict[str, str]) -> None:
    if place_id and not await Place.exists().where(
        (Place.id == place_id) & (Place.group == group_id)
    ):
        errors["place_id"] = "Choisissez un lieu de ce groupe."


def _check_window(m: dict, errors: dict[str, str]) -> None:
    if m["closes"] <= m["opens"]:
        errors["closes"] = "La fermeture des commandes doit être après leur ouverture."
    elif m["closes"] > m["starts_at"]:
        errors["closes"] = "Les commandes doivent fermer avant le début de la distribution."


async def create_distributions(
    form: DistributionForm, *, until: str = "", every_days: int = 7
) -> list[int]:
    """One distribution, or a series (every N days up to `until`) in one go."""
    errors = dict(form.errors)
    await _check_place(form.group_id, form.place_id, errors)
    days: list[date] = []
    if form.day and not errors:
        last = form.day
        if until.strip():
            last = _parse_date(until, "until", errors) or form.day
            if last < form.day:
                errors["until"] = "La date de fin de série doit être après la première date."
        if form.opens or form.closes:
            if until.strip():
                errors["opens"] = "Pour une série, les dates de commande sont calculées."
        day = form.day
        while day <= last and len(days) <= MAX_SERIES:
            days.append(day)
            day += timedelta(days=every_days)
        if len(days) > MAX_SERIES:
            errors["until"] = f"Une série ne peut pas dépasser {MAX_SERIES} distributions."
    if not errors:
        _check_window(form.moments(days[0]), errors)
    if errors:
        raise FieldErrors(errors)
    rows = []
    for day in days:
        m = form.moments(day)
        rows.append(
            Distribution(
                group=form.group_id,
                place=form.place_id,
                starts_at=m["starts_at"],
                ends_at=m["ends_at"],
                orders_open_at=m["opens"],
                orders_close_at=m["closes"],
            )
        )
    async with transaction():
        created = await Distribution.insert(*rows).returning(Distribution.id)
    return [row["id"] for row in created]


async def distribution(group_id: int, distribution_id: int) -> dict | None:
    return (
        await Distribution.select(
            *Distribution.all_columns(),
            Distribution.place.name.as_alias("place_name"),
            Distribution.place.address.as_alias("place_address"),
        )
        .where((Distribution.id == distribution_id) & (Distribution.group == group_id))
        .first()
    )


async def distributions_of(group_id: int, *, past: bool = False, limit: int = 50) -> list[dict]:
    moment = now()
    query = Distribution.select(
        *Distribution.all_columns(),
        Distribution.place.name.as_alias("place_name"),
    ).where(Distribution.group == group_id)
    if past:
        query = query.where(Distribution.ends_at < moment).order_by(
            Distribution.starts_at, ascending=False
        )
    else:
        query = query.where(Distribution.ends_at >= moment).order_by(Distribution.starts_at)
    return await query.limit(limit)


async def _members_with_orders(distribution_id: int) -> list[dict]:
    return await Order.select(
        Order.user.id.as_alias("id"),
        Order.user.email.as_alias("email"),
        Order.user.first_name.as_alias("first_name"),
    ).where((Order.distribution == distribution_id) & (Order.state == "validated"))


async def move_distribution(
    group_id: int, distribution_id: int, form: DistributionForm, ctx
) -> list[int]:
    """Change date, time or place; members who ordered are told by mail."""
    errors = dict(form.errors)
    await _check_place(form.group_id, form.place_id, errors)
    current = await distribution(group_id, distribution_id)
    if current is None:
        raise FieldErrors({"day": "Distribution introuvable."})
    if current["cancelled_at"] is not None:
        raise FieldErrors(
            {"day": "Cette distribution est annulée : elle ne peut plus être déplacée."}
        )
    if not errors:
        m = form.moments(form.day)
        if not form.opens:
            m["opens"] = current["orders_open_at"]
        if not form.closes:
            m["closes"] = min(current["orders_close_at"], m["starts_at"])
        _check_window(m, errors)
    if errors:
        raise FieldErrors(errors)
    group = await Group.select(Group.name, Group.slug).where(Group.id == group_id).first()
    mail_ids = []
    async with transaction():
        await Distribution.update(
            {
                Distribution.place: form.place_id,
                Distribution.starts_at: m["starts_at"],
                Distribution.ends_at: m["ends_at"],
                Distribution.orders_open_at: m["opens"],
                Distribution.orders_close_at: m["closes"],
                Distribution.sequence: Distribution.sequence + 1,  # calendars update it
            }
        ).where(Distribution.id == distribution_id)
        moved = await distribution(group_id, distribution_id)
        for member in await _members_with_orders(distribution_id):
            mail_ids.append(
                await outbox.queue(
                    key=f"moved:{distribution_id}:{member['id']}:{m['starts_at'].isoformat()}"
                    f":{form.place_id}",
                    kind="distribution_moved",
                    to=member["email"],
                    template="distribution_moved",
                    ctx=ctx,
                    context={
                        "first_name": member["first_name"],
                        "old": label(current["starts_at"]),
                        "old_place": current["place_name"],
                        "new": label(moved["starts_at"]),
                        "new_place": moved["place_name"],
                        "group_name": group["name"],
                        "url": f"{ctx.base_url}/g/{group['slug']}/commandes/{distribution_id}",
                    },
                )
            )
    return mail_ids


async def cancel_distribution(group_id: int, distribution_id: int, ctx) -> list[int]:
    current = await distribution(group_id, distribution_id)
    if current is None or current["cancelled_at"] is not None:
        return []
    group = await Group.select(Group.name, Group.slug).where(Group.id == group_id).first()
    mail_ids = []
    async with transaction():
        await Distribution.update(
            {Distribution.cancelled_at: now(), Distribution.sequence: Distribution.sequence + 1}
        ).where((Distribution.id == distribution_id) & Distribution.cancelled_at.is_null())
        for member in await _members_with_orders(distribution_id):
            mail_ids.append(
                await outbox.queue(
                    key=f"cancelled:{distribution_id}:{member['id']}",
                    kind="distribution_cancelled",
                    to=member["email"],
                    template="distribution_cancelled",
                    ctx=ctx,
                    context={
                        "first_name": member["first_name"],
                        "when": label(current["starts_at"]),
                        "place": current["place_name"],
                        "group_name": group["name"],
                        "url": f"{ctx.base_url}/g/{group['slug']}",
                    },
                )
            )
    return mail_ids
