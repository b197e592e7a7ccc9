"""The SIP rig's fixtures (Kamailio, robot phones, ports, peers stopped after each test) for hand-off tests."""

from tests.telephony.conftest import (  # noqa: F401  (fixtures)
    kamailio,
    make_phone,
    media_priority,
    ports,
    pytest_collection_modifyitems,
    rig_dir,
    stop_peers,
)
