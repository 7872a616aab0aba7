import re

import pytest

from billing_assets.sample_world.do_account import account_documents
from tests.fakes.digitalocean import FakeDigitalOcean

TOKEN = "dop_v1_" + "0123456789abcdef" * 4  # a made-up token, never a real one


@pytest.fixture(scope="session")
def do_documents(world):
    return account_documents(world)


@pytest.fixture
def do_api(httpserver, do_documents):
    """The fake DigitalOcean API on a local port, pages capped at 15 items to force pagination."""
    fake = FakeDigitalOcean(do_documents, TOKEN, max_page_size=15)
    httpserver.expect_request(re.compile(r"^/.*")).respond_with_handler(fake)
    fake.base_url = httpserver.url_for("/")
    return fake
