"""Hosts apart on one machine: network namespaces joined by a bridge, addresses only from 198.51.100.0/24.

The bridge lives in a namespace of its own (the hub), so the machine's own namespace gets no interface, no
address and no route: nothing is routed off the machine. Each host is a namespace with one veth link to the hub;
`cut` sets the hub's end of a host's link down (its packets vanish, as with a pulled cable: no reset reaches
either side), `restore` sets it up again.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

NETWORK = "198.51.100"  # TEST-NET-2 (RFC 5737): documentation only, never routed


@dataclass
class Lab:
    """Namespaces `<prefix>-<host>` with addresses `198.51.100.<n>`; run commands inside with `exec`."""

    prefix: str
    hosts: dict[str, str] = field(default_factory=dict)  # name → address

    @property
    def hub(self) -> str:
        return f"{self.prefix}-hub"

    def namespace(self, host: str) -> str:
        return f"{self.prefix}-{host}"

    def exec(self, host: str) -> list[str]:
        """The command prefix that runs a program inside the host's namespace."""
        return ["ip", "netns", "exec", self.namespace(host)]

    def cut(self, host: str) -> None:
        _ip("-n", self.hub, "link", "set", self._hub_end(host), "down")

    def restore(self, host: str) -> None:
        _ip("-n", self.hub, "link", "set", self._hub_end(host), "up")

    def add(self, host: str) -> str:
        """A new host on the bridge; returns its address."""
        address = f"{NETWORK}.{len(self.hosts) + 10}"
        ns, hub_end = self.namespace(host), self._hub_end(host)
        _ip("netns", "add", ns)
        _ip("-n", ns, "link", "set", "lo", "up")
        _ip("-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", hub_end, "netns", self.hub)
        _ip("-n", ns, "addr", "add", f"{address}/24", "dev", "eth0")
        _ip("-n", ns, "link", "set", "eth0", "up")
        _ip("-n", self.hub, "link", "set", hub_end, "master", "br0", "up")
        self.hosts[host] = address
        return address

    def _hub_end(self, host: str) -> str:
        return f"to-{host}"[:15]


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


@contextmanager
def lab(prefix: str) -> Iterator[Lab]:
    """A hub with its bridge; hosts are added with `Lab.add`. Every namespace (and so every link) is removed at
    the end; processes still inside them should be stopped first."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("network namespaces need root and iproute2")
    setup = Lab(prefix)
    _remove(prefix)  # a run killed before its clean-up
    _ip("netns", "add", setup.hub)
    try:
        _ip("-n", setup.hub, "link", "add", "br0", "type", "bridge")
        _ip("-n", setup.hub, "link", "set", "br0", "up")
        yield setup
    finally:
        _remove(prefix)


def _remove(prefix: str) -> None:
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split("\n")
    for line in listed:
        name = line.split(" ")[0]
        if name.startswith(f"{prefix}-"):
            subprocess.run(["ip", "netns", "delete", name], capture_output=True)
