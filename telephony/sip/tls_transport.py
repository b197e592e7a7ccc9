"""SIP over TLS (RFC 3261 §26, RFC 5630 usage): one verified connection to the registrar/proxy.

Like a desk phone with an outbound proxy, the robot opens a single TLS connection to its server, sends every request
and response over it and receives inbound calls on it (the registrar reaches our Contact through this connection).
Messages are framed by Content-Length (RFC 3261 §18.3).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from pathlib import Path

from telephony.sip.message import SipMessage, SipParseError
from telephony.sip.transport import resolve_host

log = logging.getLogger(__name__)

MAX_MESSAGE = 65536


class TlsConnectError(ConnectionError):
    """The TLS connection to the SIP server could not be made or its certificate was not trusted."""


def client_context(ca_file: Path | None, verify: bool) -> ssl.SSLContext:
    """TLS 1.2+ client context: the server's certificate checked against `ca_file` (or the system CAs) and its
    name, unless `verify` is off."""
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def split_stream(buffer: bytearray) -> list[bytes]:
    """Take every complete SIP message off the front of `buffer` (keep-alive CRLFs dropped)."""
    messages = []
    while True:
        while buffer[:2] == b"\r\n":
            del buffer[:2]
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(buffer) > MAX_MESSAGE:
                raise SipParseError("SIP header over 64 KiB on the stream")
            return messages
        length = 0
        for line in bytes(buffer[:end]).split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() in (b"content-length", b"l"):
                text = value.strip() or b"0"
                if not text.isdigit():  # "-46" would frame an empty message and loop forever
                    raise SipParseError(f"bad Content-Length {text!r} on the stream")
                length = int(text)
        total = end + 4 + length
        if len(buffer) < total:
            return messages
        messages.append(bytes(buffer[:total]))
        del buffer[:total]


class TlsSipTransport(asyncio.Protocol):
    """The same surface as `UdpSipTransport` (`local`, `resolve`, `send`, `close`) over one TLS connection;
    `send` ignores the address: everything goes to the server this transport connected to."""

    def __init__(
        self, on_message: Callable[[SipMessage, tuple[str, int]], None], context: ssl.SSLContext
    ) -> None:
        self._on_message = on_message
        self._context = context
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._server: tuple[str, int] = ("", 0)
        self._server_name = ""
        self._local_host = "0.0.0.0"
        self.local: tuple[str, int] = ("0.0.0.0", 0)
        self.closed = asyncio.Event()

    @property
    def connected(self) -> bool:
        return self._transport is not None and not self._transport.is_closing()

    async def connect(self, local_host: str, server: tuple[str, int], server_name: str) -> None:
        """Connect to `server` and check its certificate names `server_name`; TlsConnectError says why not."""
        self._server, self._local_host, self._server_name = server, local_host, server_name
        loop = asyncio.get_running_loop()
        host, port = server
        try:
            await asyncio.wait_for(
                loop.create_connection(
                    lambda: self,
                    host,
                    port,
                    ssl=self._context,
                    server_hostname=server_name,
                    local_addr=(local_host, 0),
                ),
                10,
            )
        except ssl.SSLCertVerificationError as exc:
            raise TlsConnectError(
                f"TLS to {host}:{port}: the server's certificate is not trusted ({exc.verify_message}); "
                "check tls_ca_file (the CA that signed the server's certificate) or the server name"
            ) from exc
        except ssl.SSLError as exc:
            raise TlsConnectError(f"TLS handshake with {host}:{port} failed: {exc.reason or exc}") from exc
        except (OSError, TimeoutError) as exc:
            raise TlsConnectError(f"cannot connect to {host}:{port} over TLS: {exc or 'timeout'}") from exc

    async def reconnect(self) -> None:
        """Open the connection again after the server closed it (registration refresh and dialling call this)."""
        if not self.connected and self._server[0]:
            await self.connect(self._local_host, self._server, self._server_name)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        self.local = transport.get_extra_info("sockname")[:2]
        self._buffer.clear()
        self.closed.clear()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is not None:
            log.warning("SIP TLS connection to %s:%s closed: %s", *self._server, exc or "by the peer")
        self._transport = None
        self.closed.set()

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        try:
            raw_messages = split_stream(self._buffer)
        except (SipParseError, ValueError) as exc:
            log.warning("SIP TLS stream from %s:%s unreadable, closing it: %s", *self._server, exc)
            self.close()
            return
        for raw in raw_messages:
            try:
                msg = SipMessage.parse(raw)
            except (SipParseError, ValueError) as exc:
                log.debug("dropping unparsable message from %s:%s: %s", *self._server, exc)
                continue
            self._on_message(msg, self._server)

    async def resolve(self, host: str) -> str:
        return await resolve_host(host)

    def send(self, msg: SipMessage | bytes, addr: tuple[str, int]) -> None:
        if not self.connected:
            log.debug("SIP TLS connection down; not sent to %s", addr)
            return
        self._transport.write(msg if isinstance(msg, bytes) else msg.encode())  # type: ignore[union-attr]

    def close(self) -> None:
        if self._transport:
            transport, self._transport = self._transport, None
            transport.close()
