"""`voicebot train` and the dialog service fail with a clear message, not a traceback."""

import subprocess

from tests.conftest import ROOT, VOICEBOT, service_env


def run(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {**service_env(), "VOICEBOT_PATHS__DATA_DIR": str(tmp_path / "data"), **env}
    return subprocess.run(
        [VOICEBOT, *args], capture_output=True, text=True, env=environ, cwd=ROOT, timeout=60
    )


def test_missing_rasa_names_the_fix(tmp_path):
    done = run(tmp_path, "train", VOICEBOT_RASA__EXECUTABLE=str(tmp_path / "no" / "rasa"))
    assert done.returncode == 1
    assert "Rasa is not installed at" in done.stderr and "make setup" in done.stderr
    assert "Traceback" not in done.stderr


def test_broken_script_blocks_training_with_file_and_line(tmp_path):
    dialogs = tmp_path / "dialogs"
    dialogs.mkdir()
    (dialogs / "broken.yml").write_text("id: broken\ntitle: {ru: x\n")
    done = run(tmp_path, "train", VOICEBOT_PATHS__DIALOGS_DIR=str(dialogs))
    assert done.returncode == 1
    assert f"{dialogs / 'broken.yml'}:2: bad YAML" in done.stderr
    assert "Traceback" not in done.stderr
