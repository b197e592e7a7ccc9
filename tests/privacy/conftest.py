"""Fixtures of the privacy tests: the CRM tests' loopback webhook receiver, the dashboard tests' client."""

from tests.crm.conftest import receiver  # noqa: F401  (a fixture)
from tests.dashboard.conftest import dashboard  # noqa: F401  (a fixture)
