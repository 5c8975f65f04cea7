"""HTTP through the real app: every test starts on empty tables."""

import pytest


@pytest.fixture(autouse=True)
async def _fresh_tables(clean_tables):
    """Every test starts on empty tables."""
    yield
