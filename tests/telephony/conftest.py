"""Fixtures for the telephony suite: Kamailio proxies (plain and digest-auth) and robot phones on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import numpy as np
import pytest

from telephony import Call, DialStatus, Phone, TelephonySettings, rig
from telephony.rtp.clock import use_realtime_priority

KAM_PORT = 5160  # plain registrar/proxy
KAM_AUTH_PORT = 5162  # digest auth: 401 on REGISTER, 407 on INVITE/REFER from robot*
TRUNK_PORT = 5190  # SIPp "PSTN trunk" behind the plain proxy (numbers 9...)
TRUNK_AUTH_PORT = 5192

_ports = itertools.count(0)


def pytest_collection_modifyitems(config, items):
    if rig.have_peers():
        return
    skip = pytest.mark.skip(reason="kamailio/baresip/sipp not installed (scripts/setup installs them)")
    for item in items:
        if "sip" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def media_priority():
    """Run the robot's event loop under SCHED_FIFO, as a media server is deployed (docs/telephony.md).

    The test machine is shared (2 cores, other suites running, CPU pressure ~80 %): with ordinary
    scheduling even a bare `time.sleep(0.02)` loop shows 30-70 ms gaps there. Skipped without permission.
    """
    use_realtime_priority()
    yield


@pytest.fixture(scope="session")
def rig_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("sip-rig")


@pytest.fixture(autouse=True)
def stop_peers():
    """Peers a test started (baresip, SIPp, shells) never outlive it, even when it fails."""
    started = len(rig.RUNNING)
    yield
    while len(rig.RUNNING) > started:
        rig.RUNNING.pop().stop()


@pytest.fixture(scope="session")
def kamailio(rig_dir):
    peer = rig.start_kamailio(rig_dir, KAM_PORT, TRUNK_PORT)
    yield KAM_PORT
    peer.stop()


@pytest.fixture(scope="session")
def kamailio_auth(rig_dir):
    peer = rig.start_kamailio(rig_dir, KAM_AUTH_PORT, TRUNK_AUTH_PORT, auth=True)
    yield KAM_AUTH_PORT
    peer.stop()


@pytest.fixture
def ports():
    """A fresh (sip_port, rtp_min, rtp_max) block per test so phones never collide."""
    n = next(_ports)
    return 5300 + n * 2, 30000 + n * 200, 30000 + n * 200 + 198


def robot_settings(ports, proxy_port: int, user: str, **overrides) -> TelephonySettings:
    sip_port, rtp_min, rtp_max = ports
    values = dict(
        registrar=f"127.0.0.1:{proxy_port}",
        user=user,
        password="secret",
        local_host="127.0.0.1",
        sip_port=sip_port,
        rtp_port_min=rtp_min,
        rtp_port_max=rtp_max,
        register_expires=120,
        rtp_timeout=10,
    )
    values.update(overrides)
    return TelephonySettings(**values)


@pytest.fixture
async def make_phone():
    phones: list[Phone] = []

    async def factory(settings: TelephonySettings, on_incoming=None, start: bool = True) -> Phone:
        phone = Phone(settings, on_incoming=on_incoming)
        phones.append(phone)
        if start:
            await phone.start()
        return phone

    yield factory
    for phone in phones:
        await phone.stop()


@contextlib.asynccontextmanager
async def loopback_call(ports, on_customer: Callable[[Call], Awaitable[None]]) -> AsyncIterator[Call]:
    """A live call between two trunk-mode phones on loopback, no proxy: a robot phone dials a customer phone whose
    `on_customer` takes the incoming call; yields the robot's answered `Call` and stops both phones after."""
    sip_port, rtp_min, rtp_max = ports
    customer_phone = Phone(
        robot_settings(ports, 0, "customer", registrar=None, trunk_mode=True), on_incoming=on_customer
    )
    robot_phone = Phone(
        robot_settings((sip_port + 1, rtp_min + 100, rtp_max), 0, "robot", registrar=None, trunk_mode=True)
    )
    await customer_phone.start()
    await robot_phone.start()
    try:
        result = await robot_phone.dial(f"sip:customer@127.0.0.1:{sip_port}", ring_timeout=3)
        assert result.status is DialStatus.ANSWERED
        yield result.call
    finally:
        await robot_phone.stop()
        await customer_phone.stop()


async def baresip_calls(home: Path, user: str) -> None:
    """The baresip customer at `home` calls `user` through its proxy (15 s, then it quits); returns once it has
    exited cleanly and the robot's side had 0.2 s to settle."""
    caller = rig.start_baresip(home, 15, [f"/dial sip:{user}@127.0.0.1"])
    try:
        assert await wait_peer(caller, 20) == 0, caller.output()[-2000:]
    finally:
        caller.stop()
    await asyncio.sleep(0.2)


def assert_heard_both_ways(
    robot_says: np.ndarray, home: Path, customer_says: np.ndarray, frames: list[bytes]
) -> None:
    """The audio checks of a call with a baresip customer: what the robot said, in baresip's decoded recording under
    `home`, and what the customer said, in the robot's received `frames`, both gain-matched at 30 dB SNR or better
    with no dead frames."""
    heard_by_customer = rig.compare_audio(robot_says, rig.read_wav(rig.recording(home, "dec")))
    heard_by_robot = rig.compare_audio(customer_says, np.frombuffer(b"".join(frames), np.int16))
    assert heard_by_customer.snr_db >= 30, heard_by_customer
    assert heard_by_robot.snr_db >= 30, heard_by_robot
    assert heard_by_robot.dead_frames == 0 and heard_by_customer.dead_frames == 0


async def wait_peer(peer: rig.Peer, timeout: float) -> int:
    """Wait for a rig peer (SIPp, baresip) to exit without blocking the event loop; its exit code."""
    return await asyncio.get_running_loop().run_in_executor(None, peer.wait, timeout)
