"""nft -f text read into chains, sets and maps, and one packet walked through one node's base chains as nf_tables does."""

# What the kernel does, and where this follows it (trace.py moves the packet between nodes
# and calls `Tables.hook` at each netfilter hook the packet passes, by iptables' names):
#   * every base chain registered at a hook runs, in priority order (lower first); kube-proxy
#     has two at prerouting (filter-prerouting-pre-dnat -110, nat-prerouting -100) and three
#     at output (filter-output-pre-dnat -110, nat-output -100, filter-output 0). `accept`
#     ends only the chain it is in: the next base chain still sees the packet; `drop` and
#     `reject` end the packet. A chain that runs out returns to its caller; a base chain
#     that runs out applies its policy (accept). `jump` comes back, `goto` does not
#     (the caller's caller continues). (nft(8), "CHAINS" and "VERDICT STATEMENT".)
#   * a nat base chain sees only a connection's first packet, which is what is traced here;
#     `dnat` and `masquerade` end the nat chain's walk for that hook;
#   * `ip daddr . meta l4proto . th dport vmap @M` looks the packet's triple up in map M
#     and applies the verdict found there; no element, no verdict: the next rule;
#   * `numgen random mod N vmap { 0 : ..., 1 : ... }` draws one of N numbers per new
#     connection: every branch is followed, each with chance 1/N;
#   * `ip saddr @affinity-X` / `update @affinity-X { ip saddr }`: each node keeps its own
#     sets; a first connection finds them empty, a repeat connection finds the client that
#     the first one recorded (session affinity);
#   * `fib saddr type local` / `fib daddr type local`: an address of this node (its
#     InternalIP or loopback), as addrtype LOCAL is in iptables mode;
#   * `masquerade` gives the packet the node's InternalIP (see trace.py).

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, replace
from fractions import Fraction

from ..errors import K8slabError
from .packet import Path, dnat, inside, masquerade, show

__all__ = ["NftRule", "NftRuleset", "parse_ruleset", "Tables", "HOOK_CHAINS"]

#: Which base chains an iptables-named hook point of trace.py's walk runs, by the netfilter
#: hook and the priority split trace.py uses (its "nat" OUTPUT is everything up to DNAT's
#: priority, -100; its "filter" OUTPUT what runs after).
HOOK_CHAINS = {
    ("nat", "PREROUTING"): ("prerouting", None, None),
    ("nat", "OUTPUT"): ("output", None, -100),
    ("filter", "OUTPUT"): ("output", -99, None),
    ("filter", "INPUT"): ("input", None, None),
    ("filter", "FORWARD"): ("forward", None, None),
    ("nat", "POSTROUTING"): ("postrouting", None, None),
}

_NOTES = {
    "filter-prerouting-pre-dnat": "every packet arriving from a pod or the network, before DNAT: "
                                  "load-balancer source ranges are checked here",
    "nat-prerouting": "then kube-proxy's DNAT for a packet arriving from a pod or the network",
    "filter-output-pre-dnat": "a packet sent by a process on this node (or a hostNetwork pod), "
                              "before DNAT",
    "nat-output": "kube-proxy's DNAT for a packet sent from this node",
    "filter-output": "after DNAT, for a packet sent from this node: Services without endpoints "
                     "and unknown cluster-IP ports are refused here",
    "filter-forward": "the packet is for another machine or a pod: Services without endpoints "
                      "and unknown cluster-IP ports are refused here",
    "filter-input": "the packet is for this node itself: node ports without endpoints are refused here",
    "nat-postrouting": "the packet leaves the node: kube-proxy masquerades marked packets here",
}


@dataclass(frozen=True)
class NftRule:
    """One `add rule` line: its matches in order, then what it does."""

    chain: str
    text: str
    matches: tuple = ()            # (kind, ...) tuples, all must hold
    action: tuple = ()             # (verb, ...): jump, goto, return, drop, reject, accept,
                                   # vmap, numgen, mark-or, mark-xor, update, dnat, masquerade
    comment: str | None = None


@dataclass
class NftRuleset:
    """One node's table ip kube-proxy: chains (with their base-chain hook), sets and maps."""

    chains: dict[str, list[NftRule]] = field(default_factory=dict)
    hooks: dict[str, tuple[str, str, int]] = field(default_factory=dict)   # name -> (type, hook, priority)
    sets: dict[str, set] = field(default_factory=dict)
    maps: dict[str, dict[tuple, str]] = field(default_factory=dict)

    def base_chains(self, hook: str, low: int | None, high: int | None) -> list[str]:
        found = [(prio, name) for name, (_, h, prio) in self.hooks.items()
                 if h == hook and (low is None or prio >= low) and (high is None or prio <= high)]
        return [name for _, name in sorted(found)]


_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|(\S+)')
_HEAD = re.compile(r"^add (table|chain|set|map|rule|element) ip kube-proxy(?: (\S+))?(?: (.*))?$")


def _tokens(text: str) -> list[str]:
    return [f'"{q}"' if q or (not p) else p for q, p in _TOKEN.findall(text)]


def _net(text: str) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(text if "/" in text else text + "/32", strict=False)
    except ValueError:
        raise K8slabError(f"trace: {text!r} is not an IPv4 address or network") from None


def _braced(words: list[str], i: int) -> tuple[list[str], int]:
    """The words between "{" at i and its "}", and the index after it."""
    if i >= len(words) or words[i] != "{":
        raise K8slabError(f"trace: expected {{ at {' '.join(words[i:i + 3])!r}")
    j = words.index("}", i)
    return words[i + 1:j], j + 1


def _parse_rule(chain: str, line: str, body: str) -> NftRule:
    w = _tokens(body)
    matches: list[tuple] = []
    action: tuple = ()
    comment = None
    i = 0

    def bad():
        raise K8slabError(f"trace: nft expression {' '.join(w[i:i + 4])!r} is not modelled, in {line!r}")

    while i < len(w):
        t = w[i]
        if t == "comment":
            comment = w[i + 1].strip('"')
            i += 2
        elif t == "ct" and w[i + 1:i + 3] == ["state", "new"]:
            matches.append(("ct-new",))
            i += 3
        elif t == "ip" and w[i + 1:i + 9] == ["daddr", ".", "meta", "l4proto", ".", "th", "dport", "vmap"]:
            action = ("vmap", ("daddr", "proto", "dport"), w[i + 9].lstrip("@"))
            i += 10
        elif t == "meta" and w[i + 1:i + 6] == ["l4proto", ".", "th", "dport", "vmap"]:
            action = ("vmap", ("proto", "dport"), w[i + 6].lstrip("@"))
            i += 7
        elif t == "ip" and i + 2 < len(w) and w[i + 1] in ("saddr", "daddr"):
            which = w[i + 1][0] + "addr"          # saddr / daddr
            i += 2
            neg = w[i] == "!="
            if neg:
                i += 1
            if w[i].startswith("@"):
                matches.append((which, "set", w[i][1:], neg))
                i += 1
            elif w[i] == "{":
                items, i = _braced(w, i)
                nets = tuple(_net(x) for x in " ".join(items).replace(",", " ").split())
                matches.append((which, "nets", nets, neg))
            else:
                matches.append((which, "nets", (_net(w[i]),), neg))
                i += 1
        elif t == "meta" and w[i + 1] == "l4proto":
            matches.append(("proto", w[i + 2]))
            i += 3
        elif t == "fib" and w[i + 2:i + 4] == ["type", "local"] and w[i + 1] in ("saddr", "daddr"):
            matches.append(("fib-local", w[i + 1]))
            i += 4
        elif t == "mark" and w[i + 1] == "and" and w[i + 3] == "==":
            matches.append(("mark", int(w[i + 2], 0), int(w[i + 4], 0)))
            i += 5
        elif t == "mark" and w[i + 1:i + 3] == ["set", "mark"] and w[i + 3] in ("or", "xor"):
            action = ("mark-" + w[i + 3], int(w[i + 4], 0))
            i += 5
        elif t == "numgen" and w[i + 1:i + 3] == ["random", "mod"] and w[i + 4] == "vmap":
            n = int(w[i + 3])
            items, i = _braced(w, i + 5)
            arms = " ".join(items).split(",")
            table = {}
            for arm in arms:
                number, _, verdict = arm.partition(":")
                table[int(number)] = verdict.strip()
            if sorted(table) != list(range(n)):
                raise K8slabError(f"trace: numgen mod {n} has elements {sorted(table)}, in {line!r}")
            action = ("numgen", n, tuple(table[k] for k in range(n)))
        elif t == "update" and w[i + 1].startswith("@"):
            items, j = _braced(w, i + 2)
            if items != ["ip", "saddr"]:
                bad()
            action = ("update", w[i + 1][1:])
            i = j
        elif t == "dnat" and w[i + 1] == "to":
            ip, _, port = w[i + 2].partition(":")
            action = ("dnat", ip, int(port) if port else None)
            i += 3
        elif t == "masquerade":
            action = ("masquerade",)
            i += 2 if i + 1 < len(w) and w[i + 1] in ("fully-random", "random", "persistent") else 1
        elif t in ("jump", "goto"):
            action = (t, w[i + 1])
            i += 2
        elif t in ("return", "drop", "reject", "accept"):
            action = (t,)
            i += 1
        else:
            bad()
    return NftRule(chain, line, tuple(matches), action, comment)


def _element(body: str) -> tuple[tuple, str | None]:
    """`{ a . b . c comment "x" : verdict }` -> ((a, b, c), verdict)."""
    inner = body.strip()
    if not (inner.startswith("{") and inner.endswith("}")):
        raise K8slabError(f"trace: an element must be in braces: {body!r}")
    inner = inner[1:-1].strip()
    key, _, value = inner.partition(" : ")
    key = re.sub(r'\s+comment\s+"(?:[^"\\]|\\.)*"', "", key)
    return tuple(p.strip() for p in key.split(" . ")), (value.strip() or None)


class _LazyRules:
    """A chain's rules, parsed when the walk first reaches the chain: a node of a cluster with
    thousands of Services has tens of thousands of rules, and a packet meets a few chains
    (issue 19: parsing them all was most of an nftables trace's time)."""

    __slots__ = ("chain", "raw", "parsed")

    def __init__(self, chain: str):
        self.chain, self.raw, self.parsed = chain, [], None

    def _rules(self) -> list[NftRule]:
        if self.parsed is None:
            self.parsed = [_parse_rule(self.chain, line, rest) for line, rest in self.raw]
        return self.parsed

    def __iter__(self):
        return iter(self._rules())

    def __len__(self) -> int:
        return len(self.raw)

    def __getitem__(self, i):
        return self._rules()[i]


def parse_ruleset(text: str, lazy: bool = False) -> NftRuleset:
    """Read what `k8slab rules --mode nftables` prints (knftables' dump) into an NftRuleset.
    `lazy` leaves each chain's rules unparsed until the chain is first read (a malformed rule
    is then reported when the walk reaches its chain)."""
    rs = NftRuleset()
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _HEAD.match(line)
        if m is None:
            raise K8slabError(f"trace: line {number}: not an `add ... ip kube-proxy` line: {line!r}")
        kind, name, rest = m.group(1), m.group(2), m.group(3) or ""
        if kind == "table":
            continue
        if kind == "chain":
            if name not in rs.chains:
                rs.chains[name] = _LazyRules(name) if lazy else []
            hook = re.search(r"type (\w+) hook (\w+) priority (-?\d+)", rest)
            if hook:
                rs.hooks[name] = (hook.group(1), hook.group(2), int(hook.group(3)))
        elif kind == "set":
            rs.sets.setdefault(name, set())
        elif kind == "map":
            rs.maps.setdefault(name, {})
        elif kind == "rule":
            rules = rs.chains.get(name)
            if rules is None:
                rules = rs.chains[name] = _LazyRules(name) if lazy else []
            if lazy:
                rules.raw.append((line, rest))
            else:
                rules.append(_parse_rule(name, line, rest))
        else:
            key, value = _element(rest)
            if name in rs.maps:
                rs.maps[name][key] = value
            elif name in rs.sets:
                rs.sets[name].add(key[0])
            else:
                raise K8slabError(f"trace: line {number}: element of {name}, which is no set or map")
    return rs


class Tables:
    """nf_tables on each node: a packet through the base chains at one hook, rule by rule.

    `rules(node)` gives that node's NftRuleset, `local(node, address)` says whether an
    address is the node's own (fib type local); trace.py owns both."""

    TABLE = "ip kube-proxy"

    def __init__(self, rules, local):
        self.rules = rules
        self.local = local

    def hook(self, node, table: str, chain: str, path: Path) -> list[Path]:
        rs = self.rules(node)
        hook, low, high = HOOK_CHAINS[(table, chain)]
        live = [path]
        done = []
        for base in rs.base_chains(hook, low, high):
            kind, _, prio = rs.hooks[base]
            nxt = []
            for p in live:
                p = p.step(node=node.name, table=self.TABLE, chain=base, rule=None, matched=None,
                           note=f"type {kind} hook {hook} priority {prio}: " + _NOTES.get(base, ""))
                for q in self.run(node, rs, base, rs.chains.get(base, []), p, 0):
                    if q.outcome in ("DROP", "REJECT"):
                        done.append(q)
                    else:                       # accept, dnat, masquerade or the policy: on
                        nxt.append(q.but(outcome="continue"))
            live = nxt
        return done + [p.but(outcome="ACCEPT") for p in live]

    def run(self, node, rs: NftRuleset, chain: str, rules: list[NftRule], path: Path,
            depth: int) -> list[Path]:
        if depth > 32:
            raise K8slabError(f"trace: chain {chain} nests too deeply (a loop in the rules?)")
        live, done = [path], []
        for rule in rules:
            if not live:
                break
            nxt = []
            for p in live:
                for q in self.apply(node, rs, rule, p, depth):
                    (nxt if q.outcome == "continue" else done).append(q)
            live = nxt
        return done + [p.but(outcome="continue") for p in live]

    def apply(self, node, rs: NftRuleset, rule: NftRule, path: Path, depth: int) -> list[Path]:
        step = dict(node=node.name, table=self.TABLE, chain=rule.chain, rule=rule.text)
        why = self.mismatch(node, rs, rule, path)
        if why is not None:
            return [path.step(**step, matched=False, note=why)]
        act = rule.action
        verb = act[0] if act else None
        pkt = path.packet
        if verb == "vmap":
            fields, name = act[1], act[2]
            values = {"daddr": pkt.dst, "proto": pkt.protocol, "dport": str(pkt.dport)}
            key = tuple(values[f] for f in fields)
            verdict = rs.maps.get(name, {}).get(key)
            shown = " . ".join(key)
            if verdict is None:
                return [path.step(**step, matched=False, note=f"{shown} is not in @{name}")]
            p = path.step(**step, matched=True, note=f"{shown} is in @{name}: {verdict}")
            return self.verdict(node, rs, rule, verdict, p, depth)
        if verb == "numgen":
            n, arms = act[1], act[2]
            share = Fraction(1, n)
            out = []
            for k, verdict in enumerate(arms):
                p = path.step(**step, matched=True,
                              note=f"numgen drew {k} of 0..{n - 1} (chance {share}): {verdict}").but(
                    chance=path.chance * share)
                out += self.verdict(node, rs, rule, verdict, p, depth)
            return out
        note = ""
        for m in rule.matches:
            if m[0] in ("saddr",) and m[1] == "set" and m[2].startswith("affinity-") and not m[3]:
                note = (f"{pkt.src} is in @{m[2]}: it connected before, so it returns to the same "
                        "endpoint (session affinity)")
        recent = path.recent
        if verb == "update":
            recent = recent | {(node.name, act[1], pkt.src)}
            note = f"records {pkt.src} in @{act[1]} (session affinity)"
        if verb == "jump" and act[1] == "mark-for-masquerade":
            note = "marked for masquerading"
        p = path.step(**step, matched=True, note=note).but(recent=recent)
        if verb is None or verb == "update":
            return [p]
        if verb in ("mark-or", "mark-xor"):
            mark = pkt.mark | act[1] if verb == "mark-or" else pkt.mark ^ act[1]
            return [p.but(packet=replace(pkt, mark=mark & 0xFFFFFFFF))]
        if verb == "dnat":
            return [dnat(p, node.name, act[1], act[2])]
        if verb == "masquerade":
            return [masquerade(p, node.name, node.address)]
        return self.verdict(node, rs, rule, " ".join(act), p, depth)

    def verdict(self, node, rs: NftRuleset, rule: NftRule, verdict: str, path: Path,
                depth: int) -> list[Path]:
        """A verdict: accept, drop, reject, return, or jump/goto CHAIN."""
        word, _, target = verdict.partition(" ")
        if word in ("accept", "drop", "reject", "return"):
            return [path.but(outcome={"accept": "ACCEPT", "drop": "DROP", "reject": "REJECT",
                                      "return": "RETURN"}[word])]
        if word not in ("jump", "goto"):
            raise K8slabError(f"trace: verdict {verdict!r} is not modelled: {rule.text!r}")
        rules = rs.chains.get(target)
        if rules is None:
            raise K8slabError(f"trace: {rule.text!r} sends to {target}, which is no chain of table ip kube-proxy")
        out = []
        for p in self.run(node, rs, target, rules, path, depth + 1):
            if p.outcome in ("continue", "RETURN"):
                p = p.but(outcome="RETURN" if word == "goto" else "continue")
            out.append(p)
        return out

    def mismatch(self, node, rs: NftRuleset, rule: NftRule, path: Path) -> str | None:
        """Why the packet does not match `rule`, or None when it does."""
        pkt = path.packet
        for m in rule.matches:
            kind = m[0]
            if kind == "ct-new":
                continue                         # the first packet of a connection: state new
            if kind == "proto":
                if pkt.protocol != m[1]:
                    return f"protocol {pkt.protocol} is not {m[1]}"
            elif kind in ("saddr", "daddr"):
                address = pkt.src if kind == "saddr" else pkt.dst
                what = "source" if kind == "saddr" else "destination"
                _, how, value, neg = m
                if how == "set":
                    if value.startswith("affinity-"):
                        hit = (node.name, value, address) in path.recent
                        if hit == neg:
                            return (f"{address} is not in @{value}: no earlier connection (session affinity)"
                                    if not neg else f"{address} is in @{value}")
                        continue
                    hit = address in rs.sets.get(value, ())
                    if hit == neg:
                        return f"{what} {address} is {'' if neg else 'not '}in @{value}"
                else:
                    hit = any(inside(address, n) for n in value)
                    if hit == neg:
                        shown = ", ".join(show(n) for n in value)
                        return f"{what} {address} is {'' if neg else 'not '}{'in ' if len(value) > 1 else ''}{shown}"
            elif kind == "fib-local":
                address = pkt.src if m[1] == "saddr" else pkt.dst
                if not self.local(node, address):
                    return f"{address} is not an address of {node.name} (fib {m[1]} type local)"
            elif kind == "mark":
                if (pkt.mark & m[1]) != m[2]:
                    return f"mark {pkt.mark:#x} and {m[1]:#x} is not {m[2]}"
        return None
