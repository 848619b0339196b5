"""The explorer: controls rewrite a copy of the Service, every change redraws, state is plain data."""

import base64
import json

import pytest

import k8slab
from k8slab import manifests
from k8slab.errors import K8slabError
from k8slab.widgets import DIALS, POLICIES, TYPES, Explorer, explorer, hop_chain


@pytest.fixture
def ex(demo):
    return explorer(demo)


def svg_of(ex):
    (out,) = ex._diagram.outputs
    assert out["output_type"] == "display_data"
    html = out["data"]["text/html"]      # an <img> of the SVG (see k8slab.inline_image)
    return base64.b64decode(html.split("base64,", 1)[1].split('"', 1)[0]).decode("utf-8")


def test_starts_with_a_laptop_and_the_clusterip_service(ex):
    s = ex.state
    assert (s["client"], s["service"], s["type"]) == ("laptop", "default/web", "ClusterIP")
    assert s["reachable"] is False and s["code"] == "not-exposed" and s["entry"] is None
    assert s["hops"] == ["client"]
    assert "NOT reachable (not-exposed)" in ex.text()
    assert "Not reachable" in ex._headline.value
    assert "cannot reach it" in ex._reason.value


def test_package_entry_point_returns_the_explorer(demo):
    assert isinstance(k8slab.explorer(demo), Explorer)


def test_state_is_plain_json_data(ex):
    for t in TYPES:
        ex.set(service_type=t)
        assert json.loads(json.dumps(ex.state)) == ex.state


def test_nodeport_allocates_a_free_node_port_and_the_laptop_gets_in(ex, demo):
    ex.set(service_type="NodePort")
    s = ex.state
    used = {p.node_port for svc in demo.services for p in svc.ports if p.node_port}
    assert s["node_port"] is not None and s["node_port"] not in used
    assert 30000 <= s["node_port"] <= 32767
    assert s["reachable"] and s["entry"] == "NodePort"
    assert s["hops"] == ["client", "node-port", "service", "pod"]
    assert str(s["node_port"]) in svg_of(ex)
    assert f"nodePort: {s['node_port']}" in ex._yaml.value
    assert "type: NodePort" in ex._yaml.value


def test_loadbalancer_gets_an_address_and_serves_the_internet(ex):
    ex.set(client="internet", service_type="LoadBalancer")
    s = ex.state
    assert s["load_balancer"] and s["load_balancer"].startswith("203.0.113.")
    assert s["reachable"] and s["entry"] == "LoadBalancer"
    assert s["hops"][:2] == ["client", "load-balancer"]
    assert "EXTERNAL-IP: " + s["load_balancer"] in ex._yaml.value


def test_the_original_cluster_is_never_changed(ex, demo):
    before = manifests.service_to_yaml(demo.service("web"))
    for t in TYPES:
        ex.set(service_type=t, external_traffic_policy="Local")
    assert manifests.service_to_yaml(demo.service("web")) == before
    assert ex.base is demo


def test_back_to_clusterip_releases_the_node_port(ex):
    ex.set(service_type="NodePort")
    ex.set(service_type="ClusterIP")
    assert ex.state["node_port"] is None
    assert "nodePort" not in ex._yaml.value
    assert ex.controls["policy"].disabled          # ClusterIP Services have no external policy


def test_every_control_change_redraws(ex):
    seen = set()
    changes = [("kind", "pod"), ("kind", "laptop"), ("type", "NodePort"), ("via", "node-c"),
               ("policy", "Local"), ("type", "LoadBalancer"), ("dial", "NodePort"),
               ("kind", "internet")]
    for name, value in changes:
        before = (ex._reason.value, svg_of(ex) if ex._diagram.outputs else None)
        ex.controls[name].value = value
        after = (ex._reason.value, svg_of(ex))
        assert after != before, f"changing {name} to {value!r} did not redraw"
        seen.add(after)
    assert len(seen) == len(changes)


def test_local_policy_drops_at_a_node_without_a_pod(ex):
    ex.set(service_type="NodePort", external_traffic_policy="Local", via_node="node-c")
    s = ex.state
    assert s["code"] == "no-local-endpoints" and s["entry"] == "NodePort"
    assert "stops here" in hop_chain(ex.route)
    ex.set(via_node="node-a")
    assert ex.state["reachable"] and set(ex.state["endpoints"]) == {
        e.pod for e in ex.cluster.endpoints(ex.service, ex.service.ports[0]) if e.node == "node-a"}


def test_pod_and_node_clients_pick_which_one(ex, demo):
    ex.set(client="pod/client")
    assert ex._which.children == (ex.controls["pod"],)
    assert ex.state["entry"] == "ClusterIP"
    ex.set(client="node/node-b")
    assert ex._which.children == (ex.controls["node"],)
    assert ex.state["client"] == "node/node-b"
    ex.set(client="laptop")
    assert ex._which.children == ()


def test_via_node_is_offered_only_when_a_node_ip_is_dialled(ex):
    ex.set(client="laptop", service_type="ClusterIP")
    assert ex.controls["via"].disabled
    ex.set(service_type="NodePort")
    assert not ex.controls["via"].disabled
    ex.set(service_type="LoadBalancer")
    assert ex.controls["via"].disabled            # the load balancer picks the node
    ex.set(entry="NodePort")
    assert not ex.controls["via"].disabled


def test_forced_entries_show_failures_too(ex):
    ex.set(client="laptop", service_type="NodePort", entry="ClusterIP")
    assert ex.state["code"] == "not-exposed" and ex.state["dial"] == "ClusterIP"
    ex.set(entry=None)
    assert ex.state["dial"] is None and ex.state["reachable"]
    assert ex.controls["dial"].label == "its usual way"     # a Dropdown shows None as blank
    assert [v for _, v in DIALS] == [None, "ClusterIP", "NodePort", "LoadBalancer"]
    assert list(POLICIES) == ["Cluster", "Local"]


def test_bad_settings_are_clear_errors(ex):
    with pytest.raises(K8slabError):
        ex.set(client="martian")
    with pytest.raises(K8slabError):
        ex.set(service_type="ExternalName")
    with pytest.raises(K8slabError):
        ex.set(client="pod/nope")
    with pytest.raises(K8slabError):
        ex.set(entry="Teleport")


def test_repr_is_stable_text(ex):
    bundle = ex._repr_mimebundle_()
    assert bundle["text/plain"] == ("<k8slab explorer: laptop -> default/web (ClusterIP): "
                                    "not reachable (not-exposed)>")
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "0x" not in repr(ex)


def test_outputs_never_print_to_the_cell(demo, capsys):
    e = explorer(demo)
    e.set(service_type="LoadBalancer", client="internet")
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert len(e._diagram.outputs) == 1


def test_output_widget_is_filled_through_the_shell_when_there_is_one(demo, tmp_path, monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path))       # nothing lands in ~
    config = Config()
    config.HistoryManager.enabled = False
    InteractiveShell.instance(config=config)
    try:
        e = explorer(demo)
        e.set(service_type="NodePort")
        (out,) = e._diagram.outputs
        assert set(out["data"]) >= {"text/html", "text/plain"}
        assert "0x" not in out["data"]["text/plain"]
    finally:
        InteractiveShell.clear_instance()


def test_dns_only_services_show_their_route_with_the_type_locked(demo):
    e = explorer(demo, service="web-headless", client="pod/client")
    assert e.controls["type"].disabled and e.controls["policy"].disabled
    assert e.state["type"] == "headless" and e.state["entry"] == "DNS"
    assert e.state["endpoints"] and all(v is None for v in e.state["endpoints"].values())


def test_starting_settings(demo):
    e = explorer(demo, client="other-cluster", service_type="NodePort", via_node="node-b",
                 external_traffic_policy="Local")
    s = e.state
    assert (s["client"], s["type"], s["via_node"], s["external_traffic_policy"]) == (
        "other-cluster", "NodePort", "node-b", "Local")
    assert s["reachable"] and set(s["endpoints"]) == {
        p.name for p in demo.pods if p.node == "node-b" and p.labels.get("app") == "web"}


def test_a_service_that_already_has_a_node_port_keeps_it(demo):
    e = explorer(demo, service="web-nodeport")
    assert e.state["type"] == "NodePort" and e.state["node_port"] == 30080
    e.set(service_type="LoadBalancer")
    assert e.state["node_port"] == 30080


def test_redraw_is_fast_enough_to_feel_instant(ex):
    # Not a timing test (benchmarks/explorer.py measures); a guard against a 10x regression.
    ex.set(service_type="NodePort")
    times = []
    for i in range(20):
        ex.controls["type"].value = TYPES[i % 3]
        times.append(ex.last_update_ms)
    assert sorted(times)[len(times) // 2] < 300


def test_a_bad_setting_changes_nothing(ex):
    ex.set(client="pod/client", service_type="NodePort")
    before = dict(ex.state)
    with pytest.raises(K8slabError):
        ex.set(client="laptop", service_type="Bogus")
    with pytest.raises(K8slabError):
        ex.set(service_type="LoadBalancer", via_node="node-z")
    with pytest.raises(K8slabError):
        ex.set(external_traffic_policy="Sometimes")
    assert ex.state == before


# -- kube-proxy's mode, session affinity, and the Service's pods -----------------------------
from k8slab.widgets import AFFINITIES, MODES, choice_text, progress, with_replicas  # noqa: E402


def test_new_controls_start_at_the_clusters_own_values(ex, demo):
    s = ex.state
    assert s["mode"] == demo.proxy.mode == "iptables"
    assert s["session_affinity"] == "None"
    assert s["pods"] == {"replicas": 3, "ready": 3, "terminating": 0}
    assert ex.cluster is demo or ex.cluster.pods == demo.pods
    assert list(MODES) == ["iptables", "ipvs", "nftables"] and list(AFFINITIES) == ["None", "ClientIP"]
    assert "what if" not in ex.text()


def test_mode_and_affinity_rewrite_a_copy(ex, demo):
    ex.set(client="pod/client", mode="ipvs", session_affinity="ClientIP")
    assert ex.cluster.proxy.mode == "ipvs" and demo.proxy.mode == "iptables"
    assert ex.service.session_affinity == "ClientIP" and ex.service.session_affinity_timeout == 10800
    assert demo.service("web").session_affinity == "None"
    assert "sessionAffinity: ClientIP" in ex._yaml.value
    assert "what if: kube-proxy mode=ipvs  sessionAffinity=ClientIP" in ex.text()
    assert json.loads(json.dumps(ex.state)) == ex.state


def test_the_choice_panel_follows_the_mode(ex):
    ex.set(client="pod/client")
    text = ex.choice_text()
    assert "iptables mode" in text and "kube-proxy on node-c (the client's own node)" in text
    assert "random, probability 0.3333333333" in text and "random, probability 0.5000000000" in text
    assert "always (no condition)" in text
    assert text.count("33.3%") >= 3
    ex.set(mode="nftables")
    assert "numgen random mod 3" in ex.choice_text()
    ex.set(mode="ipvs")
    assert "scheduler rr (round robin)" in ex.choice_text()
    assert "new connections take turns" in ex.choice_text()
    assert "take turns" in ex._choice.value
    ex.set(session_affinity="ClientIP")
    assert "persistent 10800" in ex.choice_text()
    ex.set(mode="iptables")
    assert "`recent` rule per pod" in ex.choice_text()


def test_the_small_simulation_shows_how_each_mode_differs(ex):
    ex.set(client="pod/client", mode="ipvs")
    assert sorted(ex.state["simulated"].values()) == [333, 333, 334]      # round robin: even
    ex.set(mode="iptables")
    counts = ex.state["simulated"]
    assert sum(counts.values()) == 1000 and sorted(counts.values()) != [333, 333, 334]
    ex.set(session_affinity="ClientIP")
    assert all(c % 100 == 0 for c in ex.state["simulated"].values())     # 10 addresses, 100 each
    assert "of 1,000*" in ex._pods.value


def test_scaling_updates_the_probabilities_live(ex):
    ex.set(client="pod/client", replicas=5)
    assert ex.state["pods"] == {"replicas": 5, "ready": 5, "terminating": 0}
    assert list(ex.state["endpoints"].values()) == [0.2] * 5
    ex.set(ready=3)
    assert list(ex.state["endpoints"].values()) == [0.3333] * 3
    assert ex._pods.value.count("cannot answer: not ready") == 2
    assert "pods=5 (3 ready, 0 terminating, 2 starting)" in ex.text()
    ex.set(replicas=1, ready=0)
    assert ex.state["code"] == "no-endpoints"


def test_the_sliders_stay_consistent(ex):
    ctl = ex.controls
    ctl["replicas"].value = 6                 # every pod ready stays so
    assert ex.pods == (6, 6, 0)
    ctl["terminating"].value = 2
    assert ex.pods == (6, 4, 2) and ctl["ready"].max == 4
    ctl["ready"].value = 1                    # now one of four is ready: kept when scaling
    ctl["replicas"].value = 8
    assert ex.pods == (8, 1, 2)
    ctl["replicas"].value = 1
    assert ex.pods == (1, 0, 1) and ctl["terminating"].max == 1
    assert ex.state["pods"] == {"replicas": 1, "ready": 0, "terminating": 1}


def test_every_terminating_pod_still_serves(ex):
    ex.set(client="pod/client", replicas=3, ready=0, terminating=3)
    assert ex.state["reachable"] and len(ex.state["endpoints"]) == 3
    assert "terminating but still serving" in ex.route.reason
    ex.set(ready=2, terminating=1)
    assert len(ex.state["endpoints"]) == 2
    assert "terminating: used only while no pod is ready" in ex._pods.value


def test_local_policy_with_uneven_pods(ex):
    ex.set(client="internet", service_type="LoadBalancer", external_traffic_policy="Local",
           replicas=5)
    shares = sorted(set(ex.state["endpoints"].values()))
    assert shares == [0.1667, 0.25]
    assert "kube-proxy on node-a" in ex.choice_text() and "kube-proxy on node-b" in ex.choice_text()
    assert "1/2 each" in ex.choice_text()


def test_new_controls_redraw_and_bad_values_change_nothing(ex):
    ex.set(client="pod/client")
    seen = set()
    for name, value in [("mode", "ipvs"), ("affinity", "ClientIP"), ("mode", "nftables"),
                        ("replicas", 4), ("ready", 2), ("terminating", 1)]:
        before = (ex._choice.value, ex._pods.value)
        ex.controls[name].value = value
        after = (ex._choice.value, ex._pods.value)
        assert after != before, f"changing {name} to {value!r} did not redraw"
        seen.add(after)
    before = dict(ex.state)
    for bad in [dict(mode="userspace"), dict(session_affinity="Cookie"), dict(replicas=-1),
                dict(replicas=2, terminating=3), dict(ready=9), dict(replicas=True),
                dict(replicas=100)]:
        with pytest.raises(K8slabError):
            ex.set(client="laptop", **bad)
    assert ex.state == before


def test_starting_settings_for_the_new_controls(demo):
    e = explorer(demo, client="pod/client", mode="nftables", session_affinity="ClientIP",
                 replicas=4, ready=3)
    assert (e.state["mode"], e.state["session_affinity"]) == ("nftables", "ClientIP")
    assert e.state["pods"] == {"replicas": 4, "ready": 3, "terminating": 0}
    assert len(e.state["endpoints"]) == 3


def test_headless_services_lock_mode_and_affinity(demo):
    e = explorer(demo, service="web-headless", client="pod/client")
    assert e.controls["mode"].disabled and e.controls["affinity"].disabled
    assert "client itself picks" in e.choice_text()
    e.set(replicas=5)
    assert len(e.state["endpoints"]) == 5               # one A record per ready pod
    assert e.simulation is None


def test_services_without_pods_cannot_be_scaled(make_cluster):
    c = make_cluster("""
apiVersion: v1
kind: Service
metadata: {name: ext}
spec:
  ports: [{port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ext-1, labels: {kubernetes.io/service-name: ext}}
addressType: IPv4
ports: [{port: 80}]
endpoints: [{addresses: [10.1.2.3]}]
""")
    e = explorer(c, service="ext", client="node/" + c.nodes[0].name)
    assert e.controls["replicas"].disabled
    with pytest.raises(K8slabError, match="EndpointSlices"):
        e.set(replicas=2)


def test_with_replicas_names_and_places_pods_as_the_loader_does(demo):
    from importlib.resources import files
    from k8slab.manifests import load_texts
    text = files("k8slab").joinpath("data/demo.yaml").read_text(encoding="utf-8")
    for n in (1, 2, 4, 5, 8):
        loaded = load_texts([("demo.yaml", text.replace("replicas: 3", f"replicas: {n}"))])
        scaled = with_replicas(demo, demo.service("web"), n)
        assert sorted((p.name, p.node, p.ip) for p in scaled.pods) == \
            sorted((p.name, p.node, p.ip) for p in loaded.pods), n
    assert [p.name for p in demo.pods] == [p.name for p in with_replicas(demo, demo.service("web"), 3).pods]


def test_with_replicas_orders_a_rolling_update(demo):
    c = with_replicas(demo, demo.service("web"), 4, ready=2, terminating=1)
    web = [p for p in c.pods if p.labels.get("app") == "web"]
    assert [(p.ready, p.terminating) for p in web] == [(True, True), (True, False), (True, False),
                                                       (False, False)]
    eps = {e.pod: e for e in c.endpoints(c.service("web"), c.service("web").ports[0])}
    old = eps[web[0].name]
    assert (old.ready, old.serving, old.terminating) == (False, True, True)
    assert not eps[web[3].name].ready and not eps[web[3].name].serving
    assert demo.pods == k8slab.demo_cluster().pods                         # the input is untouched


def test_choice_text_for_routes_that_pick_no_pod(demo):
    r = demo.route(client="laptop", service="web")
    assert choice_text(r).startswith("No pod is chosen")


def test_progress_yields_everything_and_prints_nothing(capsys):
    assert list(progress(range(5), description="runs")) == [0, 1, 2, 3, 4]
    assert list(progress(iter("ab"), total=2)) == ["a", "b"]
    with pytest.raises(K8slabError):
        list(progress(iter("ab")))
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_progress_shows_a_bar_with_stable_text_in_a_kernel(monkeypatch):
    import IPython
    import IPython.display
    shown = []

    class Shell:
        kernel = object()
    monkeypatch.setattr(IPython, "get_ipython", lambda: Shell())
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    assert sum(progress(range(250), description="200 runs")) == sum(range(250))
    (view,) = shown
    bundle = view._repr_mimebundle_()
    assert bundle["text/plain"] == "<progress: 200 runs, 250 steps>"
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert view.bar.value == 250 and view.bar.bar_style == "success"


def test_the_explorer_carries_a_still_picture_that_untrusted_jupyterlab_shows(ex):
    # JupyterLab shows no widget view for untrusted output (its renderer is not `safe`): the
    # bundle's text/html is what a fresh clone shows, sanitized, so it holds no <style> or
    # script, and its picture is the explorer's own diagram.
    html = ex._repr_mimebundle_()["text/html"]
    assert "k8slab-explorer-static" in html and "<style" not in html and "<script" not in html
    assert "Not reachable" in html and "not-exposed" in html and "kind: Service" in html
    encoded = html.split('data:image/svg+xml;base64,', 1)[1].split('"', 1)[0]
    assert base64.b64decode(encoded).decode("utf-8") == ex.diagram.svg()
    assert 'alt="Route from laptop to Service default/web:80: not reachable' in html
    ex.set(service_type="NodePort")
    assert "Reachable" in ex._repr_mimebundle_()["text/html"]


def test_the_kube_proxy_panel_wraps_instead_of_clipping(ex):
    from k8slab.widgets import _CSS
    assert ".k8slab-choice pre {white-space: pre-wrap" in _CSS and "overflow-x" not in _CSS


# -- the "Why?" panel: diagnose's checks for the state the controls describe --------------------
def test_why_panel_shows_the_debug_services_checks_for_the_current_state(demo):
    ex = Explorer(demo)
    ex.set(client="pod/client", service_type="ClusterIP")
    assert "works: the connection reaches a pod" in ex._why.value and "<b>dns</b>" in ex._why.value
    ex.set(client="laptop", service_type="ClusterIP")
    assert "fails" in ex._why.value and "not-exposed" in ex._why.value
    ex.set(client="laptop", service_type="NodePort")
    assert "works" in ex._why.value and ":30" in ex._why.value     # it dialed a node port


@pytest.mark.parametrize("kind", ["pod/client", "node/node-a", "laptop", "other-cluster", "internet"])
def test_why_panel_agrees_with_the_route_in_every_type_and_policy(demo, kind):
    ex = Explorer(demo)
    for service_type in TYPES:
        for policy in POLICIES:
            ex.set(client=kind, service_type=service_type, external_traffic_policy=policy)
            works = "works: the connection reaches a pod" in ex._why.value
            assert works == ex.route.reachable, (kind, service_type, policy, ex._why.value)


def test_the_name_it_types_is_looked_up_try_by_try(demo):
    # issue 12: the learner types the name the client uses and sees each search-list try.
    ex = Explorer(demo)
    ex.set(client="pod/client")
    assert "1. web.default.svc.cluster.local." in ex._lookup.value and "10.96.0.11" in ex._lookup.value
    ex.name_input.value = "web.default"          # fewer than 5 dots: the search list first
    assert "web.default.default.svc.cluster.local.  NXDOMAIN" in ex._lookup.value
    ex.name_input.value = "nosuch"
    assert "NXDOMAIN" in ex._lookup.value and "10.96.0.11" not in ex._lookup.value
    ex.set(client="laptop")
    assert "cannot ask the cluster DNS" in ex._lookup.value


def test_the_picture_follows_the_name_a_pod_types(demo):
    # The route starts with the typed name's lookup: a name that does not resolve from the pod
    # stops the picture where the Name lookup panel says it stops.
    ex = Explorer(demo)
    ex.set(client="pod/client")
    assert ex.state["name"] == "web" and ex.route.reachable
    assert [t["name"] for t in ex.route.dns["tried"]] == ["web.default.svc.cluster.local"]
    ex.name_input.value = "nosuch"
    assert ex.state["name"] == "nosuch" and ex.route.code == "nxdomain" and not ex.route.reachable
    assert "name not found" in ex.diagram.svg() and "nosuch" in ex._reason.value
    # The Why? panel diagnoses the same name, and says it does not resolve.
    assert "name-not-found" in ex._why.value or "name not found" in ex._why.value, ex._why.value
    ex.name_input.value = "web.default"
    assert ex.route.reachable and len(ex.route.dns["tried"]) == 2
    ex.name_input.value = "db"                   # another Service's name: said, not drawn
    assert ex.route is None and "not to Service default/web" in ex._headline.value
    assert "db.default.svc.cluster.local." in ex._lookup.value     # and its lookup shown
    ex.name_input.value = "web"
    # A node's process dials the cluster IP; an outside client an address: no name to follow.
    for client in ("node/node-a", "laptop"):
        ex.set(client=client)
        assert ex.state["name"] is None and "tried" not in (ex.route.dns or {})
