import pytest


@pytest.fixture
def year(closed_year):
    """The sample year closed, issued and closed again (tests/conftest.py), shared read-only."""
    return closed_year
