"""`voicebot chaos` prints its rows as one aligned table; a value a scenario does not have is `-`."""

from bot.devtools.chaos import _named, table

KILLED = {
    "fault": "worker SIGKILLed",
    "calls_up": 2,
    "contacts": 40,
    "lost": 0,
    "dialled_twice": 0,
    "events_lost": 0,
    "calls_left_live": 0,
    "seconds_to_recover": 3.5,
    "result": "passed",
}


def test_the_chaos_table_has_one_aligned_line_per_fault_and_dashes_for_what_a_fault_lacks() -> None:
    unmeasured = {"fault": "tests/x.py::test_y", "result": "failed"}
    lines = table([KILLED, unmeasured]).splitlines()
    assert lines[0].split()[:2] == ["fault", "calls"] and lines[0].endswith("s to recover    test")
    assert set(lines[1]) == {"-", " "}
    assert lines[2].split() == ["worker", "SIGKILLed", "2", "40", "0", "0", "0", "0", "3.5", "passed"]
    assert lines[3].split() == ["tests/x.py::test_y", "-", "-", "-", "-", "-", "-", "-", "failed"]
    assert len({len(line) for line in lines}) == 1, "columns aligned"


def test_a_test_that_records_no_numbers_is_named_in_words_with_its_parameter_kept() -> None:
    test = "tests/calls/test_machine_timing.py::test_a_machine_call_ends_machine[late-4s]"
    assert _named(test) == "machine_timing: a machine call ends machine[late-4s]"
    long = _named("tests/x/test_y.py::test_" + "z_" * 60 + "[p]")
    assert len(long) == 72 and long.endswith("…[p]")
