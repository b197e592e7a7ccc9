"""DTMF collection: keys close together are one answer, `#` ends an answer at once, a pause ends it too."""

from __future__ import annotations

import asyncio
import time

from bot.calls.dtmf_collector import DtmfCollector

GAP = 0.1  # the digit gap in these tests
PAST = 0.4  # long enough for the gap to have passed


def _collector() -> tuple[DtmfCollector, list[tuple[str, float]]]:
    answers: list[tuple[str, float]] = []
    return DtmfCollector(GAP, lambda digits, at: answers.append((digits, at))), answers


async def test_keys_closer_than_the_gap_are_one_answer_given_when_the_gap_has_passed():
    keys, answers = _collector()
    for key in "123":
        keys.key(key)
    assert answers == [] and keys.pending
    await asyncio.sleep(PAST)
    assert [digits for digits, _ in answers] == ["123"] and not keys.pending


async def test_the_terminator_ends_the_answer_at_once_and_stays_in_it():
    keys, answers = _collector()
    keys.key("4")
    keys.key("2")
    keys.key("#")
    assert [digits for digits, _ in answers] == ["42#"]
    await asyncio.sleep(PAST)
    assert len(answers) == 1  # the gap's timer was stopped with it


async def test_keys_apart_by_more_than_the_gap_are_two_answers():
    keys, answers = _collector()
    keys.key("1")
    await asyncio.sleep(PAST)
    keys.key("2")
    await asyncio.sleep(PAST)
    assert [digits for digits, _ in answers] == ["1", "2"]


async def test_an_answer_carries_the_time_of_its_last_key():
    keys, answers = _collector()
    keys.key("7")
    await asyncio.sleep(GAP / 4)
    before = time.monotonic()
    keys.key("#")
    ((_, last_key_at),) = answers
    assert before <= last_key_at <= time.monotonic()


async def test_flushing_without_keys_gives_nothing_and_stop_drops_waiting_keys():
    keys, answers = _collector()
    keys.flush()
    keys.key("9")
    keys.stop()
    await asyncio.sleep(PAST)
    assert answers == [] and not keys.pending
