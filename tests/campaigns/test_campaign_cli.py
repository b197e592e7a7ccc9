"""The `voicebot campaigns`, `dnc` and `apikeys` commands, run in-process against a temporary data dir."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    dialogs = tmp_path / "dialogs"
    dialogs.mkdir()
    (dialogs / "reminder.yml").write_text("steps: {}\n", encoding="utf-8")
    monkeypatch.setenv("VOICEBOT_PATHS__DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("VOICEBOT_PATHS__DIALOGS_DIR", str(dialogs))
    monkeypatch.setenv("VOICEBOT_CONFIG", str(tmp_path / "none.yml"))
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def test_campaign_commands_end_to_end(cli: CliRunner, tmp_path: Path) -> None:
    created = cli.invoke(
        app, ["campaigns", "create", "--name", "Тест", "--script", "reminder", "--var", "k=v"]
    )
    assert created.exit_code == 0, created.output
    campaign = json.loads(created.stdout)
    assert (campaign["state"], campaign["rules"]["preset"]) == ("draft", "general")

    unknown = cli.invoke(app, ["campaigns", "create", "--name", "x", "--script", "nope"])
    assert unknown.exit_code == 2
    assert "unknown script 'nope'" in unknown.stderr

    csv_file = tmp_path / "contacts.csv"
    csv_file.write_bytes("ФИО;Телефон\nИван;8 916 123-45-67\nПётр;123\n".encode("cp1251"))
    imported = cli.invoke(app, ["campaigns", "import", str(campaign["id"]), str(csv_file)])
    assert imported.exit_code == 0, imported.output
    assert "1 new contacts" in imported.stdout
    assert "row 3: invalid phone number: '123'" in imported.stderr

    assert cli.invoke(app, ["campaigns", "start", str(campaign["id"])]).exit_code == 0
    again = cli.invoke(app, ["campaigns", "start", str(campaign["id"])])
    assert again.exit_code == 1
    assert "it is running" in again.stderr

    blocked = cli.invoke(app, ["dnc", "add", "+7 916 123 45 67"])
    assert "+79161234567: added, 1 pending contacts blocked" in blocked.stdout
    shown = json.loads(cli.invoke(app, ["campaigns", "show", str(campaign["id"])]).stdout)
    assert shown["contacts"] == {"dnc": 1}

    exported = cli.invoke(app, ["campaigns", "export", str(campaign["id"])])
    assert exported.stdout.startswith("attempt_id,contact_id,phone")

    key = cli.invoke(app, ["apikeys", "create", "crm", "--scope", "read"]).stdout.strip()
    assert key.startswith("vb_")
    assert "crm" in cli.invoke(app, ["apikeys", "list"]).stdout


def test_run_refuses_without_a_call_placer(cli: CliRunner) -> None:
    result = cli.invoke(app, ["campaigns", "run"])
    assert result.exit_code == 2
    assert "--simulate" in result.stderr


def test_a_campaigns_purpose_and_its_contacts_consent(cli: CliRunner, tmp_path: Path) -> None:
    created = cli.invoke(
        app, ["campaigns", "create", "--name", "Опрос", "--script", "reminder", "--purpose", "custom"]
    )
    assert created.exit_code == 0, created.output
    campaign = json.loads(created.stdout)
    assert campaign["purpose"] == "custom"
    wrong = cli.invoke(
        app, ["campaigns", "create", "--name", "x", "--script", "reminder", "--purpose", "spam"]
    )
    assert wrong.exit_code == 2 and "spam" in wrong.output

    csv_file = tmp_path / "contacts.csv"
    csv_file.write_text("tel;agreed;how\n+79161234567;2024-11-05;sms\n+79031112233;;\n", encoding="utf-8")
    imported = cli.invoke(
        app,
        [
            "campaigns",
            "import",
            str(campaign["id"]),
            str(csv_file),
            "--phone-column",
            "tel",
            "--consent-at-column",
            "agreed",
            "--consent-channel-column",
            "how",
        ],
    )
    assert imported.exit_code == 0, imported.output
    assert "1 not to be called: no consent, which the campaign's purpose requires" in imported.stdout
    shown = json.loads(cli.invoke(app, ["campaigns", "show", str(campaign["id"])]).stdout)
    assert shown["contacts"] == {"pending": 1, "blocked": 1}
