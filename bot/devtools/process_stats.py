"""A benchmarked process's CPU time and memory, read from /proc (Linux)."""

import asyncio
import contextlib
import os


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its reaped children (espeak-ng runs as a child per phrase)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident memory of a process, MB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def peak_rss(pid: int, peak: list[float]) -> None:
    """Keep `peak[0]` at the highest resident memory seen, sampled every 0.2 s until cancelled."""
    while True:
        with contextlib.suppress(OSError):
            peak[0] = max(peak[0], rss_mb(pid))
        await asyncio.sleep(0.2)
