"""RFC 3261 section 17: client transactions (timers A/B, E/F; over a reliable transport only B/F) and server
response retransmission."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from telephony.sip.message import SipMessage

T1 = 0.5
T2 = 4.0
TIMEOUT = 64 * T1


class TransactionTimeout(Exception):
    """No final response within 64*T1."""


class ClientTransaction:
    """Sends a request, retransmits it until a (final) response, and hands responses to the caller.

    For INVITE, a non-2xx final response is ACKed here (same branch), as RFC 3261 17.1.1.3 requires;
    2xx responses go to the dialog layer, which ACKs them end to end.
    """

    def __init__(
        self,
        request: SipMessage,
        dest: tuple[str, int],
        send: Callable[[SipMessage | bytes, tuple[str, int]], None],
        on_done: Callable[[ClientTransaction], None],
        timeout: float = TIMEOUT,
        reliable: bool = False,
    ) -> None:
        """`reliable` (TLS/TCP): the request is sent once, no timer A/E retransmissions (RFC 3261 17.1.1.2,
        17.1.2.2); the timeouts B/F still apply."""
        self.request, self.dest, self._send = request, dest, send
        self._reliable = reliable
        self._on_done = on_done
        self.method = request.method or ""
        self.key = (request.branch, self.method)
        self.responses: asyncio.Queue[SipMessage] = asyncio.Queue()
        self.final: asyncio.Future[SipMessage] = asyncio.get_running_loop().create_future()
        self._data = request.encode()
        self._proceeding = False
        self._ack: bytes | None = None
        self._timeout = timeout
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        interval = T1
        self._send(self._data, self.dest)
        try:
            while not self.final.done():
                remaining = deadline - loop.time()
                if remaining <= 0:
                    if not (self.method == "INVITE" and self._proceeding):
                        self.final.set_exception(TransactionTimeout(f"no response to {self.method}"))
                    break
                await asyncio.sleep(min(interval, remaining))
                if self.final.done():
                    break
                if self.method == "INVITE":
                    if self._proceeding:
                        deadline = float("inf")  # the TU's ring timeout governs now
                        interval = 3600
                        continue
                    interval *= 2
                else:
                    interval = T2 if self._proceeding else min(interval * 2, T2)
                if loop.time() < deadline and not self._reliable:
                    self._send(self._data, self.dest)
            # keep absorbing retransmitted final responses (Timer D/K)
            await asyncio.sleep(T2 * 2 if self.method != "INVITE" else 8)
        except asyncio.CancelledError:
            pass
        finally:
            self._on_done(self)

    def on_response(self, resp: SipMessage) -> None:
        status = resp.status or 0
        if self.final.done():
            if self._ack is not None and status >= 300:
                self._send(self._ack, self.dest)
            elif status >= 200:
                self.responses.put_nowait(resp)  # 2xx retransmission: the dialog re-ACKs
            return
        self.responses.put_nowait(resp)
        if status < 200:
            self._proceeding = True
            return
        if self.method == "INVITE" and status >= 300:
            self._ack = self._ack_for(resp).encode()
            self._send(self._ack, self.dest)
        self.final.set_result(resp)

    def _ack_for(self, resp: SipMessage) -> SipMessage:
        ack = SipMessage(method="ACK", uri=self.request.uri)
        ack.add("Via", self.request.get_all("Via")[0])
        for route in self.request.get_all("Route"):
            ack.add("Route", route)
        ack.add("Max-Forwards", "70")
        ack.add("From", self.request.get("From") or "")
        ack.add("To", resp.get("To") or "")
        ack.add("Call-ID", self.request.call_id)
        ack.add("CSeq", f"{self.request.cseq[0]} ACK")
        return ack

    def cancel_timers(self) -> None:
        self._task.cancel()


class ServerTransaction:
    """Remembers the last response to a request so retransmissions of it are answered, not re-processed.

    Final responses to INVITE are retransmitted (timer G) until the ACK arrives or 64*T1 passes;
    `on_no_ack` is then called (a 2xx never ACKed means the call must be torn down).
    """

    def __init__(
        self,
        request: SipMessage,
        addr: tuple[str, int],
        send: Callable[[SipMessage | bytes, tuple[str, int]], None],
        on_done: Callable[[ServerTransaction], None],
    ) -> None:
        self.request, self.addr, self._send, self._on_done = request, addr, send, on_done
        self.method = request.method or ""
        self.key = (request.branch, self.method)
        self.last: bytes | None = None
        self.final_status: int | None = None
        self.acked = asyncio.Event()
        self.on_no_ack: Callable[[], None] | None = None
        self._task: asyncio.Task[None] | None = None
        loop = asyncio.get_running_loop()
        self._expiry = loop.call_later(TIMEOUT + 5, self._expire)

    def respond(self, resp: SipMessage) -> None:
        self.last = resp.encode()
        self._send(self.last, self.addr)
        status = resp.status or 0
        if status >= 200 and self.final_status is None:
            self.final_status = status
            if self.method == "INVITE":
                self._task = asyncio.get_running_loop().create_task(self._retransmit())

    def stateless(self) -> None:
        """Keep nothing once answered (a request flood): no expiry timer; a retransmission is processed anew."""
        self._expiry.cancel()

    def retransmitted(self) -> None:
        """The same request came again: answer it with the last response."""
        if self.last is not None:
            self._send(self.last, self.addr)

    def ack(self) -> None:
        self.acked.set()
        if self._task:
            self._task.cancel()

    async def _retransmit(self) -> None:
        interval, waited = T1, 0.0
        while waited < TIMEOUT:
            step = min(interval, TIMEOUT - waited)  # timer H: give up at exactly 64*T1
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.acked.wait(), step)
            if self.acked.is_set():
                return
            waited += step
            interval = min(interval * 2, T2)
            if self.last and waited < TIMEOUT:
                self._send(self.last, self.addr)
        if self.on_no_ack:
            self.on_no_ack()

    def _expire(self) -> None:
        if self._task:
            self._task.cancel()
        self._on_done(self)
