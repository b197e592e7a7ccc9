"""The shipped scripts, loaded once per test session (they must load without errors)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.dialog.catalogue import Catalogue, load_catalogue

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    loaded = load_catalogue(ROOT / "dialogs", ROOT / "training_data")
    assert loaded.errors == []
    return loaded
