"""Telephony settings: one frozen value describing the phone's SIP account, addresses, media and limits."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class SipTransportKind(StrEnum):
    """How SIP travels to the registrar/proxy."""

    UDP = "udp"
    TLS = "tls"


class MediaEncryption(StrEnum):
    """SRTP with SDES keys (RFC 4568) for the call's audio."""

    NONE = "none"
    SDES_OPTIONAL = "sdes_optional"  # offer SRTP (RTP/AVP + a=crypto), accept a plain peer
    SDES_REQUIRED = "sdes_required"  # offer RTP/SAVP only; a peer without SRTP is refused (488 / failed call)


class TelephonySettings(BaseModel):
    """How the robot's phone reaches its PBX or trunk.

    `registrar` and `proxy` are `host[:port]`; with `trunk_mode` the phone does not register (the trunk
    authenticates us by IP) and sends every call to `proxy` (or `registrar`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    registrar: str | None = None
    proxy: str | None = None
    domain: str | None = Field(
        None, description="SIP domain for our AOR and dialled numbers; default: registrar host"
    )
    user: str = "robot"
    password: str | None = None
    auth_user: str | None = None
    caller_id: str | None = Field(None, description="user part of From on outbound calls; default: user")
    display_name: str | None = None
    local_host: str = "127.0.0.1"
    sip_port: int = Field(5070, ge=0, le=65535)
    rtp_port_min: int = Field(20000, ge=1024, le=65534)
    rtp_port_max: int = Field(30000, ge=1025, le=65535)
    codecs: tuple[str, ...] = ("PCMU", "PCMA")
    dtmf_payload_type: int = Field(101, ge=96, le=127)
    max_concurrent_calls: int = Field(100, ge=1)
    trunk_mode: bool = False
    register_expires: int = Field(300, ge=30)
    register_check_seconds: float = Field(
        30.0,
        gt=0,
        description="at most this long between REGISTER refreshes: a restarted registrar is re-registered with within it",
    )
    ring_timeout: float = Field(30.0, gt=0)
    rtp_timeout: float = Field(30.0, gt=0, description="end a call after this long without RTP from the peer")
    user_agent: str = "voicebot-telephony/0.1"
    transport: SipTransportKind = SipTransportKind.UDP
    tls_ca_file: Path | None = Field(
        None, description="PEM file of the CAs trusted for the server's certificate; default: the system's"
    )
    tls_verify: bool = Field(True, description="check the server's certificate and its name (transport tls)")
    media_encryption: MediaEncryption = MediaEncryption.NONE

    @field_validator("codecs")
    @classmethod
    def _known_codecs(cls, codecs: tuple[str, ...]) -> tuple[str, ...]:
        upper = tuple(c.upper() for c in codecs)
        unknown = [c for c in upper if c not in ("PCMU", "PCMA")]
        if unknown or not upper:
            raise ValueError(f"codecs must be PCMU and/or PCMA, got {list(codecs)}")
        return upper

    @field_validator("tls_ca_file")
    @classmethod
    def _readable_ca(cls, path: Path | None) -> Path | None:
        if path is not None and not path.is_file():
            raise ValueError(f"tls_ca_file {str(path)!r} is not a file (a PEM bundle of trusted CAs)")
        return path

    @model_validator(mode="after")
    def _secure_combination(self) -> TelephonySettings:
        if self.media_encryption is not MediaEncryption.NONE and self.transport is not SipTransportKind.TLS:
            raise ValueError(
                f"media_encryption {self.media_encryption.value} puts the SRTP keys in the SDP: "
                "it needs transport: tls (over udp anyone on the path reads them)"
            )
        if self.transport is SipTransportKind.TLS and not (self.registrar or self.proxy):
            raise ValueError("transport tls needs a registrar or proxy to connect to")
        return self

    @property
    def default_port(self) -> int:
        """The SIP port a server listens on for our transport: 5060 for udp, 5061 for tls."""
        return 5061 if self.transport is SipTransportKind.TLS else 5060

    @property
    def sip_domain(self) -> str:
        if self.domain:
            return self.domain
        server = self.registrar or self.proxy or self.local_host
        return server.split(":")[0]

    @property
    def auth_username(self) -> str:
        return self.auth_user or self.user


def host_port(text: str, default_port: int = 5060) -> tuple[str, int]:
    host, _, port = text.rpartition(":") if ":" in text else (text, "", "")
    return (host, int(port)) if port else (text, default_port)
