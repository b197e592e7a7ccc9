"""Checks a script author gets from `voicebot dialogs check`: what YAML and types alone cannot catch."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator

from bot.dialog.loader import ScriptError, Source, YamlPath
from bot.dialog.model import (
    CONDITION,
    PLACEHOLDER,
    SLOT_REFERENCE,
    SUMMARY_NAMES,
    SUMMARY_VALUES,
    Action,
    ActionType,
    Script,
    Step,
    ValueType,
)
from voice.spoken.grammar import CASE_CHOICES, parse_case
from voice.spoken.values import CURRENCIES

_BRACES = re.compile(r"\{[^{}]*\}")
_BEFORE_V = re.compile(r"(?<![а-яё])во?\s+$", re.IGNORECASE)
DATED = (ValueType.DATE, ValueType.DATETIME)


def check_script(script: Script, source: Source, known_intents: set[str]) -> list[ScriptError]:
    """Every problem in a validated script: dangling or unreachable steps, unknown intents and variables,
    missing language variants, steps with no way on."""
    errors: list[ScriptError] = []
    names = set(script.steps)
    slots = script.slot_types()

    def err(path: YamlPath, message: str) -> None:
        errors.append(source.error(path, message))

    def check_target(path: YamlPath, target: str | None) -> None:
        if target is not None and target not in names:
            err(path, f"unknown step '{target}' (steps: {', '.join(sorted(names))})")

    def check_actions(path: YamlPath, actions: list[Action]) -> None:
        for i, action in enumerate(actions):
            for key, name in action.data.items():
                if name not in slots:
                    err((*path, i), f"data '{key}' refers to undefined slot or variable '{name}'")
            if action.type is ActionType.SCHEDULE_CALLBACK and action.value not in slots:
                err((*path, i), f"schedule_callback needs a slot holding the time, not '{action.value}'")
            if action.type is ActionType.TRANSFER and not (action.value or script.operator_queue):
                err((*path, i), "transfer needs a queue here or an operator_queue for the script")

    check_target(("start",), script.start)
    if script.currency.upper() not in CURRENCIES:
        err(("currency",), f"unknown currency '{script.currency}': expected one of {', '.join(CURRENCIES)}")
    for path, text in _texts(script):
        missing = [lang for lang in script.languages if lang not in text]
        if missing:
            err(path, f"missing language variant: {', '.join(missing)}")
        for lang, value in text.items():
            for problem in placeholder_problems(value, slots, lang):
                err(path, f"{problem} in the {lang} text")
    for intent, handler in script.handlers.items():
        path = ("handlers", intent)
        if intent not in known_intents:
            err(path, f"unknown intent '{intent}' for a handler")
        check_target((*path, "goto"), handler.goto)
        check_actions((*path, "do"), handler.do)
    for kind in ("no_match", "silence"):
        check_target(("defaults", kind, "goto"), getattr(script.defaults, kind).goto)
    if script.lead:
        for i, slot in enumerate(script.lead.requires):
            if slot not in slots:
                err(("lead", "requires", i), f"lead requires undefined slot '{slot}'")
        for key, name in script.lead.data.items():
            if name not in slots:
                err(("lead", "data", key), f"lead data '{key}' refers to undefined slot or variable '{name}'")
        condition = CONDITION.match(script.lead.condition or "")
        if condition and condition.group(1) not in slots:
            err(("lead", "if"), f"lead condition uses undefined slot or variable '{condition.group(1)}'")
    if script.handoff_summary:
        summary_names = {**slots, **SUMMARY_VALUES}
        for lang, value in script.handoff_summary.items():
            for problem in placeholder_problems(value, summary_names, lang):
                err(
                    ("handoff_summary", lang),
                    f"{problem} in the hand-off summary (also known: {SUMMARY_NAMES})",
                )
        missing = [lang for lang in script.languages if lang not in script.handoff_summary]
        if missing:
            err(("handoff_summary",), f"missing language variant: {', '.join(missing)}")
    for i, entry in enumerate(script.faq):
        check_target(("faq", i, "goto"), entry.goto)
    for name, slot in _half_sensitive(script):
        err(("steps", name, "capture"), f"slot '{slot}' is sensitive at another step: mark it here too")
    for name, step in script.steps.items():
        errors.extend(_check_step(script, name, step, source, known_intents, check_target, check_actions))
    for name in sorted(names - reachable_steps(script)):
        if source.locate(("steps", name))[0] == source.file:
            err(("steps", name), f"step '{name}' is unreachable from '{script.start}'")
    return errors


def _check_step(
    script: Script,
    name: str,
    step: Step,
    source: Source,
    known_intents: set[str],
    check_target,
    check_actions,
) -> list[ScriptError]:
    errors: list[ScriptError] = []
    path: YamlPath = ("steps", name)
    slots = script.slot_types()

    def err(where: YamlPath, message: str) -> None:
        errors.append(source.error((*path, *where), message))

    check_target((*path, "goto"), step.goto)
    check_actions((*path, "do"), step.do)
    for kind in ("no_match", "silence"):
        retry = getattr(step, kind)
        if retry:
            check_target((*path, kind, "goto"), retry.goto)
    for i, answer in enumerate(step.answers):
        for intent in answer.intent:
            if intent not in known_intents:
                err(("answers", i, "intent"), f"unknown intent '{intent}' (not trained in training_data/)")
        for lang in script.languages:
            if answer.examples and not answer.examples.get(lang):
                err(("answers", i, "examples"), f"missing language variant: {lang} examples")
        check_target((*path, "answers", i, "goto"), answer.goto)
        check_actions((*path, "answers", i, "do"), answer.do)
        if not answer.goto and not any(a.type in (ActionType.HANGUP, ActionType.TRANSFER) for a in answer.do):
            err(("answers", i), "an answer needs 'goto' (or a hangup/transfer action)")
    for i, branch in enumerate(step.branch):
        check_target((*path, "branch", i, "goto"), branch.goto)
        if branch.condition:
            slot, _, right = CONDITION.match(branch.condition).groups()
            if slot not in slots:
                err(("branch", i), f"condition uses undefined slot or variable '{slot}'")
            reference = SLOT_REFERENCE.match(right)
            if reference and reference.group(1) not in slots:
                err(("branch", i), f"condition compares with undefined slot or variable '{right}'")
    whole = step.capture.whole if step.capture else None
    if whole is not None and slots.get(whole) not in (ValueType.MONEY, ValueType.NUMBER):
        err(("capture", "whole"), f"whole needs a money or number variable or slot, not '{whole}'")
    if step.capture and step.capture.options:
        for i, option in enumerate(step.capture.options):
            if option not in slots:
                err(("capture", "options", i), f"option '{option}' is not a variable or slot of the script")
            elif slots[option] is not step.capture.type:
                err(
                    ("capture", "options", i),
                    f"option '{option}' is a {slots[option]}, the capture expects {step.capture.type} values",
                )
    if step.branch and step.branch[-1].condition is not None:
        err(("branch",), "the last branch needs no 'if': it is where the call goes when no condition holds")
    if step.capture and step.capture.type is ValueType.PHONE:
        err(("capture", "type"), "phone is a type for variables (a number the robot says), not for captures")
    if step.capture and not (step.goto or step.branch):
        err(("capture",), "after a capture the step needs 'goto' or 'branch'")
    if not step.waits and not (step.goto or step.branch or step.ends_call):
        err((), "the step has no way on: add answers, capture, goto, branch, or a hangup/transfer action")
    for lang in script.languages:
        if step.hints and lang not in step.hints:
            err(("hints",), f"missing language variant: {lang} hints")
    return errors


def _half_sensitive(script: Script) -> Iterator[tuple[str, str]]:
    """Steps capturing a slot without `sensitive: true` that another step captures with it."""
    captures = [(name, step.capture) for name, step in script.steps.items() if step.capture]
    sensitive = {capture.slot for _, capture in captures if capture.sensitive}
    for name, capture in captures:
        if capture.slot in sensitive and not capture.sensitive:
            yield name, capture.slot


def _texts(script: Script) -> Iterator[tuple[YamlPath, dict[str, str]]]:
    yield ("title",), script.title
    yield ("identity",), script.identity
    if script.lead:
        yield ("lead", "say"), script.lead.say
    if script.voicemail:
        yield ("voicemail",), script.voicemail
    for kind in ("no_match", "silence"):
        if say := getattr(script.defaults, kind).say:
            yield ("defaults", kind, "say"), say
    for intent, handler in script.handlers.items():
        if handler.say:
            yield ("handlers", intent, "say"), handler.say
        if handler.confirm:
            yield ("handlers", intent, "confirm"), handler.confirm
    for i, entry in enumerate(script.faq):
        yield ("faq", i, "answer"), entry.answer
        yield ("faq", i, "examples"), {lang: " ".join(x) for lang, x in entry.examples.items()}
    for name, step in script.steps.items():
        base = ("steps", name)
        for key in ("say", "reprompt"):
            if text := getattr(step, key):
                yield (*base, key), text
        if step.capture and step.capture.invalid:
            yield (*base, "capture", "invalid"), step.capture.invalid
        if step.capture and step.capture.label:
            yield (*base, "capture", "label"), step.capture.label
        for kind in ("no_match", "silence"):
            retry = getattr(step, kind)
            if retry and retry.say:
                yield (*base, kind, "say"), retry.say
        for i, answer in enumerate(step.answers):
            if answer.say:
                yield (*base, "answers", i, "say"), answer.say
            if answer.confirm:
                yield (*base, "answers", i, "confirm"), answer.confirm


def queue_errors(script: Script, source: Source, queues: Collection[str]) -> list[ScriptError]:
    """Every agent queue the script names (transfers, `operator_queue`, `lead`) must be in `handoff.queues`."""
    configured = ", ".join(sorted(queues)) or "none"
    errors = []

    def check(path: YamlPath, queue: str | None, what: str) -> None:
        if queue and queue not in queues:
            message = f"{what} '{queue}' is not configured in handoff.queues (configured: {configured})"
            errors.append(source.error(path, message))

    check(("operator_queue",), script.operator_queue, "operator_queue")
    if script.lead:
        check(("lead", "queue"), script.lead.queue, "lead queue")
    for path, actions in _action_lists(script):
        for i, action in enumerate(actions):
            if action.type is ActionType.TRANSFER and action.value:
                check((*path, i), action.value, "transfer queue")
    return errors


def _action_lists(script: Script) -> Iterator[tuple[YamlPath, list[Action]]]:
    for intent, handler in script.handlers.items():
        yield ("handlers", intent, "do"), handler.do
    for name, step in script.steps.items():
        yield ("steps", name, "do"), step.do
        for i, answer in enumerate(step.answers):
            yield ("steps", name, "answers", i, "do"), answer.do


def reachable_steps(script: Script) -> set[str]:
    """Steps the call can reach from `start`, through answers, branches, retries and global handlers."""
    global_targets = [h.goto for h in script.handlers.values()] + [f.goto for f in script.faq]
    global_targets += [script.defaults.no_match.goto, script.defaults.silence.goto]
    seen: set[str] = set()
    todo = [script.start]
    while todo:
        name = todo.pop()
        if name in seen or name not in script.steps:
            continue
        seen.add(name)
        step = script.steps[name]
        todo += [step.goto, *(a.goto for a in step.answers), *(b.goto for b in step.branch)]
        todo += [r.goto for r in (step.no_match, step.silence) if r]
        if step.waits:
            todo += global_targets
    return seen - {None}


def placeholder_problems(text: str, slots: dict[str, ValueType], lang: str) -> Iterator[str]:
    """What is wrong with the `{…}` placeholders of one prompt: malformed ones, undefined names, unknown cases,
    a Russian date after "в" (no case makes "в пятнадцатое декабря" Russian)."""
    for braces in _BRACES.finditer(text):
        placeholder = PLACEHOLDER.fullmatch(braces.group())
        if placeholder is None:
            yield f"malformed placeholder '{braces.group()}': expected {{name}} or {{name:case}}"
            continue
        name, marker = placeholder.groups()
        if name not in slots:
            yield f"undefined variable '{{{name}}}'"
        elif lang == "ru" and slots[name] in DATED and _BEFORE_V.search(text[: braces.start()]):
            yield f"'в {braces.group()}' is no Russian for a date: write 'на {braces.group()}' or '{braces.group()}' alone"
        if marker is not None:
            try:
                parse_case(marker)
            except ValueError:
                yield f"unknown case '{marker}' in '{braces.group()}': expected one of {CASE_CHOICES}"
