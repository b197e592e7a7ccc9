"""REFER helpers (RFC 3515): the Refer-To URI with embedded headers and the NOTIFY's sipfrag status line."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote

from telephony.sip.message import SipUri

HEADER_NAME = re.compile(r"^[A-Za-z0-9!%*_+`'~.-]+$")  # an RFC 3261 token


def refer_to_uri(target: SipUri, headers: Mapping[str, str]) -> str:
    """The target URI with `headers` embedded as `?Name=value&...` (values percent-encoded, UTF-8)."""
    if not headers:
        return str(target)
    for name in headers:
        if not HEADER_NAME.match(name):
            raise ValueError(f"not a SIP header name: {name!r}")
    return f"{target}?" + "&".join(f"{name}={quote(str(value), safe='')}" for name, value in headers.items())


def parse_sipfrag(body: bytes) -> tuple[int, str] | None:
    """'SIP/2.0 200 OK' -> (200, 'OK')."""
    line = body.decode(errors="replace").strip().splitlines()[0] if body.strip() else ""
    parts = line.split(" ", 2)
    if len(parts) >= 2 and parts[0].startswith("SIP/") and parts[1].isdigit():
        return int(parts[1]), parts[2] if len(parts) > 2 else ""
    return None
