"""The NLU training data itself: held-out benchmark phrases stay held out, no phrase trains two intents."""

from collections import defaultdict

import pytest
from ruamel.yaml import YAML

from bot.config import ROOT, RasaSettings
from bot.devtools.bench_nlu import HELDOUT_DIR, read_heldout
from bot.dialog.catalogue import load_catalogue
from bot.rasa.compiler import compile_project, read_training_data


def normalise(phrase: str) -> str:
    return " ".join(phrase.lower().split())


@pytest.fixture(scope="module")
def trained_phrases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    """Intents per normalised phrase of everything the model trains on (training_data/ and the scripts)."""
    catalogue = load_catalogue(ROOT / "dialogs", ROOT / "training_data")
    assert not catalogue.errors
    project = compile_project(catalogue, ROOT / "training_data", tmp_path_factory.mktemp("p"), RasaSettings())
    nlu = YAML(typ="safe").load((project.path / "data" / "nlu.yml").read_text(encoding="utf-8"))["nlu"]
    intents: dict[str, set[str]] = defaultdict(set)
    for item in nlu:
        for line in item["examples"].splitlines():
            if line.startswith("- "):
                intents[normalise(line[2:])].add(item["intent"])
    return intents


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_no_heldout_phrase_is_trained_on(lang: str, trained_phrases: dict[str, set[str]]):
    heldout = read_heldout(ROOT / HELDOUT_DIR / f"{lang}.yml")
    assert len(heldout) > 200
    leaked = sorted(text for text, _ in heldout if normalise(text) in trained_phrases)
    assert leaked == [], f"held-out phrases of bench/nlu_heldout/{lang}.yml found in training data"


def test_no_phrase_in_training_data_trains_two_intents():
    intents: dict[str, set[str]] = defaultdict(set)
    for intent, phrases in read_training_data(ROOT / "training_data").items():
        for phrase in phrases:
            intents[normalise(phrase)].add(intent)
    assert {phrase: sorted(names) for phrase, names in intents.items() if len(names) > 1} == {}


def test_training_examples_are_written_as_a_recogniser_outputs_speech():
    """Lowercase words only: no punctuation or digits, which the recogniser never produces."""
    unlike_speech = [
        phrase
        for phrases in read_training_data(ROOT / "training_data").values()
        for phrase in phrases
        if not all(word.isalpha() and word.islower() for word in phrase.replace("'", "").split())
    ]
    assert unlike_speech == []
