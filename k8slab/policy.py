"""NetworkPolicy: which pods a policy isolates, whether a connection is allowed, and why."""

# What is enforced, and where it comes from (the NetworkPolicy reference,
# kubernetes.io/docs/concepts/services-networking/network-policies/, and the conformance-style
# e2e suite test/e2e/network/netpol/network_policy.go, which tests/test_policy_e2e.py reproduces):
# - A pod is isolated for a direction only when some policy selects it with that direction in
#   its policyTypes; policies are additive (the union of their rules allows).
# - A connection needs the sender's egress AND the receiver's ingress to allow it.
# - A peer's podSelector picks pods in the policy's own namespace; a namespaceSelector picks
#   namespaces; both in one peer must both match; an ipBlock matches the address seen.
# - Ports: by number, by name (resolved against the destination pod's container ports, for
#   egress too), a range with endPort, or protocol only; no protocol means TCP.
# - "Traffic to and from the node where a Pod is running is always allowed, regardless of the IP
#   address of the Pod or the node" (the reference, "Pod lifecycle"/"what you can't do" notes).
# - hostNetwork pods: "NetworkPolicy behavior for hostNetwork pods is undefined"; k8slab takes
#   the common case: their traffic is their node's, no policy selects them, no pod peer matches.
# Everything is judged on the addresses the pods really see: after kube-proxy's DNAT (the pod IP
# and targetPort, never the cluster IP) and after SNAT where a route masquerades (then the
# source is a node's address, which only an ipBlock can match).
from __future__ import annotations

import bisect
import functools
import ipaddress
import weakref
from dataclasses import dataclass, field

from .model import (
    NAMESPACE_NAME_LABEL, Cluster, ContainerPort, IPBlock, LabelSelector, NetworkPolicy, Pod,
    PolicyPeer, PolicyPort, PolicyRule,
)

__all__ = ["Side", "Decision", "Matrix", "index", "decide", "matrix", "isolating", "dns_pods",
           "dns_decision", "rule_text", "peer_text", "port_text", "fix_for", "DNS_LABELS", "pair_dict",
           "pair_text", "lockdown", "LOCKDOWN_CHOICES"]

#: The labels kubeadm's CoreDNS pods carry, in kube-system: what a DNS allow rule selects.
DNS_LABELS = {"k8s-app": "kube-dns"}
_DNS_NAMESPACE = "kube-system"
_PROTOCOLS = ("TCP", "UDP", "SCTP")


# -- results ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Side:
    """One direction of one connection: the sender's egress or the receiver's ingress."""

    direction: str                                 # "egress" or "ingress"
    pod: str | None                                # "ns/name" of the pod judged, None: no pod
    allowed: bool
    policies: tuple[str, ...] = ()                 # policies selecting that pod for this direction
    allowed_by: tuple[str, ...] = ()               # "ns/name ingress[0]": the rules that admit it
    why: str = ""

    def to_dict(self) -> dict:
        return {"allowed": self.allowed, "policies": list(self.policies)}


@dataclass(frozen=True)
class Decision:
    """Whether one connection passes both directions' policies, and why."""

    egress: Side
    ingress: Side
    port: int
    protocol: str

    @property
    def allowed(self) -> bool:
        return self.egress.allowed and self.ingress.allowed

    @property
    def blocked_by(self) -> tuple[str, ...]:
        """The policies that isolate the side that refuses (egress first): the ones to change."""
        out: dict[str, None] = {}
        for side in (self.egress, self.ingress):
            if not side.allowed:
                out.update(dict.fromkeys(side.policies))
        return tuple(out)

    @property
    def failing(self) -> Side | None:
        return next((s for s in (self.egress, self.ingress) if not s.allowed), None)

    @property
    def detail(self) -> str:
        """Why it is refused (the refusing sides), as a sentence; or why it passes."""
        sides = [s for s in (self.egress, self.ingress) if not s.allowed] or [self.egress, self.ingress]
        return "; ".join(s.why for s in sides) + "."

    @property
    def reason(self) -> str:
        if self.allowed:
            return f"allowed: {self.egress.why}; {self.ingress.why}."
        return "denied: " + "; ".join(s.why for s in (self.egress, self.ingress) if not s.allowed) + "."


# -- the index: selector matches computed once per cluster ---------------------------------------

class _Index:
    """Which policies select which pods, per direction; computed once per Cluster."""

    def __init__(self, cluster: Cluster):
        self.cluster = cluster
        self.pods = [p for p in cluster.pods]
        self.pod_pos = {p.key: i for i, p in enumerate(self.pods)}
        self.by_ns: dict[str, list[int]] = {}
        for i, p in enumerate(self.pods):
            self.by_ns.setdefault(p.namespace, []).append(i)
        self.ns_labels: dict[str, dict] = {}
        self.ingress_of: dict[str, list[NetworkPolicy]] = {}
        self.egress_of: dict[str, list[NetworkPolicy]] = {}
        self._ns_match: dict[LabelSelector, frozenset[str]] = {}
        self._names: dict[tuple[str, str], tuple[str, ...]] = {}
        self.sides: dict[tuple, Side] = {}
        self.candidates: dict[tuple, list] = {}
        picked: dict[tuple[str, LabelSelector], list[int]] = {}
        for pol in cluster.policies:
            # Policies often share a podSelector: match it against the namespace's pods once.
            key = (pol.namespace, pol.pod_selector)
            chosen = picked.get(key)
            if chosen is None:
                chosen = picked[key] = self.selected(pol)
            for i in chosen:
                key = self.pods[i].key
                if "Ingress" in pol.policy_types:
                    self.ingress_of.setdefault(key, []).append(pol)
                if "Egress" in pol.policy_types:
                    self.egress_of.setdefault(key, []).append(pol)

    def names_of(self, direction: str, pod_key: str) -> tuple[str, ...]:
        found = self._names.get((direction, pod_key))
        if found is None:
            table = self.ingress_of if direction == "ingress" else self.egress_of
            found = self._names[(direction, pod_key)] = tuple(p.key for p in table.get(pod_key, ()))
        return found

    def labels_of_ns(self, ns: str) -> dict:
        found = self.ns_labels.get(ns)
        if found is None:
            found = self.ns_labels[ns] = dict(self.cluster.namespace_labels(ns))
        return found

    def selected(self, pol: NetworkPolicy) -> list[int]:
        """The pods a policy applies to: its podSelector in its own namespace (not hostNetwork)."""
        return [i for i in self.by_ns.get(pol.namespace, ())
                if not self.pods[i].host_network and pol.pod_selector.matches(self.pods[i].labels)]

    def namespaces_matching(self, sel: LabelSelector) -> frozenset[str]:
        found = self._ns_match.get(sel)
        if found is None:
            names = set(self.by_ns) | {ns.name for ns in self.cluster.namespaces} | {_DNS_NAMESPACE}
            found = self._ns_match[sel] = frozenset(n for n in names if sel.matches(self.labels_of_ns(n)))
        return found


_INDEXES: "weakref.WeakKeyDictionary[Cluster, _Index]" = weakref.WeakKeyDictionary()


def index(cluster: Cluster) -> _Index:
    """The cluster's policy index (built on first use, kept as long as the cluster lives)."""
    found = _INDEXES.get(cluster)
    if found is None:
        found = _INDEXES[cluster] = _Index(cluster)
    return found


def isolating(cluster: Cluster, pod: Pod, direction: str) -> tuple[NetworkPolicy, ...]:
    """The policies that select `pod` for `direction` ("ingress" or "egress")."""
    ix = index(cluster)
    table = ix.ingress_of if direction == "ingress" else ix.egress_of
    return tuple(table.get(pod.key, ()))


# -- matching -----------------------------------------------------------------------------------

@functools.lru_cache(maxsize=65536)
def _address(ip: str) -> tuple[int, int] | None:
    """(version, integer) of an address, or None."""
    try:
        a = ipaddress.ip_address(ip)
    except ValueError:
        return None
    return a.version, int(a)


@functools.lru_cache(maxsize=16384)
def _ranges(block: IPBlock) -> tuple[int, tuple[int, int], tuple[tuple[int, int], ...]] | None:
    """An ipBlock as integer ranges: (version, cidr's (low, high), the excepts' ranges)."""
    def span(text):
        net = ipaddress.ip_network(text, strict=False)     # validated: the host bits may be set
        return net.version, (int(net.network_address), int(net.broadcast_address))
    try:
        version, whole = span(block.cidr)
        holes = sorted(r for v, r in map(span, block.excepts) if v == version)
    except ValueError:
        return None
    # Excepts merged and sorted, so that a long list is searched by bisection, not walked.
    merged: list[list[int]] = []
    for a, b in holes:
        if merged and a <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return version, whole, (tuple(a for a, _ in merged), tuple(b for _, b in merged))


def _in_holes(n: int, holes) -> bool:
    starts, ends = holes
    if not starts:
        return False
    k = bisect.bisect_right(starts, n) - 1
    return k >= 0 and n <= ends[k]


def _in_block(ip: str | None, peer: PolicyPeer) -> bool:
    block = peer.ip_block
    if block is None or not ip:
        return False
    addr, ranges = _address(ip), _ranges(block)
    if addr is None or ranges is None or addr[0] != ranges[0]:
        return False
    n = addr[1]
    lo, hi = ranges[1]
    return lo <= n <= hi and not _in_holes(n, ranges[2])


def _peer_matches(ix: _Index, pol: NetworkPolicy, peer: PolicyPeer, pod: Pod | None, ip: str | None) -> bool:
    """Whether one from/to entry of `pol` matches the other end: a pod (seen with its own
    address) or only an address (a node's after SNAT, an outside client's)."""
    if peer.ip_block is not None:
        return _in_block(ip, peer)
    if pod is None or pod.host_network:
        return False                    # selectors pick pods; a node's address is no pod
    if peer.namespace_selector is not None:
        if pod.namespace not in ix.namespaces_matching(peer.namespace_selector):
            return False
    elif pod.namespace != pol.namespace:
        return False                    # a podSelector alone looks in the policy's namespace
    return peer.pod_selector is None or peer.pod_selector.matches(pod.labels)


def _port_matches(entry: PolicyPort, port: int, protocol: str, dest: Pod | None) -> bool:
    if entry.protocol != protocol:
        return False
    if entry.port is None:
        return True                     # protocol only: every port of it
    if isinstance(entry.port, int):
        if entry.end_port is not None:
            return entry.port <= port <= entry.end_port
        return port == entry.port
    # A named port means the destination pod's container port of that name and protocol
    # (for egress too: it is resolved against the pod the packet goes to).
    if dest is None or dest.host_network:
        return False
    return dest.port_named(entry.port, protocol) == port


def _rule_admits(ix, pol, rule: PolicyRule, other: Pod | None, ip: str | None, port: int,
                 protocol: str, dest: Pod | None) -> bool:
    # Plain loops: with hundreds of policies on one pod this is the innermost work.
    if rule.ports:
        for e in rule.ports:
            if _port_matches(e, port, protocol, dest):
                break
        else:
            return False
    if not rule.peers:
        return True
    for peer in rule.peers:
        if _peer_matches(ix, pol, peer, other, ip):
            return True
    return False


def _side(ix: _Index, direction: str, pod: Pod | None, other: Pod | None, ip: str | None,
          port: int, protocol: str, dest: Pod | None, other_name: str) -> Side:
    if pod is None:
        return Side(direction, None, True, why=f"{direction}: the {'receiver' if direction == 'ingress' else 'sender'}"
                    " is not a pod, so no policy applies on this side")
    if pod.host_network:
        return Side(direction, pod.key, True, why=f"{direction} of {pod.key}: a hostNetwork pod; no policy "
                    "selects it (its traffic is its node's)")
    table = ix.ingress_of if direction == "ingress" else ix.egress_of
    pols = table.get(pod.key, ())
    if not pols:
        return Side(direction, pod.key, True, (),
                    why=f"{direction} of {pod.key}: not isolated (no policy selects it for {direction})")
    names = ix.names_of(direction, pod.key)
    # The same question comes back often (the explorer redraws, a route asks per node): the
    # answer for this pod, peer, address, port and protocol is kept with the cluster's index.
    memo_key = (direction, pod.key, other.key if other is not None else None, ip, port, protocol,
                dest.key if dest is not None else None, other_name)
    found = ix.sides.get(memo_key)
    if found is not None:
        return found
    # The rules whose ports admit this port and protocol (on this destination): worked out once;
    # only their peers are left to compare for each sender.
    # Pods selected by the same policies share it (a named port depends only on dest's ports).
    ckey = (direction, names, port, protocol, dest.ports if dest is not None and not dest.host_network else None)
    found_candidates = ix.candidates.get(ckey)
    if found_candidates is None:
        candidates, blocks = [], []
        for pol in pols:
            rules = pol.ingress if direction == "ingress" else pol.egress
            for i, rule in enumerate(rules):
                if rule.ports and not any(_port_matches(e, port, protocol, dest) for e in rule.ports):
                    continue
                ranges = [_ranges(peer.ip_block) for peer in rule.peers if peer.ip_block is not None]
                if rule.peers and len(ranges) == len(rule.peers):
                    # Only address ranges: compared as integers below, without a call each.
                    blocks += [(r[0], r[1][0], r[1][1], r[2], pol.key, i) for r in ranges if r is not None]
                else:
                    candidates.append((pol, pol.key, i, rule.peers))
        if len(ix.candidates) > 100_000:
            ix.candidates.clear()
        found_candidates = ix.candidates[ckey] = (candidates, blocks)
    candidates, blocks = found_candidates
    admits: list[str] = []
    named: set[str] = set()
    for pol, name, i, peers in candidates:
        if name in named:
            continue                    # one admitting rule per policy is enough to name
        if not peers or any(_peer_matches(ix, pol, peer, other, ip) for peer in peers):
            admits.append(f"{name} {direction}[{i}]")
            named.add(name)
            if len(admits) >= 3:
                break                   # allowed; three reasons are plenty to show
    address = _address(ip) if ip and len(admits) < 3 else None
    if address is not None:
        version, n = address
        for v, lo, hi, holes, name, i in blocks:
            if v == version and lo <= n <= hi and name not in named and \
                    not _in_holes(n, holes):
                admits.append(f"{name} {direction}[{i}]")
                named.add(name)
                if len(admits) >= 3:
                    break
    what = f"{'from' if direction == 'ingress' else 'to'} {other_name} on {port}/{protocol}"
    side = _judged(direction, pod, names, admits, what)
    if len(ix.sides) > 100_000:
        ix.sides.clear()
    ix.sides[memo_key] = side
    return side


def _judged(direction: str, pod: Pod, names: tuple[str, ...], admits: list[str], what: str) -> Side:
    if admits:
        return Side(direction, pod.key, True, names, tuple(admits),
                    why=f"{direction} of {pod.key}: {_list(admits)} allows {what}")
    return Side(direction, pod.key, False, names,
                why=f"{direction} of {pod.key}: isolated by {_list(names, most=4)}, and no rule of "
                    f"{'it' if len(names) == 1 else 'them'} allows {what}")


def _list(items, most: int | None = None) -> str:
    items = list(items)
    if most is not None and len(items) > most:
        return f"{len(items)} policies ({', '.join(items[:most - 1])}, ...)"
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _node_address(cluster: Cluster, name: str | None) -> str | None:
    node = cluster.node(name) if name else None
    return node.address if node else None


def decide(cluster: Cluster, *, src: Pod | None, dst: Pod | None, port: int, protocol: str = "TCP",
           dst_ip: str | None = None, seen_ip: str | None = None, seen_node: str | None = None,
           src_name: str | None = None) -> Decision:
    """Whether a connection from `src` (a pod, or None for a node or an outside client) to `dst`
    (a pod, or None for an address that is no pod) on `port`/`protocol` passes the policies.

    `port` is the port the destination pod receives (after DNAT: the targetPort). The ingress
    side sees `seen_ip`: the sender's own address unless a route masquerades, then `seen_node`
    names the node whose address the pod sees. `dst_ip` is where the packet goes (after DNAT)."""
    protocol = protocol.upper()
    ix = index(cluster)
    if src is not None and src.host_network:
        seen_node = seen_node or src.node
    if seen_node is not None:
        seen_ip = seen_ip or _node_address(cluster, seen_node)
    elif seen_ip is None and src is not None:
        seen_ip = src.ip
    if dst_ip is None and dst is not None:
        dst_ip = dst.ip if not dst.host_network else _node_address(cluster, dst.node)
    sender = src_name or (f"pod/{src.key}" if src is not None else (seen_ip or "the client"))
    receiver = f"pod/{dst.key}" if dst is not None else (dst_ip or "the destination")
    # Egress: the sending pod's policies, judged on the destination pod (after DNAT).
    sender_pod = src if src is not None and not src.host_network else None
    own_node = _node_address(cluster, sender_pod.node) if sender_pod is not None else None
    if sender_pod is not None and own_node is not None and dst_ip == own_node:
        egress = Side("egress", sender_pod.key, True, why=f"egress of {sender_pod.key}: to its own node, "
                      "always allowed")
    elif sender_pod is not None and dst is not None and dst.key == sender_pod.key and seen_node is None:
        egress = Side("egress", sender_pod.key, True, why=f"egress of {sender_pod.key}: to itself, the "
                      "packet never leaves the pod")
    else:
        egress = _side(ix, "egress", sender_pod, dst, dst_ip, port, protocol, dst, receiver)
    # Ingress: the receiving pod's policies, judged on what it sees: the sending pod only when
    # its own address arrives; after SNAT a node's address, which only an ipBlock can match.
    seen_pod = sender_pod if seen_node is None else None
    if dst is not None and not dst.host_network and seen_node is not None and seen_node == dst.node:
        ingress = Side("ingress", dst.key, True, ix.names_of("ingress", dst.key),
                       why=f"ingress of {dst.key}: from its own node ({seen_node}), always allowed")
    elif dst is not None and src is not None and dst.key == src.key and seen_node is None:
        ingress = Side("ingress", dst.key, True, why=f"ingress of {dst.key}: from itself, the packet never "
                       "leaves the pod")
    else:
        seen_name = (f"node {seen_node} ({seen_ip})" if seen_node is not None
                     else (sender if seen_pod is not None or not seen_ip else seen_ip))
        ingress = _side(ix, "ingress", dst, seen_pod, seen_ip, port, protocol, dst, seen_name)
    return Decision(egress, ingress, port, protocol)


# -- the matrix: every pod to every pod ----------------------------------------------------------

@dataclass(frozen=True)
class Matrix:
    """The truth table: allowed[i][j] is pods[i] -> pods[j] on `port`/`protocol`."""

    port: int
    protocol: str
    pods: tuple[str, ...]                          # "ns/name", sorted by namespace then name
    rows: tuple[str, ...] = field(repr=False)      # row i: "1" where pods[i] -> pods[j] is allowed

    @property
    def allowed(self) -> tuple[tuple[bool, ...], ...]:
        return tuple(tuple(c == "1" for c in row) for row in self.rows)

    def to_dict(self) -> dict:
        return {"port": self.port, "protocol": self.protocol, "pods": list(self.pods),
                "allowed": [list(row) for row in self.allowed]}

    def json_text(self) -> str:
        """to_dict() as indented JSON, one row of the table per line (a million cells stay a
        few megabytes, printed in a blink)."""
        import json
        rows = ",\n    ".join("[" + ", ".join(row).replace("1", "true").replace("0", "false") + "]"
                               for row in self.rows)
        return ("{\n" + f'  "port": {self.port},\n  "protocol": {json.dumps(self.protocol)},\n'
                f'  "pods": {json.dumps(list(self.pods))},\n'
                + '  "allowed": [' + ("\n    " + rows + "\n  " if rows else "") + "]\n}")

    def text(self) -> str:
        """The grid as the e2e suite prints its truth tables: `.` allowed, `X` denied."""
        width = max((len(p) for p in self.pods), default=1)
        lines = ["-" * (width + 1) + "\t" + "\t".join(self.pods)]
        for name, row in zip(self.pods, self.rows):
            lines.append(name.ljust(width) + "\t" + "\t".join(row.replace("1", ".").replace("0", "X")))
        return "\n".join(lines)


def matrix(cluster: Cluster, port: int = 80, protocol: str = "TCP") -> Matrix:
    """Every pod (with an IP, not hostNetwork) to every pod, directly to the pod IP."""
    protocol = protocol.upper()
    ix = index(cluster)
    pods = sorted((p for p in cluster.pods if p.ip and not p.host_network), key=lambda p: (p.namespace, p.name))
    n = len(pods)
    every = (1 << n) - 1
    pos = {p.key: i for i, p in enumerate(pods)}
    ns_bits: dict[str, int] = {}
    for i, p in enumerate(pods):
        ns_bits[p.namespace] = ns_bits.get(p.namespace, 0) | (1 << i)
    peer_cache: dict[tuple, int] = {}

    addresses = [_address(p.ip) for p in pods]

    def peer_bits(pol: NetworkPolicy, peer: PolicyPeer) -> int:
        # An ipBlock means the same in every namespace; selectors depend on the policy's.
        key = peer if peer.ip_block is not None else (pol.namespace, peer)
        found = peer_cache.get(key)
        if found is not None:
            return found
        bits = 0
        if peer.ip_block is not None:
            ranges = _ranges(peer.ip_block)
            if ranges is not None:
                version, (lo, hi), holes = ranges
                for i, a in enumerate(addresses):
                    if a is not None and a[0] == version and lo <= a[1] <= hi and \
                            not _in_holes(a[1], holes):
                        bits |= 1 << i
        else:
            if peer.namespace_selector is not None:
                spaces = ix.namespaces_matching(peer.namespace_selector)
                candidates = 0
                for ns in spaces:
                    candidates |= ns_bits.get(ns, 0)
            else:
                candidates = ns_bits.get(pol.namespace, 0)
            sel = peer.pod_selector
            if sel is None or sel.empty:
                bits = candidates
            else:
                for i in _bits(candidates):
                    if sel.matches(pods[i].labels):
                        bits |= 1 << i
        peer_cache[key] = bits
        return bits

    def rule_bits(pol, rule: PolicyRule) -> int:
        if not rule.peers:
            return every
        bits = 0
        for peer in rule.peers:
            bits |= peer_bits(pol, peer)
        return bits

    # Ingress: for each receiver, the senders it admits.
    admitted = []
    for j, dst in enumerate(pods):
        pols = ix.ingress_of.get(dst.key)
        if not pols:
            admitted.append(every)
            continue
        bits = 0
        for pol in pols:
            for rule in pol.ingress:
                if rule.ports and not any(_port_matches(e, port, protocol, dst) for e in rule.ports):
                    continue
                bits |= rule_bits(pol, rule)
        admitted.append(bits | (1 << j))            # a pod reaches itself without leaving it
    # Egress: for each sender, the receivers it may send to (named ports per receiver).
    rows = []
    for i, src in enumerate(pods):
        pols = ix.egress_of.get(src.key)
        if not pols:
            out = every
        else:
            out = 1 << i
            for pol in pols:
                for rule in pol.egress:
                    if not rule.ports:
                        out |= rule_bits(pol, rule)
                        continue
                    plain = [e for e in rule.ports if not isinstance(e.port, str)]
                    if any(_port_matches(e, port, protocol, None) for e in plain):
                        out |= rule_bits(pol, rule)
                        continue
                    named = [e for e in rule.ports if isinstance(e.port, str)]
                    if named:
                        targets = rule_bits(pol, rule)
                        for j in _bits(targets):
                            if any(_port_matches(e, port, protocol, pods[j]) for e in named):
                                out |= 1 << j
        rows.append(out)
    # Both directions: row i of egress AND column i of ingress. The ingress sets are transposed
    # as bit strings (character j of a string is bit j of its mask), which is fast in Python.
    def bits_text(mask: int) -> str:
        return format(mask, f"0{n}b")[::-1] if n else ""
    columns = ["".join(col) for col in zip(*map(bits_text, admitted))]
    table = tuple(bits_text(rows[i] & int(columns[i][::-1], 2)) for i in range(n))
    return Matrix(port, protocol, tuple(p.key for p in pods), table)


def _bits(value: int):
    i = 0
    while value:
        if value & 1:
            yield i
        value >>= 1
        i += 1


# -- DNS: the queries a pod's resolver sends to kube-dns -----------------------------------------

def dns_pods(cluster: Cluster) -> list[Pod]:
    """The pods answering the cluster DNS Service: those of kube-system/kube-dns if the input has
    it, else pods labelled k8s-app=kube-dns in kube-system, else kubeadm's CoreDNS as k8slab
    models it (one pod with kubeadm's labels and container ports, no address of its own)."""
    svc = cluster.service("kube-dns", _DNS_NAMESPACE)
    if svc is not None and svc.selector:
        found = cluster.selected_pods(svc)
        if found:
            return found
    found = [p for p in cluster.pods if p.namespace == _DNS_NAMESPACE
             and all(p.labels.get(k) == v for k, v in DNS_LABELS.items())]
    if found:
        return found
    return [Pod("coredns", _DNS_NAMESPACE, None, None, labels=dict(DNS_LABELS),
                ports=(ContainerPort(53, "dns", "UDP"), ContainerPort(53, "dns-tcp", "TCP"),
                       ContainerPort(9153, "metrics", "TCP")))]


def dns_decision(cluster: Cluster, src: Pod, protocol: str = "UDP") -> Decision | None:
    """How the policies treat `src`'s DNS queries (53/UDP, as glibc's resolver sends them):
    the first DNS pod's decision when every DNS pod refuses, else None (the lookup gets out)."""
    if src.host_network:
        return None
    first = None
    for pod in dns_pods(cluster):
        d = decide(cluster, src=src, dst=pod, port=53, protocol=protocol, dst_ip=pod.ip)
        if d.allowed:
            return None
        first = first or d
    return first


# -- words ---------------------------------------------------------------------------------------

def port_text(p: PolicyPort) -> str:
    if p.port is None:
        return f"any {p.protocol} port"
    if p.end_port is not None:
        return f"{p.port}-{p.end_port}/{p.protocol}"
    return f"{p.port}/{p.protocol}"


def peer_text(p: PolicyPeer, namespace: str) -> str:
    if p.ip_block is not None:
        return p.ip_block.cidr + (f" except {', '.join(p.ip_block.excepts)}" if p.ip_block.excepts else "")
    pods = "every pod" if p.pod_selector is None or p.pod_selector.empty else f"pods {p.pod_selector.text()}"
    if p.namespace_selector is None:
        return f"{pods} in {namespace}"
    spaces = ("every namespace" if p.namespace_selector.empty
              else f"namespaces {p.namespace_selector.text()}")
    return f"{pods} in {spaces}"


def rule_text(pol: NetworkPolicy, direction: str, i: int) -> str:
    rule = (pol.ingress if direction == "ingress" else pol.egress)[i]
    word = "from" if direction == "ingress" else "to"
    peers = ", or ".join(peer_text(p, pol.namespace) for p in rule.peers) if rule.peers else "anywhere"
    ports = ", ".join(port_text(p) for p in rule.ports) if rule.ports else "every port"
    return f"{direction}[{i}]: {word} {peers}; {ports}"


def fix_for(cluster: Cluster, d: Decision, src: Pod | None, dst: Pod | None, seen_ip: str | None = None) -> str:
    """The smallest change that lets the refused side through, in manifest words."""
    side = d.failing
    if side is None:
        return ""
    port = f"ports: [{{port: {d.port}, protocol: {d.protocol}}}]"
    if side.direction == "egress":
        if dst is not None:
            peer = (f"{{namespaceSelector: {{matchLabels: {{{NAMESPACE_NAME_LABEL}: {dst.namespace}}}}}, "
                    f"podSelector: {{matchLabels: {{{_labels_text(dst.labels)}}}}}}}")
        else:
            peer = "{ipBlock: {cidr: ...}}"
        return f"{_where(side)} the egress rule {{to: [{peer}], {port}}}"
    if src is not None and seen_ip == src.ip:
        peer = (f"{{namespaceSelector: {{matchLabels: {{{NAMESPACE_NAME_LABEL}: {src.namespace}}}}}, "
                f"podSelector: {{matchLabels: {{{_labels_text(src.labels)}}}}}}}")
    elif seen_ip:
        peer = f"{{ipBlock: {{cidr: {seen_ip}/32}}}}"
    else:
        peer = "{...}"
    return f"{_where(side)} the ingress rule {{from: [{peer}], {port}}}"


def _where(side: Side) -> str:
    """Where a new rule goes: the one policy selecting the pod, or any of them (or a new one)."""
    if len(side.policies) == 1:
        return f"add to {side.policies[0]}"
    return (f"add to one of the policies selecting {side.pod} ({_list(side.policies)}), or to a new "
            "one selecting it,")


def _labels_text(labels) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(labels.items())) if labels else ""


# -- one pair, explained (`k8slab reach --from --to`) -------------------------------------------

def pair_dict(d: Decision, src_name: str, dst_name: str) -> dict:
    """DESIGN.md's one-pair JSON."""
    return {"from": src_name, "to": dst_name, "port": d.port, "protocol": d.protocol,
            "allowed": d.allowed, "egress": d.egress.to_dict(), "ingress": d.ingress.to_dict(),
            "reason": f"{src_name} -> {dst_name} on {d.port}/{d.protocol} is {d.reason}"}


def pair_text(cluster: Cluster, d: Decision, src_name: str, dst_name: str, fix: str = "") -> str:
    lines = [f"{src_name} -> {dst_name} on {d.port}/{d.protocol}: {'allowed' if d.allowed else 'DENIED'}"]
    by_key = {p.key: p for p in cluster.policies}
    for side in (d.egress, d.ingress):
        mark = "ok " if side.allowed else "NO "
        lines.append(f"  {mark}{side.why}")
        for name in side.policies:
            pol = by_key.get(name)
            if pol is None:
                continue
            rules = pol.ingress if side.direction == "ingress" else pol.egress
            lines.append(f"      {name} (selects {pol.pod_selector.text()}):")
            if not rules:
                lines.append(f"        no {side.direction} rules: allows nothing by itself")
            for i in range(len(rules)):
                lines.append(f"        {rule_text(pol, side.direction, i)}")
    if fix:
        lines.append(f"  fix: {fix}")
    return "\n".join(lines)


# -- what-if: a namespace locked down, and a ready-made allow (the explorer's switch) ------------

#: The explorer's NetworkPolicy switch: nothing; the namespace's default deny (both directions);
#: the default deny plus the allowances that make the Service work again.
LOCKDOWN_CHOICES = ("none", "default-deny", "default-deny + allow")
_LOCKED: "weakref.WeakKeyDictionary[Cluster, dict]" = weakref.WeakKeyDictionary()


def lockdown(cluster: Cluster, namespace: str, choice: str, selector=None) -> Cluster:
    """A copy of `cluster` with namespace `namespace` under `choice` (LOCKDOWN_CHOICES).

    "default-deny" adds policy `default-deny` (every pod, Ingress and Egress, no rule).
    "default-deny + allow" also adds `allow-dns` (egress to kube-dns on 53/UDP and 53/TCP) and
    `allow-service`, which lets the pods `selector` picks (a Service's selector) be reached from
    anywhere and every pod of the namespace reach them. The same inputs give the same copy."""
    if choice not in LOCKDOWN_CHOICES:
        raise ValueError(f"choice {choice!r}: give one of {', '.join(LOCKDOWN_CHOICES)}")
    if choice == "none":
        return cluster
    key = (namespace, choice, tuple(sorted((selector or {}).items())))
    memo = _LOCKED.setdefault(cluster, {})
    found = memo.get(key)
    if found is not None:
        return found
    every = LabelSelector()
    added = [NetworkPolicy("default-deny", namespace, every, ("Ingress", "Egress"))]
    if choice == "default-deny + allow":
        dns = PolicyPeer(pod_selector=LabelSelector(tuple(sorted(DNS_LABELS.items()))),
                         namespace_selector=LabelSelector(((NAMESPACE_NAME_LABEL, _DNS_NAMESPACE),)))
        added.append(NetworkPolicy("allow-dns", namespace, every, ("Egress",), egress=(
            PolicyRule((dns,), (PolicyPort("UDP", 53), PolicyPort("TCP", 53))),)))
        target = LabelSelector(tuple(sorted((selector or {}).items())))
        added.append(NetworkPolicy("allow-service", namespace, target, ("Ingress",), ingress=(PolicyRule(),)))
        added.append(NetworkPolicy("allow-to-service", namespace, every, ("Egress",), egress=(
            PolicyRule((PolicyPeer(pod_selector=target),)),)))
    names = {p.name for p in added}
    kept = [p for p in cluster.policies if not (p.namespace == namespace and p.name in names)]
    found = memo[key] = cluster.with_policies(kept + added)
    return found
