"""Issue 22: the snapshots notebook 09 ships validate and route with the values they carry."""

import json
from pathlib import Path

import pytest

import k8slab
from k8slab import dns
from k8slab.errors import K8slabError
from k8slab.exercises import check
from k8slab.manifests import validate_files

SNAPSHOTS = Path(__file__).resolve().parent.parent / "notebooks" / "manifests" / "snapshots"
DATA = Path(k8slab.__file__).resolve().parent / "data"


@pytest.mark.parametrize("path", sorted(SNAPSHOTS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_snapshot_validates_and_cites_its_source(path):
    assert validate_files([str(path)]) == []
    head = path.read_text(encoding="utf-8").split("\napiVersion", 1)[0]
    assert "https://github.com/" in head, "each snapshot names where it was published"
    assert path.name in (SNAPSHOTS / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["openshift3", "xcluster-mconnect"])
def test_the_exercises_copies_are_the_notebooks_files(name):
    assert (DATA / f"snapshot-{name}.yaml").read_bytes() == (SNAPSHOTS / f"{name}.yaml").read_bytes()


def test_openshift3_keeps_its_addresses_and_learns_its_range():
    c = k8slab.load(str(SNAPSHOTS / "openshift3.yaml"))
    assert c.facts.service_range.cidrs == ("172.30.0.0/16",) and c.facts.service_range.source == "default/kubernetes"
    assert c.service("router-1", "zjj-project").cluster_ip == "172.30.210.0"
    assert c.service("kubernetes").cluster_ip == "172.30.0.1"
    assert {p.name: (p.ip, p.node, p.ready) for p in c.pods} == {
        "hello-pod": ("10.1.0.3", "node2.ose.com", False),            # no Ready condition published
        "router-1-1-w27o2": ("10.66.208.229", "node1.ose.com", False)}
    assert c.pod("router-1-1-w27o2").host_network
    r = c.route(client="node/node1.ose.com", service="router-1", namespace="zjj-project")
    assert r.code == "no-endpoints" and r.hops[-1]["address"] == "172.30.210.0:80"
    assert dns.cluster_dns_ip(c) == "172.30.0.10"


def test_gke_keeps_its_cluster_ip_and_says_the_range_is_unknown():
    c = k8slab.load(str(SNAPSHOTS / "gke.yaml"))
    assert c.service("nginx-svc").cluster_ip == "34.118.239.12"
    assert any("outside 10.96.0.0/12" in n for n in c.notes)
    given = k8slab.load(str(SNAPSHOTS / "gke.yaml"), service_cidr="34.118.224.0/20")
    assert dns.cluster_dns_ip(given) == "34.118.224.10" and not any("outside" in n for n in given.notes)
    assert given.route(client="node/node-a", service="nginx-svc").code == "no-endpoints"


def test_xcluster_ipv6_is_read_and_named_not_modelled():
    c = k8slab.load(str(SNAPSHOTS / "xcluster-ipv6.yaml"))
    assert c.services == () and c.facts.not_modelled == ("IPv6-only Service(s)",)
    assert sum("default/mconnect-ipv6" in n for n in c.notes) == 1


def test_xcluster_mconnect_reproduces_the_recorded_loop():
    from k8slab.simulate import simulate
    c = k8slab.load(str(SNAPSHOTS / "xcluster-mconnect.yaml"))
    assert c.proxy.mode == "ipvs" and c.facts.service_range.cidrs[0].startswith("12.0.0.0/")
    lb = c.route(client="internet", service="mconnect").to_dict()
    assert lb["reachable"] and lb["hops"][1]["address"] == "10.0.0.0:5001"
    r = c.route(client="node/vm-003", service="mconnect")
    # The published mconnect run: 100 connections from vm-003, 25 to each of the four pods.
    counts = simulate(r, 100, clients=1, seed=0).to_dict()["pods"]
    assert sorted(counts) == sorted(["mconnect-deployment-54f999b8c9-rtxkt", "mconnect-deployment-54f999b8c9-7lrf7",
                                     "mconnect-deployment-54f999b8c9-ggj8w", "mconnect-deployment-54f999b8c9-njrjg"])
    assert set(counts.values()) == {25}


@pytest.mark.parametrize("ex, answer, misconception", [
    ("stored-or-written", "b", None), ("stored-or-written", "a", "stored-rechecked"),
    ("stored-or-written", "c", "one-true-range"), ("stored-or-written", "d", "ip-never-checked"),
    ("learned-address", "172.30.0.11", None), ("learned-address", "10.96.0.11", "kubeadm-everywhere"),
    ("learned-address", "172.30.0.1", "first-address-free"), ("learned-address", 5, "format"),
    ("recorded-split", 25, None), ("recorded-split", "25", None), ("recorded-split", 100, "one-pod-gets-all"),
    ("recorded-split", 20, "uneven"),
])
def test_notebook_09_exercises(ex, answer, misconception):
    fb = check(ex, answer)
    assert fb.correct == (misconception is None)
    if misconception:
        assert fb.misconception == misconception and fb.hint


def test_notebook_09_checks_every_exercise_and_frames_the_lesson():
    import json
    import re
    nb = json.loads((SNAPSHOTS.parent.parent / "09-your-own-cluster.ipynb").read_text(encoding="utf-8"))
    sources = ["".join(c["source"]) for c in nb["cells"]]
    code = "\n".join(s for s, c in zip(sources, nb["cells"]) if c["cell_type"] == "code")
    checked = set(re.findall(r'exercises\.check\("([\w-]+)"', code))
    assert checked == {"stored-or-written", "learned-address", "recorded-split"}
    assert checked <= set(re.findall(r'exercises\.solution\("([\w-]+)"\)', code))
    assert "you will be able to" in sources[0].lower() and "## Summary" in sources[-1]
    assert nb["metadata"]["kernelspec"]["display_name"] == "Python 3 (ipykernel)"


def test_minikube_reads_the_api_servers_own_lists_and_endpoints():
    c = k8slab.load(str(SNAPSHOTS / "minikube.yaml"))
    assert {(s.namespace, s.name): (s.cluster_ip, s.type) for s in c.services} == {
        ("default", "kubernetes"): ("10.0.0.1", "ClusterIP"),
        ("kube-system", "kube-dns"): ("10.0.0.10", "ClusterIP"),
        ("kube-system", "kubernetes-dashboard"): ("10.0.0.241", "NodePort")}
    assert c.facts.service_range.cidrs == ("10.0.0.0/24",) and c.facts.service_range.source == "default/kubernetes"
    # The node is named by the endpoints only: its address is k8slab's stand-in, and it says so.
    assert [n.name for n in c.nodes] == ["minikube"] and c.nodes[0].address.startswith("192.0.2.")
    assert ("no Node objects given: minikube (named by pods or endpoints) has a stand-in address "
            "from 192.0.2.0/24") in c.notes
    # The learned range puts DNS where this cluster's kube-dns really is.
    assert dns.cluster_dns_ip(c) == "10.0.0.10" == c.service("kube-dns", "kube-system").cluster_ip
    # kube-apiserver of that time made default/kubernetes with ClientIP affinity (3 h by default).
    k = c.service("kubernetes")
    assert (k.session_affinity, k.session_affinity_timeout) == ("ClientIP", 10800)
    # No Node objects: the node is the one the Endpoints name, not k8slab's node-a..c.
    assert [n.name for n in c.nodes] == ["minikube"]
    assert sum("Endpoints is deprecated" in n for n in c.notes) == 1
    r = c.route(client="laptop", service="kubernetes-dashboard", namespace="kube-system", entry="NodePort").to_dict()
    assert r["code"] == "ok" and r["hops"][1]["kind"] == "node-port" and r["hops"][1]["address"].endswith(":30000")
    assert [(e["pod"], e["node"], e["address"]) for e in r["endpoints"]] == [
        ("kubernetes-dashboard-6zgkm", "minikube", "172.17.0.2:9090")]
    d = c.route(client="node/minikube", service="kube-dns", namespace="kube-system", port="dns").to_dict()
    # KUBE-SVC-TCOU7JCQXEZGVUNU: iptables' chain for kube-system/kube-dns:dns/udp, the same on
    # every cluster (servicePortChainName hashes the name, port name and protocol).
    assert d["hops"][1]["address"] == "10.0.0.10:53" and d["hops"][1]["chain"] == "KUBE-SVC-TCOU7JCQXEZGVUNU"
    assert [e["address"] for e in d["endpoints"]] == ["172.17.0.6:53"]
    api = c.route(client="node/minikube", service="kubernetes").to_dict()
    assert [e["address"] for e in api["endpoints"]] == ["10.0.2.15:8443"]


def test_microk8s_learns_its_range_from_default_kubernetes():
    c = k8slab.load(str(SNAPSHOTS / "microk8s.yaml"))
    k = c.service("kubernetes")
    assert k.cluster_ip == "10.152.183.1" and k.ports[0].target_port == 16443   # --secure-port=16443
    # MicroK8s's kube-apiserver: --service-cluster-ip-range=10.152.183.0/24.
    assert c.facts.service_range.cidrs == ("10.152.183.0/24",)
    assert c.facts.service_range.source == "default/kubernetes"
    assert dns.cluster_dns_ip(c) == "10.152.183.10"
    assert "no nodes given: filled in node-a, node-b and node-c" in c.notes
    r = c.route(client="node/node-a", service="kubernetes").to_dict()
    assert r["code"] == "no-endpoints" and r["hops"][-1]["address"] == "10.152.183.1:443"


def test_a_typed_list_from_the_api_gives_its_items_their_kind():
    # apimachinery's decodeToList (staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/unstructured/
    # helpers.go): "For typed lists, e.g., a PodList, API server doesn't set each item's APIVersion
    # and Kind": an item with neither is of the list's kind without "List", in its apiVersion.
    from k8slab.manifests import load_texts
    svc = {"metadata": {"name": "web", "namespace": "default", "uid": "u1"},
           "spec": {"clusterIP": "10.96.0.20", "ports": [{"port": 80}]}}
    c = load_texts([("list.json", json.dumps({"kind": "ServiceList", "apiVersion": "v1", "items": [svc]}))])
    assert c.service("web").cluster_ip == "10.96.0.20"
    # A plain List names no item kind: an item without one is still refused, as upstream does.
    with pytest.raises(K8slabError, match=r"items\[0\]: kind: Required value"):
        load_texts([("list.json", json.dumps({"kind": "List", "apiVersion": "v1", "items": [svc]}))])
    # An item that says its kind keeps it.
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
           "spec": {"containers": [{"name": "c", "image": "i"}]}}
    assert [p.name for p in load_texts([("l.json", json.dumps(
        {"kind": "ServiceList", "apiVersion": "v1", "items": [svc, pod]}))]).pods] == ["p"]


def test_with_no_nodes_the_nodes_endpoints_name_are_the_nodes():
    # The EndpointSlice controller copies each pod's spec.nodeName into its endpoint
    # (podToEndpoint, staging/src/k8s.io/endpointslice/utils.go).
    from k8slab.manifests import load_texts
    text = """
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec: {selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: default, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{port: 80}]
endpoints:
- {addresses: [10.244.7.4], nodeName: worker-7, conditions: {ready: true}}
"""
    c = load_texts([("s.yaml", text)])
    assert [n.name for n in c.nodes] == ["worker-7"]
    assert not any("filled in node-a" in n for n in c.notes)


def test_k3s_keeps_its_traefik_service_and_its_pending_load_balancer():
    c = k8slab.load(str(SNAPSHOTS / "k3s.yaml"))
    t = c.service("traefik", "kube-system")
    assert (t.type, t.cluster_ip, t.load_balancer_ingress) == ("LoadBalancer", "10.43.131.94", ())
    assert [(p.name, p.port, p.target_port, p.node_port) for p in t.ports] == [
        ("web", 80, "web", 32315), ("websecure", 443, "websecure", 30437)]
    # Only this Service: the range is not in the file, and k8slab says so rather than refuse it.
    assert c.facts.service_range.source == "kubeadm"
    assert sum("outside 10.96.0.0/12 (traefik)" in n for n in c.notes) == 1
    # k3s's flags (pkg/cli/cmds/server.go): --service-cidr 10.43.0.0/16, --cluster-dns 10.43.0.10.
    g = k8slab.load(str(SNAPSHOTS / "k3s.yaml"), service_cidr="10.43.0.0/16")
    assert dns.cluster_dns_ip(g) == "10.43.0.10" and not any("outside" in n for n in g.notes)
    assert g.route(client="internet", service="traefik", namespace="kube-system", entry="LoadBalancer").code == "lb-pending"
    r = g.route(client="laptop", service="traefik", namespace="kube-system", port="web", entry="NodePort").to_dict()
    assert r["code"] == "no-endpoints" and r["hops"][-1]["address"].endswith(":32315")
    r = g.route(client="node/node-a", service="traefik", namespace="kube-system", port="websecure").to_dict()
    assert r["code"] == "no-endpoints" and r["hops"][-1]["address"] == "10.43.131.94:443"


def test_aks_keeps_its_load_balancers_public_ip_and_node_ports():
    c = k8slab.load(str(SNAPSHOTS / "aks.yaml"))
    s = c.service("wus-r3-nginx-ingress-controller", "wus-r3")
    assert (s.type, s.cluster_ip, s.external_traffic_policy) == ("LoadBalancer", "10.0.152.94", "Cluster")
    assert s.load_balancer_ingress == ("52.183.117.124",) and s.load_balancer_ip_mode == "VIP"
    assert [(p.port, p.node_port) for p in s.ports] == [(80, 31560), (443, 30518)]
    assert sum("outside 10.96.0.0/12 (wus-r3-nginx-ingress-controller)" in n for n in c.notes) == 1
    g = k8slab.load(str(SNAPSHOTS / "aks.yaml"), service_cidr="10.0.0.0/16")
    assert dns.cluster_dns_ip(g) == "10.0.0.10" and not any("outside" in n for n in g.notes)
    # From the internet: the Azure load balancer's IP, then a node port on every node, as a
    # Cluster-policy LoadBalancer goes; no pods were published, so nothing answers.
    r = g.route(client="internet", service="wus-r3-nginx-ingress-controller", namespace="wus-r3", port="http").to_dict()
    assert r["entry"] == "LoadBalancer" and r["code"] == "no-endpoints"
    assert [(h["kind"], h.get("address"), h.get("port")) for h in r["hops"][1:]] == [
        ("load-balancer", "52.183.117.124:80", None), ("node-port", None, 31560)]
    r = g.route(client="node/node-a", service="wus-r3-nginx-ingress-controller", namespace="wus-r3", port="https")
    assert r.code == "no-endpoints" and r.hops[-1]["address"] == "10.0.152.94:443"


def test_k3d_learns_where_k3s_range_starts_and_puts_dns_where_k3s_does():
    c = k8slab.load(str(SNAPSHOTS / "k3d.yaml"))
    k = c.service("kubernetes")
    assert k.cluster_ip == "10.43.0.1" and k.ports[0].target_port == 6443
    # One address says where the range starts, not how big it is (k3s's is a /16): the smallest
    # block holding every stored cluster IP, and "exact" False.
    r = c.facts.service_range
    assert (r.cidrs, r.source, r.exact) == (("10.43.0.0/24",), "default/kubernetes", False)
    # k3s's --cluster-dns default (pkg/cli/cmds/server.go): 10.43.0.10, the learned range's .10.
    assert dns.cluster_dns_ip(c) == "10.43.0.10"
    hop = c.route(client="node/node-a", service="kubernetes").hops[-1]
    # KUBE-SVC-NPX46M4PTMTKRN6Y: iptables' chain for default/kubernetes:https/tcp on every cluster.
    assert hop["address"] == "10.43.0.1:443" and hop["chain"] == "KUBE-SVC-NPX46M4PTMTKRN6Y"


def test_diagnose_on_a_snapshot_without_pods_reads_the_controllers_endpoints():
    # minikube's snapshot has Services and their Endpoints, no pods: the selector cannot be
    # matched against pods the snapshot left out, and must not be called broken (route reaches
    # 172.17.0.6:53 through the same endpoints).
    from k8slab.diagnose import diagnose
    c = k8slab.load(str(SNAPSHOTS / "minikube.yaml"))
    report = diagnose(c, "node/minikube", "10.0.0.10:53", protocol="UDP").to_dict()
    assert report["works"] is True and report["problems"] == []
    (selector,) = [ch for ch in report["checks"] if ch["id"] == "selector"]
    assert selector["ok"] and "snapshot left them out" in selector["detail"] and "1 endpoint" in selector["detail"]
    assert c.route(client="node/minikube", service="kube-dns", namespace="kube-system").reachable


def test_diagnose_on_services_alone_asks_for_a_fuller_snapshot_not_a_new_selector():
    # GKE's file is one Service, no pods, no EndpointSlices: nothing says the selector is wrong.
    from k8slab.diagnose import diagnose
    c = k8slab.load(str(SNAPSHOTS / "gke.yaml"))
    (problem,) = diagnose(c, "node/node-a", "34.118.239.12:80").to_dict()["problems"]
    assert problem["code"] == "selector-matches-nothing"
    assert "no pod and no EndpointSlice at all" in problem["message"]
    assert "k8slab snapshot" in problem["fix"] and "spec.selector" not in problem["fix"]
    # default/kubernetes has no selector by design: its endpoints are the API server's own.
    c = k8slab.load(str(SNAPSHOTS / "k3d.yaml"))
    (problem,) = diagnose(c, "node/node-a", "10.43.0.1:443").to_dict()["problems"]
    assert "no selector by design" in problem["message"]
    assert problem["fix"] == "add `kubectl get endpointslices -n default kubernetes -o yaml` to the input"


def test_a_service_without_pods_in_a_manifest_with_pods_is_still_a_selector_problem():
    # Pods in the input that the selector misses: the learner's selector, as before.
    from k8slab.diagnose import diagnose
    c = k8slab.Cluster.from_yaml("""
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec: {containers: [{name: web, image: nginx, ports: [{containerPort: 80}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: wbe}, ports: [{port: 80}]}
""")
    (problem,) = diagnose(c, "pod/default/web", "web:80").to_dict()["problems"]
    assert problem["code"] == "selector-matches-nothing" and "make spec.selector match" in problem["fix"]


def test_route_says_when_the_input_is_services_alone():
    gke = k8slab.load(str(SNAPSHOTS / "gke.yaml"))
    r = gke.route(client="node/node-a", service="nginx-svc")
    assert r.code == "no-endpoints" and "a snapshot of Services alone" in r.reason
    k3d = k8slab.load(str(SNAPSHOTS / "k3d.yaml"))
    r = k3d.route(client="node/node-a", service="kubernetes")
    assert r.code == "no-endpoints" and "no selector by design" in r.reason
    # With pods in the input, the reason is the selector's, as before.
    openshift = k8slab.load(str(SNAPSHOTS / "openshift3.yaml"))
    r = openshift.route(client="node/node1.ose.com", service="router-1", namespace="zjj-project")
    assert "selects no pod" in r.reason and "Services alone" not in r.reason
