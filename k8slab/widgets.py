"""The ipywidgets explorer: pick a client and a Service type, watch the route."""

# The explorer never computes routing itself: every change rewrites a copy of the Service
# (manifests.with_service_type, as the API server would), asks routing for the route and
# draw for the picture, and shows what they answer.
#
# Output widgets are filled with `out.outputs = ()` then `out.append_display_data(obj)`,
# never `with out:`, so nothing leaks into the cell's own outputs (strict nbval compares
# those). The explorer's state is plain data (`Explorer.state`, `Explorer.text()`), so a
# notebook can print a stable check right after the live view.
from __future__ import annotations

import html
import time

import ipywidgets as w

from . import manifests, routing
from .errors import K8slabError
from .model import Cluster, Service

__all__ = ["Explorer", "explorer", "CLIENT_CHOICES", "TYPES", "POLICIES", "DIALS"]

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
</style>"""


def explorer(cluster: Cluster, service: str | None = None, namespace: str = "default",
             **settings) -> "Explorer":
    """The explorer for `service` (default: `web`, else the first proxied Service).

    `settings` are the starting values: client, service_type, via_node,
    external_traffic_policy, entry (see `Explorer.set`).
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
    """Pick who calls a Service and what type the Service is; the route is redrawn at once.

    Attributes: `route` (a routing.Route), `cluster` (the cluster with the rewritten
    Service), `service` (that Service), `diagram` (the current picture), `state` (plain
    data), `widget` (the ipywidgets box), `controls` (name -> widget),
    `last_update_ms` (how long the last redraw took in the kernel).
    """

    def __init__(self, cluster: Cluster, service: str | None = None, namespace: str = "default",
                 client: str = "laptop", service_type: str | None = None,
                 via_node: str | None = None, external_traffic_policy: str | None = None,
                 entry: str | None = None):
        self.base = cluster
        self._original = _pick_service(cluster, service, namespace)
        self._clusters: dict[tuple[str, str | None], Cluster] = {}
        self._holding = False
        self.route = None
        self.diagram = None
        self.cluster = cluster
        self.service = self._original
        self.last_update_ms = 0.0
        self._build()
        self.set(client=client, service_type=service_type or self._default_type(),
                 via_node=via_node, external_traffic_policy=external_traffic_policy,
                 entry=entry)

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
        }
        if not pods:
            self.controls["pod"].options = [("(no running pod)", "")]
        for name, ctl in self.controls.items():
            ctl.add_class(f"k8slab-{name}")
            ctl.observe(self._changed, names="value")
        self._which = w.Box([self.controls["pod"]])
        self._headline = w.HTML()
        self._reason = w.HTML()
        self._diagram = w.Output()
        self._hops = w.HTML()
        self._pods = w.HTML()
        self._yaml = w.HTML()
        for box, cls in ((self._headline, "headline"), (self._reason, "reason"),
                         (self._diagram, "diagram"), (self._hops, "hops"), (self._pods, "pods"),
                         (self._yaml, "yaml")):
            box.add_class(f"k8slab-{cls}")
        svc = self._original
        title = w.HTML(f"{_CSS}<b>Explore Service {html.escape(svc.key)}</b> "
                       "<span class='k8slab-note'>(the type toggle rewrites a copy of it, as the "
                       "API server would; nothing else changes)</span>")
        ctl = self.controls
        rows = w.GridBox(
            [_label("Who calls"), w.HBox([ctl["kind"], self._which]),
             _label("Service type"), ctl["type"],
             _label("externalTrafficPolicy"), ctl["policy"],
             _label("The client dials"),
             w.HBox([ctl["dial"], _label("node IP it targets", "auto", "0 4px 0 16px"), ctl["via"]],
                    layout=w.Layout(align_items="center"))],
            layout=w.Layout(grid_template_columns="170px auto", grid_gap="4px 8px",
                            align_items="center"))
        left = w.VBox([w.HTML("<b>Hop chain</b>"), self._hops, w.HTML("<b>Pods</b>"), self._pods],
                      layout=w.Layout(flex="1 1 50%", min_width="320px", margin="0 16px 0 0"))
        right = w.VBox([w.HTML("<b>Service YAML</b> <span class='k8slab-note'>(what "
                               "<code>kubectl apply -f</code> takes; one click selects it "
                               "all, ready to copy)</span>"), self._yaml],
                       layout=w.Layout(flex="1 1 40%", min_width="280px"))
        self.widget = w.VBox(
            [title, rows, self._headline, self._reason, self._diagram,
             w.Box([left, right], layout=w.Layout(display="flex", flex_flow="row wrap",
                                                  width="100%"))])
        self.widget.add_class("k8slab-explorer")

    # -- driving it ---------------------------------------------------------------------------
    def set(self, client: str | None = None, service_type: str | None = None,
            via_node: str | None = None, external_traffic_policy: str | None = None,
            entry: str | None = ...) -> "Explorer":
        """Change several controls at once, then redraw once (what the notebook and tests use).

        `client` is any client text (`pod/NAME`, `node/NAME`, `laptop`, `other-cluster`,
        `internet`); `entry` forces how the client dials (None: its usual way).
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
        if external_traffic_policy is None and self.route is None:
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
        self._holding = True
        try:
            for name, value in values.items():
                ctl[name].value = value
        finally:
            self._holding = False
        self.update()
        return self

    def _changed(self, change) -> None:
        if not self._holding:
            self.update()

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

    def _cluster_for(self, service_type: str, policy: str | None) -> Cluster:
        key = (service_type, policy)
        cached = self._clusters.get(key)
        if cached is None:
            if self._original.proxied:
                cached = manifests.with_service_type(self.base, self._original, service_type,
                                                     external_traffic_policy=policy)
            else:
                cached = self.base
            self._clusters[key] = cached
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
        self.cluster = self._cluster_for(service_type, policy)
        self.service = self.cluster.service(self._original.name, self._original.namespace)
        if kind in ("pod", "node"):
            self._which.children = [ctl[kind]]
        else:
            self._which.children = []
        try:
            self.route = self.cluster.route(client=self.client, service=self.service.name,
                                            namespace=self.service.namespace,
                                            entry=self.dial, via_node=ctl["via"].value)
            error = None
        except K8slabError as exc:          # e.g. a pod client in a cluster with no pods
            self.route, error = None, str(exc)
        ctl["type"].disabled = not proxied
        ctl["policy"].disabled = not (proxied and external)
        r = self.route
        ctl["via"].disabled = not (r is not None and kind in ("laptop", "other-cluster", "pod", "node")
                                   and (r.entry == "NodePort" or self.dial == "NodePort"))
        self._render(error)
        self.last_update_ms = (time.perf_counter() - started) * 1000

    # -- showing it -----------------------------------------------------------------------------
    def _render(self, error: str | None) -> None:
        from .draw import draw      # the function, not k8slab.draw (a module of that name)
        r = self.route
        if r is None:
            self.diagram = None
            self._headline.value = f"<b style='color:{_BAD}'>Cannot route: {html.escape(error)}</b>"
            self._reason.value = ""
            _show(self._diagram, None)
            self._hops.value = self._pods.value = ""
            self._yaml.value = _pre(manifests.service_to_yaml(self.service))
            return
        self.diagram = draw(r)
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
        self._pods.value = _pod_table(r)
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
        }

    def text(self) -> str:
        """A stable text view of the current state: the settings, then the route as the CLI prints it."""
        s = self.state
        policy = s["external_traffic_policy"] or "-"
        dial = s["dial"] or "its usual way"
        head = (f"client={s['client']}  Service {s['service']} type={s['type']}  "
                f"externalTrafficPolicy={policy}  dials={dial}  via-node={s['via_node']}")
        return head + "\n\n" + (self.route.text() if self.route else "no route")

    def _summary(self) -> str:
        s = self.state
        outcome = (f"reachable via {s['entry']}" if s["reachable"]
                   else f"not reachable ({s['code']})")
        return f"<k8slab explorer: {s['client']} -> {s['service']} ({s['type']}): {outcome}>"

    def __repr__(self) -> str:
        return self._summary()

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        data = self.widget._repr_mimebundle_(**kwargs)
        if isinstance(data, tuple):
            data = data[0]
        data = dict(data)
        data["text/plain"] = self._summary()     # stable: no model id, no memory address
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


def _hop_words(h: dict) -> str:
    detail = getattr(routing, "_hop_detail", None)
    try:
        return detail(h) if detail else ""
    except (KeyError, TypeError):
        return ""


_HOP_NAMES = {"client": "client", "load-balancer": "load balancer", "node-port": "node port",
              "cluster-ip": "Service rules", "pod": "pod", "dns": "cluster DNS"}


def hop_chain(route) -> str:
    """The hop chain, one hop a line, marked where an unreachable route stops."""
    lines = []
    for i, h in enumerate(route.hops):
        arrow = "   " if i == 0 else "-> "
        name = h.get("kind", "?")
        stop = "   <- stops here" if not route.reachable and route.stopped_at == i else ""
        lines.append(f"{arrow}{name:<13} {_hop_words(h)}".rstrip() + stop)
    return "\n".join(lines)


def _pod_table(route) -> str:
    rows = []
    for e in route.endpoints:
        ep = e.endpoint
        if e.probability is None:
            chance, bar = "the client picks", ""
        else:
            chance = f"{e.probability:.1%}"
            bar = (f"<span style='display:inline-block;height:9px;width:{round(e.probability * 80)}px;"
                   f"background:#762a83'></span>")
        rows.append(f"<tr><td>{html.escape(ep.pod or '-')}</td><td>{html.escape(ep.node or '-')}</td>"
                    f"<td><code>{html.escape(ep.ip_port)}</code></td><td>{chance}</td><td>{bar}</td></tr>")
    for ep, why in route.excluded:
        rows.append(f"<tr style='color:#888'><td>{html.escape(ep.pod or ep.address)}</td>"
                    f"<td>{html.escape(ep.node or '-')}</td><td><code>{html.escape(ep.ip_port)}</code></td>"
                    f"<td colspan='2'>cannot answer: {html.escape(why)}</td></tr>")
    if not rows:
        return "<div class='k8slab-note'>No pod can answer this client.</div>"
    head = "<tr><th>pod</th><th>node</th><th>address</th><th>chance</th><th></th></tr>"
    note = ("" if route.endpoints else
            "<div class='k8slab-note'>No pod answers this client: the request never reaches one.</div>")
    return f"<table class='k8slab-pods'>{head}{''.join(rows)}</table>{note}"


def _status_note(svc: Service) -> str:
    lines = []
    if svc.cluster_ip and svc.cluster_ip != "None":
        lines.append(f"# the API server fills in: clusterIP {svc.cluster_ip}")
    if svc.type == "LoadBalancer":
        external = ", ".join(svc.load_balancer_ingress) or "<pending> (no cloud has given one)"
        lines.append(f"# kubectl get service shows EXTERNAL-IP: {external}")
    return ("\n" + "\n".join(lines)) if lines else ""
