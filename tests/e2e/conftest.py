"""End-to-end tests reuse the CRM tests' loopback HTTP receiver."""

from tests.crm.conftest import receiver  # noqa: F401  (a fixture)
