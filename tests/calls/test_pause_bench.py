"""The paused-answer benchmark (`voicebot bench pauses`): pauses written in a caller's words, the set's checks, how
false cut-ins and barge-in stop times are counted, and one small run through the real pipeline."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from bot.call_results.result import CallResult, TimedLine
from bot.calls.caller_words import TAIL, PauseError, SpokenLine, join_with_pauses, split_pauses, voiced_span
from bot.calls.simulate import SAMPLE_RATE, caller_speech
from bot.config import ROOT, load_settings
from bot.devtools.bench_pauses import (
    AnswerResult,
    PauseBenchReport,
    barge_in_stop,
    first_complete_part,
    is_false_cut_in,
    run_pause_bench,
    step_reached,
)
from bot.devtools.bench_pauses_set import (
    SET_DIR,
    AnswerKind,
    BargeIn,
    PausedAnswer,
    PauseSet,
    load_pause_set,
    only,
)
from bot.dialog.catalogue import load_catalogue
from bot.dialog.loader import ScriptErrors
from tests.conftest import TINY
from tests.rasa.helpers import VARIABLES, client_for


@pytest.fixture(scope="module")
def catalogue():
    config = load_settings(environ={})
    return load_catalogue(config.paths.dialogs_dir, config.paths.training_data_dir)


# pauses in a caller's words


def test_a_pause_of_a_chosen_length_stands_between_words():
    assert split_pauses("я заплачу |0.6| двадцатого") == ["я заплачу", 0.6, "двадцатого"]
    assert split_pauses("два ноль |0.35| ноль один | девять") == [
        "два ноль",
        0.35,
        "ноль один",
        1.0,
        "девять",
    ]
    assert split_pauses("да") == ["да"]


@pytest.mark.parametrize(
    "text",
    ["да | | нет", "|0.5| да", "да |0.5|", "да |0| нет", "да |12| нет", "да |x| нет", "да|нет", "да || нет"],
)
def test_a_malformed_pause_is_an_error(text):
    with pytest.raises(PauseError):
        split_pauses(text)


def test_the_pause_is_that_much_silence_between_the_voices():
    da, net = caller_speech("да", "ru"), caller_speech("нет", "ru")
    # espeak-ng ends words with ~0.3 s of near silence: a line keeps only TAIL of it
    assert len(da) / 2 / SAMPLE_RATE == pytest.approx(voiced_span(da, SAMPLE_RATE)[1] + TAIL, abs=0.001)
    for text, pause in (("да |0.45| нет", 0.45), ("да | нет", 1.0)):  # " | " is still one second
        audio = caller_speech(text, "ru")
        voiced = np.flatnonzero(np.abs(np.frombuffer(audio, dtype=np.int16)) > 300)
        gap = np.diff(voiced).max() / SAMPLE_RATE
        assert gap == pytest.approx(pause, abs=0.002)
        assert audio.startswith(da[: int(voiced_span(da, SAMPLE_RATE)[1] * SAMPLE_RATE) * 2])
        assert audio.endswith(net[int(voiced_span(net, SAMPLE_RATE)[0] * SAMPLE_RATE) * 2 :])


def test_words_and_pauses_join_without_the_silence_at_the_edges_that_meet_a_pause():
    word = (
        bytes(4) + np.full(3, 1000, dtype=np.int16).tobytes() + bytes(6)
    )  # 2 silent, 3 voiced, 3 silent samples
    joined = np.frombuffer(join_with_pauses([word, 0.001, word], 1000), dtype=np.int16)
    assert joined.tolist() == [0, 0, 1000, 1000, 1000, 0, 1000, 1000, 1000, 0, 0, 0]


# counting


ANSWER = SpokenLine(started=10.0, first_voice=10.1, last_voice=12.0)


def frames(start: float, end: float) -> list[float]:
    return [round(start + i * 0.02, 2) for i in range(round((end - start) / 0.02))]


def test_the_robot_speaking_before_the_last_word_is_a_false_cut_in():
    assert is_false_cut_in(ANSWER, frames(2, 8) + frames(11.3, 13))
    assert is_false_cut_in(ANSWER, frames(11.98, 13))


def test_the_robot_speaking_after_the_last_word_or_only_before_the_answer_is_not():
    assert not is_false_cut_in(ANSWER, frames(2, 8) + frames(12.7, 14))
    assert not is_false_cut_in(ANSWER, frames(2, 9.4))
    assert not is_false_cut_in(ANSWER, [])


def test_barge_in_stop_time_runs_to_the_robots_last_audio_frame_while_the_caller_talks():
    caller = SpokenLine(started=0.9, first_voice=1.0, last_voice=2.0)
    stop = barge_in_stop(caller, frames(0, 1.2) + frames(3.0, 4.0))  # the reply at 3.0 s is not the prompt
    assert stop == pytest.approx(0.2, abs=1e-6)
    # never stopped: voiced until the reply could start, 0.2 s after the caller's last word
    assert barge_in_stop(caller, frames(0, 3)) == pytest.approx(1.22, abs=1e-6)
    assert barge_in_stop(caller, frames(0, 0.4)) is None  # the prompt was over: no barge-in


def record_with(transcript: list[tuple[str, str | None]]) -> CallResult:
    lines = [TimedLine(at=i, speaker=who, text="…", step=step) for i, (who, step) in enumerate(transcript)]
    return CallResult(
        id="x",
        script="reminder",
        lang="ru",
        started_at="",
        seconds=1,
        outcome=None,
        outcome_data={},
        slots={},
        actions=[],
        ended_by=None,
        barge_ins=0,
        turns=[],
        transcript=lines,
    )


def test_the_step_reached_is_the_step_of_the_robots_words_after_the_lead():
    record = record_with(
        [("robot", "greet"), ("caller", "greet"), ("robot", "ask_date"), ("caller", "ask_date")]
    )
    assert step_reached(record, 0) == "greet"
    assert step_reached(record, 1) == "ask_date"
    assert step_reached(record_with([("robot", "greet")]), 1) is None


def answer(kind: AnswerKind, say: str, line: int = 1) -> PausedAnswer:
    return PausedAnswer(Path("ru.yml"), line, "ru", "reminder", {}, [], "greet", kind, say)


def test_the_report_counts_false_cut_ins_of_the_answers_that_reached_their_step():
    results = [
        AnswerResult(answer(AnswerKind.DATE, "я заплачу |0.7| пятого"), "greet", True, 0.9, None, ["да"]),
        AnswerResult(answer(AnswerKind.DATE, "я заплачу |0.3| пятого"), "greet", False, None, 640.0, ["да"]),
        AnswerResult(answer(AnswerKind.HEDGE, "да |0.5| но"), "greet", False, None, 700.0, ["да"]),
        AnswerResult(answer(AnswerKind.HEDGE, "да |0.5| но"), "ask_date", True, 0.5, None, []),  # not judged
    ]
    text = PauseBenchReport(answers=results, not_run={"en": "no model"}).text()
    assert "false cut-ins, all answers: 1 of 3 answers (33.3 %)" in text
    assert "date" in text and "2 answers    1 cut in   50.0 %" in text
    assert "0.7–0.8 s      1 answers    1 cut in  100.0 %" in text
    assert "not judged: ru.yml:1: the call was at 'ask_date', not 'greet'" in text
    assert "en: not run: no model" in text


# the set


def test_the_shipped_set_is_valid_and_covers_the_kinds_and_pause_lengths(catalogue):
    pause_set = load_pause_set(ROOT / SET_DIR, catalogue)
    for lang, at_least in (("ru", 40), ("en", 20)):
        answers = [a for a in pause_set.answers if a.lang == lang]
        assert len(answers) >= at_least
        assert {a.kind for a in answers} == set(AnswerKind)
        assert {int(a.longest_pause * 10) for a in answers} >= {3, 4, 5, 6, 7}
    assert len([b for b in pause_set.barge_ins if b.lang == "ru"]) >= 10
    assert len(only(pause_set, "ru", 2).answers) == 2


def test_a_bad_set_is_reported_with_file_and_line(catalogue, tmp_path):
    (tmp_path / "ru.yml").write_text(
        "lang: ru\n"
        "variables:\n"
        "  reminder: {name: Анна, company: Банк, amount: '10', due_date: '2026-12-20'}\n"
        "answers:\n"
        "  - {script: remider, step: greet, kind: date, say: 'да |0.5| нет'}\n"
        "  - {script: reminder, step: ask_when, kind: date, say: 'да |0.5| нет'}\n"
        "  - {script: reminder, step: greet, kind: date, say: 'да |0.9| нет'}\n"
        "  - {script: reminder, step: greet, kind: date, say: 'да | нет |x'}\n"
        "  - {script: reminder, step: greet, kind: price, say: 'да нет'}\n"
        "  - {script: survey, step: greet, kind: hedge, say: 'да |0.5| нет'}\n"
        "barge_ins:\n"
        "  - {script: reminder, after: 0, say: 'нет'}\n",
        encoding="utf-8",
    )
    with pytest.raises(ScriptErrors) as caught:
        load_pause_set(tmp_path, catalogue)
    messages = [(e.line, e.message) for e in caught.value.errors]
    assert [line for line, _ in messages] == [5, 6, 7, 8, 9, 9, 2, 12]
    assert "'script' must be a valid script" in messages[0][1]
    assert "'step' must be a step of 'reminder'" in messages[1][1]
    assert "0.3–0.8 s" in messages[2][1]
    assert "stray" in messages[3][1]
    assert "must hold a pause" in messages[4][1] and "'kind' must be one of" in messages[5][1]
    assert "no entry for 'survey'" in messages[6][1]
    assert "'after'" in messages[7][1]
    assert str(caught.value).startswith(f"{tmp_path / 'ru.yml'}:5: ")


# a small real run


@pytest.mark.slow
@pytest.mark.rasa
async def test_a_small_run_counts_a_long_pause_as_a_cut_in_and_measures_barge_in(dialog_service, catalogue):
    settings = load_settings(
        environ={
            **dialog_service,
            "VOICEBOT_VOICE__ASR_RU": str(TINY),
            "VOICEBOT_VOICE__TTS_RU": "espeak-ng:ru",
        }
    )
    where = Path("test.yml")

    def order_number(line: int, said: str) -> PausedAnswer:
        """The inbound script's order number (reached by key 1) said in digits as `said`."""
        inbound = VARIABLES["inbound"]
        return PausedAnswer(
            where, line, "ru", "inbound", inbound, ["dtmf:1"], "ask_order_number", AnswerKind.DIGITS, said
        )

    # a 1.5 s pause is far longer than any end of turn: the robot must answer into it; without a pause it must not
    long_pause = order_number(1, "восемь девять |1.5| один два")
    no_pause = order_number(2, "восемь девять один два")
    barge_in = BargeIn(where, 3, "ru", "reminder", VARIABLES["reminder"], [], 1.5, "нет нет подождите")
    client = client_for(dialog_service)
    try:
        report = await run_pause_bench(
            settings, client, catalogue, PauseSet([long_pause, no_pause], [barge_in])
        )
    finally:
        await client.close()

    cut, whole = report.answers
    assert cut.judged and whole.judged, report.text()
    assert cut.cut_in and 0.6 < cut.cut_in_at < 2.5, report.text()
    assert not whole.cut_in and whole.heard[0] == "восемь девять один два" and 0 < whole.reply_ms < 2000
    (stopped,) = report.barge_ins
    assert stopped.counted == 1 and stopped.stop_ms is not None and stopped.stop_ms < 600, report.text()
    assert "false cut-ins, all answers: 1 of 2 answers (50.0 %)" in report.text()


def test_the_rule_is_asked_at_each_pause_with_the_words_before_it():
    asked = []

    async def complete_after_a_date(words: str) -> bool:
        asked.append(words)
        return words.endswith("двадцатого")

    cut = asyncio.run(first_complete_part("я заплачу |0.4| двадцатого |0.5| декабря", complete_after_a_date))
    assert cut == "я заплачу двадцатого"
    assert asked == ["я заплачу", "я заплачу двадцатого"]
    assert asyncio.run(first_complete_part("я заплачу |0.4| двадцатого", complete_after_a_date)) is None
