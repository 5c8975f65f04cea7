"""Dates as French readers expect them, in Paris time (the columns hold UTC).

One place formats them: the templates' `date` filter, mails, CSV file names and the
operator commands all go through `format_moment`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def local(moment: datetime) -> datetime:
    return moment.astimezone(PARIS)


def paris_datetime(day: date, at: time) -> datetime:
    """A Paris wall-clock time as the UTC datetime the columns store."""
    return datetime.combine(day, at, tzinfo=PARIS).astimezone(UTC)


def paris_midnight(day: date) -> datetime:
    """00:00 in Paris on that day, as a UTC datetime."""
    return paris_datetime(day, time(0, 0))


def paris_day(moment: datetime) -> date:
    return local(moment).date()


def label(moment: datetime) -> str:
    """ "mardi 4 avril à 19:00", in Paris time: in lower case, as French writes it in a
    sentence (« jusqu'au mardi 4 avril »); a heading that starts with it is capitalised by
    the style sheet."""
    when = local(moment)
    return f"{WEEKDAYS[when.weekday()]} {when.day} {MONTHS[when.month - 1]} à {when:%H:%M}"


def long_date(moment: datetime) -> str:
    """ "14 mars 2026 à 00:00", Paris time."""
    when = local(moment)
    return f"{when.day} {MONTHS[when.month - 1]} {when.year} à {when:%H:%M}"


def short_date(moment: datetime) -> str:
    """ "14/03/2026 00:00", Paris time."""
    return f"{local(moment):%d/%m/%Y %H:%M}"


def day_label(day: date) -> str:
    """ "mardi 4 avril 2026" (a calendar day, no time)."""
    return f"{WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]} {day.year}"


STYLES = {
    "label": label,
    "long": long_date,
    "short": short_date,
    "time": lambda moment: f"{local(moment):%H:%M}",
    "day": lambda moment: f"{local(moment):%d/%m/%Y}",
    "input": lambda moment: f"{local(moment):%Y-%m-%dT%H:%M}",
}


def format_moment(value: datetime | date | None, style: str = "label") -> str:
    """The templates' `date` filter: `{{ d.starts_at|date }}`, `{{ x|date("short") }}`."""
    if value is None:
        return ""
    if not isinstance(value, datetime):
        return day_label(value) if style == "label" else f"{value:%d/%m/%Y}"
    return STYLES[style](value)
