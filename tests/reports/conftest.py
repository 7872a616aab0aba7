import pytest

from tests.conftest import close_sample_year, copy_world


@pytest.fixture(scope="package")
def year(tmp_path_factory, world_template):
    """The sample year closed, issued and closed again, as the demo does; read-only for the tests sharing it."""
    return close_sample_year(copy_world(world_template, tmp_path_factory.mktemp("year")))
