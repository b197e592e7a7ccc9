"""SIP message model: parse and serialize requests and responses, URIs and name-addr headers."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

COMPACT = {
    "v": "Via",
    "f": "From",
    "t": "To",
    "i": "Call-ID",
    "m": "Contact",
    "l": "Content-Length",
    "c": "Content-Type",
    "k": "Supported",
    "r": "Refer-To",
    "b": "Referred-By",
    "o": "Event",
    "s": "Subject",
    "e": "Content-Encoding",
    "u": "Allow-Events",
}
CANONICAL = {
    name.lower(): name
    for name in (
        "Via",
        "From",
        "To",
        "Call-ID",
        "CSeq",
        "Contact",
        "Content-Length",
        "Content-Type",
        "Max-Forwards",
        "Route",
        "Record-Route",
        "WWW-Authenticate",
        "Proxy-Authenticate",
        "Authorization",
        "Proxy-Authorization",
        "Expires",
        "User-Agent",
        "Allow",
        "Supported",
        "Refer-To",
        "Referred-By",
        "Event",
        "Subscription-State",
        "Accept",
    )
}
# Headers whose comma-separated values are separate entries (RFC 3261 7.3.1).
MULTI_VALUE = {"via", "route", "record-route", "contact"}


class SipParseError(ValueError):
    """Raised for a datagram that is not a SIP message we can read."""


def canonical_name(name: str) -> str:
    name = name.strip()
    if len(name) == 1:
        name = COMPACT.get(name.lower(), name)
    return CANONICAL.get(name.lower(), name)


def split_commas(value: str) -> list[str]:
    """Split a header value on commas outside quotes and angle brackets."""
    parts, depth, quoted, current = [], 0, False, []
    for ch in value:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "<":
            depth += 1
        elif not quoted and ch == ">":
            depth -= 1
        if ch == "," and not quoted and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    if "".join(current).strip():
        parts.append("".join(current).strip())
    return parts


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise SipParseError(f"not a port: {text!r}")
    return int(text)


def new_tag() -> str:
    return secrets.token_hex(6)


def new_branch() -> str:
    return "z9hG4bK" + secrets.token_hex(8)


def new_call_id(host: str) -> str:
    return f"{secrets.token_hex(12)}@{host}"


@dataclass(frozen=True)
class SipUri:
    """sip:user@host:port;params — enough of RFC 3261 19.1 for routing."""

    host: str
    user: str | None = None
    port: int | None = None
    params: tuple[tuple[str, str | None], ...] = ()
    scheme: str = "sip"

    @classmethod
    def parse(cls, text: str) -> SipUri:
        text = text.strip()
        if text.startswith("<") and text.endswith(">"):
            text = text[1:-1]
        scheme, sep, rest = text.partition(":")
        if not sep or scheme.lower() not in ("sip", "sips", "tel"):
            raise SipParseError(f"not a SIP URI: {text!r}")
        rest = rest.split("?", 1)[0]
        main, *param_parts = rest.split(";")
        user = None
        if "@" in main:
            user, main = main.rsplit("@", 1)
            user = user.split(":", 1)[0]
        host, port = main, None
        if main.startswith("["):
            host, _, tail = main[1:].partition("]")
            if tail.startswith(":"):
                port = _port(tail[1:])
        elif ":" in main:
            host, port_text = main.rsplit(":", 1)
            port = _port(port_text)
        params = []
        for part in param_parts:
            if part:
                key, eq, val = part.partition("=")
                params.append((key.lower(), val if eq else None))
        return cls(host=host, user=user, port=port, params=tuple(params), scheme=scheme.lower())

    def param(self, name: str) -> str | None:
        return _param(self.params, name)

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port or 5060

    def __str__(self) -> str:
        out = f"{self.scheme}:"
        if self.user is not None:
            out += f"{self.user}@"
        out += f"[{self.host}]" if ":" in self.host else self.host
        if self.port:
            out += f":{self.port}"
        for key, val in self.params:
            out += f";{key}" if val is None else f";{key}={val}"
        return out


def _param(params: tuple[tuple[str, str | None], ...], name: str) -> str | None:
    """A `;name=value` parameter's value: "" for a bare `;name`, None when absent."""
    for key, val in params:
        if key == name:
            return val if val is not None else ""
    return None


_NAME_ADDR = re.compile(r'^\s*(?:"((?:[^"\\]|\\.)*)"|([^<"]*?))\s*<([^>]*)>(.*)$')


@dataclass(frozen=True)
class Address:
    """A name-addr/addr-spec header value: From, To, Contact, Route, Refer-To."""

    uri: SipUri
    display: str | None = None
    params: tuple[tuple[str, str | None], ...] = ()

    @classmethod
    def parse(cls, text: str) -> Address:
        match = _NAME_ADDR.match(text)
        if match:
            display = match.group(1) if match.group(1) is not None else (match.group(2) or "").strip()
            uri_text, tail = match.group(3), match.group(4)
        else:
            uri_text, _, tail = text.strip().partition(";")
            tail = ";" + tail if tail else ""
            display = None
        params = []
        for part in tail.split(";"):
            part = part.strip()
            if part:
                key, eq, val = part.partition("=")
                params.append((key.strip().lower(), val.strip() if eq else None))
        return cls(uri=SipUri.parse(uri_text), display=display or None, params=tuple(params))

    def param(self, name: str) -> str | None:
        return _param(self.params, name)

    @property
    def tag(self) -> str | None:
        return self.param("tag")

    def with_tag(self, tag: str) -> Address:
        params = (*tuple(p for p in self.params if p[0] != "tag"), ("tag", tag))
        return Address(uri=self.uri, display=self.display, params=params)

    def __str__(self) -> str:
        out = f'"{self.display}" ' if self.display else ""
        out += f"<{self.uri}>"
        for key, val in self.params:
            out += f";{key}" if val is None else f";{key}={val}"
        return out


@dataclass(frozen=True)
class Via:
    transport: str
    host: str
    port: int | None
    params: tuple[tuple[str, str | None], ...]

    @classmethod
    def parse(cls, text: str) -> Via:
        proto, _, rest = text.strip().partition(" ")
        sent_by, *param_parts = rest.strip().split(";")
        host, _, port = sent_by.strip().partition(":")
        if not host:
            raise SipParseError(f"Via without a sent-by host: {text!r}")
        params = []
        for part in param_parts:
            key, eq, val = part.strip().partition("=")
            params.append((key.lower(), val if eq else None))
        return cls(proto.rsplit("/", 1)[-1].upper(), host, _port(port) if port else None, tuple(params))

    @property
    def branch(self) -> str | None:
        for key, val in self.params:
            if key == "branch":
                return val
        return None


@dataclass
class SipMessage:
    """A request (method and uri set) or a response (status set)."""

    method: str | None = None
    uri: str | None = None
    status: int | None = None
    reason: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @property
    def is_request(self) -> bool:
        return self.method is not None

    # ---- header access -------------------------------------------------
    def get(self, name: str) -> str | None:
        name = canonical_name(name).lower()
        for key, val in self.headers:
            if key.lower() == name:
                return val
        return None

    def get_all(self, name: str) -> list[str]:
        """All values of a header; multi-value headers are split at top-level commas."""
        lname = canonical_name(name).lower()
        values = [val for key, val in self.headers if key.lower() == lname]
        if lname in MULTI_VALUE:
            return [part for val in values for part in split_commas(val)]
        return values

    def add(self, name: str, value: str) -> None:
        self.headers.append((canonical_name(name), value))

    def set(self, name: str, value: str) -> None:
        self.remove(name)
        self.add(name, value)

    def remove(self, name: str) -> None:
        lname = canonical_name(name).lower()
        self.headers = [(k, v) for k, v in self.headers if k.lower() != lname]

    # ---- typed accessors -----------------------------------------------
    @property
    def call_id(self) -> str:
        return self.get("Call-ID") or ""

    @property
    def cseq(self) -> tuple[int, str]:
        num, _, method = (self.get("CSeq") or "0 ?").strip().partition(" ")
        return int(num), method.strip().upper()

    @property
    def from_addr(self) -> Address:
        return Address.parse(self.get("From") or "")

    @property
    def to_addr(self) -> Address:
        return Address.parse(self.get("To") or "")

    @property
    def top_via(self) -> Via:
        vias = self.get_all("Via")
        if not vias:
            raise SipParseError("no Via")
        return Via.parse(vias[0])

    @property
    def branch(self) -> str:
        return self.top_via.branch or ""

    @property
    def contact(self) -> Address | None:
        values = self.get_all("Contact")
        if not values or values[0].strip() == "*":
            return None
        return Address.parse(values[0])

    # ---- wire format ---------------------------------------------------
    def encode(self) -> bytes:
        if self.is_request:
            first = f"{self.method} {self.uri} SIP/2.0"
        else:
            first = f"SIP/2.0 {self.status} {self.reason}"
        lines = [first]
        lines += [f"{k}: {v}" for k, v in self.headers if k.lower() != "content-length"]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body

    @classmethod
    def parse(cls, data: bytes) -> SipMessage:
        head, sep, body = data.partition(b"\r\n\r\n")
        if not sep:
            head, sep, body = data.partition(b"\n\n")
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SipParseError("not UTF-8") from exc
        lines = text.replace("\r\n", "\n").split("\n")
        first = lines[0].strip()
        msg = cls()
        if first.startswith("SIP/2.0 "):
            _, status, *reason = first.split(" ", 2)
            if not status.isdigit():
                raise SipParseError(f"bad status line {first!r}")
            msg.status, msg.reason = int(status), reason[0] if reason else ""
        else:
            parts = first.split(" ")
            if len(parts) != 3 or parts[2] != "SIP/2.0":
                raise SipParseError(f"bad request line {first!r}")
            msg.method, msg.uri = parts[0].upper(), parts[1]
        for line in lines[1:]:
            if not line:
                continue
            if line[0] in " \t" and msg.headers:  # folded continuation
                key, val = msg.headers[-1]
                msg.headers[-1] = (key, val + " " + line.strip())
                continue
            key, colon, val = line.partition(":")
            if not colon:
                raise SipParseError(f"bad header line {line!r}")
            msg.headers.append((canonical_name(key), val.strip()))
        length = msg.get("Content-Length")
        if length is not None:
            if not length.strip().isdigit():
                raise SipParseError(f"bad Content-Length {length!r}")
            if int(length) > len(body):  # RFC 3261 18.3: a datagram cut short is an error
                raise SipParseError(f"Content-Length {length} but {len(body)} body bytes")
            body = body[: int(length)]
        msg.body = body
        for required in ("Via", "From", "To", "Call-ID", "CSeq"):
            if msg.get(required) is None:
                raise SipParseError(f"missing {required}")
        msg._check_headers()
        return msg

    def _check_headers(self) -> None:
        """Every header the transaction and dialog layers read must be readable, so a message that passes
        parsing cannot fail later (RFC 3261 8.1.1.5: CSeq is a 32-bit number and, in a request, its method)."""
        try:
            self.top_via, self.from_addr, self.to_addr, self.contact  # noqa: B018
            num, method = self.cseq
        except ValueError as exc:  # SipParseError included
            raise SipParseError(f"unreadable header: {exc}") from exc
        if not 0 <= num < 2**31 or not method:
            raise SipParseError(f"bad CSeq {self.get('CSeq')!r}")
        if self.is_request and method != self.method:
            raise SipParseError(f"CSeq method {method} in a {self.method} request")


def response_to(request: SipMessage, status: int, reason: str, to_tag: str | None = None) -> SipMessage:
    """Build a response copying Via, From, To (adding our tag), Call-ID and CSeq (RFC 3261 8.2.6)."""
    resp = SipMessage(status=status, reason=reason)
    for value in request.get_all("Via"):
        resp.add("Via", value)
    resp.add("From", request.get("From") or "")
    to_value = request.get("To") or ""
    if to_tag and status > 100 and Address.parse(to_value).tag is None:
        to_value = f"{to_value};tag={to_tag}"
    resp.add("To", to_value)
    resp.add("Call-ID", request.call_id)
    resp.add("CSeq", request.get("CSeq") or "")
    return resp
