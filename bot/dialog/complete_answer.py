"""Whether the words heard so far already answer the waiting step, so a short pause may end the caller's turn.

Used for the early end of turn (voice/turn_end.py): after ~0.25 s of silence the turn ends when the recogniser's
words are a complete expected answer, otherwise the step's full end-of-turn silence is waited. Complete means:
- not ending in a word that announces more (a preposition, a conjunction, a filler, a verb waiting for its time
  or amount: "я заплачу", "мне удобно в", "ну"), nor, at a value step, in a number that may go on ("двадцать",
  "пять тысяч", "в три");
- a capture step: its value reads from the words and is acceptable; digit strings never (callers say them in
  groups);
- otherwise one of the step's expected phrases, or the dialog service classifies the words as an intent the step
  or the script's handlers answer (not a greeting, thanks or "не знаю"), at least as confidently as an answer acted on without asking back.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot import values as parse
from bot.dialog.answer_matching import WEAK_INTENTS
from bot.dialog.model import CONFIRM_BELOW, Script, Step, ValueType
from bot.dialog.slots import read_capture, valid

Classify = Callable[[str], Awaitable[dict[str, Any]]]
"""The dialog service's reading of words: Rasa's parse result (`intent: {name, confidence}`)."""


def _word_set(*groups: str) -> frozenset[str]:
    return frozenset(" ".join(groups).split())


_UNFINISHED = {
    "ru": _word_set(
        "в во к ко до на с со по за о об от из у через после перед около под над при про для без",
        "и а но или что чтобы потому если когда то как ли же",
        "ну э ээ эээ м мм ммм так вот значит короче типа",
        "заплачу оплачу внесу переведу верну погашу смогу могу буду приду подойду придем",
        "удобно давайте думаю наверное где примерно",
    ),
    "en": _word_set(
        "to at on in by for until till after before around about from of with within",
        "and but or so because that if when than",
        "um uh er erm hmm well like i i'll ill we",
        "will can could would pay come make think maybe probably the a an",
    ),
}
_ORDINAL_ENDING = re.compile(r"(ого|ому|ое|ой|ая|ую|ый|ий|ом|ем|th|st|nd|rd|first|second|third)$")
_OPEN_NUMBER = re.compile(
    r"^(двадцать|тридцать|сорок|пятьдесят|шестьдесят|семьдесят|восемьдесят|девяносто|сто|двести|триста|"
    r"четыреста|\w+сот|тысяч\w*|миллион\w*|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|"
    r"thousand|million)$"
)
# a value type whose words end with a plain number only when more may follow ("в три" → "тридцать")
_NUMBER_ENDS_OPEN = {ValueType.TIME, ValueType.DATETIME, ValueType.MONEY, ValueType.NUMBER}


def _words(text: str) -> list[str]:
    return re.findall(r"[\w'-]+", text.lower().replace("ё", "е"))


def _cardinal(word: str, lang: str) -> bool:
    return parse.parse_number(word, lang) is not None and not _ORDINAL_ENDING.search(word)


class CompleteAnswer:
    """The test for one step of one call: `await check(words)` (see the module's rules)."""

    def __init__(self, script: Script, step: Step, lang: str, values: dict[str, Any], timezone: str,
                 classify: Classify) -> None:  # fmt: skip
        self.step, self.lang, self.values, self.timezone = step, lang, values, timezone
        self._classify = classify
        self._phrases = {" ".join(_words(p)) for p in step.phrases(lang)}
        heard = {i for answer in step.answers for i in answer.intent} | set(script.handlers)
        self._intents = heard - WEAK_INTENTS  # "алло", "ну не знаю", "спасибо": more may follow

    async def __call__(self, text: str) -> bool:
        words = _words(text)
        if not words or words[-1] in _UNFINISHED.get(self.lang, _UNFINISHED["en"]):
            return False
        if self.step.capture is not None and self._value_complete(text, words):
            return True
        if " ".join(words) in self._phrases:
            return True
        if not self._intents:
            return False
        intent = (await self._classify(text)).get("intent") or {}
        return intent.get("name") in self._intents and (intent.get("confidence") or 0.0) >= CONFIRM_BELOW

    def _value_complete(self, text: str, words: list[str]) -> bool:
        capture = self.step.capture
        if capture.type in (ValueType.DIGITS, ValueType.TEXT) or _OPEN_NUMBER.match(words[-1]):
            return False
        if capture.type in _NUMBER_ENDS_OPEN and _cardinal(words[-1], self.lang):
            return False
        now = datetime.now(ZoneInfo(self.timezone))
        value = read_capture(capture, text, self.values, self.lang, now)
        return value is not None and valid(capture, value, now.date())
