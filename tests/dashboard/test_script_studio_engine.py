"""The script studio with the real engine (Rasa 3.6 + the action server, in-process as in `voicebot serve`): a
saved change is used by the next chat turn, a campaign's pinned version still runs the old text through the same
engine, a prompt-only save is live at once, and "listen" speaks a prompt."""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.dialog.catalogue import text_hash
from bot.dialog.conversation import Conversation
from bot.dialog.engine import new_state
from bot.dialog.prompts import sample_variables
from tests.dashboard.studio_platform import StudioPlatform

pytestmark = [pytest.mark.rasa, pytest.mark.slow]
HEADERS = {"X-Voicebot-Dashboard": "1"}
OLD_THANKS = "Спасибо! Ждём платёж до {due_date}. Всего доброго!"
NEW_THANKS = "Благодарим! Ждём платёж до {due_date}. До свидания!"


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StudioPlatform]:
    with StudioPlatform(tmp_path_factory.mktemp("studio")) as running:
        yield running


@pytest.fixture
def client(platform: StudioPlatform) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.url, headers=HEADERS, timeout=60) as http:
        login = http.post("/dashboard/login", data={"api_key": platform.key}, follow_redirects=False)
        assert login.status_code == 303
        yield http


def _script(platform: StudioPlatform) -> Path:
    return platform.dialogs / "reminder.yml"


def _save(client: httpx.Client, text: str) -> dict:
    base = client.get("/dashboard/scripts/reminder/versions").json()["versions"][0]["number"]
    saved = client.post("/dashboard/scripts/reminder/save", json={"text": text, "base": base})
    assert saved.status_code == 200, saved.text
    return saved.json()


def test_studio_saved_change_is_used_by_the_next_chat_turn_and_the_pinned_version_keeps_the_old(
    platform: StudioPlatform, client: httpx.Client
) -> None:
    original = _script(platform).read_text(encoding="utf-8")
    assert OLD_THANKS in original
    start = client.post("/dashboard/scripts/reminder/chat", json={"kind": "start", "lang": "ru"})
    assert start.status_code == 200, start.text
    chat = start.json()["chat"]
    assert start.json()["say"][0].startswith("Здравствуйте, Анна!")

    saved = _save(client, original.replace(OLD_THANKS, NEW_THANKS))
    assert saved["live"]["state"] == "live"  # a prompt changed, no phrase: the model is the same

    turn = client.post("/dashboard/scripts/reminder/chat", json={"chat": chat, "kind": "say", "text": "да"})
    assert turn.status_code == 200, turn.text
    assert turn.json()["say"][0].startswith("Благодарим!"), turn.json()
    assert turn.json()["ended"] and turn.json()["outcome"] == "confirmed"

    # a call of a campaign started before the save: its state names the old version, and the engine runs that text
    service = platform.service
    pinned = text_hash(original)
    old = service.catalogue.version("reminder", pinned)
    state = new_state(old, "ru", sample_variables(old, "ru"))
    state.version = pinned

    async def call_says_yes() -> list[str]:
        conversation = Conversation(service.client, state)
        await conversation.start()
        return (await conversation.say("да")).result.say

    assert platform.run(call_says_yes())[0].startswith("Спасибо! Ждём платёж")

    back = client.post("/dashboard/scripts/reminder/rollback", json={"number": 1, "base": saved["number"]})
    assert back.status_code == 200, back.text
    assert _script(platform).read_text(encoding="utf-8") == original
    again = client.post("/dashboard/scripts/reminder/chat", json={"kind": "start", "lang": "ru"}).json()
    turn = client.post(
        "/dashboard/scripts/reminder/chat", json={"chat": again["chat"], "kind": "say", "text": "да"}
    )
    assert turn.json()["say"][0].startswith("Спасибо! Ждём платёж"), turn.json()


def test_studio_listen_speaks_a_prompt_rendered_with_sample_values(client: httpx.Client) -> None:
    listed = client.get("/dashboard/scripts/reminder/prompts?lang=ru").json()["prompts"]
    greet = next(p for p in listed if p["path"] == "steps.greet.say")
    assert "{" not in greet["spoken"] and not any(c.isdigit() for c in greet["spoken"])
    audio = client.post("/dashboard/scripts/reminder/listen", json={"path": "steps.greet.say", "lang": "ru"})
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(audio.content)) as reader:
        assert reader.getnframes() / reader.getframerate() > 3.0  # a long sentence, not silence or a click
    missing = client.post("/dashboard/scripts/reminder/listen", json={"path": "steps.nope.say", "lang": "ru"})
    assert missing.status_code == 404
