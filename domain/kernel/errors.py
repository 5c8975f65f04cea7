"""The errors every area raises; the web layer turns them into French messages."""

from __future__ import annotations


class FieldErrors(Exception):
    """Bad input: French messages keyed by the form field they concern."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


class InvalidLink(Exception):
    """A single-use link (reset, invitation, e-mail change) is unknown, expired or used."""
