"""HTTP digest authentication for SIP (RFC 2617 / RFC 3261 22): MD5, with or without qop=auth."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


class AuthError(Exception):
    """The server refused our credentials (or asked for a scheme we cannot do)."""


@dataclass(frozen=True)
class Challenge:
    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: str | None = None
    opaque: str | None = None
    stale: bool = False

    @classmethod
    def parse(cls, header: str) -> Challenge:
        scheme, _, rest = header.strip().partition(" ")
        if scheme.lower() != "digest":
            raise AuthError(f"unsupported auth scheme {scheme!r}")
        params = {
            m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
            for m in _PARAM.finditer(rest)
        }
        algorithm = params.get("algorithm", "MD5")
        if algorithm.upper() not in ("MD5", "MD5-SESS"):
            raise AuthError(f"unsupported digest algorithm {algorithm!r}")
        qop = None
        if "qop" in params:
            options = [q.strip() for q in params["qop"].split(",")]
            if "auth" not in options:
                raise AuthError(f"unsupported qop {params['qop']!r}")
            qop = "auth"
        return cls(
            realm=params.get("realm", ""),
            nonce=params.get("nonce", ""),
            algorithm=algorithm,
            qop=qop,
            opaque=params.get("opaque"),
            stale=params.get("stale", "false").lower() == "true",
        )


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def authorization(
    challenge: Challenge, method: str, uri: str, username: str, password: str, nc: int = 1
) -> str:
    """The Authorization / Proxy-Authorization header value answering a challenge."""
    ha1 = _md5(f"{username}:{challenge.realm}:{password}")
    cnonce = secrets.token_hex(8)
    if challenge.algorithm.upper() == "MD5-SESS":
        ha1 = _md5(f"{ha1}:{challenge.nonce}:{cnonce}")
    ha2 = _md5(f"{method}:{uri}")
    parts = [
        f'username="{username}"',
        f'realm="{challenge.realm}"',
        f'nonce="{challenge.nonce}"',
        f'uri="{uri}"',
    ]
    if challenge.qop:
        nc_text = f"{nc:08x}"
        response = _md5(f"{ha1}:{challenge.nonce}:{nc_text}:{cnonce}:{challenge.qop}:{ha2}")
        parts += [f"qop={challenge.qop}", f"nc={nc_text}", f'cnonce="{cnonce}"']
    else:
        response = _md5(f"{ha1}:{challenge.nonce}:{ha2}")
    parts.append(f'response="{response}"')
    parts.append(f"algorithm={challenge.algorithm}")
    if challenge.opaque is not None:
        parts.append(f'opaque="{challenge.opaque}"')
    return "Digest " + ", ".join(parts)
