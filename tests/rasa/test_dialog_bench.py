"""The conversation benchmark's set and its checks (no Rasa): date expressions, file errors with file:line, the
committed set is valid, big enough and held out from everything the model trains on."""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from bot.config import ROOT, RasaSettings
from bot.devtools.bench_dialogs import ConversationResult, TurnTrace, report
from bot.devtools.bench_dialogs_set import (
    SET_DIR,
    BenchConversation,
    CallerTurn,
    TurnKind,
    known_intents,
    load_set,
)
from bot.dialog.catalogue import Catalogue, load_catalogue, trained_intents
from bot.dialog.loader import ScriptErrors
from bot.outcomes import Outcome
from bot.rasa.bench_dates import DateExpressionError, resolve
from bot.rasa.compiler import compile_project
from tests.conftest import VOICEBOT

TODAY = date(2026, 12, 5)  # a Saturday
UNSEEN_DIR = Path("bench") / "dialogs-unseen"


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    loaded = load_catalogue(ROOT / "dialogs", ROOT / "training_data")
    assert not loaded.errors
    return loaded


@pytest.fixture(scope="module")
def intents() -> set[str]:
    return known_intents(trained_intents(ROOT / "training_data"))


# -- date expressions ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("today", "2026-12-05"),
        ("today+3", "2026-12-08"),
        ("today - 4", "2026-12-01"),
        ("today+30", "2027-01-04"),
        ("next day 20", "2026-12-20"),
        ("next day 5", "2026-12-05"),  # on or after today
        ("next day 4", "2027-01-04"),
        ("next fri", "2026-12-11"),
        ("next sat", "2026-12-12"),  # never today
        ("next sun", "2026-12-06"),
        ("next week mon", "2026-12-07"),
        ("next week sat", "2026-12-12"),
        ("2026-12-20", "2026-12-20"),
        ("today+2 10:00", "2026-12-07T10:00"),
        ("next thu 17:30", "2026-12-10T17:30"),
        ("Next  FRI  9:05", "2026-12-11T09:05"),
    ],
)
def test_date_expressions(expression: str, expected: str):
    assert resolve(expression, TODAY).iso() == expected


def test_next_day_skips_months_without_that_day():
    assert resolve("next day 31", date(2027, 1, 31)).iso() == "2027-01-31"
    assert resolve("next day 31", date(2027, 2, 1)).iso() == "2027-03-31"
    assert resolve("next day 30", date(2027, 2, 10)).iso() == "2027-03-30"


@pytest.mark.parametrize(
    "bad", ["tomorrow", "today+x", "next day 32", "next friday", "today 25:00", "", "20.12"]
)
def test_bad_date_expressions_say_what_is_expected(bad: str):
    with pytest.raises(DateExpressionError, match=r"date expression|must be"):
        resolve(bad, TODAY)


# -- reading a set --------------------------------------------------------------------------------------------


def write(tmp_path: Path, text: str, name: str = "ru/reminder.yml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return tmp_path


GOOD = """\
script: reminder
lang: ru
variables: {name: Анна, company: Банк, amount: 10500, due_date: today+1}
conversations:
  - id: plain-yes
    caller: [{affirm: ага конечно}]
    outcome: confirmed
  - caller: ["алло", {silence: true}, {dtmf: 2}, двадцатого]
    outcome: rescheduled
    slots: {promise_date: next day 20}
    data: {date: next day 20}
    steps: [ask_date]
    variables: {due_date: today-2, amount: 500}
"""


def test_a_good_file_reads_into_conversations(tmp_path: Path, catalogue: Catalogue, intents: set[str]):
    first, second = load_set(write(tmp_path, GOOD), catalogue, intents, TODAY)
    assert (first.name, first.line, first.outcome) == ("plain-yes", 5, Outcome.CONFIRMED)
    assert first.turns[0].intent == "affirm" and first.turns[0].text == "ага конечно"
    assert first.variables["due_date"] == "2026-12-06"
    assert second.name == "" and second.where.endswith("ru/reminder.yml:8")
    assert [t.kind for t in second.turns] == [TurnKind.TEXT, TurnKind.SILENCE, TurnKind.DTMF, TurnKind.TEXT]
    assert second.variables == {"name": "Анна", "company": "Банк", "amount": 500, "due_date": "2026-12-03"}
    assert second.slots[0].matches("2026-12-20") and not second.slots[0].matches("2026-12-21")
    assert second.data[0].matches("2026-12-20")
    assert second.steps == ["ask_date"]


@pytest.mark.parametrize(
    ("change", "line", "message"),
    [
        (("script: reminder", "script: reminders"), 1, "unknown script 'reminders'"),
        (("steps: [ask_date]", "steps: [ask_when]"), 12, "unknown step 'ask_when'"),
        (("outcome: rescheduled", "outcome: promised"), 9, "unknown outcome 'promised'"),
        (("amount: 500}", "amount: 500, sum: 3}"), 13, "unknown variable 'sum'"),
        (("{dtmf: 2}", "{dtmf: two}"), 8, "malformed turn"),
        (("{silence: true}", "{silense: true}"), 8, "malformed turn"),
        (("{affirm: ага конечно}", "{agree: ага}"), 6, "malformed turn"),
        (("next day 20}\n    data", "next twentieth}\n    data"), 10, "not a date expression"),
        (("due_date: today-2", "due_date: yesterday"), 13, "not a date expression"),
        (("promise_date:", "promise_day:"), 10, "unknown slot 'promise_day'"),
        (("data: {date:", "data: {when:"), 11, "unknown rescheduled data key 'when'"),
        (("    outcome: confirmed\n", "    outcom: confirmed\n"), 7, "unknown key 'outcom'"),
        (("amount: 500}", "amount: lots}"), 8, "variable 'amount' must be a money"),
    ],
)
def test_every_mistake_is_reported_with_file_and_line(
    tmp_path: Path, catalogue: Catalogue, intents: set[str], change: tuple[str, str], line: int, message: str
):
    old, new = change
    assert old in GOOD
    root = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ScriptErrors) as caught:
        load_set(root, catalogue, intents, TODAY)
    assert any(
        e.file.name == "reminder.yml" and e.line == line and message in e.message for e in caught.value.errors
    ), str(caught.value)


def test_broken_yaml_and_missing_parts_are_reported(tmp_path: Path, catalogue: Catalogue, intents: set[str]):
    write(tmp_path, "script: reminder\nlang: ru\nconversations: [{caller: [да}\n", "ru/a.yml")
    write(tmp_path, "script: reminder\nlang: de\nconversations: []\n", "ru/b.yml")
    write(tmp_path, GOOD.replace("    caller: [{affirm: ага конечно}]\n", ""), "ru/c.yml")
    write(tmp_path, "- just\n- a list\n", "ru/d.yml")
    with pytest.raises(ScriptErrors) as caught:
        load_set(tmp_path, catalogue, intents, TODAY)
    found = {(e.file.name, e.line, e.message.split(":")[0]) for e in caught.value.errors}
    assert ("a.yml", 3, "bad YAML") in found
    assert ("b.yml", 2, "'lang' must be one of the script's languages (ru, en)") in found
    assert ("b.yml", 3, "'conversations' must be a non-empty list") in found
    assert any(f == "c.yml" and line == 5 and "'caller'" in m for f, line, m in found)
    assert ("d.yml", 1, "expected a mapping at the top (conversations, lang, script, variables)") in found


def test_an_invalid_set_exits_2_before_starting_rasa(tmp_path: Path):
    root = write(tmp_path, GOOD.replace("outcome: confirmed", "outcome: happy"))
    done = subprocess.run(
        [VOICEBOT, "bench", "dialogs", "--path", str(root)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 2
    assert re.search(r"reminder\.yml:7: unknown outcome 'happy'", done.stderr), done.stderr
    assert "Traceback" not in done.stderr


# -- the committed set ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bench_set(catalogue: Catalogue, intents: set[str]) -> list[BenchConversation]:
    return load_set(ROOT / SET_DIR, catalogue, intents, TODAY)


@pytest.fixture(scope="module")
def unseen_set(catalogue: Catalogue, intents: set[str]) -> list[BenchConversation]:
    """The independent set for a final check, written without seeing bench/dialogs or training data."""
    return load_set(ROOT / UNSEEN_DIR, catalogue, intents, TODAY)


def test_the_set_covers_every_script_in_both_languages(
    bench_set: list[BenchConversation], catalogue: Catalogue
):
    per_lang = Counter(c.lang for c in bench_set)
    assert per_lang["ru"] >= 200 and per_lang["en"] >= 100
    assert {(c.script, c.lang) for c in bench_set} == {
        (s, lang) for s in catalogue.scripts for lang in ("ru", "en")
    }


def test_the_unseen_set_covers_every_script_in_both_languages(
    unseen_set: list[BenchConversation], catalogue: Catalogue
):
    per_lang = Counter(c.lang for c in unseen_set)
    assert per_lang["ru"] >= 100 and per_lang["en"] >= 50
    assert {(c.script, c.lang) for c in unseen_set} == {
        (s, lang) for s in catalogue.scripts for lang in ("ru", "en")
    }


def _normalised(phrase: str) -> str:
    return " ".join(re.sub(r"[^\w\s']", " ", phrase.lower()).split())


def test_no_caller_phrase_is_a_training_example(
    bench_set: list[BenchConversation],
    unseen_set: list[BenchConversation],
    catalogue: Catalogue,
    tmp_path_factory: pytest.TempPathFactory,
):
    """Held out from everything the model trains on: training_data/, step-local examples and FAQ questions (the
    compiled NLU file holds them all). bench/nlu_heldout may share phrases: it is never trained on either."""
    project = compile_project(catalogue, ROOT / "training_data", tmp_path_factory.mktemp("p"), RasaSettings())
    nlu = YAML(typ="safe").load((project.path / "data" / "nlu.yml").read_text(encoding="utf-8"))["nlu"]
    trained = {
        _normalised(line[2:])
        for item in nlu
        for line in item["examples"].splitlines()
        if line.startswith("- ")
    }
    leaked = sorted(
        f"{c.where}: {turn.text}"
        for c in [*bench_set, *unseen_set]
        for turn in c.turns
        if turn.kind is TurnKind.TEXT and _normalised(turn.text) in trained
    )
    assert leaked == []


# -- the report -----------------------------------------------------------------------------------------------


def test_the_report_marks_the_benchmarks_own_yes_and_counts_only_the_callers_turns():
    said = CallerTurn(TurnKind.TEXT, "да двадцатого", intent="affirm")
    bench = BenchConversation(
        Path("bench/dialogs/ru/debt.yml"), 7, "", "debt", "ru", {}, [said, CallerTurn(TurnKind.TEXT, "всю")],
        Outcome.PROMISE_TO_PAY,
    )  # fmt: skip
    yes = CallerTurn(TurnKind.TEXT, "да", automatic=True)
    result = ConversationResult(
        bench,
        turns=[
            TurnTrace(said, "state_debt", "affirm", 0.91, "confirming", "state_debt"),
            TurnTrace(yes, "state_debt", "affirm", 0.99, "answered", "cant_pay (ended)"),
        ],
        outcome="transferred",
        problems=["outcome transferred, expected promise_to_pay"],
    )
    passed = ConversationResult(replace(bench, line=9))
    text = report([result, passed], TODAY)
    assert "the robot asked back 1 times in 1 conversations (the benchmark said yes)" in text
    assert "  bench/dialogs/ru/debt.yml:7 ru/debt: outcome transferred, expected promise_to_pay" in text
    assert '    >> state_debt: (auto) "да"  → affirm 0.99 → answered → cant_pay (ended)' in text
    assert "(the robot ended the call after 1 of 2 turns)" in text
    assert [" ".join(line.split()) for line in text.splitlines()[1:5]] == [
        "script ru", "debt 1/2 = 50.0%", "all 1/2 = 50.0%", "overall: 1/2 = 50.0% conversations end as expected",
    ]  # fmt: skip
