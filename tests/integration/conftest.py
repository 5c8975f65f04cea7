"""Domain rules against the real database, without HTTP."""

import pytest


@pytest.fixture(autouse=True)
async def _fresh_tables(clean_tables):
    """Every test starts on empty tables."""
    yield
