"""The script studio with the real engine (Rasa 3.6 + the action server, in-process as in `voicebot serve`): a
saved change is used by the next chat turn, a campaign's pinned version still runs the old text through the same
engine, a prompt-only save is live at once, and "listen" speaks a prompt."""

from __future__ import annotations

import contextlib
import io
import shutil
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.dialog.catalogue import text_hash
from bot.dialog.engine import new_state
from bot.dialog.prompts import sample_variables
from bot.rasa.conversation import Conversation
from tests.dashboard.platform import ROOT
from tests.dashboard.studio_platform import StudioPlatform
from tests.dashboard.test_script_studio import BOMB

pytestmark = [pytest.mark.rasa, pytest.mark.slow]
CHROMIUM = "/usr/bin/chromium"
HEADERS = {"X-Voicebot-Dashboard": "1"}
OLD_THANKS = "Спасибо! Ждём платёж до {due_date}. Всего доброго!"
NEW_THANKS = "Благодарим! Ждём платёж до {due_date}. До свидания!"


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StudioPlatform]:
    with StudioPlatform(tmp_path_factory.mktemp("studio")) as running:
        yield running


@pytest.fixture
def client(platform: StudioPlatform) -> Iterator[httpx.Client]:
    with client_for(platform) as http:
        yield http


@contextlib.contextmanager
def client_for(platform: StudioPlatform) -> Iterator[httpx.Client]:
    """A logged-in client of the studio (the session cookie and the dashboard's header)."""
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


@pytest.mark.browser
@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason=f"{CHROMIUM} absent: apt-get install chromium")
def test_studio_in_the_browser_error_line_save_next_chat_turn_rollback(platform: StudioPlatform) -> None:
    from tests.dashboard.browser import chromium_page, playwright  # skips the test without Playwright

    expect = playwright.expect
    original = _script(platform).read_text(encoding="utf-8")
    lines = original.splitlines()
    goto_line = next(i for i, line in enumerate(lines) if "goto: confirmed" in line) + 1
    thanks_line = next(i for i, line in enumerate(lines) if OLD_THANKS in line) + 1
    artifacts = ROOT / "var" / "test-artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)

    def shot(page, name: str) -> None:
        page.screenshot(path=str(artifacts / f"studio-{name}.png"), full_page=True)

    def to_line_end(page, number: int) -> None:
        page.click(".cm-content")
        page.keyboard.press("Control+Home")
        for _ in range(number - 1):
            page.keyboard.press("ArrowDown")
        page.keyboard.press("End")

    with chromium_page(timeout=30, viewport={"width": 1440, "height": 1000}) as page:
        page.on("dialog", lambda dialog: dialog.accept())
        page.goto(platform.url + "/dashboard/scripts")
        page.fill("#api-key", platform.key)
        page.click("#login-key")
        page.click('tr[data-script="reminder"] a')
        page.wait_for_selector(".cm-content")
        expect(page.locator("#check-state")).to_have_text("Ошибок нет.")
        first = int(page.inner_text("#version"))  # the platform is shared: earlier tests saved versions too

        # a syntax error typed into the editor shows its line under the editor, and in the gutter
        to_line_end(page, goto_line)
        page.keyboard.type(": x")
        expect(page.locator("#errors li").first).to_contain_text(f"reminder.yml:{goto_line}: bad YAML")
        expect(page.locator(".cm-lint-marker-error")).to_have_count(1)
        shot(page, "syntax-error")
        for _ in range(3):
            page.keyboard.press("Backspace")
        expect(page.locator("#check-state")).to_have_text("Ошибок нет.")
        expect(page.locator("#errors li")).to_have_count(0)

        # a chat with the saved script; then a saved change answers the next turn
        page.click("#chat-start")
        expect(page.locator("#chat-log li.robot").first).to_contain_text("Здравствуйте, Анна!")
        to_line_end(page, thanks_line)
        page.keyboard.type(" Хорошего дня!")
        page.click("#save")
        expect(page.locator("#save-state")).to_have_text(f"Сохранено: версия {first + 1}.")
        expect(page.locator("#live")).to_contain_text(f"Версия {first + 1} работает")
        assert "Всего доброго! Хорошего дня!" in _script(platform).read_text(encoding="utf-8")
        page.fill("#chat-text", "да")
        page.press("#chat-text", "Enter")
        expect(page.locator("#chat-log li.robot").last).to_contain_text("Всего доброго! Хорошего дня!")
        expect(page.locator("#chat-state")).to_contain_text("confirmed")
        shot(page, "saved-and-chat")

        # the history shows the change; rollback restores the old text in the file and the editor
        page.click(f'#history tr[data-version="{first + 1}"] button.diff')
        expect(page.locator("#diff .add")).to_contain_text("Хорошего дня!")
        page.click(f'#history tr[data-version="{first}"] button.rollback')
        expect(page.locator("#version")).to_have_text(str(first + 2))
        expect(page.locator(".cm-content")).not_to_contain_text("Хорошего дня!")
        assert _script(platform).read_text(encoding="utf-8") == original
        shot(page, "rolled-back")

        # someone else saves meanwhile: this page's save gets the conflict, with both texts, and loses nothing
        with client_for(platform) as other:
            theirs = original.replace(OLD_THANKS, NEW_THANKS)
            assert other.post(
                "/dashboard/scripts/reminder/save", json={"text": theirs, "base": first + 2}
            ).is_success
        to_line_end(page, thanks_line)
        page.keyboard.type(" Моя правка.")
        page.click("#save")
        expect(page.locator("#conflict")).to_be_visible()
        expect(page.locator("#save-state")).to_contain_text("Не сохранено: пока вы правили")
        expect(page.locator("#conflict-yours")).to_contain_text("Всего доброго! Моя правка.")
        shot(page, "conflict")
        page.click("#conflict-take")
        expect(page.locator(".cm-content")).to_contain_text("Благодарим!")
        expect(page.locator("#version")).to_have_text(str(first + 3))
        assert _script(platform).read_text(encoding="utf-8") == theirs

        # a YAML bomb pasted into the editor: a clear message under it, and nothing saved
        page.click(".cm-content")
        page.keyboard.press("Control+a")
        page.keyboard.insert_text(BOMB)
        expect(page.locator("#errors li").first).to_contain_text("aliases expand the script past")
        page.click("#save")
        expect(page.locator("#save-state")).to_contain_text("Сценарий не сохранён")
        assert _script(platform).read_text(encoding="utf-8") == theirs
        shot(page, "yaml-bomb")
    with client_for(platform) as http:
        _save(http, original)  # the shipped text again, for the tests after this one


def test_studio_new_phrases_retrain_in_the_background_and_go_live(
    platform: StudioPlatform, client: httpx.Client
) -> None:
    original = _script(platform).read_text(encoding="utf-8")
    anchor = "      - intent: already_paid\n        goto: already_paid\n"
    assert anchor in original
    phrases = "      - examples: {ru: [пришлите мне квитанцию], en: [send me the invoice]}\n        goto: ask_date\n"
    before = client.post("/dashboard/scripts/reminder/chat", json={"kind": "start", "lang": "ru"}).json()
    saved = _save(client, original.replace(anchor, anchor + phrases))
    assert saved["live"]["state"] in ("training", "loading", "live"), saved
    seen = _wait_live(client)
    assert seen[-1][0] == "live", seen
    assert all(0.0 <= progress <= 1.0 for _, progress in seen)
    served = platform.run(platform.service.client.status())["model_file"]
    assert served.endswith(f"{saved['live']['model']}.tar.gz")  # Rasa serves the new model

    # a chat started before the save goes on (Rasa forgot it with the model swap; it is carried over) and the
    # new model hears the new phrase
    turn = client.post(
        "/dashboard/scripts/reminder/chat",
        json={"chat": before["chat"], "kind": "say", "text": "пришлите мне квитанцию"},
    ).json()
    assert turn["heard"]["intent"] == "reminder__greet__3", turn
    assert turn["step"] == "ask_date"
    _save(client, original)  # back to the shipped script (its model is on disk: loaded, not trained)
    assert _wait_live(client)[-1][0] == "live"


def _wait_live(client: httpx.Client) -> list[tuple[str, float]]:
    """The (state, progress) of each poll of the page's live status until the newest version is live or failed."""
    seen = []
    deadline = time.monotonic() + 900  # a training takes 2–3 minutes on 2 cores
    while time.monotonic() < deadline:
        live = client.get("/dashboard/scripts/reminder/live").json()
        seen.append((live["state"], live["progress"]))
        if live["state"] in ("live", "failed"):
            break
        time.sleep(1)
    return seen
