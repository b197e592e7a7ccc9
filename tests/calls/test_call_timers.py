"""The call's timers: a one-shot timer that restarts and cancels, the no-input wait and the call-length limit."""

from __future__ import annotations

import asyncio

from bot.calls.call_timers import CallTimers, OneShotTimer

SHORT = 0.05  # a timer's delay in these tests
PAST = 0.3  # long enough for a SHORT timer to have fired


class _Fired:
    def __init__(self) -> None:
        self.names: list[str] = []

    def action(self, name: str):
        async def fire() -> None:
            self.names.append(name)

        return fire


async def test_a_timer_fires_once_after_its_delay_and_not_before():
    fired, timer = _Fired(), OneShotTimer()
    timer.start(SHORT, fired.action("a"))
    assert timer.running and fired.names == []
    await asyncio.sleep(PAST)
    assert fired.names == ["a"] and not timer.running


async def test_starting_a_timer_again_drops_the_pending_action():
    fired, timer = _Fired(), OneShotTimer()
    timer.start(SHORT, fired.action("first"))
    timer.start(SHORT, fired.action("second"))
    await asyncio.sleep(PAST)
    assert fired.names == ["second"]


async def test_a_cancelled_timer_never_fires():
    fired, timer = _Fired(), OneShotTimer()
    timer.start(SHORT, fired.action("a"))
    timer.cancel()
    await asyncio.sleep(PAST)
    assert fired.names == [] and not timer.running


async def test_an_action_that_cancels_its_own_timer_still_runs_to_its_end():
    timer, steps = OneShotTimer(), []

    async def action() -> None:
        steps.append("before")
        timer.cancel()
        await asyncio.sleep(0)
        steps.append("after")

    timer.start(SHORT, action)
    await asyncio.sleep(PAST)
    assert steps == ["before", "after"]


async def test_no_input_fires_after_the_wait_unless_the_caller_answers():
    fired = _Fired()
    timers = CallTimers(600.0, fired.action("no input"), fired.action("too long"))
    timers.wait_for_input(SHORT)
    assert timers.waiting_for_input
    await asyncio.sleep(PAST)
    assert fired.names == ["no input"]

    timers.wait_for_input(SHORT)
    timers.stop_waiting()  # the caller spoke
    await asyncio.sleep(PAST)
    assert fired.names == ["no input"] and not timers.waiting_for_input


async def test_the_call_length_limit_fires_unless_lifted():
    fired = _Fired()
    timers = CallTimers(SHORT, fired.action("no input"), fired.action("too long"))
    timers.start_call()
    await asyncio.sleep(PAST)
    assert fired.names == ["too long"]

    lifted = CallTimers(SHORT, fired.action("no input"), fired.action("lifted too long"))
    lifted.start_call()
    lifted.lift_call_limit()  # a warm transfer joined an agent
    await asyncio.sleep(PAST)
    assert fired.names == ["too long"]


async def test_stopping_the_timers_at_the_calls_end_silences_both():
    fired = _Fired()
    timers = CallTimers(SHORT, fired.action("no input"), fired.action("too long"))
    timers.start_call()
    timers.wait_for_input(SHORT)
    timers.stop()
    await asyncio.sleep(PAST)
    assert fired.names == []


async def test_timers_run_as_tasks_of_the_given_spawn():
    spawned: list[asyncio.Task] = []

    def spawn(coroutine):
        task = asyncio.create_task(coroutine)
        spawned.append(task)
        return task

    fired = _Fired()
    timers = CallTimers(600.0, fired.action("no input"), fired.action("too long"), spawn=spawn)
    timers.start_call()
    timers.wait_for_input(SHORT)
    assert len(spawned) == 2
    timers.stop()
    await asyncio.sleep(0)
    assert all(task.cancelled() for task in spawned)
