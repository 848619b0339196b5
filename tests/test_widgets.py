"""The explorer: controls rewrite a copy of the Service, every change redraws, state is plain data."""

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
    return out["data"]["image/svg+xml"]


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
    assert s["hops"] == ["client", "node-port", "cluster-ip", "pod"]
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
        assert set(out["data"]) >= {"image/svg+xml", "text/plain"}
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
