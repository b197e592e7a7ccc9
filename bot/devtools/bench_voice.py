"""`voicebot bench voice`: N simulated calls at once in one process, through the real pipeline and dialog service.

Reports end-of-speech → first audio out (p50/p95 over every spoken caller turn), CPU per call (share of one core
over the busy period), memory per call (peak RSS growth over the warmed-up process), and event-loop lag (how late a
50 ms timer wakes up: shows whether Vosk, TTS or HTTP ever block the loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import statistics
import time
from dataclasses import dataclass, field

from pipecat.workers.runner import WorkerRunner

from bot.calls.latency import TurnStage
from bot.calls.simulate import CallerLine, simulate_call
from bot.config import Settings
from bot.core.stats import nearest_rank_or_nan
from bot.dialog.model import Script
from bot.rasa.client import RasaClient
from voice.models import asr_model_dir, synthesizer_for
from voice.recognizers import executor
from voice.stt_vosk import load_model
from voice.vad import shared_engine

TICK = 0.05


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Monitor:
    """Samples event-loop lag and RSS while the calls run."""

    lags: list[float] = field(default_factory=list)
    peak_rss: float = 0.0

    async def run(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(TICK)
            self.lags.append((time.monotonic() - before - TICK) * 1000)
            self.peak_rss = max(self.peak_rss, rss_mb())


@dataclass(frozen=True)
class VoiceBenchReport:
    calls: int
    asr: str
    seconds: float
    latencies_ms: list[float]
    stages_p50_ms: dict[str, float]
    outcomes: dict[str, int]
    cpu_per_call: float  # share of one core
    rss_per_call_mb: float
    base_rss_mb: float
    loop_lag_p99_ms: float
    loop_lag_max_ms: float
    stt_wait_p95_ms: float  # how long recognition jobs waited for a thread (the recogniser backlog)
    stt_wait_max_ms: float
    vad_windows_per_run: float  # VAD windows scored per ONNX run of the shared engine (batching)

    def text(self) -> str:
        lat = self.latencies_ms
        return "\n".join(
            [
                f"{self.calls} concurrent simulated calls, ASR {self.asr}, {self.seconds:.1f} s",
                f"end of speech → first audio out: p50 {nearest_rank_or_nan(lat, 50):.0f} ms, p95 {nearest_rank_or_nan(lat, 95):.0f} ms"
                f" ({len(lat)} turns; mean {statistics.fmean(lat) if lat else float('nan'):.0f} ms)",
                "  stage p50 (ms from end of speech): "
                + ", ".join(f"{stage} {ms:.0f}" for stage, ms in self.stages_p50_ms.items()),
                f"outcomes: {self.outcomes}",
                f"CPU per call: {self.cpu_per_call * 100:.1f} % of one core",
                f"memory: {self.base_rss_mb:.0f} MB warmed-up process, +{self.rss_per_call_mb:.1f} MB per call (peak)",
                f"event-loop lag: p99 {self.loop_lag_p99_ms:.1f} ms, max {self.loop_lag_max_ms:.1f} ms",
                f"recognition jobs waiting for a thread: p95 {self.stt_wait_p95_ms:.0f} ms, "
                f"max {self.stt_wait_max_ms:.0f} ms; VAD: {self.vad_windows_per_run:.2f} windows per ONNX run",
            ]
        )


async def run_voice_bench(
    settings: Settings,
    client: RasaClient,
    script: Script,
    lang: str,
    variables: dict[str, str],
    lines: list[CallerLine],
    calls: int,
    stagger: float = 0.3,
) -> VoiceBenchReport:
    # warm up: the shared model and voice are loaded once per process, not per call
    load_model(asr_model_dir(settings.voice, lang))
    synthesizer_for(settings.voice, lang)
    vad = shared_engine()
    vad_runs, vad_windows = vad.batches, vad.windows
    waits: list[float] = []
    executor.on_wait(waits.append)
    base_rss = rss_mb()
    runner = WorkerRunner(handle_sigint=False)
    runner_task = asyncio.create_task(runner.run(auto_end=False))
    monitor = Monitor(peak_rss=base_rss)
    monitoring = asyncio.create_task(monitor.run())
    cpu0, t0 = cpu_seconds(), time.monotonic()

    async def one(index: int):
        await asyncio.sleep(index * stagger)
        return await simulate_call(
            settings, client, script, lang, variables, lines, runner=runner, record=False
        )

    try:
        results = await asyncio.gather(*(one(i) for i in range(calls)))
    finally:
        monitoring.cancel()
        await runner.cancel()
        for task in (monitoring, runner_task):
            with contextlib.suppress(asyncio.CancelledError):
                await task
    seconds = time.monotonic() - t0
    cpu = cpu_seconds() - cpu0
    spoken = [
        turn["ms"]
        for record, _ in results
        for turn in record.turns
        if turn["kind"] == "text" and "first_audio_out" in turn["ms"]
    ]
    latencies = [ms["first_audio_out"] for ms in spoken]
    stages = {
        stage: nearest_rank_or_nan([ms[stage] for ms in spoken if stage in ms], 50) for stage in TurnStage
    }
    outcomes: dict[str, int] = {}
    for record, _ in results:
        outcomes[str(record.outcome)] = outcomes.get(str(record.outcome), 0) + 1
    return VoiceBenchReport(
        calls=calls,
        asr=str(asr_model_dir(settings.voice, lang)),
        seconds=seconds,
        latencies_ms=latencies,
        stages_p50_ms={stage.value: ms for stage, ms in stages.items()},
        outcomes=outcomes,
        cpu_per_call=cpu / seconds / calls,
        rss_per_call_mb=(monitor.peak_rss - base_rss) / calls,
        base_rss_mb=base_rss,
        loop_lag_p99_ms=nearest_rank_or_nan(monitor.lags, 99),
        loop_lag_max_ms=max(monitor.lags, default=0.0),
        stt_wait_p95_ms=nearest_rank_or_nan(waits, 95) * 1000,
        stt_wait_max_ms=max(waits, default=0.0) * 1000,
        vad_windows_per_run=(vad.windows - vad_windows) / max(1, vad.batches - vad_runs),
    )
