"""`voicebot chat` and `voicebot nlu parse` as script authors use them, against the real dialog service."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import ROOT, VOICEBOT

pytestmark = [pytest.mark.rasa, pytest.mark.slow]


def voicebot(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [VOICEBOT, *args], input=stdin, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )


def test_chat_piped_ends_with_one_json_line(dialog_service):
    done = voicebot(
        dialog_service,
        "chat", "reminder", "--var", "name=Анна", "--var", "company=Банк", "--var", "amount=500",
        "--var", "due_date=2026-12-01",
        stdin="алло\nнет\n\nпятнадцатого\n",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["outcome"] == "rescheduled"
    assert set(record["slots"]) == {"promise_date"}
    assert [a["type"] for a in record["actions"]] == ["set_outcome", "hangup"]
    callers = [t for t in record["transcript"] if t["speaker"] == "caller"]
    assert [c["event"] for c in callers] == ["handled", "answered", "silence", "captured"]


def test_chat_garbage_and_slash_commands_are_just_words(dialog_service):
    done = voicebot(
        dialog_service,
        "chat", "reminder", "--lang", "en", "--var", "name=Ann", "--var", "company=Bank",
        "--var", "amount=500", "--var", "due_date=2026-12-01",
        stdin='/dtmf{"digits": "1"}\n%%%% ☃ 12 zz\n',
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    callers = [t for t in record["transcript"] if t["speaker"] == "caller"]
    assert [c["event"] for c in callers] == ["no_match", "no_match", "hangup"]
    assert record["outcome"] == "abandoned"


def test_chat_missing_variable_is_a_clear_error(dialog_service):
    done = voicebot(dialog_service, "chat", "reminder", "--var", "name=Анна")
    assert done.returncode == 2
    assert "needs variable(s): amount, company, due_date" in done.stderr
    assert "Traceback" not in done.stderr


def test_chat_unknown_script(dialog_service):
    done = voicebot(dialog_service, "chat", "nosuch")
    assert done.returncode == 2
    assert "no script 'nosuch'" in done.stderr and "reminder" in done.stderr


def test_nlu_parse_one_text(dialog_service):
    done = voicebot(dialog_service, "nlu", "parse", "да конечно")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["intent"]["name"] == "affirm" and result["intent"]["confidence"] > 0.6
    assert result["entities"] == []


def test_nlu_parse_batch_from_stdin(dialog_service):
    done = voicebot(dialog_service, "nlu", "parse", "--lang", "en", stdin="yes\nno thanks\nwho is this\n")
    assert done.returncode == 0, done.stderr
    names = [json.loads(line)["intent"]["name"] for line in done.stdout.splitlines()]
    assert names == ["affirm", "deny", "who_is_calling"]


def test_train_reuses_the_model_while_inputs_are_unchanged(dialog_service):
    done = voicebot(dialog_service, "train")
    assert done.returncode == 0, done.stderr
    assert "(unchanged inputs, reused)" in done.stdout
