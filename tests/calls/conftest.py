"""Fixtures of the call tests."""

from __future__ import annotations

import pytest

from bot.config import Settings, load_settings
from tests.conftest import TINY
from tests.crm.conftest import receiver  # noqa: F401  (a fixture: the CRM tests' loopback webhook receiver)


@pytest.fixture
def settings(dialog_service, tmp_path) -> Settings:
    """Settings on the session's dialog service: the tiny Vosk model, espeak-ng's Russian voice, recordings in
    `tmp_path`."""
    return load_settings(
        environ={
            **dialog_service,
            "VOICEBOT_VOICE__ASR_RU": str(TINY),
            "VOICEBOT_VOICE__TTS_RU": "espeak-ng:ru",
            "VOICEBOT_VOICE__RECORDINGS_DIR": str(tmp_path),
        }
    )
