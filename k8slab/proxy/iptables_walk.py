"""iptables-save text read into rules, and one packet walked through one node's tables as netfilter does."""

# What the kernel does, and where this follows it (trace.py moves the packet between nodes
# and calls `Tables.hook` for each netfilter hook it passes):
#   * the nat table sees only a connection's first packet, which is what is traced here;
#     DNAT and MASQUERADE end the nat table's walk for that hook; ACCEPT ends a table's walk;
#     DROP and REJECT end the packet; a user chain that runs out returns to its caller; a
#     built-in chain that runs out applies its policy (ACCEPT on a kube-proxy node);
#   * the built-in chains jump into kube-proxy's with the rules kube-proxy installs itself
#     (pkg/proxy/iptables/proxier.go, iptablesJumpChains, and the kubelet's KUBE-FIREWALL):
#     they are not part of what `rules` restores, so they are listed here (JUMP_RULES);
#   * MASQUERADE gives the packet the address of the interface it leaves by: k8slab shows
#     the node's InternalIP (with a bridge CNI a pod on the same node sees the bridge's
#     address, such as 10.244.1.1, instead);
#   * `-m statistic --mode random --probability P` branches: both ways are followed, each
#     with its probability. kube-proxy writes 1/k with 10 decimals (computeProbability);
#     a value that is exactly that rounding of 1/k is read back as the fraction 1/k;
#   * `-m recent`: each node keeps its own lists; a first connection finds them empty, a
#     repeat connection finds the client recorded by the first one.

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass, field, replace
from fractions import Fraction

from ..errors import K8slabError
from . import iptables
from .packet import Path, dnat, inside, masquerade, show

__all__ = ["Rule", "Ruleset", "parse_rules", "JUMP_RULES", "HOOK_NOTES", "Tables"]

#: The jumps from the built-in chains into kube-proxy's, as kube-proxy (and, for
#: KUBE-FIREWALL, the kubelet) install them (pkg/proxy/iptables/proxier.go,
#: iptablesJumpChains): {(table, built-in chain): [rule, ...]}, in the order they sit there.
#: They are not part of what `rules` restores (`rules --explain` lists them as comments).
JUMP_RULES: dict[tuple[str, str], list[str]] = {}
for _table, _rules in iptables.JUMP_RULES.items():
    for _rule in _rules:
        JUMP_RULES.setdefault((_table, _rule.split()[1]), []).append(_rule)

#: Where a learner reads what each built-in chain is for.
HOOK_NOTES = {
    ("nat", "PREROUTING"): "every packet that arrives from a pod or from the network starts here",
    ("nat", "OUTPUT"): "a packet sent by a process on this node (or a hostNetwork pod) starts here",
    ("filter", "OUTPUT"): "the filter table's turn for a packet sent from this node",
    ("filter", "FORWARD"): "the packet is for another machine or a pod: the filter table's turn",
    ("filter", "INPUT"): "the packet is for this node itself: the filter table's turn",
    ("nat", "POSTROUTING"): "the packet leaves the node: kube-proxy masquerades marked packets here",
}

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
        self.table, self.lines, self.parsed = table, [], None

    def __len__(self) -> int:
        return len(self.lines)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self.lines)))]
        if i < 0:
            i += len(self.lines)
        if self.parsed is None:
            self.parsed = [None] * len(self.lines)    # the chain is complete once walked
        rule = self.parsed[i]
        if rule is None:
            rule = self.parsed[i] = _parse_rule_once(self.table, self.lines[i])
        return rule

    def __iter__(self):
        for i in range(len(self.lines)):
            yield self[i]

    def quick_miss(self, i: int, packet) -> str | None:
        """Why the packet misses rule i, read from its text without parsing it, when the text
        says so plainly (see _quick_miss); None when the rule must be parsed to tell."""
        if self.parsed is not None and self.parsed[i] is not None:
            return None
        return _quick_miss(self.lines[i], packet)


# The same rule text means the same rule on every node (a frozen Rule): a trace that crosses
# two nodes parses their shared KUBE-SERVICES lines once.
_parse_rule_once = functools.lru_cache(maxsize=1 << 16)(lambda table, line: _parse_rule(table, line))

# kube-proxy's jump rules to a Service (KUBE-SERVICES: `-m tcp -p tcp -d CLUSTER-IP --dport
# PORT -j KUBE-SVC-...`) are thousands on a large cluster and a packet misses all but one, for
# a reason its text says plainly. Tables.run asks this first, and parses only the rules it
# cannot rule out this way: the note is word for word what Tables.mismatch says (protocol
# first, then destination, as it checks them).
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_PROTOCOL_WORD = re.compile(r"(?:^|\s)(!\s+)?(?:-p|--protocol)\s+(\S+)")
_DESTINATION_WORD = re.compile(r"(?:^|\s)(!\s+)?(?:-d|--destination)\s+(\S+)")
_PLAIN_IPV4 = re.compile(r"(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)")


def _quick_miss(line: str, packet) -> str | None:
    bare = _QUOTED.sub('""', line) if '"' in line else line      # words inside a comment are not options
    protocols = _PROTOCOL_WORD.findall(bare)
    destinations = _DESTINATION_WORD.findall(bare)
    if len(protocols) > 1 or len(destinations) != 1:
        return None
    if protocols:
        negated, name = protocols[0]
        if negated or name.lower() not in ("tcp", "udp", "sctp"):
            return None
        if name.lower() != packet.protocol:
            return f"protocol {packet.protocol} is not {name.lower()}"
    negated, address = destinations[0]
    if negated or address == packet.dst or not _PLAIN_IPV4.fullmatch(address):
        return None
    return f"destination {packet.dst} is not {address}"


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
                # get, not setdefault: setdefault would build a _LazyChain for every rule
                chains = rs.tables[table]
                lazy_chain = chains.get(words[1])
                if lazy_chain is None:
                    lazy_chain = chains[words[1]] = _LazyChain(table)
                lazy_chain.lines.append(line)
                continue
            rule = _parse_rule(table, line)
            rs.tables[table].setdefault(rule.chain, []).append(rule)
        else:
            raise K8slabError(f"trace: line {number}: not iptables-save text: {line!r}")
    return rs


_JUMPS = {key: [_parse_rule(key[0], r) for r in rules] for key, rules in JUMP_RULES.items()}

class Tables:
    """iptables' tables on each node: a packet through one netfilter hook's chains, rule by rule.

    `rules(node)` gives that node's Ruleset, `local(node, address)` says whether an address
    is the node's own (addrtype LOCAL); trace.py owns both, since they are the network's.
    """

    def __init__(self, rules, local):
        self.rules = rules
        self.local = local

    def hook(self, node: Node, table: str, chain: str, path: Path) -> list[Path]:
        """The built-in chain `chain`: kube-proxy's jumps, then the policy (ACCEPT)."""
        rs = self.rules(node)
        path = path.step(node=node.name, table=table, chain=chain, rule=None, matched=None,
                         note=HOOK_NOTES.get((table, chain), ""))
        jumps = [r for r in _JUMPS.get((table, chain), []) if rs.chain(table, r.target) is not None]
        out = []
        for p in self.run(node, rs, table, chain, jumps, path, 0):
            if p.outcome in ("continue", "RETURN"):
                p = p.but(outcome="ACCEPT")       # the built-in chain's policy
            out.append(p)
        return out

    def run(self, node: Node, rs: Ruleset, table: str, chain: str, rules: list[Rule],
            path: Path, depth: int) -> list[Path]:
        if depth > 32:
            raise K8slabError(f"trace: chain {chain} nests too deeply (a loop in the rules?)")
        live = [path]          # paths still walking this chain
        done = []              # paths that left it (verdict, or RETURN to the caller)
        lazy = rules if isinstance(rules, _LazyChain) else None
        for i in range(len(rules)):
            if not live:
                break
            nxt = []
            for p in live:
                why = lazy.quick_miss(i, p.packet) if lazy is not None else None
                if why is not None:          # missed, as its text says: no need to parse it
                    nxt.append(p.step(node=node.name, table=table, chain=chain, rule=lazy.lines[i],
                                      matched=False, note=why))
                    continue
                for q in self.apply(node, rs, rules[i], p, depth):
                    (nxt if q.outcome == "continue" else done).append(q)
            live = nxt
        for p in live:
            done.append(p.but(outcome="continue"))
        return done

    def apply(self, node: Node, rs: Ruleset, rule: Rule, path: Path, depth: int) -> list[Path]:
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

    def target(self, node: Node, rs: Ruleset, rule: Rule, path: Path, depth: int) -> list[Path]:
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
            return [dnat(path, node.name, ip, int(port) if port else None)]
        if t == "MASQUERADE":
            # The address of the interface the packet leaves by: the node's (see the top).
            return [masquerade(path, node.name, node.address)]
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

    def mismatch(self, node: Node, rule: Rule, path: Path) -> str | None:
        """Why the packet does not match `rule`, or None when it does (chance aside)."""
        pkt = path.packet
        if rule.protocol is not None:
            name, neg = rule.protocol
            if (pkt.protocol == name) == neg:
                return f"protocol {pkt.protocol} is {'' if neg else 'not '}{name}"
        if rule.destination is not None:
            net, neg = rule.destination
            if inside(pkt.dst, net) == neg:
                return f"destination {pkt.dst} is {'' if neg else 'not '}{show(net)}"
        if rule.dport is not None:
            port, neg = rule.dport
            if (pkt.dport == port) == neg:
                return f"destination port {pkt.dport} is {'' if neg else 'not '}{port}"
        if rule.source is not None:
            net, neg = rule.source
            if inside(pkt.src, net) == neg:
                if net.prefixlen == 32:
                    return f"source {pkt.src} is {'' if neg else 'not '}{show(net)}"
                return f"source {pkt.src} is {'inside' if neg else 'outside'} {show(net)}"
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

    def match_note(self, rule: Rule, path: Path) -> str:
        if rule.recent is not None and rule.recent[1] == "rcheck":
            return (f"{path.packet.src} is in list {rule.recent[0]}: it connected before, "
                    "so it returns to the same endpoint (session affinity)")
        if rule.target == "KUBE-MARK-MASQ":
            return "marked for masquerading"
        return ""
