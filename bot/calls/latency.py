"""Per-turn latency of a call: when each stage of answering the caller happened, and the delays that matter."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel


class TurnStage(StrEnum):
    """The stages of one turn, in order: the caller stops (the last voiced audio arrives), the VAD reports it,
    the recogniser's final transcript reaches the dialog, the dialog decides, the TTS produces audio, the first
    audio frame leaves for the line."""

    END_OF_SPEECH = "end_of_speech"
    VAD_STOP = "vad_stop"
    ASR_FINAL = "asr_final"
    DIALOG_DECISION = "dialog_decision"
    FIRST_TTS_AUDIO = "first_tts_audio"
    FIRST_AUDIO_OUT = "first_audio_out"


class TurnKind(StrEnum):
    """What started a turn: the call's start, the caller's words, keys, silence, or the caller hanging up."""

    START = "start"
    TEXT = "text"
    DTMF = "dtmf"
    SILENCE = "silence"
    HANGUP = "hangup"


class TurnTiming(BaseModel):
    """One caller turn. `at` holds `time.monotonic()` per stage; `ms` gives each stage relative to the end of
    speech (for silence and DTMF turns: relative to the moment the input was taken)."""

    index: int
    kind: TurnKind
    heard: str = ""
    started: float  # seconds since the call started
    at: dict[TurnStage, float] = {}
    early_end: bool = False  # the caller's words ended the turn at a short pause (a complete expected answer)

    def mark(self, stage: TurnStage, when: float) -> None:
        self.at.setdefault(stage, when)

    @property
    def ms(self) -> dict[str, float]:
        origin = self.at.get(TurnStage.END_OF_SPEECH) or self.at.get(TurnStage.ASR_FINAL)
        if origin is None:
            return {}
        return {stage.value: round((when - origin) * 1000, 1) for stage, when in self.at.items()}

    def summary(self) -> dict:
        return {
            "index": self.index,
            "kind": self.kind.value,
            "heard": self.heard,
            "started": self.started,
            "early_end": self.early_end,
            "ms": self.ms,
        }
