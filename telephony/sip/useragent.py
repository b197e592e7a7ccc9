"""The SIP user agent core: socket, transaction matching, digest auth retries, registration keep-alive."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from telephony.config import SipTransportKind, TelephonySettings, host_port
from telephony.droplog import DropLog
from telephony.sip.auth import AuthError, Challenge, authorization
from telephony.sip.message import Address, SipMessage, SipUri, new_branch, new_call_id, new_tag, response_to
from telephony.sip.tls_transport import TlsConnectError, TlsSipTransport, client_context
from telephony.sip.transaction import ClientTransaction, ServerTransaction, TransactionTimeout
from telephony.sip.transport import UdpSipTransport

log = logging.getLogger(__name__)

ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS, NOTIFY, REFER, INFO"
# Server transactions kept at once (each ~4 KB for 37 s): beyond this, a flood, other requests than INVITE are
# answered statelessly (RFC 3261 8.2.7) so that memory stays bounded.
MAX_SERVER_TRANSACTIONS = 20_000
REGISTER_BACKOFF_MAX = 30.0  # seconds between registration tries while the registrar is away, at most


class RegistrationError(Exception):
    """REGISTER failed: wrong credentials, rejected, or no answer from the registrar."""


class RegistrarUnreachable(RegistrationError):
    """No answer to REGISTER: the registrar is down or cannot be reached (a fault, not a configuration error)."""


RequestHandler = Callable[[SipMessage, ServerTransaction], None]


class UserAgent:
    def __init__(self, settings: TelephonySettings, on_request: RequestHandler) -> None:
        self.settings = settings
        self._on_request = on_request
        self.tls = settings.transport is SipTransportKind.TLS
        self.transport: UdpSipTransport | TlsSipTransport = (
            TlsSipTransport(self._on_message, client_context(settings.tls_ca_file, settings.tls_verify))
            if self.tls
            else UdpSipTransport(self._on_message)
        )
        self._client: dict[tuple[str, str], ClientTransaction] = {}
        self._server: dict[tuple[str, str], ServerTransaction] = {}
        self._stray_2xx: dict[str, Callable[[SipMessage], None]] = {}
        self._register_task: asyncio.Task[None] | None = None
        self._reg_call_id = ""
        self._reg_cseq = 0
        self.registered = False
        self.server: tuple[str, int] | None = None
        self._flood = DropLog(log, "SIP transaction state")

    # ---- addresses -----------------------------------------------------
    @property
    def local(self) -> tuple[str, int]:
        return self.transport.local

    @property
    def contact(self) -> Address:
        host, port = self.local
        params = (("transport", "tls"),) if self.tls else ()
        return Address(SipUri(host=host, user=self.settings.user, port=port, params=params))

    def aor(self, user: str | None = None) -> SipUri:
        return SipUri(host=self.settings.sip_domain, user=user or self.settings.user)

    def via(self, branch: str | None = None) -> str:
        host, port = self.local
        return f"SIP/2.0/{'TLS' if self.tls else 'UDP'} {host}:{port};branch={branch or new_branch()};rport"

    # ---- lifecycle -----------------------------------------------------
    async def start(self, wait_for_registrar: bool = False) -> None:
        """Open the transport and register (unless trunk mode). A registrar that does not answer raises
        `RegistrarUnreachable`, or with `wait_for_registrar` is retried in the background with back-off (the line
        stays down until it answers); a refused registration always raises."""
        s = self.settings
        server = s.proxy or s.registrar
        if server:
            host, port = host_port(server, s.default_port)
            self.server = (await self.transport.resolve(host), port)
        if isinstance(self.transport, TlsSipTransport):
            assert self.server is not None  # settings require a server for tls
            if not s.tls_verify:
                log.warning("SIP over TLS to %s without checking its certificate (tls_verify: false)", server)
            try:
                await self.transport.connect(s.local_host, self.server, host)
            except TlsConnectError as exc:
                raise RegistrationError(str(exc)) from exc
        else:
            await self.transport.open(s.local_host, s.sip_port)
        if not s.trunk_mode and s.registrar:
            retry_now = False
            try:
                await self.register(s.register_expires)
            except RegistrarUnreachable as exc:
                if not wait_for_registrar:
                    raise
                log.warning(
                    "the registrar does not answer, the line is down (retrying with back-off): %s", exc
                )
                retry_now = True
            self._register_task = asyncio.get_running_loop().create_task(self._keep_registered(retry_now))

    async def stop(self) -> None:
        if self._register_task:
            self._register_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._register_task
        if self.registered:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.register(0), 2)
        for txn in list(self._client.values()):
            txn.cancel_timers()
        self.transport.close()

    async def ensure_connected(self) -> None:
        """Over TLS, open the connection again if the server closed it; RegistrationError when it cannot."""
        if isinstance(self.transport, TlsSipTransport) and not self.transport.connected:
            try:
                await self.transport.reconnect()
            except TlsConnectError as exc:
                raise RegistrationError(str(exc)) from exc

    # ---- sending -------------------------------------------------------
    def send_request(
        self, msg: SipMessage, dest: tuple[str, int], timeout: float | None = None
    ) -> ClientTransaction:
        if msg.get("Via") is None:
            msg.headers.insert(0, ("Via", self.via()))
        if msg.get("User-Agent") is None:
            msg.add("User-Agent", self.settings.user_agent)
        kwargs = {"timeout": timeout} if timeout else {}
        txn = ClientTransaction(
            msg, dest, self.transport.send, self._client_done, reliable=self.tls, **kwargs
        )
        self._client[txn.key] = txn
        return txn

    def send_ack(self, msg: SipMessage, dest: tuple[str, int]) -> None:
        if msg.get("Via") is None:
            msg.headers.insert(0, ("Via", self.via()))
        self.transport.send(msg, dest)

    def add_credentials(self, msg: SipMessage, challenge_response: SipMessage) -> None:
        """Answer a 401/407 on `msg` in place; raises AuthError when we cannot."""
        s = self.settings
        if s.password is None:
            raise AuthError(
                f"{msg.method} challenged with {challenge_response.status} but no password is set"
            )
        is_proxy = challenge_response.status == 407
        header = challenge_response.get("Proxy-Authenticate" if is_proxy else "WWW-Authenticate")
        if header is None:
            raise AuthError(f"{challenge_response.status} without a challenge header")
        challenge = Challenge.parse(header)
        name = "Proxy-Authorization" if is_proxy else "Authorization"
        msg.set(name, authorization(challenge, msg.method or "", msg.uri or "", s.auth_username, s.password))

    @staticmethod
    def renew(msg: SipMessage) -> None:
        """Prepare a request for re-sending after a challenge: new branch, CSeq + 1."""
        msg.remove("Via")
        num, method = msg.cseq
        msg.set("CSeq", f"{num + 1} {method}")

    async def request(
        self, msg: SipMessage, dest: tuple[str, int], timeout: float | None = None
    ) -> SipMessage:
        """Send a non-INVITE request, answering up to one 401/407 challenge per round; final response."""
        answered_challenge = False
        while True:
            txn = self.send_request(msg, dest, timeout)
            resp = await txn.final
            if resp.status in (401, 407):
                stale = (
                    "stale=true"
                    in (resp.get("WWW-Authenticate") or resp.get("Proxy-Authenticate") or "").lower()
                )
                if answered_challenge and not stale:
                    raise AuthError(
                        f"{msg.method} rejected with {resp.status} {resp.reason} after sending credentials "
                        f"for user {self.settings.auth_username!r}: wrong password or user?"
                    )
                self.renew(msg)
                self.add_credentials(msg, resp)
                answered_challenge = True
                continue
            return resp

    def respond(
        self,
        txn: ServerTransaction,
        status: int,
        reason: str,
        to_tag: str | None = None,
        sdp: bytes | None = None,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> SipMessage:
        resp = response_to(txn.request, status, reason, to_tag)
        for name, value in headers:
            resp.add(name, value)
        if txn.method == "INVITE" and 100 < status < 300:  # dialog-creating: route set and target
            for value in txn.request.get_all("Record-Route"):
                resp.add("Record-Route", value)
            resp.add("Contact", str(self.contact))
            resp.add("Allow", ALLOW)
        resp.add("Server", self.settings.user_agent)
        if sdp is not None:
            resp.add("Content-Type", "application/sdp")
            resp.body = sdp
        txn.respond(resp)
        return resp

    def respond_with_body(
        self, txn: ServerTransaction, status: int, reason: str, to_tag: str | None, sdp: bytes
    ) -> SipMessage:
        return self.respond(txn, status, reason, to_tag, sdp)

    # ---- registration --------------------------------------------------
    def _build_register(self, expires: int) -> SipMessage:
        if not self._reg_call_id:
            self._reg_call_id = new_call_id(self.local[0])
            self._reg_tag = new_tag()
        self._reg_cseq += 1
        registrar_host, registrar_port = host_port(self.settings.registrar or "", self.settings.default_port)
        params = (("transport", "tls"),) if self.tls else ()
        msg = SipMessage(
            method="REGISTER", uri=str(SipUri(host=registrar_host, port=registrar_port, params=params))
        )
        msg.add("Max-Forwards", "70")
        aor = Address(self.aor())
        msg.add("From", str(aor.with_tag(self._reg_tag)))
        msg.add("To", str(aor))
        msg.add("Call-ID", self._reg_call_id)
        msg.add("CSeq", f"{self._reg_cseq} REGISTER")
        msg.add("Contact", str(self.contact))
        msg.add("Expires", str(expires))
        msg.add("Allow", ALLOW)
        return msg

    async def register(self, expires: int) -> int:
        """One REGISTER (expires=0 unregisters); returns the granted expiry in seconds."""
        host, port = host_port(self.settings.registrar or "", self.settings.default_port)
        dest = (await self.transport.resolve(host), port)
        await self.ensure_connected()
        msg = self._build_register(expires)
        try:
            resp = await self.request(msg, dest, timeout=8)
        except AuthError as exc:
            self.registered = False
            raise RegistrationError(str(exc)) from exc
        except TransactionTimeout as exc:
            self.registered = False
            raise RegistrarUnreachable(f"no answer from registrar {host}:{port}") from exc
        self._reg_cseq = resp.cseq[0]
        if not 200 <= (resp.status or 0) < 300:
            self.registered = False
            raise RegistrationError(f"REGISTER rejected: {resp.status} {resp.reason}")
        self.registered = expires > 0
        granted = expires
        for value in resp.get_all("Contact"):
            contact = Address.parse(value)
            if contact.uri.port == self.local[1] and contact.param("expires"):
                granted = int(contact.param("expires") or expires)
        if granted == expires and resp.get("Expires"):
            granted = int(resp.get("Expires") or expires)
        return granted

    async def _keep_registered(self, failed: bool = False) -> None:
        """Refresh the registration at half the granted expiry and at least every `register_check_seconds`, so a
        registrar that restarted and forgot the binding has it again within that. A refresh that fails puts the
        line down (`registered` False) and is retried after 1 s, doubling to 30 s, until one succeeds."""
        wait = 1.0 if failed else self._refresh_interval(self.settings.register_expires)
        failures = int(failed)
        while True:
            await self._until_refresh(wait)
            try:
                granted = (
                    await self.register(self.settings.register_expires) or self.settings.register_expires
                )
            except RegistrationError as exc:
                if failures == 0:
                    log.warning("registration lost, the line is down (retrying with back-off): %s", exc)
                failures += 1
                wait = min(REGISTER_BACKOFF_MAX, 2.0 ** (failures - 1))
                continue
            if failures:
                log.info("registered again after %d failed tries: the line is up", failures)
            failures = 0
            wait = self._refresh_interval(granted)

    def _refresh_interval(self, granted: int) -> float:
        return min(self.settings.register_check_seconds, max(5.0, granted * 0.5))

    async def _until_refresh(self, seconds: float) -> None:
        """Sleep until the next registration try; over TLS, cut short when the server closes the connection (the
        registration went with it), so the robot reconnects at once and stays reachable for inbound calls."""
        transport = self.transport
        if not isinstance(transport, TlsSipTransport) or not (transport.connected or self.registered):
            await asyncio.sleep(seconds)  # a refresh, or the back-off after a failed try
            return
        if transport.connected:
            try:
                await asyncio.wait_for(transport.closed.wait(), seconds)
            except TimeoutError:
                return
        self.registered = False

    # ---- receiving -----------------------------------------------------
    def expect_2xx_retransmissions(self, call_id: str, handler: Callable[[SipMessage], None] | None) -> None:
        if handler is None:
            self._stray_2xx.pop(call_id, None)
        else:
            self._stray_2xx[call_id] = handler

    def _client_done(self, txn: ClientTransaction) -> None:
        if self._client.get(txn.key) is txn:
            del self._client[txn.key]

    def _server_done(self, txn: ServerTransaction) -> None:
        if self._server.get(txn.key) is txn:
            del self._server[txn.key]

    def _on_message(self, msg: SipMessage, addr: tuple[str, int]) -> None:
        if not msg.is_request:
            key = (msg.branch, msg.cseq[1])
            txn = self._client.get(key)
            if txn is not None:
                txn.on_response(msg)
            elif (msg.status or 0) // 100 == 2 and msg.call_id in self._stray_2xx:
                self._stray_2xx[msg.call_id](msg)
            else:
                log.debug("response %s %s matches no transaction %s", msg.status, msg.cseq, key)
            return
        method = msg.method or ""
        if method == "ACK":
            invite_txn = self._server.get((msg.branch, "INVITE"))
            if invite_txn is not None and (invite_txn.final_status or 0) >= 300:
                invite_txn.ack()  # ACK of a non-2xx: hop by hop, ends the server transaction
                return
            self._on_request(msg, ServerTransaction(msg, addr, self.transport.send, lambda t: None))
            return
        key = (msg.branch, method)
        existing = self._server.get(key)
        if existing is not None:
            existing.retransmitted()
            return
        txn = ServerTransaction(msg, addr, self.transport.send, self._server_done)
        if method == "INVITE" or len(self._server) < MAX_SERVER_TRANSACTIONS:
            self._server[key] = txn
        else:
            txn.stateless()
            self._flood.drop(addr, f"{len(self._server)} transactions open, {method} answered statelessly")
        if method == "OPTIONS" and not msg.to_addr.tag:
            resp = response_to(msg, 200, "OK")
            resp.add("Allow", ALLOW)
            resp.add("Accept", "application/sdp")
            resp.add("Supported", "replaces")
            txn.respond(resp)
            return
        try:
            self._on_request(msg, txn)
        except Exception:
            log.exception("error handling %s", method)
            if txn.final_status is None:
                self.respond(txn, 500, "Server Internal Error")

    def server_transaction(self, branch: str, method: str) -> ServerTransaction | None:
        return self._server.get((branch, method))
