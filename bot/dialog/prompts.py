"""A script's prompts as the robot would say them, with sample values for its variables and slots (the studio's
"listen" and prompt list)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.dialog.checks import _texts
from bot.dialog.engine import DialogEngine, DialogState, new_state
from bot.dialog.model import Script, ValueType

SAMPLES: dict[ValueType, Any] = {
    ValueType.DATE: "2026-12-01",
    ValueType.DATETIME: "2026-12-22T14:30",
    ValueType.TIME: "09:05",
    ValueType.MONEY: "21000.50",
    ValueType.NUMBER: "21",
    ValueType.RATING: "9",
    ValueType.DIGITS: "00123",
    ValueType.YES_NO: "да",
}
SAMPLE_NAME = {"ru": "Анна", "en": "Anna"}
SAMPLE_TEXT = {"company": {"ru": "Уют", "en": "Cosy Home"}}  # text variables other than a person's name


@dataclass(frozen=True)
class Prompt:
    path: str  # e.g. `steps.greet.say`
    text: str  # as written
    spoken: str  # rendered with the sample values: what the voice says


def sample_state(script: Script, lang: str) -> DialogState:
    """A call's state with a sample value for every variable and slot (a date, a sum, a name…)."""
    name = SAMPLE_NAME.get(lang, "Anna")
    state = new_state(script, lang, sample_variables(script, lang))
    for slot, kind in script.slot_types().items():
        state.values.setdefault(slot, SAMPLES.get(kind, name))
    return state


def sample_variables(script: Script, lang: str) -> dict[str, Any]:
    """The sample value of each variable, as a contact's CSV would give it."""
    name = SAMPLE_NAME.get(lang, "Anna")
    return {
        key: SAMPLES.get(v.type, SAMPLE_TEXT.get(key, {}).get(lang, name))
        for key, v in script.variables.items()
    }


def prompts(script: Script, lang: str) -> list[Prompt]:
    """Every prompt of `script` in `lang`, rendered. CPU work: call it from a thread in async code."""
    engine = DialogEngine(script)
    state = sample_state(script, lang)
    found = []
    for path, text in _texts(script):
        if path[-1] in ("title", "examples") or lang not in text:
            continue
        found.append(Prompt(".".join(map(str, path)), text[lang], engine.render(state, text)))
    return found
