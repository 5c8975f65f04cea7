"""Members ordering from their phone: COMMANDES, the ordering page (web/ordering/pages.py),
its lines (lines.py), a large shop's sections and search (sections.py), Mes commandes."""

from __future__ import annotations

from web.ordering import pages, sections

handlers = [*pages.handlers, *sections.handlers]
