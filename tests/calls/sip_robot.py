"""The robot on the SIP test rig: a Kamailio trunk fixture, the robot's settings on it, and the robot answering
through `PhoneCalls` with the real dialog service."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.call_results.store import CallStore
from bot.calls.phone_calls import PhoneCalls
from bot.config import CallsSettings, Settings, load_settings
from bot.dialog.catalogue import load_catalogue
from bot.storage.db import Database
from telephony import Phone, TelephonySettings, rig
from tests.conftest import TINY
from tests.rasa.helpers import client_for


def kamailio_trunk(trunk_port: int, robot_port: int):
    """A module fixture: Kamailio on `trunk_port` relaying numbers 9… to the robot's `robot_port`; yields
    its address."""

    @pytest.fixture(scope="module")
    def trunk(tmp_path_factory):
        if not rig.have_peers():
            pytest.skip("kamailio/baresip/sipp not installed (scripts/setup.sh installs them)")
        peer = rig.start_kamailio(tmp_path_factory.mktemp("trunk"), trunk_port, robot_port)
        yield f"127.0.0.1:{trunk_port}"
        peer.stop()

    return trunk


def robot_settings(
    env: dict[str, str],
    recordings: Path,
    sip_port: int,
    rtp_min: int,
    proxy: str | None = None,
    extra_env: dict[str, str] | None = None,
    **calls,
) -> Settings:
    """The dialog service's settings `env` with the 12-word model, recordings in `recordings`, the robot as
    a trunk-mode phone on `sip_port` (RTP from `rtp_min`, 49 ports) and `calls` settings."""
    settings = load_settings(
        environ={
            **env,
            "VOICEBOT_VOICE__ASR_RU": str(TINY),
            "VOICEBOT_VOICE__RECORDINGS_DIR": str(recordings),
            **(extra_env or {}),
        }
    )
    robot = TelephonySettings(
        trunk_mode=True,
        user="robot",
        proxy=proxy,
        sip_port=sip_port,
        rtp_port_min=rtp_min,
        rtp_port_max=rtp_min + 98,
    )
    return settings.model_copy(update={"telephony": robot, "calls": CallsSettings(**calls)})


@contextlib.asynccontextmanager
async def robot_answering(
    settings: Settings, dialog_service: dict[str, str], db: Database, *phones: Phone
) -> AsyncIterator[PhoneCalls]:
    """Start `phones`, then the robot's `PhoneCalls` storing to `db`; stop all of them after."""
    catalogue = load_catalogue(settings.paths.dialogs_dir, settings.paths.training_data_dir)
    client = client_for(dialog_service)
    for phone in phones:
        await phone.start()
    try:
        async with PhoneCalls(settings, catalogue, client, store=CallStore(db)) as calls:
            yield calls
    finally:
        await client.close()
        for phone in phones:
            await phone.stop()
