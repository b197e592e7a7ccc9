"""One phone call: 16-bit PCM audio in and out, DTMF, transfer, hang-up and typed lifecycle events."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from telephony.config import MediaEncryption
from telephony.events import (
    CallDirection,
    CallEvent,
    CallEventType,
    CallInfo,
    CallState,
    EndReason,
    TransferResult,
    TransferStatus,
)
from telephony.rtp.session import FRAME_BYTES, RtpSession
from telephony.rtp.srtp import DEFAULT_SUITE, CryptoAttribute, SrtpContext, new_key
from telephony.sip.dialog import Dialog
from telephony.sip.message import Address, SipMessage, SipUri
from telephony.sip.refer import parse_sipfrag, refer_to_uri
from telephony.sip.sdp import (
    Direction,
    MediaDescription,
    Negotiated,
    SdpError,
    build_sdp,
    negotiate,
    negotiate_crypto,
)
from telephony.sip.transaction import ServerTransaction, TransactionTimeout

if TYPE_CHECKING:
    from telephony.phone import Phone

log = logging.getLogger(__name__)

FORWARD_CUSHION = 3 * FRAME_BYTES  # 60 ms queued ahead of forwarded audio
AUDIO_QUEUE_FRAMES = 250  # 5 s of incoming audio before the oldest frames are dropped


class CallEnded(Exception):
    """The operation needs a live call."""


@dataclass(frozen=True)
class BridgeTap:
    """A bridged call's audio for its recording: `heard` gets each frame from the call's peer while it is
    forwarded to another call, `played` each frame forwarded to this call from the other call's peer."""

    heard: Callable[[bytes], None]
    played: Callable[[bytes], None]


class Call:
    """A call's audio and control surface. Created by `Phone`; not constructed by applications.

    The phone drives a call through `receive_audio`/`receive_dtmf` (its RTP session's callbacks), `on_request`
    (the peer's in-dialog requests), `apply_remote_sdp`, `activate`, `drop_answered` and `mark_ended`; the call
    uses the phone's `settings`, `ua`, `target_uri`, `dialog_destination` and `forget`. Applications use the rest.
    """

    def __init__(self, phone: Phone, info: CallInfo, rtp: RtpSession, local_tag: str) -> None:
        self._phone = phone
        self.info = info
        self.rtp = rtp
        self.local_tag = local_tag
        self.state = CallState.RINGING
        self.end_reason: EndReason | None = None
        self.dialog: Dialog | None = None
        self.negotiated: Negotiated | None = None
        self.remote_direction = Direction.SENDRECV
        self.invite_txn: ServerTransaction | None = None
        self.created_at = time.monotonic()
        self.answered_at: float | None = None
        self._sdp_version = 1
        self._sdp_session = int(time.time())
        self._audio: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._forward: Call | None = None  # bridged: the peer's audio goes straight to this call
        self.bridge_tap: BridgeTap | None = None  # records both directions of a bridge (set by the recorder)
        self._subscribers: list[asyncio.Queue[CallEvent]] = []
        self._listeners: list[Callable[[CallEvent], None]] = []
        self._ended = asyncio.Event()
        self._answered = asyncio.Event()
        self._transfer_progress: asyncio.Queue[tuple[int, str]] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._ack_timeout_handle: asyncio.TimerHandle | None = None
        self._encryption = phone.settings.media_encryption
        self._srtp_key = new_key() if self._encryption is not MediaEncryption.NONE else None

    @property
    def call_id(self) -> str:
        return self.info.call_id

    @property
    def direction(self) -> CallDirection:
        return self.info.direction

    @property
    def codec(self) -> str:
        return self.rtp.codec.name

    @property
    def srtp_suite(self) -> str | None:
        """The SRTP crypto suite the audio travels under, None for plain RTP."""
        return self.rtp.srtp.suite if self.rtp.srtp else None

    def __repr__(self) -> str:
        return f"<Call {self.info.direction} {self.info.caller}->{self.info.called} {self.state}>"

    # ---- events --------------------------------------------------------
    def add_listener(self, listener: Callable[[CallEvent], None]) -> None:
        """Call `listener(event)` synchronously for every event from now on."""
        self._listeners.append(listener)

    async def events(self) -> AsyncIterator[CallEvent]:
        """Every event from now on, ending after the ENDED event."""
        queue: asyncio.Queue[CallEvent] = asyncio.Queue()
        self._subscribers.append(queue)
        try:
            if self.state is CallState.ENDED:
                return
            while True:
                event = await queue.get()
                yield event
                if event.type is CallEventType.ENDED:
                    return
        finally:
            self._subscribers.remove(queue)

    def _emit(self, type_: CallEventType, **kwargs) -> None:
        event = CallEvent(type=type_, call_id=self.call_id, **kwargs)
        for queue in self._subscribers:
            queue.put_nowait(event)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("call event listener failed")

    async def wait_ended(self) -> EndReason | None:
        await self._ended.wait()
        return self.end_reason

    # ---- audio ---------------------------------------------------------
    def receive_audio(self, pcm: bytes) -> None:
        """One decoded 20 ms frame from the peer, delivered by the call's RTP session (wired up by `Phone`)."""
        if self.state is not CallState.ACTIVE:
            return
        if self._forward is not None:
            self._forward._play_bridged(pcm)
            if self.bridge_tap is not None:
                self.bridge_tap.heard(pcm)
            return
        if self._audio.qsize() >= AUDIO_QUEUE_FRAMES:
            with contextlib.suppress(asyncio.QueueEmpty):
                self._audio.get_nowait()
        self._audio.put_nowait(pcm)

    def forward_audio(self, to: Call | None) -> None:
        """Send the peer's audio straight on to `to` (one direction of a bridge of two calls) instead of to
        `read_audio`; None ends the forwarding. `to` gets 60 ms of silence first: a cushion for the arrival
        jitter of the forwarded packets, which `to` sends on its own 20 ms clock."""
        if to is not None and self._forward is None:
            to.write_audio(bytes(FORWARD_CUSHION))
        self._forward = to

    def _play_bridged(self, pcm: bytes) -> None:
        """A frame forwarded from the other call of a bridge: sent to this call's peer (and to its tap)."""
        self.write_audio(pcm)
        if self.bridge_tap is not None and self.state is CallState.ACTIVE:
            self.bridge_tap.played(pcm)

    async def read_audio(self) -> bytes | None:
        """The next 20 ms frame (320 bytes of 16-bit PCM, 8 kHz mono) from the peer; None when the call ended."""
        if self.state is CallState.ENDED and self._audio.empty():
            return None
        return await self._audio.get()

    async def audio_frames(self) -> AsyncIterator[bytes]:
        while (frame := await self.read_audio()) is not None:
            yield frame

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self.audio_frames()

    def write_audio(self, pcm16: bytes) -> None:
        """Queue 16-bit 8 kHz mono PCM; it is sent paced at real time, 20 ms per packet."""
        if self.state is CallState.ACTIVE:
            self.rtp.write(pcm16)

    def flush_audio(self) -> int:
        """Drop audio queued but not yet sent (barge-in). Returns the number of bytes dropped."""
        return self.rtp.flush()

    @property
    def on_hold(self) -> bool:
        """The peer holds the call (sendonly/inactive): nothing is sent; queued audio waits for the resume."""
        return self.state is CallState.ACTIVE and not self.rtp.sending

    @property
    def queued_audio_seconds(self) -> float:
        return self.rtp.queued_bytes / (FRAME_BYTES * 50)

    async def wait_audio_sent(self) -> None:
        """Until everything written so far has been sent (or flushed)."""
        drained = asyncio.ensure_future(self.rtp.drained())
        ended = asyncio.ensure_future(self._ended.wait())
        await asyncio.wait({drained, ended}, return_when=asyncio.FIRST_COMPLETED)
        drained.cancel()
        ended.cancel()

    async def send_dtmf(self, digits: str, duration_ms: int = 100) -> None:
        """Send RFC 2833 telephone events; returns once they have been sent."""
        if self.state is not CallState.ACTIVE:
            raise CallEnded("call is not active")
        if self.rtp.dtmf_pt is None:
            raise CallEnded("peer did not offer telephone-event")
        self.rtp.send_dtmf(digits, duration_ms)
        while self.rtp.dtmf_pending and self.state is CallState.ACTIVE:
            await asyncio.sleep(0.02)

    def receive_dtmf(self, digit: str) -> None:
        """One RFC 2833 digit from the peer, delivered by the call's RTP session (wired up by `Phone`)."""
        if self.state is CallState.ACTIVE:
            self._emit(CallEventType.DTMF, digit=digit)

    # ---- media setup ---------------------------------------------------
    def local_sdp(
        self, direction: Direction = Direction.SENDRECV, codecs: tuple[str, ...] | None = None
    ) -> bytes:
        s = self._phone.settings
        if (
            self.negotiated is None
        ):  # our offer: RTP/SAVP when SRTP is required, best effort (RTP/AVP) otherwise
            profile = "RTP/SAVP" if self._encryption is MediaEncryption.SDES_REQUIRED else "RTP/AVP"
            crypto = CryptoAttribute(1, DEFAULT_SUITE, self._srtp_key) if self._srtp_key else None
        else:  # answer (or a later offer) in the profile and suite agreed
            profile, agreed = self.negotiated.remote.profile, self.negotiated.crypto
            crypto = (
                CryptoAttribute(agreed.tag, agreed.suite, self._srtp_key)
                if agreed and self._srtp_key
                else None
            )
        return build_sdp(
            self._phone.ua.local[0],
            self.rtp.local_port,
            codecs or s.codecs,
            s.dtmf_payload_type if self.negotiated is None else self.negotiated.dtmf_pt,
            direction,
            self._sdp_session,
            self._sdp_version,
            profile,
            crypto,
        )

    def apply_remote_sdp(self, body: bytes) -> Negotiated:
        """Take the peer's SDP (the INVITE's offer or the 200 OK's answer, given by `Phone`; a re-INVITE's, here):
        codec, DTMF, SRTP keys, address and hold direction. Raises `SdpError` when nothing acceptable is offered."""
        remote = MediaDescription.parse(body)
        negotiated = negotiate(remote, self._phone.settings.codecs)
        crypto = negotiate_crypto(remote, self._encryption)
        negotiated = Negotiated(remote, negotiated.codec, negotiated.payload_type, negotiated.dtmf_pt, crypto)
        self.negotiated = negotiated
        if crypto is None or self._srtp_key is None:
            self.rtp.srtp = None
        elif self.rtp.srtp is None or self.rtp.srtp.suite != crypto.suite:
            self.rtp.srtp = SrtpContext(crypto.suite, self._srtp_key, crypto.key)
        else:
            self.rtp.srtp.rekey_remote(crypto.key)
        self.remote_direction = remote.direction
        self.rtp.update_remote((remote.address, remote.port), negotiated.codec, negotiated.dtmf_pt)
        # Held (peer sendonly/inactive): we answer recvonly/inactive and, as that answer says, send nothing.
        # What the robot queued meanwhile is played after the resume, not lost.
        self.rtp.set_sending(remote.direction.remote_receives)
        return negotiated

    def _start_media(self) -> None:
        assert self.negotiated is not None
        self.rtp.start(
            (self.negotiated.remote.address, self.negotiated.remote.port),
            self.negotiated.codec,
            self.negotiated.dtmf_pt,
        )
        self._watchdog = asyncio.get_running_loop().create_task(self._rtp_watchdog())

    async def _rtp_watchdog(self) -> None:
        timeout = self._phone.settings.rtp_timeout
        self.rtp.last_received = time.monotonic()
        while self.state is CallState.ACTIVE:
            await asyncio.sleep(1.0)
            if self.remote_direction in (Direction.RECVONLY, Direction.INACTIVE):
                self.rtp.last_received = time.monotonic()
            elif time.monotonic() - self.rtp.last_received > timeout:
                log.info("call %s: no RTP for %.0f s", self.call_id, timeout)
                await self.hangup(EndReason.RTP_TIMEOUT)

    # ---- inbound answer / reject ---------------------------------------
    async def answer(self) -> bool:
        """Answer a ringing inbound call (200 OK with our SDP). False if it was cancelled meanwhile."""
        if self.state is not CallState.RINGING or self.invite_txn is None:
            return self.state is CallState.ACTIVE
        assert self.negotiated is not None
        txn = self.invite_txn
        resp = self._phone.ua.respond_with_body(
            txn,
            200,
            "OK",
            self.local_tag,
            self.local_sdp(self.remote_direction.answer, (self.negotiated.codec,)),
        )
        del resp
        txn.on_no_ack = lambda: asyncio.ensure_future(self.hangup(EndReason.NO_ACK))
        self.activate()
        return True

    async def reject(self, code: int = 486, reason: str = "Busy Here") -> None:
        if self.state is CallState.RINGING and self.invite_txn is not None:
            self._phone.ua.respond(self.invite_txn, code, reason, self.local_tag)
            self.mark_ended(EndReason.REJECTED)

    def activate(self) -> None:
        """The call is answered (our 200 OK sent by `answer`, or the peer's acknowledged by `Phone.dial`): it goes
        ACTIVE, media starts and ANSWERED is emitted."""
        self.state = CallState.ACTIVE
        self.answered_at = time.monotonic()
        self._start_media()
        self._answered.set()
        self._emit(CallEventType.ANSWERED)

    def drop_answered(self, reason: EndReason) -> Coroutine[None, None, bool]:
        """Hang up an outbound call the peer answered but `Phone.dial` will not hand out (an unusable SDP answer,
        or answered after our CANCEL): the dialog exists, so the call counts as ACTIVE at once (without media or
        ANSWERED) and the returned `hangup(reason)` sends the BYE."""
        self.state = CallState.ACTIVE
        return self.hangup(reason)

    # ---- hang-up -------------------------------------------------------
    async def hangup(self, reason: EndReason = EndReason.LOCAL_HANGUP) -> bool:
        """End the call: BYE when active, 486 when still ringing (inbound).

        True when the peer confirmed (2xx to BYE, or the rejection was sent); the call ends either way.
        """
        if self.state is CallState.RINGING and self.direction is CallDirection.INBOUND:
            await self.reject(486, "Busy Here")
            return True
        if self.state is not CallState.ACTIVE or self.dialog is None:
            return False
        self.mark_ended(reason)
        bye = self.dialog.request("BYE")
        bye.add("Reason", 'SIP;cause=200;text="' + reason.value + '"')
        try:
            resp = await asyncio.wait_for(self._in_dialog_request(bye), 8)
        except Exception as exc:
            log.info("call %s: BYE not confirmed: %s", self.call_id, exc)
            return False
        return 200 <= (resp.status or 0) < 300

    async def _in_dialog_request(self, msg: SipMessage) -> SipMessage:
        """Send a request in our dialog (answering a 401/407 if challenged); the final response.

        A challenged request is re-sent with CSeq + 1, so the dialog's counter follows it: otherwise the next
        request (the BYE after a challenged REFER) would reuse that CSeq and be refused as out of order.
        """
        assert self.dialog is not None
        try:
            return await self._phone.ua.request(msg, self._phone.dialog_destination(self.dialog))
        finally:
            self.dialog.local_cseq = max(self.dialog.local_cseq, msg.cseq[0])

    def mark_ended(self, reason: EndReason) -> None:
        """End the call's state without sending anything: the SIP exchange that ended it was already done (our
        final response, BYE or CANCEL, or the peer's). For `Phone` and this class; applications use `hangup`."""
        if self.state is CallState.ENDED:
            return
        self.state = CallState.ENDED
        self.end_reason = reason
        self.rtp.close()
        if self._watchdog and self._watchdog is not asyncio.current_task():
            self._watchdog.cancel()
        self._audio.put_nowait(None)
        self._phone.forget(self)
        self._ended.set()
        self._emit(CallEventType.ENDED, reason=reason)

    # ---- transfer ------------------------------------------------------
    async def transfer(
        self, target: str, timeout: float = 30.0, headers: Mapping[str, str] | None = None
    ) -> TransferResult:
        """Blind transfer (REFER), following the NOTIFY sipfrag progress to success or failure.

        `headers` travel inside the Refer-To URI (`sip:agent@pbx?X-Foo=bar`, RFC 3261 19.1.1): the transferee
        copies them into its INVITE to the target. On success the call ends with reason TRANSFERRED (we send
        BYE if the peer did not).
        """
        if self.state is not CallState.ACTIVE or self.dialog is None:
            return TransferResult(TransferStatus.FAILED, None, "call is not active")
        refer_to = refer_to_uri(self._phone.target_uri(target), headers or {})
        self._transfer_progress = asyncio.Queue()
        refer = self.dialog.request("REFER")
        refer.add("Refer-To", f"<{refer_to}>")
        refer.add("Referred-By", str(Address(self._phone.ua.aor())))
        refer.add("Contact", str(self._phone.ua.contact))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            resp = await asyncio.wait_for(self._in_dialog_request(refer), timeout)
        except (TimeoutError, TransactionTimeout):
            return TransferResult(TransferStatus.TIMEOUT, None, "REFER not answered")
        except Exception as exc:
            return TransferResult(TransferStatus.FAILED, None, f"REFER failed: {exc}")
        if not 200 <= (resp.status or 0) < 300:
            return TransferResult(
                TransferStatus.FAILED, resp.status, f"REFER rejected: {resp.status} {resp.reason}"
            )
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0 or (self.state is CallState.ENDED and self._transfer_progress.empty()):
                if self.state is CallState.ENDED and self.end_reason is EndReason.REMOTE_BYE:
                    # Some peers hang up as soon as they accept the REFER, before the final NOTIFY.
                    return TransferResult(
                        TransferStatus.SUCCEEDED, None, "peer left after accepting the REFER"
                    )
                return TransferResult(TransferStatus.TIMEOUT, None, "no final NOTIFY")
            try:
                code, text = await asyncio.wait_for(self._transfer_progress.get(), min(remaining, 0.5))
            except TimeoutError:
                continue
            self._emit(CallEventType.TRANSFER_PROGRESS, code=code, detail=text)
            if code >= 300:
                return TransferResult(TransferStatus.FAILED, code, f"transfer target answered {code} {text}")
            if code >= 200:
                if self.state is CallState.ACTIVE:
                    await self.hangup(EndReason.TRANSFERRED)
                else:
                    self.end_reason = EndReason.TRANSFERRED
                return TransferResult(TransferStatus.SUCCEEDED, code, text)

    # ---- in-dialog requests from the peer --------------------------------
    def on_request(self, msg: SipMessage, txn: ServerTransaction) -> None:
        """A request from the peer within this call's dialog, routed here by `Phone`."""
        ua = self._phone.ua
        method = msg.method
        if method == "ACK":
            if self.invite_txn is not None:
                self.invite_txn.ack()
            if self._reinvite_txn is not None:
                self._reinvite_txn.ack()
            return
        if self.dialog is not None and method != "CANCEL":
            if msg.cseq[0] < self.dialog.remote_cseq and method != "ACK":
                ua.respond(txn, 500, "Server Internal Error")  # out of order (RFC 3261 12.2.2)
                return
            self.dialog.remote_cseq = msg.cseq[0]
        if method == "BYE":
            ua.respond(txn, 200, "OK")
            if self.state is CallState.ENDED and self.end_reason is EndReason.TRANSFERRED:
                return
            self.mark_ended(EndReason.REMOTE_BYE)
        elif method == "CANCEL":
            ua.respond(txn, 200, "OK")
            if self.state is CallState.RINGING and self.invite_txn is not None:
                ua.respond(self.invite_txn, 487, "Request Terminated", self.local_tag)
                self.mark_ended(EndReason.CANCELLED)
        elif method == "INVITE":
            self._on_reinvite(msg, txn)
        elif method == "NOTIFY":
            ua.respond(txn, 200, "OK")
            if (msg.get("Event") or "").split(";")[0].strip().lower() == "refer" and self._transfer_progress:
                status = parse_sipfrag(msg.body)
                if status:
                    self._transfer_progress.put_nowait(status)
        elif method in ("INFO", "UPDATE") and not msg.body:
            ua.respond(txn, 200, "OK")
        elif method == "REFER":
            ua.respond(txn, 603, "Decline")
        else:
            ua.respond(txn, 405, "Method Not Allowed")

    _reinvite_txn: ServerTransaction | None = None

    def _on_reinvite(self, msg: SipMessage, txn: ServerTransaction) -> None:
        ua = self._phone.ua
        if self.state is not CallState.ACTIVE or self.dialog is None:
            ua.respond(txn, 481, "Call/Transaction Does Not Exist")
            return
        self.dialog.update_target(msg)
        was_held = self.remote_direction in (Direction.SENDONLY, Direction.INACTIVE)
        if msg.body:
            try:
                negotiated = self.apply_remote_sdp(msg.body)
            except SdpError as exc:
                ua.respond(txn, 488, "Not Acceptable Here")
                log.info("call %s: re-INVITE SDP refused: %s", self.call_id, exc)
                return
            codecs = (negotiated.codec,)
            direction = self.remote_direction.answer
        else:
            codecs, direction = None, Direction.SENDRECV  # offer in our 200, answer in the ACK (not applied)
        self._sdp_version += 1
        self._reinvite_txn = txn
        ua.respond_with_body(txn, 200, "OK", self.local_tag, self.local_sdp(direction, codecs))
        held = self.remote_direction in (Direction.SENDONLY, Direction.INACTIVE)
        if held and not was_held:
            self._emit(CallEventType.HOLD)
        elif was_held and not held:
            self._emit(CallEventType.RESUME)
        self._emit(CallEventType.MEDIA_UPDATED, detail=f"{self.rtp.remote} {self.remote_direction}")


def user_of(uri_text: str) -> str:
    try:
        return Address.parse(uri_text).uri.user or ""
    except Exception:
        try:
            return SipUri.parse(uri_text).user or ""
        except Exception:
            return ""
