"""`voicebot bench pauses`: does the robot cut in when a caller pauses mid-answer, and does barge-in still stop it?

Each paused answer of the set (`bench/pauses/`) is one simulated call through the real pipeline (VAD → Vosk →
Rasa → TTS): the caller keys its way to the step, then says the answer with its pauses. The line knows both sides
exactly, so a **false cut-in** is the robot's voice starting after the answer began and before the caller's last
word ended. Each barge-in is a caller talking over a prompt: its **stop time** runs from the caller's first voiced
sample to the end of the robot's last audio frame (its words or the pauses between them) while the caller talks.

The recogniser a bench machine has (the 12-word test model) mishears most of these words, so the early end of turn
is also judged on the words as written: the step's `CompleteAnswer` test (with the real Rasa classification) on the
words before each pause. A **rule cut-in** is an answer it would end at one of its pauses with a recogniser that
hears the words right.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from pipecat.workers.runner import WorkerRunner

from bot.call_results.result import CallResult
from bot.calls.caller_words import SpokenLine, split_pauses
from bot.calls.simulate import FRAME_SECONDS, CallerLine, SimulatedLine, simulate_call
from bot.config import Settings
from bot.core.stats import nearest_rank_or_nan
from bot.devtools.bench_pauses_set import PAUSE_RANGE, AnswerKind, BargeIn, PausedAnswer, PauseSet
from bot.dialog.catalogue import Catalogue
from bot.dialog.complete_answer import CompleteAnswer
from bot.rasa.client import RasaClient
from voice.models import ModelError, asr_model_dir, synthesizer_for
from voice.stt_vosk import load_model

REPLY_WAIT = 4.0  # seconds the caller waits for the robot's reply after its last line, then hangs up
REPLY_GUARD = (
    0.2  # no reply starts this soon after the caller's words: robot voice until then is the cut prompt
)
PAUSE_BUCKETS = [(0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (0.6, 0.7), (0.7, 0.8)]


def robot_onset(robot_voice: list[float], after: float) -> float | None:
    """When the robot's voice first plays after `after` (None: never)."""
    return next((t for t in robot_voice if t > after), None)


def is_false_cut_in(answer: SpokenLine, robot_voice: list[float]) -> bool:
    """The robot's voice started after the answer began and before its last word ended."""
    onset = robot_onset(robot_voice, answer.started)
    return onset is not None and onset < answer.last_voice


def barge_in_stop(caller: SpokenLine, robot_audio: list[float]) -> float | None:
    """Seconds from the caller's first voice to the end of the robot's last audio frame (voiced or a pause inside
    the prompt) played while the caller talks (None: no prompt was playing when the caller began: no barge-in)."""
    if not any(caller.first_voice - 2 * FRAME_SECONDS <= t <= caller.first_voice for t in robot_audio):
        return None
    over = [t for t in robot_audio if caller.first_voice <= t <= caller.last_voice + REPLY_GUARD]
    return max(over) + FRAME_SECONDS - caller.first_voice if over else 0.0


def step_reached(record: CallResult, lead: int) -> str | None:
    """The step the call was at after the caller's first `lead` turns: the step of the robot's last words before
    the next caller turn (None: the call never got there)."""
    callers = 0
    step = None
    for line in record.transcript:
        if line.speaker == "caller":
            callers += 1
            if callers > lead:
                break
        elif callers == lead and line.step:
            step = line.step
    return step


@dataclass(frozen=True)
class AnswerResult:
    answer: PausedAnswer
    reached: str | None
    cut_in: bool
    cut_in_at: float | None  # seconds into the answer's voice when the robot cut in
    reply_ms: float | None  # the robot's reply after the answer's last word (None: no reply, or a cut-in)
    heard: list[str]  # the caller turns the dialog got from the answer
    rule_cut_at: str | None = (
        None  # the words before the pause where the early end of turn would end the answer
    )

    @property
    def judged(self) -> bool:
        return self.reached == self.answer.step


@dataclass(frozen=True)
class BargeInResult:
    barge_in: BargeIn
    stop_ms: float | None  # None: the caller did not talk over a prompt
    counted: int  # barge-ins the call recorded


@dataclass
class PauseBenchReport:
    answers: list[AnswerResult] = field(default_factory=list)
    barge_ins: list[BargeInResult] = field(default_factory=list)
    not_run: dict[str, str] = field(default_factory=dict)  # lang → why
    seconds: float = 0.0
    settings_line: str = ""

    def text(self) -> str:
        out = [
            self.settings_line,
            f"{len(self.answers)} answers and {len(self.barge_ins)} barge-ins in {self.seconds:.0f} s",
        ]
        for lang, why in self.not_run.items():
            out.append(f"{lang}: not run: {why}")
        judged = [r for r in self.answers if r.judged]
        for result in self.answers:
            if not result.judged:
                out.append(
                    f"not judged: {result.answer.where}: the call was at '{result.reached}', not '{result.answer.step}'"
                )
        if judged:
            out.append("false cut-ins by kind:")
            for kind in AnswerKind:
                out.append(_rate_line(kind.value, [r for r in judged if r.answer.kind is kind]))
            out.append("by the answer's longest pause:")
            for low, high in PAUSE_BUCKETS:
                top = high if high < PAUSE_RANGE[1] else high + 1e-9
                out.append(
                    _rate_line(
                        f"{low:.1f}–{high:.1f} s", [r for r in judged if low <= r.answer.longest_pause < top]
                    )
                )
            out.append("early end of turn on the words as written (rule cut-ins), by kind:")
            for kind in AnswerKind:
                out.append(_rate_line(kind.value, [r for r in judged if r.answer.kind is kind], rule=True))
            for result in judged:
                if result.rule_cut_at is not None:
                    out.append(
                        f"  rule cut-in: {result.answer.where} {result.answer.say!r} at {result.rule_cut_at!r}"
                    )
            for result in judged:
                if result.cut_in:
                    out.append(
                        f"  cut in: {result.answer.where} {result.answer.say!r}: robot spoke {result.cut_in_at:.2f} s"
                        f" into the answer; heard {' / '.join(result.heard) or 'nothing'}"
                    )
            replies = [r.reply_ms for r in judged if r.reply_ms is not None]
            silent = sum(1 for r in judged if not r.cut_in and r.reply_ms is None)
            out.append(
                f"robot's reply after the last word (not cut in): p50 {nearest_rank_or_nan(replies, 50):.0f} ms, "
                f"p95 {nearest_rank_or_nan(replies, 95):.0f} ms ({len(replies)} answers; no reply within "
                f"{REPLY_WAIT:g} s: {silent})"
            )
        paused = [r for r in judged if r.answer.kind is not AnswerKind.AFTERTHOUGHT]
        for label, results in (("all answers", judged), ("afterthoughts aside", paused)):
            out.append(_total_line(f"false cut-ins, {label}", [r.cut_in for r in results]))
            out.append(
                _total_line(
                    f"rule cut-ins (words heard right), {label}", [r.rule_cut_at is not None for r in results]
                )
            )
        stops = [r.stop_ms for r in self.barge_ins if r.stop_ms is not None]
        missed = [r.barge_in.where for r in self.barge_ins if r.stop_ms is None]
        out.append(
            f"barge-in stop time (caller's first voice → the robot's audio stops): p50 {nearest_rank_or_nan(stops, 50):.0f} ms, "
            f"p95 {nearest_rank_or_nan(stops, 95):.0f} ms, max {max(stops, default=float('nan')):.0f} ms over {len(stops)} barge-ins"
            + (f"; not over a prompt: {', '.join(missed)}" if missed else "")
        )
        return "\n".join(out)


def _total_line(label: str, cuts: list[bool]) -> str:
    rate = sum(cuts) / len(cuts) * 100 if cuts else float("nan")
    return f"{label}: {sum(cuts)} of {len(cuts)} answers ({rate:.1f} %)"


def _rate_line(label: str, results: list[AnswerResult], rule: bool = False) -> str:
    cut = sum(1 for r in results if (r.rule_cut_at is not None if rule else r.cut_in))
    rate = f"{cut / len(results) * 100:5.1f} %" if results else "    –  "
    return f"  {label:<12} {len(results):3d} answers  {cut:3d} cut in  {rate}"


def missing_models(settings: Settings, lang: str) -> str | None:
    """Why calls in `lang` cannot run here (no ASR model or voice), or None; loads them once when present."""
    try:
        load_model(asr_model_dir(settings.voice, lang))
        synthesizer_for(settings.voice, lang)
    except ModelError as exc:
        return str(exc)
    return None


async def run_pause_bench(
    settings: Settings,
    client: RasaClient,
    catalogue: Catalogue,
    pause_set: PauseSet,
    *,
    concurrency: int = 3,
    progress: Callable[[str], None] = lambda _: None,
) -> PauseBenchReport:
    """Every answer and barge-in of `pause_set` whose language has its models here, `concurrency` calls at a time."""
    report = PauseBenchReport(settings_line=_settings_line(settings))
    langs = sorted({a.lang for a in pause_set.answers} | {b.lang for b in pause_set.barge_ins})
    for lang in langs:
        why = await asyncio.to_thread(missing_models, settings, lang)
        if why:
            report.not_run[lang] = why
    runnable = PauseSet(
        [a for a in pause_set.answers if a.lang not in report.not_run],
        [b for b in pause_set.barge_ins if b.lang not in report.not_run],
    )
    gate = asyncio.Semaphore(concurrency)
    runner = WorkerRunner(handle_sigint=False)
    runner_task = asyncio.create_task(runner.run(auto_end=False))
    t0 = time.monotonic()

    async def call(item: PausedAnswer | BargeIn, lines: list[CallerLine]) -> tuple[CallResult, SimulatedLine]:
        async with gate:
            progress(f"{item.where} {item.say!r}")
            return await simulate_call(
                settings,
                client,
                catalogue.get(item.script),
                item.lang,
                item.variables,
                [CallerLine.parse(line) for line in item.lead] + lines,
                runner=runner,
                record=False,
                hangup_after=REPLY_WAIT,
            )

    async def rule_cut_at(answer: PausedAnswer) -> str | None:
        script = catalogue.get(answer.script)
        step = script.steps[answer.step]
        if not script.early_end_of_turn(step):
            return None
        check = CompleteAnswer(
            script,
            step,
            answer.lang,
            dict(answer.variables),
            "Europe/Moscow",
            client.parse,
        )
        return await first_complete_part(answer.say, check)

    try:
        answers = [_answer(a, call, rule_cut_at) for a in runnable.answers]
        barge_ins = [_barge_in(b, call) for b in runnable.barge_ins]
        results = await asyncio.gather(*answers, *barge_ins)
    finally:
        await runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner_task
    report.answers = [r for r in results if isinstance(r, AnswerResult)]
    report.barge_ins = [r for r in results if isinstance(r, BargeInResult)]
    report.seconds = time.monotonic() - t0
    return report


Call = Callable[[PausedAnswer | BargeIn, list[CallerLine]], Awaitable[tuple[CallResult, SimulatedLine]]]


async def first_complete_part(say: str, is_complete: Callable[[str], Awaitable[bool]]) -> str | None:
    """The words before the first pause of `say` after which `is_complete` accepts the answer (None: none)."""
    parts = split_pauses(say)
    for index, part in enumerate(parts):
        if isinstance(part, float):
            words = " ".join(p for p in parts[:index] if isinstance(p, str))
            if await is_complete(words):
                return words
    return None


async def _answer(
    answer: PausedAnswer, call: Call, rule_cut_at: Callable[[PausedAnswer], Awaitable[str | None]]
) -> AnswerResult:
    record, line = await call(answer, [CallerLine(text=answer.say)])
    if not _said_last(answer, line):  # the call ended before the caller got to the answer
        return AnswerResult(answer, step_reached(record, len(answer.lead)), False, None, None, [])
    spoken = line.caller_said[-1]
    onset = robot_onset(line.robot_voice, spoken.started)
    cut_in = is_false_cut_in(spoken, line.robot_voice)
    callers = [entry.text for entry in record.transcript if entry.speaker == "caller"]
    heard = [text for text in callers[len(answer.lead) :] if text]  # silence and hang-up lines have no words
    return AnswerResult(
        answer,
        reached=step_reached(record, len(answer.lead)),
        cut_in=cut_in,
        cut_in_at=onset - spoken.first_voice if cut_in and onset is not None else None,
        reply_ms=(onset - spoken.last_voice) * 1000 if onset is not None and not cut_in else None,
        heard=heard,
        rule_cut_at=await rule_cut_at(answer),
    )


def _said_last(item: PausedAnswer | BargeIn, line: SimulatedLine) -> bool:
    """The caller got to its last line (its spoken lines are the lead's words plus that one)."""
    lead_words = sum(1 for text in item.lead if not text.startswith("dtmf:") and text.strip())
    return len(line.caller_said) == lead_words + 1


async def _barge_in(barge_in: BargeIn, call: Call) -> BargeInResult:
    record, line = await call(barge_in, [CallerLine(text=barge_in.say, barge_in_after=barge_in.after)])
    if not _said_last(barge_in, line):
        return BargeInResult(barge_in, None, record.barge_ins)
    stop = barge_in_stop(line.caller_said[-1], line.robot_audio)
    return BargeInResult(barge_in, None if stop is None else stop * 1000, record.barge_ins)


def _settings_line(settings: Settings) -> str:
    voice = settings.voice
    models = ", ".join(f"{lang} {voice.asr(lang)}" for lang in ("ru", "en"))
    return (
        f"ASR: {models}; end of turn {voice.end_of_turn_silence:g} s unless a step sets its own"
        f" (voice.end_of_turn_silence)"
    )
