"""The turn engine: given a script, the call's state and what the caller did, decide what the robot does.

Pure and deterministic (the clock is a parameter), so every rule is unit-testable; in production it runs
inside the platform's Rasa action server, with the state kept in Rasa's tracker.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from bot.dialog import action_log as done
from bot.dialog.answer_matching import (
    NEGATIVE_INTENTS,
    Heard,
    answer_carrying_value,
    matching_answer,
    own_value_decides,
    value_decides,
    yes_answers_next_question,
    yes_carries_value,
)
from bot.dialog.intents import asks_yes_or_no, heard_in_words, yes_leading_to, yes_no_override
from bot.dialog.model import (
    Action,
    ActionType,
    Answer,
    Handler,
    Lang,
    Retry,
    Script,
    Step,
    ValueType,
)
from bot.dialog.render import RenderError, coerce, render, to_number
from bot.dialog.slots import holds, read_capture, valid
from bot.dialog.understanding import asks_for_someone, negates_a_word
from bot.outcomes import Intent, Outcome

MAX_STEPS_PER_TURN = 25
PREEMPTS_FREE_TEXT = {Intent.DONT_CALL, Intent.ASK_HUMAN}
DTMF_YES_NO = {"1": True, "2": False}
DTMF_NUMBERS = {ValueType.NUMBER, ValueType.MONEY, ValueType.RATING, ValueType.DIGITS}


class InputKind(StrEnum):
    START = "start"
    TEXT = "text"
    SILENCE = "silence"
    DTMF = "dtmf"
    HANGUP = "hangup"


class TurnEvent(StrEnum):
    """What the engine made of a turn — stored per turn, the base of per-step script quality metrics."""

    STARTED = "started"
    ANSWERED = "answered"
    CONFIRMING = "confirming"
    CAPTURED = "captured"
    INVALID = "invalid"
    HANDLED = "handled"
    FAQ = "faq"
    NO_MATCH = "no_match"
    SILENCE = "silence"
    HANGUP = "hangup"
    IGNORED = "ignored"


class DialogError(Exception):
    """The script cannot go on (bad variables, a loop); the message is for the script author."""


class TurnInput(BaseModel):
    kind: InputKind
    text: str = ""
    intent: str | None = None
    confidence: float = 0.0
    digits: str = ""


class Pending(BaseModel):
    """An answer heard with low confidence, waiting for the caller's yes to its `confirm:` question."""

    answer: int | None = None  # index in the step's answers
    handler: str | None = None  # or the global handler's intent
    text: str = ""  # what the caller said (values in it still fill prefilled captures)


class DialogState(BaseModel):
    """Everything the engine needs between turns; JSON-serialisable (it lives in a Rasa slot)."""

    script: str
    version: str = ""  # sha256 of the script text this call runs ("": the live one; a campaign pins its own)
    lang: Lang
    timezone: str = "Europe/Moscow"
    step: str | None = None
    values: dict[str, Any] = {}
    no_match: int = 0
    silence: int = 0
    outcome: Outcome | None = None
    outcome_data: dict[str, Any] = {}
    ended: bool = False
    pending: Pending | None = None


class Listening(BaseModel):
    """How the voice layer should listen for the next answer (from the waiting step's settings)."""

    step: str
    barge_in: bool
    silence_timeout: float
    end_of_turn: float | None = None  # the step's end-of-turn silence; None: the call's default
    early_end_of_turn: float = 0.0  # pause that ends a complete expected answer (complete_answer.py); 0: off
    hints: list[str]


class TurnResult(BaseModel):
    say: list[str] = []
    actions: list[done.EngineAction] = []
    event: TurnEvent
    state: DialogState
    listening: Listening | None = None


def new_state(
    script: Script, lang: str, variables: dict[str, Any], timezone: str = "Europe/Moscow"
) -> DialogState:
    """The state of a call before its first turn; variables are checked against the script's declarations."""
    if lang not in script.languages:
        raise DialogError(
            f"script '{script.id}' has no '{lang}' variant (it has: {', '.join(script.languages)})"
        )
    missing = sorted(name for name, v in script.variables.items() if not v.optional and name not in variables)
    if missing:
        raise DialogError(f"script '{script.id}' needs variable(s): {', '.join(missing)}")
    values = {}
    for name, variable in script.variables.items():
        if variable.optional and variables.get(name) in (None, ""):
            continue  # an optional value not given (or an empty CSV cell) stays unknown
        try:
            values[name] = coerce(variables[name], variable.type)
        except ValueError as exc:
            raise DialogError(f"variable '{name}' must be a {variable.type}: {exc}") from exc
    return DialogState(script=script.id, lang=lang, timezone=timezone, values=values)


class DialogEngine:
    """Runs one script; stateless itself, so one engine serves every call of that script."""

    def __init__(self, script: Script):
        self.script = script
        self.types = script.slot_types()

    def handle(self, state: DialogState, turn: TurnInput, now: datetime) -> TurnResult:
        """Apply one caller turn (or the start of the call) and return what the robot says and does."""
        return _Turn(self, state.model_copy(deep=True), turn, now).run()

    def render(self, state: DialogState, text: dict[str, str]) -> str:
        """A prompt as the robot says it: values and digits as words (`bot.dialog.render`)."""
        values = dict(state.values)
        lang, currency = state.lang, self.script.currency
        try:
            values["identity"] = render(self.script.identity[lang], values, self.types, lang, currency)
            return render(text[lang], values, self.types, lang, currency).strip()
        except RenderError as exc:
            raise DialogError(f"script '{self.script.id}': {exc}") from None


class _Turn:
    """One turn being decided: collects what to say and do, and moves the state."""

    def __init__(self, engine: DialogEngine, state: DialogState, turn: TurnInput, now: datetime):
        self.engine, self.script, self.state, self.turn, self.now = engine, engine.script, state, turn, now
        self.say: list[str] = []
        self.actions: list[done.EngineAction] = []
        self.entered = 0
        self.prefill = True  # whether values in this turn's words may answer the steps it leads to

    def run(self) -> TurnResult:
        event = self._decide()
        listening = None
        if not self.state.ended and self.state.step:
            listening = self._listening(self.script.steps[self.state.step])
        return TurnResult(
            say=self.say, actions=self.actions, event=event, state=self.state, listening=listening
        )

    # -- deciding -------------------------------------------------------------------------------------------

    def _decide(self) -> TurnEvent:
        kind = self.turn.kind
        if self.state.ended:
            return TurnEvent.IGNORED
        if kind is InputKind.START:
            self._enter(self.script.start)
            return TurnEvent.STARTED
        if kind is InputKind.HANGUP:
            self._finish(Outcome.ABANDONED)
            return TurnEvent.HANGUP
        step = self.script.steps[self.state.step]
        if kind is InputKind.SILENCE:
            self.state.silence += 1
            self._retry(step, self._merged_retry(step, "silence"), self.state.silence)
            return TurnEvent.SILENCE
        if kind is InputKind.DTMF:
            return self._dtmf(step)
        return self._text(step)

    def _dtmf(self, step: Step) -> TurnEvent:
        digits = self.turn.digits
        if self.state.pending is not None:
            if digits in DTMF_YES_NO:
                return self._settle(step, DTMF_YES_NO[digits])
            self.state.pending = None
        for answer in step.answers:
            if answer.dtmf == digits:
                self._take(answer)
                return TurnEvent.ANSWERED
        capture = step.capture
        if capture and capture.options and digits.isdigit() and 1 <= int(digits) <= len(capture.options):
            return self._capture(step, self.state.values.get(capture.options[int(digits) - 1]))
        if capture and capture.type is ValueType.YES_NO and digits in DTMF_YES_NO:
            return self._capture(step, DTMF_YES_NO[digits])
        keys = digits.rstrip("#")
        if capture and capture.type in DTMF_NUMBERS and keys.isdigit():
            return self._capture(step, keys if capture.type is ValueType.DIGITS else to_number(keys))
        return self._no_match(step)

    def _text(self, step: Step) -> TurnEvent:
        self._read_words(step)
        self._read_yes_or_no(step)
        intent = self.turn.intent
        if self.state.pending is not None:
            if intent in (Intent.AFFIRM, Intent.DENY):
                return self._settle(step, intent == Intent.AFFIRM)
            self.state.pending = None  # something else said: heard afresh
        matched = matching_answer(self.script, self.state.step, step, intent)
        heard = Heard(self.turn.text, intent, self.state.lang, self.state.values, self.now)
        capture = step.capture
        parsed = None
        if capture and capture.type not in (ValueType.TEXT, ValueType.YES_NO) and self.turn.text.strip():
            parsed = read_capture(capture, self.turn.text, self.state.values, self.state.lang, self.now)
        if parsed is not None and matched is not None and own_value_decides(step, matched, heard):
            return self._capture(step, parsed)
        carried = answer_carrying_value(self.script, step, heard)
        if carried is not None and carried != matched and value_decides(self.script, step, matched, heard):
            return self._answer(step, carried, sure=False)
        if matched is not None:
            # "да, заплачу в четверг" at "это Иван?"
            if yes_answers_next_question(self.script, step, matched, heard):
                self._take(step.answers[matched])
                if self.state.step != step.answers[matched].goto or self.state.ended:
                    return TurnEvent.ANSWERED
                return self._text(self.script.steps[self.state.step])
            return self._answer(step, matched, sure=True)
        if capture and capture.type is ValueType.YES_NO and intent in (Intent.AFFIRM, Intent.DENY):
            return self._capture(step, intent == Intent.AFFIRM)
        if capture and capture.type is ValueType.YES_NO and yes_carries_value(self.script, step, heard):
            return self._capture(step, True)  # "three people" at "interested?": yes, and how many
        if parsed is not None:
            return self._capture(step, parsed)
        free_text = capture is not None and capture.type is ValueType.TEXT
        for entry in [] if free_text else self.script.faq:
            if intent == self.script.faq_intent(entry):
                self.say.append(self.engine.render(self.state, entry.answer))
                if entry.goto:
                    self._enter(entry.goto)
                else:
                    self._reprompt(step)
                return TurnEvent.FAQ
        handler = self.script.handlers.get(intent or "")
        if handler and (not free_text or self._preempts_free_text(intent)):
            if handler.confirm and (self._unsure(step) or free_text):  # "вежливые операторы" is a comment
                return self._ask_back(handler.confirm, Pending(handler=intent, text=self.turn.text))
            self._handle(step, handler)
            return TurnEvent.HANDLED
        if free_text and self.turn.text.strip():
            return self._capture(step, self.turn.text.strip())
        forwarded = yes_leading_to(self.script, step, intent)
        if forwarded is not None:  # the next question's answer: a yes to this one, then that answer
            self._take(step.answers[forwarded[0]])
            if self.state.step != forwarded[1] or self.state.ended:
                return TurnEvent.ANSWERED
            return self._text(self.script.steps[self.state.step])
        return self._no_match(step)

    # -- understanding the answer ---------------------------------------------------------------------------

    def _read_yes_or_no(self, step: Step) -> None:
        """A plain yes or no in the words at a yes/no question (`intents.yes_no_override`) is taken as heard
        unsure, so costly answers are asked back."""
        turn = self.turn
        if not asks_yes_or_no(step, self.state.pending is not None):
            return
        takes = matching_answer(self.script, self.state.step, step, turn.intent) is not None
        heard = yes_no_override(self.script, turn.intent, turn.text, self.state.lang, takes)
        if heard is not None:
            self.turn = turn.model_copy(update={"intent": heard.value, "confidence": 0.0})

    def _preempts_free_text(self, intent: str | None) -> bool:
        """Whether a handler cuts a free-text answer short: a do-not-call does, an "operator" only when the words
        ask for one ("вежливые операторы" at "что вам понравилось?" is the answer)."""
        if intent == Intent.ASK_HUMAN:
            return asks_for_someone(self.turn.text, self.state.lang)
        return intent in PREEMPTS_FREE_TEXT

    def _read_words(self, step: Step) -> None:
        """What the words say outright where the classifier missed it (`intents.heard_in_words`); a costly
        reading is taken as heard unsure, so it is asked back."""
        turn = self.turn
        heard = heard_in_words(self.script, step, turn.intent, turn.text, self.state.lang)
        if heard is not None:
            intent, sure = heard
            update = {"intent": intent} if sure else {"intent": intent, "confidence": 0.0}
            self.turn = turn.model_copy(update=update)

    def _answer(self, step: Step, index: int, sure: bool) -> TurnEvent:
        answer = step.answers[index]
        if answer.confirm and (not sure or self._unsure(step)):
            return self._ask_back(answer.confirm, Pending(answer=index, text=self.turn.text))
        self._take(answer)
        return TurnEvent.ANSWERED

    def _unsure(self, step: Step) -> bool:
        below = step.confirm_below if step.confirm_below is not None else self.script.defaults.confirm_below
        return self.turn.confidence < below

    def _ask_back(self, question: dict[str, str], pending: Pending) -> TurnEvent:
        self.state.pending = pending
        self.say.append(self.engine.render(self.state, question))
        return TurnEvent.CONFIRMING

    def _settle(self, step: Step, yes: bool) -> TurnEvent:
        """The caller answered a `confirm:` question: a yes takes the pending answer as first heard."""
        pending, self.state.pending = self.state.pending, None
        if not yes:
            return self._no_match(step)
        self.turn = self.turn.model_copy(update={"text": pending.text})
        if pending.handler is not None:
            self._handle(step, self.script.handlers[pending.handler])
            return TurnEvent.HANDLED
        self._take(step.answers[pending.answer])
        return TurnEvent.ANSWERED

    # -- moves ----------------------------------------------------------------------------------------------

    def _enter(self, name: str) -> None:
        """Go to a step: do its actions, say its prompt (unless the answer that led here already answered it),
        then wait, go on or end."""
        self.entered += 1
        if self.entered > MAX_STEPS_PER_TURN:
            raise DialogError(f"script '{self.script.id}' loops without waiting for the caller (at '{name}')")
        step = self.script.steps[name]
        self.state.step, self.state.no_match, self.state.silence = name, 0, 0
        prefilled = None
        if step.capture and step.capture.prefill and self.prefill and self.turn.text:
            # "call me tomorrow at 5" already answers "when?"
            parsed = read_capture(step.capture, self.turn.text, self.state.values, self.state.lang, self.now)
            if parsed is not None and valid(step.capture, parsed, self.now.date()):
                prefilled = parsed
        if step.say and prefilled is None:  # a question already answered is not asked
            self.say.append(self.engine.render(self.state, step.say))
        self._do(step.do)
        if self.state.ended:
            return
        if prefilled is not None:
            self._store(step, prefilled)
            return
        if not step.waits:
            self._go_on(step)

    def _go_on(self, step: Step) -> None:
        for branch in step.branch:
            if branch.condition is None or holds(self.state.values, branch.condition):
                self._enter(branch.goto)
                return
        if step.goto:
            self._enter(step.goto)

    def _take(self, answer: Answer) -> None:
        if self.turn.intent in NEGATIVE_INTENTS:
            # "нет, завтра не получится": a value said with a refusal is what the caller cannot do
            self.prefill = not negates_a_word(self.turn.text, self.state.lang)
        if answer.say:
            self.say.append(self.engine.render(self.state, answer.say))
        self._do(answer.do)
        if answer.goto and not self.state.ended:
            self._enter(answer.goto)

    def _capture(self, step: Step, value: Any) -> TurnEvent:
        if not valid(step.capture, value, self.now.date()):
            self.state.no_match += 1
            retry = self._merged_retry(step, "no_match")
            if self.state.no_match > retry.retries:
                self._enter(retry.goto)
            else:
                if step.capture.invalid:
                    self.say.append(self.engine.render(self.state, step.capture.invalid))
                self._reprompt(step)
            return TurnEvent.INVALID
        self._store(step, value)
        return TurnEvent.CAPTURED

    def _store(self, step: Step, value: Any) -> None:
        self.state.values[step.capture.slot] = value
        if self._lead_qualified():
            self._hand_over_lead()
            return
        self._go_on(step)

    def _lead_qualified(self) -> bool:
        lead = self.script.lead
        if lead is None or any(self.state.values.get(slot) is None for slot in lead.requires):
            return False
        return lead.condition is None or holds(self.state.values, lead.condition)

    def _hand_over_lead(self) -> None:
        """The script's lead rule holds: say so and transfer to the lead's queue (once: the dialog ends)."""
        lead = self.script.lead
        data = {key: self.state.values.get(name) for key, name in lead.payload().items()}
        self.say.append(self.engine.render(self.state, lead.say))
        self.actions.append(done.LeadQualified(queue=lead.queue, data=data))
        self.actions.append(done.TransferAsked(queue=lead.queue, data=data))
        self._finish(Outcome.TRANSFERRED)

    def _handle(self, step: Step, handler: Handler) -> None:
        if handler.say:
            self.say.append(self.engine.render(self.state, handler.say))
        self._do(handler.do)
        if self.state.ended:
            return
        if handler.goto:
            self._enter(handler.goto)
            return
        if handler.counts_as_no_match:
            self.state.no_match += 1
            retry = self._merged_retry(step, "no_match")
            if self.state.no_match > retry.retries:
                self._enter(retry.goto)
                return
        self._reprompt(step)

    def _no_match(self, step: Step) -> TurnEvent:
        self.state.no_match += 1
        self._retry(step, self._merged_retry(step, "no_match"), self.state.no_match)
        return TurnEvent.NO_MATCH

    def _retry(self, step: Step, retry: Retry, count: int) -> None:
        if count > retry.retries:
            self._enter(retry.goto)
            return
        if retry.say:
            self.say.append(self.engine.render(self.state, retry.say))
        self._reprompt(step)

    def _reprompt(self, step: Step) -> None:
        text = step.reprompt or step.say
        if text:
            self.say.append(self.engine.render(self.state, text))

    def _merged_retry(self, step: Step, kind: str) -> Retry:
        """The step's retry settings, completed by the script's defaults."""
        default: Retry = getattr(self.script.defaults, kind)
        own: Retry | None = getattr(step, kind)
        if own is None:
            return default
        return Retry(retries=own.retries, say=own.say or default.say, goto=own.goto or default.goto)

    # -- actions --------------------------------------------------------------------------------------------

    def _do(self, actions: list[Action]) -> None:
        for action in actions:
            data = {key: self.state.values.get(name) for key, name in action.data.items()}
            match action.type:
                case ActionType.SET_OUTCOME:
                    self.state.outcome, self.state.outcome_data = Outcome(action.value), data
                    self.actions.append(done.OutcomeSet(outcome=self.state.outcome, data=data))
                case ActionType.CRM_EVENT:
                    self.actions.append(done.CrmEventNamed(event=action.value, data=data))
                case ActionType.SCHEDULE_CALLBACK:
                    self.actions.append(done.CallbackScheduled(when=self.state.values.get(action.value)))
                case ActionType.TRANSFER:
                    queue = action.value or self.script.operator_queue or ""  # checks: one of them is set
                    self.actions.append(done.TransferAsked(queue=queue, data=data))
                    self._finish(Outcome.TRANSFERRED)
                case ActionType.HANGUP:
                    self.actions.append(done.HangupAsked())
                    self._finish(Outcome.COMPLETED)
                case ActionType.SET:
                    self.state.values[action.value] = action.to

    def _finish(self, default: Outcome) -> None:
        """End the dialog; a call always ends with an outcome."""
        self.state.ended = True
        if self.state.outcome is None:
            self.state.outcome = default
            self.actions.append(done.OutcomeSet(outcome=default))

    def _listening(self, step: Step) -> Listening:
        defaults = self.script.defaults
        return Listening(
            step=self.state.step,
            barge_in=defaults.barge_in if step.barge_in is None else step.barge_in,
            silence_timeout=step.silence_timeout or defaults.silence_timeout,
            end_of_turn=step.end_of_turn,
            early_end_of_turn=self.script.early_end_of_turn(step),
            hints=step.phrases(self.state.lang),
        )


__all__ = ["DialogEngine", "DialogError", "DialogState", "InputKind", "TurnEvent", "TurnInput", "TurnResult"]
