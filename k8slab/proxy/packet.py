"""The first packet of a connection and one way a walk can take it: what every mode's walk shares."""

# Shared by the per-mode walks (iptables_walk, nftables_walk) and by trace.py, which moves
# the packet between nodes; none of them imports another's private names.

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass, replace

__all__ = ["Packet", "Path", "steps", "inside", "show", "dnat", "masquerade"]



@dataclass(frozen=True)
class Packet:
    """The first packet of a connection, as one node's netfilter sees it."""

    src: str
    dst: str
    dport: int
    protocol: str
    mark: int = 0
    dnat: bool = False              # conntrack state DNAT: this node rewrote the destination


class Path:
    """One way the walk can go so far: its chance, its steps (a linked list), its packet.

    Immutable by convention: `but` copies it with some fields changed (dataclasses.replace
    was most of the walk's time)."""

    __slots__ = ("chance", "steps", "packet", "recent", "outcome", "handed", "handled")

    def __init__(self, chance, steps, packet, recent, outcome="continue", handed=frozenset(),
                 handled=None):
        self.chance = chance            # Fraction
        self.steps = steps              # (step, previous) or None
        self.packet = packet
        self.recent = recent            # (node, list name, source) entries the walk has set
        self.outcome = outcome          # continue, ACCEPT, DROP, REJECT, DNAT, MASQUERADE, RETURN
        self.handed = handed            # what the outside network did already: "lb", "external"
        self.handled = handled          # the node whose rules DNATed the packet

    def but(self, **changes) -> "Path":
        p = Path(self.chance, self.steps, self.packet, self.recent, self.outcome, self.handed,
                  self.handled)
        for k, v in changes.items():
            setattr(p, k, v)
        return p

    def step(self, **step) -> "Path":
        return self.but(steps=(step, self.steps))


def dnat(path: Path, node: str, dst: str, dport: int | None) -> Path:
    """The kernel's DNAT on `node`, whichever mode's rule asked for it: the destination becomes
    `dst:dport` (the port kept when none is given), and the packet is now this node's to route."""
    moved = replace(path.packet, dst=dst, dport=dport or path.packet.dport, dnat=True)
    return (path.but(packet=moved, outcome="DNAT", handled=node)
            .step(node=node, table=None, chain=None, rule=None, matched=None,
                  note=f"DNAT: the destination is now {dst}:{moved.dport}"))


def masquerade(path: Path, node: str, address: str) -> Path:
    """The kernel's MASQUERADE on `node`: the source becomes the address of the interface the
    packet leaves by, the node's own."""
    return (path.but(packet=replace(path.packet, src=address), outcome="MASQUERADE")
            .step(node=node, table=None, chain=None, rule=None, matched=None,
                  note=f"MASQUERADE: the source is now {address}, {node}'s address"))


def steps(path: Path) -> list[dict]:
    out, node = [], path.steps
    while node is not None:
        out.append(node[0])
        node = node[1]
    out.reverse()
    return out



@functools.lru_cache(maxsize=65536)
def _ip(address: str) -> int:
    return int(ipaddress.IPv4Address(address))


@functools.lru_cache(maxsize=65536)
def _bits(net: ipaddress.IPv4Network) -> tuple[int, int]:
    return int(net.network_address), int(net.netmask)


def inside(address: str, net: ipaddress.IPv4Network) -> bool:
    base, mask = _bits(net)
    return (_ip(address) & mask) == base


def show(net: ipaddress.IPv4Network) -> str:
    return str(net.network_address) if net.prefixlen == 32 else str(net)
