"""How long the platform keeps what it no longer needs (the `prune` command, and the prune
step of the scheduler): delivered mails after the retention period, dead links, old form
keys, expired sessions. Unused accounts are the other half of that step
(domain/privacy/inactivity.py); the privacy policy (domain/privacy) reads its figures
from here and from the settings."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain import accounts, idempotency, outbox, sessions

FORM_KEYS_KEPT = timedelta(days=2)
COUNTERS_KEPT = timedelta(days=1)  # accounts.prune: login and mail-request counters


async def prune(moment: datetime, retention_days: int) -> dict[str, int]:
    """Idempotent: a second run at the same moment deletes nothing more."""
    return {
        "mails": await outbox.prune(moment - timedelta(days=retention_days)),
        "links": await accounts.prune(moment),
        "form_keys": await idempotency.prune(moment - FORM_KEYS_KEPT),
        "sessions": await sessions.prune(moment),
    }
