"""The text kube-proxy writes on one node: iptables-save tables (or ipvsadm's list), from proxy's decisions."""

# How kube-proxy builds these rules is described in kubernetes/kubernetes
# pkg/proxy/iptables/proxier.go (syncProxyRules, writeServiceToEndpointRules) and
# pkg/proxy/topology.go (CategorizeEndpoints); this is an independent re-implementation
# in Python of that behaviour, checked against the expected output of proxier_test.go.

from __future__ import annotations

import ipaddress

from ..kube_names import chain_hash, endpoint_string, ipv4, ipv4_net, port_name
from ..model import Cluster, Endpoint, Service, ServicePort

__all__ = ["write", "chains_for", "KUBE_PROXY_VERSION", "LARGE_CLUSTER_ENDPOINTS", "JUMP_RULES"]

#: The kube-proxy release whose rule-writing code this reproduces (pkg/proxy/iptables,
#: unchanged in what it writes from v1.33 through the v1.34 sources compared).
KUBE_PROXY_VERSION = "v1.33"

#: Above this many endpoints (all Services together) kube-proxy stops writing the
#: "-m comment" on KUBE-SEP rules and on the KUBE-SVC -> KUBE-SEP jumps.
LARGE_CLUSTER_ENDPOINTS = 1000

# Defaults of a kube-proxy that nobody configured, used unless the cluster's ProxyConfig
# carries the matching field (see _settings): masqueradeBit 14 (mark 0x4000),
# iptables.localhostNodePorts true, nodePortAddresses empty (every local address), the
# nfacct counters available, and an iptables without --random-fully (as proxier_test's fake).
_DEFAULTS = {
    "masquerade_bit": 14,
    "localhost_node_ports": True,
    "node_port_addresses": (),
    "nfacct": True,
    "random_fully": False,
    "conntrack_tcp_be_liberal": False,
}

_NODEPORTS_LAST = ('-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; '
                   'NOTE: this must be the last rule in this chain"')

# The jumps kube-proxy installs in the built-in chains (iptablesJumpChains and the kubelet
# ones): not part of what it restores, shown only by explain=True so the walk starts somewhere.
JUMP_RULES = {
    "filter": [
        '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
        '-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS',
        '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
        '-A INPUT -j KUBE-FIREWALL',
        '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
        '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
        '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
        '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
        '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
        '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
        '-A OUTPUT -j KUBE-FIREWALL',
    ],
    "nat": [
        '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
        '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
        '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    ],
}


# ---------------------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------------------

def write(cluster: Cluster, node, ports, mode: str = "iptables", explain: bool = False) -> str:
    """The text kube-proxy on `node` programs, from what it decided for each Service port.

    `ports` is `proxy.service_ports(cluster, node)`: this module only writes it down. mode
    "iptables": the filter and nat tables kube-proxy hands to iptables-restore, in the
    normalised order of proxier_test.go's sortIPTablesRules (kube-proxy itself walks Services
    in Go's random map order). mode "ipvs": what `ipvsadm -Ln` lists. With `explain`, every
    chain gets a `#` line naming the hop of a route it implements (iptables-restore ignores
    such lines).
    """
    if mode == "ipvs":
        return _ipvs(cluster, node, ports, explain)
    return _Writer(cluster, node, ports, explain).run()


def chains_for(service: Service, port: ServicePort, endpoints=()) -> dict:
    """The chain names kube-proxy gives one Service port and (optionally) its endpoints."""
    spn = port_name(service, port)
    proto = port.protocol.lower()
    h = chain_hash(spn + proto)
    return {"KUBE-SVC": "KUBE-SVC-" + h, "KUBE-SVL": "KUBE-SVL-" + h,
            "KUBE-EXT": "KUBE-EXT-" + h, "KUBE-FW": "KUBE-FW-" + h,
            "KUBE-SEP": {e.ip_port: "KUBE-SEP-" + chain_hash(spn + proto + endpoint_string(e))
                         for e in endpoints}}


# ---------------------------------------------------------------------------------------
# What kube-proxy knows about each Service port (its svcPortMap and endpointsMap)
# ---------------------------------------------------------------------------------------

def _settings(cluster: Cluster) -> dict:
    conf = cluster.proxy
    s = {k: getattr(conf, k, v) for k, v in _DEFAULTS.items()}
    s["masquerade_all"] = bool(getattr(conf, "masquerade_all", False))
    cidrs = [c.strip() for c in (conf.cluster_cidr or "").split(",") if c.strip()]
    s["cluster_cidr"] = next((c for c in cidrs if ipv4_net(c) is not None), None)
    return s


# ---------------------------------------------------------------------------------------
# iptables
# ---------------------------------------------------------------------------------------

def _q(text: str) -> str:
    """A comment as kube-proxy writes it: quoted when it holds a space."""
    return f'"{text}"' if " " in text else text


class _Writer:
    """syncProxyRules for one node, writing lines into per-chain lists."""

    def __init__(self, cluster: Cluster, node, ports: list, explain: bool):
        self.cluster, self.node, self.ports, self.explain = cluster, node, ports, explain
        s = _settings(cluster)
        self.mark = hex(1 << int(s["masquerade_bit"]))
        self.masquerade_all = s["masquerade_all"]
        self.cidr = s["cluster_cidr"]
        self.random_fully = bool(s["random_fully"])
        self.nfacct = bool(s["nfacct"])
        self.tcp_liberal = bool(s["conntrack_tcp_be_liberal"])
        self.np_addresses = tuple(s["node_port_addresses"] or ())
        localhost = bool(s["localhost_node_ports"])
        if self.np_addresses and not self._np_loopback():
            localhost = False             # nodePortAddresses without 127.0.0.1 turns it off
        self.localhost = localhost
        self.filter: dict[str, list[str]] = {}
        self.nat: dict[str, list[str]] = {}
        self.notes: dict[tuple[str, str], str] = {}
        total = sum(len(p.endpoints) for p in ports)
        self.large = total > LARGE_CLUSTER_ENDPOINTS

    def _np_loopback(self) -> bool:
        for a in self.np_addresses:
            net = ipv4_net(a)
            if net is not None and ipaddress.IPv4Address("127.0.0.1") in net:
                return True
        return False

    def note(self, table: str, chain: str, text: str) -> None:
        if self.explain and (table, chain) not in self.notes:
            self.notes[(table, chain)] = text

    # -- the sync ------------------------------------------------------------------------
    def run(self) -> str:
        f, n = self.filter, self.nat
        for chain in ("KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES", "KUBE-FORWARD",
                      "KUBE-NODEPORTS", "KUBE-PROXY-FIREWALL"):
            f[chain] = []
        for chain in ("KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-MARK-MASQ"):
            n[chain] = []
        mark = f"{self.mark}/{self.mark}"
        n["KUBE-POSTROUTING"] += [
            f"-A KUBE-POSTROUTING -m mark ! --mark {mark} -j RETURN",
            f"-A KUBE-POSTROUTING -j MARK --xor-mark {self.mark}",
            '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" '
            "-j MASQUERADE" + (" --random-fully" if self.random_fully else ""),
        ]
        n["KUBE-MARK-MASQ"].append(f"-A KUBE-MARK-MASQ -j MARK --or-mark {self.mark}")
        if self.localhost:
            f["KUBE-FIREWALL"] = [
                '-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" '
                "-d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT "
                "-j DROP"]
        for p in self.ports:
            self.service_port(p)
        self.node_ports_last()
        forward = f["KUBE-FORWARD"]
        if not self.tcp_liberal:
            forward.append("-A KUBE-FORWARD -m conntrack --ctstate INVALID"
                           + (" -m nfacct --nfacct-name ct_state_invalid_dropped_pkts" if self.nfacct else "")
                           + " -j DROP")
        forward.append('-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" '
                       f"-m mark --mark {mark} -j ACCEPT")
        forward.append('-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" '
                       "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
        if self.explain:
            self.fixed_notes()
        return self.render()

    def node_ports_last(self) -> None:
        services = self.nat["KUBE-SERVICES"]
        if not self.np_addresses:
            extra = "" if self.localhost else " ! -d 127.0.0.0/8"
            services.append(f"{_NODEPORTS_LAST} -m addrtype --dst-type LOCAL{extra} -j KUBE-NODEPORTS")
            return
        ips = []
        for a in self.np_addresses:
            if a == "primary":
                candidates = [self.node.address]
            else:
                net = ipv4_net(a)
                if net is None:
                    continue
                candidates = [ip for ip in (self.node.address, "127.0.0.1")
                              if ipv4(ip) and ipaddress.IPv4Address(ipv4(ip)) in net]
            for ip in candidates:
                if ip == "127.0.0.1" and not self.localhost:
                    continue
                if ip not in ips:
                    ips.append(ip)
        for ip in ips:
            services.append(f"{_NODEPORTS_LAST} -d {ip} -j KUBE-NODEPORTS")

    def service_port(self, p) -> None:
        f, n = self.filter, self.nat
        name, proto, h = p.name, p.proto, p.hash
        match = f"-m {proto} -p {proto}"
        # What kube-proxy decided for this port here (proxy.ServicePortState); this only writes it.
        uses_cluster, uses_local = p.uses_cluster, p.uses_local
        cluster_eps = list(p.cluster_endpoints)
        local_eps = list(p.local_endpoints)
        has_any = p.has_endpoints
        reachable = list(p.reachable)

        svc_chain, svl_chain = "KUBE-SVC-" + h, "KUBE-SVL-" + h
        ext_chain, fw_chain = "KUBE-EXT-" + h, "KUBE-FW-" + h
        uses_cluster_chain = bool(cluster_eps) and uses_cluster
        uses_local_chain = bool(local_eps) and uses_local
        internal_chain = svl_chain if p.itp_local else svc_chain
        has_internal = p.internal in ("cluster", "local")
        external_chain = svl_chain if p.etp_local else svc_chain
        has_external = p.external in ("cluster", "local")
        uses_ext = has_any and p.externally_accessible
        lb_chain = ext_chain
        uses_fw = p.firewall and has_any        # KUBE-FW only for a Service with endpoints
        if uses_fw:
            lb_chain = fw_chain
        if not has_any:
            int_target = ext_target = "REJECT"
            int_comment = ext_comment = f'"{name} has no endpoints"'
        else:
            int_target = ext_target = ""
            int_comment = ext_comment = ""
            if not has_internal:
                int_target, int_comment = "DROP", f'"{name} has no local endpoints"'
            if not has_external:
                ext_target, ext_comment = "DROP", f'"{name} has no local endpoints"'

        port = p.port.port
        cip = p.cluster_ip
        services = n["KUBE-SERVICES"]
        if has_internal:
            services.append(f'-A KUBE-SERVICES -m comment --comment "{name} cluster IP" {match} '
                            f"-d {cip} --dport {port} -j {internal_chain}")
        else:
            f["KUBE-SERVICES"].append(f"-A KUBE-SERVICES -m comment --comment {int_comment} {match} "
                                      f"-d {cip} --dport {port} -j {int_target}")
        for ip in p.external_ips:
            if has_any:
                services.append(f'-A KUBE-SERVICES -m comment --comment "{name} external IP" {match} '
                                f"-d {ip} --dport {port} -j {ext_chain}")
            if not has_external:
                f["KUBE-EXTERNAL-SERVICES"].append(
                    f"-A KUBE-EXTERNAL-SERVICES -m comment --comment {ext_comment} {match} "
                    f"-d {ip} --dport {port} -j {ext_target}")
        for ip in p.lb_ips:
            if has_any:
                services.append(f'-A KUBE-SERVICES -m comment --comment "{name} loadbalancer IP" '
                                f"{match} -d {ip} --dport {port} -j {lb_chain}")
            if uses_fw:
                f["KUBE-PROXY-FIREWALL"].append(
                    f'-A KUBE-PROXY-FIREWALL -m comment --comment "{name} traffic not accepted by '
                    f'{fw_chain}" {match} -d {ip} --dport {port} -j DROP')
        if not has_external:
            for ip in p.lb_ips:
                f["KUBE-EXTERNAL-SERVICES"].append(
                    f"-A KUBE-EXTERNAL-SERVICES -m comment --comment {ext_comment} {match} "
                    f"-d {ip} --dport {port} -j {ext_target}")
        if p.node_port:
            np_ = p.node_port
            if has_any:
                nodeports = n["KUBE-NODEPORTS"]
                if self.localhost and self.nfacct:
                    nodeports.append(f"-A KUBE-NODEPORTS -m comment --comment {_q(name)} {match} "
                                     f"-d 127.0.0.0/8 --dport {np_} -m nfacct --nfacct-name "
                                     f"localhost_nps_accepted_pkts -j {ext_chain}")
                nodeports.append(f"-A KUBE-NODEPORTS -m comment --comment {_q(name)} {match} "
                                 f"--dport {np_} -j {ext_chain}")
            if not has_external:
                f["KUBE-EXTERNAL-SERVICES"].append(
                    f"-A KUBE-EXTERNAL-SERVICES -m comment --comment {ext_comment} "
                    f"-m addrtype --dst-type LOCAL {match} --dport {np_} -j {ext_target}")
        if p.health_port:
            f["KUBE-NODEPORTS"].append(
                f'-A KUBE-NODEPORTS -m comment --comment "{name} health check node port" '
                f"-m tcp -p tcp --dport {p.health_port} -j ACCEPT")

        # Chains of this Service port, in the order kube-proxy writes them.
        if has_internal:
            base = (f'-A {internal_chain} -m comment --comment "{name} cluster IP" {match} '
                    f"-d {cip} --dport {port}")
            if self.masquerade_all:
                n.setdefault(internal_chain, []).append(f"{base} -j KUBE-MARK-MASQ")
            elif self.cidr:
                n.setdefault(internal_chain, []).append(f"{base} ! -s {self.cidr} -j KUBE-MARK-MASQ")
        if uses_ext:
            ext = n.setdefault(ext_chain, [])
            if not p.etp_local:
                ext.append(f'-A {ext_chain} -m comment --comment "masquerade traffic for {name} '
                           'external destinations" -j KUBE-MARK-MASQ')
            else:
                if self.cidr:
                    ext.append(f'-A {ext_chain} -m comment --comment "pod traffic for {name} external '
                               f'destinations" -s {self.cidr} -j {svc_chain}')
                ext.append(f'-A {ext_chain} -m comment --comment "masquerade LOCAL traffic for {name} '
                           'external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ')
                ext.append(f'-A {ext_chain} -m comment --comment "route LOCAL traffic for {name} '
                           f'external destinations" -m addrtype --src-type LOCAL -j {svc_chain}')
            if has_external:
                ext.append(f"-A {ext_chain} -j {external_chain}")
        if uses_fw:
            fw = n.setdefault(fw_chain, [])
            head = f'-A {fw_chain} -m comment --comment "{name} loadbalancer IP"'
            for net in p.source_ranges:
                fw.append(f"{head} -s {net} -j {ext_chain}")
            if p.firewall_allows_lb_ips:       # the node's own address is in a range
                for ip in p.lb_ips:
                    fw.append(f"{head} -s {ip} -j {ext_chain}")
            fw.append(f'-A {fw_chain} -m comment --comment "other traffic to {name} will be dropped '
                      'by KUBE-PROXY-FIREWALL"')
        seps = {}
        if uses_cluster_chain:
            self.dispatch(p, svc_chain, cluster_eps, seps)
        if uses_local_chain:
            self.dispatch(p, svl_chain, local_eps, seps)
        comment = "" if self.large else f" -m comment --comment {_q(name)}"
        for e in reachable:
            ep = endpoint_string(e)
            chain = seps.get(ep) or "KUBE-SEP-" + chain_hash(name + proto + ep)
            sticky = f" -m recent --name {chain} --set" if p.affinity else ""
            n[chain] = [f"-A {chain}{comment} -s {e.address} -j KUBE-MARK-MASQ",
                        f"-A {chain}{comment}{sticky} {match} -j DNAT --to-destination {ep}"]
            self.note("nat", chain, self.sep_note(p, e))
        if self.explain:
            self.service_notes(p, dict(
                uses_cluster_chain=uses_cluster_chain, uses_local_chain=uses_local_chain,
                uses_ext=uses_ext, uses_fw=uses_fw, has_external=has_external,
                cluster_eps=cluster_eps, local_eps=local_eps, svc_chain=svc_chain,
                svl_chain=svl_chain, ext_chain=ext_chain, fw_chain=fw_chain))

    def dispatch(self, p, chain: str, endpoints, seps: dict) -> None:
        """writeServiceToEndpointRules: affinity checks first, then the random cascade."""
        lines = self.nat.setdefault(chain, [])
        name, proto = p.name, p.proto
        chains = []
        for e in endpoints:
            ep = endpoint_string(e)
            sep = seps.get(ep)
            if sep is None:
                sep = seps[ep] = "KUBE-SEP-" + chain_hash(name + proto + ep)
            chains.append((ep, sep))
        if p.affinity:
            for ep, sep in chains:
                c = "" if self.large else f' -m comment --comment "{name} -> {ep}"'
                lines.append(f"-A {chain}{c} -m recent --name {sep} --rcheck --seconds {p.affinity} "
                             f"--reap -j {sep}")
        count = len(chains)
        for i, (ep, sep) in enumerate(chains):
            c = "" if self.large else f' -m comment --comment "{name} -> {ep}"'
            if i < count - 1:
                lines.append(f"-A {chain}{c} -m statistic --mode random --probability "
                             f"{1.0 / (count - i):0.10f} -j {sep}")
            else:
                lines.append(f"-A {chain}{c} -j {sep}")

    # -- output --------------------------------------------------------------------------
    def render(self) -> str:
        out = []
        for table, chains in (("filter", self.filter), ("nat", self.nat)):
            order = [c for c in ("KUBE-NODEPORTS", "KUBE-SERVICES") if c in chains]
            order += sorted(c for c in chains if c not in ("KUBE-NODEPORTS", "KUBE-SERVICES"))
            out.append(f"*{table}")
            if self.explain:
                out.extend(self.table_header(table))
            out.extend(f":{c} - [0:0]" for c in order)
            for c in order:
                if self.explain:
                    out.append(f"# {c}: {self.notes.get((table, c), '')}".rstrip())
                out.extend(chains[c])
            out.append("COMMIT")
        return "\n".join(out) + "\n"

    # -- explain -------------------------------------------------------------------------
    def table_header(self, table: str) -> list[str]:
        node = self.node
        if table == "filter":
            lines = [f"# kube-proxy ({KUBE_PROXY_VERSION}, iptables mode) on node {node.name} "
                     f"({node.address}). Table filter: accepts, drops or rejects.",
                     "# The built-in chains jump into kube-proxy's chains with these rules:"]
        else:
            lines = ["# Table nat: rewrites addresses. A packet from a pod or from another machine "
                     "enters at PREROUTING, one from a process on this node itself at OUTPUT; both "
                     "jump to KUBE-SERVICES:"]
        hooks = JUMP_RULES[table]
        if table == "filter" and not self.localhost:
            hooks = [h for h in hooks if "KUBE-FIREWALL" not in h or "PROXY" in h]
        lines += [f"#   {h}" for h in hooks]
        return lines

    def fixed_notes(self) -> None:
        mark = self.mark
        self.note("filter", "KUBE-NODEPORTS", "[hop: load-balancer] accepts the cloud load balancer's "
                  "health checks on each health-check node port (externalTrafficPolicy: Local)")
        self.note("filter", "KUBE-SERVICES", "[hop: service] refuses connections to a cluster IP "
                  "with no endpoint (REJECT: the client sees \"connection refused\"), or drops them "
                  "under internalTrafficPolicy: Local when no endpoint is on this node")
        self.note("filter", "KUBE-EXTERNAL-SERVICES", "[hop: node-port, external-ip, load-balancer] refuses or "
                  "drops packets for node ports, external IPs and load-balancer IPs whose Service "
                  "has no endpoint (or, with externalTrafficPolicy: Local, none on this node)")
        self.note("filter", "KUBE-FIREWALL", "[no hop] drops packets from elsewhere aimed at "
                  "127.0.0.0/8, which localhost node ports would otherwise expose")
        self.note("filter", "KUBE-FORWARD", "[no hop] lets Service traffic being forwarded to a pod "
                  f"through (mark {mark}, then the rest of its connection); drops INVALID packets")
        self.note("filter", "KUBE-PROXY-FIREWALL", "[hop: load-balancer] drops packets for a "
                  "load-balancer IP from sources outside its loadBalancerSourceRanges")
        self.note("nat", "KUBE-NODEPORTS", "[hop: node-port] a packet for one of this node's "
                  "addresses: matches the node port and goes to that Service's KUBE-EXT chain")
        self.note("nat", "KUBE-SERVICES", "[hop: service, external-ip, load-balancer] first stop of every "
                  "packet: matches its destination IP:port (cluster IPs, external IPs, load-balancer "
                  "IPs); the last rule sends packets for this node's own addresses to KUBE-NODEPORTS")
        self.note("nat", "KUBE-MARK-MASQ", f"[no hop] marks a packet ({mark}) so that it leaves "
                  "with this node's address as its source")
        self.note("nat", "KUBE-POSTROUTING", "[no hop] masquerades marked packets on the way out: "
                  "the pod sees the node's address, not the client's")

    def service_notes(self, p, v: dict) -> None:
        name = p.name
        at = f"{p.cluster_ip}:{p.port.port}"
        if v["uses_cluster_chain"]:
            k = len(v["cluster_eps"])
            if k == 1:
                pick = "sends every new connection to its one endpoint"
            else:
                pick = (f"picks one of {k} endpoints for each new connection: rule i of {k} matches "
                        f"with probability 1/({k + 1}-i), so each endpoint gets 1/{k}")
            self.note("nat", v["svc_chain"], f"[hop: service] {name} ({at}): {pick}"
                      + (f"; with sessionAffinity: ClientIP a client returns to its endpoint for "
                         f"{p.affinity} s" if p.affinity else ""))
        if v["uses_local_chain"]:
            k = len(v["local_eps"])
            why = " and ".join(x for x in ("externalTrafficPolicy: Local" if p.etp_local else "",
                                           "internalTrafficPolicy: Local" if p.itp_local else "") if x)
            self.note("nat", v["svl_chain"], f"[hop: service] {name}: picks one of the {k} endpoint"
                      f"{'s' if k != 1 else ''} on this node ({why}), keeping the client's address")
        if v["uses_ext"]:
            ways, hops = [], []
            if p.node_port:
                ways.append(f"node port {p.node_port}")
                hops.append("node-port")
            if p.lb_ips:
                ways.append("load balancer " + ", ".join(p.lb_ips))
                hops.append("load-balancer")
            if p.external_ips:
                ways.append("external IP " + ", ".join(p.external_ips))
                hops.append("external-ip")
            if p.etp_local:
                what = ("pods and this node's own traffic go to KUBE-SVC (all endpoints); traffic "
                        "from outside goes to " + ("KUBE-SVL, this node's endpoints only, with its "
                                                   "source address kept" if v["has_external"] else
                                                   "nowhere: no endpoint on this node, so "
                                                   "KUBE-EXTERNAL-SERVICES drops it"))
            else:
                what = "masquerades, then sends it to KUBE-SVC (any endpoint, on any node)"
            self.note("nat", v["ext_chain"], f"[hop: {', '.join(hops)}] {name} by "
                      f"{', '.join(ways)}: {what}")
        if v["uses_fw"]:
            ranges = ", ".join(str(r) for r in p.source_ranges)
            self.note("nat", v["fw_chain"], f"[hop: load-balancer] {name}: only sources in "
                      f"loadBalancerSourceRanges ({ranges}) continue to KUBE-EXT")

    def sep_note(self, p, e: Endpoint) -> str:
        if not self.explain:
            return ""
        who = ", ".join(x for x in (f"pod {e.pod}" if e.pod else "",
                                   f"on {e.node}" if e.node else "",
                                   "terminating but still serving" if e.terminating else "") if x)
        return (f"[hop: pod] {p.name}: DNAT to {endpoint_string(e)}" + (f" ({who})" if who else "")
                + "; a pod reaching itself through the Service is masqueraded (hairpin)")


# ---------------------------------------------------------------------------------------
# IPVS: what `ipvsadm -Ln` lists
# ---------------------------------------------------------------------------------------

def _ipvs(cluster: Cluster, node, ports: list, explain: bool) -> str:
    """Virtual servers kube-proxy's IPVS mode creates on this node, as ipvsadm -Ln prints them.

    Cluster IPs, external IPs and load-balancer IPs get one virtual server each; node ports
    one per node address. Destinations follow the traffic policies (Local: this node's
    endpoints only), each with weight 1, scheduler from ipvs.scheduler (default rr) and
    "persistent <seconds>" for sessionAffinity: ClientIP.
    """
    scheduler = getattr(cluster.proxy, "ipvs_scheduler", None) or "rr"
    entries = []   # (proto, ip, port, flags, destinations, what)
    for p in ports:
        proto = p.proto.upper()
        uses_local = p.itp_local or (p.etp_local and p.externally_accessible)
        internal = list(p.view.local) if p.itp_local else list(p.view.cluster)
        external = list(p.view.local) if (p.etp_local and uses_local) else list(p.view.cluster)
        flags = f" persistent {p.affinity}" if p.affinity else ""
        entries.append((proto, p.cluster_ip, p.port.port, flags, internal, f"cluster IP of {p.name}"))
        for ip in p.external_ips:
            entries.append((proto, ip, p.port.port, flags, external, f"external IP of {p.name}"))
        for ip in p.lb_ips:
            entries.append((proto, ip, p.port.port, flags, external, f"load-balancer IP of {p.name}"))
        if p.node_port:
            entries.append((proto, node.address, p.node_port, flags, external, f"node port of {p.name}"))
    # The IPv4 proxier k8slab models binds only IPv4 addresses and sends only to IPv4 endpoints
    # (the IPv6 one, in a dual-stack cluster, handles the rest): an IPv6 node address gets no
    # node-port virtual server here, as in kube-proxy.
    entries = [(proto, ipv4(ip), port, flags, [e for e in dests if ipv4(e.address)], what)
               for proto, ip, port, flags, dests, what in entries if ipv4(ip)]
    entries.sort(key=lambda x: (x[0], ipaddress.IPv4Address(x[1]), x[2]))
    out = ["IP Virtual Server version 1.2.1 (size=4096)",
           "Prot LocalAddress:Port Scheduler Flags",
           "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn"]
    if explain:
        out.insert(0, f"# kube-proxy ({KUBE_PROXY_VERSION}, ipvs mode) on node {node.name} "
                      f"({node.address}); cluster IPs sit on the dummy interface kube-ipvs0")
    for proto, ip, port, flags, dests, what in entries:
        if explain:
            hop = ("node-port" if what.startswith("node") else
                   "load-balancer" if what.startswith("load") else
                   "external-ip" if what.startswith("external") else "service")
            out.append(f"# [hop: {hop}] {what} -> [hop: pod] {len(dests)} endpoint"
                       f"{'s' if len(dests) != 1 else ''}, taken in turn ({scheduler})")
        out.append(f"{proto}  {ip}:{port} {scheduler}{flags}")
        for e in sorted(dests, key=lambda e: (ipaddress.IPv4Address(ipv4(e.address)), e.port)):
            out.append(f"  -> {endpoint_string(e):<28} {'Masq':<7} {1:<6} {0:<10} {0:<10}")
    return "\n".join(out) + "\n"
