"""`voicebot dialogs check`: every mistake a script author can make is reported with its file, line and cause.

Each test writes a small script next to a copy of the shipped `_common.yml` in a temporary folder, breaks one
thing in it and checks the error that names it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.dialog.catalogue import load_catalogue
from bot.dialog.loader import ScriptError
from tests.dialog.folders import dialogs_folder, line_of

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("appointment", "debt", "inbound", "offer", "reminder", "survey")

GOOD = """\
# A tiny valid script; each test breaks one thing in it.
id: tiny
title: {ru: Проверка, en: Check}
languages: [ru, en]
goal: confirmed
operator_queue: support
variables:
  name: text
identity:
  ru: Это помощник.
  en: This is the assistant.
start: greet
steps:
  greet:
    say:
      ru: Здравствуйте, {name}! Вы придёте?
      en: Hello {name}! Will you come?
    answers:
      - intent: affirm
        dtmf: "1"
        goto: confirmed
      - intent: deny
        goto: refused
  confirmed:
    say: {ru: Спасибо!, en: Thank you!}
    do:
      - set_outcome: confirmed
      - hangup
  refused:
    say: {ru: Жаль., en: Pity.}
    do:
      - set_outcome: refused
      - hangup
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return dialogs_folder(tmp_path)


def write(folder: Path, text: str) -> Path:
    path = folder / "tiny.yml"
    path.write_text(text, encoding="utf-8")
    return path


def errors_of(folder: Path) -> list[ScriptError]:
    return load_catalogue(folder, folder.parent / "training_data").errors


def only_error(folder: Path, text: str) -> ScriptError:
    path = write(folder, text)
    errors = errors_of(folder)
    assert len(errors) == 1, "\n".join(map(str, errors))
    assert errors[0].file == path
    return errors[0]


def test_the_base_script_is_valid(folder: Path) -> None:
    write(folder, GOOD)
    catalogue = load_catalogue(folder, folder.parent / "training_data")
    assert catalogue.errors == []
    assert set(catalogue.scripts) == {"tiny"}


def test_broken_yaml_names_the_file_and_the_line(folder: Path) -> None:
    text = GOOD.replace("ru: Жаль.", "ru: Жаль: не придёт.")
    error = only_error(folder, text)
    assert error.line == line_of(text, "Жаль: не придёт")
    assert error.message.startswith("bad YAML")


def test_a_tab_in_indentation_is_bad_yaml(folder: Path) -> None:
    text = GOOD.replace("    say: {ru: Спасибо!", "\tsay: {ru: Спасибо!")
    error = only_error(folder, text)
    assert error.line == line_of(text, "\tsay")
    assert "bad YAML" in error.message


def test_unknown_intent(folder: Path) -> None:
    text = GOOD.replace("intent: deny", "intent: nope_never")
    error = only_error(folder, text)
    assert error.line == line_of(text, "intent: nope_never")
    assert error.message == "unknown intent 'nope_never' (not trained in training_data/)"


def test_unknown_intent_for_a_handler(folder: Path) -> None:
    text = GOOD + "handlers:\n  sing_a_song: {goto: refused}\n"
    error = only_error(folder, text)
    assert error.line == line_of(text, "sing_a_song")
    assert error.message == "unknown intent 'sing_a_song' for a handler"


def test_unknown_step(folder: Path) -> None:
    text = GOOD.replace("goto: refused", "goto: nowhere")
    write(folder, text)
    errors = errors_of(folder)
    unknown = [e for e in errors if "unknown step" in e.message]
    assert len(unknown) == 1
    assert unknown[0].line == line_of(text, "goto: nowhere")
    assert unknown[0].message.startswith("unknown step 'nowhere' (steps: ")
    # the step nobody goes to any more is reported too
    assert [e.message for e in errors if e is not unknown[0]] == [
        "step 'refused' is unreachable from 'greet'"
    ]


def test_unknown_start_step(folder: Path) -> None:
    text = GOOD.replace("start: greet", "start: hello")
    write(folder, text)
    errors = errors_of(folder)
    assert errors[0].line == line_of(text, "start: hello")
    assert errors[0].message.startswith("unknown step 'hello'")


def test_unreachable_step(folder: Path) -> None:
    text = (
        GOOD + "  orphan:\n    say: {ru: Никто сюда не придёт., en: Nobody comes here.}\n    do: [hangup]\n"
    )
    error = only_error(folder, text)
    assert error.line == line_of(text, "orphan:")
    assert error.message == "step 'orphan' is unreachable from 'greet'"


def test_undefined_variable(folder: Path) -> None:
    text = GOOD.replace("ru: Здравствуйте, {name}!", "ru: Здравствуйте, {name}! Долг {amount}.")
    error = only_error(folder, text)
    assert error.line == line_of(text, "Долг {amount}") - 1  # the line of `say:`
    assert error.message == "undefined variable '{amount}' in the ru text"


def test_undefined_slot_in_outcome_data(folder: Path) -> None:
    text = GOOD.replace(
        "      - set_outcome: confirmed\n", "      - set_outcome: confirmed\n        data: {when: visit_at}\n"
    )
    error = only_error(folder, text)
    assert error.line == line_of(text, "- set_outcome: confirmed")
    assert error.message == "data 'when' refers to undefined slot or variable 'visit_at'"


def test_missing_language_variant(folder: Path) -> None:
    text = GOOD.replace("    say: {ru: Жаль., en: Pity.}", "    say: {ru: Жаль.}")
    error = only_error(folder, text)
    assert error.line == line_of(text, "say: {ru: Жаль.}")
    assert error.message == "missing language variant: en"


def test_missing_language_variant_of_examples(folder: Path) -> None:
    text = GOOD.replace("      - intent: deny\n", "      - examples: {ru: [не приду]}\n")
    error = only_error(folder, text)
    assert error.line == line_of(text, "examples: {ru: [не приду]}")
    assert error.message == "missing language variant: en examples"


def test_a_step_with_no_way_on(folder: Path) -> None:
    text = GOOD.replace("      - set_outcome: refused\n      - hangup\n", "      - set_outcome: refused\n")
    error = only_error(folder, text)
    assert error.line == line_of(text, "  refused:")
    assert error.message.startswith("the step has no way on")


def test_an_answer_with_no_way_on(folder: Path) -> None:
    text = GOOD.replace('        dtmf: "1"\n        goto: confirmed\n', '        dtmf: "1"\n')
    write(folder, text)
    errors = errors_of(folder)
    no_way = [e for e in errors if "answer needs" in e.message]
    assert len(no_way) == 1
    assert no_way[0].line == line_of(text, "- intent: affirm")
    assert no_way[0].message == "an answer needs 'goto' (or a hangup/transfer action)"


def test_bad_outcome_name(folder: Path) -> None:
    text = GOOD.replace("set_outcome: refused", "set_outcome: paid_maybe")
    error = only_error(folder, text)
    assert error.line == line_of(text, "set_outcome: paid_maybe")
    assert error.message == "steps.refused.do.0: 'paid_maybe' is not a valid Outcome"


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("Disputed", "lowercase words joined by dots"),
        ("disputed", "lowercase words joined by dots"),
        ("debt." + "x" * 40, "at most 40 characters"),
        ("call.completed", "the platform's own events start with call, lead, handoff, contact, campaign"),
    ],
)
def test_a_crm_event_needs_a_dotted_name_the_platform_does_not_use(folder: Path, name: str, why: str) -> None:
    text = GOOD.replace(
        "      - set_outcome: refused\n", f"      - set_outcome: refused\n      - crm_event: {name}\n"
    )
    error = only_error(folder, text)
    assert error.line == line_of(text, f"crm_event: {name}")
    assert error.message.startswith("steps.refused.do.1: ") and why in error.message


def test_bad_goal_outcome(folder: Path) -> None:
    text = GOOD.replace("goal: confirmed", "goal: happy")
    error = only_error(folder, text)
    assert error.line == line_of(text, "goal: happy")
    assert error.message.startswith("goal: ")


def test_unknown_key_in_a_step(folder: Path) -> None:
    text = GOOD.replace("    say: {ru: Спасибо!", "    sya: {ru: Спасибо!")
    error = only_error(folder, text)
    assert error.line == line_of(text, "sya:")
    assert error.message == "steps.confirmed: unknown key 'sya'"


def test_unknown_key_at_the_top(folder: Path) -> None:
    text = GOOD.replace("start: greet", "start: greet\nauthor: Маша")
    error = only_error(folder, text)
    assert error.line == line_of(text, "author:")
    assert error.message == "top level: unknown key 'author'"


def test_a_missing_required_key(folder: Path) -> None:
    text = GOOD.replace("start: greet\n", "")
    error = only_error(folder, text)
    assert error.message == "top level: 'start' is required here"


def test_id_must_match_the_file_name(folder: Path) -> None:
    text = GOOD.replace("id: tiny", "id: other")
    error = only_error(folder, text)
    assert error.line == line_of(text, "id: other")
    assert error.message == "id 'other' must match the file name 'tiny'"


def test_a_bad_condition(folder: Path) -> None:
    text = GOOD.replace(
        "      - intent: deny\n        goto: refused\n",
        "      - intent: deny\n        goto: refused\n    capture: {slot: score, type: rating}\n"
        "    branch:\n      - if: score is big\n        goto: confirmed\n      - goto: refused\n",
    )
    error = only_error(folder, text)
    assert error.line == line_of(text, "if: score is big")
    assert "is not 'slot OP value'" in error.message


def test_an_error_in_an_inherited_step_names_the_common_file(folder: Path) -> None:
    text = GOOD.replace("operator_queue: support\n", "")
    write(folder, text)
    errors = errors_of(folder)
    common = (folder / "_common.yml").read_text(encoding="utf-8")
    assert [(e.file.name, e.line, e.message) for e in errors] == [
        (
            "_common.yml",
            line_of(common, "- transfer"),
            "transfer needs a queue here or an operator_queue for the script",
        )
    ]


def test_every_error_of_a_file_is_reported_at_once(folder: Path) -> None:
    text = GOOD.replace("intent: deny", "intent: nope_never").replace("Вы придёте?", "Вы придёте, {who}?")
    write(folder, text)
    messages = sorted(e.message for e in errors_of(folder))
    assert messages == [
        "undefined variable '{who}' in the ru text",
        "unknown intent 'nope_never' (not trained in training_data/)",
    ]


# -- the command line -------------------------------------------------------------------------------------


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Runs `voicebot ...` in-process with embedded default settings (no voicebot.yml)."""
    from bot.cli import app

    monkeypatch.setenv("VOICEBOT_CONFIG", str(tmp_path / "absent.yml"))
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_cli_prints_file_line_message_and_exits_1(cli, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICEBOT_PATHS__TRAINING_DATA_DIR", str(folder.parent / "training_data"))
    text = GOOD.replace("goto: refused", "goto: nowhere")
    path = write(folder, text)
    result = cli("dialogs", "check", str(folder))
    assert result.exit_code == 1
    line = line_of(text, "goto: nowhere")
    assert f"{path}:{line}: unknown step 'nowhere'" in result.stderr
    assert "2 error(s)" in result.stderr
    assert "ok  tiny" not in result.stdout


def test_cli_checks_a_single_file(cli, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICEBOT_PATHS__TRAINING_DATA_DIR", str(folder.parent / "training_data"))
    path = write(folder, GOOD.replace("ru: Жаль.", "ru: Жаль: нет."))
    result = cli("dialogs", "check", str(path))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{path}:{line_of(path.read_text(), 'Жаль: нет')}: bad YAML")


def test_cli_on_a_missing_path_exits_2(cli, tmp_path: Path) -> None:
    result = cli("dialogs", "check", str(tmp_path / "nothing.yml"))
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_every_shipped_script_checks_clean(cli) -> None:
    result = cli("dialogs", "check")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.split() == [word for script in SHIPPED for word in ("ok", script)]


def test_the_shipped_catalogue_loads_every_script() -> None:
    catalogue = load_catalogue(ROOT / "dialogs", ROOT / "training_data")
    assert catalogue.errors == []
    assert sorted(catalogue.scripts) == list(SHIPPED)
