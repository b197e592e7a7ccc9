"""Barge-in: what the caller's speech or key does to a prompt that plays or is due."""

from __future__ import annotations

from bot.calls.barge_in import CallerOverPrompt, PromptFloor


def test_speech_with_no_prompt_in_the_way_is_taken():
    floor = PromptFloor()
    assert floor.caller_started(barge_in=False) is CallerOverPrompt.TAKE
    assert floor.busy and floor.barge_ins == 0
    floor.caller_stopped()
    assert not floor.busy and not floor.take_ignored_utterance()


def test_speech_over_a_playing_prompt_interrupts_it_when_the_step_allows_barge_in():
    floor = PromptFloor()
    floor.reply_queued()
    floor.prompt_started()
    assert floor.caller_started(barge_in=True) is CallerOverPrompt.INTERRUPT
    assert floor.barge_ins == 1 and not floor.reply_pending
    assert not floor.take_ignored_utterance()


def test_a_reply_still_queued_counts_as_a_prompt():
    floor = PromptFloor()
    floor.reply_queued()
    assert floor.prompt_due and floor.busy
    assert floor.caller_started(barge_in=True) is CallerOverPrompt.INTERRUPT
    assert not floor.prompt_due


def test_speech_over_a_prompt_without_barge_in_is_ignored_once():
    floor = PromptFloor()
    floor.prompt_started()
    assert floor.caller_started(barge_in=False) is CallerOverPrompt.IGNORE
    assert floor.barge_ins == 0 and floor.bot_speaking
    assert floor.take_ignored_utterance()  # its transcript is dropped
    assert not floor.take_ignored_utterance()  # the next one is not


def test_a_key_interrupts_a_prompt_with_barge_in_and_is_taken_either_way():
    floor = PromptFloor()
    floor.prompt_started()
    assert floor.key_pressed(barge_in=False) is CallerOverPrompt.TAKE
    assert not floor.take_ignored_utterance() and floor.barge_ins == 0
    assert floor.key_pressed(barge_in=True) is CallerOverPrompt.INTERRUPT
    assert floor.barge_ins == 1


def test_the_end_of_a_prompt_frees_the_floor():
    floor = PromptFloor()
    floor.reply_queued()
    floor.prompt_started()
    floor.prompt_ended()
    assert not floor.prompt_due and not floor.busy
    assert floor.key_pressed(barge_in=True) is CallerOverPrompt.TAKE
