"""An outbound call the peer answers but `dial` cannot hand out (an answer without SDP, or a 200 OK after our
CANCEL) is acknowledged and taken down with a BYE naming why, and frees its slot. The peer is a scripted raw UDP
UAS."""

from __future__ import annotations

import asyncio

from telephony import DialStatus, Phone
from telephony.sip.message import SipMessage
from tests.telephony.conftest import robot_settings
from tests.telephony.test_tel_dialog_auth import SDP, RawPeer


async def _dial_scripted(ports, script, ring_timeout: float):
    """Dial the raw peer while `script(peer)` answers; the dial result and the BYE the peer received."""
    robot = Phone(robot_settings(ports, 0, "robot", registrar=None, trunk_mode=True))
    await robot.start()
    peer = RawPeer()
    scripted = asyncio.get_running_loop().create_task(script(peer))
    try:
        result = await robot.dial(f"sip:peer@127.0.0.1:{peer.port}", ring_timeout=ring_timeout)
        bye: SipMessage = await asyncio.wait_for(scripted, 5)
        return result, bye, dict(robot.calls)
    finally:
        scripted.cancel()
        peer.sock.close()
        await robot.stop()


async def _acked_then_hung_up(peer: RawPeer) -> SipMessage:
    """After the peer's 200 OK: the robot's ACK, then its BYE, which the peer answers; returns the BYE."""
    await peer.recv("ACK")
    bye, addr = await peer.recv("BYE")
    await peer.reply(bye, addr, 200, "OK")
    return bye


async def test_an_answer_without_sdp_is_hung_up_as_an_error(ports):
    async def script(peer: RawPeer) -> SipMessage:
        invite, addr = await peer.recv("INVITE")
        await peer.reply(invite, addr, 200, "OK")
        return await _acked_then_hung_up(peer)

    result, bye, calls_left = await _dial_scripted(ports, script, ring_timeout=3)
    assert result.status is DialStatus.FAILED and result.call is None, result
    assert "unusable SDP answer" in result.reason, result
    assert bye.get("Reason") == 'SIP;cause=200;text="error"'
    assert calls_left == {}


async def test_a_200_ok_after_our_cancel_is_hung_up_as_cancelled(ports):
    async def script(peer: RawPeer) -> SipMessage:
        invite, addr = await peer.recv("INVITE")
        await peer.reply(invite, addr, 180, "Ringing")
        cancel, cancel_addr = await peer.recv("CANCEL")
        await peer.reply(cancel, cancel_addr, 200, "OK")
        await peer.reply(invite, addr, 200, "OK", body=SDP.format(port=peer.port + 2))
        return await _acked_then_hung_up(peer)

    result, bye, calls_left = await _dial_scripted(ports, script, ring_timeout=0.5)
    assert result.status is DialStatus.NO_ANSWER and result.call is None, result
    assert result.reason == "answered after CANCEL; hung up" and result.code == 200, result
    assert bye.get("Reason") == 'SIP;cause=200;text="cancelled"'
    assert calls_left == {}
