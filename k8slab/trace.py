"""One packet walked through kube-proxy's rules, the way netfilter evaluates them."""

# The rules are the oracle: this module reads the text `k8slab rules --node N` prints
# (`proxy.rules`, iptables-save format) and evaluates it, rule by rule, for one packet,
# as the kernel's netfilter would. It never asks the model what kube-proxy decided; it
# asks the model only what a network outside the rules knows: which node owns an
# address, which pod has an IP, where a client sits, and which nodes a cloud load balancer
# sends to.
#
# What the kernel does, and where this follows it:
#   * a packet from a pod or from the network enters a node at nat PREROUTING; one sent by
#     a process on the node (or a hostNetwork pod) at nat OUTPUT, then filter OUTPUT; a
#     routing decision then sends it to filter INPUT (an address of this node) or filter
#     FORWARD, and nat POSTROUTING on the way out (netfilter's hook order: nat before
#     filter at OUTPUT, nat -100 / filter 0 priorities);
#   * the nat table sees only a connection's first packet, which is what is traced here;
#     DNAT and MASQUERADE end the nat table's walk for that hook; ACCEPT ends a table's walk;
#     DROP and REJECT end the packet; a user chain that runs out returns to its caller; a
#     built-in chain that runs out applies its policy (ACCEPT on a kube-proxy node);
#   * the built-in chains jump into kube-proxy's with the rules kube-proxy installs itself
#     (pkg/proxy/iptables/proxier.go, iptablesJumpChains, and the kubelet's KUBE-FIREWALL):
#     they are not part of what `rules` restores, so they are listed here (JUMP_RULES);
#   * conntrack is per node: a packet DNATed on one node arrives on the pod's node as a new
#     connection to the pod's own address, which no kube-proxy rule there rewrites (the
#     walk shows it passing KUBE-SERVICES unmatched); the packet mark is not carried across;
#   * MASQUERADE gives the packet the address of the interface it leaves by: k8slab shows
#     the node's InternalIP (with a bridge CNI a pod on the same node sees the bridge's
#     address, such as 10.244.1.1, instead);
#   * `-m statistic --mode random --probability P` branches: both ways are followed, each
#     with its probability. kube-proxy writes 1/k with 10 decimals (computeProbability);
#     a value that is exactly that rounding of 1/k is read back as the fraction 1/k;
#   * `-m recent`: each node keeps its own lists; a first connection finds them empty, a
#     repeat connection (`repeat=True`) finds the client recorded by the first one.

from __future__ import annotations

import functools
import ipaddress
import random
import re
import weakref
from dataclasses import dataclass, field, replace
from fractions import Fraction

from . import iptables, proxy, routing
from .errors import K8slabError
from .model import Cluster, Node

__all__ = ["Trace", "Branch", "Ruleset", "Rule", "NodeWalk", "trace", "walk", "parse_rules", "parse_dial",
           "DialError", "JUMP_RULES", "CLIENT_ADDRESSES", "VERDICTS", "PROTOCOLS"]

VERDICTS = ("delivered", "rejected", "dropped", "unrouted")
PROTOCOLS = ("tcp", "udp", "sctp")

#: Source addresses of the clients outside the cluster: routing's (one vocabulary).
CLIENT_ADDRESSES = routing.CLIENT_ADDRESSES

#: The jumps from the built-in chains into kube-proxy's, as kube-proxy (and, for
#: KUBE-FIREWALL, the kubelet) install them (pkg/proxy/iptables/proxier.go,
#: iptablesJumpChains): {(table, built-in chain): [rule, ...]}, in the order they sit there.
#: They are not part of what `rules` restores (`rules --explain` lists them as comments).
JUMP_RULES: dict[tuple[str, str], list[str]] = {}
for _table, _rules in iptables.JUMP_RULES.items():
    for _rule in _rules:
        JUMP_RULES.setdefault((_table, _rule.split()[1]), []).append(_rule)

#: Where a learner reads what each built-in chain is for.
_HOOK_NOTES = {
    ("nat", "PREROUTING"): "every packet that arrives from a pod or from the network starts here",
    ("nat", "OUTPUT"): "a packet sent by a process on this node (or a hostNetwork pod) starts here",
    ("filter", "OUTPUT"): "the filter table's turn for a packet sent from this node",
    ("filter", "FORWARD"): "the packet is for another machine or a pod: the filter table's turn",
    ("filter", "INPUT"): "the packet is for this node itself: the filter table's turn",
    ("nat", "POSTROUTING"): "the packet leaves the node: kube-proxy masquerades marked packets here",
}

#: Parsed rules per cluster and node: a Cluster is read-only once built, so its rules are too.
_PARSED: "weakref.WeakKeyDictionary[Cluster, dict[str, Ruleset]]" = weakref.WeakKeyDictionary()

_MAX_HOPS = 8          # nodes a packet may cross (a pod's node, a load balancer's choice, ...)
_LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")


class DialError(K8slabError):
    """A `--dial` that is not HOST:PORT, or a HOST this client cannot use (a usage error)."""


# ---------------------------------------------------------------------------------------
# Reading the rules
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    """One `-A CHAIN ...` line, split into what it matches and what it does."""

    table: str
    chain: str
    text: str
    protocol: tuple[str, bool] | None = None          # (name, negated)
    source: tuple[ipaddress.IPv4Network, bool] | None = None
    destination: tuple[ipaddress.IPv4Network, bool] | None = None
    dport: tuple[int, bool] | None = None
    addrtype: tuple[tuple[str, str, bool], ...] = ()   # (src|dst, type, negated)
    probability: Fraction | None = None
    probability_text: str | None = None
    recent: tuple[str, str, int | None] | None = None  # (name, rcheck|set, seconds)
    mark: tuple[int, int, bool] | None = None          # (value, mask, negated)
    ctstate: tuple[frozenset, bool] | None = None
    comment: str | None = None
    target: str | None = None
    goto: bool = False
    target_options: tuple[tuple[str, str | None], ...] = ()

    def option(self, name: str) -> str | None:
        for k, v in self.target_options:
            if k == name:
                return v
        return None


@dataclass
class Ruleset:
    """One node's tables: {table: {chain: [Rule, ...]}}, as `iptables-save` listed them."""

    tables: dict[str, dict[str, list[Rule]]] = field(default_factory=dict)

    def chain(self, table: str, chain: str) -> list[Rule] | None:
        return self.tables.get(table, {}).get(chain)


@functools.lru_cache(maxsize=1 << 16)
def _net(text: str) -> ipaddress.IPv4Network:
    # Cached: a node's rules name each cluster IP and pod address several times, and
    # ipaddress parses slowly (issue 22: most of a 5,000-Service trace went here).
    try:
        return ipaddress.IPv4Network(text if "/" in text else text + "/32", strict=False)
    except ValueError:
        raise K8slabError(f"trace: {text!r} is not an IPv4 address or network") from None


def _probability(text: str) -> Fraction:
    """kube-proxy's computeProbability writes 1/k as "%0.10f": read that back as exactly 1/k."""
    value = Fraction(text)
    if value > 0:
        k = round(1 / value)
        if k >= 1 and f"{1.0 / k:0.10f}" == text:
            return Fraction(1, k)
    return value


# A word of an iptables-save line: "a quoted comment" (iptables-save escapes \" and \\ in
# it) or a run of non-spaces. shlex would do, at twenty times the cost.
_WORD = re.compile(r'"((?:[^"\\]|\\.)*)"|(\S+)')


def _words(line: str) -> list[str]:
    out = []
    for quoted, plain in _WORD.findall(line):
        out.append(plain if plain else re.sub(r"\\(.)", r"\1", quoted))
    return out


_TARGET_OPTIONS = {"--or-mark", "--xor-mark", "--set-xmark", "--set-mark", "--to-destination",
                   "--reject-with"}
_TARGET_FLAGS = {"--random-fully", "--random", "--persistent"}


def _parse_rule(table: str, line: str) -> Rule:
    words = _words(line)
    if len(words) < 2 or words[0] != "-A":
        raise K8slabError(f"trace: a rule must start with -A CHAIN: {line!r}")
    f: dict = {"table": table, "chain": words[1], "text": line}
    addrtypes, options = [], []
    negate = False
    i = 2

    def take() -> str:
        nonlocal i
        if i + 1 >= len(words):
            raise K8slabError(f"trace: {words[i]} needs a value in rule {line!r}")
        i += 1
        return words[i]

    while i < len(words):
        w = words[i]
        if w == "!":
            negate = True
            i += 1
            continue
        if w == "-m":
            take()                                   # the module; its options follow
        elif w == "-p":
            f["protocol"] = (take().lower(), negate)
        elif w in ("-s", "--source"):
            f["source"] = (_net(take()), negate)
        elif w in ("-d", "--destination"):
            f["destination"] = (_net(take()), negate)
        elif w == "--dport":
            value = take()
            if not value.isdigit():
                raise K8slabError(f"trace: --dport {value!r} is not a port, in rule {line!r}")
            f["dport"] = (int(value), negate)
        elif w in ("--dst-type", "--src-type"):
            addrtypes.append(("dst" if w == "--dst-type" else "src", take(), negate))
        elif w == "--mode":
            if take() != "random":
                raise K8slabError(f"trace: only -m statistic --mode random is modelled: {line!r}")
        elif w == "--probability":
            text = take()
            f["probability_text"] = text
            try:
                f["probability"] = _probability(text)
            except (ValueError, ZeroDivisionError):
                raise K8slabError(f"trace: --probability {text!r} is not a number") from None
        elif w == "--name":
            f["recent_name"] = take()
        elif w in ("--rcheck", "--set"):
            f["recent_op"] = w[2:]
        elif w == "--seconds":
            f["recent_seconds"] = int(take())
        elif w == "--reap":
            pass
        elif w == "--mark":
            value, _, mask = take().partition("/")
            f["mark"] = (int(value, 0), int(mask, 0) if mask else 0xFFFFFFFF, negate)
        elif w == "--ctstate":
            f["ctstate"] = (frozenset(take().split(",")), negate)
        elif w == "--comment":
            f["comment"] = take()
        elif w == "--nfacct-name":
            take()                                   # a counter: matches every packet
        elif w in ("-j", "--jump", "-g", "--goto"):
            f["target"] = take()
            f["goto"] = w in ("-g", "--goto")
        elif w in _TARGET_OPTIONS:
            options.append((w, take()))
        elif w in _TARGET_FLAGS:
            options.append((w, None))
        else:
            raise K8slabError(f"trace: option {w!r} is not modelled, in rule {line!r}")
        negate = False
        i += 1
    if "recent_name" in f:
        f["recent"] = (f.pop("recent_name"), f.pop("recent_op", "rcheck"), f.pop("recent_seconds", None))
    f.pop("recent_op", None)
    f.pop("recent_seconds", None)
    f["addrtype"] = tuple(addrtypes)
    f["target_options"] = tuple(options)
    return Rule(**f)


class _LazyChain:
    """A chain's rules, each parsed when the walk first reaches it: a node of a cluster with
    thousands of Services has tens of thousands of rules, and a packet meets a few of them
    (issue 22: parsing them all was most of a trace's time)."""

    __slots__ = ("table", "lines", "parsed")

    def __init__(self, table: str):
        self.table, self.lines, self.parsed = table, [], []

    def __len__(self) -> int:
        return len(self.lines)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self.lines)))]
        if i < 0:
            i += len(self.lines)
        while len(self.parsed) <= i:
            self.parsed.append(_parse_rule(self.table, self.lines[len(self.parsed)]))
        return self.parsed[i]

    def __iter__(self):
        for i in range(len(self.lines)):
            yield self[i]


def parse_rules(text: str, lazy: bool = False) -> Ruleset:
    """Read `iptables-save` text (the filter and nat tables) into a Ruleset. `lazy` leaves each
    rule unparsed until it is first read (a malformed rule is then reported when it is reached)."""
    rs = Ruleset()
    table = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("*"):
            table = line[1:]
            rs.tables.setdefault(table, {})
        elif line == "COMMIT":
            table = None
        elif line.startswith(":"):
            if table is None:
                raise K8slabError(f"trace: line {number}: chain {line!r} outside a table")
            rs.tables[table].setdefault(line[1:].split()[0], _LazyChain(table) if lazy else [])
        elif line.startswith("-A"):
            if table is None:
                raise K8slabError(f"trace: line {number}: rule outside a table")
            if lazy:
                words = line.split(None, 2)
                if len(words) < 2:
                    raise K8slabError(f"trace: a rule must start with -A CHAIN: {line!r}")
                rs.tables[table].setdefault(words[1], _LazyChain(table)).lines.append(line)
                continue
            rule = _parse_rule(table, line)
            rs.tables[table].setdefault(rule.chain, []).append(rule)
        else:
            raise K8slabError(f"trace: line {number}: not iptables-save text: {line!r}")
    return rs


_JUMPS = {key: [_parse_rule(key[0], r) for r in rules] for key, rules in JUMP_RULES.items()}


# ---------------------------------------------------------------------------------------
# The packet and the walk
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Packet:
    """The first packet of a connection, as one node's netfilter sees it."""

    src: str
    dst: str
    dport: int
    protocol: str
    mark: int = 0
    dnat: bool = False              # conntrack state DNAT: this node rewrote the destination


class _Path:
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

    def but(self, **changes) -> "_Path":
        p = _Path(self.chance, self.steps, self.packet, self.recent, self.outcome, self.handed,
                  self.handled)
        for k, v in changes.items():
            setattr(p, k, v)
        return p

    def step(self, **step) -> "_Path":
        return self.but(steps=(step, self.steps))


def _steps(path: _Path) -> list[dict]:
    out, node = [], path.steps
    while node is not None:
        out.append(node[0])
        node = node[1]
    out.reverse()
    return out


@dataclass(frozen=True)
class Branch:
    """One way the packet can end, and its chance (exact)."""

    chance: Fraction
    verdict: str
    node: str | None                # the node whose rules decided (the last one it entered)
    pod: str | None = None
    pod_node: str | None = None
    dst: str | None = None          # IP:port the packet is delivered to
    src_seen: str | None = None     # the source address the pod sees
    entered: str | None = None      # the node whose kube-proxy rules DNATed it (else the first it entered)

    @property
    def probability(self) -> float:
        return float(self.chance)

    def to_dict(self) -> dict:
        return {"pod": self.pod, "probability": round(float(self.chance), 10),
                "chance": str(self.chance), "dst": self.dst, "src_seen": self.src_seen,
                "verdict": self.verdict, "node": self.pod_node if self.verdict == "delivered" else self.node,
                "entered": self.entered}


class _Walker:
    """Walks one packet through the nodes it enters; every random branch is followed."""

    def __init__(self, cluster: Cluster, via: Node | None, local_addresses=()):
        self.cluster = cluster
        self.extra_local = frozenset(local_addresses)
        self.via = via or (cluster.nodes[0] if cluster.nodes else None)
        self.rulesets: dict[str, Ruleset] = _PARSED.setdefault(cluster, {})
        self.node_by_ip = {n.address: n for n in cluster.nodes}
        self.pod_by_ip = {}
        for p in cluster.pods:
            if p.ip and not p.host_network and p.node:
                self.pod_by_ip.setdefault(p.ip, p)
        self.lb_ips = {}
        self.external_ips = set()
        for s in cluster.services:
            if not s.proxied:
                continue
            for ip in s.load_balancer_ingress:
                self.lb_ips.setdefault(ip, s)
            self.external_ips.update(s.external_ips)
        self._endpoint_pods: dict[str, tuple[str | None, str | None]] | None = None
        self.client_src: str | None = None     # the client's own address (trace sets it)
        self.health_ports = {s.health_check_node_port for s in cluster.services if s.health_check_node_port}

    # -- what the network knows -------------------------------------------------------------
    def rules(self, node: Node) -> Ruleset:
        rs = self.rulesets.get(node.name)
        if rs is None:
            rs = self.rulesets[node.name] = parse_rules(proxy.rules(self.cluster, node.name), lazy=True)
        return rs

    def local(self, node: Node, address: str) -> bool:
        """addrtype LOCAL: the node's own address or loopback (cluster IPs are not local in
        iptables mode: no interface carries them)."""
        return (address == node.address or address in self.extra_local
                or _inside(address, _LOOPBACK))

    def who_has(self, address: str, port: int) -> tuple[str | None, str | None]:
        """(pod, node) of what listens at address:port, for naming the receiver."""
        pod = self.pod_by_ip.get(address)
        if pod is not None:
            return pod.name, pod.node
        if self._endpoint_pods is None:
            found: dict[str, tuple[str | None, str | None]] = {}
            for s in self.cluster.services:
                if not s.proxied:
                    continue
                for sp in s.ports:
                    for e in self.cluster.endpoints(s, sp):
                        found.setdefault(e.ip_port, (e.pod, e.node))
            for p in self.cluster.pods:
                if p.host_network and p.ip and p.node:
                    for cp in p.ports:
                        found.setdefault(f"{p.ip}:{cp.port}", (p.name, p.node))
            self._endpoint_pods = found
        hit = self._endpoint_pods.get(f"{address}:{port}")
        if hit is not None:
            return hit
        node = self.node_by_ip.get(address)
        return None, node.name if node else None

    def lb_nodes(self, service) -> list[Node]:
        return routing.load_balancer_nodes(self.cluster, service)

    # -- one table's hook ------------------------------------------------------------------
    def hook(self, node: Node, table: str, chain: str, path: _Path) -> list[_Path]:
        """The built-in chain `chain`: kube-proxy's jumps, then the policy (ACCEPT)."""
        rs = self.rules(node)
        path = path.step(node=node.name, table=table, chain=chain, rule=None, matched=None,
                         note=_HOOK_NOTES.get((table, chain), ""))
        jumps = [r for r in _JUMPS.get((table, chain), []) if rs.chain(table, r.target) is not None]
        out = []
        for p in self.run(node, rs, table, chain, jumps, path, 0):
            if p.outcome in ("continue", "RETURN"):
                p = p.but(outcome="ACCEPT")       # the built-in chain's policy
            out.append(p)
        return out

    def run(self, node: Node, rs: Ruleset, table: str, chain: str, rules: list[Rule],
            path: _Path, depth: int) -> list[_Path]:
        if depth > 32:
            raise K8slabError(f"trace: chain {chain} nests too deeply (a loop in the rules?)")
        live = [path]          # paths still walking this chain
        done = []              # paths that left it (verdict, or RETURN to the caller)
        for rule in rules:
            if not live:
                break
            nxt = []
            for p in live:
                for q in self.apply(node, rs, rule, p, depth):
                    (nxt if q.outcome == "continue" else done).append(q)
            live = nxt
        for p in live:
            done.append(p.but(outcome="continue"))
        return done

    def apply(self, node: Node, rs: Ruleset, rule: Rule, path: _Path, depth: int) -> list[_Path]:
        """One rule: does the packet match it (maybe by chance), and what follows."""
        why = self.mismatch(node, rule, path)
        step = dict(node=node.name, table=rule.table, chain=rule.chain, rule=rule.text)
        if why is not None:
            return [path.step(**step, matched=False, note=why)]
        if rule.probability is not None and rule.probability < 1:
            p = rule.probability
            taken = path.step(**step, matched=True, note=f"random: taken (chance {p})").but(
                            chance=path.chance * p)
            skipped = path.step(**step, matched=False, note=f"random: not taken (chance {1 - p})").but(
                              chance=path.chance * (1 - p))
            return self.target(node, rs, rule, taken, depth) + [skipped]
        note = self.match_note(rule, path)
        recent = path.recent
        if rule.recent is not None and rule.recent[1] == "set":
            recent = recent | {(node.name, rule.recent[0], path.packet.src)}
            note = (note + "; " if note else "") + (f"records {path.packet.src} in list "
                                                    f"{rule.recent[0]} (session affinity)")
        matched = path.step(**step, matched=True, note=note).but(recent=recent)
        return self.target(node, rs, rule, matched, depth)

    def target(self, node: Node, rs: Ruleset, rule: Rule, path: _Path, depth: int) -> list[_Path]:
        t = rule.target
        pkt = path.packet
        if t is None:
            return [path]                               # a rule that only counts or comments
        if t in ("ACCEPT", "DROP", "REJECT", "RETURN"):
            return [path.but(outcome=t)]
        if t == "MARK":
            mark = pkt.mark
            if rule.option("--or-mark"):
                mark |= int(rule.option("--or-mark"), 0)
            if rule.option("--xor-mark"):
                mark ^= int(rule.option("--xor-mark"), 0)
            for name in ("--set-xmark", "--set-mark"):
                if rule.option(name):
                    value, _, mask = rule.option(name).partition("/")
                    m = int(mask, 0) if mask else 0xFFFFFFFF
                    mark = (mark & ~m) ^ int(value, 0) if name == "--set-xmark" else (mark & ~m) | int(value, 0)
            return [path.but(packet=replace(pkt, mark=mark & 0xFFFFFFFF))]
        if t == "DNAT":
            to = rule.option("--to-destination") or ""
            ip, _, port = to.partition(":")
            moved = replace(pkt, dst=ip, dport=int(port) if port else pkt.dport, dnat=True)
            return [path.but(packet=moved, outcome="DNAT", handled=node.name)
                    .step(node=node.name, table=None, chain=None, rule=None, matched=None,
                          note=f"DNAT: the destination is now {ip}:{moved.dport}")]
        if t == "MASQUERADE":
            # The address of the interface the packet leaves by: the node's (see the top).
            moved = replace(pkt, src=node.address)
            return [path.but(packet=moved, outcome="MASQUERADE")
                    .step(node=node.name, table=None, chain=None, rule=None, matched=None,
                          note=f"MASQUERADE: the source is now {node.address}, {node.name}'s address")]
        rules = rs.chain(rule.table, t)
        if rules is None:
            raise K8slabError(f"trace: rule jumps to {t}, which is neither a chain in the "
                              f"{rule.table} table nor a target k8slab models: {rule.text!r}")
        out = []
        for p in self.run(node, rs, rule.table, t, rules, path, depth + 1):
            if p.outcome in ("continue", "RETURN"):
                if rule.goto:
                    p = p.but(outcome="RETURN")    # -g: return to the caller's caller
                else:
                    p = p.but(outcome="continue")
            out.append(p)
        return out

    def mismatch(self, node: Node, rule: Rule, path: _Path) -> str | None:
        """Why the packet does not match `rule`, or None when it does (chance aside)."""
        pkt = path.packet
        if rule.protocol is not None:
            name, neg = rule.protocol
            if (pkt.protocol == name) == neg:
                return f"protocol {pkt.protocol} is {'' if neg else 'not '}{name}"
        if rule.destination is not None:
            net, neg = rule.destination
            if _inside(pkt.dst, net) == neg:
                return f"destination {pkt.dst} is {'' if neg else 'not '}{_show(net)}"
        if rule.dport is not None:
            port, neg = rule.dport
            if (pkt.dport == port) == neg:
                return f"destination port {pkt.dport} is {'' if neg else 'not '}{port}"
        if rule.source is not None:
            net, neg = rule.source
            if _inside(pkt.src, net) == neg:
                if net.prefixlen == 32:
                    return f"source {pkt.src} is {'' if neg else 'not '}{_show(net)}"
                return f"source {pkt.src} is {'inside' if neg else 'outside'} {_show(net)}"
        for which, kind, neg in rule.addrtype:
            address = pkt.dst if which == "dst" else pkt.src
            if kind != "LOCAL":
                raise K8slabError(f"trace: addrtype {kind} is not modelled: {rule.text!r}")
            if self.local(node, address) == neg:
                what = "destination" if which == "dst" else "source"
                return (f"{what} {address} is {'' if neg else 'not '}an address of {node.name} "
                        "(addrtype LOCAL)")
        if rule.mark is not None:
            value, mask, neg = rule.mark
            if ((pkt.mark & mask) == value) == neg:
                return f"mark {pkt.mark:#x} {'has' if neg else 'lacks'} {value:#x}/{mask:#x}"
        if rule.ctstate is not None:
            states, neg = rule.ctstate
            mine = {"NEW"} | ({"DNAT"} if pkt.dnat else set())
            if bool(mine & states) == neg:
                return f"conntrack state {','.join(sorted(mine))} is {'' if neg else 'not '}{','.join(sorted(states))}"
        if rule.recent is not None and rule.recent[1] == "rcheck":
            if (node.name, rule.recent[0], pkt.src) not in path.recent:
                return (f"{pkt.src} is not in list {rule.recent[0]}: no earlier connection "
                        "(session affinity)")
        return None

    def match_note(self, rule: Rule, path: _Path) -> str:
        if rule.recent is not None and rule.recent[1] == "rcheck":
            return (f"{path.packet.src} is in list {rule.recent[0]}: it connected before, "
                    "so it returns to the same endpoint (session affinity)")
        if rule.target == "KUBE-MARK-MASQ":
            return "marked for masquerading"
        return ""

    # -- a node's turn ---------------------------------------------------------------------
    def arrive(self, node: Node, path: _Path, hop: int, entered: str | None) -> list:
        """A packet arriving at `node` from a pod's interface or the network: PREROUTING on."""
        if hop > _MAX_HOPS:
            return [self.end(path, "unrouted", node, entered, "the packet goes round in circles")]
        path = path.but(packet=replace(path.packet, mark=0, dnat=False))
        out = []
        for p in self.hook(node, "nat", "PREROUTING", path):
            out += self.after_nat(node, p, hop, entered or node.name, sent_here=False)
        return out

    def send(self, node: Node, path: _Path, hop: int) -> list:
        """A packet sent by a process on `node` (or a hostNetwork pod): OUTPUT on."""
        out = []
        for p in self.hook(node, "nat", "OUTPUT", path):
            if p.outcome in ("DROP", "REJECT"):
                out.append(self.verdict(p, node, node.name))
                continue
            for q in self.hook(node, "filter", "OUTPUT", p.but(outcome="continue")):
                if q.outcome in ("DROP", "REJECT"):
                    out.append(self.verdict(q, node, node.name))
                    continue
                for r in self.hook(node, "nat", "POSTROUTING", q.but(outcome="continue")):
                    r = r.but(outcome="continue")
                    if self.local(node, r.packet.dst):
                        # Over the loopback interface: the filter table's INPUT, then a local socket.
                        out += self.input(node, r, node.name)
                    else:
                        out += self.leave(node, r, hop, node.name)
        return out

    def after_nat(self, node: Node, path: _Path, hop: int, entered: str, sent_here: bool) -> list:
        if path.outcome in ("DROP", "REJECT"):
            return [self.verdict(path, node, entered)]
        path = path.but(outcome="continue")
        if self.local(node, path.packet.dst):
            return self.input(node, path, entered)
        out = []
        for p in self.hook(node, "filter", "FORWARD", path):
            if p.outcome in ("DROP", "REJECT"):
                out.append(self.verdict(p, node, entered))
                continue
            for q in self.hook(node, "nat", "POSTROUTING", p.but(outcome="continue")):
                out += self.leave(node, q.but(outcome="continue"), hop, entered)
        return out

    def input(self, node: Node, path: _Path, entered: str) -> list:
        out = []
        for p in self.hook(node, "filter", "INPUT", path):
            if p.outcome in ("DROP", "REJECT"):
                out.append(self.verdict(p, node, entered))
                continue
            pkt = p.packet
            pod, pod_node = self.who_has(pkt.dst, pkt.dport)
            if pod is None and pkt.dport in self.health_ports:
                # kube-proxy itself listens on a health-check node port (pkg/proxy/healthcheck).
                out.append(self.deliver(p, node, entered, None, node.name))
                continue
            if pod is not None:
                out.append(self.deliver(p, node, entered, pod, pod_node))
            else:
                # Nothing Kubernetes runs listens there: the kernel answers with a TCP reset
                # (or ICMP port unreachable), which the client sees as "connection refused".
                out.append(self.end(p, "rejected", node, entered,
                                    f"no Kubernetes rule caught it and nothing k8slab knows of listens "
                                    f"on {node.name} port {pkt.dport}: the kernel answers with a reset "
                                    "(connection refused)"))
        return out

    def leave(self, node: Node, path: _Path, hop: int, entered: str) -> list:
        """The packet leaves `node`: to a pod here, another node, the load balancer, or nowhere."""
        pkt = path.packet
        pod = self.pod_by_ip.get(pkt.dst)
        if pod is not None:
            if pod.node == node.name:
                return [self.deliver(path, node, entered, pod.name, pod.node)]
            there = self.cluster.node(pod.node)
            p = path.step(node=node.name, table=None, chain=None, rule=None, matched=None,
                          note=f"routing: {pkt.dst} is pod {pod.name} on {pod.node}: the packet "
                               f"crosses to {pod.node}")
            return self.arrive(there, p, hop + 1, entered)
        other = self.node_by_ip.get(pkt.dst)
        if other is not None:
            p = path.step(node=node.name, table=None, chain=None, rule=None, matched=None,
                          note=f"routing: {pkt.dst} is node {other.name}: the packet crosses to it")
            return self.arrive(other, p, hop + 1, entered)
        if pkt.dnat:
            # DNATed to an address outside the cluster (a hand-written EndpointSlice):
            # the node's routes send it on; k8slab does not model what lies beyond.
            return [self.deliver(path, node, entered, *self.who_has(pkt.dst, pkt.dport))]
        if pkt.dst in self.lb_ips and "lb" not in path.handed:
            p = path.but(handed=path.handed | {"lb"}).step(node=node.name, table=None, chain=None, rule=None, matched=None,
                          note=f"routing: {pkt.dst} is a load balancer's address: the packet leaves "
                               "the cluster for the cloud load balancer")
            return self.load_balancer(p, hop + 1)
        if pkt.dst in self.external_ips and self.via is not None and "external" not in path.handed:
            # The nodes' network routes an external IP to one node (the admin's job; k8slab
            # takes `via`), even when it came from that node: it leaves by the default route.
            p = path.but(handed=path.handed | {"external"}).step(node=node.name, table=None, chain=None, rule=None, matched=None,
                          note=f"routing: the network routes external IP {pkt.dst} to {self.via.name}")
            return self.arrive(self.via, p, hop + 1, entered)
        return [self.end(path, "unrouted", node, entered,
                         f"no rule on {node.name} caught it and {pkt.dst} belongs to no pod or node: "
                         "the packet is lost and the client waits until it times out")]

    def load_balancer(self, path: _Path, hop: int) -> list:
        """The cloud load balancer spreads new connections evenly over the nodes it targets.

        Which nodes: those passing its health check, as routing says (the rules say
        nothing about the cloud). In VIP mode (the default `ipMode`) the packet reaches
        the node still addressed to the load balancer's IP, where KUBE-SERVICES catches it.
        """
        svc = self.lb_ips[path.packet.dst]
        pkt = path.packet
        sp = next((p for p in svc.ports if p.port == pkt.dport and p.protocol.lower() == pkt.protocol), None)
        if sp is None:
            return [self.end(path, "unrouted", None, None,
                             f"the load balancer of {svc.name} has no listener for port "
                             f"{pkt.dport}/{pkt.protocol}: it drops the packet")]
        if not svc.allocate_load_balancer_node_ports:
            return self.lb_to_pods(path, svc, sp, hop)
        proxying = svc.load_balancer_ip_mode == "Proxy"
        if proxying and svc.load_balancer_source_ranges:
            nets = []
            for r in svc.load_balancer_source_ranges:
                try:
                    nets.append(ipaddress.ip_network(r, strict=False))
                except ValueError:
                    pass
            if not any(ipaddress.ip_address(pkt.src) in n for n in nets):
                return [self.end(path, "dropped", None, None,
                                 f"the load balancer admits only loadBalancerSourceRanges "
                                 f"({', '.join(svc.load_balancer_source_ranges)}): it drops {pkt.src}")]
        nodes = self.lb_nodes(svc)
        if not nodes:
            return [self.end(path, "dropped", None, None,
                             f"the load balancer of {svc.name} has no node to send to")]
        share = Fraction(1, len(nodes))
        out = []
        for n in nodes:
            p = path.but(chance=path.chance * share)
            if proxying:
                # ipMode: Proxy: the load balancer opens its own connection to the node port,
                # from its own address (k8slab uses its IP).
                if not sp.node_port:
                    out.append(self.end(p, "unrouted", None, None, "no node port to proxy to"))
                    continue
                p = p.but(packet=replace(pkt, src=pkt.dst, dst=n.address, dport=sp.node_port)).step(
                    node=None, table=None, chain=None, rule=None, matched=None,
                    note=f"the load balancer (ipMode: Proxy) connects from {pkt.dst} to {n.name}'s "
                         f"node port {n.address}:{sp.node_port} (chance {share})")
            else:
                p = p.step(node=None, table=None, chain=None, rule=None, matched=None,
                           note=f"the load balancer sends this connection to {n.name} (chance {share}): "
                                f"one of {len(nodes)} node{'s' if len(nodes) != 1 else ''} passing its "
                                "health check, still addressed to the load balancer's IP (ipMode: VIP)")
            out += self.arrive(n, p, hop, None)
        return out

    def lb_to_pods(self, path: _Path, svc, sp, hop: int) -> list:
        """allocateLoadBalancerNodePorts: false: the cloud sends straight to the pods' IPs."""
        eps = proxy.categorize(svc, self.cluster.endpoints(svc, sp), None).cluster
        if not eps:
            return [self.end(path, "rejected", None, None,
                             f"the load balancer of {svc.name} has no pod to send to")]
        share = Fraction(1, len(eps))
        out = []
        for e in eps:
            p = path.but(chance=path.chance * share,
                        packet=replace(path.packet, dst=e.address, dport=e.port)).step(
                node=None, table=None, chain=None, rule=None, matched=None,
                note=f"the load balancer has no node ports (allocateLoadBalancerNodePorts: false): "
                     f"it sends this connection to pod {e.pod or e.address} at {e.ip_port} (chance {share})")
            pod = self.pod_by_ip.get(e.address)
            target = self.cluster.node(pod.node) if pod else (self.node_by_ip.get(e.address)
                                                            or (self.cluster.node(e.node) if e.node else None))
            if target is None:
                out.append(self.deliver(p, Node(e.node or "?", e.address), None, e.pod, e.node))
                continue
            out += self.arrive(target, p, hop, None)
        return out

    # -- endings ---------------------------------------------------------------------------
    def verdict(self, path: _Path, node: Node, entered: str | None):
        word = {"DROP": "dropped", "REJECT": "rejected"}[path.outcome]
        what = ("REJECT: the client gets ICMP port unreachable (connection refused)"
                if word == "rejected" else "DROP: the packet is discarded; the client waits until it times out")
        return self.end(path, word, node, entered, what)

    def end(self, path: _Path, verdict: str, node: Node | None, entered, note: str):
        p = path.step(node=node.name if node else None, table=None, chain=None, rule=None,
                      matched=None, note=note)
        return (p, Branch(path.chance, verdict, node.name if node else None,
                          entered=path.handled or entered))

    def home_of(self, address: str) -> str | None:
        """The node an address lives on: a pod's node, or the node itself."""
        pod = self.pod_by_ip.get(address)
        if pod is not None:
            return pod.node
        node = self.node_by_ip.get(address)
        return node.name if node else None

    def deliver(self, path: _Path, node: Node, entered, pod: str | None, pod_node: str | None):
        pkt = path.packet
        if (path.handled is not None and self.client_src is not None and pkt.src == self.client_src
                and path.handled not in {pod_node or node.name, self.home_of(pkt.src)}):
            # Conntrack undoes a DNAT only on the node that did it. Not masqueraded, the pod
            # answers the client's own address straight from its node, bypassing that node: the
            # client gets a reply from an address it never dialed and drops it (it keeps
            # retrying the node it dialed): the connection times out.
            p = path.step(node=pod_node or node.name, table=None, chain=None, rule=None, matched=None,
                          note=f"reaches {f'pod {pod}' if pod else pkt.dst} ({pkt.dst}:{pkt.dport}), but its "
                               f"reply goes from {pod_node or node.name} straight to {pkt.src}, not back "
                               f"through {path.handled}, which DNATed it: only {path.handled} could undo "
                               "that, so the client discards the reply and the connection times out")
            return (p, Branch(path.chance, "dropped", pod_node or node.name, pod, pod_node,
                              f"{pkt.dst}:{pkt.dport}", None, path.handled))
        who = f"pod {pod}" if pod else pkt.dst
        p = path.step(node=pod_node or node.name, table=None, chain=None, rule=None, matched=None,
                      note=f"delivered to {who} ({pkt.dst}:{pkt.dport}), which sees the source {pkt.src}")
        return (p, Branch(path.chance, "delivered", node.name, pod, pod_node,
                          f"{pkt.dst}:{pkt.dport}", pkt.src, path.handled or entered))


@functools.lru_cache(maxsize=65536)
def _ip(address: str) -> int:
    return int(ipaddress.IPv4Address(address))


@functools.lru_cache(maxsize=65536)
def _bits(net: ipaddress.IPv4Network) -> tuple[int, int]:
    return int(net.network_address), int(net.netmask)


def _inside(address: str, net: ipaddress.IPv4Network) -> bool:
    base, mask = _bits(net)
    return (_ip(address) & mask) == base


def _show(net: ipaddress.IPv4Network) -> str:
    return str(net.network_address) if net.prefixlen == 32 else str(net)


# ---------------------------------------------------------------------------------------
# The dial: HOST:PORT
# ---------------------------------------------------------------------------------------

_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def parse_dial(text: str) -> tuple[str, int]:
    """`HOST:PORT` -> (host, port); a DialError (a usage error) with a hint otherwise."""
    hint = "give HOST:PORT, for example 10.96.0.11:80, 192.0.2.11:30080 or web:80"
    if not isinstance(text, str) or ":" not in text:
        raise DialError(f"--dial {text!r}: no port; {hint}")
    host, _, port = text.rpartition(":")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise DialError(f"--dial {text!r}: the port must be a number from 1 to 65535; {hint}")
    if not host:
        raise DialError(f"--dial {text!r}: no host; {hint}")
    if re.fullmatch(r"[0-9.]+", host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise DialError(f"--dial {text!r}: {host} is not an IPv4 address; {hint}") from None
        return host, int(port)
    labels = host.lower().rstrip(".").split(".")
    if not all(_LABEL.match(label) for label in labels) or len(host) > 253:
        raise DialError(f"--dial {text!r}: {host!r} is neither a name nor an IPv4 address; {hint}")
    return host.lower().rstrip("."), int(port)


def _resolve(cluster: Cluster, client: routing.Client, host: str) -> tuple[str, str | None]:
    """An address for `host`; a Service name only where it trivially means its cluster IP."""
    if re.fullmatch(r"[0-9.]+", host):
        return host, None
    if not client.inside:
        raise DialError(f"--dial {host}: {client.text} cannot ask the cluster's DNS; dial an "
                        "address (a node IP and node port, or the load balancer's address)")
    ns = client.pod.namespace if client.pod is not None else "default"
    parts = host.split(".")
    name = parts[0]
    if len(parts) > 1:
        ns = parts[1]
        if parts[2:] not in ([], ["svc"], ["svc", "cluster", "local"]):
            raise DialError(f"--dial {host}: not a Service name of this cluster; dial an address")
    svc = cluster.service(name, ns)
    if svc is None:
        raise DialError(f"--dial {host}: no Service {name!r} in namespace {ns!r}; dial an address, "
                        "or a Service name of the client's namespace")
    if not svc.proxied or not svc.cluster_ip:
        raise DialError(f"--dial {host}: Service {name} has no cluster IP (headless or "
                        "ExternalName): its name resolves to other addresses; dial one of them")
    return svc.cluster_ip, f"{svc.dns_name} -> {svc.cluster_ip}"


# ---------------------------------------------------------------------------------------
# The answer
# ---------------------------------------------------------------------------------------

@dataclass
class Trace:
    """Where one packet `client -> host:port` ends, every way it can, and one walk in full."""

    client: str
    dial: str
    packet: dict
    steps: list[dict]
    branches: list[Branch]
    verdict: str
    resolved: str | None = None
    repeat: bool = False

    def to_dict(self) -> dict:
        """DESIGN.md's trace JSON (what `k8slab trace --json` prints)."""
        return {"packet": dict(self.packet), "steps": [dict(s) for s in self.steps],
                "branches": [b.to_dict() for b in self.branches], "verdict": self.verdict}

    def pods(self) -> dict[str, Fraction]:
        """Chance per delivered address ("IP:port"), all ways together."""
        out: dict[str, Fraction] = {}
        for b in self.branches:
            if b.verdict == "delivered":
                out[b.dst] = out.get(b.dst, Fraction(0)) + b.chance
        return out

    def text(self) -> str:
        """The walk, one line per rule the packet meets, then every way it can end."""
        pk = self.packet
        head = (f"{self.client} sends a {pk['protocol'].upper()} packet {pk['src']} -> "
                f"{pk['dst']}:{pk['dport']}" + (" (a repeat connection)" if self.repeat else ""))
        lines = [head]
        if self.resolved:
            lines.append(f"  ({self.resolved}, as the cluster DNS answers)")
        current = None
        run = 0

        def flush():
            nonlocal run
            if run:
                lines.append(f"      ... {run} more rule{'s' if run != 1 else ''} that do not match")
            run = 0

        misses_in_chain = 0
        for s in self.steps:
            if s["rule"] is None:
                flush()
                if s["chain"] is not None:
                    where = f"{s['node']}  {s['table']} {s['chain']}"
                    lines += ["", where + (f"   ({s['note']})" if s.get("note") else "")]
                    current = (s["node"], s["table"], s["chain"])
                    misses_in_chain = 0
                else:
                    lines.append(f"  => {s['note']}")
                    current = None
                continue
            key = (s["node"], s["table"], s["chain"])
            if key != current:
                flush()
                lines.append(f"  {s['node']}  {s['table']} {s['chain']}")
                current = key
                misses_in_chain = 0
            if s["matched"]:
                flush()
                lines.append(f"    [match] {s['rule']}" + (f"\n            {s['note']}" if s.get("note") else ""))
                misses_in_chain = 0
            else:
                misses_in_chain += 1
                if misses_in_chain <= 3:
                    lines.append(f"    [ no  ] {s['rule']}\n            {s['note']}")
                else:
                    run += 1
        flush()
        lines += ["", f"Verdict: {self.verdict}"]
        rows = [("CHANCE", "OUTCOME", "POD", "NODE", "DELIVERED TO", "SOURCE SEEN")]
        for b in self.branches:
            rows.append((str(b.chance) if b.chance.denominator <= 1000 else f"{float(b.chance):.4f}",
                         b.verdict, b.pod or "-", (b.pod_node if b.verdict == "delivered" else b.node) or "-",
                         b.dst or "-", b.src_seen or "-"))
        if len(self.branches) > 1 or self.verdict == "delivered":
            lines += ["", "Every way the packet can go:"]
            widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
            lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        return "\n".join(lines)


def _merge(branches: list[Branch]) -> list[Branch]:
    """One branch per distinct ending (pod, address, source seen, verdict, node)."""
    merged: dict[tuple, Branch] = {}
    for b in branches:
        key = (b.verdict, b.dst, b.src_seen, b.pod, b.node if b.verdict != "delivered" else None)
        seen = merged.get(key)
        merged[key] = b if seen is None else replace(seen, chance=seen.chance + b.chance)
    return list(merged.values())


def trace(cluster: Cluster, client: str, dial: str, protocol: str = "tcp", seed: int | None = None,
          repeat: bool = False, via_node: str | None = None, namespace: str = "default") -> Trace:
    """Walk the packet `client -> dial` ("HOST:PORT") through the rules of each node it enters.

    `protocol` is tcp, udp or sctp. `seed` picks which random branch `steps` follow
    (without it, the first one in rule order). `repeat=True` traces a second connection
    from the same client within the session-affinity timeout. `via_node` is the node the
    outside network routes an external IP to (default: the first node by name).
    """
    host, port = parse_dial(dial)
    if protocol not in PROTOCOLS:
        raise DialError(f"--protocol {protocol!r}: give one of {', '.join(PROTOCOLS)}")
    who = routing.parse_client(cluster, client, namespace)
    address, resolved = _resolve(cluster, who, host)
    via = None
    if via_node is not None:
        via = cluster.node(via_node)
        if via is None:
            raise K8slabError(f"via node {via_node!r}: no such node")
    walker = _Walker(cluster, via)
    src = routing.client_address(who)
    if who.inside and src == who.node.address and ipaddress.IPv4Address(address) in _LOOPBACK:
        # A local process dialing a loopback address sends from 127.0.0.1 (route_localnet
        # lets kube-proxy's localhost node ports DNAT it; the masquerade gives it the node's).
        src = "127.0.0.1"
    packet = Packet(src, address, port, protocol)
    walker.client_src = src
    start = _Path(Fraction(1), None, packet, frozenset())
    ends = _start(walker, who, start)
    if repeat:
        second = []
        for p, b in ends:
            again = _Path(b.chance, None, packet, p.recent)
            second += _start(walker, who, again)
        ends = second
    branches = _merge([b for _, b in ends])
    verdict = _overall(branches)
    chosen = ends[0][0]
    if seed is not None and len(ends) > 1:
        x = Fraction(random.Random(seed).random())
        total = Fraction(0)
        for p, b in ends:
            total += b.chance
            if x < total:
                chosen = p
                break
        else:
            chosen = ends[-1][0]
    return Trace(client=who.text, dial=dial, resolved=resolved, repeat=repeat,
                 packet={"src": src, "dst": address, "protocol": protocol, "dport": port},
                 steps=_steps(chosen), branches=branches, verdict=verdict)


@dataclass(frozen=True)
class NodeWalk:
    """One way a packet can go through one node's tables (`walk`), without leaving it."""

    chance: Fraction
    outcome: str                    # ACCEPT (passed), DROP or REJECT
    packet: Packet                  # after the node's DNAT and MASQUERADE, if any
    marked: bool                    # KUBE-MARK-MASQ marked it (to be masqueraded on the way out)
    steps: list[dict]


def walk(cluster: Cluster, node: str, src: str, dst: str, dport: int, protocol: str = "tcp",
         local_addresses=(), recent=(), rules: str | None = None) -> list[NodeWalk]:
    """A raw packet through the tables of one node: every way it can go, and where it stops.

    A packet from one of the node's own addresses (its InternalIP, loopback, or
    `local_addresses`) is sent from the node (nat OUTPUT, filter OUTPUT, then INPUT when it
    stays on the node); any other arrives (nat PREROUTING, then filter INPUT or FORWARD).
    `recent` lists (list name, source) pairs the node's `-m recent` lists already hold.
    This is the walk kube-proxy's own tests do (proxier_test.go, tracePacket), rule by rule.
    `rules` walks the given iptables-save text instead of what `proxy.rules` prints.
    """
    the_node = cluster.node(node)
    if the_node is None:
        raise K8slabError(f"no node {node!r} in this cluster")
    walker = _Walker(cluster, None, local_addresses)
    if rules is not None:
        walker.rulesets = {node: parse_rules(rules)}
    start = _Path(Fraction(1), None, Packet(src, dst, dport, protocol),
                  frozenset((node, name, source) for name, source in recent))
    mask = 1 << int(getattr(cluster.proxy, "masquerade_bit", 14))
    out = []
    sent_here = walker.local(the_node, src)
    first = walker.hook(the_node, "nat", "OUTPUT" if sent_here else "PREROUTING", start)
    for p in first:
        marked = bool(p.packet.mark & mask)
        if p.outcome in ("DROP", "REJECT"):
            out.append(NodeWalk(p.chance, p.outcome, p.packet, marked, _steps(p)))
            continue
        p = p.but(outcome="continue")
        if sent_here:
            tables = [("filter", "OUTPUT")] + ([("filter", "INPUT")] if walker.local(the_node, p.packet.dst) else [])
        else:
            tables = [("filter", "INPUT" if walker.local(the_node, p.packet.dst) else "FORWARD")]
        paths = [p]
        for table, chain in tables:
            nxt = []
            for q in paths:
                if q.outcome in ("DROP", "REJECT"):
                    nxt.append(q)
                    continue
                nxt += walker.hook(the_node, table, chain, q.but(outcome="continue"))
            paths = nxt
        for q in paths:
            out.append(NodeWalk(q.chance, q.outcome if q.outcome in ("DROP", "REJECT") else "ACCEPT",
                                q.packet, marked, _steps(q)))
    return out


def _overall(branches: list[Branch]) -> str:
    """The verdict: delivered when any way delivers, otherwise the likeliest ending."""
    if any(b.verdict == "delivered" for b in branches):
        return "delivered"
    best = max(branches, key=lambda b: b.chance)
    return best.verdict


def _start(walker: _Walker, who: routing.Client, path: _Path) -> list:
    """Where the client's packet first meets a kube-proxy node, or the network outside."""
    pkt = path.packet
    if who.kind == "pod" and not who.pod.host_network:
        if ipaddress.IPv4Address(pkt.dst) in _LOOPBACK:
            return [walker.end(path, "rejected", None, None,
                               f"{pkt.dst} is the pod's own loopback: no node sees the packet, and "
                               "nothing k8slab knows of listens there (connection refused)")]
        if pkt.dst == who.pod.ip:
            return [(path, Branch(path.chance, "delivered", who.node.name, who.pod.name,
                                  who.node.name, f"{pkt.dst}:{pkt.dport}", pkt.src, None))]
        # A pod's packets leave its network namespace over its veth: its node's PREROUTING.
        return walker.arrive(who.node, path, 0, None)
    if who.inside:
        return walker.send(who.node, path, 0)
    # Outside the cluster: the nodes' network (laptop, another cluster) or the internet.
    if pkt.dst in walker.lb_ips:
        return walker.load_balancer(path.but(handed=frozenset({"lb"})), 0)
    target = walker.node_by_ip.get(pkt.dst)
    if who.kind != "internet":
        if target is not None:
            return walker.arrive(target, path, 0, None)
        if pkt.dst in walker.external_ips and walker.via is not None:
            p = path.but(handed=frozenset({"external"})).step(
                node=None, table=None, chain=None, rule=None, matched=None,
                note=f"routing: the network routes external IP {pkt.dst} to {walker.via.name}")
            return walker.arrive(walker.via, p, 0, None)
        why = (f"{pkt.dst} is not an address {who.text} can route to: cluster IPs and pod IPs "
               "exist only inside the cluster")
    else:
        why = (f"{pkt.dst} is not a public address of this cluster: from the internet only a load "
               "balancer's address is reachable")
    return [walker.end(path, "unrouted", None, None, why + "; the client waits until it times out")]
