"""The paused-answer set of `voicebot bench pauses` (`bench/pauses/<lang>.yml`): reading and checking it.

    lang: ru
    variables:                    # per script: the contact's values for its calls
      reminder: {name: Анна, company: Банк Восток, amount: "10500", due_date: "2026-12-20"}
    answers:                      # a caller who pauses inside an answer
      - {script: reminder, lead: ["dtmf:2"], step: ask_date, kind: date, say: "я заплачу |0.5| двадцатого"}
    barge_ins:                    # a caller who talks over a prompt `after` seconds into it
      - {script: reminder, after: 1.5, say: "нет нет подождите"}

`lead` is what the caller says or keys (`dtmf:2`) before, to reach `step`; `say` holds at least one pause of
0.3–0.8 s written `|0.5|` (`bot.calls.caller_words`). Every problem is reported with file:line (ScriptErrors).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from bot.calls.caller_words import PauseError, pauses
from bot.devtools.bench_set_files import read_set, where
from bot.dialog.catalogue import Catalogue
from bot.dialog.engine import DialogError, new_state
from bot.dialog.loader import ScriptError, Source, YamlPath
from bot.dialog.model import Script

SET_DIR = Path("bench") / "pauses"
FILE_KEYS = {"lang", "variables", "answers", "barge_ins"}
ANSWER_KEYS = {"script", "lead", "step", "kind", "say"}
BARGE_IN_KEYS = {"script", "lead", "after", "say"}
PAUSE_RANGE = (0.3, 0.8)  # seconds: the pauses a caller makes inside an answer that the set is about


class AnswerKind(StrEnum):
    DATE = "date"  # "я заплачу |0.5| двадцатого"
    TIME = "time"  # "мне удобно |0.5| в десять"
    DIGITS = "digits"  # an order number in groups
    HEDGE = "hedge"  # "ну |0.3| да можно": a filler before the answer
    RATING = "rating"  # "ну |0.6| восемь"
    # a complete answer, then more words after the pause ("да |0.5| но после зарплаты", "восемь |0.6| наверное"):
    # the early end of turn ends it at the first part by design, the rest comes as a barge-in
    AFTERTHOUGHT = "afterthought"


@dataclass(frozen=True)
class _Led:
    """A call of the set: at `file:line`, a script in a language, and the caller's lines that lead it on."""

    file: Path
    line: int
    lang: str
    script: str
    variables: dict[str, str]
    lead: list[str]  # caller lines as for `voicebot simulate --say`

    @property
    def where(self) -> str:
        return where(self.file, self.line)


@dataclass(frozen=True)
class PausedAnswer(_Led):
    step: str  # where the lead must bring the call
    kind: AnswerKind
    say: str

    @property
    def longest_pause(self) -> float:
        return max(pauses(self.say), default=0.0)


@dataclass(frozen=True)
class BargeIn(_Led):
    after: float  # seconds into the prompt
    say: str


@dataclass(frozen=True)
class PauseSet:
    answers: list[PausedAnswer]
    barge_ins: list[BargeIn]


def load_pause_set(root: Path, catalogue: Catalogue) -> PauseSet:
    """Every answer and barge-in under `root` (`<lang>.yml`); ScriptErrors lists every problem found."""
    files = sorted(root.glob("*.yml"))
    found = read_set(
        root, files, "no paused-answer files (<lang>.yml) here", lambda source: _FileReader(source, catalogue)
    )
    return PauseSet(
        [answer for part in found for answer in part.answers],
        [barge_in for part in found for barge_in in part.barge_ins],
    )


class _FileReader:
    """Checks one file of the set, collecting errors instead of stopping at the first."""

    def __init__(self, source: Source, catalogue: Catalogue):
        self.source, self.catalogue = source, catalogue
        self.errors: list[ScriptError] = []
        self.lang = ""
        self.variables: dict[str, dict[str, str]] = {}

    def error(self, path: YamlPath, message: str) -> None:
        self.errors.append(self.source.error(path, message))

    def read(self) -> PauseSet:
        data = self.source.data
        self._unknown_keys(data, FILE_KEYS, (), "a paused-answer file")
        self.lang = data.get("lang") if isinstance(data.get("lang"), str) else ""
        if not self.lang:
            self.error(("lang",), "'lang' must be a language code (ru, en)")
        variables = data.get("variables") or {}
        if not isinstance(variables, dict):
            self.error(("variables",), "'variables' must map script ids to their variables")
            variables = {}
        self.variables = {
            str(k): {name: str(value) for name, value in v.items()}
            for k, v in variables.items()
            if isinstance(v, dict)
        }
        answers = self._items("answers", self._answer, required=True)
        barge_ins = self._items("barge_ins", self._barge_in, required=False)
        return PauseSet(answers, barge_ins)

    def _items(self, key: str, read_one, *, required: bool) -> list:
        items = self.source.data.get(key)
        if items is None and not required:
            return []
        if not isinstance(items, list) or not items:
            self.error((key,), f"'{key}' must be a non-empty list")
            return []
        found = []
        for index, item in enumerate(items):
            path = (key, index)
            if not isinstance(item, dict):
                self.error(path, f"each of '{key}' must be a mapping")
                continue
            one = read_one(item, path)
            if one is not None:
                found.append(one)
        return found

    def _answer(self, item: dict[str, Any], path: YamlPath) -> PausedAnswer | None:
        self._unknown_keys(item, ANSWER_KEYS, path, "an answer")
        script = self._script(item, path)
        lead = self._lead(item, path)
        step, kind, say = item.get("step"), item.get("kind"), self._say(item, path, paused=True)
        if script is not None and step not in script.steps:
            self.error((*path, "step"), f"'step' must be a step of '{script.id}' ({', '.join(script.steps)})")
            script = None
        if kind not in set(AnswerKind):
            self.error((*path, "kind"), f"'kind' must be one of: {', '.join(AnswerKind)}")
            kind = None
        if script is None or lead is None or kind is None or say is None:
            return None
        line = self.source.locate(path)[1]
        variables = self.variables[script.id]
        return PausedAnswer(
            self.source.file, line, self.lang, script.id, variables, lead, step, AnswerKind(kind), say
        )

    def _barge_in(self, item: dict[str, Any], path: YamlPath) -> BargeIn | None:
        self._unknown_keys(item, BARGE_IN_KEYS, path, "a barge-in")
        script = self._script(item, path)
        lead = self._lead(item, path)
        after, say = item.get("after"), self._say(item, path, paused=False)
        if isinstance(after, bool) or not isinstance(after, int | float) or not 0 < after <= 10:
            self.error((*path, "after"), "'after' must be seconds into the prompt (0 < after ≤ 10)")
            after = None
        if script is None or lead is None or after is None or say is None:
            return None
        line = self.source.locate(path)[1]
        variables = self.variables[script.id]
        return BargeIn(self.source.file, line, self.lang, script.id, variables, lead, float(after), say)

    def _script(self, item: dict[str, Any], path: YamlPath) -> Script | None:
        script_id = item.get("script")
        script = self.catalogue.scripts.get(script_id) if isinstance(script_id, str) else None
        if script is None:
            known = ", ".join(sorted(self.catalogue.scripts))
            self.error((*path, "script"), f"'script' must be a valid script ({known})")
            return None
        if self.lang and self.lang not in script.languages:
            self.error((*path, "script"), f"script '{script.id}' has no '{self.lang}' variant")
            return None
        if script.id not in self.variables:
            self.error(("variables",), f"'variables' has no entry for '{script.id}'")
            return None
        try:
            new_state(script, self.lang or script.languages[0], self.variables[script.id])
        except DialogError as exc:
            self.error(("variables", script.id), str(exc))
            return None
        return script

    def _lead(self, item: dict[str, Any], path: YamlPath) -> list[str] | None:
        lead = item.get("lead", [])
        if not isinstance(lead, list) or not all(isinstance(line, str) for line in lead):
            self.error((*path, "lead"), "'lead' must be a list of caller lines (words, or dtmf:KEYS)")
            return None
        for line in lead:
            if self._pauses(line, (*path, "lead")) is None:
                return None
        return lead

    def _say(self, item: dict[str, Any], path: YamlPath, *, paused: bool) -> str | None:
        say = item.get("say")
        if not isinstance(say, str) or not say.strip():
            self.error((*path, "say"), "'say' must be the caller's words")
            return None
        found = self._pauses(say, (*path, "say"))
        if found is None:
            return None
        low, high = PAUSE_RANGE
        if paused and not found:
            self.error((*path, "say"), f"'say' must hold a pause of {low}–{high} s, written like |0.5|")
            return None
        if paused and any(not low <= p <= high for p in found):
            self.error((*path, "say"), f"pauses in 'say' must be {low}–{high} s: {say!r}")
            return None
        return say.strip()

    def _pauses(self, text: str, path: YamlPath) -> list[float] | None:
        try:
            return pauses(text)
        except PauseError as exc:
            self.error(path, str(exc))
            return None

    def _unknown_keys(self, item: dict[str, Any], allowed: set[str], path: YamlPath, what: str) -> None:
        for key in sorted(set(item) - allowed, key=str):
            self.error((*path, key), f"unknown key '{key}' ({what} has: {', '.join(sorted(allowed))})")


def only(pause_set: PauseSet, lang: str = "", limit: int = 0) -> PauseSet:
    """The part of `pause_set` in `lang` (all when empty), at most `limit` answers and barge-ins per language."""

    def pick(items: list) -> list:
        chosen = [item for item in items if item.lang == (lang or item.lang)]
        if not limit:
            return chosen
        counts: dict[str, int] = {}
        kept = []
        for item in chosen:
            counts[item.lang] = counts.get(item.lang, 0) + 1
            if counts[item.lang] <= limit:
                kept.append(item)
        return kept

    return PauseSet(pick(pause_set.answers), pick(pause_set.barge_ins))
