"""The explorer as one call (issue 24.10): explore.explore turns a State into everything shown;
the notebook's widget renders that View and the static site precomputes it, so the two agree."""

from __future__ import annotations

import html
import itertools
import sys
from pathlib import Path

import pytest

import k8slab
from k8slab import proxy
from k8slab.errors import K8slabError
from k8slab.explore import MODES, SITE_MODES, State, Subject, explore

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
import build_site  # noqa: E402

from k8slab.widgets import Explorer, _pre  # noqa: E402


@pytest.fixture(scope="module")
def subject():
    return Subject(k8slab.demo_cluster(), "web")


def _widget_settings(state: State) -> dict:
    n, r, t = state.pods
    return dict(client=state.client, service_type=state.service_type,
                external_traffic_policy=state.external_traffic_policy, entry=state.entry,
                via_node=state.via_node, mode=state.mode, session_affinity=state.session_affinity,
                replicas=n, ready=r, terminating=t)


# A spread of the site's combinations: every client kind, type and policy; each way in, node,
# mode and affinity; and pod counts the sliders reach (none, fewer, more, some not ready).
COMBOS = ([dict(kind=k, type=t, policy=p) for k, t, p in itertools.product(
              ("pod", "node", "laptop", "other-cluster", "internet"),
              ("ClusterIP", "NodePort", "LoadBalancer"), ("Cluster", "Local"))]
          + [dict(kind="laptop", type="NodePort", dial="NodePort", via=v) for v in ("node-b", "node-c")]
          + [dict(kind="pod", type="LoadBalancer", dial=d) for d in ("ClusterIP", "NodePort", "LoadBalancer")]
          + [dict(kind="pod", mode=m, affinity=a) for m in SITE_MODES for a in ("None", "ClientIP")]
          + [dict(kind=k, type="NodePort", policy="Local", pods=p) for k in ("pod", "laptop")
             for p in ("0:0", "1:1", "5:3", "6:0")])


def test_the_widget_and_the_site_show_the_same_for_the_same_state(subject):
    axes, fields = build_site.site_axes(subject)
    start = {"kind": "laptop", "type": "ClusterIP", "policy": "Cluster", "dial": "usual",
             "via": "node-a", "mode": "iptables", "affinity": "None", "pods": "3:3"}
    ex = Explorer(k8slab.demo_cluster(), "web")
    for combo in COMBOS:
        values = {**start, **combo}
        state = build_site.site_state(subject, values, fields)
        view = explore(subject, state)
        info = build_site.state_info(view, fields)
        site_svg = view.diagram.svg() if view.diagram is not None else ""
        ex.set(**_widget_settings(state))
        where = combo
        assert ex.state == view.data(), where
        assert ex.text() == view.text(), where
        assert (ex.diagram.svg() if ex.diagram else "") == site_svg, where
        assert ex._hops.value == (_pre(info["hops"]) if view.route else ""), where
        assert ex._choice.value == (_pre(info["choice"]) if view.route else ""), where
        assert ex._yaml.value == _pre(info["yaml"]), where
        if view.route is not None:
            assert html.escape(info["reason"]) in ex._reason.value, where
            assert ex.route.text() == info["route_text"], where
        shown_disabled = {axis for axis, ctl in (("type", "type"), ("policy", "policy"),
                                                 ("via", "via"), ("mode", "mode"),
                                                 ("affinity", "affinity"), ("pods", "replicas"))
                          if ex.controls[ctl].disabled}
        assert shown_disabled == set(info["disabled"]), where


def test_the_same_state_always_gives_the_same_view():
    state = State(client="pod/client", service_type="LoadBalancer", external_traffic_policy="Local",
                  pods=(5, 4, 1), mode="ipvs", session_affinity="ClientIP")
    a = explore(Subject(k8slab.demo_cluster()), state)
    b = explore(Subject(k8slab.demo_cluster()), state)
    assert a.data() == b.data() and a.text() == b.text()
    assert a.diagram.svg() == b.diagram.svg() and a.choice == b.choice and a.why_html == b.why_html


def test_explore_never_changes_the_cluster_it_was_given(demo):
    before = (demo.services, demo.pods, demo.proxy)
    s = Subject(demo)
    for t in ("NodePort", "LoadBalancer"):
        explore(s, State(service_type=t, pods=(6, 2, 1), mode="nftables", session_affinity="ClientIP"))
    assert (demo.services, demo.pods, demo.proxy) == before


def test_a_pod_client_that_the_pods_no_longer_include_gives_way(subject):
    web_pod = next(p for p in subject.cluster.pods if p.name.startswith("web-"))
    view = explore(subject, State(client=f"pod/{web_pod.name}", pods=(0, 0, 0)))
    assert view.state.client == "pod/client" and view.route is not None
    lonely = Subject(k8slab.Cluster.from_yaml(
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n"
        "  ports: [{port: 80}]\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: web-0, labels: "
        "{app: web}}\nspec: {containers: [{name: c, image: nginx}]}\n"))
    view = explore(lonely, State(client="pod/web-0", pods=(0, 0, 0)))
    assert view.state.client.startswith("node/") and view.route is not None


@pytest.mark.parametrize("bad, words", [
    (dict(client="printer"), "client 'printer'"),
    (dict(service_type="ExternalName"), "type 'ExternalName'"),
    (dict(external_traffic_policy="Sometimes"), "externalTrafficPolicy 'Sometimes'"),
    (dict(mode="userspace"), "mode 'userspace'"),
    (dict(via_node="node-z"), "via node 'node-z'"),
    (dict(pods=(3, 4, 0)), "ready: give a number from 0 to 3"),
    (dict(pods=(99, 0, 0)), "replicas: at most 64"),
    (dict(entry="Teleport"), "entry 'Teleport'"),
])
def test_a_state_the_controls_cannot_reach_is_a_clear_error(subject, bad, words):
    with pytest.raises(K8slabError, match=words):
        explore(subject, State(**bad))


def test_a_misspelled_setting_is_named():
    with pytest.raises(K8slabError, match="no setting polcy"):
        State().with_(polcy="Local")


def test_the_site_offers_exactly_the_modes_whose_rules_k8slab_writes(demo):
    # The site's picture, rules and route must be what kube-proxy does: a mode is offered there
    # only when proxy.rules models it (explore.UNMODELLED_MODES is the one place to change).
    for mode in MODES:
        try:
            proxy.rules(demo, demo.nodes[0].name, mode=mode)
            modelled = True
        except K8slabError:
            modelled = False
        assert (mode in SITE_MODES) == modelled, mode
    axes, _ = build_site.site_axes(Subject(demo))
    assert [v for _, v in axes["mode"]] == list(SITE_MODES)


def test_a_new_state_field_becomes_a_site_axis(subject, monkeypatch):
    # The extension point: a field in explore.CHOICES reaches the site without an edit there.
    from k8slab import explore as explore_module
    monkeypatch.setitem(explore_module.CHOICES, "network_policy", (("allow all", None),
                                                                     ("default deny", "deny")))
    axes, fields = build_site.site_axes(subject)
    assert fields["network_policy"] == "network_policy"
    assert axes["network_policy"] == [("allow all", "usual"), ("default deny", "deny")]
