"""Configuration: embedded defaults, the YAML file, environment overrides, clear errors."""

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings


def test_defaults_need_no_file(tmp_path: Path):
    settings = load_settings(tmp_path / "absent.yml", environ={})
    assert settings.rasa.port == 5005
    assert settings.rasa.url == "http://127.0.0.1:5005"
    assert settings.paths.data_dir.is_absolute()


def test_file_then_environment_override(tmp_path: Path):
    config = tmp_path / "voicebot.yml"
    config.write_text("rasa:\n  port: 6000\n  fallback_threshold: 0.5\nlog:\n  level: DEBUG\n")
    settings = load_settings(config, environ={"VOICEBOT_RASA__PORT": "6100"})
    assert settings.rasa.port == 6100
    assert settings.rasa.fallback_threshold == 0.5
    assert settings.log.level == "DEBUG"


def test_relative_paths_become_absolute(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={"VOICEBOT_PATHS__DATA_DIR": "data"})
    assert settings.paths.data_dir == tmp_path / "data"
    assert settings.rasa_dir == tmp_path / "data" / "rasa"


@pytest.mark.parametrize(
    ("text", "environ", "message"),
    [
        ("rasa:\n  port: lots\n", {}, "rasa.port: Input should be a valid integer"),
        ("rasa:\n  prot: 1\n", {}, "rasa.prot: Extra inputs are not permitted"),
        ("rasa: [1, 2\n", {}, "not valid YAML"),
        ("- just a list\n", {}, "expected a mapping of sections"),
        (
            "",
            {"VOICEBOT_RASA__FALLBACK_THRESHOLD": "2"},
            "rasa.fallback_threshold: Input should be less than 1",
        ),
    ],
)
def test_bad_configuration_is_a_clear_error(tmp_path: Path, text: str, environ: dict, message: str):
    config = tmp_path / "voicebot.yml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")) as error:
        load_settings(config, environ=environ)
    assert str(config) in str(error.value)
