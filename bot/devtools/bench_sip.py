"""SIP load benchmark: SIPp callers -> Kamailio -> one robot Phone echoing audio; prints a table per level.

Needs kamailio and sipp (loopback only). Usage: python -m bot.devtools.bench_sip [--levels 10,50,100] [--keep DIR]
Exit status 1 when any level had a failed call.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from telephony import rig
from telephony.config import TelephonySettings
from telephony.phone import Phone
from telephony.rtp.clock import use_realtime_priority

KAM_PORT, SIPP_PORT, ROBOT_PORT = 5260, 5281, 5270


async def run_level(n: int, workdir: Path) -> dict:
    setup_ms: list[float] = []
    calls = []

    async def echo(call):
        await call.answer()
        setup_ms.append((call.answered_at - call.created_at) * 1000)
        calls.append(call)
        async for frame in call:
            call.write_audio(frame)

    settings = TelephonySettings(
        registrar=f"127.0.0.1:{KAM_PORT}",
        user="robot",
        password="secret",
        sip_port=ROBOT_PORT + n % 7,
        rtp_port_min=40000,
        rtp_port_max=49000,
        max_concurrent_calls=max(n, 1) + 10,
    )
    phone = Phone(settings, on_incoming=echo, record_send_times=True)
    await phone.start()
    pcap = rig.pcap_from_pcm(rig.speechlike(3.0), workdir / "bench.pcap", "PCMU")
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.monotonic()
    # SIPp media ports 20000 + 4 per call: clear of the test suite (16400-17000)
    args = rig.sipp_caller_args(
        KAM_PORT, rig.RIG / "uac_dtmf.xml", "robot", SIPP_PORT, 20000, calls=n, timeout=60, pcap=pcap
    )
    proc = await asyncio.create_subprocess_exec(
        "sipp",
        *args,
        "-l",
        str(n),
        "-r",
        str(max(10, n // 2)),
        "-nostdin",
        "-trace_err",
        "-trace_screen",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        cwd=workdir,
    )
    returncode = await asyncio.wait_for(proc.wait(), 90)
    wall = time.monotonic() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    await asyncio.sleep(0.5)
    await phone.stop()
    rates, gaps = [], []
    for call in calls:
        times = call.rtp.send_times or []
        if len(times) > 50:
            rates.append((len(times) - 1) / (times[-1] - times[0]))
            gaps.extend(np.diff(times) * 1000)
    sipp = sipp_outcome(workdir, proc.pid, returncode)
    failed = max(n - len(calls), sipp.failed)
    cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
    return {
        "calls": n,
        "ok": len(calls),
        "failed": failed,
        "sipp_rc": returncode,
        "sipp_errors": sipp.errors,
        "setup_p50_ms": statistics.median(setup_ms) if setup_ms else float("nan"),
        "setup_max_ms": max(setup_ms) if setup_ms else float("nan"),
        "cpu_pct_per_call": 100 * cpu / wall / max(1, len(calls)),
        "rate_min": min(rates) if rates else 0.0,
        "rate_max": max(rates) if rates else 0.0,
        "gap_p99_ms": float(np.percentile(gaps, 99)) if gaps else float("nan"),
    }


@dataclass(frozen=True)
class SippOutcome:
    failed: int  # SIPp's own "Failed call" count (1 if it exited non-zero without saying why)
    errors: list[str]  # first lines of its -trace_err log: which message was unexpected or timed out


def sipp_outcome(workdir: Path, pid: int, returncode: int) -> SippOutcome:
    """What SIPp itself says about a run (its screen and error logs are named after its pid)."""
    failed = 0
    for screen in workdir.glob(f"*_{pid}_screen.log"):
        counts = re.findall(r"Failed call\s*\|\s*\d+\s*\|\s*(\d+)", screen.read_text(errors="replace"))
        failed = max(failed, *map(int, counts)) if counts else failed
    errors: list[str] = []
    for log in workdir.glob(f"*_{pid}_errors.log"):
        errors += [line for line in log.read_text(errors="replace").splitlines() if line.strip()][:20]
    if returncode != 0 and failed == 0:
        failed = 1
        errors.append(f"sipp exited {returncode}")
    return SippOutcome(failed, errors)


async def amain(levels: list[int], keep: Path | None = None) -> int:
    rt = use_realtime_priority()
    print(f"realtime priority: {rt}")
    print(
        f"{'calls':>5} {'ok':>4} {'fail':>4} {'setup p50/max ms':>17} {'cpu%/call':>9} "
        f"{'pkt/s min-max':>14} {'p99 gap ms':>10}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        workdir = keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        kam = rig.start_kamailio(workdir, KAM_PORT, 5290)
        failed_calls = 0
        try:
            for n in levels:
                r = await run_level(n, workdir)
                failed_calls += r["failed"]
                print(
                    f"{r['calls']:>5} {r['ok']:>4} {r['failed']:>4} "
                    f"{r['setup_p50_ms']:>8.1f}/{r['setup_max_ms']:<8.1f} {r['cpu_pct_per_call']:>9.2f} "
                    f"{r['rate_min']:>6.2f}-{r['rate_max']:<7.2f} {r['gap_p99_ms']:>10.1f}",
                    flush=True,
                )
                for line in r["sipp_errors"]:
                    print(f"      sipp: {line}", file=sys.stderr)
        finally:
            kam.stop()
    return 1 if failed_calls else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="voicebot bench sip", description=__doc__)
    parser.add_argument("--levels", default="10,50,100", help="comma-separated concurrency levels")
    parser.add_argument(
        "--keep", type=Path, help="keep SIPp's logs (-trace_err/-trace_stat/screen) in this directory"
    )
    args = parser.parse_args(argv)
    return asyncio.run(amain([int(x) for x in args.levels.split(",")], args.keep))


if __name__ == "__main__":
    raise SystemExit(main())
