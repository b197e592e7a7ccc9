"""Fixtures of the campaign tests."""

from tests.crm.conftest import receiver  # noqa: F401  (a fixture: the CRM tests' loopback webhook receiver)
