"""Fixtures of the privacy tests: the CRM tests' loopback webhook receiver."""

from tests.crm.conftest import receiver  # noqa: F401  (a fixture)
