"""A SIP dialog (RFC 3261 12): identifiers, CSeq counters, remote target and route set, in-dialog requests."""

from __future__ import annotations

from dataclasses import dataclass, field

from telephony.sip.message import Address, SipMessage, SipUri


@dataclass
class Dialog:
    call_id: str
    local: Address  # our From/To with our tag
    remote: Address  # the peer's, with its tag
    remote_target: SipUri
    route_set: list[str] = field(default_factory=list)
    local_cseq: int = 1
    remote_cseq: int = 0

    @classmethod
    def as_uas(cls, invite: SipMessage, local_tag: str) -> Dialog:
        contact = invite.contact
        return cls(
            call_id=invite.call_id,
            local=invite.to_addr.with_tag(local_tag),
            remote=invite.from_addr,
            remote_target=contact.uri if contact else invite.from_addr.uri,
            route_set=invite.get_all("Record-Route"),
            local_cseq=0,
            remote_cseq=invite.cseq[0],
        )

    @classmethod
    def as_uac(cls, invite: SipMessage, response: SipMessage) -> Dialog:
        contact = response.contact
        return cls(
            call_id=invite.call_id,
            local=invite.from_addr,
            remote=response.to_addr,
            remote_target=contact.uri if contact else response.to_addr.uri,
            route_set=list(reversed(response.get_all("Record-Route"))),
            local_cseq=invite.cseq[0],
        )

    def update_target(self, msg: SipMessage) -> None:
        """A target-refresh request or its 2xx may carry a new Contact."""
        contact = msg.contact
        if contact:
            self.remote_target = contact.uri

    def _routing(self) -> tuple[SipUri, list[str]]:
        if self.route_set:
            first = Address.parse(self.route_set[0]).uri
            if first.param("lr") is None:  # strict router (RFC 3261 12.2.1.1)
                return first, [*self.route_set[1:], f"<{self.remote_target}>"]
        return self.remote_target, list(self.route_set)

    @property
    def destination(self) -> tuple[str, int]:
        if self.route_set:
            return Address.parse(self.route_set[0]).uri.address
        return self.remote_target.address

    def request(self, method: str, cseq: int | None = None) -> SipMessage:
        """An in-dialog request without Via (the user agent adds it)."""
        if cseq is None:
            self.local_cseq += 1
            cseq = self.local_cseq
        uri, routes = self._routing()
        msg = SipMessage(method=method, uri=str(uri))
        for route in routes:
            msg.add("Route", route)
        msg.add("Max-Forwards", "70")
        msg.add("From", str(self.local))
        msg.add("To", str(self.remote))
        msg.add("Call-ID", self.call_id)
        msg.add("CSeq", f"{cseq} {method}")
        return msg
