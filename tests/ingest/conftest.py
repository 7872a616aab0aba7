"""The ingest tests' token; the DigitalOcean fixtures live in tests/conftest.py (the secret tests use them too)."""

from tests.fakes.digitalocean import TOKEN

__all__ = ["TOKEN"]
