"""What the robot tells the agent of a warm transfer before the customer is connected.

A script's `handoff_summary: {ru: …, en: …}` is a prompt like any other: its placeholders are the script's
variables and slots, plus `{reason}` (why the call is handed over), `{collected}` (the slots the call filled, each
named by its label — bot/handoff/slot_labels.py — with its value said in words), `{last_words}` (what the caller
said last) and `{queue}`. Without one, `default_summary` is said. Unknown placeholders are `dialogs check` errors with file:line (bot/dialog/checks.py).
"""

from __future__ import annotations

from typing import Any

from bot.dialog.model import SUMMARY_VALUES, Script
from bot.dialog.render import render
from bot.handoff.slot_labels import slot_label

REASONS: dict[str, dict[str, str]] = {
    "qualified": {
        "ru": "клиент заинтересован в предложении",
        "en": "the customer is interested in the offer",
    },
    "requested": {
        "ru": "клиент попросил соединить его со специалистом",
        "en": "the customer asked for a person",
    },
    "stuck": {"ru": "робот не смог понять клиента", "en": "the robot could not understand the customer"},
}
_OPENING = {"ru": "Соединяю клиента. ", "en": "Connecting a customer. "}
_NAMED = {"ru": "Клиент: {name}. ", "en": "The customer is {name}. "}
_DEFAULT = {
    "ru": "Причина: {reason}. {collected} Клиент сказал: {last_words}.",
    "en": "Reason: {reason}. {collected} The customer said: {last_words}.",
}
_COLLECTED = {"ru": "Данные разговора: ", "en": "From the call: "}


def default_summary(named: bool) -> dict[str, str]:
    """The summary said when the script has none: the customer's name (when the call knows a `name`), the
    reason, the collected slots and the caller's last words."""
    return {lang: _OPENING[lang] + (_NAMED[lang] if named else "") + text for lang, text in _DEFAULT.items()}


def summary_text(
    script: Script,
    lang: str,
    *,
    reason: str,
    queue: str,
    values: dict[str, Any],
    collected: dict[str, Any],
    last_words: str,
) -> str:
    """The summary in words for the TTS. `values` are the call's (redacted) slots and variables, `collected` the
    slots to list by name."""
    types = script.slot_types()
    default = default_summary(bool(values.get("name")))
    template = (script.handoff_summary or default).get(lang) or default["en"]
    listed = [
        f"{slot_label(script, name, lang)} — {{{name}}}"
        for name, value in collected.items()
        if value not in (None, "")
    ]
    heading = _COLLECTED.get(lang, _COLLECTED["en"])
    collected_text = (
        render(heading + ", ".join(listed) + ".", collected, types, lang, script.currency) if listed else ""
    )
    extra = {
        "reason": REASONS.get(reason, {}).get(lang, reason),
        "collected": collected_text,
        "last_words": last_words or ("ничего" if lang == "ru" else "nothing"),
        "queue": queue,
    }
    said = render(template, {**values, **extra}, {**types, **SUMMARY_VALUES}, lang, script.currency)
    return " ".join(said.split())  # an empty {collected} leaves no double space
