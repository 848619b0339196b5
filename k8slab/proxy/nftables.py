"""The nft script kube-proxy's nftables mode writes on one node (knftables' dump), from proxy's decisions."""

# An independent re-implementation of kubernetes/kubernetes pkg/proxy/nftables/proxier.go
# (setupNFTables, syncProxyRules, writeServiceToEndpointRules, servicePortChainNameBase,
# servicePortEndpointChainNameBase), held to the expected rulesets of
# pkg/proxy/nftables/proxier_test.go (TestOverallNFTablesRules, baseRules in the same file).
# What every mode shares (which endpoints, which policy chain, masquerade or not, drop or
# reject) is decided once in proxy.decision; this module only writes it in nftables' words:
# one table `ip kube-proxy`, verdict maps keyed by `daddr . l4proto . dport` instead of a
# KUBE-SERVICES chain with a rule per Service, and one `numgen random mod N vmap { ... }` rule
# instead of a cascade of `-m statistic` rules.
#
# The text is knftables' Fake.Dump form, in the order that lets `nft -f` load it as it is:
# the table, every chain (sorted by name), every set, every map, then every chain's rules
# (chains sorted, rules in the order kube-proxy adds them), then every set's and map's
# elements (in k8slab's Service order; kube-proxy's own order is Go's random map order).
#
# The masquerade mark: kube-proxy formats 1 << masqueradeBit with Go's "%#08x" ("0x004000")
# and `nft list ruleset` on a real node shows it back as 0x00004000; proxier_test.go's fake
# proxier writes "0x4000". All three are the same number; k8slab prints 0x4000 so that its
# output can be compared with upstream's expected rulesets line for line.

from __future__ import annotations

import ipaddress

from ..kube_names import ipv4, ipv4_net, nft_hash, port_name
from ..model import Cluster, Node
from .decision import ServicePortState, nft_endpoint_chains

__all__ = ["write", "chain_names", "chain_name_base", "TABLE", "BASE_CHAINS", "JUMP_CHAINS",
           "DEFAULT_SERVICE_CIDRS", "node_port_ips", "service_cidrs"]

#: The family and table every object lives in (kubeProxyTable, IPv4 proxier).
TABLE = "ip kube-proxy"

#: setupNFTables' base chains: (name, type, hook, priority). Filtering that must see the
#: destination before DNAT runs at priority dstnat-10 (-110); the rest after NAT (0).
BASE_CHAINS = (
    ("filter-prerouting-pre-dnat", "filter", "prerouting", -110),
    ("filter-output-pre-dnat", "filter", "output", -110),
    ("filter-forward", "filter", "forward", 0),
    ("filter-input", "filter", "input", 0),
    ("filter-output", "filter", "output", 0),
    ("nat-prerouting", "nat", "prerouting", -100),
    ("nat-output", "nat", "output", -100),
    ("nat-postrouting", "nat", "postrouting", 100),
)

#: nftablesJumpChains: (to, from, match), in the order setupNFTables adds them.
JUMP_CHAINS = (
    ("nodeport-endpoints-check", "filter-input", "ct state new"),
    ("service-endpoints-check", "filter-input", "ct state new"),
    ("service-endpoints-check", "filter-forward", "ct state new"),
    ("service-endpoints-check", "filter-output", "ct state new"),
    ("firewall-check", "filter-prerouting-pre-dnat", "ct state new"),
    ("firewall-check", "filter-output-pre-dnat", "ct state new"),
    ("services", "nat-output", ""),
    ("services", "nat-prerouting", ""),
    ("masquerading", "nat-postrouting", ""),
    ("cluster-ips-check", "filter-forward", "ct state new"),
    ("cluster-ips-check", "filter-output", "ct state new"),
)

#: The Service range when the input says nothing else: kubeadm's --service-cluster-ip-range,
#: which the API server also publishes as the "kubernetes" ServiceCIDR.
DEFAULT_SERVICE_CIDRS = ("10.96.0.0/12",)

_SERVICE_MAP = "ipv4_addr . inet_proto . inet_service : verdict"
_PORT_MAP = "inet_proto . inet_service : verdict"
_NO_LOCALHOST = "ip daddr != 127.0.0.0/8"


def chain_name_base(name: str) -> str:
    """hashAndTruncate: the first 8 base32 characters of the name's SHA-256, a dash, the name
    (cut to 240 characters with "..." should it ever be longer)."""
    digest = nft_hash(name)
    base = f"{digest}-{name}"
    return base[:237] + "..." if len(base) > 240 else base


def chain_names(service, port) -> dict[str, str]:
    """The chains of one Service port: service- (Cluster policy), local- (Local policy),
    external- (node port, external and load-balancer IPs) and firewall- (source ranges).
    servicePortChainNameBase: "namespace/name/protocol/portName"."""
    proto = (port.protocol or "TCP").lower()
    base = chain_name_base(f"{service.namespace}/{service.name}/{proto}/{port.name or ''}")
    return {kind: f"{kind}-{base}" for kind in ("service", "local", "external", "firewall")}


def service_cidrs(cluster: Cluster) -> tuple[str, ...]:
    """The ServiceCIDRs kube-proxy drops unallocated cluster IPs of (OnServiceCIDRsChanged)."""
    given = getattr(cluster, "service_cidrs", None)
    return tuple(given) if given else DEFAULT_SERVICE_CIDRS


def node_port_ips(cluster: Cluster, node: Node) -> list[str] | None:
    """The node's addresses that accept node ports (the nodeport-ips set), or None when every
    local address does (a nodePortAddresses entry of 0.0.0.0/0: NodePortAddresses.MatchAll).

    nftables mode defaults nodePortAddresses to "primary" (the node's InternalIP), and never
    accepts node ports on a loopback address, whatever the configuration says."""
    wanted = tuple(getattr(cluster.proxy, "node_port_addresses", ()) or ()) or ("primary",)
    address = ipv4(node.address) if node is not None and node.address else None
    out: list[str] = []
    for entry in wanted:
        if entry == "primary":
            hit = address is not None
        else:
            net = ipv4_net(entry)
            if net is None:
                continue                           # an IPv6 block: the IPv6 proxier's
            if net.prefixlen == 0:
                return None
            hit = address is not None and ipaddress.IPv4Address(address) in net
        if hit and address not in out and not ipaddress.IPv4Address(address).is_loopback:
            out.append(address)
    return out


class _Dump:
    """A knftables transaction for one sync, kept as objects, printed as Fake.Dump does."""

    # Rules and elements are kept as the finished lines `text` prints (`add rule ...`), so
    # that the 400,000 lines of 10,000 Services are formatted once (issue 19's budget).

    def __init__(self):
        self.chains: dict[str, str] = {}           # name -> spec ("" for a regular chain)
        self.sets: dict[str, str] = {}
        self.maps: dict[str, str] = {}
        self.rules: dict[str, list[str]] = {}      # chain -> its "add rule ..." lines
        self.elements: dict[str, list[str]] = {}   # set or map name -> its "add element ..." lines

    def chain(self, name: str, spec: str = "") -> None:
        if name not in self.chains:
            self.chains[name] = spec
            self.rules.setdefault(name, [])

    def rule(self, chain: str, text: str, comment: str | None = None) -> None:
        line = f"add rule {TABLE} {chain} {text}" + (f' comment "{comment}"' if comment else "")
        lines = self.rules.get(chain)
        if lines is None:
            self.rules[chain] = [line]
        else:
            lines.append(line)

    def element(self, container: str, key: str, value: str | None = None,
                comment: str | None = None) -> None:
        body = key + (f' comment "{comment}"' if comment else "") + (f" : {value}" if value else "")
        self.elements.setdefault(container, []).append(f"add element {TABLE} {container} {{ {body} }}")

    def text(self, explain: bool = False) -> str:
        t = TABLE
        out = [f'add table {t} {{ comment "rules for kube-proxy" ; }}']
        chains = sorted(self.chains)
        specs = self.chains
        if explain:
            for n in chains:
                out.append(f"# {n}: {_hop_of(n)}")
                out.append(f"add chain {t} {n} {{ {specs[n]} ; }}" if specs[n] else f"add chain {t} {n}")
        else:
            out += [f"add chain {t} {n} {{ {specs[n]} ; }}" if specs[n] else f"add chain {t} {n}"
                    for n in chains]
        out += [f"add set {t} {n} {{ {self.sets[n]} ; }}" for n in sorted(self.sets)]
        out += [f"add map {t} {n} {{ {self.maps[n]} ; }}" for n in sorted(self.maps)]
        rules = self.rules
        for n in chains:
            out += rules[n]
        for n in sorted(self.sets) + sorted(self.maps):
            out += self.elements.get(n, ())
        out.append("")                             # the last line's newline, without a copy
        return "\n".join(out)


def write(cluster: Cluster, node: Node, ports: list[ServicePortState],
          cidrs: tuple[str, ...] | None = None, explain: bool = False) -> str:
    """What kube-proxy's nftables mode on `node` programs, as `nft -f` input.

    `ports` is `proxy.service_ports(cluster, node)`, the decisions; `cidrs` the ServiceCIDRs
    (default: `service_cidrs(cluster)`). With `explain`, a `#` line before each chain says
    which hop of a route it implements (nft -f ignores such lines)."""
    conf = cluster.proxy
    mark = hex(1 << int(getattr(conf, "masquerade_bit", 14)))
    cidrs = tuple(cidrs) if cidrs is not None else service_cidrs(cluster)
    d = _Dump()
    _setup(d, mark, cidrs, node_port_ips(cluster, node))
    for state in ports:
        _service_port(d, state)
    return d.text(explain)


#: What each of kube-proxy's fixed chains does, for `explain`.
_FIXED_HOPS = {
    "services": "every packet's lookup: @service-ips (cluster IPs: hop service; load-balancer and "
                "external IPs: their hop) and @service-nodeports (hop node-port)",
    "cluster-ips-check": "a cluster IP on a port no Service has: reject (connection refused); an "
                         "unallocated address of the Service range: drop",
    "service-endpoints-check": "a Service with no endpoints (reject) or no local one (drop)",
    "nodeport-endpoints-check": "a node port with no endpoints (reject) or no local one (drop)",
    "firewall-check": "loadBalancerSourceRanges, before DNAT (hop load-balancer)",
    "mark-for-masquerade": "marks the packet: the pod will see the node's address",
    "masquerading": "masquerades marked packets as they leave (the source the pod sees)",
    "reject-chain": "answers with a reject: connection refused",
}


#: What each kind of a Service port's chains does, for `explain`.
_PORT_HOPS = {"service": "hop service: picks the endpoint (Cluster policy)",
              "local": "hop service: picks among this node's endpoints (Local policy)",
              "external": "hop node-port, load-balancer or external-ip: every outside way in",
              "firewall": "hop load-balancer: drops sources outside loadBalancerSourceRanges",
              "endpoint": "hop pod: DNAT to this endpoint"}


def _hop_of(chain: str) -> str:
    if chain in _FIXED_HOPS:
        return _FIXED_HOPS[chain]
    kind = chain.split("-", 1)[0]
    if "/" in chain:
        return _PORT_HOPS.get(kind, "")
    for _, _, hook, priority in (b for b in BASE_CHAINS if b[0] == chain):
        return f"base chain at the {hook} hook, priority {priority}: jumps into kube-proxy's chains"
    return ""


def _setup(d: _Dump, mark: str, cidrs: tuple[str, ...], np_ips: list[str] | None) -> None:
    """setupNFTables: the base chains, the jumps into kube-proxy's chains, the helpers."""
    for name, kind, hook, priority in BASE_CHAINS:
        d.chain(name, f"type {kind} hook {hook} priority {priority}")
    for to, frm, match in JUMP_CHAINS:
        d.chain(to)
        d.rule(frm, (match + " " if match else "") + f"jump {to}")
    for name in ("services", "cluster-ips-check", "masquerading", "mark-for-masquerade"):
        d.chain(name)
    d.rule("mark-for-masquerade", f"mark set mark or {mark}")
    d.rule("masquerading", f"mark and {mark} == 0 return")
    d.rule("masquerading", f"mark set mark xor {mark}")
    d.rule("masquerading", "masquerade fully-random")
    d.sets["cluster-ips"] = 'type ipv4_addr ; comment "Active ClusterIPs"'
    d.rule("cluster-ips-check", "ip daddr @cluster-ips reject",
           "Reject traffic to invalid ports of ClusterIPs")
    if cidrs:
        d.rule("cluster-ips-check", f"ip daddr {{ {','.join(cidrs)} }} drop",
               "Drop traffic to unallocated ClusterIPs")
    if np_ips is not None:
        d.sets["nodeport-ips"] = 'type ipv4_addr ; comment "IPs that accept NodePort traffic"'
        for ip in np_ips:
            d.element("nodeport-ips", ip)
    d.maps["no-endpoint-services"] = (f'type {_SERVICE_MAP} ; comment "vmap to drop or reject '
                                      'packets to services with no endpoints"')
    d.maps["no-endpoint-nodeports"] = (f'type {_PORT_MAP} ; comment "vmap to drop or reject '
                                       'packets to service nodeports with no endpoints"')
    d.chain("reject-chain", 'comment "helper for @no-endpoint-services / @no-endpoint-nodeports"')
    d.rule("reject-chain", "reject")
    d.rule("service-endpoints-check", "ip daddr . meta l4proto . th dport vmap @no-endpoint-services")
    where = "ip daddr @nodeport-ips" if np_ips is not None else _NO_LOCALHOST
    d.rule("nodeport-endpoints-check", f"{where} meta l4proto . th dport vmap @no-endpoint-nodeports")
    d.maps["firewall-ips"] = (f'type {_SERVICE_MAP} ; comment "destinations that are subject to '
                              'LoadBalancerSourceRanges"')
    d.chain("firewall-check")
    d.rule("firewall-check", "ip daddr . meta l4proto . th dport vmap @firewall-ips")
    d.maps["service-ips"] = f'type {_SERVICE_MAP} ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic"'
    d.maps["service-nodeports"] = f'type {_PORT_MAP} ; comment "NodePort traffic"'
    d.rule("services", "ip daddr . meta l4proto . th dport vmap @service-ips")
    where = ("ip daddr @nodeport-ips" if np_ips is not None
             else f"fib daddr type local {_NO_LOCALHOST}")
    d.rule("services", f"{where} meta l4proto . th dport vmap @service-nodeports")


def _service_port(d: _Dump, s: ServicePortState) -> None:
    """syncProxyRules' loop body for one Service port."""
    svc, port = s.svc, s.port
    names = chain_names(svc, port)
    cluster_chain, local_chain = names["service"], names["local"]
    external_chain, fw_chain = names["external"], names["firewall"]
    comment = port_name(svc, port)
    proto = s.proto
    has_eps = s.has_endpoints
    has_internal = s.internal in ("cluster", "local")
    has_external = s.external in ("cluster", "local")
    internal_chain = local_chain if s.itp_local else cluster_chain
    external_policy = local_chain if s.etp_local else cluster_chain
    uses_external = has_eps and s.externally_accessible
    affinity = s.affinity > 0
    reachable = s.reachable
    # Each endpoint's chain (and affinity set: the same base) is named once.
    names = dict(zip(map(id, reachable), nft_endpoint_chains(svc, port, reachable)))
    others = [e for e in (*s.cluster_endpoints, *s.local_endpoints) if id(e) not in names]
    if others:
        for e, chain in zip(others, nft_endpoint_chains(svc, port, others)):
            names.setdefault(id(e), chain)

    # (The endpoints' own chains are made where their rules are written, at the end.)
    if s.cluster_endpoints:
        d.chain(cluster_chain)
    if s.local_endpoints:
        d.chain(local_chain)
    if uses_external:
        d.chain(external_chain)

    if not has_eps:
        internal_verdict = external_verdict = "goto reject-chain"
    else:
        internal_verdict = None if has_internal else "drop"
        external_verdict = None if has_external else "drop"

    key = f"{s.cluster_ip} . {proto} . {port.port}"
    d.element("cluster-ips", s.cluster_ip)
    if has_internal:
        d.element("service-ips", key, f"goto {internal_chain}")
    else:
        d.element("no-endpoint-services", key, internal_verdict, comment)
    for ip in s.external_ips:
        if has_eps:
            d.element("service-ips", f"{ip} . {proto} . {port.port}", f"goto {external_chain}")
        if not has_external:
            d.element("no-endpoint-services", f"{ip} . {proto} . {port.port}", external_verdict, comment)
    uses_fw = bool(s.lb_ips) and bool(s.source_ranges)
    if uses_fw:
        d.chain(fw_chain)
    for ip in s.lb_ips:
        if has_eps:
            d.element("service-ips", f"{ip} . {proto} . {port.port}", f"goto {external_chain}")
        if uses_fw:
            d.element("firewall-ips", f"{ip} . {proto} . {port.port}", f"goto {fw_chain}")
    if not has_external:
        for ip in s.lb_ips:
            d.element("no-endpoint-services", f"{ip} . {proto} . {port.port}", external_verdict, comment)
    if s.node_port:
        if has_eps:
            d.element("service-nodeports", f"{proto} . {s.node_port}", f"goto {external_chain}")
        if not has_external:
            d.element("no-endpoint-nodeports", f"{proto} . {s.node_port}", external_verdict, comment)

    # Internal traffic: masquerade what does not come from a pod (a static route to the
    # Service range through some node), or everything with masqueradeAll.
    if has_internal:
        if s.masquerade_all:
            d.rule(internal_chain, f"ip daddr {s.cluster_ip} jump mark-for-masquerade")
        elif s.local_cidr is not None:
            d.rule(internal_chain, f"ip daddr {s.cluster_ip} ip saddr != {s.local_cidr} "
                                   "jump mark-for-masquerade")
    if uses_external:
        if not s.etp_local:
            d.rule(external_chain, "jump mark-for-masquerade")
        else:
            if s.local_cidr is not None:
                d.rule(external_chain, f"ip saddr {s.local_cidr} goto {cluster_chain}",
                       "short-circuit pod traffic")
            d.rule(external_chain, "fib saddr type local jump mark-for-masquerade",
                   "masquerade local traffic")
            d.rule(external_chain, f"fib saddr type local goto {cluster_chain}",
                   "short-circuit local traffic")
        if has_external:
            d.rule(external_chain, f"goto {external_policy}")
    if uses_fw:
        sources = [str(n) for n in s.source_ranges]
        if s.firewall_allows_lb_ips:
            sources += list(s.lb_ips)
        d.rule(fw_chain, f"ip saddr != {{ {' , '.join(sources)} }} drop")
    if affinity:
        for e in reachable:
            d.sets[_affinity(names[id(e)])] = (
                f"type ipv4_addr ; flags dynamic,timeout ; timeout {s.affinity}s")
    if s.cluster_endpoints:
        _to_endpoints(d, cluster_chain, s.cluster_endpoints, names, affinity)
    if s.local_endpoints:
        _to_endpoints(d, local_chain, s.local_endpoints, names, affinity)
    chains, rules = d.chains, d.rules
    for e in reachable:
        # d.chain and d.rule's lines, inlined (100,000 endpoints in issue 19's budget).
        chain = names[id(e)]
        head = f"add rule {TABLE} {chain} "
        lines = ([f"{head}ip saddr {e.address} jump mark-for-masquerade",
                  f"{head}update @{_affinity(chain)} {{ ip saddr }}",
                  f"{head}meta l4proto {proto} dnat to {e.address}:{e.port}"] if affinity else
                 [f"{head}ip saddr {e.address} jump mark-for-masquerade",
                  f"{head}meta l4proto {proto} dnat to {e.address}:{e.port}"])
        if chain in chains:
            rules[chain] += lines
        else:
            chains[chain] = ""
            rules[chain] = lines


def _affinity(endpoint_chain: str) -> str:
    """An endpoint's affinity set: its chain's name base behind "affinity-" (newEndpointInfo)."""
    return "affinity-" + endpoint_chain[len("endpoint-"):]


def _to_endpoints(d: _Dump, chain: str, endpoints, names: dict, affinity: bool) -> None:
    """writeServiceToEndpointRules: affinity first, then one numgen rule for all endpoints."""
    if affinity:
        for e in endpoints:
            d.rule(chain, f"ip saddr @{_affinity(names[id(e)])} goto {names[id(e)]}")
    elements = " , ".join(f"{i} : goto {names[id(e)]}" for i, e in enumerate(endpoints))
    d.rule(chain, f"numgen random mod {len(endpoints)} vmap {{ {elements} }}")
