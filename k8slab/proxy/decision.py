"""What a node's kube-proxy decides for each Service port, once: endpoints, probabilities, drops."""

# Every rule here follows kube-proxy's source (kubernetes/kubernetes):
#   pkg/proxy/topology.go            CategorizeEndpoints, topologyModeFromHints, availableForTopology
#   pkg/proxy/iptables/proxier.go    writeServiceToEndpointRules, computeProbability
#   pkg/proxy/nftables/proxier.go    writeServiceToEndpointRules, servicePortEndpointChainNameBase,
#                                    the per-endpoint affinity sets (syncProxyRules)
#   pkg/proxy/ipvs/proxier.go        the virtual server (Scheduler, FlagPersistent, Timeout),
#                                    syncEndpoint (weight-1 real servers), the IPVS sysctls
#   pkg/proxy/apis/config/validation validateIPVSSchedulerMethod (the schedulers kube-proxy accepts)
# and the "Virtual IPs and Service Proxies" page (docs/reference/networking/virtual-ips.md).

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace
from typing import Callable, Hashable, Mapping, Sequence

from ..kube_names import chain_hash, endpoint_string, ipv4, ipv4_net, nft_hashes, port_name
from ..model import Endpoint, Service, ServicePort

__all__ = [
    "NodeView", "categorize", "shares", "uses_topology_hints", "uses_node_hints",
    "MODES", "cascade", "cascade_shares", "probability_text",
    "numgen_map", "numgen_rule", "nft_endpoint_chain", "nft_endpoint_chains",
    "Scheduler", "IPVS_SCHEDULERS", "ipvs_scheduler", "round_robin", "source_hash",
    "destination_hash", "ipvs_shares", "ipvs_bucket",
    "DEFAULT_AFFINITY_TIMEOUT", "affinity_timeout", "AffinityTable",
    "load_balancer_shares", "ServicePortState", "service_ports", "kube_proxy_endpoints",
    "decide", "Fate", "WAYS",
]

#: kube-proxy's Linux proxy modes (`mode:` in KubeProxyConfiguration; empty means iptables).
MODES = ("iptables", "ipvs", "nftables")

#: sessionAffinityConfig.clientIP.timeoutSeconds when unset: 3 hours.
DEFAULT_AFFINITY_TIMEOUT = 10800

#: The EndpointSlice controller gives hints for these trafficDistribution values
#: (staging/src/k8s.io/endpointslice/trafficdist: PreferClose is the older name of PreferSameZone).
CLOSE_DISTRIBUTIONS = ("PreferClose", "PreferSameZone", "PreferSameNode")


# ---------------------------------------------------------------------------------------
# Which endpoints: CategorizeEndpoints (pkg/proxy/topology.go)
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NodeView:
    """The endpoints one node's kube-proxy sends a Service port's traffic to.

    `cluster` serves Cluster traffic policies, `local` serves Local ones; either may have
    fallen back to serving-but-terminating endpoints when no ready one is left.
    """

    cluster: tuple[Endpoint, ...]
    local: tuple[Endpoint, ...]
    cluster_terminating: bool = False
    local_terminating: bool = False
    topology_zone: str | None = None     # set when zone hints narrowed `cluster`
    topology_node: str | None = None     # set when node hints narrowed it (PreferSameNode)

    @property
    def topology_mode(self) -> str:
        """"", "PreferSameZone" or "PreferSameNode": topology.go's topologyModeFromHints."""
        return "PreferSameNode" if self.topology_node else "PreferSameZone" if self.topology_zone else ""


def uses_topology_hints(service: Service, endpoints, zone: str | None) -> bool:
    """Whether kube-proxy filters by zone hints here (pkg/proxy/topology.go, topologyModeFromHints).

    Only when every ready endpoint carries a zone hint (an empty `forZones` counts as none)
    and at least one hint names this node's zone; otherwise hints are ignored, all at once,
    and traffic goes cluster-wide. A node without a zone label never matches.

    Current kube-proxy reads only the hints, not the Service (older releases also checked
    the Service's topology annotation): the Service's `trafficDistribution` matters through
    the EndpointSlice controller, which writes the hints (each ready endpoint hinted for its
    own zone) only for such Services. `service` is kept for the signature; hints in
    EndpointSlices given as written are honoured as they stand. Node hints
    (PreferSameNode) take precedence: see `uses_node_hints`.
    """
    if not zone:
        return False
    ready = [e for e in endpoints if e.ready]
    if not ready or any(not e.hint_zones for e in ready):
        return False
    return any(zone in e.hint_zones for e in ready)


def uses_node_hints(endpoints, node: str | None) -> bool:
    """Whether kube-proxy keeps to this node's endpoints (topology.go, topologyModeFromHints).

    Only when every ready endpoint carries a node hint (the EndpointSlice controller writes
    them for trafficDistribution: PreferSameNode) and one names this node; otherwise node
    hints are ignored and zone hints are tried (the PreferSameTrafficDistribution gate, GA in
    Kubernetes 1.35, is taken as on).
    """
    if not node:
        return False
    ready = [e for e in endpoints if e.ready]
    if not ready or any(not e.hint_nodes for e in ready):
        return False
    return any(node in e.hint_nodes for e in ready)


def categorize(service: Service, endpoints, node: str | None, zone: str | None = None) -> NodeView:
    """kube-proxy's CategorizeEndpoints for one node: the endpoints each traffic policy uses.

    Ready endpoints first; only when none is ready anywhere (or on this node, for Local) do
    serving-and-terminating ones stand in, so a rolling update does not drop connections.
    Topology hints narrow the Cluster list only, never the Local one.
    """
    ready = [e for e in endpoints if e.ready]          # (the hint checks read only these)
    same_node = uses_node_hints(ready, node)
    hinted = not same_node and uses_topology_hints(service, ready, zone)
    if same_node:
        cluster = tuple(e for e in ready if e.hint_nodes is not None and node in e.hint_nodes)
    elif hinted:
        cluster = tuple(e for e in ready if e.hint_zones is not None and zone in e.hint_zones)
    else:
        cluster = tuple(ready)
    cluster_terminating = False
    if not cluster:
        # No topology filter here: topology is already ignored when nothing ready is hinted
        # for this zone, so an empty list means nothing is ready anywhere.
        cluster = tuple(e for e in endpoints if e.serving and e.terminating)
        cluster_terminating = bool(cluster)
    local = tuple(e for e in ready if e.node == node) if node is not None else ()
    local_terminating = False
    if not local:
        local = tuple(e for e in endpoints if e.serving and e.terminating and e.node == node
                      and node is not None)
        local_terminating = bool(local)
    return NodeView(cluster, local, cluster_terminating, local_terminating,
                    zone if hinted else None, node if same_node else None)


def shares(endpoints) -> dict[Endpoint, float]:
    """Each endpoint's chance of a new connection when a node picks among `endpoints`.

    iptables mode takes endpoint i of n with probability 1/(n-i), the last one always: a
    cascade whose product is 1/n for each (see `cascade`). nftables' numgen map draws one
    of n directly, and IPVS round robin takes turns: the same long-run share.
    """
    n = len(endpoints)
    return {e: 1.0 / n for e in endpoints} if n else {}


# ---------------------------------------------------------------------------------------
# iptables: the random cascade in KUBE-SVC-* / KUBE-SVL-*
# ---------------------------------------------------------------------------------------

def probability_text(k: int) -> str:
    """1/k as kube-proxy writes it after `--probability` (computeProbability: "%0.10f")."""
    if k < 1:
        raise ValueError("k must be at least 1")
    return f"{1.0 / k:0.10f}"


def cascade(endpoints, exact: bool = False) -> list[tuple[Endpoint, float]]:
    """The service chain's rules in kube-proxy's order: (endpoint, chance that its rule matches).

    writeServiceToEndpointRules writes, for endpoint i of n (from 0), a rule
    `-m statistic --mode random --probability 1/(n-i)`, and for the last one a rule with no
    match at all. A packet tries them top to bottom, so the first endpoint is taken with
    1/n, the second with 1/(n-1) of what is left, and so on: each ends up with exactly 1/n
    (`cascade_shares`). The order is kube-proxy's endpoint order ("IP:port" sorted).

    `exact=True` gives `fractions.Fraction`s, to show the sum without rounding. (The rules
    themselves carry 10 decimals, `probability_text`, and the kernel rounds again to
    1/2^31 steps: the shares move by less than 1e-9.)
    """
    from fractions import Fraction
    eps = list(endpoints)
    n = len(eps)
    one = Fraction(1) if exact else 1.0
    return [(e, one / (n - i) if i < n - 1 else one) for i, e in enumerate(eps)]


def cascade_shares(rules) -> dict[Endpoint, float]:
    """Walk a cascade: each endpoint's share = chance to reach its rule x chance it matches."""
    from fractions import Fraction
    rules = list(rules)
    reach = Fraction(1) if rules and isinstance(rules[0][1], Fraction) else 1.0
    out = {}
    for e, p in rules:
        out[e] = reach * p                 # the packet got this far, and this rule matches
        reach = reach * (1 - p)            # ... or it falls through to the next rule
    return out


# ---------------------------------------------------------------------------------------
# nftables: one `numgen random mod n vmap { ... }` rule
# ---------------------------------------------------------------------------------------

def numgen_map(endpoints) -> list[tuple[int, Endpoint]]:
    """The vmap's elements: number i (0..n-1) goes to endpoint i, in kube-proxy's order.

    `numgen random mod n` draws one number per new connection (the kernel scales a 32-bit
    random number into 0..n-1), so each endpoint gets 1/n in one step, without a cascade.
    """
    return list(enumerate(endpoints))


def nft_endpoint_chain(service: Service, port, endpoint: Endpoint, prefix: str = "endpoint-") -> str:
    """The nftables chain (or, with prefix "affinity-", the affinity set) of one endpoint.

    servicePortEndpointChainNameBase: "HASH-namespace/name/protocol/portName__IP/port",
    HASH being the first 8 base32 characters of the name's SHA-256.
    """
    return nft_endpoint_chains(service, port, (endpoint,), prefix)[0]


def nft_endpoint_chains(service: Service, port, endpoints, prefix: str = "endpoint-") -> list[str]:
    """`nft_endpoint_chain` of each of `endpoints`, in their order (the Service port's part
    of the name is formatted once: 100,000 endpoints in issue 19's budget)."""
    protocol = (getattr(port, "protocol", None) or "TCP").lower()
    port_name = getattr(port, "name", None) or ""
    head = f"{service.namespace}/{service.name}/{protocol}/{port_name}__"
    names = [f"{head}{e.address.replace(':', '.')}/{e.port}" for e in endpoints]
    out = [f"{prefix}{digest}-{name}" for digest, name in zip(nft_hashes(names), names)]
    limit = len(prefix) + 240                 # chainNameBaseLengthMax, for the base
    return [c if len(c) <= limit else c[:limit - 3] + "..." for c in out]


def numgen_rule(service: Service, port, endpoints) -> str:
    """The load-balancing rule kube-proxy's nftables mode writes in a Service's chain."""
    eps = list(endpoints)
    # knftables.Concat writes the element list's "," as a word of its own: " , ".
    elements = " , ".join(f"{i} : goto {nft_endpoint_chain(service, port, e)}" for i, e in enumerate(eps))
    return f"numgen random mod {len(eps)} vmap {{ {elements} }}"


# ---------------------------------------------------------------------------------------
# IPVS: a virtual server per Service address, scheduler from ipvs.scheduler (default rr)
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scheduler:
    """One IPVS scheduler kube-proxy accepts, and what k8slab can say about its choice.

    kube-proxy adds every endpoint as a real server of weight 1, so the weighted variants
    behave like their plain ones. `computable` is False where the choice depends on load
    (how many connections each pod has open), which a model of the cluster cannot know.
    """

    name: str
    title: str
    computable: bool
    how: str


IPVS_SCHEDULERS: dict[str, Scheduler] = {s.name: s for s in (
    Scheduler("rr", "round robin", True,
              "takes the real servers in turn, one new connection each: over n connections "
              "every pod gets exactly one, whatever the clients do"),
    Scheduler("wrr", "weighted round robin", True,
              "round robin by weight; kube-proxy gives every pod weight 1, so it is plain rr"),
    Scheduler("lc", "least connection", False,
              "sends each new connection to the pod with the fewest connections (active ones "
              "count 256 times an inactive one): the share follows how long each pod takes to "
              "answer, which depends on load"),
    Scheduler("wlc", "weighted least connection", False,
              "least connection divided by weight; with kube-proxy's weight 1, the same as lc"),
    Scheduler("sed", "shortest expected delay", False,
              "picks the smallest (active connections + 1) / weight: like lc, it depends on load"),
    Scheduler("nq", "never queue", False,
              "an idle pod first, otherwise like sed: it depends on load"),
    Scheduler("lblc", "locality-based least connection", False,
              "keeps each destination address on one pod until that pod is overloaded: for a "
              "Service (one destination address) that is one pod, then load decides"),
    Scheduler("lblcr", "locality-based least connection with replication", False,
              "like lblc with a set of pods per destination address, grown under load"),
    Scheduler("sh", "source hashing", True,
              "hashes the client's address into a 256-bucket table dealt out to the pods in "
              "turn: one client address always gets the same pod (no timeout), and over many "
              "addresses each pod's share is its number of buckets / 256"),
    Scheduler("dh", "destination hashing", True,
              "hashes the destination address, which for a Service is always the same: every "
              "connection to that address goes to one pod"),
)}


def ipvs_scheduler(name: str | None) -> Scheduler:
    """The scheduler kube-proxy would use for `ipvs.scheduler` (empty means rr)."""
    key = name or "rr"
    if key not in IPVS_SCHEDULERS:
        raise ValueError(f"IPVS scheduler {name!r}: kube-proxy accepts "
                         + ", ".join(IPVS_SCHEDULERS) + " (empty means rr)")
    return IPVS_SCHEDULERS[key]


def round_robin(endpoints, connections: int, start: int = 0) -> list[Endpoint]:
    """The pods IPVS rr gives `connections` new connections in a row, one virtual server.

    The turn order is the order of the kernel's destination list, which kube-proxy fills
    from an unordered set: k8slab takes kube-proxy's endpoint order, so which pod comes
    first is illustrative, the rotation is not. With session affinity only connections
    without a persistence entry advance the turn.
    """
    eps = list(endpoints)
    if not eps:
        return []
    return [eps[(start + i) % len(eps)] for i in range(connections)]


def _address_int(address) -> int:
    if isinstance(address, int):
        return address & 0xFFFFFFFF
    ip = ipaddress.ip_address(str(address))
    if ip.version == 6:                       # the kernel folds IPv6 addresses by XOR
        v = int(ip)
        return (v ^ (v >> 32) ^ (v >> 64) ^ (v >> 96)) & 0xFFFFFFFF
    return int(ip)


def ipvs_bucket(address) -> int:
    """The 256-entry table slot ip_vs_sh / ip_vs_dh hash an address into (port 0).

    Current kernels: hash_32(address, 8), the top 8 bits of address x 0x61C88647.
    """
    return ((_address_int(address) * 0x61C88647) & 0xFFFFFFFF) >> 24


def source_hash(endpoints, client_address) -> Endpoint | None:
    """The pod IPVS sh gives a client address: table slot b belongs to destination b mod n."""
    eps = list(endpoints)
    return eps[ipvs_bucket(client_address) % len(eps)] if eps else None


def destination_hash(endpoints, service_address) -> Endpoint | None:
    """The one pod IPVS dh sends every connection for `service_address` to."""
    return source_hash(endpoints, service_address)


def ipvs_shares(endpoints, scheduler: str = "rr", service_address=None) -> dict[Endpoint, float] | None:
    """Long-run share of new connections per pod under an IPVS scheduler, or None.

    rr/wrr: 1/n each. sh: buckets/256 each, for clients spread over many addresses (one
    address always lands on one pod). dh: 1 for the pod `service_address` hashes to (give
    it). lc, wlc, sed, nq, lblc, lblcr: None, because the choice depends on load.
    """
    s = ipvs_scheduler(scheduler)
    eps = list(endpoints)
    if not eps:
        return {}
    if s.name in ("rr", "wrr"):
        return shares(eps)
    if s.name == "sh":
        n = len(eps)
        return {e: sum(1 for b in range(256) if b % n == i) / 256 for i, e in enumerate(eps)}
    if s.name == "dh":
        if service_address is None:
            raise ValueError("dh needs the Service address the connections are sent to")
        chosen = destination_hash(eps, service_address)
        return {e: 1.0 if e == chosen else 0.0 for e in eps}
    return None


# ---------------------------------------------------------------------------------------
# Session affinity: ClientIP with a timeout
# ---------------------------------------------------------------------------------------

def affinity_timeout(service: Service) -> int | None:
    """Seconds a client address stays on its pod, or None without `sessionAffinity: ClientIP`."""
    if service.session_affinity != "ClientIP":
        return None
    return service.session_affinity_timeout or DEFAULT_AFFINITY_TIMEOUT


class AffinityTable:
    """One node's memory of `sessionAffinity: ClientIP` for one Service port.

    How each mode keeps it (all keyed on the source address alone, not the port, and
    shared by every address of the Service: cluster IP, node port, load balancer):
      iptables  one `recent` list per endpoint: the service chain first tries
                `-m recent --name KUBE-SEP-... --rcheck --seconds T --reap` for each endpoint,
                and the endpoint chain records the client with `--set` as it DNATs;
      nftables  one set per endpoint (`affinity-...`, flags dynamic,timeout, timeout T):
                `ip saddr @affinity-... goto endpoint-...`, then `update @affinity-... { ip saddr }`;
      ipvs      the virtual server is `persistent T`: a persistence template per client.
    In iptables and nftables T counts from the client's last *new connection* (only a
    connection's first packet passes the nat rules); IPVS also keeps the template while
    connections it placed are still open. Each node keeps its own memory.

    When endpoints change, an entry that points to a removed endpoint is no longer
    matched (its rule and chain, or its set, are gone; IPVS expires templates of removed
    real servers, expire_quiescent_template=1): that client gets a fresh pick. Clients
    whose pod survives keep it, so a new pod gets only clients without a live entry.
    """

    def __init__(self, timeout: int = DEFAULT_AFFINITY_TIMEOUT, endpoints=(),
                 pick: Callable[[Sequence[Endpoint]], Endpoint] | None = None, seed: int = 0):
        if timeout <= 0:
            raise ValueError("timeout must be positive (sessionAffinityConfig allows 1..86400)")
        self.timeout = timeout
        self.endpoints: tuple[Endpoint, ...] = tuple(endpoints)
        import random
        self._rng = random.Random(seed)
        self._pick = pick or (lambda eps: eps[self._rng.randrange(len(eps))])
        self._entries: dict[Hashable, tuple[Endpoint, float]] = {}

    def lookup(self, client: Hashable, now: float) -> Endpoint | None:
        """The endpoint `client` is pinned to at time `now`, if its entry is still live."""
        entry = self._entries.get(client)
        if entry is None:
            return None
        endpoint, last = entry
        if now - last > self.timeout or endpoint not in self.endpoints:
            return None
        return endpoint

    def connect(self, client: Hashable, now: float) -> Endpoint:
        """A new connection from `client` at `now` (seconds): its pod, and the entry refreshed."""
        if not self.endpoints:
            raise ValueError("no endpoints: kube-proxy rejects the connection")
        endpoint = self.lookup(client, now)
        if endpoint is None:
            endpoint = self._pick(self.endpoints)
        self._entries[client] = (endpoint, now)
        return endpoint

    def endpoints_changed(self, endpoints) -> list[Hashable]:
        """Apply a new endpoint list; return the clients whose pinned endpoint went away."""
        self.endpoints = tuple(endpoints)
        gone = [c for c, (e, _) in self._entries.items() if e not in self.endpoints]
        for c in gone:
            del self._entries[c]
        return gone

    def pinned(self, now: float) -> dict[Hashable, Endpoint]:
        """Every client with a live entry at `now`, and its endpoint."""
        out = {}
        for c in self._entries:
            e = self.lookup(c, now)
            if e is not None:
                out[c] = e
        return out


# ---------------------------------------------------------------------------------------
# The cloud load balancer in front of node ports
# ---------------------------------------------------------------------------------------

def load_balancer_shares(per_node: Mapping[str, Sequence[Endpoint]],
                         counts: Mapping[str, int] | None = None) -> dict[Endpoint, float]:
    """Each pod's share when a cloud load balancer spreads connections evenly over nodes.

    `per_node` maps each node that passes the health check to the endpoints its kube-proxy
    picks among (under externalTrafficPolicy: Local, its own ready pods). Every node gets
    1/N of the connections and splits its part evenly, so a pod alone on its node takes
    more than pods that share one. A node with no endpoints drops its part. `counts` lets
    one key stand for several nodes that pick alike (routing groups thousands of nodes so).
    """
    weight = {n: (counts or {}).get(n, 1) for n in per_node}
    nodes = sum(weight.values())
    total: dict[Endpoint, float] = {}
    for n, endpoints in per_node.items():
        for e, p in shares(list(endpoints)).items():
            total[e] = total.get(e, 0.0) + p * weight[n] / nodes
    return total


# ---------------------------------------------------------------------------------------
# What kube-proxy on one node decides for each Service port; rules are written from it
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Fate:
    """What one node's rules do with a new connection: DNAT among `endpoints`, or not.

    `outcome` is dnat, reject (REJECT: connection refused) or drop (DROP: a timeout);
    `why` names the reason when it is not dnat (no-endpoints, no-local-endpoints,
    source-range); `masquerade` says whether the way in marks the packet for SNAT
    (KUBE-MARK-MASQ), before the endpoint's own hairpin rule; `chain` is the policy chain
    it goes through: cluster (KUBE-SVC) or local (KUBE-SVL).
    """

    outcome: str
    endpoints: tuple = ()
    masquerade: bool = False
    why: str | None = None
    chain: str = "cluster"

    def masqueraded(self, endpoint: Endpoint, source: str) -> bool:
        """Marked for SNAT: by the way in, or by the endpoint's hairpin rule (a pod reaching
        itself: every KUBE-SEP chain starts with `-s <endpoint IP> -j KUBE-MARK-MASQ`)."""
        return self.masquerade or endpoint.address == source


#: The ways a packet reaches a Service port's rules (Fate's `way`).
WAYS = ("cluster-ip", "node-port", "external-ip", "load-balancer")


class ServicePortState:
    """What kube-proxy on one node knows and decides for one Service port: computed once
    (`decide`), written out by iptables.py and explained by routing (`fate`).

    What it knows: its svcPortMap entry (cluster IP, external and load-balancer IPs, source
    ranges, node port, affinity) and its endpoints as the EndpointSliceCache keeps them.
    What it decides (pkg/proxy/iptables/proxier.go, syncProxyRules): which endpoints each
    policy chain uses (`cluster_endpoints` for KUBE-SVC, `local_endpoints` for KUBE-SVL,
    empty when that chain is not written), whether any endpoint is usable at all
    (`has_endpoints`: without one every address REJECTs), what a packet for the cluster IP
    meets (`internal`) and what outside traffic to the node port, external IPs and
    load-balancer IPs meets (`external`): "cluster", "local", "drop" (a Local policy and
    nothing on this node) or "reject"; and whether loadBalancerSourceRanges are enforced
    (`firewall`).
    """

    __slots__ = ("svc", "port", "name", "proto", "hash", "cluster_ip", "external_ips",
                 "lb_ips", "source_ranges", "node_port", "health_port", "affinity",
                 "endpoints", "etp_local", "itp_local", "view", "node", "node_address",
                 "uses_cluster", "uses_local", "cluster_endpoints", "local_endpoints",
                 "has_endpoints", "internal", "external", "firewall", "firewall_allows_lb_ips",
                 "masquerade_all", "local_cidr", "mode")

    def __init__(self, svc: Service, port: ServicePort, cluster_ip: str, endpoints, view,
                 node=None, masquerade_all: bool = False, local_cidr=None, mode: str = "iptables"):
        self.svc, self.port = svc, port
        self.name = port_name(svc, port)
        self.proto = port.protocol.lower()
        self.hash = chain_hash(self.name + self.proto)
        self.cluster_ip = cluster_ip
        self.external_ips = [ip for ip in map(ipv4, svc.external_ips) if ip]
        # Only load-balancer ingress given as an IP (a hostname is for the cloud's DNS), and
        # not one with ipMode: Proxy, whose traffic reaches the nodes addressed to their node
        # ports, not to that IP (pkg/proxy/serviceport.go, KEP-1860).
        self.lb_ips = ([ip for ip in map(ipv4, svc.load_balancer_ingress) if ip]
                       if getattr(svc, "load_balancer_ip_mode", "VIP") != "Proxy" else [])
        self.source_ranges = [n for n in map(ipv4_net, svc.load_balancer_source_ranges) if n]
        if any(n.prefixlen == 0 for n in self.source_ranges):
            # A /0 range admits every source: kube-proxy treats it as no ranges at all, so no
            # KUBE-FW chain (kubernetes/kubernetes PR #132722, "the same effect as not
            # specifying"; cloud-provider servicehelpers.IsAllowAll reads it alike).
            self.source_ranges = []
        self.node_port = port.node_port or 0
        self.health_port = svc.health_check_node_port or 0
        self.affinity = (svc.session_affinity_timeout or 10800) if svc.session_affinity == "ClientIP" else 0
        self.endpoints = endpoints
        self.etp_local = svc.external_traffic_policy == "Local"
        self.itp_local = svc.internal_traffic_policy == "Local"
        self.view = view
        self.node = node.name if node is not None else None
        self.node_address = node.address if node is not None else None
        self.masquerade_all = masquerade_all
        self.local_cidr = local_cidr
        # The decision (syncProxyRules): which policy chains exist and what they use.
        accessible = self.externally_accessible
        self.uses_cluster = not self.itp_local or accessible
        self.uses_local = self.itp_local or (self.etp_local and accessible)
        self.cluster_endpoints = tuple(view.cluster) if self.uses_cluster else ()
        self.local_endpoints = tuple(view.local) if self.uses_local else ()
        has_any = bool(self.cluster_endpoints)
        if self.uses_local and not has_any:
            has_any = any(e.ready or (e.serving and e.terminating) for e in endpoints)
        self.has_endpoints = has_any
        if not has_any:
            self.internal = self.external = "reject"
        else:
            self.internal = ("local" if self.local_endpoints else "drop") if self.itp_local else "cluster"
            self.external = ("local" if self.local_endpoints else "drop") if self.etp_local else "cluster"
        # The one place the modes decide differently: iptables writes KUBE-FW only for a
        # Service with endpoints; nftables fills firewall-ips whatever the endpoints
        # (pkg/proxy/nftables/proxier.go, usesFWChain), and checks it before DNAT, so a
        # blocked source is dropped there even when a reject would follow.
        self.mode = mode
        self.firewall = ((has_any or mode == "nftables") and bool(self.lb_ips)
                         and bool(self.source_ranges))
        node_ip = ipv4(self.node_address) if self.node_address else None
        self.firewall_allows_lb_ips = bool(node_ip) and any(
            ipaddress.IPv4Address(node_ip) in net for net in self.source_ranges)

    @property
    def service(self) -> Service:
        return self.svc

    @property
    def externally_accessible(self) -> bool:
        return bool(self.node_port or self.lb_ips or self.external_ips)

    @property
    def reachable(self) -> tuple[Endpoint, ...]:
        """The endpoints that get a KUBE-SEP chain: those of either policy chain."""
        if not self.uses_local:
            return self.cluster_endpoints
        if not self.uses_cluster:
            return self.local_endpoints
        if not self.view.topology_mode and not self.view.local_terminating:
            return self.cluster_endpoints       # the local ones are among them
        merged = {endpoint_string(e): e for e in self.cluster_endpoints}
        merged.update({endpoint_string(e): e for e in self.local_endpoints})
        return tuple(merged.values())

    def is_pod_traffic(self, source: str) -> bool:
        """The local-traffic detector (detectLocalMode ClusterCIDR): a source inside
        clusterCIDR is a pod's. A hostNetwork pod sends from its node's address: not one."""
        return self.local_cidr is not None and ipaddress.ip_address(source) in self.local_cidr

    def is_local_source(self, source: str) -> bool:
        """`-m addrtype --src-type LOCAL`: the node's own address, or loopback."""
        return source == self.node_address or ipaddress.ip_address(source).is_loopback

    def source_allowed(self, source: str) -> bool:
        """loadBalancerSourceRanges admit `source` (or it is a load-balancer IP of this
        Service while the node's own address is in a range: the VIP loops back locally)."""
        if any(ipaddress.ip_address(source) in net for net in self.source_ranges):
            return True
        return self.firewall_allows_lb_ips and source in self.lb_ips

    def fate(self, source: str, way: str) -> Fate:
        """What this node's rules do with a new connection from `source` arriving by `way`
        (one of WAYS): the chain it takes, whether it is marked for masquerading, or why not."""
        if way not in WAYS:
            raise ValueError(f"way {way!r}: one of {', '.join(WAYS)}")
        if self.mode == "nftables" and way == "load-balancer" and self.firewall \
                and not self.source_allowed(source):
            return Fate("drop", why="source-range")   # firewall-check, before any reject
        if not self.has_endpoints:
            return Fate("reject", why="no-endpoints")          # "... has no endpoints" REJECT
        if way == "cluster-ip":
            if self.internal == "drop":
                return Fate("drop", why="no-local-endpoints", chain="local")
            # The internal chain's `! -s clusterCIDR -j KUBE-MARK-MASQ` (all of it with
            # masqueradeAll; no such rule without a local detector).
            masq = self.masquerade_all or (self.local_cidr is not None and not self.is_pod_traffic(source))
            if self.internal == "local":
                return Fate("dnat", self.local_endpoints, masq, chain="local")
            return Fate("dnat", self.cluster_endpoints, masq)
        if way == "load-balancer" and self.firewall:
            # KUBE-FW: `-s RANGE -j KUBE-EXT` per range (and the load balancer's own IPs when
            # the node is in a range); the rest falls through to KUBE-PROXY-FIREWALL's DROP.
            if not self.source_allowed(source):
                return Fate("drop", why="source-range")
        if not self.etp_local:
            return Fate("dnat", self.cluster_endpoints, True)   # "masquerade traffic for ..."
        if self.is_pod_traffic(source):
            return Fate("dnat", self.cluster_endpoints, False)  # "pod traffic for ..."
        if self.is_local_source(source):
            return Fate("dnat", self.cluster_endpoints, True)   # "masquerade LOCAL traffic ..."
        if self.external == "drop":
            return Fate("drop", why="no-local-endpoints", chain="local")
        return Fate("dnat", self.local_endpoints, False, chain="local")


def decide(cluster, service: Service, port: ServicePort, node,
           any_family: bool = False) -> ServicePortState | None:
    """What kube-proxy on `node` (a Node) decides for one Service port; None when it writes
    nothing for it: headless, ExternalName, or (unless `any_family`) no IPv4 cluster IP
    (an IPv6 Service's rules are ip6tables', which `rules` does not print)."""
    if not service.proxied:
        return None                       # headless and ExternalName: DNS only, no rules
    cluster_ip = ipv4(service.cluster_ip)
    family = 4
    if cluster_ip is None:
        if not any_family or not service.cluster_ip:
            return None
        cluster_ip, family = service.cluster_ip, 6
    masquerade_all, local_cidr, mode = _settings(cluster.proxy)
    eps = kube_proxy_endpoints(cluster.endpoints(service, port), family)
    view = categorize(service, eps, node.name, node.zone)
    return ServicePortState(service, port, cluster_ip, eps, view, node,
                            masquerade_all=masquerade_all, local_cidr=local_cidr, mode=mode)


def _settings(conf) -> tuple:
    """What `decide` reads of KubeProxyConfiguration: masqueradeAll, the local-traffic
    detector's clusterCIDR (its first IPv4 block) and the mode. The last one read is kept
    (a ProxyConfig is frozen): `decide` runs for every Service port, 10,000 of them in
    issue 19's budget, and parsing the CIDR each time cost a tenth of it."""
    global _last_settings
    last = _last_settings                # one read: another thread may replace it meanwhile
    if last is not None and last[0] is conf:
        return last[1]
    cidrs = [c.strip() for c in (conf.cluster_cidr or "").split(",") if c.strip()]
    local_cidr = next((n for n in map(ipv4_net, cidrs) if n is not None), None)
    settings = (bool(conf.masquerade_all), local_cidr, getattr(conf, "mode", None) or "iptables")
    _last_settings = (conf, settings)
    return settings


_last_settings: tuple | None = None      # (ProxyConfig, its settings)


def service_ports(cluster, node) -> list[ServicePortState]:
    """Every proxied IPv4 Service port, decided for `node`, in the order the normalised
    output lists them."""
    out = []
    for svc in sorted(cluster.services, key=lambda s: f"{s.namespace}/{s.name}"):
        for port in svc.ports:
            state = decide(cluster, svc, port, node)
            if state is not None:
                out.append(state)
    return out


def kube_proxy_endpoints(endpoints, family: int = 4) -> tuple[Endpoint, ...]:
    """The endpoints as kube-proxy's EndpointSliceCache keeps them: addresses of the
    proxier's IP family only (an FQDN EndpointSlice is no proxier's: kube-proxy takes IPv4
    and IPv6 slices only, pkg/proxy/endpointslicecache.go), one per IP:port (a
    non-terminating one wins over a terminating duplicate), sorted by "IP:port"."""
    if family == 4:
        # The common case, at a fraction of the loop's cost: every address already canonical
        # IPv4 text and every IP:port once, so the loop below would change nothing.
        endpoints = tuple(endpoints)
        if all(ipv4(e.address) == e.address for e in endpoints) \
                and len({(e.address, e.port) for e in endpoints}) == len(endpoints):
            return endpoints
    by_key: dict[str, Endpoint] = {}
    changed = False
    for e in endpoints:
        ip = ipv4(e.address) if family == 4 else _ipv6(e.address)
        if ip is None:
            changed = True
            continue
        if ip != e.address:
            e = replace(e, address=ip)
            changed = True
        key = endpoint_string(e)
        if key in by_key:
            changed = True
            if e.terminating:
                continue
        by_key[key] = e
    if not changed:
        return tuple(endpoints)           # already unique and in this order (model.py)
    return tuple(by_key[k] for k in sorted(by_key))


def _ipv6(text) -> str | None:
    try:
        ip = ipaddress.ip_address(str(text))
    except ValueError:
        return None
    return str(ip) if ip.version == 6 else None

