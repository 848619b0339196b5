"""Clients, the hop chain a request takes to a Service, whether it arrives, and why not."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from . import policy as netpol
from . import proxy
from .errors import K8slabError
from .kube_names import ipv4
from .load_balancer import target_pool, why_left_out
from .model import Cluster, Endpoint, Node, Pod, Service, ServicePort
from .node_ports import node_port_addresses, opens_node_ports

__all__ = ["Route", "RouteEndpoint", "Client", "route", "parse_client", "CLIENT_KINDS",
           "ENTRIES", "CODES", "HOP_KINDS", "reachability_table", "hop_detail",
           "CLIENT_ADDRESSES", "client_address", "load_balancer_nodes"]

CLIENT_KINDS = ("pod", "node", "laptop", "other-cluster", "internet")
PROTOCOLS = ("TCP", "UDP", "SCTP")
ENTRIES = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalIP")
#: The hop kinds a route can take, in the order a packet meets them (DESIGN.md's route JSON).
HOP_KINDS = ("client", "load-balancer", "external-ip", "node-port", "service", "pod", "dns")
CODES = ("ok", "not-exposed", "no-endpoints", "no-local-endpoints", "nxdomain", "lb-pending",
         "no-such-port", "source-blocked", "node-port-closed", "policy-denied")

#: Which ways in each kind of client has: the table the whole suite teaches.
CAN_USE = {
    "pod": {"ClusterIP", "NodePort", "LoadBalancer", "ExternalIP", "DNS"},
    "node": {"ClusterIP", "NodePort", "LoadBalancer", "ExternalIP", "DNS"},
    "laptop": {"NodePort", "LoadBalancer", "ExternalIP"},
    "other-cluster": {"NodePort", "LoadBalancer", "ExternalIP"},
    "internet": {"LoadBalancer"},
}
WHO = {
    "laptop": "a laptop outside the cluster",
    "other-cluster": "a pod in another cluster",
    "internet": "a client on the internet",
}
#: Source addresses of the clients outside the cluster (documentation ranges, RFC 5737):
#: a laptop on the nodes' network, another cluster's node (its own nodes masquerade its
#: pods' traffic on the way out), and a host on the internet.
CLIENT_ADDRESSES = {"laptop": "198.51.100.10", "other-cluster": "198.51.100.20",
                    "internet": "198.51.100.30"}


@dataclass(frozen=True)
class Client:
    """Who sends the request, and from which node when it runs inside the cluster."""

    text: str
    kind: str
    pod: Pod | None = None
    node: Node | None = None

    @property
    def inside(self) -> bool:
        return self.kind in ("pod", "node")


@dataclass(frozen=True)
class RouteEndpoint:
    """A pod that can answer this client, and its chance of getting a new connection.

    `seen` is which source address the pod sees on such a connection: "client" (the
    client's own), "node" (the address of the node whose kube-proxy masqueraded it) or
    "load-balancer" (a proxying load balancer's own, ipMode: Proxy).
    """

    endpoint: Endpoint
    probability: float | None
    seen: frozenset = frozenset({"client"})
    blocked_by: tuple[str, ...] = ()              # NetworkPolicies that drop every connection to it

    @property
    def source_seen(self) -> str:
        """"client", "node", "client or node" or "load-balancer" (ipMode: Proxy): whose address
        this pod sees as the source."""
        return " or ".join(k for k in ("client", "node", "load-balancer") if k in self.seen) or "client"

    def to_dict(self) -> dict:
        e = self.endpoint
        # `source_seen` is per pod: a pod reaching itself through its Service is masqueraded
        # (hairpin) while the others see its own address, which one `source_ip_preserved`
        # for the whole route cannot say (tests/kernel measures it in a real kernel).
        return {"pod": e.pod, "node": e.node, "address": e.ip_port,
                "probability": None if self.probability is None else round(self.probability, 10),
                "source_seen": self.source_seen,
                **({"blocked_by": list(self.blocked_by)} if self.blocked_by else {})}


@dataclass(frozen=True)
class Route:
    """The answer to "how does this client reach this Service?", reachable or not."""

    cluster: Cluster = field(repr=False)
    client: str
    client_kind: str
    client_pod: Pod | None
    client_node: Node | None
    service: Service
    port: ServicePort | None
    reachable: bool
    code: str
    entry: str | None
    reason: str
    hops: tuple[dict, ...]
    endpoints: tuple[RouteEndpoint, ...] = ()
    excluded: tuple[tuple[Endpoint, str], ...] = ()
    dns: dict | None = None
    source_ip_preserved: bool = False
    stopped_at: int | None = None

    def to_dict(self) -> dict:
        """The route as DESIGN.md's JSON (what `k8slab route --json` prints)."""
        return {
            "client": self.client,
            "service": self.service.key,
            "port": self.port.port if self.port else None,
            "reachable": self.reachable,
            "code": self.code,
            "entry": self.entry,
            "reason": self.reason,
            "hops": [dict(h) for h in self.hops],
            "endpoints": [e.to_dict() for e in self.endpoints],
            "dns": self.dns,
            "source_ip_preserved": self.source_ip_preserved,
        }

    def __repr__(self) -> str:
        state = "reachable" if self.reachable else f"not reachable ({self.code})"
        return f"<Route {self.client} -> {self.service.key} via {self.entry}: {state}>"

    def text(self) -> str:
        """The hop chain, the reason and the endpoint table, as the CLI prints them."""
        port = f":{self.port.port}" if self.port else ""
        state = "reachable" if self.reachable else f"NOT reachable ({self.code})"
        via = f"via {self.entry}" if self.entry else \
            "(name not found)" if self.code == "nxdomain" else \
            "(name lookup times out)" if self.code == "policy-denied" else "(no way in)"
        lines = [f"{self.client} -> {self.service.key}{port} {via}: {state}", ""]
        tried = (self.dns or {}).get("tried") or []
        if tried:                     # the name the client typed: each try, before any packet
            lines.append(f"  looks up {self.dns['query']}:")
            width = max(len(t["name"]) for t in tried)
            for t in tried:
                got = ", ".join(r["value"] for r in self.dns["records"]) if t is tried[-1] and \
                    self.dns["records"] else ""
                lines.append(f"    {t['name']:<{width}}  {t['rcode']}" + (f" -> {got}" if got else ""))
            lines.append("")
        for i, h in enumerate(self.hops):
            arrow = "   " if i == 0 else "-> "
            stop = "   <- stops here" if self.stopped_at == i else ""
            lines.append(f"  {arrow}{h['kind']:<14}{hop_detail(h)}{stop}")
        lines += ["", "Why: " + self.reason]
        if self.endpoints:
            lines += ["", "Pods that can answer:"]
            rows = [("POD", "NODE", "ADDRESS", "CHANCE")]
            for e in self.endpoints:
                p = "client picks (DNS)" if e.probability is None else f"{e.probability:.1%}"
                if e.blocked_by:
                    p = "blocked by " + ", ".join(e.blocked_by)
                rows.append((e.endpoint.pod or "-", e.endpoint.node or "-", e.endpoint.ip_port, p))
            widths = [max(len(r[i]) for r in rows) for i in range(4)]
            lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        if self.excluded:
            lines += ["", "Pods that cannot answer this client:"]
            lines += [f"  {e.pod or e.address}: {why}" for e, why in self.excluded]
        return "\n".join(lines)


def hop_detail(h: dict) -> str:
    """One hop in words, as the hop chain prints it (`192.0.2.11:30080 on node-a`, ...)."""
    kind = h["kind"]
    if kind == "client":
        return h["name"]
    if kind == "load-balancer":
        to = ", ".join(h.get("nodes") or [])
        via = f" (caught by kube-proxy on {h['node']})" if h.get("node") else (f" -> nodes {to}" if to else "")
        return f"{h['address']}{via}"
    if kind == "node-port":
        if h.get("node"):
            return f"{h['node']} {h['address']}"
        return f"port {h['port']} on {', '.join(h.get('nodes') or [])}"
    if kind == "external-ip":
        return f"{h['address']} (routed to {h['node']})"
    if kind == "service":
        where = h.get("node") or ", ".join(h.get("nodes") or [])
        dialed = f"{h['address']}, " if h.get("address") else ""
        return f"{h['name']} ({dialed}{h['chain']} on {where})"
    if kind == "pod":
        return f"one of {h['candidates']}" if h["candidates"] != 1 else "the only one"
    if kind == "dns":
        return f"{h['name']} ({h['records']} record{'s' if h['records'] != 1 else ''})"
    return ""


# ---------------------------------------------------------------------------------------
# Clients
# ---------------------------------------------------------------------------------------

def parse_client(cluster: Cluster, text: str, namespace: str = "default") -> Client:
    """`pod/NAME`, `pod/NAMESPACE/NAME`, `node/NAME`, `laptop`, `other-cluster` or `internet`."""
    if not isinstance(text, str) or not text:
        raise K8slabError("client: give one of pod/NAME, pod/NAMESPACE/NAME, node/NAME, "
                          "laptop, other-cluster, internet")
    if text in ("laptop", "other-cluster", "internet"):
        return Client(text, text)
    kind, _, rest = text.partition("/")
    if kind == "node" and rest:
        node = cluster.node(rest)
        if node is None:
            raise K8slabError(f"client {text}: no node {rest!r}{_did_you_mean(rest, [n.name for n in cluster.nodes])}")
        return Client(text, "node", node=node)
    if kind == "pod" and rest:
        ns, _, name = rest.rpartition("/")
        if "/" in rest and (not ns or not name or "/" in ns):
            raise K8slabError(f"client {text}: give pod/NAME or pod/NAMESPACE/NAME (one slash between "
                              "the namespace and the name, neither empty)")
        pod = cluster.pod(name, ns or namespace)
        if pod is None and not ns:
            anywhere = [p for p in cluster.pods if p.name == name]
            pod = anywhere[0] if len(anywhere) == 1 else None
        if pod is None:
            names = [p.name for p in cluster.pods if p.namespace == (ns or namespace)]
            raise K8slabError(f"client {text}: no pod {name!r} in namespace {ns or namespace!r}"
                              f"{_did_you_mean(name, names)}")
        if pod.node is None or pod.ip is None:
            raise K8slabError(f"client {text}: the pod is Pending (no node, no IP), so it cannot "
                              "send anything yet")
        node = cluster.node(pod.node)
        if node is None:
            # spec.nodeName names a node the input does not describe: no kube-proxy to follow.
            raise K8slabError(f"client {text}: the pod runs on node {pod.node!r}, which the input "
                              "does not list (add that Node, or leave spec.nodeName out)")
        return Client(text, "pod", pod=pod, node=node)
    # A mistyped kind (`lapto`, `pods/web-1`) gets the nearest real client, as names do.
    known = ["laptop", "other-cluster", "internet", *(f"node/{n.name}" for n in cluster.nodes),
             *(f"pod/{p.name}" for p in cluster.pods if p.namespace == namespace)]
    import difflib                   # only for a typo: not on every route's path
    close = difflib.get_close_matches(text, known, n=3)
    hint = "; did you mean " + " or ".join(close) + "?" if close else ""
    raise K8slabError(f"client {text!r}: give one of pod/NAME, pod/NAMESPACE/NAME, node/NAME, "
                      f"laptop, other-cluster, internet{hint}")


def client_address(client: Client) -> str:
    """The source address of the client's packets: a pod's IP; a node's address for a
    process on it or a hostNetwork pod; for outside clients, CLIENT_ADDRESSES."""
    if client.kind == "pod" and not client.pod.host_network:
        return client.pod.ip
    if client.inside:
        return client.node.address
    return CLIENT_ADDRESSES[client.kind]


def load_balancer_nodes(cluster: Cluster, service: Service) -> list[Node]:
    """The nodes a cloud load balancer sends new connections to, evenly.

    Its target pool is the cloud-provider service controller's stable node set (not being
    deleted, not labelled exclude-from-external-load-balancers=true, not tainted
    ToBeDeletedByClusterAutoscaler; a NotReady node stays: load_balancer.py); of those, the
    ones passing its health check. Under externalTrafficPolicy: Local
    the check is kube-proxy's health-check node port, which answers 200 only on a node
    with a ready (not terminating) endpoint of the Service, any of its ports
    (pkg/proxy/healthcheck: the per-Service count of local ready endpoints,
    EndpointsMap.LocalReadyEndpoints); under Cluster every working kube-proxy passes. When
    no node passes, cloud load balancers fail open and use them all (AWS Network Load
    Balancer, Google Cloud's passthrough load balancers): each node's rules then decide.
    """
    pool = target_pool(cluster.nodes)
    if service.external_traffic_policy != "Local":
        return pool
    with_ready = set()
    for sp in service.ports:
        with_ready.update(e.node for e in cluster.endpoints(service, sp) if e.ready and e.node)
    healthy = [n for n in pool if n.name in with_ready]
    return healthy or pool


def _did_you_mean(word: str, choices) -> str:
    import difflib
    close = difflib.get_close_matches(word, list(choices), n=3)
    if close:
        return "; did you mean " + " or ".join(close) + "?"
    shown = sorted(choices)[:8]
    return f"; there are: {', '.join(shown)}{' ...' if len(choices) > 8 else ''}" if shown else ""


# ---------------------------------------------------------------------------------------
# Routes
# ---------------------------------------------------------------------------------------

def route(cluster: Cluster, client: str, service: str, namespace: str = "default", port=None,
          entry: str | None = None, via_node: str | None = None, protocol: str | None = None,
          name: str | None = None) -> Route:
    """How `client` reaches Service `namespace/service` on `port`, entering by `entry`.

    `port` is the Service port's number or name (default: the first); `entry` forces a way in
    (ClusterIP, NodePort, LoadBalancer, ExternalIP) instead of the one such a client would use;
    `via_node` is the node whose IP an outside client dials (default: the first by name);
    `protocol` is the client's (TCP, UDP, SCTP; default: the Service port's own); `name` is
    the name a pod or node client types for the Service (`web`, `web.shop`, the full name):
    its lookup, every search-list try, comes first, and a name that does not resolve from
    that client stops the route there (`nxdomain`).
    """
    if protocol is not None:
        if not isinstance(protocol, str) or protocol.upper() not in PROTOCOLS:
            raise K8slabError(f"protocol {protocol!r}: give one of {', '.join(PROTOCOLS)}")
        protocol = protocol.upper()
    svc = cluster.service(service, namespace)
    if svc is None:
        names = [s.name for s in cluster.services if s.namespace == namespace]
        raise K8slabError(f"no Service {service!r} in namespace {namespace!r}{_did_you_mean(service, names)}")
    who = parse_client(cluster, client, namespace)
    if entry is not None and entry not in ENTRIES:
        raise K8slabError(f"entry {entry!r}: give one of {', '.join(ENTRIES)}")
    target = None
    if via_node is not None:
        target = cluster.node(via_node)
        if target is None:
            raise K8slabError(f"via node {via_node!r}: no such node"
                              f"{_did_you_mean(via_node, [n.name for n in cluster.nodes])}")
    router = _Router(cluster, who, svc, target)
    if name is not None:
        if not who.inside:
            raise K8slabError(f"name {name!r}: only a pod or a node asks the cluster DNS; {who.text} "
                              "dials an address (leave the name out to see how it gets in)")
        if entry not in (None, "ClusterIP"):
            raise K8slabError(f"name {name!r} with entry {entry}: a Service's name resolves to its "
                              "cluster IP (or, headless, to its pods), never to a node port or a "
                              "load balancer; leave one of them out")
        numeric = ipv4(name.strip()) if isinstance(name, str) and name.strip().count(".") == 3 else None
        if numeric is not None and numeric != name.strip():
            raise K8slabError(f"name {name!r}: an address with leading zeros, which a pod's resolver "
                              f"(glibc inet_aton) reads as octal; write {numeric} if that is the one meant")
        if numeric is not None:
            # getaddrinfo takes a numeric host as the address itself: no DNS query is sent.
            if numeric == ipv4(svc.cluster_ip or ""):
                return router.run(port, "ClusterIP" if entry is None else entry, protocol)
            raise K8slabError(
                f"name {name!r}: an address, not a name (the resolver sends no query for it); "
                f"{svc.key}'s cluster IP is {svc.cluster_ip or 'none'}: dial that, or leave --name out")
        from . import dns as coredns
        found = coredns.lookup(cluster, client, name, "A", namespace)
        router.name_dns = found.to_route_dict()
        if found.rcode == "NOERROR" and found.answer and not _names_service(found, svc):
            owner = found.answer[0].name.rstrip(".")
            raise K8slabError(
                f"name {name!r}: from {who.text} it resolves to {owner} "
                f"({', '.join(found.addresses) or found.answer[0].value}), not to Service "
                f"{svc.key} ({svc.dns_name}); route to that Service, or type {svc.name}.{svc.namespace}")
        if found.rcode == "TIMEOUT":
            return router.dns_denied(svc.port_for(port))
        if not (found.rcode == "NOERROR" and found.answer):
            return router.name_not_found(found, svc.port_for(port))
    return router.run(port, entry, protocol)


def _left_out_of_pool(nodes, pool, local: bool) -> str:
    """What the route's reason says about nodes the load balancer's pool leaves out, and about
    NotReady nodes it keeps (stableNodeSetPredicates, KEP-3458: load_balancer.py)."""
    text = ""
    out = [(n, why_left_out(n)) for n in nodes if n not in pool]
    if out:
        text += " " + "; ".join(f"{n.name} is not among its targets: {why}" for n, why in out[:3])
        text += f" (and {len(out) - 3} more)." if len(out) > 3 else "."
    unready = [n for n in pool if not n.ready]
    if unready and not local:
        text += (f" {_names(unready[:3])} {'is' if len(unready) == 1 else 'are'} NotReady yet stay"
                 f"{'s' if len(unready) == 1 else ''} a target: the cloud controller no longer drops "
                 "NotReady nodes (KEP-3458), and kube-proxy's /healthz there still answers.")
    return text


def _names_service(found, svc: Service) -> bool:
    """Whether a lookup's answer is this Service's own name: its A record (the cluster IP),
    its headless A records or its ExternalName CNAME, all owned by <svc>.<ns>.svc.<domain>."""
    # DNS names compare without case (RFC 4343; CoreDNS matches with strings.EqualFold).
    return any(r.name.rstrip(".").lower() == svc.dns_name.lower() for r in found.answer)


class _Router:
    def __init__(self, cluster: Cluster, who: Client, svc: Service, via: Node | None):
        self.cluster, self.who, self.svc = cluster, who, svc
        self.via = via or (cluster.nodes[0] if cluster.nodes else None)
        self.hops: list[dict] = [{"kind": "client", "name": who.text}]
        self.by_name = False          # a pod or node that dials the Service by its name
        self.name_dns: dict | None = None    # the lookup of the name the client typed, if given
        self.source = client_address(who)

    def answer(self, code: str, entry: str | None, reason: str, endpoints=(), excluded=(),
               dns=None, source: bool | None = False, port: ServicePort | None = None) -> Route:
        endpoints = tuple(endpoints)
        if code == "ok" and endpoints and self.cluster.policies and port is not None:
            code, reason, endpoints = self.enforce(reason, endpoints, port, entry)
        reachable = code == "ok"
        reason = reason[:1].upper() + reason[1:]
        if source is None:          # from the endpoints: every one keeps the client's address
            source = bool(endpoints) and all(e.seen == {"client"} for e in endpoints)
        if self.name_dns is not None:
            dns = self.name_dns             # what the client typed, each try, and the answer
        elif dns is None and self.by_name and entry == "ClusterIP":
            from . import dns as coredns   # loaded only for by-name routes: route stays fast
            dns = coredns.service_records(self.cluster, self.svc)    # the name's A answer
        return Route(
            cluster=self.cluster, client=self.who.text, client_kind=self.who.kind,
            client_pod=self.who.pod, client_node=self.who.node, service=self.svc, port=port,
            reachable=reachable, code=code, entry=entry, reason=reason, hops=tuple(self.hops),
            endpoints=tuple(endpoints), excluded=tuple(excluded), dns=dns,
            source_ip_preserved=bool(source) and reachable,
            stopped_at=None if reachable else len(self.hops) - 1)

    # -- NetworkPolicy: judged where the packet meets a pod (logic in k8slab.policy) ---------
    def dns_blocked(self):
        """The policy decision that drops this pod client's DNS queries, or None."""
        pod = self.who.pod
        if self.who.kind != "pod" or pod is None or pod.host_network or not self.cluster.policies:
            return None
        if pod.dns_policy not in ("ClusterFirst", "ClusterFirstWithHostNet"):
            return None                 # its resolver is not the cluster DNS
        return netpol.dns_decision(self.cluster, pod)

    def dns_denied(self, port: ServicePort | None) -> Route:
        """A by-name dial whose DNS queries a policy drops: it stops at the lookup, a timeout."""
        d = self.dns_blocked()
        name = self.svc.name
        self.name_dns = self.name_dns or {"name": self.svc.dns_name, "query": name, "rcode": "TIMEOUT",
                                          "tried": [], "records": []}
        reason = (f"The lookup of {name} from {self.who.text} times out: its DNS queries (53/UDP to kube-dns "
                  f"in kube-system) are dropped: {d.detail if d else 'a NetworkPolicy drops them.'} No answer comes back "
                  f"(not even NXDOMAIN), so no packet ever goes to Service {self.svc.key}. "
                  "Allow egress to kube-dns on 53/UDP and 53/TCP.")
        route = self.answer("policy-denied", None, reason, port=port)
        return route

    def enforce(self, reason: str, endpoints, sp: ServicePort, entry: str | None):
        """Each endpoint judged by the sender's egress and the pod's ingress policies, on the
        addresses that pod sees. Blocked ones stay listed with probability 0 and `blocked_by`."""
        cluster, who, svc = self.cluster, self.who, self.svc
        src = who.pod if who.kind == "pod" else None
        service_hop = next((h for h in self.hops if h["kind"] == "service"), {})
        handlers = list(service_hop.get("nodes") or ([service_hop["node"]] if service_hop.get("node") else []))
        out, blocked, partial = [], {}, []
        for re_ in endpoints:
            e = re_.endpoint
            pod = cluster.pod(e.pod, svc.namespace) if e.pod else None
            if pod is not None and pod.ip != e.address and not pod.host_network:
                pod = None
            views = []
            for kind in sorted(re_.seen):
                if kind == "client":
                    views.append([dict(seen_ip=self.source,
                                       seen_node=who.node.name if who.kind == "node" or (
                                           src is not None and src.host_network) else None)])
                elif kind == "node":
                    views.append([dict(seen_node=n) for n in handlers] or [dict(seen_node=None)])
                else:   # a proxying load balancer's own address
                    views.append([dict(seen_ip=(svc.load_balancer_ingress or (None,))[0])])
            share, names, first = 0.0, [], None
            total = 0
            for group in views:
                for view in group:
                    total += 1
                    d = netpol.decide(cluster, src=src, dst=pod, port=e.port, protocol=sp.protocol,
                                      dst_ip=e.address, src_name=who.text, **view)
                    if d.allowed:
                        share += 1
                    else:
                        first = first or d
                        names = list(dict.fromkeys(names + list(d.blocked_by)))
            if first is None:
                out.append(re_)
                continue
            allowed = share / total if len(views) == 1 else (1.0 if share else 0.0)
            if allowed == 0:
                blocked[e.pod or e.ip_port] = first
                p = 0.0 if re_.probability is not None else None
                out.append(RouteEndpoint(e, p, re_.seen, tuple(names) or ("(policy)",)))
            else:
                partial.append((e.pod or e.ip_port, allowed, first))
                p = None if re_.probability is None else re_.probability * allowed
                out.append(RouteEndpoint(e, p, re_.seen))
        if not blocked and not partial:
            return "ok", reason, endpoints
        if len(blocked) == len(out):
            d = next(iter(blocked.values()))
            every = "every pod" if len(out) > 1 else "the only pod"
            why = (f"NetworkPolicy drops the connection to {every} behind Service {svc.name}: {d.detail} "
                   "The client sees a timeout.")
            return "policy-denied", why, tuple(out)
        lost = sum(r.probability or 0 for r in endpoints) - sum(r.probability or 0 for r in out)
        notes = [f"{name} is blocked ({d.failing.why})" for name, d in blocked.items()]
        if partial:
            names = [name for name, _, _ in partial]
            pols = sorted({p for _, _, d in partial for p in d.blocked_by})
            one = len(names) == 1
            notes.append(f"{_names_or(names, 'and')} {'gets' if one else 'each get'} only the connections "
                         f"{'its' if one else 'their'} own node forwards: the others arrive from other nodes' "
                         f"addresses (SNAT), which {_names_or(pols, 'and')} "
                         f"{'does' if len(pols) == 1 else 'do'} not admit")
        share = f" {lost:.0%} of new connections time out." if lost > 0 else ""
        return "ok", reason + " NetworkPolicy: " + "; ".join(notes) + "." + share, tuple(out)

    def name_not_found(self, found, port: ServicePort | None) -> Route:
        """The name the client typed does not resolve from it: the lookup is where it stops."""
        svc = self.svc
        tries = ", ".join(f"{t.name.rstrip('.')} ({t.rcode})" for t in found.tried)
        reason = (f"From {self.who.text}, the name {found.query} does not resolve: the resolver "
                  f"tries {tries}, and none of them is Service {svc.key}'s name, {svc.dns_name}. "
                  "Only those DNS queries leave the client: it never connects.")
        pod = self.who.pod
        resolver_ok = found.resolver.asks_cluster_dns      # not a node's own resolver
        if resolver_ok and pod is not None and pod.namespace != svc.namespace:
            reason += (f" The search list begins with the pod's own namespace "
                       f"({pod.namespace}.svc.cluster.local), so a short name finds Services "
                       f"there: type {svc.name}.{svc.namespace} or {svc.dns_name}.")
        elif resolver_ok:
            reason += f" Check the spelling: the Service is {svc.name} in namespace {svc.namespace}."
        if found.note:
            reason += " " + found.note
        return self.answer("nxdomain", None, reason, port=port)

    # -- the decision, step by step --------------------------------------------------------
    def run(self, port, entry, protocol=None) -> Route:
        svc = self.svc
        sp = svc.port_for(port)
        if port is not None and sp is None:
            listed = ", ".join(f"{p.port}" + (f" ({p.name})" if p.name else "") for p in svc.ports)
            return self.answer("no-such-port", None,
                               f"Service {svc.name} has no port {port}; its ports are {listed or 'none'}. "
                               "Name a port by its number or its name.")
        if protocol is not None and sp is not None and sp.protocol != protocol and svc.proxied:
            same = next((p for p in svc.ports if p.port == sp.port and p.protocol == protocol), None)
            if same is None:
                return self.protocol_mismatch(sp, protocol)
            sp = same
        if not svc.proxied:
            return self.dns_route(sp, entry)
        if sp is None:
            return self.answer("no-such-port", None,
                               f"Service {svc.name} lists no ports, so kube-proxy has nothing to forward.")
        ways = self.ways_in(sp)
        if entry is None:
            # A client inside left to its own way in uses the Service's name (DESIGN.md: the
            # route's `dns` is then the A answer); a forced entry dials an address.
            self.by_name = self.who.inside
            if self.by_name and self.cluster.policies and self.dns_blocked() is not None:
                return self.dns_denied(sp)
            entry = self.default_entry(ways)
            if entry is None:
                return self.not_exposed(sp, None)
        if entry not in CAN_USE[self.who.kind]:
            return self.not_exposed(sp, entry)
        if entry == "LoadBalancer" and svc.type == "LoadBalancer" and not svc.load_balancer_ingress:
            return self.lb_pending(sp)
        if entry not in ways:
            return self.not_exposed(sp, entry)
        if entry == "ClusterIP":
            return self.via_cluster_ip(sp)
        if entry == "NodePort":
            return self.via_node_port(sp)
        if entry == "LoadBalancer":
            return self.via_load_balancer(sp)
        return self.via_external_ip(sp)

    def ways_in(self, sp: ServicePort) -> list[str]:
        svc = self.svc
        ways = ["ClusterIP"]
        if sp.node_port:
            ways.append("NodePort")
        if svc.type == "LoadBalancer" and svc.load_balancer_ingress:
            ways.append("LoadBalancer")
        if svc.external_ips:
            ways.append("ExternalIP")
        return ways

    def default_entry(self, ways: list[str]) -> str | None:
        """The way a client of this kind would dial the Service."""
        kind = self.who.kind
        if kind in ("pod", "node"):
            return "ClusterIP"
        if "LoadBalancer" in ways:
            return "LoadBalancer"
        if kind == "internet":
            return "LoadBalancer" if self.svc.type == "LoadBalancer" else None
        for way in ("NodePort", "ExternalIP"):
            if way in ways:
                return way
        return None

    # -- failures that happen before any node sees the packet ---------------------------------
    def not_exposed(self, sp: ServicePort | None, entry: str | None) -> Route:
        svc, kind = self.svc, self.who.kind
        name = f"Service {svc.name} (type {svc.type})"
        if entry is None and kind in ("laptop", "other-cluster"):
            reason = (f"{name} has only a cluster IP, {svc.cluster_ip}, a virtual address that "
                      f"exists only in kube-proxy's rules on the cluster's nodes, so {WHO[kind]} "
                      "cannot reach it. Make it a NodePort or LoadBalancer Service, or forward a "
                      f"local port for testing with `kubectl port-forward service/{svc.name} 8080:"
                      f"{sp.port if sp else 80}`.")
        elif entry is None and kind == "internet":
            reason = (f"{name} has no load balancer, and {WHO[kind]} can reach only a load "
                      "balancer's public address: neither the cluster IP nor node IPs are open to it. "
                      "Make it a LoadBalancer Service (or put an Ingress in front of it).")
        elif entry == "ClusterIP":
            reason = (f"A cluster IP ({svc.cluster_ip}) is virtual: only kube-proxy's rules on the "
                      f"cluster's own nodes know it, so {WHO.get(kind, kind)} cannot use it. "
                      "From outside, use a NodePort or LoadBalancer Service, or "
                      f"`kubectl port-forward service/{svc.name}`.")
        elif entry in ("NodePort", "ExternalIP") and kind == "internet":
            reason = (f"{WHO['internet'].capitalize()} can reach only a load balancer's public "
                      "address; node IPs and external IPs sit on a network it cannot route to. "
                      "Make the Service a LoadBalancer.")
        elif entry == "NodePort":
            reason = (f"{name} has no node port: only NodePort and LoadBalancer Services open a port "
                      "on every node" + (" (and this LoadBalancer sets allocateLoadBalancerNodePorts: "
                                         "false)" if svc.type == "LoadBalancer" else "") + ".")
        elif entry == "LoadBalancer":
            reason = (f"{name} has no load balancer: only a Service of type LoadBalancer asks the "
                      "cloud provider for one.")
        else:
            reason = f"{name} lists no spec.externalIPs, so no external IP leads to it."
        return self.answer("not-exposed", None, reason, port=sp)

    def protocol_mismatch(self, sp: ServicePort, protocol: str) -> Route:
        """A client speaking another protocol than the port: kube-proxy's rules match `-p`."""
        svc = self.svc
        reason = (f"Service {svc.name} port {sp.port} is {sp.protocol} only, and the client sends "
                  f"{protocol}: every kube-proxy rule for it matches `-p {sp.protocol.lower()}`, so "
                  f"the {protocol} packet matches none. To a cluster IP it is lost (a timeout); to a node "
                  "port the node itself answers that nothing listens (connection refused). Add a "
                  f"{protocol} port to the Service, or connect over {sp.protocol}.")
        return self.answer("no-such-port", None, reason, port=sp)

    def lb_pending(self, sp: ServicePort) -> Route:
        return self.answer("lb-pending", None, (
            f"Service {self.svc.name} is a LoadBalancer whose EXTERNAL-IP is still <pending>: no "
            "cloud provider (or load-balancer controller) has given it an address. On minikube run "
            "`minikube tunnel`; on bare metal or kind, install MetalLB; meanwhile its node port works "
            "for clients that can reach node IPs."), port=sp)

    # -- through kube-proxy ------------------------------------------------------------------
    def endpoints(self, sp: ServicePort) -> tuple[Endpoint, ...]:
        return self.cluster.endpoints(self.svc, sp)

    def view(self, sp: ServicePort, node: Node) -> proxy.NodeView:
        return proxy.categorize(self.svc, self.endpoints(sp), node.name, node.zone)

    def service_hop(self, sp: ServicePort, node: Node | None, local: bool,
                    dialed: str | None = None, nodes=None) -> None:
        """The Service's kube-proxy rules on the node that handles the packet: its KUBE-SVC
        chain, or KUBE-SVL where a Local traffic policy applies (proxier.go's
        clusterPolicyChain / localPolicyChain); service-... / local-... in nftables mode.
        `address` only when the cluster IP was dialed."""
        chain = proxy.policy_chain(self.svc, sp, local, getattr(self.cluster.proxy, "mode", "iptables"))
        hop = {"kind": "service", "name": self.svc.name}
        if dialed:
            hop["address"] = dialed
        if node is not None:
            hop["node"] = node.name
        else:
            hop["nodes"] = list(nodes or [])
        hop["chain"] = chain
        self.hops.append(hop)

    def decide(self, sp: ServicePort, node: Node) -> proxy.ServicePortState:
        """What kube-proxy on `node` decided for this Service port (the rules say the same)."""
        return proxy.decide(self.cluster, self.svc, sp, node, any_family=True)

    def sends_from(self, node: Node) -> bool:
        """Whether the client is a process on `node` itself (nat OUTPUT, not PREROUTING)."""
        return self.who.inside and self.source == node.address

    def seen(self, fate: proxy.Fate, endpoint: Endpoint, node: Node) -> frozenset:
        """The source address `endpoint` sees when `node`'s rules DNAT this client's packet.

        Marked packets are masqueraded in POSTROUTING on the way out. A packet that arrived
        from elsewhere and was DNATed to an address of `node` itself (a hostNetwork
        endpoint there) is delivered locally through INPUT and never reaches POSTROUTING,
        so it keeps the client's address (netfilter's hooks; kube-proxy masquerades only in
        KUBE-POSTROUTING).
        """
        if not fate.masqueraded(endpoint, self.source):
            return frozenset({"client"})
        if endpoint.address == node.address and not self.sends_from(node):
            return frozenset({"client"})
        return frozenset({"node"})

    def via_cluster_ip(self, sp: ServicePort) -> Route:
        svc, node = self.svc, self.who.node
        local = svc.internal_traffic_policy == "Local"
        self.service_hop(sp, node, local, dialed=f"{svc.cluster_ip}:{sp.port}")
        d = self.decide(sp, node)
        fate = d.fate(self.source, "cluster-ip")
        view = d.view
        if fate.outcome == "reject":
            return self.no_endpoints(sp, "ClusterIP")
        if fate.outcome == "drop":
            return self.no_endpoints(sp, "ClusterIP", local_node=node, policy="internalTrafficPolicy")
        chosen = fate.endpoints
        self.hops.append({"kind": "pod", "candidates": len(chosen)})
        who = f"the client's node, {node.name}"
        reason = (f"{_who_inside(self.who)} dials the cluster IP {svc.cluster_ip}:{sp.port}; "
                  f"kube-proxy's rules on {node.name} rewrite it to one pod's address")
        if local:
            reason += (f", chosen only among pods on {who} (internalTrafficPolicy: Local)")
        elif view.topology_node:
            reason += (f", keeping to pods on {view.topology_node} itself (trafficDistribution: "
                       f"{svc.traffic_distribution or 'PreferSameNode'}, through the EndpointSlices' "
                       "node hints)")
        elif view.topology_zone:
            why = (f"trafficDistribution: {svc.traffic_distribution}" if svc.traffic_distribution
                   else "the EndpointSlices' zone hints")
            reason += f", preferring pods in zone {view.topology_zone} ({why})"
        reason += self.terminating_note(view.local_terminating if local else view.cluster_terminating)
        seen = {e: self.seen(fate, e, node) for e in chosen}
        reason += "." + self.source_note(fate, seen, node)
        shares = proxy.shares(chosen)
        return self.answer("ok", "ClusterIP", reason, self.ranked(shares, seen),
                           self.left_out(sp, shares, node, local=local, policy="internalTrafficPolicy"),
                           source=None, port=sp)

    def source_note(self, fate: proxy.Fate, seen: dict, node: Node) -> str:
        """What the pods see as the source, for the reason."""
        hairpin = [e for e in seen if e.address == self.source]
        if fate.masquerade:
            why = ("the node masquerades traffic that does not come from a pod" if not self.who.inside
                   or self.who.kind == "node" or (self.who.pod and self.who.pod.host_network)
                   else "kube-proxy masquerades it")
            text = f" The pod sees the node's address, not the client's ({why})."
            if any(s == {"client"} for s in seen.values()):
                text += (" A pod on the receiving node's own address (hostNetwork) keeps the client's "
                         "address: the packet is delivered locally and never reaches the masquerade rule.")
            return text
        if hairpin:
            return (f" If kube-proxy picks the client itself, {hairpin[0].pod or hairpin[0].address}, "
                    "that connection is masqueraded (hairpin: KUBE-SEP's `-s <pod IP> -j KUBE-MARK-MASQ`), "
                    "so the pod sees its node's address; every other pod sees the client's own.")
        return ""

    def via_node_port(self, sp: ServicePort) -> Route:
        node = self.via
        self.hops.append({"kind": "node-port", "node": node.name,
                          "address": f"{node.address}:{sp.node_port}"})
        if not opens_node_ports(self.cluster, node):
            closed = self.node_port_closed(sp, node)
            if closed is not None:
                return closed
        result = self.on_node(sp, "NodePort", node, f"{node.address}:{sp.node_port}", "node-port")
        if self.svc.type == "LoadBalancer" and not self.svc.load_balancer_ingress and not self.who.inside:
            result = _replace_reason(result, result.reason + (
                " The load balancer itself is still <pending> (no cloud provider gave it an address), "
                "so this client uses the node port it already has."))
        return result

    def node_port_closed(self, sp: ServicePort, node: Node) -> Route | None:
        """nodePortAddresses lists none of `node`'s addresses: no nat rule catches the packet
        (node_ports.py). The filter table's KUBE-EXTERNAL-SERVICES still matches every local
        address: with no endpoints at all it REJECTs as usual (None: on_node says so), with a
        Local policy and none here it DROPs; otherwise the kernel finds nothing listening.
        nftables mode has no such catch-all: its no-endpoint-nodeports check matches only
        `ip daddr @nodeport-ips` (pkg/proxy/nftables/proxier.go), so the kernel refuses."""
        listed = ", ".join(node_port_addresses(self.cluster))
        why = (f"kube-proxy's nodePortAddresses ({listed}) lists no address of {node.name}, so no "
               f"rule there catches {node.address}:{sp.node_port}")
        external = self.decide(sp, node).external if self.cluster.proxy.mode != "nftables" else None
        if external == "reject":
            return None
        if external == "drop":
            r = self.no_local(sp, "NodePort", node)
            return _replace_reason(r, f"{why}; and {r.reason[:1].lower()}{r.reason[1:]}")
        open_on = [n.name for n in self.cluster.nodes if opens_node_ports(self.cluster, n)]
        reason = (f"{self.sender()} sends to {node.address}:{sp.node_port} on {node.name}, but {why}: "
                  f"the packet reaches {node.name} itself, where nothing listens on port "
                  f"{sp.node_port}, and the kernel refuses the connection."
                  + (f" Dial the node port on {_names_or(open_on)} instead, or add {node.address} to "
                     "nodePortAddresses." if open_on else
                     " No node has a listed address: change nodePortAddresses (empty means every "
                     "address of the node)."))
        return self.answer("node-port-closed", "NodePort", reason, port=sp)

    def via_external_ip(self, sp: ServicePort) -> Route:
        svc = self.svc
        node = self.who.node if self.who.inside else self.via
        address = f"{svc.external_ips[0]}:{sp.port}"
        self.hops.append({"kind": "external-ip", "address": address, "node": node.name})
        return self.on_node(sp, "ExternalIP", node, address, "external-ip")

    def on_node(self, sp: ServicePort, entry: str, node: Node, address: str, way: str) -> Route:
        """A packet for a node port, external IP or load-balancer IP, as `node`'s rules treat it."""
        d = self.decide(sp, node)
        fate = d.fate(self.source, way)
        view = d.view
        if fate.outcome == "reject":
            return self.no_endpoints(sp, entry)
        if fate.outcome == "drop":
            if fate.why == "source-range":
                return self.blocked(sp, entry, d)
            return self.no_local(sp, entry, node)
        local = fate.chain == "local"
        chosen = fate.endpoints
        self.service_hop(sp, node, local)
        self.hops.append({"kind": "pod", "candidates": len(chosen)})
        if local:
            reason = (f"{self.sender()} sends to {address} on {node.name}; with externalTrafficPolicy: "
                      f"Local, kube-proxy there picks only among pods on {node.name} and keeps the "
                      "client's source address")
        else:
            reason = (f"{self.sender()} sends to {address} on {node.name}; kube-proxy there forwards it "
                      "to any ready pod of the Service, on this node or another"
                      + self.policy_note(fate))
        reason += self.terminating_note(view.local_terminating if local else view.cluster_terminating) + "."
        seen = {e: self.seen(fate, e, node) for e in chosen}
        bypass = [e for e in chosen if seen[e] == {"client"} and not self.replies_via(e, node)]
        if bypass:
            return self.asymmetric(sp, entry, node, chosen, bypass, seen, reason, local)
        if not fate.masquerade:
            reason += self.source_note(fate, seen, node)
        elif any(s == {"client"} for s in seen.values()):
            reason += (" A pod on the node's own address (hostNetwork) keeps the client's address: "
                       "the packet is delivered locally and never reaches the masquerade rule.")
        shares = proxy.shares(chosen)
        return self.answer("ok", entry, reason, self.ranked(shares, seen),
                           self.left_out(sp, shares, node, local=local), source=None, port=sp)

    def home_of(self, e: Endpoint) -> str | None:
        """The node an endpoint's address lives on."""
        if e.node:
            return e.node
        for p in self.cluster.pods:
            if p.ip == e.address and not p.host_network:
                return p.node
        n = next((n for n in self.cluster.nodes if n.address == e.address), None)
        return n.name if n else None

    def replies_via(self, e: Endpoint, node: Node) -> bool:
        """Whether the pod's reply passes `node`, which DNATed the packet and alone can undo it.

        Not masqueraded, the pod answers the client's own address: the reply leaves the pod's
        node straight for the client's (a pod's or node's), or for the network outside.
        """
        homes = {self.home_of(e) or node.name}
        if self.who.inside:
            homes.add(self.who.node.name)
        return node.name in homes

    def asymmetric(self, sp, entry, node, chosen, bypass, seen, reason, local) -> Route:
        """Some (or all) pods' replies bypass the node that DNATed: those connections time out."""
        n = len(chosen)
        fine = [e for e in chosen if e not in bypass]
        names = _names_or([e.pod or e.address for e in bypass], "and")
        why = (f"the reply of {names} goes from its node straight to the client's address, not back "
               f"through {node.name}, which rewrote the destination: only {node.name}'s conntrack "
               "can undo that, so the client discards the reply and the connection times out "
               "(kube-proxy sends pod traffic for a node port cluster-wide without masquerading it)")
        excluded = [(e, why) for e in bypass] + self.left_out(sp, {e: 1 for e in chosen}, node, local=local)
        if not fine:
            return self.answer("no-local-endpoints", entry, reason + " But " + why + ". Dial the node "
                               "the pods run on, or the cluster IP, instead.", excluded=excluded, port=sp)
        reason += (f" But {len(bypass)} of {n} new connections fail: " + why + ".")
        shares = {e: 1.0 / n for e in fine}
        return self.answer("ok", entry, reason, self.ranked(shares, seen), excluded, source=None, port=sp)

    def blocked(self, sp: ServicePort, entry: str, d: proxy.ServicePortState) -> Route:
        """loadBalancerSourceRanges leave this client out: dropped (a timeout)."""
        ranges = ", ".join(str(r) for r in d.source_ranges)
        reason = (f"Service {self.svc.name} accepts load-balancer traffic only from "
                  f"loadBalancerSourceRanges ({ranges}), and {self.sender()[:1].lower() + self.sender()[1:]} "
                  f"sends from {self.source}, outside them: {_firewall_words(self.cluster)}, "
                  "so the client waits until it times out. "
                  "The node port, if any, is not filtered. Add the client's range to "
                  "spec.loadBalancerSourceRanges to let it in.")
        return self.answer("source-blocked", entry, reason, port=sp)

    def via_load_balancer(self, sp: ServicePort) -> Route:
        svc = self.svc
        lb = svc.load_balancer_ingress[0]
        address = f"{lb}:{sp.port}"
        proxy_mode = svc.load_balancer_ip_mode == "Proxy"
        if self.who.inside and _is_ip(lb) and not proxy_mode:
            # kube-proxy on the client's own node catches packets for the load balancer's IP
            # (KUBE-SERVICES matches it), so they never travel to the cloud and back.
            node = self.who.node
            self.hops.append({"kind": "load-balancer", "address": address, "node": node.name})
            result = self.on_node(sp, "LoadBalancer", node, address, "load-balancer")
            if result.reachable:
                result = _replace_reason(result, result.reason.replace(
                    f"sends to {address} on {node.name}",
                    f"dials the load balancer's address {address}, but kube-proxy on its own node "
                    f"{node.name} catches the packet before it leaves"))
            return result
        if not svc.allocate_load_balancer_node_ports:
            return self.lb_to_pods(sp, address)
        pool = target_pool(self.cluster.nodes)
        local = svc.external_traffic_policy == "Local"
        healthy = load_balancer_nodes(self.cluster, svc)
        self.hops.append({"kind": "load-balancer", "address": address,
                          "nodes": [n.name for n in healthy]})
        if not healthy:
            return self.no_endpoints(sp, "LoadBalancer")
        self.hops.append({"kind": "node-port", "nodes": [n.name for n in healthy], "port": sp.node_port})
        # Each node spreads its share evenly over the endpoints its rules pick. Under Cluster
        # policy those depend on the node's zone at most (topology hints), so count nodes per
        # zone instead of asking each of thousands of nodes.
        groups: dict[object, list[Node]] = {}
        closed = {n.name for n in healthy if proxy_mode and not opens_node_ports(self.cluster, n)}
        for n in healthy:
            groups.setdefault(("closed", n.name) if n.name in closed else n.name if local else n.zone,
                              []).append(n)
        if proxy_mode and svc.load_balancer_source_ranges and not any(
                ipaddress.ip_address(self.source) in net for net in _networks(svc.load_balancer_source_ranges)):
            # A proxying load balancer enforces the ranges itself (kube-proxy never sees the
            # client's address to check).
            return self.blocked(sp, "LoadBalancer", self.decide(sp, healthy[0]))
        per_group, fates, seen = {}, {}, {}
        for key, members in groups.items():
            d = self.decide(sp, members[0])
            if members[0].name in closed:
                # The load balancer connects to a node port nodePortAddresses does not open
                # there: refused by the node's kernel (node_ports.py).
                fates[key], per_group[key] = proxy.Fate("reject", why="node-port-closed"), ()
                continue
            if proxy_mode:
                # ipMode: Proxy: the load balancer opens its own connection to the node port,
                # from its own address (k8slab uses its IP): kube-proxy sees that source.
                fate = fates[key] = d.fate(lb, "node-port")
            else:
                fate = fates[key] = d.fate(self.source, "load-balancer")
            per_group[key] = fate.endpoints if fate.outcome == "dnat" else ()
            addresses = {m.address for m in members} if fate.masquerade else set()
            for e in per_group[key]:
                # Masqueraded unless it is a hostNetwork pod on the receiving node itself.
                mark = {"node"} if fate.masquerade else {"load-balancer" if proxy_mode else "client"}
                unmasked = "load-balancer" if proxy_mode else "client"
                if e.address in addresses and len(members) == 1:
                    mark = {unmasked}
                elif e.address in addresses:
                    mark = {"node", unmasked}
                seen[e] = frozenset(seen.get(e, frozenset()) | mark)
        totals = proxy.load_balancer_shares(per_group, {k: len(m) for k, m in groups.items()})
        outcomes = {f.outcome for f in fates.values()}
        if not totals:
            if closed and all(f.why == "node-port-closed" for f in fates.values()):
                return self.answer("node-port-closed", "LoadBalancer", (
                    f"The load balancer (ipMode: Proxy) connects to node port {sp.node_port} on "
                    f"{_names(healthy)}, but kube-proxy's nodePortAddresses "
                    f"({', '.join(node_port_addresses(self.cluster))}) lists none of their addresses: "
                    "every node refuses the connection."), port=sp)
            if any(f.why == "source-range" for f in fates.values()):
                return self.blocked(sp, "LoadBalancer", self.decide(sp, healthy[0]))
            if outcomes == {"reject"}:
                return self.no_endpoints(sp, "LoadBalancer")     # rejected on the receiving node
            return self.no_local(sp, "LoadBalancer", healthy[0])
        self.service_hop(sp, None, local, nodes=[n.name for n in healthy])
        self.hops.append({"kind": "pod", "candidates": len(totals)})
        spread = (f"{self.sender()} connects to {address}; the cloud load balancer spreads new "
                  f"connections evenly over {_names(healthy)}")
        to_port = f", sending each to node port {sp.node_port}"
        if local:
            skipped = [n for n in pool if n not in healthy]
            reason = (f"{spread}, the nodes that pass its health check on port "
                      f"{svc.health_check_node_port}"
                      + (f" ({_names(skipped)} fail{'s' if len(skipped) == 1 else ''} it: no ready pod there)"
                         if skipped else "")
                      + f"{to_port}. Each node picks among its own pods (externalTrafficPolicy: Local), "
                      "so a pod alone on its node gets more than pods that share one, and the client's "
                      "address is kept.")
        else:
            reason = (f"{spread}{to_port}. kube-proxy on the receiving node forwards to any ready pod, "
                      "maybe on another node, and replaces the client's address with the node's "
                      "(externalTrafficPolicy: Cluster).")
        reason += _left_out_of_pool(self.cluster.nodes, pool, local)
        if proxy_mode:
            reason += (" This load balancer has ipMode: Proxy: it opens its own connection to the "
                       "node port, so kube-proxy and the pods see the load balancer's address, never "
                       "the client's, and pods dialing its address go out to it too.")
        lost = 1 - sum(totals.values())
        if lost > 1e-12 and closed:
            reason += (f" nodePortAddresses ({', '.join(node_port_addresses(self.cluster))}) opens no "
                       f"node port on {_names([n for n in healthy if n.name in closed])}: the "
                       f"{lost:.0%} of new connections the load balancer sends there are refused.")
        elif lost > 1e-12:
            reason += (f" No node passes the health check, so the load balancer uses them all (cloud "
                       f"load balancers fail open): {lost:.0%} of new connections reach a node with no "
                       "usable pod and are dropped there.")
        left = [(e, why) for e, why in self.left_out(sp, totals, None, local=False)]
        return self.answer("ok", "LoadBalancer", reason, self.ranked(totals, seen), left,
                           source=None, port=sp)

    def lb_to_pods(self, sp: ServicePort, address: str) -> Route:
        """allocateLoadBalancerNodePorts: false: the load balancer targets pod IPs itself."""
        self.hops.append({"kind": "load-balancer", "address": address, "nodes": []})
        cluster_view = proxy.categorize(self.svc, self.endpoints(sp), None)
        chosen = cluster_view.cluster
        if not chosen:
            return self.no_endpoints(sp, "LoadBalancer")
        self.hops.append({"kind": "pod", "candidates": len(chosen)})
        shares = proxy.shares(chosen)
        reason = (f"{self.sender().capitalize()} connects to {address}; this load balancer has no node "
                  "ports (allocateLoadBalancerNodePorts: false), so the cloud sends straight to the "
                  "pods' own IPs, evenly, and no kube-proxy rule is involved.")
        return self.answer("ok", "LoadBalancer", reason, self.ranked(shares),
                           self.left_out(sp, shares, None, local=False), source=True, port=sp)

    # -- DNS-only Services -------------------------------------------------------------------
    def dns_route(self, sp: ServicePort | None, entry: str | None) -> Route:
        svc, kind = self.svc, self.who.kind
        what = "an ExternalName Service" if svc.type == "ExternalName" else "a headless Service"
        if entry is not None or not self.who.inside:
            if entry is not None:
                reason = (f"Service {svc.name} is {what}: it has no cluster IP, node port or load "
                          "balancer, only a DNS name, so there is nothing to dial by "
                          f"{entry}. Pods reach it by its name, {svc.dns_name}.")
            else:
                reason = (f"Service {svc.name} is {what}: only the cluster's DNS knows its name, "
                          f"and {WHO[kind]} cannot ask the cluster's DNS"
                          + (" (and pod IPs are not routable from outside)." if svc.headless else ".")
                          + " Expose it with a NodePort or LoadBalancer Service instead.")
            return self.answer("not-exposed", None, reason, port=sp)
        node_note = (" (a node's own resolver does not ask the cluster DNS: query it explicitly, "
                     f"for example `dig @<cluster DNS IP> {svc.dns_name}`)" if kind == "node" else "")
        from . import dns as coredns
        dns = coredns.service_records(self.cluster, svc)
        if svc.type == "ExternalName":
            if not dns["records"]:
                self.hops.append({"kind": "dns", "name": svc.dns_name, "records": 0})
                reason = (f"Service {svc.name}'s externalName, {svc.external_name}, is an IP address, "
                          "not a name: the API server accepts it, but CoreDNS serves no record for "
                          f"it, so {svc.dns_name} does not resolve (NXDOMAIN). For a fixed address, "
                          "use a Service without selector and an EndpointSlice.")
                return self.answer("nxdomain", "DNS", reason, dns=dns, port=sp)
            self.hops.append({"kind": "dns", "name": svc.dns_name, "records": 1})
            reason = (f"The cluster DNS answers {svc.dns_name} with a CNAME to {svc.external_name}"
                      f"{node_note}; the client then looks that name up and connects to it directly. "
                      "No kube-proxy rule and no pod of this cluster is involved.")
            inside = [r["value"] for r in dns["records"] if r["type"] == "A"]
            if inside:
                # A target inside cluster.local: CoreDNS follows the CNAME itself and adds the
                # target's records (plugin/kubernetes backend_lookup.go, A); issue 22.
                reason = (f"The cluster DNS answers {svc.dns_name} with a CNAME to {svc.external_name}, "
                          f"a name inside the cluster, and follows it itself: the answer ends in "
                          f"{', '.join(inside)}. The client connects there, so that Service's own "
                          "route (its kube-proxy rules, or its pods if headless) decides which pod answers.")
            return self.answer("ok", "DNS", reason, dns=dns, source=True, port=sp)
        probe = sp or ServicePort(port=0, target_port=0)
        everyone = self.endpoints(probe)
        ready: dict[str, Endpoint] = {}
        for e in everyone:
            if e.ready:
                ready.setdefault(e.address, e)
        # Every address CoreDNS publishes, pods that lack this port's named targetPort
        # included: the EndpointSlice controller keeps them, in a slice without that port.
        unique: dict[str, Endpoint] = {}
        portless = []
        for d in coredns.endpoints(self.cluster, svc):
            if d.address in unique:
                continue
            e = ready.get(d.address)
            if e is None:
                pod = self.cluster.pod(d.pod, svc.namespace) if d.pod else None
                e = Endpoint(d.address, probe.port, pod=d.pod, node=pod.node if pod else None,
                             hostname=d.hostname)
                portless.append(e.pod or e.address)
            unique[d.address] = e
        records = dns["records"]
        self.hops.append({"kind": "dns", "name": svc.dns_name, "records": len(records)})
        left = [(e, _why_not_ready(e)) for e in everyone if not e.ready]
        if not records:
            reason = (f"Service {svc.name} is headless (clusterIP: None), and none of its pods is "
                      f"ready, so the cluster DNS has no address for {svc.dns_name}: the lookup fails "
                      "with NXDOMAIN.")
            return self.answer("nxdomain", "DNS", reason, excluded=left, dns=dns, port=sp)
        self.hops.append({"kind": "pod", "candidates": len(records)})
        reason = (f"Service {svc.name} is headless (clusterIP: None): the cluster DNS answers "
                  f"{svc.dns_name} with one A record per ready pod{node_note}, and the client itself "
                  "picks an address: most take the first, and CoreDNS's loadbalance plugin shuffles "
                  "the order per answer. No kube-proxy rule is involved, and the pod sees the "
                  "client's own address.")
        if portless and isinstance(probe.target_port, str):
            reason += (f" {_names_or(portless, 'and')} declare{'s' if len(portless) == 1 else ''} no "
                       f"container port named {probe.target_port!r}, yet {'its address is' if len(portless) == 1 else 'their addresses are'} "
                       f"in the answer too: a client that dials port {probe.port} there may find "
                       "nothing listening.")
        eps = [RouteEndpoint(e, None) for e in unique.values()]
        return self.answer("ok", "DNS", reason, eps, left, dns=dns, source=True, port=sp)

    # -- shared pieces -----------------------------------------------------------------------
    def policy_note(self, fate: proxy.Fate) -> str:
        if self.svc.external_traffic_policy != "Local":
            return "; the pod sees the node's address, not the client's (externalTrafficPolicy: Cluster)"
        if not fate.masquerade:
            return (" (externalTrafficPolicy: Local applies only to traffic from outside: kube-proxy "
                    "sends pod traffic cluster-wide)")
        return (" (externalTrafficPolicy: Local applies only to traffic from outside: kube-proxy "
                "sends the node's own traffic cluster-wide, masqueraded)")

    def terminating_note(self, terminating: bool) -> str:
        return ("; no pod is ready, so kube-proxy falls back to pods that are terminating but still "
                "serving" if terminating else "")

    def sender(self) -> str:
        kind = self.who.kind
        return _who_inside(self.who) if self.who.inside else WHO[kind]

    def no_endpoints(self, sp: ServicePort, entry: str, local_node: Node | None = None,
                     policy: str | None = None) -> Route:
        svc = self.svc
        everyone = self.endpoints(sp)
        if local_node is not None and any(e.ready or (e.serving and e.terminating) for e in everyone):
            reason = (f"Service {svc.name} has internalTrafficPolicy: Local and no ready pod runs on "
                      f"{local_node.name}, the client's node: kube-proxy drops the packet rather than "
                      "send it to another node, so the client waits until it times out.")
            return self.answer("no-local-endpoints", entry, reason,
                               excluded=self.left_out(sp, {}, local_node, local=True, policy=policy),
                               port=sp)
        slices = self.cluster.slices_for(svc)
        if slices and not everyone and all(sl.address_type == "FQDN" for sl in slices) and not svc.selector:
            names = ", ".join(sl.name for sl in slices)
            why = (f"lists its endpoints only in EndpointSlices of addressType FQDN ({names}), which "
                   "kube-proxy ignores: it proxies to IPv4 and IPv6 addresses only "
                   "(pkg/proxy/endpointslicecache.go), so it writes no endpoint for them")
        elif not svc.selector and not slices and svc.key == "default/kubernetes":
            # The API server keeps this Service's endpoints (its own addresses) itself.
            why = ("has no selector by design: the API server lists its own addresses in the "
                   "EndpointSlice `kubernetes`, and the input does not have it")
        elif not svc.selector and not slices:
            why = "has no selector and no EndpointSlice lists addresses for it"
        elif not everyone and not self.cluster.selected_pods(svc):
            sel = ",".join(f"{k}={v}" for k, v in (svc.selector or {}).items())
            why = f"selects no pod: no pod in namespace {svc.namespace} has the labels {sel}"
            if not self.cluster.pods and not self.cluster.slices:
                why += " (the input has no pod and no EndpointSlice at all: a snapshot of Services alone)"
        elif not everyone:
            why = (f"selects pods, but none of them has an IP and a port for targetPort "
                   f"{sp.target_port}")
            if isinstance(sp.target_port, str) and any(p.ip for p in self.cluster.selected_pods(svc)):
                # reconciler.go/getEndpointPorts: the pods are still listed, in a slice
                # without ports, which kube-proxy reads no endpoint from.
                why += (f" (no container declares a port named {sp.target_port}/{sp.protocol}: "
                        "`kubectl get endpointslices` lists the pods' addresses with PORTS <unset>, "
                        "and kube-proxy takes no endpoint from a slice without ports)")
        else:
            why = "selects pods, but none of them is ready"
        reason = (f"Service {svc.name} {why}. kube-proxy rejects the connection (ICMP "
                  "\"port unreachable\", so the client sees \"connection refused\").")
        return self.answer("no-endpoints", entry, reason,
                           excluded=self.left_out(sp, {}, None, local=False), port=sp)

    def no_local(self, sp: ServicePort, entry: str, node: Node) -> Route:
        have = sorted({e.node for e in self.endpoints(sp) if e.ready and e.node})
        reason = (f"Service {self.svc.name} has externalTrafficPolicy: Local and no ready pod runs "
                  f"on {node.name}, the node that received the packet: kube-proxy there drops it "
                  "rather than forward it to another node (which would lose the client's address), "
                  "so the client waits until it times out."
                  + (f" Send it to {_names_or(have)} instead, or use externalTrafficPolicy: Cluster."
                     if have else ""))
        return self.answer("no-local-endpoints", entry, reason,
                           excluded=self.left_out(sp, {}, node, local=True), port=sp)

    def ranked(self, shares: dict[Endpoint, float], seen: dict | None = None) -> list[RouteEndpoint]:
        seen = seen or {}
        return [RouteEndpoint(e, p, seen.get(e, frozenset({"client"})))
                for e, p in sorted(shares.items(), key=lambda kv: kv[0].ip_port)]

    def left_out(self, sp: ServicePort, shares, node: Node | None, local: bool,
                 policy: str = "externalTrafficPolicy") -> list[tuple[Endpoint, str]]:
        """The Service's other endpoints, each with why it cannot answer this client."""
        out = []
        for e in self.endpoints(sp):
            if e in shares:
                continue
            if not e.ready and not (e.serving and e.terminating):
                why = _why_not_ready(e)
            elif e.terminating and not e.ready:
                why = "terminating: used only while no pod is ready"
            elif local and node is not None and e.node != node.name:
                why = f"on {e.node or 'an unknown node'}, not {node.name} ({policy}: Local)"
            elif e.hint_nodes and node is not None and node.name not in e.hint_nodes and \
                    proxy.uses_node_hints(self.endpoints(sp), node.name):
                why = (f"node hints keep it for traffic from {', '.join(e.hint_nodes)} "
                       "(trafficDistribution: PreferSameNode)")
            elif e.hint_zones is not None and node is not None and node.zone:
                why = f"topology hints send it traffic from zone(s) {', '.join(e.hint_zones)} only"
            else:
                why = "not used for this client"
            out.append((e, why))
        return out


def _why_not_ready(e: Endpoint) -> str:
    if e.terminating:
        return "terminating and no longer serving"
    return "not ready (its readiness probe has not passed)"


def _who_inside(c: Client) -> str:
    if c.kind == "pod":
        return f"Pod {c.pod.name} on {c.node.name}"
    return f"A process on node {c.node.name}"


def _names(nodes) -> str:
    names = [n.name for n in nodes]
    return _names_or(names, "and")


def _names_or(names, word: str = "or") -> str:
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + f" {word} " + names[-1]


def _networks(ranges):
    out = []
    for r in ranges:
        try:
            out.append(ipaddress.ip_network(str(r).strip(), strict=False))
        except ValueError:
            continue
    return out


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def _replace_reason(r: Route, reason: str) -> Route:
    from dataclasses import replace
    return replace(r, reason=reason)


# ---------------------------------------------------------------------------------------
# The client x Service-type table
# ---------------------------------------------------------------------------------------

def reachability_table(cluster: Cluster, clients=None, services=None) -> list[list[str]]:
    """Rows of (client, then one cell per Service): "yes (NodePort)" or "no (not-exposed)"."""
    clients = clients or default_clients(cluster)
    services = services or [s for s in cluster.services]
    rows = [["client"] + [f"{s.name} ({'headless' if s.headless else s.type})" for s in services]]
    for c in clients:
        row = [c]
        for s in services:
            r = route(cluster, c, s.name, s.namespace)
            row.append(f"yes, {r.entry}" if r.reachable else f"no: {r.code}")
        rows.append(row)
    return rows


def default_clients(cluster: Cluster) -> list[str]:
    """One client of each kind: the first running pod, the first node, and the outside three."""
    out = []
    pod = next((p for p in cluster.pods if p.node and p.ip and cluster.node(p.node)), None)
    if pod:
        out.append(f"pod/{pod.namespace}/{pod.name}" if pod.namespace != "default" else f"pod/{pod.name}")
    if cluster.nodes:
        out.append(f"node/{cluster.nodes[0].name}")
    return out + ["laptop", "other-cluster", "internet"]


def _firewall_words(cluster) -> str:
    """Which of kube-proxy's rules drop a source outside loadBalancerSourceRanges, per mode."""
    if getattr(cluster.proxy, "mode", None) == "nftables":
        return ("kube-proxy's firewall-check chain sends it to the Service's firewall-... chain, "
                "whose `ip saddr != { ... } drop` drops it before any DNAT")
    return "kube-proxy's KUBE-FW chain lets it fall through and KUBE-PROXY-FIREWALL drops it"
