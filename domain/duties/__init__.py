"""Permanences: the volunteer duties of a distribution day. The parts: `roles` (the
group's settings: its roles, per group or per catalog, their places and instructions, and
how many days ahead members may sign up), `signups` (signing up, leaving, an admin's
assigning and removing), `calendar` (the coming distributions with their open roles; the
list of one day, printed with the émargement) and `mails` (what the scheduler sends).

Rules that hold whatever the page:
- a role of the group is needed at each of its distributions; a role of a catalog only at
  the distributions that catalog delivers at; a removed role at none;
- a person holds one role per distribution, one place each; signing up twice is signing up
  once, and two people racing for a role's last place: one gets it, the other is told
  (the database's unique constraints decide, see `DutySignup`);
- members sign up from `open_days` before the start (60 by default) until the start;
  admins assign and remove at any time before the start.
"""

from __future__ import annotations

from datetime import datetime, timedelta

DEFAULT_OPEN_DAYS = 60
MAX_OPEN_DAYS = 365
MAX_PLACES = 50
MAX_NAME = 120
# Who leaves a role this close to the start: the admins are told.
LATE_LEAVE = timedelta(hours=48)
# The volunteers' instructions go this long before the start.
INSTRUCTIONS_BEFORE = timedelta(days=4)
# The admins' alert about empty places: from this long before the start…
EMPTY_ALERT_BEFORE = timedelta(days=7)
# …until this long before it (then the notices of late leaving take over).
EMPTY_ALERT_UNTIL = timedelta(hours=48)
# « Inscriptions ouvertes » is news for this long after sign-ups open; a member who joins
# later, or a scheduler back after days, does not get stale openings.
OPENING_NEWS = timedelta(days=3)


class NotFound(Exception):
    """The distribution or the role is not one of this group's (or not needed there)."""


class Refused(Exception):
    """A sign-up, a leave, an assignment that the rules refuse: `message` says why, in
    French, as the page shows it."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def opens_at(starts_at: datetime, open_days: int) -> datetime:
    """When members may start signing up for a distribution starting at `starts_at`."""
    return starts_at - timedelta(days=open_days)
