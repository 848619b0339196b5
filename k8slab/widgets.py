"""The ipywidgets explorer: pick a client and a Service type, watch the route."""

# The explorer never computes routing itself: every change rewrites a copy of the cluster
# (the Service through manifests.with_service_type, as the API server would; kube-proxy's
# mode; the Service's pods through with_replicas), asks routing for the route, draw for the
# picture, proxy for the rules and simulate for a small seeded run, and shows what they answer.
#
# Output widgets are filled with `out.outputs = ()` then `out.append_display_data(obj)`,
# never `with out:`, so nothing leaks into the cell's own outputs (strict nbval compares
# those). The explorer's state is plain data (`Explorer.state`, `Explorer.text()`), so a
# notebook can print a stable check right after the live view.
from __future__ import annotations

import html
import time
from dataclasses import replace

import ipywidgets as w

from . import manifests, proxy, routing
from . import policy as netpol
from .variants import pod_counts, with_replicas  # re-exported: notebooks import them from here
from .errors import K8slabError
from .inline_image import img_html
from .model import Cluster, Service

__all__ = ["Explorer", "explorer", "CLIENT_CHOICES", "TYPES", "POLICIES", "DIALS", "MODES",
           "AFFINITIES", "MAX_PODS", "with_replicas", "pod_counts", "choice_text", "progress"]

#: The five kinds of client, as the toggle shows them (label, kind).
CLIENT_CHOICES = (("pod", "pod"), ("node", "node"), ("laptop", "laptop"),
                  ("other cluster", "other-cluster"), ("internet", "internet"))
_CLIENT_TIPS = ("a pod in this cluster", "a process on one of the cluster's nodes (host network)",
                "a machine outside the cluster that can reach the nodes' IPs",
                "a pod in a different Kubernetes cluster (it can reach node IPs)",
                "a client that can reach only a load balancer's public address")
#: The Service types the toggle switches between.
TYPES = ("ClusterIP", "NodePort", "LoadBalancer")
#: externalTrafficPolicy values (only NodePort and LoadBalancer Services have one).
POLICIES = ("Cluster", "Local")
#: How the client dials the Service (label, entry); None is the way such a client would.
DIALS = (("its usual way", None), ("the cluster IP", "ClusterIP"), ("a node port", "NodePort"),
         ("the load balancer", "LoadBalancer"))

#: kube-proxy's Linux modes, as the mode toggle offers them.
MODES = proxy.MODES
_MODE_TIPS = ("random rules tried top to bottom (kube-proxy's default)",
              "the kernel's IP Virtual Server: round robin by default (deprecated since Kubernetes 1.35)",
              "one random number per new connection picks the pod (GA since Kubernetes 1.33)")
#: sessionAffinity values.
AFFINITIES = ("None", "ClientIP")
#: The pod sliders go up to this many pods (or the Service's own count, if larger).
MAX_PODS = 8
#: The small simulation the explorer runs on every change: new connections, client addresses, seed.
SIM_CONNECTIONS, SIM_CLIENTS, SIM_SEED = 1000, 10, 0

_USUAL = "usual"
_GOOD, _BAD = "#1b7837", "#c1121f"
_CSS = """<style>
.k8slab-explorer pre {margin: 0; padding: 6px 8px; background: #f6f7f9; border: 1px solid #dde;
  border-radius: 4px; font-size: 12px; line-height: 1.35; white-space: pre-wrap;}
.k8slab-explorer .k8slab-yaml pre {user-select: all; -webkit-user-select: all; cursor: copy;}
.k8slab-explorer table.k8slab-pods {border-collapse: collapse; font-size: 12px;}
.k8slab-explorer table.k8slab-pods td, .k8slab-explorer table.k8slab-pods th
  {padding: 2px 10px 2px 0; text-align: left; border: none;}
.k8slab-explorer .k8slab-note {color: #666; font-size: 12px;}
.k8slab-explorer .widget-html-content {line-height: 1.45;}
.k8slab-explorer .k8slab-diagram img, .k8slab-explorer .k8slab-diagram svg {max-width: 100%; height: auto;}
.k8slab-explorer .k8slab-choice pre {white-space: pre-wrap; overflow-wrap: anywhere;}
</style>"""


def explorer(cluster: Cluster, service: str | None = None, namespace: str = "default",
             **settings) -> "Explorer":
    """The explorer for `service` (default: `web`, else the first proxied Service).

    `settings` are the starting values: client, service_type, via_node,
    external_traffic_policy, entry, mode, session_affinity, replicas, ready, terminating
    (see `Explorer.set`).
    """
    return Explorer(cluster, service=service, namespace=namespace, **settings)


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


def _client_text(pod) -> str:
    return f"pod/{pod.name}" if pod.namespace == "default" else f"pod/{pod.namespace}/{pod.name}"


class Explorer:
    """Pick who calls a Service, its type and policies, kube-proxy's mode and the Service's pods.

    Every change redraws at once: the route, the picture, each pod's chance, how kube-proxy
    picks (`choice_text`) and a small seeded simulation. Attributes: `route` (a
    routing.Route), `cluster` (the rewritten copy), `service` (the rewritten Service),
    `diagram` (the current picture), `simulation` (the small run, or None), `state` (plain
    data), `widget` (the ipywidgets box), `controls` (name -> widget), `pods` (replicas,
    ready, terminating), `last_update_ms` (how long the last redraw took in the kernel).
    """

    def __init__(self, cluster: Cluster, service: str | None = None, namespace: str = "default",
                 client: str = "laptop", service_type: str | None = None,
                 via_node: str | None = None, external_traffic_policy: str | None = None,
                 entry: str | None = None, mode: str | None = None,
                 session_affinity: str | None = None, replicas: int | None = None,
                 ready: int | None = None, terminating: int | None = None):
        self.base = cluster
        self._original = _pick_service(cluster, service, namespace)
        self._clusters: dict[tuple, Cluster] = {}
        self._scaled: dict[tuple[int, int, int], Cluster] = {}
        self._holding = False
        self.route = None
        self.diagram = None
        self.simulation = None
        self.cluster = cluster
        self.service = self._original
        self.last_update_ms = 0.0
        self._base_mode = cluster.proxy.mode if cluster.proxy.mode in MODES else "iptables"
        self._base_pods = pod_counts(cluster, self._original)
        self._scalable = bool(self._base_pods[0]) and self._original.key not in cluster._slices_by_service
        self._build()
        self._holding = True
        try:
            for name, value in zip(("replicas", "ready", "terminating"), self._base_pods):
                self.controls[name].value = value
            self._limit_pod_sliders()
        finally:
            self._holding = False
        self.set(client=client, service_type=service_type or self._default_type(),
                 via_node=via_node, external_traffic_policy=external_traffic_policy,
                 entry=entry, mode=mode, session_affinity=session_affinity, replicas=replicas,
                 ready=ready, terminating=terminating)

    # -- building the widgets ---------------------------------------------------------------
    def _default_type(self) -> str:
        t = self._original.type
        return t if t in TYPES else "ClusterIP"

    def _build(self) -> None:
        c = self.base
        pods = [p for p in c.pods if p.node and p.ip]
        nodes = [n.name for n in c.nodes]
        self.controls = {
            "kind": w.ToggleButtons(options=[(label, kind) for label, kind in CLIENT_CHOICES],
                                    tooltips=list(_CLIENT_TIPS),
                                    style={"button_width": "112px"}),
            "pod": w.Dropdown(options=[(f"{p.name} (on {p.node})", _client_text(p)) for p in pods],
                              layout=w.Layout(width="280px")),
            "node": w.Dropdown(options=[(n, f"node/{n}") for n in nodes],
                               layout=w.Layout(width="280px")),
            "type": w.ToggleButtons(options=list(TYPES),
                                    tooltips=["reachable from inside the cluster only",
                                              "also a port on every node's IP",
                                              "also a cloud load balancer in front of the node ports"],
                                    style={"button_width": "112px"}),
            "policy": w.ToggleButtons(options=list(POLICIES),
                                      tooltips=["any ready pod, on any node (client address lost)",
                                                "only pods on the receiving node (client address kept)"],
                                      style={"button_width": "112px"}),
            "dial": w.Dropdown(options=[(label, entry or _USUAL) for label, entry in DIALS],
                               layout=w.Layout(width="180px")),   # the value None shows blank
            "via": w.Dropdown(options=nodes, layout=w.Layout(width="120px")),
            "mode": w.ToggleButtons(options=list(MODES), tooltips=list(_MODE_TIPS),
                                    style={"button_width": "112px"}),
            "affinity": w.ToggleButtons(options=list(AFFINITIES),
                                        tooltips=["each new connection is placed on its own",
                                                  "a client address keeps its pod (3 hours by default)"],
                                        style={"button_width": "112px"}),
            # NetworkPolicy in the Service's namespace (issue 20; k8slab.policy.lockdown).
            "netpol": w.ToggleButtons(options=list(netpol.LOCKDOWN_CHOICES),
                                      tooltips=["the policies the cluster has",
                                                "every pod of the namespace isolated, both directions",
                                                "default deny, plus DNS and the Service allowed"],
                                      style={"button_width": "150px"}),
        }
        top = max(MAX_PODS, self._base_pods[0])
        sliders = {"replicas": "pods", "ready": "ready", "terminating": "terminating"}
        for name, label in sliders.items():
            self.controls[name] = w.IntSlider(
                min=0, max=top, description=label, continuous_update=True,
                style={"description_width": "initial"}, layout=w.Layout(width="240px"))
        if not pods:
            self.controls["pod"].options = [("(no running pod)", "")]
        for name, ctl in self.controls.items():
            ctl.add_class(f"k8slab-{name}")
            if name in sliders:
                ctl.observe(self._pods_changed, names="value")
            else:
                ctl.observe(self._changed, names="value")
        self._which = w.Box([self.controls["pod"]])
        self._headline = w.HTML()
        self._reason = w.HTML()
        self._diagram = w.Output()
        self._hops = w.HTML()
        self._pods = w.HTML()
        self._yaml = w.HTML()
        self._choice = w.HTML()
        self._why = w.HTML()
        self._lookup = w.HTML()
        # The name a pod's program uses (`web`, `web.shop`, the FQDN): a pod client's route
        # starts with its lookup (route's `name`), so a name that does not resolve from that
        # pod stops the picture there, as the Name lookup panel shows try by try.
        self.name_input = w.Text(value=self._original.name, continuous_update=False,
                                 placeholder="web, web.shop, web.shop.svc.cluster.local",
                                 layout=w.Layout(width="280px"))
        self.name_input.add_class("k8slab-name")
        self.name_input.observe(self._changed, names="value")
        for box, cls in ((self._headline, "headline"), (self._reason, "reason"),
                         (self._diagram, "diagram"), (self._hops, "hops"), (self._pods, "pods"),
                         (self._yaml, "yaml"), (self._choice, "choice")):
            box.add_class(f"k8slab-{cls}")
        svc = self._original
        title = w.HTML(f"{_CSS}<b>Explore Service {html.escape(svc.key)}</b> "
                       "<span class='k8slab-note'>(every control rewrites a copy of the cluster, "
                       "as the API server, the Deployment or kube-proxy's configuration would; the "
                       "cluster you gave is never changed)</span>")
        ctl = self.controls
        rows = w.GridBox(
            [_label("Who calls"), w.HBox([ctl["kind"], self._which]),
             _label("Service type"), ctl["type"],
             _label("externalTrafficPolicy"), ctl["policy"],
             _label("The client dials"),
             w.HBox([ctl["dial"], _label("node IP it targets", "auto", "0 4px 0 16px"), ctl["via"]],
                    layout=w.Layout(align_items="center")),
             _label("kube-proxy mode"), ctl["mode"],
             _label("sessionAffinity"), ctl["affinity"],
             _label(f"NetworkPolicy in {svc.namespace}"), ctl["netpol"],
             _label("The name it types"), self.name_input,
             _label(f"Pods of {svc.name}"),
             w.HBox([ctl["replicas"], ctl["ready"], ctl["terminating"]],
                    layout=w.Layout(flex_flow="row wrap"))],
            layout=w.Layout(grid_template_columns="170px auto", grid_gap="4px 8px",
                            align_items="center"))
        # Panels wrap onto new rows rather than clip: each may shrink to nothing (min_width 0)
        # and its text wraps. The rule tables of "How kube-proxy picks" are up to ~90
        # characters wide: that panel gets a row of its own, below the other two.
        # The pod table needs about 560 px to keep each row on one line; the YAML, less.
        left = w.VBox([w.HTML("<b>Hop chain</b>"), self._hops, w.HTML("<b>Pods</b>"), self._pods],
                      layout=w.Layout(flex="2 1 420px", min_width="0", margin="0 16px 0 0"))
        picks = w.VBox([w.HTML("<b>How kube-proxy picks</b>"), self._choice],
                       layout=w.Layout(flex="1 1 100%", min_width="0"))
        lookup = w.VBox([w.HTML("<b>Name lookup</b> <span class='k8slab-note'>(what the client's "
                                "resolver asks the cluster DNS, try by try, as <code>k8slab dns"
                                "</code> shows it)</span>"), self._lookup],
                        layout=w.Layout(flex="1 1 100%", min_width="0"))
        why = w.VBox([w.HTML("<b>Why?</b> <span class='k8slab-note'>(the Debug Services checks, "
                             "as <code>k8slab diagnose</code> runs them for what this client "
                             "dials)</span>"), self._why],
                     layout=w.Layout(flex="1 1 100%", min_width="0"))
        right = w.VBox([w.HTML("<b>Service YAML</b> <span class='k8slab-note'>(what "
                               "<code>kubectl apply -f</code> takes; one click selects it "
                               "all, ready to copy)</span>"), self._yaml],
                       layout=w.Layout(flex="1 1 260px", min_width="0"))
        self.widget = w.VBox(
            [title, rows, self._headline, self._reason, self._diagram,
             w.Box([left, right, picks, why, lookup], layout=w.Layout(display="flex", flex_flow="row wrap",
                                                         width="100%"))])
        self.widget.add_class("k8slab-explorer")

    # -- driving it ---------------------------------------------------------------------------
    def set(self, client: str | None = None, service_type: str | None = None,
            via_node: str | None = None, external_traffic_policy: str | None = None,
            entry: str | None = ..., mode: str | None = None, session_affinity: str | None = None,
            replicas: int | None = None, ready: int | None = None,
            terminating: int | None = None, network_policy: str | None = None) -> "Explorer":
        """Change several controls at once, then redraw once (what the notebook and tests use).

        `client` is any client text (`pod/NAME`, `node/NAME`, `laptop`, `other-cluster`,
        `internet`); `entry` forces how the client dials (None: its usual way); `mode` is
        kube-proxy's mode (iptables, ipvs, nftables); `session_affinity` None or ClientIP;
        `replicas`, `ready` and `terminating` set the Service's pods (see `with_replicas`:
        when `ready` is not given, every pod that is not terminating is ready).
        """
        ctl = self.controls
        values: dict[str, object] = {}        # checked first, so a bad setting changes nothing
        if client is not None:
            kind = client.partition("/")[0] if isinstance(client, str) else None
            if kind not in routing.CLIENT_KINDS:
                raise K8slabError(f"client {client!r}: give one of pod/NAME, node/NAME, "
                                  "laptop, other-cluster, internet")
            if kind in ("pod", "node") and "/" in client:
                known = [v for _, v in ctl[kind].options]
                if client not in known:
                    raise K8slabError(f"client {client!r}: not one of {', '.join(known)}")
                values[kind] = client
            values["kind"] = kind
        if service_type is not None:
            if service_type not in TYPES:
                raise K8slabError(f"type {service_type!r}: give one of {', '.join(TYPES)}")
            values["type"] = service_type
        if via_node is not None:
            if via_node not in ctl["via"].options:
                raise K8slabError(f"via node {via_node!r}: give one of {', '.join(ctl['via'].options)}")
            values["via"] = via_node
        starting = self.route is None
        if external_traffic_policy is None and starting:
            external_traffic_policy = self._original.external_traffic_policy   # the starting value
        if external_traffic_policy is not None:
            if external_traffic_policy not in POLICIES:
                raise K8slabError(f"externalTrafficPolicy {external_traffic_policy!r}: give "
                                  f"{' or '.join(POLICIES)}")
            values["policy"] = external_traffic_policy
        if entry is not ...:
            allowed = [v for _, v in DIALS]
            if entry not in allowed:
                raise K8slabError(f"entry {entry!r}: give one of {', '.join(map(str, allowed))}")
            values["dial"] = entry or _USUAL
        if mode is None and starting:
            mode = self._base_mode
        if mode is not None:
            if mode not in MODES:
                raise K8slabError(f"mode {mode!r}: give one of {', '.join(MODES)}")
            values["mode"] = mode
        if session_affinity is None and starting:
            session_affinity = self._original.session_affinity
        if session_affinity is not None:
            if session_affinity not in AFFINITIES:
                raise K8slabError(f"sessionAffinity {session_affinity!r}: give "
                                  f"{' or '.join(AFFINITIES)}")
            values["affinity"] = session_affinity
        if network_policy is not None:
            if network_policy not in netpol.LOCKDOWN_CHOICES:
                raise K8slabError(f"network_policy {network_policy!r}: give one of "
                                  f"{', '.join(netpol.LOCKDOWN_CHOICES)}")
            values["netpol"] = network_policy
        if (replicas, ready, terminating) != (None, None, None):
            pods = self._pod_values(replicas, ready, terminating)
            values.update(zip(("replicas", "ready", "terminating"), pods))
        self._holding = True
        try:
            if "replicas" in values:
                top = max(ctl["replicas"].max, values["replicas"])
                for name in ("replicas", "ready", "terminating"):
                    ctl[name].max = top
            for name, value in values.items():
                ctl[name].value = value
            self._limit_pod_sliders()
        finally:
            self._holding = False
        self.update()
        return self

    def _pod_values(self, replicas, ready, terminating) -> tuple[int, int, int]:
        """The three pod numbers a change asks for, checked, with `ready` following along."""
        ctl = self.controls
        n0, r0, t0 = (ctl["replicas"].value, ctl["ready"].value, ctl["terminating"].value)
        n = n0 if replicas is None else replicas
        t = t0 if terminating is None else terminating
        for name, value in (("replicas", n), ("terminating", t)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise K8slabError(f"{name}: give a whole number from 0 up, not {value!r}")
        if n > 64:
            raise K8slabError(f"replicas: at most 64 in a what-if, not {n}")
        if t > n:
            raise K8slabError(f"terminating: at most the {n} pods there are, not {t}")
        if ready is None:
            # "Every pod that is not terminating is ready" stays so; otherwise keep the number.
            ready = n - t if r0 == n0 - t0 else min(r0, n - t)
        if isinstance(ready, bool) or not isinstance(ready, int) or not 0 <= ready <= n - t:
            raise K8slabError(f"ready: give a number from 0 to {n - t} (the pods that are not "
                              f"terminating), not {ready!r}")
        if not self._scalable and (n, ready, t) != (n0, r0, t0):
            raise K8slabError(f"Service {self._original.name}: its pods cannot be changed here "
                              "(it selects no running pod to copy, or its endpoints are given "
                              "as EndpointSlices)")
        return n, ready, t

    def _limit_pod_sliders(self) -> None:
        ctl = self.controls
        n = ctl["replicas"].value
        ctl["terminating"].max = max(n, 0)
        ctl["ready"].max = max(n - ctl["terminating"].value, 0)

    def _pods_changed(self, change) -> None:
        """A pod slider moved: keep the three consistent, then redraw once."""
        if self._holding:
            return
        ctl = self.controls
        name = next(k for k in ("replicas", "ready", "terminating") if ctl[k] is change["owner"])
        old = {k: ctl[k].value for k in ("replicas", "ready", "terminating")}
        old[name] = change["old"]
        n, r, t = old["replicas"], old["ready"], old["terminating"]
        self._holding = True
        try:
            if name in ("replicas", "terminating"):
                new_n, new_t = ctl["replicas"].value, min(ctl["terminating"].value, ctl["replicas"].value)
                all_ready = r == n - t
                new_r = new_n - new_t if all_ready else min(r, new_n - new_t)
                ctl["terminating"].max = new_n
                ctl["terminating"].value = new_t
                ctl["ready"].max = new_n - new_t
                ctl["ready"].value = new_r
            self._limit_pod_sliders()
        finally:
            self._holding = False
        self.update()

    def _changed(self, change) -> None:
        if not self._holding:
            self.update()

    @property
    def typed_name(self) -> str | None:
        """The name the route starts from: what is typed, for a pod client that dials by name
        (the default way in, or ClusterIP). A node's process dials the cluster IP (its own
        resolver knows no cluster names: the Name lookup panel shows why); outside clients
        dial an address."""
        name = self.name_input.value.strip() if hasattr(self, "name_input") else ""
        if name and self.controls["kind"].value == "pod" and self.dial in (None, "ClusterIP"):
            return name
        return None

    @property
    def client(self) -> str:
        kind = self.controls["kind"].value
        if kind in ("pod", "node"):
            return self.controls[kind].value
        return kind

    @property
    def dial(self) -> str | None:
        """The entry the client is forced to use, or None for its usual way."""
        value = self.controls["dial"].value
        return None if value == _USUAL else value

    @property
    def pods(self) -> tuple[int, int, int]:
        """(pods, ready, terminating) as the sliders say."""
        ctl = self.controls
        return ctl["replicas"].value, ctl["ready"].value, ctl["terminating"].value

    def _cluster_for(self, service_type: str, policy: str | None, mode: str | None = None,
                     affinity: str | None = None, pods: tuple[int, int, int] | None = None) -> Cluster:
        mode = mode or self._base_mode
        affinity = affinity or self._original.session_affinity
        pods = pods or self._base_pods
        key = (service_type, policy, mode, affinity, pods)
        cached = self._clusters.get(key)
        if cached is None:
            cached = self._scaled_cluster(pods)
            svc = self._original
            if svc.proxied:
                cached = manifests.with_service_type(cached, svc, service_type,
                                                     external_traffic_policy=policy)
                svc = cached.service(svc.name, svc.namespace)
                if affinity != svc.session_affinity:
                    timeout = (svc.session_affinity_timeout or proxy.DEFAULT_AFFINITY_TIMEOUT
                               if affinity == "ClientIP" else None)
                    cached = cached.replace_service(replace(svc, session_affinity=affinity,
                                                            session_affinity_timeout=timeout))
                if mode != cached.proxy.mode:
                    cached = cached.copy(proxy=replace(cached.proxy, mode=mode))
            if len(self._clusters) > 256:          # a long session: forget the oldest copies
                self._clusters.clear()
            self._clusters[key] = cached
        return cached

    def _scaled_cluster(self, pods: tuple[int, int, int]) -> Cluster:
        if pods == self._base_pods:
            return self.base
        cached = self._scaled.get(pods)
        if cached is None:
            n, r, t = pods
            cached = with_replicas(self.base, self._original, n, ready=r, terminating=t)
            self._scaled[pods] = cached
        return cached

    def update(self) -> None:
        """Recompute the route for the controls' values and redraw every output in place."""
        started = time.perf_counter()
        ctl = self.controls
        kind = ctl["kind"].value
        proxied = self._original.proxied
        service_type = ctl["type"].value if proxied else self._original.type
        external = service_type in ("NodePort", "LoadBalancer")
        policy = ctl["policy"].value if external else None
        self.cluster = netpol.lockdown(
            self._cluster_for(service_type, policy, ctl["mode"].value, ctl["affinity"].value, self.pods),
            self._original.namespace, ctl["netpol"].value, self._original.selector)
        self.service = self.cluster.service(self._original.name, self._original.namespace)
        self._follow_pods()
        kind = ctl["kind"].value
        if kind in ("pod", "node"):
            self._which.children = [ctl[kind]]
        else:
            self._which.children = []
        try:
            self.route = self.cluster.route(client=self.client, service=self.service.name,
                                            namespace=self.service.namespace,
                                            entry=self.dial, via_node=ctl["via"].value,
                                            name=self.typed_name)
            error = None
        except K8slabError as exc:          # e.g. a pod client in a cluster with no pods
            self.route, error = None, str(exc)
        self.simulation = _small_simulation(self.route)
        ctl["type"].disabled = not proxied
        ctl["policy"].disabled = not (proxied and external)
        ctl["mode"].disabled = ctl["affinity"].disabled = not proxied
        for name in ("replicas", "ready", "terminating"):
            ctl[name].disabled = not self._scalable
        r = self.route
        ctl["via"].disabled = not (r is not None and kind in ("laptop", "other-cluster", "pod", "node")
                                   and (r.entry == "NodePort" or self.dial == "NodePort"))
        self._render(error)
        self.last_update_ms = (time.perf_counter() - started) * 1000

    def _show_lookup(self) -> None:
        """The lookup of the typed name from the current client, every search-list try shown."""
        self._lookup.value = _pre(lookup_text(self.cluster, self.client, self.name_input.value))

    def _follow_pods(self) -> None:
        """Offer the pods this state's cluster has: fewer replicas remove some, more add some. A
        chosen pod that no longer exists gives way to the first one left, so no state the
        controls can reach shows "no such pod"."""
        pods = [p for p in self.cluster.pods if p.node and p.ip]
        options = [(f"{p.name} (on {p.node})", _client_text(p)) for p in pods] or [("(no running pod)", "")]
        dropdown = self.controls["pod"]
        if list(dropdown.options) == options:
            return
        value = dropdown.value if dropdown.value in {v for _, v in options} else options[0][1]
        holding, self._holding = self._holding, True       # no redraw for this bookkeeping
        try:
            dropdown.options = options
            dropdown.value = value
            if not value and self.controls["kind"].value == "pod":
                # No pod is left to be the client (the sliders scaled them all away): a
                # process on a node calls instead, rather than an error.
                self.controls["kind"].value = "node"
        finally:
            self._holding = holding

    # -- showing it -----------------------------------------------------------------------------
    def _render(self, error: str | None) -> None:
        from .draw import draw      # the function, not k8slab.draw (a module of that name)
        r = self.route
        if r is None:
            self.diagram = None
            self._headline.value = f"<b style='color:{_BAD}'>Cannot route: {html.escape(error)}</b>"
            self._reason.value = ""
            _show(self._diagram, None)
            self._hops.value = self._pods.value = self._choice.value = self._why.value = ""
            self._yaml.value = _pre(manifests.service_to_yaml(self.service))
            self._show_lookup()         # a typed name that names another Service: its lookup
            return
        self.diagram = draw(r, caption=False)     # the headline and reason are printed above it
        _show(self._diagram, self.diagram)
        if r.reachable:
            head = f"<b style='color:{_GOOD}'>\u2714 Reachable</b> via {html.escape(r.entry)}"
        else:
            how = f" (entered by {html.escape(r.entry)})" if r.entry else ""
            head = (f"<b style='color:{_BAD}'>\u2718 Not reachable</b>: "
                    f"<code>{html.escape(r.code)}</code>{how}")
        self._headline.value = (f"<div style='font-size:14px;margin-top:6px'>{head} &nbsp; "
                                f"<span class='k8slab-note'>{html.escape(r.client)} \u2192 "
                                f"Service {html.escape(self.service.key)} "
                                f"({html.escape(_type_label(self.service))})</span></div>")
        self._reason.value = f"<div style='max-width:60em'><b>Why:</b> {html.escape(r.reason)}</div>"
        self._hops.value = _pre(hop_chain(r))
        self._pods.value = _pod_table(r, self.simulation)
        self._choice.value = _pre(choice_text(r, self.simulation))
        self._why.value = why_html(self.cluster, r)
        self._show_lookup()
        self._yaml.value = _pre(manifests.service_to_yaml(self.service) + _status_note(self.service))

    @property
    def state(self) -> dict:
        """What the explorer shows, as plain data: the settings and the route's outcome."""
        r, svc = self.route, self.service
        return {
            "client": self.client,
            "service": svc.key,
            "type": _type_label(svc),
            "external_traffic_policy": svc.external_traffic_policy,
            "dial": self.dial,
            "name": self.typed_name,
            "via_node": self.controls["via"].value,
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

    def text(self) -> str:
        """A stable text view of the current state: the settings, then the route as the CLI prints it."""
        s = self.state
        policy = s["external_traffic_policy"] or "-"
        dial = s["dial"] or "its usual way"
        head = (f"client={s['client']}  Service {s['service']} type={s['type']}  "
                f"externalTrafficPolicy={policy}  dials={dial}  via-node={s['via_node']}")
        changed = self._what_if()
        if changed:
            head += "\nwhat if: " + changed
        return head + "\n\n" + (self.route.text() if self.route else "no route")

    def _what_if(self) -> str:
        """The proxy and pod settings that differ from the cluster as given, in words."""
        parts = []
        if self.cluster.proxy.mode != self.base.proxy.mode:
            parts.append(f"kube-proxy mode={self.cluster.proxy.mode}")
        if self.service.session_affinity != self._original.session_affinity:
            parts.append(f"sessionAffinity={self.service.session_affinity}")
        if self.pods != self._base_pods:
            n, r, t = self.pods
            parts.append(f"pods={n} ({r} ready, {t} terminating, {n - r - t} starting)")
        return "  ".join(parts)

    def choice_text(self) -> str:
        """How kube-proxy picks a pod for the current route, and the small simulation's counts."""
        return choice_text(self.route, self.simulation) if self.route else "no route"

    def _summary(self) -> str:
        s = self.state
        outcome = (f"reachable via {s['entry']}" if s["reachable"]
                   else f"not reachable ({s['code']})")
        return f"<k8slab explorer: {s['client']} -> {s['service']} ({s['type']}): {outcome}>"

    def __repr__(self) -> str:
        return self._summary()

    def static_html(self) -> str:
        """A still picture of what the explorer shows now, as HTML that JupyterLab's sanitizer
        keeps (inline styles, no <style>, no script): the headline, the reason, the diagram,
        the hop chain and the YAML."""
        note = ("a still picture of the explorer as it starts: run the notebook's cells "
                "(or this one) to use its controls")
        box = "flex:1 1 320px;min-width:0;margin:0 16px 0 0"
        pre = ("margin:0;padding:6px 8px;background:#f6f7f9;border:1px solid #dde;"
               "border-radius:4px;font-size:12px;line-height:1.35;white-space:pre-wrap;"
               "overflow-wrap:anywhere")
        picture = img_html(self.diagram.svg(), self.diagram.alt) if self.diagram else ""
        hops = _pre(hop_chain(self.route)) if self.route else ""
        yaml = _pre(manifests.service_to_yaml(self.service) + _status_note(self.service))
        # The live view's HTML pieces carry class names for its CSS; here the styles are inline.
        def styled(fragment: str) -> str:
            return fragment.replace("<pre>", f"<pre style='{pre}'>").replace(
                "class='k8slab-note'", "style='color:#666;font-size:12px'")
        return (f"<div class='k8slab-explorer-static' style='max-width:100%'>"
                f"<div><b>Explore Service {html.escape(self.service.key)}</b> "
                f"<span style='color:#666;font-size:12px'>({note})</span></div>"
                f"{styled(self._headline.value)}{self._reason.value}"
                f"<div class='k8slab-diagram'>{picture}</div>"
                f"<div style='display:flex;flex-wrap:wrap'>"
                f"<div style='{box}'><b>Hop chain</b>{styled(hops)}</div>"
                f"<div style='flex:1 1 280px;min-width:0'><b>Service YAML</b>{styled(yaml)}</div>"
                "</div></div>")

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        data = self.widget._repr_mimebundle_(**kwargs)
        if isinstance(data, tuple):
            data = data[0]
        data = dict(data)
        data["text/plain"] = self._summary()     # stable: no model id, no memory address
        # What JupyterLab shows when the live view cannot be: an untrusted notebook (the
        # widget renderer is not `safe`) or no kernel. A running cell shows the live view,
        # which rendermime ranks first for trusted output.
        data["text/html"] = self.static_html()
        return data


# -- helpers ---------------------------------------------------------------------------------
def _show(out: w.Output, obj) -> None:
    """Replace what an Output widget shows, without `with out:` (which leaks under nbval)."""
    out.outputs = ()
    if obj is None:
        return
    try:
        from IPython import get_ipython
        shell = get_ipython()
    except ImportError:
        shell = None
    if shell is not None:
        out.append_display_data(obj)
    else:   # plain Python (benchmarks, unit tests): same output record, no shell needed
        out.outputs = ({"output_type": "display_data", "data": obj._repr_mimebundle_(),
                        "metadata": {}},)


def _label(text: str, width: str = "170px", margin: str = "0 4px 0 0") -> w.HTML:
    return w.HTML(f"<span style='font-weight:600'>{html.escape(text)}</span>",
                  layout=w.Layout(width=width, margin=margin))


def _type_label(svc: Service) -> str:
    return "headless" if svc.headless else svc.type


def _pre(text: str) -> str:
    return f"<pre>{html.escape(text.rstrip())}</pre>"


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
    from . import dns            # loaded on first use, like diagnose for the Why? panel
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
    from . import diagnose      # loaded on first use: the panel is the only widget that needs it
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


_HOP_NAMES = {"client": "client", "load-balancer": "load balancer", "external-ip": "external IP",
              "node-port": "node port", "service": "Service rules", "pod": "pod", "dns": "cluster DNS"}


def hop_chain(route) -> str:
    """The hop chain, one hop a line, marked where an unreachable route stops."""
    lines = []
    for i, h in enumerate(route.hops):
        arrow = "   " if i == 0 else "-> "
        name = h.get("kind", "?")
        stop = "   <- stops here" if not route.reachable and route.stopped_at == i else ""
        lines.append(f"{arrow}{name:<13} {_hop_words(h)}".rstrip() + stop)
    return "\n".join(lines)


def _pod_table(route, simulation=None) -> str:
    sim = simulation.connections_per_pod if simulation is not None else None
    names = dict(zip((e.ip_port for e in (x.endpoint for x in route.endpoints)),
                     simulation.pod_names)) if simulation is not None else {}
    rows = []
    for e in route.endpoints:
        ep = e.endpoint
        if e.probability is None:
            chance, bar = "the client picks", ""
        else:
            chance = f"{e.probability:.1%}"
            bar = (f"<span style='display:inline-block;height:9px;width:{round(e.probability * 80)}px;"
                   f"background:#762a83'></span>")
        got = f"<td>{sim[names[ep.ip_port]]:,}</td>" if sim is not None else ""
        rows.append(f"<tr><td>{html.escape(ep.pod or '-')}</td><td>{html.escape(ep.node or '-')}</td>"
                    f"<td><code>{html.escape(ep.ip_port)}</code></td><td>{chance}</td><td>{bar}</td>"
                    f"{got}</tr>")
    span = 3 if sim is not None else 2
    for ep, why in route.excluded:
        rows.append(f"<tr style='color:#888'><td>{html.escape(ep.pod or ep.address)}</td>"
                    f"<td>{html.escape(ep.node or '-')}</td><td><code>{html.escape(ep.ip_port)}</code></td>"
                    f"<td colspan='{span}'>cannot answer: {html.escape(why)}</td></tr>")
    if not rows:
        return "<div class='k8slab-note'>No pod can answer this client.</div>"
    sim_head = f"<th>of {SIM_CONNECTIONS:,}*</th>" if sim is not None else ""
    head = f"<tr><th>pod</th><th>node</th><th>address</th><th>chance</th><th></th>{sim_head}</tr>"
    note = ("" if route.endpoints else
            "<div class='k8slab-note'>No pod answers this client: the request never reaches one.</div>")
    if sim is not None:
        note += (f"<div class='k8slab-note'>* {SIM_CONNECTIONS:,} new connections from {SIM_CLIENTS} "
                 f"client addresses, simulated (seed {SIM_SEED}).</div>")
    return f"<table class='k8slab-pods'>{head}{''.join(rows)}</table>{note}"


def _small_simulation(route):
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
    import textwrap
    lead = line[:len(line) - len(line.lstrip())]
    return textwrap.fill(line, width=width, initial_indent="", subsequent_indent=lead + "  ",
                         break_on_hyphens=False, break_long_words=False)


def _table(rows, right=frozenset()) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.rjust(w) if i in right else c.ljust(w)
                             for i, (c, w) in enumerate(zip(r, widths))).rstrip() for r in rows]


class _ProgressView:
    """A progress bar as a notebook shows it: the live widget, and stable text for everything else."""

    def __init__(self, bar: w.IntProgress, text: str):
        self.bar, self.text = bar, text

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        data = self.bar._repr_mimebundle_(**kwargs)
        if isinstance(data, tuple):
            data = data[0]
        data = dict(data or {})
        data["text/plain"] = self.text
        return data


def progress(iterable, total: int | None = None, description: str = "running"):
    """Yield from `iterable` while a progress bar fills in Jupyter; elsewhere, just yield.

    For loops long enough to need one (many simulation runs). The bar is an ipywidgets
    IntProgress: the cell's saved output is the widget view (which nbval never compares)
    and a fixed text, `<progress: DESCRIPTION, N steps>`, never a count or a time.
    """
    if total is None:
        try:
            total = len(iterable)
        except TypeError:
            raise K8slabError("progress: give total= for an iterable without a length") from None
    try:
        from IPython import get_ipython
        shell = get_ipython()
    except ImportError:
        shell = None
    bar = None
    if shell is not None and getattr(shell, "kernel", None) is not None:
        from IPython.display import display
        bar = w.IntProgress(value=0, min=0, max=max(total, 1), description=description,
                            style={"description_width": "initial"}, layout=w.Layout(width="420px"))
        display(_ProgressView(bar, f"<progress: {description}, {total:,} steps>"))
    step = max(1, total // 100)
    done = 0
    for item in iterable:
        yield item
        done += 1
        if bar is not None and (done % step == 0 or done == total):
            bar.value = min(done, bar.max)
    if bar is not None:
        bar.bar_style = "success"


def _status_note(svc: Service) -> str:
    lines = []
    if svc.cluster_ip and svc.cluster_ip != "None":
        lines.append(f"# the API server fills in: clusterIP {svc.cluster_ip}")
    if svc.type == "LoadBalancer":
        external = ", ".join(svc.load_balancer_ingress) or "<pending> (no cloud has given one)"
        lines.append(f"# kubectl get service shows EXTERNAL-IP: {external}")
    return ("\n" + "\n".join(lines)) if lines else ""
