"""Permanences: the members' calendar (sign up, leave), the admins' page of one day
(assign, remove, print with the émargement) and PARAMÈTRES → Permanences (the roles)."""

from web.duties import calendar, day, settings

handlers = [*calendar.handlers, *day.handlers, *settings.handlers]
