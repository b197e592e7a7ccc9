"""The SIP UDP socket: parses datagrams into messages and sends messages to addresses."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Callable

from telephony.droplog import DropLog
from telephony.sip.message import SipMessage, SipParseError

log = logging.getLogger(__name__)


_resolved: dict[str, str] = {}


async def resolve_host(host: str) -> str:
    """An IPv4 address for `host` (an address passes through; names are looked up once per process)."""
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    if host not in _resolved:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, family=2)
        _resolved[host] = infos[0][4][0]
    return _resolved[host]


class UdpSipTransport(asyncio.DatagramProtocol):
    def __init__(self, on_message: Callable[[SipMessage, tuple[str, int]], None]) -> None:
        self._on_message = on_message
        self._transport: asyncio.DatagramTransport | None = None
        self.local: tuple[str, int] = ("0.0.0.0", 0)
        self.drops = DropLog(log, "malformed SIP message")

    async def open(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(lambda: self, local_addr=(host, port))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        self.local = transport.get_extra_info("sockname")[:2]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if data.strip() == b"":  # keep-alive CRLF
            return
        try:
            msg = SipMessage.parse(data)
        except (SipParseError, ValueError) as exc:
            self.drops.drop(addr, exc)
            return
        self._on_message(msg, addr[:2])

    def error_received(self, exc: Exception) -> None:
        log.debug("SIP socket error: %s", exc)

    async def resolve(self, host: str) -> str:
        return await resolve_host(host)

    def send(self, msg: SipMessage | bytes, addr: tuple[str, int]) -> None:
        if self._transport is None:
            return
        data = msg if isinstance(msg, bytes) else msg.encode()
        self._transport.sendto(data, addr)

    def close(self) -> None:
        if self._transport:
            self._transport.close()
            self._transport = None
