"""The robot's phone: registration, inbound call delivery, outbound dialling with clear results."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping

from telephony.call import Call, user_of
from telephony.config import MediaEncryption, TelephonySettings, host_port
from telephony.droplog import DropLog
from telephony.events import CallDirection, CallInfo, CallState, DialResult, DialStatus, EndReason
from telephony.rtp.session import RtpSession
from telephony.sip.auth import AuthError
from telephony.sip.dialog import Dialog
from telephony.sip.message import Address, SipMessage, SipUri, new_call_id, new_tag
from telephony.sip.sdp import MediaSecurityError, SdpError
from telephony.sip.transaction import ServerTransaction, TransactionTimeout
from telephony.sip.useragent import RegistrationError, UserAgent

log = logging.getLogger(__name__)

IncomingHandler = Callable[[Call], Awaitable[None]]

BUSY_CODES = {486, 600}
NO_ANSWER_CODES = {408, 480, 487}


class Phone:
    """An asyncio SIP phone. `await start()`, then `dial()` out or receive calls via `on_incoming`.

    The inbound handler gets a ringing `Call` (caller, called number, headers in `call.info`) and
    decides: `await call.answer()` (200 OK sent at once) or `await call.reject(code)`. A handler that
    returns without deciding leaves the call answered (if it is still ringing).
    """

    def __init__(
        self,
        settings: TelephonySettings,
        on_incoming: IncomingHandler | None = None,
        record_send_times: bool = False,
    ) -> None:
        self.settings = settings
        self.on_incoming = on_incoming
        self.ua = UserAgent(settings, self._on_request)
        self.calls: dict[str, Call] = {}
        self._tasks: set[asyncio.Task] = set()
        self._record_send_times = record_send_times
        self._drops = DropLog(log, "SIP request for a call")

    # ---- lifecycle -----------------------------------------------------
    async def start(self, wait_for_registrar: bool = False) -> None:
        """Bind the SIP socket and register (unless trunk mode). Raises RegistrationError on failure; with
        `wait_for_registrar` a registrar that does not answer is retried in the background (`line_up` false)."""
        try:
            await self.ua.start(wait_for_registrar)
        except Exception:
            self.ua.transport.close()
            raise

    async def stop(self) -> None:
        for call in list(self.calls.values()):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(call.hangup(EndReason.SHUTDOWN), 2)
        for task in list(self._tasks):
            task.cancel()
        await self.ua.stop()

    async def __aenter__(self) -> Phone:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    @property
    def line_up(self) -> bool:
        """Can calls be placed and received: registered (the UA retries with back-off while not), or no
        registration to keep (trunk mode, no registrar)."""
        registers = not self.settings.trunk_mode and bool(self.settings.registrar)
        return self.ua.registered or not registers

    @property
    def active_calls(self) -> int:
        return len(self.calls)

    def forget(self, call: Call) -> None:
        """Stop routing requests to `call` and free its slot: called by the call when it ends."""
        self.calls.pop(call.call_id, None)

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ---- addressing ----------------------------------------------------
    def target_uri(self, target: str) -> SipUri:
        """A number ('+4930123', '9123') becomes sip:number@domain; SIP URIs pass through."""
        target = target.strip()
        if target.startswith(("sip:", "sips:", "<")):
            return SipUri.parse(target)
        if "@" in target:
            return SipUri.parse("sip:" + target)
        domain, port = self.settings.sip_domain, None
        server = self.settings.registrar or self.settings.proxy
        if server and not self.settings.domain:
            domain, port = host_port(server, self.settings.default_port)
            port = None if port == self.settings.default_port else port
        return SipUri(host=domain, user=target, port=port)

    def _outbound_destination(self, uri: SipUri) -> tuple[str, int]:
        return self.ua.server or uri.address

    def dialog_destination(self, dialog: Dialog) -> tuple[str, int]:
        """Where a call sends the requests of its dialog (BYE, REFER)."""
        return dialog.destination

    async def _open_rtp(self, call_holder: list[Call]) -> RtpSession:
        def on_audio(pcm: bytes) -> None:
            if call_holder:
                call_holder[0].receive_audio(pcm)

        def on_dtmf(digit: str) -> None:
            if call_holder:
                call_holder[0].receive_dtmf(digit)

        rtp = RtpSession(on_audio, on_dtmf, record_send_times=self._record_send_times)
        s = self.settings
        await rtp.open(s.local_host, s.rtp_port_min, s.rtp_port_max)
        return rtp

    # ---- inbound -------------------------------------------------------
    def _on_request(self, msg: SipMessage, txn: ServerTransaction) -> None:
        call = self.calls.get(msg.call_id)
        if call is not None:
            if msg.method == "INVITE" and not msg.to_addr.tag and call.invite_txn is not None:
                return  # a retransmission that slipped past transaction matching
            if not _in_dialog_of(call, msg):
                self._drops.drop(txn.addr, f"{msg.method} with the tags of no dialog")
                if msg.method != "ACK":
                    self.ua.respond(txn, 481, "Call/Transaction Does Not Exist")
                return
            call.on_request(msg, txn)
            return
        if msg.method == "INVITE" and not msg.to_addr.tag:
            self._incoming(msg, txn)
        elif msg.method == "ACK":
            return
        else:
            self.ua.respond(txn, 481, "Call/Transaction Does Not Exist")

    def _incoming(self, msg: SipMessage, txn: ServerTransaction) -> None:
        if len(self.calls) >= self.settings.max_concurrent_calls:
            self.ua.respond(txn, 486, "Busy Here")
            return
        if self.on_incoming is None:
            self.ua.respond(txn, 480, "Temporarily Unavailable")
            return
        self.ua.respond(txn, 100, "Trying")
        # Reserve the slot now so a burst of INVITEs cannot overshoot the cap.
        self.calls[msg.call_id] = None  # type: ignore[assignment]
        task = self._spawn(self._accept_incoming(msg, txn))
        task.add_done_callback(lambda task: self._setup_done(task, msg.call_id, txn))

    def _setup_done(self, task: asyncio.Task, call_id: str, txn: ServerTransaction) -> None:
        """An inbound call whose setup failed unexpectedly gets a 500 and frees its slot (never stays ringing)."""
        if task.cancelled() or task.exception() is None:
            return
        log.error("inbound call %s: setup failed", call_id, exc_info=task.exception())
        call = self.calls.pop(call_id, None)
        if call is not None:
            call.mark_ended(EndReason.ERROR)
        if txn.final_status is None:
            self.ua.respond(txn, 500, "Server Internal Error")

    async def _accept_incoming(self, msg: SipMessage, txn: ServerTransaction) -> None:
        holder: list[Call] = []
        try:
            rtp = await self._open_rtp(holder)
        except OSError as exc:
            self.calls.pop(msg.call_id, None)
            self.ua.respond(txn, 503, "Service Unavailable")
            log.warning("no RTP port for inbound call: %s", exc)
            return
        from_addr = msg.from_addr
        try:
            to_uri = SipUri.parse(msg.uri or "")
        except Exception:
            to_uri = msg.to_addr.uri
        info = CallInfo(
            call_id=msg.call_id,
            direction=CallDirection.INBOUND,
            caller=from_addr.uri.user or "",
            called=to_uri.user or msg.to_addr.uri.user or "",
            caller_uri=str(from_addr.uri),
            called_uri=str(to_uri),
            display_name=from_addr.display,
            headers=tuple(msg.headers),
        )
        tag = new_tag()
        call = Call(self, info, rtp, tag)
        holder.append(call)
        call.invite_txn = txn
        call.dialog = Dialog.as_uas(msg, tag)
        self.calls[msg.call_id] = call
        try:
            if not msg.body:
                raise SdpError("INVITE without SDP offer is not supported")
            call.apply_remote_sdp(msg.body)
        except SdpError as exc:
            log.info("inbound call %s refused (488): %s", msg.call_id, exc)
            warning = (("Warning", f'399 {self.ua.local[0]} "{exc}"'),)
            reason = "Not Acceptable Here"
            if isinstance(exc, MediaSecurityError):
                encrypted = self.settings.media_encryption is not MediaEncryption.NONE
                reason = "SRTP Required" if encrypted else "SRTP Not Supported"
            self.ua.respond(txn, 488, reason, tag, headers=warning)
            call.mark_ended(EndReason.REJECTED)
            return
        if txn.final_status is not None:  # cancelled while we set up
            call.mark_ended(EndReason.CANCELLED)
            return
        self.ua.respond(txn, 180, "Ringing", tag)
        try:
            await self.on_incoming(call)  # type: ignore[misc]
            if call.state is CallState.RINGING:
                await call.answer()
        except Exception:
            log.exception("inbound call handler failed")
            if call.state is CallState.RINGING:
                await call.reject(500, "Server Internal Error")
            elif call.state is CallState.ACTIVE:
                await call.hangup(EndReason.ERROR)

    # ---- outbound ------------------------------------------------------
    async def dial(
        self,
        target: str,
        caller_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        ring_timeout: float | None = None,
        cancel: asyncio.Event | None = None,
    ) -> DialResult:
        """Place a call; returns when it is answered or definitively not.

        `ring_timeout` (default from settings) ends an unanswered attempt with CANCEL -> NO_ANSWER;
        setting `cancel` abandons it -> CANCELLED. Cancelling the awaiting task also sends CANCEL.
        """
        s = self.settings
        if len(self.calls) >= s.max_concurrent_calls:
            return DialResult(DialStatus.FAILED, reason="max concurrent calls reached")
        ring_timeout = s.ring_timeout if ring_timeout is None else ring_timeout
        try:
            await self.ua.ensure_connected()
        except RegistrationError as exc:
            return DialResult(DialStatus.FAILED, reason=str(exc))
        uri = self.target_uri(target)
        holder: list[Call] = []
        try:
            rtp = await self._open_rtp(holder)
        except OSError as exc:
            return DialResult(DialStatus.FAILED, reason=str(exc))
        caller = caller_id or s.caller_id or s.user
        from_addr = Address(self.ua.aor(caller), display=s.display_name, params=(("tag", new_tag()),))
        call_id = new_call_id(self.ua.local[0])
        info = CallInfo(
            call_id=call_id,
            direction=CallDirection.OUTBOUND,
            caller=caller,
            called=uri.user or "",
            caller_uri=str(from_addr.uri),
            called_uri=str(uri),
            display_name=s.display_name,
            headers=tuple((headers or {}).items()),
        )
        call = Call(self, info, rtp, from_addr.tag or "")
        holder.append(call)
        self.calls[call_id] = call
        invite = SipMessage(method="INVITE", uri=str(uri))
        invite.add("Max-Forwards", "70")
        invite.add("From", str(from_addr))
        invite.add("To", str(Address(uri)))
        invite.add("Call-ID", call_id)
        invite.add("CSeq", "1 INVITE")
        invite.add("Contact", str(self.ua.contact))
        invite.add("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS, NOTIFY, REFER, INFO")
        for name, value in (headers or {}).items():
            invite.add(name, value)
        invite.add("Content-Type", "application/sdp")
        invite.body = call.local_sdp()
        try:
            result = await self._run_invite(
                call, invite, self._outbound_destination(uri), ring_timeout, cancel
            )
        except asyncio.CancelledError:
            call.mark_ended(EndReason.CANCELLED)
            raise
        if result.status is not DialStatus.ANSWERED and call.state is not CallState.ACTIVE:
            # (an ACTIVE call here was answered but is unusable or cancelled: its hang-up task sends the BYE)
            call.mark_ended(
                EndReason.CANCELLED if result.status is DialStatus.CANCELLED else EndReason.REJECTED
            )
        return result

    async def options(self, target: str, timeout: float = 4.0) -> int | None:
        """An out-of-dialog OPTIONS to `target` through the registrar/proxy: the final status code (200: the
        target answered; 404/480: not registered), or None when nothing answered within `timeout` seconds."""
        uri = self.target_uri(target)
        try:
            await self.ua.ensure_connected()
        except RegistrationError:
            return None
        msg = SipMessage(method="OPTIONS", uri=str(uri))
        msg.add("Max-Forwards", "70")
        msg.add("From", str(Address(self.ua.aor(), params=(("tag", new_tag()),))))
        msg.add("To", str(Address(uri)))
        msg.add("Call-ID", new_call_id(self.ua.local[0]))
        msg.add("CSeq", "1 OPTIONS")
        msg.add("Accept", "application/sdp")
        try:
            response = await self.ua.request(msg, self._outbound_destination(uri), timeout=timeout)
        except (TransactionTimeout, AuthError):
            return None
        return response.status

    async def _run_invite(
        self,
        call: Call,
        invite: SipMessage,
        dest: tuple[str, int],
        ring_timeout: float,
        cancel: asyncio.Event | None,
    ) -> DialResult:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ring_timeout
        challenged = False
        cancel_sent: DialStatus | None = None
        while True:
            txn = self.ua.send_request(invite, dest)
            provisional = False
            try:
                while True:
                    timeout = deadline - loop.time() if cancel_sent is None else 8.0
                    get = asyncio.ensure_future(txn.responses.get())
                    waiters = {get}
                    cancel_wait = None
                    if cancel is not None and cancel_sent is None:
                        cancel_wait = asyncio.ensure_future(cancel.wait())
                        waiters.add(cancel_wait)
                    done, _ = await asyncio.wait(
                        waiters, timeout=max(0.0, timeout), return_when=asyncio.FIRST_COMPLETED
                    )
                    if cancel_wait is not None:
                        cancel_wait.cancel()
                    if get not in done:
                        get.cancel()
                        if txn.final.done() and txn.final.exception() is not None:
                            return DialResult(DialStatus.FAILED, reason="no response to INVITE")
                        if cancel_sent is not None:
                            return DialResult(cancel_sent, reason="no final response after CANCEL")
                        cancel_sent = DialStatus.CANCELLED if cancel_wait in done else DialStatus.NO_ANSWER
                        if not provisional:
                            # RFC 3261 9.1: no CANCEL before a provisional response; stop retransmitting.
                            txn.cancel_timers()
                            return DialResult(cancel_sent, reason="no provisional response")
                        self._send_cancel(txn)
                        continue
                    resp = get.result()
                    status = resp.status or 0
                    if status < 200:
                        if status > 100 or status == 100:
                            provisional = True
                        continue
                    if 200 <= status < 300:
                        return self._answered(call, invite, resp, dest, cancel_sent)
                    if status in (401, 407) and not challenged and cancel_sent is None:
                        challenged = True
                        self.ua.renew(invite)
                        try:
                            self.ua.add_credentials(invite, resp)
                        except AuthError as exc:
                            return DialResult(DialStatus.FAILED, code=status, reason=str(exc))
                        break  # resend with credentials
                    if status in (401, 407):
                        return DialResult(
                            DialStatus.FAILED,
                            code=status,
                            reason=f"authentication rejected ({status} {resp.reason}): wrong password or user?",
                        )
                    if cancel_sent is not None and status == 487:
                        return DialResult(
                            cancel_sent,
                            code=status,
                            reason="cancelled after ring timeout"
                            if cancel_sent is DialStatus.NO_ANSWER
                            else "cancelled",
                        )
                    if status == 488 and self.settings.media_encryption is MediaEncryption.SDES_REQUIRED:
                        warning = resp.get("Warning")
                        return DialResult(
                            DialStatus.REJECTED,
                            code=status,
                            reason=f"{status} {resp.reason}: the peer refused our SRTP-only offer "
                            f"(media_encryption sdes_required){f'; Warning: {warning}' if warning else ''}",
                        )
                    if status in BUSY_CODES:
                        return DialResult(DialStatus.BUSY, code=status, reason=resp.reason)
                    if status in NO_ANSWER_CODES:
                        return DialResult(DialStatus.NO_ANSWER, code=status, reason=resp.reason)
                    return DialResult(DialStatus.REJECTED, code=status, reason=resp.reason)
            except asyncio.CancelledError:
                if provisional and not txn.final.done():
                    self._send_cancel(txn)
                raise
            except TransactionTimeout:
                return DialResult(DialStatus.FAILED, reason="no response to INVITE")

    def _send_cancel(self, txn) -> None:
        invite = txn.request
        cancel = SipMessage(method="CANCEL", uri=invite.uri)
        cancel.add("Via", invite.get_all("Via")[0])
        for route in invite.get_all("Route"):
            cancel.add("Route", route)
        cancel.add("Max-Forwards", "70")
        cancel.add("From", invite.get("From") or "")
        cancel.add("To", invite.get("To") or "")
        cancel.add("Call-ID", invite.call_id)
        cancel.add("CSeq", f"{invite.cseq[0]} CANCEL")
        cancel_txn = self.ua.send_request(cancel, txn.dest, timeout=8)
        cancel_txn.final.add_done_callback(lambda f: f.exception())

    def _answered(
        self,
        call: Call,
        invite: SipMessage,
        resp: SipMessage,
        dest: tuple[str, int],
        cancel_sent: DialStatus | None,
    ) -> DialResult:
        dialog = Dialog.as_uac(invite, resp)
        call.dialog = dialog
        ack = dialog.request("ACK", cseq=invite.cseq[0])
        ack.add("Content-Length", "0")
        ack_dest = dialog.destination
        self.ua.send_ack(ack, ack_dest)
        ack_bytes = ack.encode()
        self.ua.expect_2xx_retransmissions(
            call.call_id, lambda _r: self.ua.transport.send(ack_bytes, ack_dest)
        )
        asyncio.get_running_loop().call_later(40, self.ua.expect_2xx_retransmissions, call.call_id, None)
        try:
            if not resp.body:
                raise SdpError("200 OK without SDP answer")
            call.apply_remote_sdp(resp.body)
        except SdpError as exc:
            self._spawn(call.drop_answered(EndReason.ERROR))
            return DialResult(DialStatus.FAILED, code=resp.status, reason=f"unusable SDP answer: {exc}")
        if cancel_sent is not None:  # answered while we were cancelling: take it down
            self._spawn(call.drop_answered(EndReason.CANCELLED))
            return DialResult(cancel_sent, code=resp.status, reason="answered after CANCEL; hung up")
        call.activate()
        return DialResult(DialStatus.ANSWERED, call=call, code=resp.status, reason=resp.reason)


def _in_dialog_of(call: Call, msg: SipMessage) -> bool:
    """Does a request with the call's Call-ID belong to its dialog (RFC 3261 12.2.2: our tag in To, the peer's in
    From)? A CANCEL or the INVITE itself, before the dialog has tags, matches by the From tag."""
    to_tag, from_tag = msg.to_addr.tag, msg.from_addr.tag
    if to_tag is not None and to_tag != call.local_tag:
        return False
    if to_tag is None and msg.method not in ("INVITE", "CANCEL", "ACK"):
        return False
    remote_tag = call.dialog.remote.tag if call.dialog else None
    return remote_tag is None or from_tag == remote_tag


__all__ = ["Phone", "TransactionTimeout", "user_of"]
