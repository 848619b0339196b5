"""Routing rules, one test per rule, each checked against the Kubernetes docs and kube-proxy."""

import pytest

import k8slab
from k8slab.manifests import with_service_type
from k8slab.routing import CLIENT_KINDS, default_clients


WEB = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx
        ports: [{name: http, containerPort: 8080}]
"""


def svc(name="web", type_="ClusterIP", extra="", ports="[{name: http, port: 80, targetPort: http}]"):
    return f"""
---
apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec:
  type: {type_}
  selector: {{app: web}}
  ports: {ports}
{extra}
"""


def pod(name, node, labels="{app: web}", ready=True, terminating=False, ip=None, ports="[{name: http, containerPort: 8080}]"):
    status = ""
    if ip is not None:
        cond = "True" if ready else "False"
        status = f"""status:
  phase: Running
  podIP: {ip}
  conditions: [{{type: Ready, status: "{cond}"}}]"""
    deletion = "\n  deletionTimestamp: '2026-01-01T00:00:00Z'" if terminating else ""
    return f"""
---
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels: {labels}{deletion}
spec:
  nodeName: {node}
  containers: [{{name: c, image: nginx, ports: {ports}}}]
{status}
"""


# -- who reaches what (service.md "Publishing Services (ServiceTypes)") --------------------

def test_demo_reachability_matches_client_capabilities(demo):
    expected = {
        "pod/client": ["ClusterIP", "ClusterIP", "ClusterIP", "DNS", "DNS"],
        "node/node-a": ["ClusterIP", "ClusterIP", "ClusterIP", "DNS", "DNS"],
        "laptop": [None, "NodePort", "LoadBalancer", None, None],
        "other-cluster": [None, "NodePort", "LoadBalancer", None, None],
        "internet": [None, None, "LoadBalancer", None, None],
    }
    services = ["web", "web-nodeport", "web-lb", "web-headless", "db"]
    for client, entries in expected.items():
        got = [demo.route(client=client, service=s).entry for s in services]
        assert got == entries, client
        for s, e in zip(services, entries):
            r = demo.route(client=client, service=s)
            assert r.reachable == (e is not None)
            assert r.code == ("ok" if e else "not-exposed")


def test_laptop_to_cluster_ip_is_not_exposed_and_names_the_alternatives(demo):
    r = demo.route(client="laptop", service="web")
    assert (r.reachable, r.code, r.entry) == (False, "not-exposed", None)
    for word in ("NodePort", "LoadBalancer", "kubectl port-forward"):
        assert word in r.reason
    assert [h["kind"] for h in r.hops] == ["client"]
    assert r.endpoints == () and r.stopped_at == 0


def test_forcing_cluster_ip_from_outside_is_not_exposed(demo):
    r = demo.route(client="other-cluster", service="web-nodeport", entry="ClusterIP")
    assert (r.code, r.entry) == ("not-exposed", None)
    assert "port-forward" in r.reason


def test_internet_reaches_only_a_load_balancer(demo):
    assert demo.route(client="internet", service="web-nodeport").code == "not-exposed"
    assert demo.route(client="internet", service="web-lb", entry="NodePort").code == "not-exposed"
    assert demo.route(client="internet", service="web-lb").reachable


def test_pods_and_nodes_default_to_the_cluster_ip(demo):
    for client in ("pod/client", "node/node-b"):
        r = demo.route(client=client, service="web-lb")
        assert r.entry == "ClusterIP"
        assert [h["kind"] for h in r.hops] == ["client", "service", "pod"]


# -- what each type creates ------------------------------------------------------------------

def test_node_port_implies_a_cluster_ip(demo):
    r = demo.route(client="pod/client", service="web-nodeport")
    assert r.reachable and r.entry == "ClusterIP"
    assert r.hops[1]["address"].startswith(demo.service("web-nodeport").cluster_ip)


def test_laptop_via_node_port_passes_the_services_chain(demo):
    r = demo.route(client="laptop", service="web-nodeport")
    assert [h["kind"] for h in r.hops] == ["client", "node-port", "service", "pod"]
    assert r.hops[1] == {"kind": "node-port", "node": "node-a", "address": "192.0.2.11:30080"}   # DESIGN.md
    assert r.source_ip_preserved is False


def test_via_node_picks_the_node_an_outside_client_dials(demo):
    r = demo.route(client="laptop", service="web-nodeport", via_node="node-c")
    assert r.hops[1]["node"] == "node-c" and r.hops[1]["address"] == "192.0.2.13:30080"
    assert r.reachable      # Cluster policy: node-c forwards to pods elsewhere


def test_load_balancer_implies_node_port_and_cluster_ip(demo):
    r = demo.route(client="laptop", service="web-lb")
    assert [h["kind"] for h in r.hops] == ["client", "load-balancer", "node-port", "service", "pod"]
    assert demo.route(client="laptop", service="web-lb", entry="NodePort").reachable
    assert demo.route(client="pod/client", service="web-lb", entry="ClusterIP").reachable


def test_load_balancer_without_node_ports_sends_straight_to_pods(make_cluster):
    c = make_cluster(WEB + svc("web-lb", "LoadBalancer", "  allocateLoadBalancerNodePorts: false"))
    r = c.route(client="internet", service="web-lb")
    assert r.reachable
    assert [h["kind"] for h in r.hops] == ["client", "load-balancer", "pod"]
    assert c.route(client="laptop", service="web-lb", entry="NodePort").code == "not-exposed"


def test_load_balancer_without_a_cloud_is_pending(make_cluster):
    c = make_cluster(WEB + svc("web-lb", "LoadBalancer"), cloud=False)
    r = c.route(client="internet", service="web-lb")
    assert (r.reachable, r.code, r.entry) == (False, "lb-pending", None)
    assert "minikube tunnel" in r.reason and "MetalLB" in r.reason
    # The node port still works for a client that can reach node IPs, and the reason says why.
    r = c.route(client="laptop", service="web-lb")
    assert r.entry == "NodePort" and r.reachable and "<pending>" in r.reason


def test_snapshot_with_empty_load_balancer_status_is_pending(make_cluster):
    c = make_cluster(WEB + svc("web-lb", "LoadBalancer") + "status: {loadBalancer: {}}\n")
    assert c.route(client="internet", service="web-lb").code == "lb-pending"


def test_kind_nodes_mean_no_cloud_provider(make_cluster):
    node = """
apiVersion: v1
kind: Node
metadata: {name: kind-worker}
spec: {providerID: "kind://docker/kind/kind-worker"}
---
"""
    c = make_cluster(node + WEB + svc("web-lb", "LoadBalancer"))
    assert c.cloud_provider is False
    assert c.route(client="internet", service="web-lb").code == "lb-pending"


def test_demo_cluster_has_a_cloud_provider(demo):
    assert demo.cloud_provider and demo.service("web-lb").load_balancer_ingress


# -- endpoints (endpoint-slices.md, topology.go CategorizeEndpoints) ---------------------------

def test_selector_needs_every_pair_in_the_same_namespace(make_cluster):
    text = (pod("a", "n1", "{app: web, tier: front}", ip="10.244.1.2")
            + pod("b", "n1", "{app: web}", ip="10.244.1.3")
            + """
---
apiVersion: v1
kind: Pod
metadata: {name: c, namespace: other, labels: {app: web, tier: front}}
spec: {nodeName: n1, containers: [{name: c, image: x, ports: [{name: http, containerPort: 8080}]}]}
"""
            + svc(extra="", ports="[{port: 80, targetPort: 8080}]").replace("{app: web}", "{app: web, tier: front}"))
    r = make_cluster(text).route(client="node/n1", service="web")
    assert [e.endpoint.pod for e in r.endpoints] == ["a"]


def test_only_ready_pods_answer(make_cluster):
    text = pod("a", "n1", ip="10.244.1.2") + pod("b", "n1", ready=False, ip="10.244.1.3") + svc()
    r = make_cluster(text).route(client="node/n1", service="web")
    assert [e.endpoint.pod for e in r.endpoints] == ["a"]
    assert r.endpoints[0].probability == 1.0
    assert [(e.pod, why) for e, why in r.excluded] == [("b", "not ready (its readiness probe has not passed)")]


def test_terminating_serving_pods_stand_in_when_none_is_ready(make_cluster):
    text = (pod("a", "n1", ready=True, terminating=True, ip="10.244.1.2")
            + pod("b", "n1", ready=False, ip="10.244.1.3") + svc())
    r = make_cluster(text).route(client="node/n1", service="web")
    assert r.reachable and [e.endpoint.pod for e in r.endpoints] == ["a"]
    assert "terminating" in r.reason


def test_terminating_pods_are_not_used_while_one_is_ready(make_cluster):
    text = (pod("a", "n1", ready=True, terminating=True, ip="10.244.1.2")
            + pod("b", "n1", ready=True, ip="10.244.1.3") + svc())
    r = make_cluster(text).route(client="node/n1", service="web")
    assert [e.endpoint.pod for e in r.endpoints] == ["b"]


def test_selector_matching_nothing_is_no_endpoints(make_cluster):
    r = make_cluster(WEB + svc().replace("{app: web}", "{app: wbe}")).route(client="node/node-a", service="web")
    assert (r.reachable, r.code, r.entry) == (False, "no-endpoints", "ClusterIP")
    assert "app=wbe" in r.reason
    assert [h["kind"] for h in r.hops] == ["client", "service"] and r.stopped_at == 1


def test_no_ready_pod_is_no_endpoints(make_cluster):
    text = pod("a", "n1", ready=False, ip="10.244.1.2") + svc()
    r = make_cluster(text).route(client="node/n1", service="web")
    assert r.code == "no-endpoints" and "none of them is ready" in r.reason


def test_endpoint_slices_are_used_as_written(make_cluster):
    text = """
apiVersion: v1
kind: Service
metadata: {name: ext}
spec:
  ports: [{name: https, port: 443, targetPort: 8443}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ext-1
  labels: {kubernetes.io/service-name: ext}
addressType: IPv4
ports: [{name: https, port: 9443, protocol: TCP}]
endpoints:
- addresses: [10.1.2.3]
  conditions: {ready: true}
- addresses: [10.1.2.4]
  conditions: {ready: false}
"""
    r = make_cluster(text).route(client="node/node-a", service="ext")
    assert [e.endpoint.ip_port for e in r.endpoints] == ["10.1.2.3:9443"]


def test_named_target_port_resolves_per_pod(make_cluster):
    text = (pod("a", "n1", ip="10.244.1.2", ports="[{name: http, containerPort: 8080}]")
            + pod("b", "n1", ip="10.244.1.3", ports="[{name: http, containerPort: 9090}]")
            + pod("c", "n1", ip="10.244.1.4", ports="[{name: metrics, containerPort: 9100}]")
            + svc())
    r = make_cluster(text).route(client="node/n1", service="web")
    assert {e.endpoint.pod: e.endpoint.port for e in r.endpoints} == {"a": 8080, "b": 9090}
    assert pytest.approx(sum(e.probability for e in r.endpoints)) == 1


# -- externalTrafficPolicy (service-traffic-policy.md, tutorials/services/source-ip.md) -------------

def local_lb(demo):
    return with_service_type(demo, demo.service("web-lb"), "LoadBalancer", "Local")


def test_local_policy_drops_at_a_node_without_a_ready_pod(demo):
    c = local_lb(demo)
    r = c.route(client="laptop", service="web-lb", entry="NodePort", via_node="node-c")
    assert (r.reachable, r.code, r.entry) == (False, "no-local-endpoints", "NodePort")
    assert [h["kind"] for h in r.hops] == ["client", "node-port"] and r.stopped_at == 1
    assert "node-a or node-b" in r.reason


def test_local_policy_uses_only_the_receiving_nodes_pods_and_keeps_the_source(demo):
    c = local_lb(demo)
    r = c.route(client="laptop", service="web-lb", entry="NodePort", via_node="node-b")
    assert r.reachable and r.source_ip_preserved
    assert [e.endpoint.node for e in r.endpoints] == ["node-b"]
    assert [h["kind"] for h in r.hops] == ["client", "node-port", "service", "pod"]
    assert r.hops[2]["chain"].startswith("KUBE-SVL-") and "address" not in r.hops[2]


def test_cluster_policy_uses_pods_anywhere_and_replaces_the_source(demo):
    r = demo.route(client="laptop", service="web-nodeport", via_node="node-c")
    assert {e.endpoint.node for e in r.endpoints} == {"node-a", "node-b"}
    assert r.source_ip_preserved is False


def test_load_balancer_spreads_evenly_over_healthy_nodes_under_local(demo):
    r = local_lb(demo).route(client="internet", service="web-lb")
    assert r.hops[1]["nodes"] == ["node-a", "node-b"]          # node-c fails the health check
    shares = {e.endpoint.node: [] for e in r.endpoints}
    for e in r.endpoints:
        shares[e.endpoint.node].append(e.probability)
    assert shares == {"node-a": [0.25, 0.25], "node-b": [0.5]}
    assert r.source_ip_preserved


def test_load_balancer_under_cluster_policy_gives_every_pod_the_same_share(demo):
    r = demo.route(client="internet", service="web-lb")
    assert r.hops[1]["nodes"] == ["node-a", "node-b", "node-c"]
    assert [round(e.probability, 10) for e in r.endpoints] == [0.3333333333] * 3


def test_pod_traffic_to_a_local_policy_node_port_is_sent_cluster_wide(demo):
    # kube-proxy short-circuits pod traffic for external destinations to the Service's
    # cluster-wide chain (proxier.go: "pod traffic for ... external destinations").
    c = local_lb(demo)
    r = c.route(client="pod/client", service="web-lb", entry="NodePort", via_node="node-c")
    assert r.reachable and len(r.endpoints) == 3


def test_pod_dialing_the_load_balancer_ip_is_caught_on_its_own_node(demo):
    r = demo.route(client="pod/client", service="web-lb", entry="LoadBalancer")
    assert r.reachable and r.hops[1]["kind"] == "load-balancer" and r.hops[1]["node"] == "node-c"
    assert "catches" in r.reason


# -- internalTrafficPolicy -----------------------------------------------------------------

def test_internal_local_policy_uses_only_the_clients_node(demo, make_cluster):
    text = WEB + svc(extra="  internalTrafficPolicy: Local")
    c = make_cluster(text.replace("replicas: 3", "replicas: 2"))
    first = c.pods[0]
    r = c.route(client=f"node/{first.node}", service="web")
    assert r.reachable and [e.endpoint.node for e in r.endpoints] == [first.node]


def test_internal_local_policy_drops_without_a_local_pod(make_cluster):
    text = pod("a", "n1", ip="10.244.1.2") + pod("b", "n2", labels="{app: other}", ip="10.244.2.2") + svc(extra="  internalTrafficPolicy: Local")
    r = make_cluster(text).route(client="pod/b", service="web")
    assert (r.reachable, r.code) == (False, "no-local-endpoints")


# -- headless and ExternalName (service.md "Headless Services", "ExternalName") -------------

def test_headless_answers_with_a_records_of_ready_pods(demo):
    r = demo.route(client="pod/client", service="web-headless")
    assert (r.entry, r.code) == ("DNS", "ok")
    assert [h["kind"] for h in r.hops] == ["client", "dns", "pod"]
    ips = sorted(p.ip for p in demo.pods if p.labels.get("app") == "web")
    assert r.dns == {"name": "web-headless.default.svc.cluster.local",
                     "records": [{"type": "A", "value": ip} for ip in ips]}
    assert all(e.probability is None for e in r.endpoints)


def test_headless_with_no_ready_pod_is_nxdomain(make_cluster):
    text = pod("a", "n1", ready=False, ip="10.244.1.2") + svc(extra="  clusterIP: None")
    r = make_cluster(text).route(client="pod/a", service="web")
    assert (r.reachable, r.code, r.entry) == (False, "nxdomain", "DNS")
    assert r.dns["records"] == []


def test_external_name_is_a_cname_with_no_proxying(demo):
    r = demo.route(client="pod/client", service="db")
    assert (r.entry, r.code, r.endpoints) == ("DNS", "ok", ())
    assert r.dns == {"name": "db.default.svc.cluster.local",
                     "records": [{"type": "CNAME", "value": "db.example.com"}]}
    assert [h["kind"] for h in r.hops] == ["client", "dns"]


# -- ports and errors ---------------------------------------------------------------------------

def test_unknown_port_is_no_such_port(demo):
    r = demo.route(client="pod/client", service="web", port=8080)
    assert (r.code, r.entry, r.reachable) == ("no-such-port", None, False)
    assert "80 (http)" in r.reason


def test_port_by_name_and_number(demo):
    assert demo.route(client="pod/client", service="web", port="http").port.port == 80
    assert demo.route(client="pod/client", service="web", port=80).port.name == "http"


def test_unknown_client_or_service_is_a_clear_error(demo):
    with pytest.raises(k8slab.K8slabError, match="did you mean web"):
        demo.route(client="laptop", service="wbe")
    with pytest.raises(k8slab.K8slabError, match="no node 'node-x'"):
        demo.route(client="node/node-x", service="web")
    with pytest.raises(k8slab.K8slabError, match="give one of"):
        demo.route(client="desktop", service="web")


# -- the JSON contract -----------------------------------------------------------------------

def test_json_follows_the_design_for_every_client_and_service(demo):
    keys = ["client", "service", "port", "reachable", "code", "entry", "reason", "hops",
            "endpoints", "dns", "source_ip_preserved"]
    for client in default_clients(demo):
        for s in demo.services:
            d = demo.route(client=client, service=s.name).to_dict()
            assert list(d) == keys
            assert d["code"] in ("ok", "not-exposed", "no-endpoints", "no-local-endpoints",
                                 "nxdomain", "lb-pending", "no-such-port")
            assert d["hops"][0] == {"kind": "client", "name": client}
            assert d["reason"] and d["reason"][0].isupper()
            kinds = [h["kind"] for h in d["hops"]]
            order = ["client", "load-balancer", "external-ip", "node-port", "service", "dns", "pod"]
            assert kinds == sorted(kinds, key=order.index)
            if d["reachable"] and d["entry"] != "DNS":
                assert abs(sum(e["probability"] for e in d["endpoints"]) - 1) < 1e-9
            if not d["reachable"]:
                assert d["endpoints"] == []
            assert (d["entry"] is None) == (d["code"] in ("not-exposed", "lb-pending", "no-such-port"))


def test_client_kinds_are_the_designs_five():
    assert CLIENT_KINDS == ("pod", "node", "laptop", "other-cluster", "internet")
