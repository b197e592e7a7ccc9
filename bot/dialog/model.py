"""The dialog script format (`dialogs/*.yml`) as typed, frozen models.

A script is a set of named steps. A step says something, then waits for an answer (intents, step-local
example phrases, DTMF keys), captures a typed slot, branches on slot values or goes straight on. Actions
(`do:`) record outcomes, transfer, hang up, send CRM events and schedule callbacks. `dialogs/_common.yml`
holds the handlers and steps every script inherits ("operator", "do not call me", "who is calling", ...).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from bot.outcomes import Outcome, script_event_problem

Lang = Literal["ru", "en"]
LANGS: tuple[Lang, ...] = ("ru", "en")
LocalText = dict[Lang, str]
"""Text in each of the script's languages: `{ru: "...", en: "..."}`."""

PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)(?::([^{}]*))?\}")
"""`{name}` or `{name:case}` in a prompt (the case marker is checked by `render.case_marker`)."""
CONDITION = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*(==|!=|<=|>=|<|>)\s*(.+?)\s*$")
SLOT_REFERENCE = re.compile(r"^\{([a-z_][a-z0-9_]*)\}$")
"""The right side of a condition naming another slot or variable: `promise_date <= {due_date}`."""
SLOT_NAME = r"^[a-z_][a-z0-9_]*$"
CONFIRM_BELOW = 0.85
"""Default NLU confidence under which an answer that has a `confirm:` question is confirmed first."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ValueType(StrEnum):
    """Types of variables and captured slots; each renders and parses per language."""

    TEXT = "text"
    YES_NO = "yes_no"
    DATE = "date"
    TIME = "time"
    DATETIME = "datetime"
    NUMBER = "number"
    MONEY = "money"
    RATING = "rating"
    DIGITS = "digits"
    # a variable only: said grouped as people say a number ("плюс семь, девятьсот двенадцать, …")
    PHONE = "phone"


# the placeholders a script's `handoff_summary:` may use besides its variables and slots (bot/handoff/summary.py)
SUMMARY_VALUES: dict[str, ValueType] = {
    "reason": ValueType.TEXT,
    "collected": ValueType.TEXT,
    "last_words": ValueType.TEXT,
    "queue": ValueType.TEXT,
}
SUMMARY_NAMES = ", ".join(f"{{{name}}}" for name in SUMMARY_VALUES)


class ActionType(StrEnum):
    HANGUP = "hangup"
    SET_OUTCOME = "set_outcome"
    TRANSFER = "transfer"
    CRM_EVENT = "crm_event"
    SCHEDULE_CALLBACK = "schedule_callback"
    SET = "set"


def _action_shorthand(value: Any) -> Any:
    """`hangup` / `{transfer: sales}` / `{set_outcome: x, data: {...}}` → `{type, value, data}`."""
    if isinstance(value, str):
        return {"type": value}
    if isinstance(value, dict):
        kinds = [k for k in value if k in ActionType.__members__.values()]
        if len(kinds) == 1:
            rest = {k: v for k, v in value.items() if k != kinds[0]}
            return {"type": kinds[0], "value": value[kinds[0]], **rest}
    return value


class Action(_Model):
    """One thing to do on entering a step. `data` maps payload keys to slot or variable names.

    `{set: slot, to: constant}` sets a slot to a constant (text, number or yes/no)."""

    type: ActionType
    value: str | None = None
    data: dict[str, str] = {}
    to: str | int | float | bool | None = None

    @model_validator(mode="after")
    def _check_value(self) -> Action:
        if self.type is ActionType.SET_OUTCOME:
            Outcome(self.value)  # raises ValueError naming the bad outcome
        if self.type is ActionType.SET:
            if not self.value or not re.match(SLOT_NAME, self.value) or self.to is None:
                raise ValueError("set needs a slot name and a constant: {set: slot, to: value}")
        elif self.to is not None:
            raise ValueError(f"'to' belongs to a set action, not to {self.type}")
        if self.type in (ActionType.CRM_EVENT, ActionType.SCHEDULE_CALLBACK) and not self.value:
            raise ValueError(f"{self.type} needs a value")
        if self.type is ActionType.CRM_EVENT and (problem := script_event_problem(self.value)):
            raise ValueError(problem)
        if self.type is ActionType.HANGUP and self.value:
            raise ValueError("hangup takes no value")
        return self


ActionList = list[Annotated[Action, BeforeValidator(_action_shorthand)]]


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class Answer(_Model):
    """An expected answer: any of the intents, step-local example phrases, or DTMF keys."""

    intent: Annotated[list[str], BeforeValidator(_as_list)] = []
    examples: dict[Lang, list[str]] = {}
    dtmf: str | None = Field(None, pattern=r"^[0-9*#]+$")
    say: LocalText | None = None
    do: ActionList = []
    goto: str | None = None
    confirm: LocalText | None = Field(
        None, description="asked back first when the answer was heard with low confidence (a costly decision)"
    )

    @model_validator(mode="after")
    def _needs_a_trigger(self) -> Answer:
        if not (self.intent or self.examples or self.dtmf):
            raise ValueError("an answer needs at least one of: intent, examples, dtmf")
        return self


class Capture(_Model):
    """Fill a slot from the caller's answer; `min`/`max` bound numbers, money, ratings and dates (days ahead).

    With `options` (names of variables or slots of the capture's type) the caller chooses one of the offered
    values: by its number ("второе", key 2), by what it is ("в четверг", "в три часа", "после обеда"), or by
    order ("который пораньше", "the later one"); the slot gets the chosen value. With `whole` (the variable
    holding the full amount) "всю сумму" / "in full" and "половину" / "half" are amounts too. A `sensitive`
    slot (a codeword, a document number) is masked in everything stored or sent (`bot.privacy`).
    """

    slot: str = Field(pattern=SLOT_NAME)
    type: ValueType
    min: float | None = None
    max: float | None = None
    invalid: LocalText | None = None
    prefill: bool = Field(False, description="also try the answer that led to this step (a date said early)")
    options: list[str] = []
    whole: str | None = Field(
        None, description="money/number: the variable holding the full amount, for 'всю сумму' and 'половину'"
    )
    sensitive: bool = Field(
        False, description="masked whole in everything stored or sent: transcripts, slots, logs, webhooks"
    )
    label: LocalText | None = Field(
        None,
        description="how the agent's hand-off summary names the slot (default: bot/handoff/slot_labels.py)",
    )

    @model_validator(mode="after")
    def _prefill_needs_parsing(self) -> Capture:
        if self.prefill and self.type in (ValueType.TEXT, ValueType.YES_NO) and not self.options:
            raise ValueError(f"prefill works for parsed values, not for {self.type}")
        if len(self.options) == 1:
            raise ValueError("options offer a choice: name at least two")
        if self.whole and self.type not in (ValueType.MONEY, ValueType.NUMBER):
            raise ValueError(f"whole works for money and number captures, not for {self.type}")
        return self


class Branch(_Model):
    """`if: "nps >= 9"` then go to a step; a branch without `if` is the default."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    condition: str | None = Field(None, alias="if")
    goto: str

    @model_validator(mode="after")
    def _parse_condition(self) -> Branch:
        if self.condition is not None and not CONDITION.match(self.condition):
            raise ValueError(f"condition {self.condition!r} is not 'slot OP value' (OP: == != < <= > >=)")
        return self


class Retry(_Model):
    """What to do when the caller says nothing usable: re-ask `retries` times, then go to `goto`."""

    retries: int = Field(2, ge=0, le=5)
    say: LocalText | None = None
    goto: str | None = None


class Handler(_Model):
    """A global answer (e.g. "who is calling?"): say something, then resume the current step or go on."""

    say: LocalText | None = None
    do: ActionList = []
    goto: str | None = None
    resume: bool = False
    counts_as_no_match: bool = False
    confirm: LocalText | None = Field(None, description="asked back first when heard with low confidence")

    @model_validator(mode="after")
    def _one_way_on(self) -> Handler:
        if bool(self.goto) == self.resume:
            raise ValueError("a handler needs exactly one of: goto, resume: true")
        return self


class Step(_Model):
    say: LocalText | None = None
    reprompt: LocalText | None = None
    answers: list[Answer] = []
    capture: Capture | None = None
    branch: list[Branch] = []
    goto: str | None = None
    do: ActionList = []
    no_match: Retry | None = None
    silence: Retry | None = None
    barge_in: bool | None = None
    silence_timeout: float | None = Field(None, gt=0, le=60)
    end_of_turn: float | None = Field(
        None, ge=0.2, le=3
    )  # seconds of silence that end an answer (voice default)
    early_end_of_turn: float | None = Field(
        None, ge=0, le=1, description="seconds of pause that end a complete expected answer (0: never early)"
    )
    hints: dict[Lang, list[str]] = {}
    confirm_below: float | None = Field(
        None, ge=0, le=1, description="confidence under which answers with `confirm:` are asked back"
    )

    @property
    def waits(self) -> bool:
        """Whether the step waits for the caller (otherwise it goes on, or ends the call)."""
        return bool(self.answers or self.capture)

    def phrases(self, lang: Lang) -> list[str]:
        """What the caller is expected to say here: the step's hints and its answers' example phrases."""
        return [*self.hints.get(lang, []), *(p for a in self.answers for p in a.examples.get(lang, []))]

    @property
    def ends_call(self) -> bool:
        return any(a.type in (ActionType.HANGUP, ActionType.TRANSFER) for a in self.do)


class Defaults(_Model):
    barge_in: bool = True
    silence_timeout: float = Field(5.0, gt=0, le=60)
    no_match: Retry = Retry()
    silence: Retry = Retry()
    confirm_below: float = Field(CONFIRM_BELOW, ge=0, le=1)
    early_end_of_turn: float = Field(0.25, ge=0, le=1)


class FaqEntry(_Model):
    """A simple question the script answers by itself (inbound first line), then resumes."""

    id: str = Field(pattern=r"^[a-z_][a-z0-9_]*$")
    examples: dict[Lang, list[str]]
    answer: LocalText
    goto: str | None = None


class Lead(_Model):
    """When a call has produced a qualified lead: the condition holds and every required slot is filled.

    Checked each time a slot is captured; when it first holds, the robot says `say` and transfers the call to
    `queue` (the hand-off's reason is `qualified`, and a `lead.qualified` event goes to the CRM).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    condition: str | None = Field(None, alias="if")
    requires: list[str] = []
    queue: str
    say: LocalText
    data: dict[str, str] = Field(
        {}, description="payload key → slot for the agent; default: the required slots"
    )

    @model_validator(mode="after")
    def _parse(self) -> Lead:
        if self.condition is not None and not CONDITION.match(self.condition):
            raise ValueError(f"condition {self.condition!r} is not 'slot OP value' (OP: == != < <= > >=)")
        if self.condition is None and not self.requires:
            raise ValueError("a lead needs 'if' or 'requires' (or both)")
        return self

    def payload(self) -> dict[str, str]:
        """Payload key → slot name of what goes with the lead."""
        return self.data or {name: name for name in self.requires}


class Common(_Model):
    """`dialogs/_common.yml`: handlers, steps and retry defaults every script inherits."""

    defaults: Defaults = Defaults()
    handlers: dict[str, Handler] = {}
    steps: dict[str, Step] = {}


def _variable_shorthand(value: Any) -> Any:
    """`name: text` is `name: {type: text}`."""
    return {"type": value} if isinstance(value, str) else value


class Variable(_Model):
    """A value the call starts with (contact data, CRM lookup); an optional one may be missing, and then renders
    as nothing and makes every condition on it false."""

    type: ValueType
    optional: bool = False


class Script(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: LocalText
    languages: list[Lang] = Field(min_length=1)
    goal: Outcome | None = None
    currency: str = "RUB"
    operator_queue: str | None = None
    lead: Lead | None = None
    identity: LocalText
    voicemail: LocalText | None = None  # left on an answering machine after its beep (outbound calls)
    handoff_summary: LocalText | None = None  # said to the agent of a warm transfer (bot/handoff/summary.py)
    variables: dict[str, Annotated[Variable, BeforeValidator(_variable_shorthand)]] = {}
    defaults: Defaults = Defaults()
    handlers: dict[str, Handler] = {}
    faq: list[FaqEntry] = []
    start: str
    steps: dict[str, Step] = Field(min_length=1)

    def slot_types(self) -> dict[str, ValueType]:
        """Every named value a text may use: variables, captured slots and `identity`."""
        types = {"identity": ValueType.TEXT, **{name: v.type for name, v in self.variables.items()}}
        actions = [a for h in self.handlers.values() for a in h.do]
        for step in self.steps.values():
            if step.capture:
                types[step.capture.slot] = step.capture.type
            actions += [*step.do, *(a for answer in step.answers for a in answer.do)]
        for action in actions:
            if action.type is ActionType.SET:
                types.setdefault(action.value, _constant_type(action.to))
        return types

    def step_intent(self, step: str, index: int) -> str:
        """The Rasa intent name compiled from a step answer's example phrases."""
        return f"{self.id}__{step}__{index}"

    def early_end_of_turn(self, step: Step) -> float:
        """The pause that ends a complete expected answer at `step` (its own setting, else the defaults'); 0: off."""
        return self.defaults.early_end_of_turn if step.early_end_of_turn is None else step.early_end_of_turn

    def faq_intent(self, entry: FaqEntry) -> str:
        return f"{self.id}__faq__{entry.id}"


def _constant_type(value: str | int | float | bool) -> ValueType:
    if isinstance(value, bool):
        return ValueType.YES_NO
    return ValueType.NUMBER if isinstance(value, int | float) else ValueType.TEXT
