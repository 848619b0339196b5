"""The explorer as one call: what its controls say (a State) in, everything it shows (a View) out."""

# widgets.Explorer only renders a View, and scripts/build_site.py precomputes Views for the
# static site, so the two cannot drift. No ipywidgets here.
#
# Adding a control (kube-proxy mode, a NetworkPolicy switch, a Gateway, ...) is one field:
#   1. a field on State whose default None means "as the cluster has it" (so every existing
#      caller and saved state keeps its meaning), checked in Subject.check;
#   2. its effect in Subject.cluster_for (a rewritten copy of the cluster, keyed by the field)
#      or in explore() (an argument to routing.route), never in the widget;
#   3. its choices in CHOICES (label, value); the widget's control and the site's axis read
#      them from there, and View.disabled names it when it does not apply.
from __future__ import annotations

import textwrap
from dataclasses import dataclass, field, fields, replace
from functools import cached_property

from . import manifests, proxy, routing
from . import policy as netpol
from .errors import K8slabError
from .model import Cluster, Service
from .variants import MAX_WHAT_IF_REPLICAS, pod_counts, with_replicas

__all__ = ["State", "View", "Subject", "explore", "CHOICES", "LABELS", "CLIENT_CHOICES", "TYPES", "POLICIES",
           "DIALS", "MODES", "UNMODELLED_MODES", "NETWORK_POLICIES", "SITE_MODES", "AFFINITIES",
           "SIM_CONNECTIONS", "SIM_CLIENTS",
           "SIM_SEED", "hop_chain", "choice_text", "why_dial", "lookup_text", "why_html",
           "status_note", "type_label", "small_simulation"]

#: The five kinds of client, as the explorer offers them (label, kind).
CLIENT_CHOICES = (("pod", "pod"), ("node", "node"), ("laptop", "laptop"),
                  ("other cluster", "other-cluster"), ("internet", "internet"))
#: The Service types the explorer switches between.
TYPES = ("ClusterIP", "NodePort", "LoadBalancer")
#: externalTrafficPolicy values (only NodePort and LoadBalancer Services have one).
POLICIES = ("Cluster", "Local")
#: How the client dials the Service (label, entry); None is the way such a client would.
DIALS = (("its usual way", None), ("the cluster IP", "ClusterIP"), ("a node port", "NodePort"),
         ("the load balancer", "LoadBalancer"))
#: kube-proxy's Linux modes the explorer's panels explain (how kube-proxy picks, the simulation).
MODES = proxy.MODES
#: Modes whose rules k8slab does not write yet (proxy.rules refuses them). The explorer's
#: panels explain all of MODES (notebook 02 compares them), but the static site offers only
#: SITE_MODES, whose picture, rules and route are all modelled (nftables is, since issue 19).
UNMODELLED_MODES = ()
SITE_MODES = tuple(m for m in MODES if m not in UNMODELLED_MODES)
#: sessionAffinity values.
AFFINITIES = ("None", "ClientIP")
#: The small simulation every view runs: new connections, client addresses, seed.
SIM_CONNECTIONS, SIM_CLIENTS, SIM_SEED = 1000, 10, 0

#: Each control's choices (label, value), by State field.
CHOICES = {
    "service_type": tuple((t, t) for t in TYPES),
    "external_traffic_policy": tuple((p, p) for p in POLICIES),
    "entry": DIALS,
    "mode": tuple((m, m) for m in MODES),
    "session_affinity": tuple((a, a) for a in AFFINITIES),
}

#: What each control is called on screen, by State field.
LABELS = {"client": "Who calls", "service_type": "Service type",
          "external_traffic_policy": "externalTrafficPolicy", "entry": "The client dials",
          "via_node": "Node IP it targets", "mode": "kube-proxy mode",
          "session_affinity": "sessionAffinity", "pods": "Pods of the Service",
          "name": "The name it types", "network_policy": "NetworkPolicy"}
#: The NetworkPolicy switch (policy.lockdown): the widget offers it; the static site keeps the
#: cluster's own policies (a third axis would triple the states it precomputes).
NETWORK_POLICIES = netpol.LOCKDOWN_CHOICES


@dataclass(frozen=True)
class State:
    """What every control of the explorer says. None: as the cluster has it.

    `client`: `pod/NAME`, `pod/NS/NAME`, `node/NAME`, `laptop`, `other-cluster` or
    `internet`; `entry`: the way in forced (None: the client's usual way); `via_node`: the
    node IP an outside client targets (None: the first node by name); `pods`: (replicas,
    ready, terminating) of the Service's pods (see variants.with_replicas); `name`: the
    name a pod client types (None: the Service's own name); `network_policy`: one of
    NETWORK_POLICIES for the Service's namespace (None: the policies the cluster has).
    """

    client: str = "laptop"
    service_type: str | None = None
    external_traffic_policy: str | None = None
    entry: str | None = None
    via_node: str | None = None
    mode: str | None = None
    session_affinity: str | None = None
    pods: tuple[int, int, int] | None = None
    name: str | None = None
    network_policy: str | None = None

    def with_(self, **changes) -> "State":
        """A copy with some fields changed (dataclasses.replace, with unknown names refused)."""
        known = {f.name for f in fields(self)}
        bad = sorted(set(changes) - known)
        if bad:
            raise K8slabError(f"explorer state: no setting {', '.join(bad)}; the settings are "
                              f"{', '.join(sorted(known))}")
        return replace(self, **changes)


def _client_text(pod) -> str:
    return f"pod/{pod.name}" if pod.namespace == "default" else f"pod/{pod.namespace}/{pod.name}"


class Subject:
    """The cluster and the Service an explorer looks at, and the what-if copies built so far.

    The copies are a cache: a State always gives the same copy, whoever asks first.
    """

    def __init__(self, cluster: Cluster, service: str | None = None, namespace: str = "default"):
        self.cluster = cluster
        self.service = _pick_service(cluster, service, namespace)
        self.base_mode = cluster.proxy.mode if cluster.proxy.mode in MODES else "iptables"
        self.base_pods = pod_counts(cluster, self.service)
        self.scalable = bool(self.base_pods[0]) and not cluster.slices_for(self.service)
        self.nodes = tuple(n.name for n in cluster.nodes)
        self._copies: dict[tuple, Cluster] = {}
        self._scaled: dict[tuple[int, int, int], Cluster] = {}
        self._yaml: dict[Service, str] = {}

    def yaml_for(self, service: Service) -> str:
        """The Service as YAML, then what the API server filled in (the same Service, the same
        text: a cache, since the explorer's states share a handful of Services)."""
        text = self._yaml.get(service)
        if text is None:
            if len(self._yaml) > 256:
                self._yaml.clear()
            text = self._yaml[service] = manifests.service_to_yaml(service) + status_note(service)
        return text

    # -- the state, checked and resolved --------------------------------------------------------
    def start(self, **settings) -> State:
        """The state the explorer starts in: the Service's own values, changed by `settings`."""
        state = State(service_type=self.default_type(), mode=self.base_mode,
                      external_traffic_policy=self.service.external_traffic_policy,
                      session_affinity=self.service.session_affinity, pods=self.base_pods,
                      via_node=self.nodes[0] if self.nodes else None, name=self.service.name)
        settings = {k: v for k, v in settings.items() if v is not None}
        return self.check(state.with_(**settings))

    def default_type(self) -> str:
        t = self.service.type
        return t if t in TYPES else "ClusterIP"

    def check(self, state: State) -> State:
        """`state` if every field is one the controls offer; else a K8slabError naming it."""
        kind = state.client.partition("/")[0] if isinstance(state.client, str) else None
        if kind not in routing.CLIENT_KINDS:
            raise K8slabError(f"client {state.client!r}: give one of pod/NAME, node/NAME, "
                              "laptop, other-cluster, internet")
        if kind == "node" and "/" in state.client and state.client[5:] not in self.nodes:
            raise K8slabError(f"client {state.client!r}: not one of "
                              + ", ".join(f"node/{n}" for n in self.nodes))
        for name, allowed in (("service_type", TYPES), ("external_traffic_policy", POLICIES),
                              ("mode", MODES), ("session_affinity", AFFINITIES)):
            value = getattr(state, name)
            if value is not None and value not in allowed:
                label = {"service_type": "type", "external_traffic_policy": "externalTrafficPolicy",
                         "session_affinity": "sessionAffinity"}.get(name, name)
                raise K8slabError(f"{label} {value!r}: give one of {', '.join(allowed)}")
        if state.entry not in [v for _, v in DIALS]:
            raise K8slabError(f"entry {state.entry!r}: give one of "
                              f"{', '.join(str(v) for _, v in DIALS)}")
        if state.network_policy is not None and state.network_policy not in NETWORK_POLICIES:
            raise K8slabError(f"network_policy {state.network_policy!r}: give one of "
                              f"{', '.join(NETWORK_POLICIES)}")
        if state.via_node is not None and state.via_node not in self.nodes:
            raise K8slabError(f"via node {state.via_node!r}: give one of {', '.join(self.nodes)}")
        if state.pods is not None:
            self._check_pods(state.pods)
        return state

    def _check_pods(self, pods) -> None:
        if not isinstance(pods, tuple) or len(pods) != 3:
            raise K8slabError(f"pods {pods!r}: give (replicas, ready, terminating)")
        n, r, t = pods
        for name, value in (("replicas", n), ("terminating", t)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise K8slabError(f"{name}: give a whole number from 0 up, not {value!r}")
        if n > MAX_WHAT_IF_REPLICAS:
            raise K8slabError(f"replicas: at most {MAX_WHAT_IF_REPLICAS} in a what-if, not {n}")
        if t > n:
            raise K8slabError(f"terminating: at most the {n} pods there are, not {t}")
        if isinstance(r, bool) or not isinstance(r, int) or not 0 <= r <= n - t:
            raise K8slabError(f"ready: give a number from 0 to {n - t} (the pods that are not "
                              f"terminating), not {r!r}")
        if not self.scalable and pods != self.base_pods:
            raise K8slabError(f"Service {self.service.name}: its pods cannot be changed here "
                              "(it selects no running pod to copy, or its endpoints are given "
                              "as EndpointSlices)")

    # -- the what-if copy ---------------------------------------------------------------------
    def cluster_for(self, state: State) -> Cluster:
        """The cluster as `state` rewrites it (the Service through manifests.with_service_type,
        as the API server would; kube-proxy's mode; the Service's pods through with_replicas)."""
        svc = self.service
        service_type = (state.service_type or self.default_type()) if svc.proxied else svc.type
        external = service_type in ("NodePort", "LoadBalancer")
        policy = (state.external_traffic_policy or svc.external_traffic_policy) if external else None
        mode = state.mode or self.base_mode
        affinity = state.session_affinity or svc.session_affinity
        pods = state.pods or self.base_pods
        key = (service_type, policy, mode, affinity, pods)
        cached = self._copies.get(key)
        if cached is None:
            cached = self._scaled_cluster(pods)
            if svc.proxied:
                cached = manifests.with_service_type(cached, svc, service_type,
                                                     external_traffic_policy=policy)
                new = cached.service(svc.name, svc.namespace)
                if affinity != new.session_affinity:
                    timeout = (new.session_affinity_timeout or proxy.DEFAULT_AFFINITY_TIMEOUT
                               if affinity == "ClientIP" else None)
                    cached = cached.replace_service(replace(new, session_affinity=affinity,
                                                            session_affinity_timeout=timeout))
                if mode != cached.proxy.mode:
                    cached = cached.copy(proxy=replace(cached.proxy, mode=mode))
            if len(self._copies) > 256:          # a long session: forget the oldest copies
                self._copies.clear()
            self._copies[key] = cached
        # The NetworkPolicy switch last: policy.lockdown keeps its own copies per cluster.
        return netpol.lockdown(cached, svc.namespace, state.network_policy or "none", svc.selector)

    def _scaled_cluster(self, pods: tuple[int, int, int]) -> Cluster:
        if pods == self.base_pods:
            return self.cluster
        cached = self._scaled.get(pods)
        if cached is None:
            n, r, t = pods
            cached = with_replicas(self.cluster, self.service, n, ready=r, terminating=t)
            self._scaled[pods] = cached
        return cached

    def view(self, state: State) -> "View":
        return explore(self, state)


def _pick_service(cluster: Cluster, name: str | None, namespace: str) -> Service:
    if name is not None:
        svc = cluster.service(name, namespace)
        if svc is None:
            raise K8slabError(f"no Service {name!r} in namespace {namespace!r}")
        return svc
    svc = cluster.service("web", namespace)
    if svc is not None and svc.proxied:
        return svc
    for s in cluster.services:
        if s.proxied and s.ports:
            return s
    if cluster.services:
        return cluster.services[0]
    raise K8slabError("the cluster has no Service to explore")


def explore(subject: Subject, state: State) -> "View":
    """Everything the explorer shows for `state`: the one call the widget and the site share.

    Pure: the same subject and state always give the same View (the what-if copies are
    cached on the subject). A pod client that the state's pods no longer include gives way
    to the first pod left, or to the first node when none is (View.state says who called).
    """
    subject.check(state)
    cluster = subject.cluster_for(state)
    service = cluster.service(subject.service.name, subject.service.namespace)
    pod_clients = tuple(_client_text(p) for p in cluster.pods if p.node and p.ip)
    client = state.client
    if client.startswith("pod/") and client not in pod_clients:
        client = pod_clients[0] if pod_clients else (f"node/{subject.nodes[0]}" if subject.nodes
                                                      else "laptop")
    state = state.with_(client=client)
    kind = client.partition("/")[0]
    typed = (state.name or "").strip() if state.name is not None else service.name
    typed = typed if typed and kind == "pod" and state.entry in (None, "ClusterIP") else None
    try:
        route = routing.route(cluster, client=client, service=service.name,
                              namespace=service.namespace, entry=state.entry,
                              via_node=state.via_node, name=typed)
        error = None
    except K8slabError as exc:          # e.g. a pod client in a cluster with no pods
        route, error = None, str(exc)
    proxied = subject.service.proxied
    external = service.type in ("NodePort", "LoadBalancer")
    disabled = set()
    if not proxied:
        disabled |= {"service_type", "mode", "session_affinity"}
    if not (proxied and external):
        disabled.add("external_traffic_policy")
    if not subject.scalable:
        disabled.add("pods")
    if not (route is not None and kind in ("laptop", "other-cluster", "pod", "node")
            and (route.entry == "NodePort" or state.entry == "NodePort")):
        disabled.add("via_node")
    return View(subject=subject, state=state, cluster=cluster, service=service, route=route,
                error=error, typed_name=typed, pod_clients=pod_clients,
                disabled=frozenset(disabled))


@dataclass(frozen=True)
class View:
    """Everything the explorer shows for one State. The pieces that cost (the picture, the
    simulation, the Why? checks, the lookup) are computed on first use, once."""

    subject: Subject = field(repr=False, compare=False)
    state: State
    cluster: Cluster = field(repr=False)
    service: Service
    route: object | None = field(repr=False)
    error: str | None
    typed_name: str | None
    pod_clients: tuple[str, ...]
    disabled: frozenset[str]

    @cached_property
    def simulation(self):
        """The small seeded run (SIM_CONNECTIONS from SIM_CLIENTS, seed SIM_SEED), or None."""
        return small_simulation(self.route)

    @cached_property
    def diagram(self):
        """The route's picture (draw.Diagram; its headline and reason are shown above it)."""
        if self.route is None:
            return None
        from .draw import draw      # the function, not the module k8slab.draw
        return draw(self.route, caption=False)

    @cached_property
    def hops(self) -> str:
        return hop_chain(self.route) if self.route is not None else ""

    @cached_property
    def choice(self) -> str:
        """How kube-proxy picks a pod, with the small simulation's counts."""
        return choice_text(self.route, self.simulation) if self.route is not None else "no route"

    @cached_property
    def yaml(self) -> str:
        """The Service as `kubectl apply -f` takes it, then what the API server fills in."""
        return self.subject.yaml_for(self.service)

    @cached_property
    def why_html(self) -> str:
        return why_html(self.cluster, self.route) if self.route is not None else ""

    @cached_property
    def lookup(self) -> str:
        return lookup_text(self.cluster, self.state.client,
                           self.state.name if self.state.name is not None else self.service.name)

    @property
    def kind(self) -> str:
        return self.state.client.partition("/")[0]

    @property
    def pods(self) -> tuple[int, int, int]:
        return self.state.pods or self.subject.base_pods

    def data(self) -> dict:
        """The settings and the route's outcome as plain JSON data (Explorer.state)."""
        r, svc = self.route, self.service
        return {
            "client": self.state.client,
            "service": svc.key,
            "type": type_label(svc),
            "external_traffic_policy": svc.external_traffic_policy,
            "dial": self.state.entry,
            "name": self.typed_name,
            "via_node": self.state.via_node,
            "node_port": next((p.node_port for p in svc.ports if p.node_port), None),
            "load_balancer": svc.load_balancer_ingress[0] if svc.load_balancer_ingress else None,
            "reachable": r.reachable if r else False,
            "code": r.code if r else None,
            "entry": r.entry if r else None,
            "hops": [h["kind"] for h in r.hops] if r else [],
            "endpoints": ({e.endpoint.pod or e.endpoint.ip_port:
                           None if e.probability is None else round(e.probability, 4)
                           for e in r.endpoints} if r else {}),
            "mode": self.cluster.proxy.mode,
            "session_affinity": svc.session_affinity,
            "pods": dict(zip(("replicas", "ready", "terminating"), self.pods)),
            "simulated": dict(self.simulation.connections_per_pod) if self.simulation else None,
        }

    def what_if(self) -> str:
        """The proxy and pod settings that differ from the cluster as given, in words."""
        parts = []
        base = self.subject
        if self.cluster.proxy.mode != base.cluster.proxy.mode:
            parts.append(f"kube-proxy mode={self.cluster.proxy.mode}")
        if self.service.session_affinity != base.service.session_affinity:
            parts.append(f"sessionAffinity={self.service.session_affinity}")
        if self.state.network_policy not in (None, "none"):
            parts.append(f"NetworkPolicy in {self.service.namespace}={self.state.network_policy}")
        if self.pods != base.base_pods:
            n, r, t = self.pods
            parts.append(f"pods={n} ({r} ready, {t} terminating, {n - r - t} starting)")
        return "  ".join(parts)

    def text(self) -> str:
        """A stable text view: the settings, then the route as the CLI prints it."""
        s = self.data()
        policy = s["external_traffic_policy"] or "-"
        dial = s["dial"] or "its usual way"
        head = (f"client={s['client']}  Service {s['service']} type={s['type']}  "
                f"externalTrafficPolicy={policy}  dials={dial}  via-node={s['via_node']}")
        changed = self.what_if()
        if changed:
            head += "\nwhat if: " + changed
        return head + "\n\n" + (self.route.text() if self.route else "no route")

    def summary(self) -> str:
        s = self.data()
        outcome = (f"reachable via {s['entry']}" if s["reachable"]
                   else f"not reachable ({s['code']})")
        return f"<k8slab explorer: {s['client']} -> {s['service']} ({s['type']}): {outcome}>"


# -- the panels' text ----------------------------------------------------------------------------
def type_label(svc: Service) -> str:
    return "headless" if svc.headless else svc.type


def status_note(svc: Service) -> str:
    """What the API server filled in, as YAML comments under the Service."""
    lines = []
    if svc.cluster_ip and svc.cluster_ip != "None":
        lines.append(f"# the API server fills in: clusterIP {svc.cluster_ip}")
    if svc.type == "LoadBalancer":
        external = ", ".join(svc.load_balancer_ingress) or "<pending> (no cloud has given one)"
        lines.append(f"# kubectl get service shows EXTERNAL-IP: {external}")
    return ("\n" + "\n".join(lines)) if lines else ""


def small_simulation(route):
    """The explorer's seeded run for this route, or None where nothing can be simulated."""
    if route is None or not route.reachable or not route.endpoints:
        return None
    if any(e.probability is None for e in route.endpoints):
        return None                        # headless: the client picks, no kube-proxy rule
    from .simulate import simulate
    try:
        return simulate(route, SIM_CONNECTIONS, clients=SIM_CLIENTS, seed=SIM_SEED)
    except K8slabError:                    # e.g. an IPVS scheduler that depends on load
        return None


def why_dial(route) -> str:
    """What the route's client types, as `k8slab diagnose --dial` takes it: the Service's name
    when a pod uses its usual way in, else the first address the packet is sent to (a node's
    own resolver knows no cluster names, so a process on a node dials the cluster IP)."""
    port = route.port.port if route.port else (route.service.ports[0].port if route.service.ports else 80)
    typed = (route.dns or {}).get("query") if (route.dns or {}).get("tried") else None
    if typed:                    # the name the learner typed for the pod: diagnose that name
        return f"{typed}:{port}"
    if route.client_kind == "pod" and route.entry in (None, "ClusterIP", "DNS") and \
            not any(h["kind"] in ("load-balancer", "external-ip", "node-port") for h in route.hops):
        return f"{route.service.name}:{port}"
    for h in route.hops:
        if h["kind"] in ("load-balancer", "external-ip", "node-port", "service") and h.get("address"):
            return str(h["address"])
    return f"{route.service.name}:{port}"      # an outside client by name: the published address


def lookup_text(cluster: Cluster, client: str, name: str) -> str:
    """`k8slab dns`'s text for `name` looked up by `client` (outside clients ask no cluster DNS)."""
    from . import dns            # loaded on first use: only the Name lookup panel needs it
    if not client or not client.startswith(("pod/", "node/")):
        return (f"{client or 'this client'} is outside the cluster: it cannot ask the cluster DNS, "
                "so Service names mean nothing to it. It dials an address: a node IP and node "
                "port, or the load balancer's.")
    try:
        return dns.lookup(cluster, client, (name or "").strip()).text()
    except K8slabError as exc:
        return str(exc)


def why_html(cluster: Cluster, route) -> str:
    """The explorer's "Why?" panel: diagnose's checks for the current state, as safe HTML."""
    import html
    from . import diagnose      # loaded on first use: the panel is the only piece that needs it
    try:
        report = diagnose.diagnose(cluster, route.client, why_dial(route),
                                   protocol=(route.port.protocol if route.port else "TCP").lower())
    except K8slabError as exc:
        return f"<div class='k8slab-note'>{html.escape(str(exc))}</div>"
    return diagnose.explain_text(report, html_output=True)


def _hop_words(h: dict) -> str:
    try:
        return routing.hop_detail(h)
    except (KeyError, TypeError):
        return ""


def hop_chain(route) -> str:
    """The hop chain, one hop a line, marked where an unreachable route stops."""
    lines = []
    for i, h in enumerate(route.hops):
        arrow = "   " if i == 0 else "-> "
        name = h.get("kind", "?")
        stop = "   <- stops here" if not route.reachable and route.stopped_at == i else ""
        lines.append(f"{arrow}{name:<13} {_hop_words(h)}".rstrip() + stop)
    return "\n".join(lines)


def _pick_lists(route) -> tuple[list[tuple[list[str], tuple]], bool]:
    """[(node names, the endpoints each of them picks among)], nodes with the same list together."""
    from .simulate import receivers
    receivers, direct = receivers(route)
    groups: dict[tuple, list[str]] = {}
    lists: dict[tuple, tuple] = {}
    for node, eps in receivers:
        if node is None and route.client_node is not None:
            node = route.client_node.name
        key = tuple(e.ip_port for e in eps)
        groups.setdefault(key, []).append(node or "the receiving node")
        lists[key] = tuple(eps)
    return [(groups[k], lists[k]) for k in groups], direct


def _names_and(names) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _percent(x) -> str:
    return f"{float(x):.1%}"


def choice_text(route, simulation=None) -> str:
    """How kube-proxy on the receiving node(s) picks a pod for `route`, as rules and numbers.

    iptables: the Service chain's random rules in kube-proxy's order, with each rule's
    probability, the share of new connections that reach it and the share it takes;
    nftables: the numgen map; IPVS: the scheduler's turn order and long-run share. With
    sessionAffinity: ClientIP, how each mode remembers a client. With a `simulation`
    (simulate.Simulation), its counts close the text.
    """
    if not route.reachable or not route.endpoints:
        return f"No pod is chosen: the request does not reach one ({route.code})."
    if any(e.probability is None for e in route.endpoints):
        return ("No kube-proxy rule is involved: the cluster DNS answers with one address per ready "
                "pod, and the client itself picks one (most take the first).")
    lists, direct = _pick_lists(route)
    if direct:
        return ("The load balancer sends straight to the pods' own IPs (allocateLoadBalancerNodePorts: "
                "false): no kube-proxy rule picks, and the cloud spreads new connections evenly.")
    cluster, svc = route.cluster, route.service
    mode = cluster.proxy.mode if cluster.proxy.mode in MODES else "iptables"
    timeout = proxy.affinity_timeout(svc)
    receiving = [n for names, _ in lists for n in names]
    lines = []
    if len(receiving) > 1:
        lines.append(f"The cloud load balancer sends each new connection to one of "
                     f"{_names_and(receiving)} (1/{len(receiving)} each); kube-proxy there picks a pod.")
    address = next((h.get("address") for h in route.hops
                    if h["kind"] in ("load-balancer", "external-ip", "node-port", "service") and h.get("address")),
                   f"{svc.cluster_ip}:{route.port.port if route.port else ''}")
    for names, eps in lists:
        where = f"kube-proxy on {_names_and(names)}"
        if route.client_kind in ("pod", "node") and names == [route.client_node.name]:
            where += " (the client's own node)"
        n = len(eps)
        if mode == "iptables":
            lines.append(f"{where}, iptables mode: the Service's chain has one rule per pod, tried "
                         "top to bottom; the first that matches wins.")
            if timeout:
                lines.append(f"  sessionAffinity: ClientIP: before them, one `recent` rule per pod "
                             f"sends a client address that opened a connection in the last {timeout} s "
                             "back to its pod; only other addresses reach the random rules.")
            rules = proxy.cascade(eps, exact=True)
            shares = proxy.cascade_shares(rules)
            reach = 1
            rows = [("RULE", "MATCHES", "POD", "REACHED", "TAKES")]
            for i, (e, p) in enumerate(rules):
                match = (f"random, probability {proxy.probability_text(n - i)}" if i < n - 1
                         else "always (no condition)")
                rows.append((str(i + 1), match, e.pod or e.ip_port, _percent(reach), _percent(shares[e])))
                reach = reach * (1 - p)
            lines += _table(rows, right={3, 4})
        elif mode == "nftables":
            lines.append(f"{where}, nftables mode: one rule draws a number per new connection, "
                         f"`numgen random mod {n}`, and a map sends each number to one pod.")
            if timeout:
                lines.append(f"  sessionAffinity: ClientIP: before it, one set per pod (entries expire "
                             f"{timeout} s after the client's last new connection) sends a known "
                             "client address back to its pod.")
            rows = [("NUMBER", "POD", "TAKES")]
            rows += [(str(i), e.pod or e.ip_port, _percent(1 / n)) for i, e in proxy.numgen_map(eps)]
            lines += _table(rows, right={2})
        else:
            sched = proxy.ipvs_scheduler(cluster.proxy.ipvs_scheduler)
            persistent = f", persistent {timeout}" if timeout else ""
            lines.append(f"{where}, ipvs mode: virtual server {address}, scheduler {sched.name} "
                         f"({sched.title}){persistent}; every pod is a real server of weight 1.")
            if timeout:
                lines.append(f"  sessionAffinity: ClientIP: a client address keeps its pod while it "
                             f"has a connection open and for {timeout} s after; only new addresses "
                             "call the scheduler.")
            if sched.name in ("rr", "wrr") and n == 1:
                lines.append(f"  every new connection goes to the only pod, {eps[0].pod or eps[0].ip_port}: "
                             "100.0%")
            elif sched.name in ("rr", "wrr"):
                turn = [e.pod or e.ip_port for e in proxy.round_robin(eps, n)]
                lines.append("  new connections take turns: " + ", ".join(turn) + ", then the first again")
                lines.append(f"  each pod gets exactly 1 of every {n} new connections: {_percent(1 / n)}")
            else:
                lines.append(f"  {sched.name} {sched.how}.")
    if simulation is not None:
        counts = ", ".join(f"{p} {c:,}" for p, c in simulation.connections_per_pod.items())
        lines.append(f"Simulated: {simulation.connections:,} new connections from "
                     f"{simulation.clients} client addresses (seed {simulation.seed}): {counts}.")
    return "\n".join(_fill(line) for line in lines)


def _fill(line: str, width: int = 92) -> str:
    """Wrap a line of prose (tables are left alone); continuation lines indented."""
    if len(line) <= width or line.startswith("  ") and "  " in line.strip():
        return line
    lead = line[:len(line) - len(line.lstrip())]
    return textwrap.fill(line, width=width, initial_indent="", subsequent_indent=lead + "  ",
                         break_on_hyphens=False, break_long_words=False)


def _table(rows, right=frozenset()) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.rjust(w) if i in right else c.ljust(w)
                             for i, (c, w) in enumerate(zip(r, widths))).rstrip() for r in rows]
