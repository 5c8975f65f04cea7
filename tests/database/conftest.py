"""The schema and migrations on the real engine."""

import pytest


@pytest.fixture(autouse=True)
async def _fresh_tables(clean_tables):
    """Every test starts on empty tables."""
    yield
