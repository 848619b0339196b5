"""Issue 23, items 2-3: which nodes a cloud load balancer targets, and nodePortAddresses.

Each test names the source that decides it; trace (which reads only the rules) is asked too,
so route and rules cannot disagree.
"""

import pytest
from hypothesis import given, settings, strategies as st

from k8slab import load_balancer, routing, trace
from support import cluster_from


def node(name, ip, *, labels=None, ready=True, deleting=False, taint=None):
    meta = {"name": name, "labels": labels or {}}
    if deleting:
        meta["deletionTimestamp"] = "2026-12-01T00:00:00Z"
    spec = {"taints": [{"key": taint, "effect": "NoSchedule"}]} if taint else {}
    return (f"apiVersion: v1\nkind: Node\nmetadata: {meta}\nspec: {spec}\n"
            f"status: {{addresses: [{{type: InternalIP, address: {ip}}}], "
            f"conditions: [{{type: Ready, status: '{'True' if ready else 'False'}'}}]}}\n")


def pod(name, node_name, ip):
    return (f"apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, labels: {{app: web}}}}\n"
            f"spec: {{nodeName: {node_name}, containers: [{{name: c, image: x, ports: [{{containerPort: 8080}}]}}]}}\n"
            f"status: {{phase: Running, podIP: {ip}, conditions: [{{type: Ready, status: 'True'}}]}}\n")


EXCLUDE = load_balancer.EXCLUDE_FROM_LB
NODES = [
    node("node-a", "192.0.2.11"),
    node("node-b", "192.0.2.12", ready=False),                        # NotReady: stays
    node("node-c", "192.0.2.13", labels={EXCLUDE: "false"}),          # ParseBool false: stays
    node("node-d", "192.0.2.14", taint="ToBeDeletedByClusterAutoscaler"),
    node("node-e", "192.0.2.15", deleting=True),
    node("node-f", "192.0.2.16", labels={EXCLUDE: "true"}),
    node("node-g", "192.0.2.17", labels={EXCLUDE: "maybe"}),          # ParseBool error: out
    node("node-h", "192.0.2.18", labels={EXCLUDE: ""}),               # ParseBool error: out
]


def lb_cluster(policy="Cluster"):
    svc = ("apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
           f"spec: {{type: LoadBalancer, externalTrafficPolicy: {policy}, selector: {{app: web}}, "
           "ports: [{port: 80, targetPort: 8080, nodePort: 30080}]}\n")
    docs = NODES + [pod("web-1", "node-a", "10.244.1.5"), pod("web-2", "node-b", "10.244.2.5"), svc]
    return cluster_from("---\n".join(docs))


def test_cluster_policy_targets_the_stable_node_set():
    # k8s.io/cloud-provider controllers/service/controller.go: stableNodeSetPredicates =
    # nodeNotDeletedPredicate, nodeIncludedPredicate (strconv.ParseBool of the label; an error
    # excludes), nodeUnTaintedPredicate (ToBeDeletedByClusterAutoscaler); no readiness (KEP-3458).
    c = lb_cluster()
    r = routing.route(c, "internet", "web")
    assert r.reachable
    lb_hop = next(h for h in r.hops if h["kind"] == "load-balancer")
    assert lb_hop["nodes"] == ["node-a", "node-b", "node-c"]
    assert [n.name for n in routing.load_balancer_nodes(c, c.service("web"))] == ["node-a", "node-b", "node-c"]
    assert "node-d is not among its targets: it is tainted ToBeDeletedByClusterAutoscaler" in r.reason
    assert "node-b is NotReady yet stays a target" in r.reason
    # trace reads the same node set and the rules: the same pods, the same shares.
    lb = c.service("web").load_balancer_ingress[0]
    t = trace.trace(c, "internet", f"{lb}:80")
    got = {}
    for b in t.branches:
        got[b.pod] = got.get(b.pod, 0) + b.chance
    assert got == pytest.approx({e.endpoint.pod: e.probability for e in r.endpoints})
    assert {b.entered for b in t.branches} == {"node-a", "node-b", "node-c"}


def test_local_policy_checks_the_health_check_node_port_on_the_same_pool():
    # pkg/proxy/healthcheck/service_health.go: 200 where the node has a local ready endpoint;
    # the pool is still stableNodeSetPredicates', so a NotReady node with a ready pod passes.
    c = lb_cluster("Local")
    r = routing.route(c, "internet", "web")
    assert next(h for h in r.hops if h["kind"] == "load-balancer")["nodes"] == ["node-a", "node-b"]
    assert {e.endpoint.pod: e.probability for e in r.endpoints} == {"web-1": 0.5, "web-2": 0.5}


@pytest.mark.parametrize("value,kept", [("true", False), ("True", False), ("1", False), ("t", False),
                                        ("false", True), ("FALSE", True), ("0", True), ("f", True),
                                        ("", False), ("yes", False), ("maybe", False)])
def test_exclude_label_reads_as_go_parse_bool(value, kept):
    # controller.go nodeIncludedPredicate: ParseBool(v); err -> excluded; else !v
    c = cluster_from(node("node-a", "192.0.2.11", labels={EXCLUDE: value}))
    assert (load_balancer.why_left_out(c.nodes[0]) is None) is kept


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=6))
def test_go_parse_bool_accepts_exactly_go_s_spellings(text):
    # Go strconv/atob.go ParseBool: "1", "t", "T", "TRUE", "true", "True", "0", "f", "F",
    # "FALSE", "false", "False"; any other string is an error.
    expected = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
                "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False}
    assert load_balancer.go_parse_bool(text) == expected.get(text)


# -- nodePortAddresses ------------------------------------------------------------------------

def np_cluster(addresses, policy="Cluster", pods=True):
    conf = ("apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n"
            f"clusterCIDR: 10.244.0.0/16\nnodePortAddresses: {addresses}\n")
    svc = ("apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
           f"spec: {{type: NodePort, externalTrafficPolicy: {policy}, selector: {{app: web}}, "
           "ports: [{port: 80, targetPort: 8080, nodePort: 30080}]}\n")
    docs = [conf, node("node-a", "192.0.2.11"), node("node-b", "192.0.2.12"), svc]
    if pods:
        docs.append(pod("web-1", "node-b", "10.244.2.5"))
    return cluster_from("---\n".join(docs))


@pytest.mark.parametrize("addresses,open_on", [
    ("[192.0.2.12/32]", {"node-b"}), ("[192.0.2.0/24]", {"node-a", "node-b"}),
    ("[primary]", {"node-a", "node-b"}), ("[10.0.0.0/8]", set()), ("[]", {"node-a", "node-b"})])
@pytest.mark.parametrize("client", ["laptop", "pod/web-1", "node/node-a"])
def test_node_port_answers_only_on_listed_addresses(addresses, open_on, client):
    # issue 23.3. pkg/proxy/iptables/proxier.go syncProxyRules: with nodePortAddresses set, the
    # last KUBE-SERVICES rule is `-d <node IP> -j KUBE-NODEPORTS` for each node IP in a listed
    # range ("primary": the node's primary IP); other addresses meet no nat rule, and the
    # node's kernel refuses the connection (trace: rejected).
    c = np_cluster(addresses)
    for n in c.nodes:
        r = routing.route(c, client, "web", entry="NodePort", via_node=n.name)
        t = trace.trace(c, client, f"{n.address}:30080", via_node=n.name)
        rules = __import__("k8slab").proxy.rules(c, n.name)
        jumps = [line for line in rules.splitlines() if line.endswith("-j KUBE-NODEPORTS")
                 and line.startswith("-A KUBE-SERVICES")]
        if n.name in open_on:
            assert r.reachable and t.verdict == "delivered", r.reason
            assert len(jumps) == 1
        else:
            assert r.code == "node-port-closed" and r.entry == "NodePort"
            assert r.hops[-1] == {"kind": "node-port", "node": n.name, "address": f"{n.address}:30080"}
            assert "nodePortAddresses" in r.reason
            assert t.verdict == "rejected" and jumps == []


def test_a_closed_node_port_still_meets_the_filter_table():
    # proxier.go: KUBE-EXTERNAL-SERVICES (filter) matches `-m addrtype --dst-type LOCAL` whatever
    # nodePortAddresses says: no endpoints at all -> REJECT; Local with none here -> DROP.
    none = np_cluster("[192.0.2.12/32]", pods=False)
    r = routing.route(none, "laptop", "web", via_node="node-a")
    assert r.code == "no-endpoints" and trace.trace(none, "laptop", "192.0.2.11:30080").verdict == "rejected"
    local = np_cluster("[192.0.2.12/32]", policy="Local")
    r = routing.route(local, "laptop", "web", via_node="node-a")
    assert r.code == "no-local-endpoints" and "nodePortAddresses" in r.reason
    assert trace.trace(local, "laptop", "192.0.2.11:30080").verdict == "dropped"


def test_diagnose_names_node_port_addresses():
    from k8slab import diagnose
    c = np_cluster("[192.0.2.12/32]")
    rep = diagnose.diagnose(c, "laptop", "192.0.2.11:30080")
    assert rep.symptom == "connection refused" and "node-port-closed" in rep.codes
    assert diagnose.diagnose(c, "laptop", "192.0.2.12:30080").works
