"""Whole inbound calls handed to the `complaints` queue on the SIP rig, with the real dialog service: the robot's
settings and trunk-mode phones for callers and agents."""

from __future__ import annotations

from pathlib import Path

from bot.config import AgentSettings, QueueSettings, Settings
from telephony import Phone, TelephonySettings
from tests.calls.sip_robot import robot_settings
from tests.rasa.helpers import VARIABLES

COMPLAINTS_DID = "9301"  # the inbound script's route; its key 3 leads to the complaints queue


def complaints_robot(
    env: dict[str, str],
    recordings: Path,
    sip_port: int,
    rtp_min: int,
    queue: QueueSettings,
    agents: dict[str, AgentSettings],
    extra_env: dict[str, str] | None = None,
) -> Settings:
    """The robot on `sip_port` answering `COMPLAINTS_DID` with the inbound script, Russian said by espeak-ng, and
    `queue` as its `complaints` queue served by `agents`."""
    settings = robot_settings(
        env,
        recordings,
        sip_port,
        rtp_min,
        extra_env={"VOICEBOT_VOICE__TTS_RU": "espeak-ng:ru", **(extra_env or {})},
        routes=[{"did": COMPLAINTS_DID, "script": "inbound", "variables": VARIABLES["inbound"]}],
    )
    handoff = settings.handoff.model_copy(
        update={"agents": agents, "queues": {**settings.handoff.queues, "complaints": queue}}
    )
    return settings.model_copy(update={"handoff": handoff})


def trunk_phone(
    user: str, port: int, rtp: int, *, proxy: str | None = None, on_incoming=None, rtp_timeout: int = 30
) -> Phone:
    """A caller's or an agent's phone on loopback (49 RTP ports from `rtp`), calling through `proxy` if given."""
    settings = TelephonySettings(
        proxy=proxy, trunk_mode=True, user=user, sip_port=port, rtp_port_min=rtp, rtp_port_max=rtp + 98,
        rtp_timeout=rtp_timeout,
    )  # fmt: skip
    return Phone(settings, on_incoming=on_incoming)
