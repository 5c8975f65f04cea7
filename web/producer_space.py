"""The producer space (main instance only): a producer's sales across groups."""

from __future__ import annotations

handlers: list = []
