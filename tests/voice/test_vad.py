"""The shared Silero VAD: speech start/stop per call on one process-wide engine, end of speech stamped from the
audio's arrival (not from when the VAD got round to it), with espeak-ng caller speech."""

from __future__ import annotations

import asyncio

import numpy as np
from pipecat.audio.vad.vad_analyzer import VADParams
from pipecat.frames.frames import InputAudioRawFrame, VADUserStartedSpeakingFrame
from pipecat.tests.utils import SleepFrame, run_test

from bot.calls.simulate import caller_speech
from voice.vad import RECEIVED_AT, CallerStoppedSpeakingFrame, CallerVAD, SileroEngine

PARAMS = VADParams(confidence=0.5, start_secs=0.1, stop_secs=0.6, min_volume=0.3)
FRAME = 320  # bytes: 20 ms at 8 kHz
T0 = 1000.0  # the line's clock when the first frame arrived


def line(speech: bytes, before: float, after: float = 1.5) -> tuple[list[InputAudioRawFrame], float]:
    """20 ms frames of silence, speech, silence, each stamped with its arrival on a 20 ms clock; and the
    arrival time of the frame holding the last voiced sample."""
    audio = bytes(int(8000 * before) * 2) + speech + bytes(int(8000 * after) * 2)
    frames = []
    for i in range(0, len(audio), FRAME):
        frame = InputAudioRawFrame(audio=audio[i : i + FRAME], sample_rate=8000, num_channels=1)
        frame.metadata[RECEIVED_AT] = T0 + (i // FRAME + 1) * 0.02
        frames.append(frame)
    samples = np.abs(np.frombuffer(audio, np.int16))
    last_voiced = int(np.nonzero(samples > 300)[0][-1])
    return frames, T0 + (last_voiced // (FRAME // 2) + 1) * 0.02


async def detect(frames, engine: SileroEngine) -> tuple[list[float], list[CallerStoppedSpeakingFrame]]:
    down, _ = await run_test(CallerVAD(PARAMS, engine), frames_to_send=frames, expected_down_frames=None)
    started = [f.timestamp for f in down if isinstance(f, VADUserStartedSpeakingFrame)]
    return started, [f for f in down if isinstance(f, CallerStoppedSpeakingFrame)]


async def test_the_end_of_speech_is_when_the_last_voiced_audio_arrived():
    frames, speech_end = line(caller_speech("восемь девять", "ru"), before=0.5)
    started, stopped = await detect(frames, SileroEngine())
    assert len(started) == 1 and len(stopped) == 1
    # frames went through far faster than real time: the stamp is the audio's, not the VAD's clock (Silero
    # hears a word out ~0.1 s after its energy drops)
    assert abs(stopped[0].speech_ended_at - speech_end) <= 0.2
    assert stopped[0].stop_secs == PARAMS.stop_secs


async def test_two_calls_on_one_engine_get_their_own_speech_start_and_stop():
    engine = SileroEngine()
    early, early_end = line(caller_speech("да", "ru"), before=0.3, after=2.5)
    late, late_end = line(caller_speech("восемь девять один", "ru"), before=1.4)
    alone = [await detect(early, engine), await detect(late, engine)]
    together = await asyncio.gather(detect(early, engine), detect(late, engine))
    for (started, stopped), speech_end in zip(together, [early_end, late_end], strict=True):
        assert len(started) == 1 and len(stopped) == 1
        assert abs(stopped[0].speech_ended_at - speech_end) <= 0.2
    assert [s[0].speech_ended_at for _, s in together] == [s[0].speech_ended_at for _, s in alone]
    assert engine.windows > engine.batches  # windows of both calls were scored in shared batches


async def test_silence_on_a_call_stays_silent_while_another_call_speaks():
    engine = SileroEngine()
    speech, _ = line(caller_speech("восемь девять", "ru"), before=0.3)
    quiet = [
        InputAudioRawFrame(audio=bytes(FRAME), sample_rate=8000, num_channels=1) for _ in range(len(speech))
    ]
    (started, stopped), (quiet_started, quiet_stopped) = await asyncio.gather(
        detect(speech, engine), detect(quiet, engine)
    )
    assert len(started) == len(stopped) == 1
    assert quiet_started == quiet_stopped == []


async def test_audio_that_stops_mid_speech_ends_the_utterance():
    frames, _ = line(caller_speech("восемь девять", "ru"), before=0.3, after=0)
    started, stopped = await detect([*frames[:-10], SleepFrame(1.5)], SileroEngine())
    assert len(started) == 1 and len(stopped) == 1  # the line went quiet: no audio for 1 s while speaking
