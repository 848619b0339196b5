"""One packet walked through kube-proxy's rules, the way netfilter evaluates them."""

# The rules are the oracle: this module reads the text `k8slab rules --node N` prints for the
# cluster's kube-proxy mode (`proxy.rules`: iptables-save text, or table ip kube-proxy as
# `nft -f` text in nftables mode) and evaluates it, rule by rule, for one packet, as the
# kernel's netfilter would. It never asks the model what kube-proxy decided; it asks the
# model only what a network outside the rules knows: which node owns an address, which pod
# has an IP, where a client sits, and which nodes a cloud load balancer sends to.
#
# This module moves the packet between nodes; each node's tables are walked by the mode's
# own module (proxy.iptables_walk, proxy.nftables_walk: their comments say how each follows
# the kernel). What the network does, and where this follows it:
#   * a packet from a pod or from the network enters a node at the prerouting hook (nat
#     PREROUTING); one sent by a process on the node (or a hostNetwork pod) at the output
#     hook (nat OUTPUT, then filter OUTPUT); a routing decision then sends it to the input
#     hook (an address of this node) or forward, and postrouting on the way out;
#   * conntrack is per node: a packet DNATed on one node arrives on the pod's node as a new
#     connection to the pod's own address, which no kube-proxy rule there rewrites (the
#     walk shows it passing unmatched); the packet mark is not carried across;
#   * MASQUERADE gives the packet the address of the interface it leaves by: k8slab shows
#     the node's InternalIP (with a bridge CNI a pod on the same node sees the bridge's
#     address, such as 10.244.1.1, instead);
#   * random rules (iptables' `-m statistic`, nftables' `numgen`) branch: every way is
#     followed, each with its probability;
#   * session affinity (`-m recent`, nftables' affinity sets): each node keeps its own; a
#     first connection finds them empty, a repeat connection (`repeat=True`) finds the client
#     recorded by the first one.

from __future__ import annotations

import functools
import gc
import ipaddress
import random
import re
import weakref
from dataclasses import dataclass, replace
from fractions import Fraction

from . import proxy, routing
from . import policy as netpol
from .errors import K8slabError
from .model import Cluster, Node
from .proxy import iptables_walk, nftables_walk
from .proxy.iptables_walk import JUMP_RULES, Rule, Ruleset, parse_rules
from .proxy.packet import Packet, Path, inside, steps

__all__ = ["Trace", "Branch", "Ruleset", "Rule", "NodeWalk", "trace", "walk", "parse_rules", "parse_dial",
           "DialError", "JUMP_RULES", "CLIENT_ADDRESSES", "VERDICTS", "PROTOCOLS"]

VERDICTS = ("delivered", "rejected", "dropped", "unrouted")
PROTOCOLS = ("tcp", "udp", "sctp")

#: Source addresses of the clients outside the cluster: routing's (one vocabulary).
CLIENT_ADDRESSES = routing.CLIENT_ADDRESSES


#: Parsed rules per cluster and node: a Cluster is read-only once built, so its rules are too.
_PARSED: "weakref.WeakKeyDictionary[Cluster, dict[str, Ruleset]]" = weakref.WeakKeyDictionary()

_MAX_HOPS = 8          # nodes a packet may cross (a pod's node, a load balancer's choice, ...)
_LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")


class DialError(K8slabError):
    """A `--dial` that is not HOST:PORT, or a HOST this client cannot use (a usage error)."""


# ---------------------------------------------------------------------------------------
# The packet between nodes (each node's tables: proxy.iptables_walk)
# ---------------------------------------------------------------------------------------

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
    blocked_by: tuple[str, ...] = ()  # NetworkPolicies that drop it where it meets a pod

    @property
    def probability(self) -> float:
        return float(self.chance)

    def to_dict(self) -> dict:
        return {"pod": self.pod, "probability": round(float(self.chance), 10),
                "chance": str(self.chance), "dst": self.dst, "src_seen": self.src_seen,
                "verdict": self.verdict, "node": self.pod_node if self.verdict == "delivered" else self.node,
                "entered": self.entered, **({"blocked_by": list(self.blocked_by)} if self.blocked_by else {})}


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
        # The cluster's kube-proxy mode picks the text walked: iptables-save tables, or
        # table ip kube-proxy in nftables mode (ipvs clusters are walked as iptables, as before).
        self.mode = "nftables" if getattr(cluster.proxy, "mode", None) == "nftables" else "iptables"
        walks = nftables_walk if self.mode == "nftables" else iptables_walk
        # iptables text is parsed lazily, a rule when the walk first reaches it (issue 22).
        # nftables text too, a chain when the walk first reaches it (issue 19).
        self.parse = functools.partial(nftables_walk.parse_ruleset if self.mode == "nftables"
                                       else parse_rules, lazy=True)
        self.tables = walks.Tables(self.rules, self.local)

    # -- what the network knows -------------------------------------------------------------
    def rules(self, node: Node) -> Ruleset:
        rs = self.rulesets.get(node.name)
        if rs is None:
            rs = self.rulesets[node.name] = self.parse(proxy.rules(self.cluster, node.name, mode=self.mode))
        return rs

    def local(self, node: Node, address: str) -> bool:
        """addrtype LOCAL: the node's own address or loopback (cluster IPs are not local in
        iptables mode: no interface carries them)."""
        return (address == node.address or address in self.extra_local
                or inside(address, _LOOPBACK))

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

    # -- one netfilter hook: the mode's tables ---------------------------------------------
    def hook(self, node: Node, table: str, chain: str, path: Path) -> list[Path]:
        return self.tables.hook(node, table, chain, path)

    # -- one table's hook ------------------------------------------------------------------    # -- a node's turn ---------------------------------------------------------------------
    def arrive(self, node: Node, path: Path, hop: int, entered: str | None) -> list:
        """A packet arriving at `node` from a pod's interface or the network: PREROUTING on."""
        if hop > _MAX_HOPS:
            return [self.end(path, "unrouted", node, entered, "the packet goes round in circles")]
        path = path.but(packet=replace(path.packet, mark=0, dnat=False))
        out = []
        for p in self.hook(node, "nat", "PREROUTING", path):
            out += self.after_nat(node, p, hop, entered or node.name, sent_here=False)
        return out

    def send(self, node: Node, path: Path, hop: int) -> list:
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

    def after_nat(self, node: Node, path: Path, hop: int, entered: str, sent_here: bool) -> list:
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

    def input(self, node: Node, path: Path, entered: str) -> list:
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

    def leave(self, node: Node, path: Path, hop: int, entered: str) -> list:
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

    def load_balancer(self, path: Path, hop: int) -> list:
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

    def lb_to_pods(self, path: Path, svc, sp, hop: int) -> list:
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
    def verdict(self, path: Path, node: Node, entered: str | None):
        word = {"DROP": "dropped", "REJECT": "rejected"}[path.outcome]
        what = ("REJECT: the client gets ICMP port unreachable (connection refused)"
                if word == "rejected" else "DROP: the packet is discarded; the client waits until it times out")
        return self.end(path, word, node, entered, what)

    def end(self, path: Path, verdict: str, node: Node | None, entered, note: str):
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

    def deliver(self, path: Path, node: Node, entered, pod: str | None, pod_node: str | None):
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




# ---------------------------------------------------------------------------------------
# The dial: HOST:PORT
# ---------------------------------------------------------------------------------------

_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def parse_dial(text: str) -> tuple[str, int]:
    """`HOST:PORT` -> (host, port); a DialError (a usage error) with a hint otherwise."""
    hint = "give HOST:PORT, for example 10.96.0.11:80, 192.0.2.11:30080 or web:80"
    shown = text if not isinstance(text, str) or len(text) <= 80 else text[:60] + "..."   # echo, short
    if not isinstance(text, str) or ":" not in text:
        raise DialError(f"--dial {shown!r}: no port; {hint}")
    host, _, port = text.rpartition(":")
    # ASCII digits only ("٨٠" and "８０" are digits to str.isdigit, not to a socket), and at
    # most five, so a 5,000-digit port is refused before int() would refuse it.
    if not (port.isascii() and port.isdigit()) or len(port.lstrip("0")) > 5 or not 1 <= int(port) <= 65535:
        raise DialError(f"--dial {shown!r}: the port must be a number from 1 to 65535; {hint}")
    if not host:
        raise DialError(f"--dial {shown!r}: no host; {hint}")
    if re.fullmatch(r"[0-9.]+", host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise DialError(f"--dial {shown!r}: {host} is not an IPv4 address; {hint}") from None
        return host, int(port)
    labels = host.lower().rstrip(".").split(".")
    if not all(_LABEL.fullmatch(label) for label in labels) or len(host) > 253:
        raise DialError(f"--dial {shown!r}: {host!r} is neither a name nor an IPv4 address; {hint}")
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
    pod = client.pod
    if (pod is not None and not pod.host_network and cluster.policies
            and pod.dns_policy in ("ClusterFirst", "ClusterFirstWithHostNet")):
        d = netpol.dns_decision(cluster, pod)
        if d is not None:
            raise DialError(f"--dial {host}: the lookup times out, so no packet is sent: {d.detail} "
                            "(dial the cluster IP to trace the packet itself)")
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
    start = Path(Fraction(1), None, packet, frozenset())
    # The walk reads (and first writes and parses) every node's rules: tens of thousands of
    # objects in a big cluster, none in a reference cycle. The cyclic garbage collector is
    # paused meanwhile, as proxy.rules does, and resumed as it was (issue 19).
    paused = gc.isenabled()
    gc.disable()
    try:
        ends = _start(walker, who, start)
        if repeat:
            second = []
            for p, b in ends:
                again = Path(b.chance, None, packet, p.recent)
                second += _start(walker, who, again)
            ends = second
    finally:
        if paused:
            gc.enable()
    if cluster.policies:
        ends = [_police(cluster, who, p, b, protocol) for p, b in ends]
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
                 steps=steps(chosen), branches=branches, verdict=verdict)


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
    `rules` walks the given text (iptables-save, or nft -f text for a cluster in nftables
    mode) instead of what `proxy.rules` prints.
    """
    the_node = cluster.node(node)
    if the_node is None:
        raise K8slabError(f"no node {node!r} in this cluster")
    walker = _Walker(cluster, None, local_addresses)
    if rules is not None:
        walker.rulesets = {node: walker.parse(rules)}
    start = Path(Fraction(1), None, Packet(src, dst, dport, protocol),
                  frozenset((node, name, source) for name, source in recent))
    mask = 1 << int(getattr(cluster.proxy, "masquerade_bit", 14))
    out = []
    sent_here = walker.local(the_node, src)
    first = walker.hook(the_node, "nat", "OUTPUT" if sent_here else "PREROUTING", start)
    for p in first:
        marked = bool(p.packet.mark & mask)
        if p.outcome in ("DROP", "REJECT"):
            out.append(NodeWalk(p.chance, p.outcome, p.packet, marked, steps(p)))
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
                                q.packet, marked, steps(q)))
    return out


def _police(cluster: Cluster, who: routing.Client, path, b: Branch, protocol: str):
    """A delivered branch judged by NetworkPolicy where it meets the pod: the sender's egress,
    the pod's ingress, on the addresses after DNAT and SNAT (k8slab.policy decides)."""
    if b.verdict != "delivered" or not b.dst:
        return path, b
    ip, _, port = b.dst.rpartition(":")
    # The pod at that address (a hostNetwork pod shares its node's): its ingress; with none,
    # only the sender's egress judges the address.
    at = [p for p in cluster.pods if p.ip == ip]
    dst = next((p for p in at if not p.host_network), at[0] if at else None)
    src = who.pod if who.kind == "pod" else None
    seen_node = next((n.name for n in cluster.nodes if n.address == b.src_seen), None)
    if src is not None and not src.host_network and b.src_seen == src.ip:
        seen_node = None
    d = netpol.decide(cluster, src=src, dst=dst, port=int(port), protocol=protocol.upper(), dst_ip=ip,
                      seen_ip=b.src_seen, seen_node=seen_node, src_name=who.text)
    if d.allowed:
        return path, b
    where = dst.node if dst is not None else b.pod_node
    p = path.step(node=where, table=None, chain=None, rule=None, matched=None,
                  note=f"NetworkPolicy drops it on its way to {b.dst}: {d.detail} The client waits until it "
                       "times out")
    return p, replace(b, verdict="dropped", node=where, blocked_by=d.blocked_by or ("(policy)",))


def _overall(branches: list[Branch]) -> str:
    """The verdict: delivered when any way delivers, otherwise the likeliest ending."""
    if any(b.verdict == "delivered" for b in branches):
        return "delivered"
    best = max(branches, key=lambda b: b.chance)
    return best.verdict


def _start(walker: _Walker, who: routing.Client, path: Path) -> list:
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
