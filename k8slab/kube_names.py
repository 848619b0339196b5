"""The names kube-proxy derives: IPv4 text as it parses it, Service port names, chain hashes."""

# Shared by proxy.decision (what it decides) and the mode writers (what they write), so neither imports the other.
from __future__ import annotations

import functools
import hashlib
import ipaddress
import re

from .model import Endpoint, Service, ServicePort

__all__ = ["chain_hash", "nft_hash", "nft_hashes", "port_name", "ipv4", "ipv4_net", "endpoint_string"]


# Both hashes are remembered: a trace writes the rules of two nodes, which name the same
# chains (issue 22's budget: 5,000 Services' hashes were a tenth of a trace).
@functools.lru_cache(maxsize=1 << 17)
def chain_hash(text: str) -> str:
    # portProtoHash / servicePortEndpointChainName: sha256, base32 (standard alphabet), 16 chars:
    # the first 80 bits, 10 at a time, as nft_hash does (base64.b32encode is a Python loop).
    n = int.from_bytes(hashlib.sha256(text.encode()).digest()[:10], "big")
    p = _B32_PAIRS
    return (p[n >> 70] + p[(n >> 60) & 1023] + p[(n >> 50) & 1023] + p[(n >> 40) & 1023]
            + p[(n >> 30) & 1023] + p[(n >> 20) & 1023] + p[(n >> 10) & 1023] + p[n & 1023])


_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_B32_PAIRS = [a + b for a in _B32 for b in _B32]      # 10 bits -> two characters


@functools.lru_cache(maxsize=1 << 17)
def nft_hash(text: str) -> str:
    # hashAndTruncate (pkg/proxy/nftables/proxier.go): the first 8 characters of the standard
    # base32 of the name's SHA-256, i.e. its first 40 bits, taken 10 at a time (what
    # base64.b32encode gives, without its pure-Python loop: it matters at 100,000 endpoints).
    n = int.from_bytes(hashlib.sha256(text.encode()).digest()[:5], "big")
    p = _B32_PAIRS
    return p[n >> 30] + p[(n >> 20) & 1023] + p[(n >> 10) & 1023] + p[n & 1023]


def nft_hashes(texts) -> list[str]:
    """`nft_hash` of each of `texts` (one loop, for the 100,000 endpoint chains of issue 19)."""
    sha, p, out = hashlib.sha256, _B32_PAIRS, []
    for text in texts:
        n = int.from_bytes(sha(text.encode()).digest()[:5], "big")
        out.append(p[n >> 30] + p[(n >> 20) & 1023] + p[(n >> 10) & 1023] + p[n & 1023])
    return out


def port_name(service: Service, port: ServicePort) -> str:
    # proxy.ServicePortName.String(): "namespace/name" and ":port-name" when the port has one
    base = f"{service.namespace}/{service.name}"
    return f"{base}:{port.name}" if port.name else base


def ipv4(text) -> str | None:
    """The canonical IPv4 text of `text` (leading zeros allowed, as ParseIPSloppy), else None."""
    if not isinstance(text, str):
        return None
    if _CANONICAL_IPV4(text):
        return text          # already canonical: what _ipv4 would return, without its cost
    return _ipv4(text)


_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"      # 0-255, no leading zero, ASCII
_CANONICAL_IPV4 = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}").fullmatch


@functools.lru_cache(maxsize=1 << 17)
def _ipv4(text: str) -> str | None:
    # Cached: every endpoint's address is read again for every node's rules.
    parts = text.strip().split(".")
    if len(parts) != 4 or not all(p.isdigit() and len(p) <= 3 for p in parts):
        return None
    numbers = [int(p) for p in parts]
    if any(n > 255 for n in numbers):
        return None
    return ".".join(str(n) for n in numbers)


def ipv4_net(text) -> ipaddress.IPv4Network | None:
    if not isinstance(text, str) or "/" not in text:
        return None
    return _ipv4_net(text)


@functools.lru_cache(maxsize=1 << 12)
def _ipv4_net(text: str) -> ipaddress.IPv4Network | None:
    # Cached (networks are immutable): every Service port's decision reads the cluster CIDR again.
    addr, _, bits = text.strip().partition("/")
    ip = ipv4(addr)
    if ip is None or not bits.isdigit() or int(bits) > 32:
        return None
    return ipaddress.IPv4Network(f"{ip}/{int(bits)}", strict=False)


def endpoint_string(e: Endpoint) -> str:
    # BaseEndpointInfo.String(): net.JoinHostPort(ip, port)
    return f"{e.address}:{e.port}"
