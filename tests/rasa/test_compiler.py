"""Compiling scripts and training data into a Rasa project (no Rasa needed)."""

import shutil
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from bot.config import ROOT, RasaSettings
from bot.dialog.catalogue import load_catalogue
from bot.outcomes import Intent
from bot.rasa.compiler import TURN_ACTION, TrainingDataError, compile_project, read_training_data


@pytest.fixture
def sources(tmp_path: Path) -> tuple[Path, Path]:
    dialogs, training = tmp_path / "dialogs", tmp_path / "training_data"
    shutil.copytree(ROOT / "dialogs", dialogs)
    shutil.copytree(ROOT / "training_data", training)
    return dialogs, training


def compile_at(sources: tuple[Path, Path], out: Path):
    dialogs, training = sources
    catalogue = load_catalogue(dialogs, training)
    assert not catalogue.errors
    return compile_project(catalogue, training, out, RasaSettings())


def load(path: Path):
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def test_project_has_every_intent_a_rule_each_and_step_local_examples(sources, tmp_path):
    project = compile_at(sources, tmp_path / "out")
    domain = load(project.path / "domain.yml")
    assert set(Intent) <= set(domain["intents"])
    assert {"silence", "dtmf", "hangup", "voicebot_start"} <= set(domain["intents"])
    rules = load(project.path / "data" / "rules.yml")["rules"]
    ruled = {rule["steps"][0]["intent"] for rule in rules}
    assert ruled == set(domain["intents"]) | {"nlu_fallback"}
    assert all(rule["steps"][1] == {"action": TURN_ACTION} for rule in rules)
    nlu = {item["intent"]: item["examples"] for item in load(project.path / "data" / "nlu.yml")["nlu"]}
    assert "- ни одно не подходит" in nlu["appointment__offer_slots__0"]
    assert "- none of those times work" in nlu["appointment__offer_slots__0"]
    assert "- какой у вас адрес" in nlu["inbound__faq__address"]
    config = load(project.path / "config.yml")
    assert config["pipeline"][-1] == {
        "name": "FallbackClassifier",
        "threshold": 0.6,
        "ambiguity_threshold": 0.1,
    }


def test_fingerprint_is_stable_and_follows_the_inputs(sources, tmp_path):
    first = compile_at(sources, tmp_path / "a").fingerprint
    assert compile_at(sources, tmp_path / "b").fingerprint == first
    training = sources[1] / "ru" / "phone_answers.yml"
    training.write_text(training.read_text(encoding="utf-8") + "\n")  # whitespace only: same examples
    assert compile_at(sources, tmp_path / "c").fingerprint == first
    appointment = sources[0] / "appointment.yml"
    text = appointment.read_text(encoding="utf-8")
    assert "нет подходящего" in text
    appointment.write_text(text.replace("нет подходящего", "подходящего нет"))
    second = compile_at(sources, tmp_path / "d").fingerprint
    assert second != first
    training.write_text(training.read_text(encoding="utf-8").replace("- да\n", "- да да да\n", 1))
    assert compile_at(sources, tmp_path / "e").fingerprint not in (first, second)


def test_broken_training_file_names_the_file(tmp_path):
    bad = tmp_path / "ru" / "bad.yml"
    bad.parent.mkdir()
    bad.write_text("nlu:\n- intent: affirm\n  examples: [да, ага]\n")
    with pytest.raises(TrainingDataError, match=r"bad\.yml: intent 'affirm' needs an 'examples: \|' list"):
        read_training_data(tmp_path)
