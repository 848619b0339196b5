"""The ipywidgets explorer: pick a client and a Service type, watch the route."""

# The explorer computes nothing itself: its controls make an explore.State, and
# explore.explore turns that into everything shown (the rewritten cluster, the route, the
# picture, the simulation, the panels' text); this module only renders the View. The static
# site precomputes the same Views (scripts/build_site.py), so the two cannot drift. A new
# control is a State field (see k8slab/explore.py) plus its widget here.
#
# Output widgets are filled with `out.outputs = ()` then `out.append_display_data(obj)`,
# never `with out:`, so nothing leaks into the cell's own outputs (strict nbval compares
# those). The explorer's state is plain data (`Explorer.state`, `Explorer.text()`), so a
# notebook can print a stable check right after the live view.
from __future__ import annotations

import html
import time

import ipywidgets as w

from .errors import K8slabError
from .explore import (NETWORK_POLICIES, AFFINITIES, CLIENT_CHOICES, DIALS, MODES, POLICIES, SIM_CLIENTS,
                      SIM_CONNECTIONS, SIM_SEED, TYPES, State, Subject, View, choice_text,
                      explore, hop_chain, lookup_text, type_label, why_dial, why_html)
from .inline_image import img_html
from .model import Cluster
from .variants import pod_counts, with_replicas  # re-exported: notebooks import them from here

__all__ = ["Explorer", "explorer", "CLIENT_CHOICES", "TYPES", "POLICIES", "DIALS", "MODES",
           "AFFINITIES", "MAX_PODS", "with_replicas", "pod_counts", "choice_text", "progress",
           "hop_chain", "why_dial", "why_html", "lookup_text"]

_CLIENT_TIPS = ("a pod in this cluster", "a process on one of the cluster's nodes (host network)",
                "a machine outside the cluster that can reach the nodes' IPs",
                "a pod in a different Kubernetes cluster (it can reach node IPs)",
                "a client that can reach only a load balancer's public address")
_MODE_TIPS = ("random rules tried top to bottom (kube-proxy's default)",
              "the kernel's IP Virtual Server: round robin by default (deprecated since Kubernetes 1.35)",
              "one random number per new connection picks the pod (GA since Kubernetes 1.33)")
#: The pod sliders go up to this many pods (or the Service's own count, if larger).
MAX_PODS = 8
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
        self.subject = Subject(cluster, service, namespace)     # the what-if copies live there
        self._original = self.subject.service
        self._holding = False
        self.view: View | None = None       # what explore.explore answered for the controls
        self.last_update_ms = 0.0
        self._base_mode = self.subject.base_mode
        self._base_pods = self.subject.base_pods
        self._scalable = self.subject.scalable
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
        return self.subject.default_type()

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
            "netpol": w.ToggleButtons(options=list(NETWORK_POLICIES),
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
        starting = self.view is None
        if starting:                          # the Service's and the cluster's own values
            external_traffic_policy = external_traffic_policy or self._original.external_traffic_policy
            mode = mode or self._base_mode
            session_affinity = session_affinity or self._original.session_affinity
        changes = {k: v for k, v in (("client", client), ("service_type", service_type),
                                     ("via_node", via_node), ("mode", mode),
                                     ("external_traffic_policy", external_traffic_policy),
                                     ("session_affinity", session_affinity),
                                     ("network_policy", network_policy)) if v is not None}
        if entry is not ...:
            changes["entry"] = entry
        # Checked first (by explore, which owns the rules), so a bad setting changes nothing.
        self.subject.check(State().with_(**changes))
        values: dict[str, object] = {}
        if client is not None:
            kind = client.partition("/")[0]
            if kind in ("pod", "node") and "/" in client:
                known = [v for _, v in ctl[kind].options]
                if client not in known:
                    raise K8slabError(f"client {client!r}: not one of {', '.join(known)}")
                values[kind] = client
            values["kind"] = kind
        for field, control in (("service_type", "type"), ("via_node", "via"), ("mode", "mode"),
                               ("external_traffic_policy", "policy"),
                               ("session_affinity", "affinity"), ("network_policy", "netpol")):
            if field in changes:
                values[control] = changes[field]
        if "entry" in changes:
            values["dial"] = changes["entry"] or _USUAL
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
        if ready is None:
            # "Every pod that is not terminating is ready" stays so; otherwise keep the number.
            ready = n - t if r0 == n0 - t0 else min(r0, n - t)
        if (n, ready, t) != (n0, r0, t0):
            self.subject.check(State(pods=(n, ready, t)))
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
        return self.view.typed_name if self.view else None

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

    def current(self) -> State:
        """The explore.State the controls say now."""
        ctl = self.controls
        return State(client=self.client, service_type=ctl["type"].value,
                     external_traffic_policy=ctl["policy"].value, entry=self.dial,
                     via_node=ctl["via"].value, mode=ctl["mode"].value,
                     session_affinity=ctl["affinity"].value, pods=self.pods,
                     name=self.name_input.value if hasattr(self, "name_input") else None,
                     network_policy=ctl["netpol"].value)

    def update(self) -> None:
        """Ask explore for the controls' state and redraw every output in place."""
        started = time.perf_counter()
        self.view = explore(self.subject, self.current())
        self._follow(self.view)
        ctl, v = self.controls, self.view
        kind = ctl["kind"].value
        self._which.children = [ctl[kind]] if kind in ("pod", "node") else []
        ctl["type"].disabled = "service_type" in v.disabled
        ctl["policy"].disabled = "external_traffic_policy" in v.disabled
        ctl["mode"].disabled = "mode" in v.disabled
        ctl["affinity"].disabled = "session_affinity" in v.disabled
        ctl["via"].disabled = "via_node" in v.disabled
        for name in ("replicas", "ready", "terminating"):
            ctl[name].disabled = "pods" in v.disabled
        self._render(v)
        self.last_update_ms = (time.perf_counter() - started) * 1000

    def _follow(self, view: View) -> None:
        """Offer the pods the view's cluster has: fewer replicas remove some, more add some. A
        chosen pod that no longer exists gave way (in explore) to the first one left, or to a
        node when none is left, so no state the controls can reach shows "no such pod"."""
        pods = [p for p in view.cluster.pods if p.node and p.ip]
        options = [(f"{p.name} (on {p.node})", _client_text(p)) for p in pods] or [("(no running pod)", "")]
        ctl = self.controls
        holding, self._holding = self._holding, True       # no redraw for this bookkeeping
        try:
            if list(ctl["pod"].options) != options:
                keep = ctl["pod"].value if ctl["pod"].value in {v for _, v in options} else options[0][1]
                ctl["pod"].options = options
                ctl["pod"].value = keep
            kind = view.kind
            if ctl["kind"].value != kind:
                ctl["kind"].value = kind
            if kind in ("pod", "node") and ctl[kind].value != view.state.client:
                ctl[kind].value = view.state.client
        finally:
            self._holding = holding

    # -- the view's parts, as attributes (what notebooks and tests read) ----------------------
    @property
    def route(self):
        return self.view.route if self.view else None

    @property
    def cluster(self) -> Cluster:
        """The rewritten copy of the cluster the controls describe."""
        return self.view.cluster if self.view else self.base

    @property
    def service(self):
        return self.view.service if self.view else self._original

    @property
    def diagram(self):
        return self.view.diagram if self.view else None

    @property
    def simulation(self):
        return self.view.simulation if self.view else None

    # -- showing it -----------------------------------------------------------------------------
    def _render(self, v: View) -> None:
        r = v.route
        self._lookup.value = _pre(v.lookup)       # a typed name that names another Service too
        if r is None:
            self._headline.value = f"<b style='color:{_BAD}'>Cannot route: {html.escape(v.error)}</b>"
            self._reason.value = ""
            _show(self._diagram, None)
            self._hops.value = self._pods.value = self._choice.value = self._why.value = ""
            self._yaml.value = _pre(v.yaml)
            return
        _show(self._diagram, v.diagram)       # the headline and reason are printed above it
        if r.reachable:
            head = f"<b style='color:{_GOOD}'>\u2714 Reachable</b> via {html.escape(r.entry)}"
        else:
            how = f" (entered by {html.escape(r.entry)})" if r.entry else ""
            head = (f"<b style='color:{_BAD}'>\u2718 Not reachable</b>: "
                    f"<code>{html.escape(r.code)}</code>{how}")
        self._headline.value = (f"<div style='font-size:14px;margin-top:6px'>{head} &nbsp; "
                                f"<span class='k8slab-note'>{html.escape(r.client)} \u2192 "
                                f"Service {html.escape(v.service.key)} "
                                f"({html.escape(type_label(v.service))})</span></div>")
        self._reason.value = f"<div style='max-width:60em'><b>Why:</b> {html.escape(r.reason)}</div>"
        self._hops.value = _pre(v.hops)
        self._pods.value = _pod_table(r, v.simulation)
        self._choice.value = _pre(v.choice)
        self._why.value = v.why_html
        self._yaml.value = _pre(v.yaml)

    @property
    def state(self) -> dict:
        """What the explorer shows, as plain data: the settings and the route's outcome."""
        return self.view.data()

    def text(self) -> str:
        """A stable text view of the current state: the settings, then the route as the CLI prints it."""
        return self.view.text()

    def choice_text(self) -> str:
        """How kube-proxy picks a pod for the current route, and the small simulation's counts."""
        return self.view.choice

    def _summary(self) -> str:
        return self.view.summary()

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
        hops = _pre(self.view.hops) if self.route else ""
        yaml = _pre(self.view.yaml)
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


def _pre(text: str) -> str:
    return f"<pre>{html.escape(text.rstrip())}</pre>"


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

