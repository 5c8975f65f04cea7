"""The template filters every Jinja environment installs (pages, mails, the routing
layer's own pages), so a date or an amount reads the same everywhere."""

from __future__ import annotations

from domain.kernel.dates import format_moment
from domain.kernel.money import euros
from domain.kernel.wording import plural

FILTERS = {"euros": euros, "date": format_moment, "plural": plural}
