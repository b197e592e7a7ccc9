"""In-dialog requests challenged by the peer: a REFER answered with 407 is re-sent with credentials, and the
dialog's CSeq follows it (the BYE after it must not reuse the CSeq). The peer is a scripted raw UDP UAS."""

from __future__ import annotations

import asyncio
import socket

from telephony import DialStatus, EndReason, Phone, TransferStatus
from telephony.sip.message import SipMessage
from tests.telephony.conftest import robot_settings

SDP = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
)


class RawPeer:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.loop = asyncio.get_running_loop()

    async def recv(self, method: str) -> tuple[SipMessage, tuple[str, int]]:
        while True:
            data, addr = await asyncio.wait_for(self.loop.sock_recvfrom(self.sock, 65535), 5)
            msg = SipMessage.parse(data)
            if msg.method == method:
                return msg, addr

    async def reply(self, req: SipMessage, addr, status: int, reason: str, extra: str = "", body: str = ""):
        to = req.get("To") or ""
        if ";tag=" not in to:
            to += ";tag=peer1"
        text = (
            f"SIP/2.0 {status} {reason}\r\n"
            + "".join(f"Via: {v}\r\n" for v in req.get_all("Via"))
            + f"From: {req.get('From')}\r\nTo: {to}\r\nCall-ID: {req.call_id}\r\nCSeq: {req.get('CSeq')}\r\n"
            + f"Contact: <sip:peer@127.0.0.1:{self.port}>\r\n{extra}"
            + ("Content-Type: application/sdp\r\n" if body else "")
            + f"Content-Length: {len(body)}\r\n\r\n{body}"
        )
        await self.loop.sock_sendto(self.sock, text.encode(), addr)


async def test_refer_challenged_407_is_retried_and_bye_cseq_follows(ports):
    robot = Phone(robot_settings(ports, 0, "robot", registrar=None, trunk_mode=True))
    await robot.start()
    peer = RawPeer()
    seen: dict[str, SipMessage] = {}

    async def script():
        invite, addr = await peer.recv("INVITE")
        await peer.reply(invite, addr, 200, "OK", body=SDP.format(port=peer.port + 2))
        await peer.recv("ACK")
        refer, addr = await peer.recv("REFER")
        seen["refer1"] = refer
        challenge = 'Proxy-Authenticate: Digest realm="127.0.0.1", nonce="n0nce", algorithm=MD5\r\n'
        await peer.reply(refer, addr, 407, "Proxy Authentication Required", challenge)
        refer, addr = await peer.recv("REFER")
        seen["refer2"] = refer
        await peer.reply(refer, addr, 202, "Accepted")
        robot_from = invite.get("From")
        notify = (
            f"NOTIFY {invite.get('Contact').strip('<>')} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{peer.port};branch=z9hG4bKnotify1\r\n"
            f"From: {invite.get('To')};tag=peer1\r\nTo: {robot_from}\r\nCall-ID: {invite.call_id}\r\n"
            "CSeq: 1 NOTIFY\r\nEvent: refer\r\nSubscription-State: terminated;reason=noresource\r\n"
            "Content-Type: message/sipfrag\r\nContent-Length: 16\r\n\r\nSIP/2.0 200 OK\r\n"
        )
        await peer.loop.sock_sendto(peer.sock, notify.encode(), addr)
        bye, addr = await peer.recv("BYE")
        seen["bye"] = bye
        await peer.reply(bye, addr, 200, "OK")

    scripted = asyncio.get_running_loop().create_task(script())
    try:
        result = await robot.dial(f"sip:peer@127.0.0.1:{peer.port}", ring_timeout=3)
        assert result.status is DialStatus.ANSWERED, result
        transfer = await result.call.transfer("sip:agent@127.0.0.1:5999", timeout=5)
        await asyncio.wait_for(scripted, 5)
    finally:
        scripted.cancel()
        peer.sock.close()
        await robot.stop()
    assert transfer.status is TransferStatus.SUCCEEDED and transfer.code == 200, transfer
    assert (seen["refer2"].get("Proxy-Authorization") or "").startswith("Digest ")
    assert seen["refer2"].cseq[0] == seen["refer1"].cseq[0] + 1
    assert seen["bye"].cseq[0] > seen["refer2"].cseq[0], (seen["refer2"].cseq, seen["bye"].cseq)
    assert result.call.end_reason is EndReason.TRANSFERRED
