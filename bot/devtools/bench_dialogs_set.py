"""The conversation benchmark's set (`bench/dialogs/<lang>/<script>.yml`): reading, checking, and what to expect.

One file per script and language:

    script: debt
    lang: ru
    variables: {name: Иван Петров, company: Банк Восток, amount: 25000, due_date: today-10}
    conversations:
      - id: yes-with-date            # optional; failures are named by file:line anyway
        caller: ["да смогу в пятницу", "всю сумму"]
        outcome: promise_to_pay
        slots: {promise_date: next fri, promise_amount: 25000}
        steps: [ask_promise_amount]  # optional: steps the call must be at after turns, in this order
        variables: {amount: 500}     # optional: on top of the file's variables

A caller turn is what they say (`"алло да слушаю"`), `{dtmf: "1"}`, `{silence: true}`, or `{affirm: "ну да"}`:
the words with the intent they should be heard as (only for the benchmark's confusion table). When the turns run
out before the robot ends the call, the caller hangs up. Date and datetime values are expressions relative to the
run day (`bot/rasa/bench_dates.py`); an expected datetime without a time checks the day only; `null` expects the
slot to stay empty. Every problem is reported with file:line (ScriptErrors), none is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

from bot.devtools.bench_set_files import read_set, where
from bot.dialog.catalogue import Catalogue
from bot.dialog.engine import DialogError, new_state
from bot.dialog.loader import ScriptError, Source, YamlPath
from bot.dialog.model import ActionType, Script, ValueType
from bot.dialog.render import to_number
from bot.outcomes import Outcome, Signal
from bot.rasa.bench_dates import DateExpressionError, resolve

SET_DIR = Path("bench") / "dialogs"
FILE_KEYS = {"script", "lang", "variables", "conversations"}
CONVERSATION_KEYS = {"id", "caller", "outcome", "data", "slots", "steps", "variables"}
TURN_FORMS = 'a string (what the caller says), {dtmf: "1"}, {silence: true} or {<intent>: "words"}'
DATED = (ValueType.DATE, ValueType.DATETIME)


class TurnKind(StrEnum):
    TEXT = "text"
    DTMF = "dtmf"
    SILENCE = "silence"


@dataclass(frozen=True)
class CallerTurn:
    kind: TurnKind
    text: str = ""  # the words, or the keys pressed
    intent: str | None = None  # the intent the words should be heard as, when stated
    automatic: bool = (
        False  # not in the set: the benchmark's "yes" when the robot asks back what it understood
    )

    def __str__(self) -> str:
        if self.kind is TurnKind.SILENCE:
            return "(silence)"
        if self.kind is TurnKind.DTMF:
            return f"dtmf {self.text}"
        return f'(auto) "{self.text}"' if self.automatic else f'"{self.text}"'


@dataclass(frozen=True)
class ExpectedSlot:
    """A slot value the call must end with: None (empty), or the value in the engine's stored form."""

    name: str
    type: ValueType
    value: Any
    day_only: bool = False  # a datetime stated without a time: only its day is checked

    def matches(self, got: Any) -> bool:
        if self.value is None or got is None:
            return self.value is None and got is None
        if self.type in DATED:
            return str(got)[:10] == self.value if self.day_only else str(got)[:16] == self.value
        if self.type in (ValueType.MONEY, ValueType.NUMBER, ValueType.RATING):
            return isinstance(got, int | float) and float(got) == float(self.value)
        if self.type is ValueType.TEXT:
            return " ".join(str(got).lower().split()) == " ".join(str(self.value).lower().split())
        return got == self.value


@dataclass(frozen=True)
class BenchConversation:
    file: Path
    line: int
    name: str  # the optional `id:`; "" when none
    script: str
    lang: str
    variables: dict[str, Any]
    turns: list[CallerTurn]
    outcome: Outcome
    slots: list[ExpectedSlot] = field(default_factory=list)
    data: list[ExpectedSlot] = field(default_factory=list)  # the outcome's data (`booked{slot}`), by key
    steps: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        """`bench/dialogs/ru/debt.yml:12` (relative to the working directory when under it)."""
        return where(self.file, self.line)


def load_set(root: Path, catalogue: Catalogue, intents: set[str], today: date) -> list[BenchConversation]:
    """Every conversation under `root` (`<lang>/<script>.yml`), dates resolved from `today`; ScriptErrors lists
    every problem found in the set (file:line and what is expected)."""
    files = sorted(root.rglob("*.yml"))
    found = read_set(
        root,
        files,
        "no benchmark files (*.yml) here",
        lambda source: _FileReader(source, catalogue, intents, today),
        _for_bench_files,
    )
    return [conversation for conversations in found for conversation in conversations]


def _for_bench_files(error: ScriptError) -> ScriptError:
    """The YAML reader's message for a file that is not a mapping names a script's keys; name ours."""
    if error.message.startswith("expected a mapping at the top"):
        return ScriptError(
            error.file, error.line, f"expected a mapping at the top ({', '.join(sorted(FILE_KEYS))})"
        )
    return error


class _FileReader:
    """Checks one benchmark file, collecting errors instead of stopping at the first."""

    def __init__(self, source: Source, catalogue: Catalogue, intents: set[str], today: date):
        self.source, self.catalogue, self.intents, self.today = source, catalogue, intents, today
        self.errors: list[ScriptError] = []

    def error(self, path: YamlPath, message: str) -> None:
        self.errors.append(self.source.error(path, message))

    def read(self) -> list[BenchConversation]:
        data = self.source.data
        for key in sorted(set(data) - FILE_KEYS):
            self.error((key,), f"unknown key '{key}' (a benchmark file has: {', '.join(sorted(FILE_KEYS))})")
        script = self._script(data.get("script"))
        lang = data.get("lang")
        if script is not None and lang not in script.languages:
            self.error(
                ("lang",), f"'lang' must be one of the script's languages ({', '.join(script.languages)})"
            )
            script = None
        items = data.get("conversations")
        if not isinstance(items, list) or not items:
            self.error(("conversations",), "'conversations' must be a non-empty list")
            return []
        if script is None:
            return []
        common = self._variables(script, data.get("variables") or {}, ("variables",))
        found = []
        for index, item in enumerate(items):
            conversation = self._conversation(script, lang, common, item, ("conversations", index))
            if conversation is not None:
                found.append(conversation)
        return found

    def _script(self, name: Any) -> Script | None:
        if name not in self.catalogue.scripts:
            known = ", ".join(sorted(self.catalogue.scripts))
            self.error(("script",), f"unknown script {name!r}: 'script' must be one of {known}")
            return None
        return self.catalogue.scripts[name]

    def _variables(self, script: Script, given: Any, path: YamlPath) -> dict[str, Any]:
        if not isinstance(given, dict):
            self.error(path, "'variables' must be a mapping of name: value")
            return {}
        values = {}
        for name, value in given.items():
            if name not in script.variables:
                known = ", ".join(script.variables)
                self.error((*path, name), f"unknown variable '{name}' (script '{script.id}' has: {known})")
                continue
            kind = script.variables[name].type
            if kind in DATED and value is not None:
                try:
                    moment = resolve(str(value), self.today)
                except DateExpressionError as exc:
                    self.error((*path, name), str(exc))
                    continue
                if kind is ValueType.DATETIME and moment.at is None:
                    self.error(
                        (*path, name), f"'{name}' is a datetime: give a time too, e.g. 'today+2 10:00'"
                    )
                    continue
                value = moment.iso() if kind is ValueType.DATETIME else moment.day.isoformat()
            values[name] = value
        return values

    def _conversation(
        self, script: Script, lang: str, common: dict[str, Any], item: Any, path: YamlPath
    ) -> BenchConversation | None:
        if not isinstance(item, dict):
            self.error(path, f"a conversation is a mapping with keys {', '.join(sorted(CONVERSATION_KEYS))}")
            return None
        before = len(self.errors)
        for key in sorted(set(item) - CONVERSATION_KEYS):
            self.error(
                (*path, key),
                f"unknown key '{key}' (a conversation has: {', '.join(sorted(CONVERSATION_KEYS))})",
            )
        variables = {**common, **self._variables(script, item.get("variables") or {}, (*path, "variables"))}
        try:
            new_state(script, lang, variables)
        except DialogError as exc:
            self.error(path, str(exc))
        turns = self._turns(item.get("caller"), (*path, "caller"))
        outcome = self._outcome(item.get("outcome"), (*path, "outcome"))
        captured = {s.capture.slot: s.capture.type for s in script.steps.values() if s.capture}
        slots = self._values(script, captured, "slot", item.get("slots") or {}, (*path, "slots"))
        recorded = _outcome_data_types(script, outcome)
        data = self._values(script, recorded, f"{outcome} data key", item.get("data") or {}, (*path, "data"))
        steps = self._steps(script, item.get("steps") or [], (*path, "steps"))
        if len(self.errors) > before:
            return None
        file, line = self.source.locate(path)
        name = str(item.get("id") or "")
        return BenchConversation(
            file, line, name, script.id, lang, variables, turns, outcome, slots, data, steps
        )

    def _turns(self, given: Any, path: YamlPath) -> list[CallerTurn]:
        if not isinstance(given, list) or not given:
            self.error(path, f"'caller' must be a non-empty list of turns: {TURN_FORMS}")
            return []
        turns = []
        for index, item in enumerate(given):
            turn = self._turn(item)
            if turn is None:
                self.error((*path, index), f"malformed turn {item!r}: a turn is {TURN_FORMS}")
            else:
                turns.append(turn)
        return turns

    def _turn(self, item: Any) -> CallerTurn | None:
        if isinstance(item, str) and item.strip():
            return CallerTurn(TurnKind.TEXT, item.strip())
        if not isinstance(item, dict) or len(item) != 1:
            return None
        ((key, value),) = item.items()
        if key == TurnKind.DTMF and str(value).strip() and all(c in "0123456789*#" for c in str(value)):
            return CallerTurn(TurnKind.DTMF, str(value))
        if key == TurnKind.SILENCE and value is True:
            return CallerTurn(TurnKind.SILENCE)
        if key in self.intents and isinstance(value, str) and value.strip():
            return CallerTurn(TurnKind.TEXT, value.strip(), intent=key)
        return None

    def _outcome(self, given: Any, path: YamlPath) -> Outcome:
        try:
            return Outcome(given)
        except ValueError:
            self.error(path, f"unknown outcome {given!r}: expected one of {', '.join(Outcome)}")
            return Outcome.COMPLETED

    def _values(
        self, script: Script, types: dict[str, ValueType], what: str, given: Any, path: YamlPath
    ) -> list[ExpectedSlot]:
        if not isinstance(given, dict):
            self.error(path, f"'{path[-1]}' must be a mapping of {what}: expected value")
            return []
        expected = []
        for name, value in given.items():
            if name not in types:
                known = ", ".join(types) or "none"
                self.error((*path, name), f"unknown {what} '{name}' in script '{script.id}' (known: {known})")
                continue
            slot = self._expected(name, types[name], value, (*path, name))
            if slot is not None:
                expected.append(slot)
        return expected

    def _expected(self, name: str, kind: ValueType, value: Any, path: YamlPath) -> ExpectedSlot | None:
        if value is None:
            return ExpectedSlot(name, kind, None)
        try:
            if kind in DATED:
                moment = resolve(str(value), self.today)
                if kind is ValueType.DATETIME and moment.at is None:
                    return ExpectedSlot(name, kind, moment.day.isoformat(), day_only=True)
                return ExpectedSlot(
                    name, kind, moment.iso() if kind is ValueType.DATETIME else moment.day.isoformat()
                )
            if kind in (ValueType.MONEY, ValueType.NUMBER, ValueType.RATING):
                return ExpectedSlot(name, kind, to_number(value))
            if kind is ValueType.YES_NO:
                if not isinstance(value, bool):
                    raise ValueError("expected true or false")
                return ExpectedSlot(name, kind, value)
        except (ValueError, ArithmeticError) as exc:
            self.error(path, f"'{name}' is a {kind}: {exc}")
            return None
        return ExpectedSlot(name, kind, str(value))

    def _steps(self, script: Script, given: Any, path: YamlPath) -> list[str]:
        if not isinstance(given, list):
            self.error(path, "'steps' must be a list of step names")
            return []
        for index, step in enumerate(given):
            if step not in script.steps:
                self.error((*path, index), f"unknown step {step!r} in script '{script.id}'")
        return [str(step) for step in given]


def _outcome_data_types(script: Script, outcome: Outcome) -> dict[str, ValueType]:
    """The data keys the script records with `outcome` and the type of the value behind each."""
    types = script.slot_types()
    actions = [a for step in script.steps.values() for a in step.do]
    actions += [a for step in script.steps.values() for answer in step.answers for a in answer.do]
    actions += [a for handler in script.handlers.values() for a in handler.do]
    data: dict[str, ValueType] = {}
    for action in actions:
        if action.type is ActionType.SET_OUTCOME and action.value == outcome:
            data.update({key: types.get(name, ValueType.TEXT) for key, name in action.data.items()})
    return data


def known_intents(trained: set[str]) -> set[str]:
    """Intents a turn may be labelled with: the trained ones and Rasa's fallback."""
    return trained | {Signal.NLU_FALLBACK.value}
