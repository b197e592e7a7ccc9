"""`voicebot chaos` prints its rows as one aligned table; a value a scenario does not have is `-`."""

from bot.devtools.chaos import table


def test_the_chaos_table_has_one_aligned_line_per_fault_and_dashes_for_what_a_fault_lacks() -> None:
    rows = [
        {
            "fault": "worker SIGKILLed",
            "calls_up": 2,
            "contacts": 40,
            "lost": 0,
            "dialled_twice": 0,
            "events_lost": 0,
            "calls_left_live": 0,
            "seconds_to_recover": 3.5,
        },
        {
            "fault": "PostgreSQL down",
            "calls_up": 3,
            "contacts": 8,
            "lost": 0,
            "dialled_twice": 0,
            "events_lost": None,
            "calls_left_live": None,
            "seconds_to_recover": 12.25,
        },
    ]
    lines = table(rows).splitlines()
    assert lines[0].split("  ")[0].strip() == "fault" and lines[0].endswith("s to recover")
    assert set(lines[1]) == {"-", " "}
    assert lines[2].split() == ["worker", "SIGKILLed", "2", "40", "0", "0", "0", "0", "3.5"]
    assert lines[3].split() == ["PostgreSQL", "down", "3", "8", "0", "0", "-", "-", "12.25"]
    assert len({len(line) for line in lines}) == 1, "columns aligned"
