"""Calls without a phone: an in-process line (a pipecat transport) and a simulated caller who speaks
espeak-ng audio into it in real time, so the whole pipeline (VAD → Vosk → Rasa → TTS) runs as on a real call.

The caller acts once per robot prompt: when the robot has spoken since the caller's last action and then been
quiet for 0.6 s, it says its next line, presses keys, or stays silent (then its next line waits for the robot's
next words, e.g. the re-prompt after the no-input timeout); a line with `barge_in_after` starts that many seconds
into the next prompt instead. When its lines run out
it waits for the robot to end the call, and hangs up after `hangup_after` seconds if the robot does not.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import tempfile
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pipecat.audio.dtmf.types import KeypadEntry
from pipecat.frames.frames import (
    EndWorkerFrame,
    Frame,
    InputAudioRawFrame,
    InputDTMFFrame,
    OutputAudioRawFrame,
    StartFrame,
)
from pipecat.transports.base_output import BaseOutputTransport
from pipecat.transports.base_transport import BaseTransport, TransportParams
from pipecat.workers.runner import WorkerRunner

from bot.call_results.result import CallResult
from bot.calls.caller_words import SpokenLine, join_with_pauses, split_pauses, spoken_line
from bot.calls.pipeline import VoiceCall
from bot.config import Settings
from bot.dialog.engine import new_state
from bot.dialog.model import Script
from bot.rasa.client import RasaClient
from bot.rasa.conversation import Conversation
from telephony.transport import (
    SAMPLE_RATE,
    Feed,
    FeedInputTransport,
    HangupCallFrame,
    TransferCallFrame,
    telephony_params,
)
from voice.vad import RECEIVED_AT

FRAME_SECONDS = 0.02
FRAME_BYTES = int(SAMPLE_RATE * FRAME_SECONDS) * 2
ESPEAK_VOICES = {"ru": "ru", "en": "en-us"}
VOICE_LEVEL = 300  # a 16-bit sample above this counts as speech on the robot's side of the line


@dataclass(frozen=True)
class CallerLine:
    """One action of the simulated caller: words (`text`, where " | " is a one-second pause and `|0.6|` a pause of
    0.6 s), keys (`dtmf`), or silence (both empty)."""

    text: str = ""
    dtmf: str = ""
    barge_in_after: float | None = None

    @classmethod
    def parse(cls, line: str) -> CallerLine:
        """`да` says it, `dtmf:12#` presses keys, `` stays silent; a malformed pause raises `PauseError`."""
        if line.startswith("dtmf:"):
            return cls(dtmf=line.removeprefix("dtmf:").strip())
        split_pauses(line)
        return cls(text=line.strip())


def caller_speech(text: str, lang: str) -> bytes:
    """8 kHz 16-bit mono PCM of `text` by espeak-ng, band-limited like a phone line (`sox -R`: byte-identical);
    each pause written in `text` (" | ", "|0.6|": `bot.calls.caller_words`) is that much silence between the
    voices around it. A malformed pause raises `PauseError`."""
    parts = [part if isinstance(part, float) else _espeak(part, lang) for part in split_pauses(text)]
    return join_with_pauses(parts, SAMPLE_RATE)


def _espeak(text: str, lang: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        raw, line = Path(tmp) / "raw.wav", Path(tmp) / "line.wav"
        subprocess.run(["espeak-ng", "-v", ESPEAK_VOICES.get(lang, lang), "-w", str(raw), text], check=True)
        subprocess.run(
            [
                "sox",
                "-R",
                str(raw),
                "-r",
                str(SAMPLE_RATE),
                "-b",
                "16",
                "-c",
                "1",
                str(line),
                "sinc",
                "300-3400",
            ],
            check=True,
        )
        with wave.open(str(line)) as reader:
            return reader.readframes(reader.getnframes())


@dataclass
class SimulatedLine:
    """Both ends of an in-process phone line: what the caller sends, what the robot played, how it ended."""

    caller_audio: bytearray = field(default_factory=bytearray)
    keys: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    robot_prompt_started: float = 0.0
    robot_last_voice: float = 0.0
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    ended_by: str | None = None
    transfer_target: str | None = None
    caller_said: list[SpokenLine] = field(default_factory=list)  # the caller's spoken lines, in order
    # when each 20 ms frame of the robot's audio (and each voiced one) began to play
    robot_audio: list[float] = field(default_factory=list)
    robot_voice: list[float] = field(default_factory=list)
    hangup_delay: float | None = 0.0  # the far end confirms the robot's hang-up this late (None: never)

    def end(self, by: str) -> None:
        if not self.ended.is_set():
            self.ended_by = by
            self.ended.set()

    def robot_played(self, pcm: bytes, at: float | None = None) -> None:
        """The robot's audio `pcm` starts playing `at` (default: now)."""
        now = time.monotonic() if at is None else at
        self.robot_audio.append(now)
        if pcm and int(np.abs(np.frombuffer(pcm, dtype=np.int16)).max()) > VOICE_LEVEL:
            self.robot_voice.append(now)
            if now - self.robot_last_voice > 0.5:
                self.robot_prompt_started = now
            self.robot_last_voice = now

    async def next_prompt(self, since: float, barge_in_after: float | None) -> None:
        """Wait for the caller's moment: the robot has spoken after `since` (+0.5 s) and then been quiet for 0.6 s, or
        (`barge_in_after`) a prompt started after `since` has played that long. Returns early if the call ends."""
        while not self.ended.is_set():
            now = time.monotonic()
            if barge_in_after is None:
                # +0.5 s: the tail of a prompt the caller has just cut is not the robot answering
                if self.robot_last_voice > since + 0.5 and now - self.robot_last_voice >= 0.6:
                    return
            elif self.robot_prompt_started > since and now - self.robot_prompt_started >= barge_in_after:
                return
            await asyncio.sleep(0.02)


class _LineInput(FeedInputTransport):
    """Delivers the caller's side in real time: 20 ms frames (speech when the caller talks, silence otherwise)."""

    def __init__(self, line: SimulatedLine, params: TransportParams, **kwargs) -> None:
        super().__init__(params, **kwargs)
        self._line = line

    def feeds(self) -> list[Feed]:
        return [self._feed(), self._keys()]

    async def _feed(self) -> None:
        silence = bytes(FRAME_BYTES)
        deadline = time.monotonic()
        while not self._line.ended.is_set():
            audio = bytes(self._line.caller_audio[:FRAME_BYTES])
            del self._line.caller_audio[:FRAME_BYTES]
            audio += silence[len(audio) :]
            frame = InputAudioRawFrame(audio=audio, sample_rate=SAMPLE_RATE, num_channels=1)
            frame.metadata[RECEIVED_AT] = time.monotonic()
            await self.push_audio_frame(frame)
            deadline += FRAME_SECONDS
            await asyncio.sleep(max(0.0, deadline - time.monotonic()))
        # the line is down: end the pipeline (in pipecat 1.14 an EndFrame pushed from inside the pipeline does not
        # end the worker; EndWorkerFrame does — see telephony/transport.py)
        await self.push_frame(EndWorkerFrame(reason=f"line ended by {self._line.ended_by}"))

    async def _keys(self) -> None:
        while True:
            key = await self._line.keys.get()
            await self.push_frame(InputDTMFFrame(button=KeypadEntry(key)))


class _LineOutput(BaseOutputTransport):
    """Plays the robot's audio in real time (each write blocks for the chunk's duration, so barge-in can cut it)
    and carries out hang-up and transfer frames."""

    def __init__(self, line: SimulatedLine, params: TransportParams, **kwargs) -> None:
        super().__init__(params, **kwargs)
        self._line = line
        self._deadline = 0.0

    async def start(self, frame: StartFrame) -> None:
        await super().start(frame)
        await self.set_transport_ready(frame)

    async def write_audio_frame(self, frame: OutputAudioRawFrame) -> bool:
        if self._line.ended.is_set():
            return False
        now = time.monotonic()
        self._deadline = max(self._deadline, now)
        self._line.robot_played(frame.audio, at=self._deadline)
        self._deadline += len(frame.audio) / 2 / SAMPLE_RATE
        await asyncio.sleep(max(0.0, self._deadline - now - FRAME_SECONDS))
        return True

    async def write_transport_frame(self, frame: Frame) -> None:
        if isinstance(frame, TransferCallFrame):
            self._line.transfer_target = frame.target
            self._line.end("transfer")
        elif isinstance(frame, HangupCallFrame) and self._line.hangup_delay is not None:
            await asyncio.sleep(self._line.hangup_delay)  # the line stays up meanwhile
            self._line.end("robot")


class SimulatedTransport(BaseTransport):
    def __init__(self, line: SimulatedLine, **kwargs) -> None:
        super().__init__(**kwargs)
        params = telephony_params()
        self._input = _LineInput(line, params, name=self._input_name)
        self._output = _LineOutput(line, params, name=self._output_name)

    def input(self) -> _LineInput:
        return self._input

    def output(self) -> _LineOutput:
        return self._output


async def act(line: SimulatedLine, lines: list[CallerLine], lang: str, hangup_after: float = 20.0) -> None:
    """The simulated caller (see the module docstring)."""
    speech = {c.text: await asyncio.to_thread(caller_speech, c.text, lang) for c in lines if c.text}
    since = 0.0  # when the caller's last action ended
    for action in lines:
        await line.next_prompt(since, action.barge_in_after)
        if line.ended.is_set():
            return
        if action.dtmf:
            for key in action.dtmf:
                line.keys.put_nowait(key)
                await asyncio.sleep(0.15)
        elif action.text:
            queued = len(line.caller_audio) / 2 / SAMPLE_RATE  # still to be sent before these words
            line.caller_said.append(spoken_line(speech[action.text], SAMPLE_RATE, time.monotonic() + queued))
            line.caller_audio += speech[action.text]
            await asyncio.sleep(len(speech[action.text]) / 2 / SAMPLE_RATE)
        since = time.monotonic()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(line.ended.wait(), hangup_after)
    line.end("caller")


async def simulate_call(
    settings: Settings,
    client: RasaClient,
    script: Script,
    lang: str,
    variables: dict[str, str],
    lines: list[CallerLine],
    *,
    runner: WorkerRunner | None = None,
    record: bool = True,
    hangup_after: float = 20.0,
    answer: bytes = b"",
    detect_machine: bool = False,
    hangup_delay: float | None = 0.0,
) -> tuple[CallResult, SimulatedLine]:
    """Run one simulated call to its end; `runner` lets many calls share one (the benchmark).

    `answer` is audio the callee sends as soon as the call is up (an "алло", or a voicemail greeting);
    `detect_machine` runs answering-machine detection first, as for an outbound call; `hangup_delay` is how late
    the far end confirms the robot's hang-up (None: never; the caller still hangs up after `hangup_after`).
    """
    conversation = Conversation(client, new_state(script, lang, variables))
    line = SimulatedLine(caller_audio=bytearray(answer), hangup_delay=hangup_delay)
    call = await VoiceCall.build(
        SimulatedTransport(line),
        conversation,
        script,
        settings.voice,
        record=record,
        detect_machine=detect_machine,
    )
    own_runner = runner is None
    runner = runner or WorkerRunner(handle_sigint=False)
    runner_task = asyncio.create_task(runner.run(auto_end=False)) if own_runner else None
    caller = asyncio.create_task(act(line, lines, lang, hangup_after))
    try:
        result = await call.run(runner)
    finally:
        line.end("caller")
        caller.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await caller
        if runner_task:
            await runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner_task
    return result, line
