"""The feeds' VTIMEZONE says what the system's tzdata says of Europe/Paris: the same
offset at every hour around each change of time, and at noon every day, 2000–2045."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar

from domain.calendars import paris_vtimezone

PARIS = ZoneInfo("Europe/Paris")


def test_the_vtimezone_matches_the_system_tzdata():
    parsed = icalendar.Calendar.from_ical(
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:test\r\n"
        + paris_vtimezone().to_ical()
        + b"END:VCALENDAR\r\n"
    )
    [component] = parsed.walk("VTIMEZONE")
    zone = component.to_tz()
    moment = datetime(2000, 1, 1, tzinfo=UTC)
    checked = 0
    while moment.year < 2046:
        expected = moment.astimezone(PARIS).utcoffset()
        assert moment.astimezone(zone).utcoffset() == expected, moment
        checked += 1
        # Every hour in March and October (the changes), noon every day otherwise.
        moment += timedelta(hours=1) if moment.month in (3, 10) else timedelta(days=1)
    assert checked > 60_000
