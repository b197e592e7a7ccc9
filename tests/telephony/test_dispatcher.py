"""Inbound calls spread over two robot workers by Kamailio's dispatcher (round-robin, OPTIONS probing, failover).

The workers are two robot `Phone`s in trunk mode (what `voicebot serve` runs for SIP), not full platform workers:
the proxy's part is what is tested here. Callers are SIPp (`uac_turns.xml.in`); each robot answers, waits a
second and hangs up, so every call is a complete dialog through the proxy (INVITE/200/ACK, BYE/200 record-routed).
"""

from __future__ import annotations

import asyncio
import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from telephony import EndReason, Phone, TelephonySettings, rig
from tests.telephony.conftest import robot_settings

pytestmark = [pytest.mark.sip, pytest.mark.slow]

PROXY_PORT = 6300  # probing every second
PROXY_NO_PROBE_PORT = 6320  # probing every 60 s: only the INVITE failover can save a call
PROXY_SPILL_PORT = 6330
WORKER_PORTS = {"worker-1": 6301, "worker-2": 6302}
RTP_BASE = {"worker-1": 45000, "worker-2": 45200}


def worker_settings(proxy_port: int, name: str, **overrides) -> TelephonySettings:
    sip_port, rtp = WORKER_PORTS[name], RTP_BASE[name]
    return robot_settings(
        (sip_port, rtp, rtp + 198),
        proxy_port,
        "robot",
        registrar=None,
        proxy=f"127.0.0.1:{proxy_port}",
        trunk_mode=True,
        **overrides,
    )


class Workers:
    """Robot phones that answer every call, hang up after a second and note who took which call."""

    def __init__(self, proxy_port: int) -> None:
        self.proxy_port = proxy_port
        self.phones: dict[str, Phone] = {}
        self.answered: list[str] = []
        self.hangups: list[tuple[str, bool, EndReason | None]] = []

    async def start(self, name: str, **overrides) -> Phone:
        async def answer(call):
            await call.answer()
            self.answered.append(name)
            await asyncio.sleep(1.0)
            self.hangups.append((name, await call.hangup(), call.end_reason))

        phone = Phone(worker_settings(self.proxy_port, name, **overrides), on_incoming=answer)
        await phone.start()
        self.phones[name] = phone
        return phone

    async def stop(self, name: str) -> None:
        await self.phones.pop(name).stop()

    async def stop_all(self) -> None:
        for name in list(self.phones):
            await self.stop(name)

    def take(self) -> tuple[list[str], list[tuple[str, bool, EndReason | None]]]:
        """What was answered and hung up since the last take."""
        answered, hangups = self.answered, self.hangups
        self.answered, self.hangups = [], []
        return answered, hangups


@pytest.fixture
async def workers():
    made: list[Workers] = []

    def factory(proxy_port: int) -> Workers:
        made.append(Workers(proxy_port))
        return made[-1]

    yield factory
    for group in made:
        await group.stop_all()


@pytest.fixture
def dispatcher(rig_dir):
    started: list[rig.Peer] = []

    def factory(port: int, ping_interval: int) -> rig.Peer:
        destinations = [f"sip:127.0.0.1:{p}" for p in WORKER_PORTS.values()]
        started.append(
            rig.start_kamailio_dispatcher(rig_dir, port, destinations, ping_interval=ping_interval)
        )
        return started[-1]

    yield factory
    for peer in started:
        peer.stop()


async def place_calls(
    rig_dir: Path, proxy_port: int, calls: int, local_port: int, media_port: int
) -> rig.Peer:
    """`calls` inbound calls through the proxy (5 a second, all may overlap); returns SIPp once it has exited."""
    scenario = rig_dir / "uac_turns_dispatch.xml"
    scenario.write_text((rig.RIG / "uac_turns.xml.in").read_text().replace("@WAIT_MS@", "8000"))
    pcap = rig_dir / "dispatch-caller.pcap"
    if not pcap.exists():
        rig.pcap_from_pcm(rig.speechlike(0.5), pcap, "PCMU")
    args = rig.sipp_caller_args(
        proxy_port, scenario, "robot", local_port, media_port, calls=calls, timeout=20, pcap=pcap
    )
    args += ["-r", "5", "-l", str(calls)]
    # Kamailio's children relay a worker's 180 and 200 in parallel, so a 180 may reach the caller after the 200
    # (allowed; phones ignore it). SIPp would abort the call on it: let it continue instead.
    args += ["-default_behaviors", "all,-abortunexp"]
    peer = rig.start_sipp(rig_dir, args, name=f"sipp-dispatch-{local_port}")
    try:
        await asyncio.get_running_loop().run_in_executor(None, peer.wait, 30)
    except subprocess.TimeoutExpired:
        peer.stop()  # its exit status then fails the test, with its screen
    await asyncio.sleep(0.3)  # the robots' last hang-ups are confirmed
    return peer


def assert_all_completed(peer: rig.Peer, calls: int, answered: list[str], hangups: list) -> None:
    assert peer.proc.returncode == 0, peer.output()[-2000:]  # SIPp: every call got its 200 and BYE
    assert len(answered) == calls, answered
    assert sorted(name for name, _, _ in hangups) == sorted(answered)
    assert all(ok and reason is EndReason.LOCAL_HANGUP for _, ok, reason in hangups), hangups


async def wait_for_log(peer: rig.Peer, pattern: str, timeout: float) -> None:
    for _ in range(int(timeout * 10)):
        if re.search(pattern, peer.output()):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {pattern!r} in the dispatcher's log:\n{peer.output()[-2000:]}")


async def test_round_robin_spreads_calls_and_probing_skips_a_dead_worker(dispatcher, workers, rig_dir):
    proxy = dispatcher(PROXY_PORT, ping_interval=1)
    group = workers(PROXY_PORT)
    for name in WORKER_PORTS:
        await group.start(name)

    sipp = await place_calls(rig_dir, PROXY_PORT, 10, 6310, 45400)
    answered, hangups = group.take()
    assert_all_completed(sipp, 10, answered, hangups)
    assert Counter(answered) == {"worker-1": 5, "worker-2": 5}  # round-robin: each worker every other call

    await group.stop("worker-2")
    await wait_for_log(proxy, r"WORKER DOWN OPTIONS sip:127\.0\.0\.1:6302", timeout=10)
    sipp = await place_calls(rig_dir, PROXY_PORT, 6, 6311, 45600)
    answered, hangups = group.take()
    assert_all_completed(sipp, 6, answered, hangups)
    assert set(answered) == {"worker-1"}
    after_down = proxy.output().split("WORKER DOWN", 1)[1]
    assert "to sip:127.0.0.1:6302" not in after_down  # skipped by the probe's verdict, not by a failed INVITE

    await group.start("worker-2")  # back: the next probe finds it
    await wait_for_log(proxy, r"WORKER UP OPTIONS sip:127\.0\.0\.1:6302", timeout=10)
    sipp = await place_calls(rig_dir, PROXY_PORT, 4, 6312, 45800)
    answered, hangups = group.take()
    assert_all_completed(sipp, 4, answered, hangups)
    assert Counter(answered) == {"worker-1": 2, "worker-2": 2}


async def test_invite_left_unanswered_by_a_worker_fails_over_to_the_other(dispatcher, workers, rig_dir):
    """Probing too slow to notice (60 s): INVITEs sent to the dead worker time out after fr_timer (2 s) and are
    relayed to the live one; the dead worker is marked inactive then, so later calls skip it at once."""
    proxy = dispatcher(PROXY_NO_PROBE_PORT, ping_interval=60)
    group = workers(PROXY_NO_PROBE_PORT)
    for name in WORKER_PORTS:
        await group.start(name)
    await group.stop("worker-2")

    sipp = await place_calls(rig_dir, PROXY_NO_PROBE_PORT, 4, 6321, 46000)
    answered, hangups = group.take()
    assert_all_completed(sipp, 4, answered, hangups)
    assert set(answered) == {"worker-1"}
    log = proxy.output()
    tried_dead = re.findall(r"DISPATCH cid=(\S+) to sip:127\.0\.0\.1:6302", log)
    assert tried_dead, log[-3000:]  # round-robin sent some INVITEs to the dead worker ...
    for call_id in tried_dead:  # ... and each was relayed to the live one after fr_timer
        assert re.search(rf"DISPATCH cid={re.escape(call_id)} to sip:127\.0\.0\.1:6301", log), log[-3000:]
    assert re.search(r"WORKER DOWN INVITE \S+ du=sip:127\.0\.0\.1:6302", log), log[-3000:]

    sipp = await place_calls(rig_dir, PROXY_NO_PROBE_PORT, 4, 6322, 46200)  # marked inactive: skipped at once
    answered, hangups = group.take()
    assert_all_completed(sipp, 4, answered, hangups)
    assert set(answered) == {"worker-1"}
    assert re.findall(r"DISPATCH cid=\S+ to sip:127\.0\.0\.1:6302", proxy.output()) == [
        f"DISPATCH cid={call_id} to sip:127.0.0.1:6302" for call_id in tried_dead
    ]


async def test_a_full_worker_refuses_with_486_and_the_call_goes_to_the_other(dispatcher, workers, rig_dir):
    """worker-1 takes one call at a time (max_concurrent_calls=1): the second call round-robin gives it while it is
    busy gets 486 from it and is relayed to worker-2; worker-1 is not marked down for that."""
    proxy = dispatcher(PROXY_SPILL_PORT, ping_interval=1)
    group = workers(PROXY_SPILL_PORT)
    await group.start("worker-1", max_concurrent_calls=1)
    await group.start("worker-2")

    sipp = await place_calls(
        rig_dir, PROXY_SPILL_PORT, 4, 6331, 46400
    )  # 0.2 s apart, each 1 s long: all overlap
    answered, hangups = group.take()
    assert_all_completed(sipp, 4, answered, hangups)
    assert Counter(answered) == {"worker-1": 1, "worker-2": 3}
    log = proxy.output()
    refused = re.findall(r"DISPATCH cid=(\S+) to sip:127\.0\.0\.1:6301", log)
    spilled = [c for c in refused if re.search(rf"DISPATCH cid={re.escape(c)} to sip:127\.0\.0\.1:6302", log)]
    assert len(refused) == 2 and len(spilled) == 1, log[-3000:]
    assert "WORKER DOWN" not in log
