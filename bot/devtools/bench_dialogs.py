"""`voicebot bench dialogs`: whole conversations through the real engine, judged by how the call ends.

Each conversation of the set (`bench/dialogs/`, format in `bot/devtools/bench_dialogs_set.py`) runs exactly as
`voicebot chat` runs it: a Conversation over the dialog service, the caller's turns in order, a hang-up when
they run out; when the robot asks back what it understood, the benchmark says yes (so a wrong guess still
fails). It succeeds when the outcome, every stated slot and the stated steps match. The report gives success per
script and language, each failure with the turn that decided it, and intent confusions.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.devtools.bench_dialogs_set import BenchConversation, CallerTurn, TurnKind
from bot.dialog.catalogue import Catalogue
from bot.dialog.engine import InputKind, TurnEvent, new_state
from bot.dialog.transcript import Exchange
from bot.rasa.client import RasaClient
from bot.rasa.conversation import Conversation

TIMEZONE = "Europe/Moscow"  # the callers' zone: "завтра" and the robot's clock are counted in it
LANGS = ("ru", "en")
MISSED = {TurnEvent.NO_MATCH, TurnEvent.INVALID}
CONFIRMATION = {"ru": "да", "en": "yes"}


def bench_today() -> date:
    """The run day in the callers' time zone (the action server counts dates from the same clock)."""
    return datetime.now(ZoneInfo(TIMEZONE)).date()


@dataclass(frozen=True)
class TurnTrace:
    """One caller turn as the robot took it."""

    turn: CallerTurn
    step: str | None  # the step that was asking
    intent: str | None
    confidence: float
    event: str
    next_step: str | None  # where the robot went (or ended)

    def line(self) -> str:
        heard = f"{self.intent} {self.confidence:.2f}" if self.intent else "-"
        want = (
            f" (should be {self.turn.intent})" if self.turn.intent and self.turn.intent != self.intent else ""
        )
        return f"{self.step}: {self.turn}  → {heard}{want} → {self.event} → {self.next_step}"


@dataclass
class ConversationResult:
    conversation: BenchConversation
    turns: list[TurnTrace] = field(default_factory=list)
    outcome: str | None = None
    slots: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    def failing_turn(self) -> int:
        """The turn most likely to have gone wrong: a mis-heard labelled turn, else the first not understood,
        else the last one (it decided how the call ended)."""
        for index, trace in enumerate(self.turns):
            if trace.turn.intent and trace.turn.intent != trace.intent:
                return index
        for index, trace in enumerate(self.turns):
            if trace.event in MISSED:
                return index
        return len(self.turns) - 1


async def run_conversation(
    client: RasaClient, catalogue: Catalogue, bench: BenchConversation
) -> ConversationResult:
    """Play one conversation through the dialog service and judge it."""
    script = catalogue.get(bench.script)
    conversation = Conversation(client, new_state(script, bench.lang, bench.variables, TIMEZONE))
    result = ConversationResult(bench)
    await conversation.start()
    visited: list[str | None] = []
    for turn in bench.turns:
        if conversation.ended:
            break
        step = conversation.state.step
        exchange = await _play(conversation, turn)
        result.turns.append(_trace(turn, step, exchange))
        visited.append(exchange.result.state.step)
        if exchange.result.event is TurnEvent.CONFIRMING:
            # The robot asks back what it understood ("Правильно поняла, …?"): the caller says yes, so a wrong
            # guess still ends the call wrongly and fails, a right one costs the caller one more turn.
            yes = CallerTurn(kind=TurnKind.TEXT, text=CONFIRMATION[bench.lang], automatic=True)
            exchange = await _play(conversation, yes)
            result.turns.append(_trace(yes, step, exchange))
            visited.append(exchange.result.state.step)
    if not conversation.ended:
        await conversation.hangup()
    state = conversation.state
    result.outcome = state.outcome.value if state.outcome else None
    result.slots = {k: v for k, v in state.values.items() if k not in script.variables}
    result.data = dict(state.outcome_data)
    result.problems = _judge(bench, result, visited)
    return result


async def _play(conversation: Conversation, turn: CallerTurn) -> Exchange:
    match turn.kind:
        case TurnKind.DTMF:
            return await conversation.dtmf(turn.text)
        case TurnKind.SILENCE:
            return await conversation.silence()
    return await conversation.say(turn.text)


def _trace(turn: CallerTurn, step: str | None, exchange: Exchange) -> TurnTrace:
    heard, result = exchange.heard, exchange.result
    text = heard.kind is InputKind.TEXT
    return TurnTrace(
        turn=turn,
        step=step,
        intent=heard.intent if text else None,
        confidence=heard.confidence if text else 0.0,
        event=result.event.value,
        next_step=result.state.step if not result.state.ended else f"{result.state.step} (ended)",
    )


def _judge(bench: BenchConversation, result: ConversationResult, visited: list[str | None]) -> list[str]:
    problems = []
    if result.outcome != bench.outcome:
        problems.append(f"outcome {result.outcome}, expected {bench.outcome}")
    for slot in bench.slots:
        got = result.slots.get(slot.name)
        if not slot.matches(got):
            problems.append(f"{slot.name} = {got!r}, expected {slot.value!r}")
    for key in bench.data:
        got = result.data.get(key.name)
        if not key.matches(got):
            problems.append(f"{bench.outcome} data {key.name} = {got!r}, expected {key.value!r}")
    remaining = iter(visited)
    for step in bench.steps:
        if step not in remaining:  # consumes the iterator: the steps must come in this order
            problems.append(
                f"never at step '{step}' (in the expected order); was at {' → '.join(map(str, visited))}"
            )
            break
    return problems


async def run_set(
    client: RasaClient, catalogue: Catalogue, conversations: list[BenchConversation]
) -> list[ConversationResult]:
    """Every conversation, one after another (one Rasa process answers one message at a time anyway)."""
    return [await run_conversation(client, catalogue, bench) for bench in conversations]


def report(results: list[ConversationResult], today: date, show_failures: bool = True) -> str:
    """Success per script and language, failures with their deciding turn, and intent confusions."""
    out = [f"conversation benchmark: {len(results)} conversations, dates counted from {today} ({TIMEZONE})"]
    out += _success_table(results)
    asked_back = [r for r in results if any(t.turn.automatic for t in r.turns)]
    if asked_back:
        times = sum(t.turn.automatic for r in asked_back for t in r.turns)
        out.append(
            f"the robot asked back {times} times in {len(asked_back)} conversations (the benchmark said yes)"
        )
    failed = [r for r in results if not r.passed]
    if show_failures and failed:
        out.append("")
        out.append(f"failures ({len(failed)}):")
        for result in failed:
            out += _failure(result)
    out += _confusions(results)
    return "\n".join(out)


def _rate(results: list[ConversationResult]) -> str:
    if not results:
        return "-"
    passed = sum(r.passed for r in results)
    return f"{passed}/{len(results)} = {passed / len(results):.1%}"


def _success_table(results: list[ConversationResult]) -> list[str]:
    scripts = sorted({r.conversation.script for r in results})
    langs = [lang for lang in LANGS if any(r.conversation.lang == lang for r in results)]
    rows = [["script", *langs]]
    for script in scripts:
        of_script = [r for r in results if r.conversation.script == script]
        rows.append(
            [script, *(_rate([r for r in of_script if r.conversation.lang == lang]) for lang in langs)]
        )
    rows.append(["all", *(_rate([r for r in results if r.conversation.lang == lang]) for lang in langs)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        ("  " + "   ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))).rstrip()
        for row in rows
    ]
    return [*lines, f"overall: {_rate(results)} conversations end as expected"]


def _failure(result: ConversationResult) -> list[str]:
    bench = result.conversation
    named = f" [{bench.name}]" if bench.name else ""
    lines = [f"  {bench.where}{named} {bench.lang}/{bench.script}: {'; '.join(result.problems)}"]
    decisive = result.failing_turn()
    for index, trace in enumerate(result.turns):
        lines.append(f"    {'>>' if index == decisive else '  '} {trace.line()}")
    played = sum(not trace.turn.automatic for trace in result.turns)
    if played < len(bench.turns):
        lines.append(f"       (the robot ended the call after {played} of {len(bench.turns)} turns)")
    return lines


def _confusions(results: list[ConversationResult]) -> list[str]:
    labelled: Counter[str] = Counter()
    confused: Counter[tuple[str, str | None]] = Counter()
    at_failure: Counter[tuple[str, str | None]] = Counter()
    for result in results:
        for trace in result.turns:
            if trace.turn.intent:
                labelled[trace.turn.intent] += 1
                if trace.intent != trace.turn.intent:
                    confused[(trace.turn.intent, trace.intent)] += 1
        if not result.passed and result.turns:
            trace = result.turns[result.failing_turn()]
            at_failure[(f"{result.conversation.script}.{trace.step}", trace.intent or trace.event)] += 1
    out = []
    if labelled:
        right = sum(labelled.values()) - sum(confused.values())
        out += ["", f"labelled turns heard as their intent: {right}/{sum(labelled.values())}; confusions:"]
        for (expected, got), count in confused.most_common():
            out.append(f"    {expected:>16} → {got or '-':<20} {count}/{labelled[expected]}")
    if at_failure:
        out += ["", "heard at the deciding turn of failed conversations (script.step: intent or event):"]
        for (step, heard), count in at_failure.most_common():
            out.append(f"    {step}: {heard}  {count}")
    return out
