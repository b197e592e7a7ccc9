"""`voicebot chat` and `voicebot nlu parse` as script authors use them, against the real dialog service."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from bot.devtools.demo import free_port
from tests.conftest import ROOT, TEST_DATA_DIR, VOICEBOT

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


def test_a_service_stopped_while_rasa_starts_leaves_no_rasa_running(dialog_service, tmp_path):
    models = tmp_path / "data" / "rasa" / "models"
    shutil.copytree(TEST_DATA_DIR / "rasa" / "models", models)  # trained by the fixture: no training here
    env = {
        **dialog_service,
        "VOICEBOT_PATHS__DATA_DIR": str(tmp_path / "data"),
        "VOICEBOT_RASA__PORT": str(free_port()),
        "VOICEBOT_RASA__ACTION_PORT": str(free_port()),
    }
    log = tmp_path / "service.log"
    with log.open("w") as out:
        service = subprocess.Popen(
            [VOICEBOT, "rasa", "run"], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 60
        while not (started := re.search(r"Rasa starting \(pid (\d+)", log.read_text())):
            assert service.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        rasa = int(started.group(1))
        service.send_signal(signal.SIGTERM)  # Rasa is loading its model: the service is not ready yet
        assert service.wait(30) == 0, log.read_text()
    finally:
        service.kill()
    assert "dialog service ready" not in log.read_text()
    time.sleep(0.5)
    with pytest.raises(ProcessLookupError):
        os.kill(rasa, 0)  # its own session: only the service's clean-up ends it
