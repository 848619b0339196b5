"""Kubernetes' NetworkPolicy e2e suite, every "Netpol" test, as k8slab truth tables.

Reproduces test/e2e/network/netpol/network_policy.go (kubernetes/kubernetes): its model (model.go:
namespaces x, y, z; each pod labelled pod=<name>, one container per port and protocol with the
port named serve-<port>-<protocol>), its policies (policies.go's GenNetworkPolicy* and
SetSpec*Rules: a direction's rules given means that direction is in policyTypes), and its
expectations (reachability.go: a table that starts all-allowed, then Expect / ExpectPeer /
ExpectAllIngress / ExpectAllEgress). Multi-step tests check one table per step. As upstream
(ignoreLoopback), a pod's connection to itself is not compared. Each test cites its name.
"""
from __future__ import annotations

import copy

import pytest
import yaml

import k8slab
from k8slab import policy

NS_KEY = "kubernetes.io/metadata.name"     # namespaceLabelKey / v1.LabelMetadataName


# -- the e2e model ------------------------------------------------------------------------------

def model_docs(pods, ports=(80, 81), protocols=("TCP", "UDP", "SCTP"), ns_labels=None, pod_labels=None):
    docs = []
    for ns in ("x", "y", "z"):
        labels = {"ns": ns, **((ns_labels or {}).get(ns, {}))}
        docs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}})
    for text in pods:
        ns, name = text.split("/")
        labels = {"pod": name, **((pod_labels or {}).get(text, {}))}
        containers = [{"name": f"cont-{port}-{proto.lower()}", "image": "agnhost",
                       "ports": [{"containerPort": port, "name": f"serve-{port}-{proto.lower()}", "protocol": proto}]}
                      for port in ports for proto in protocols]
        docs.append({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels},
                     "spec": {"containers": containers}})
    return docs


def cluster(pods, policies=(), **kw):
    docs = model_docs(pods, **kw) + list(policies)
    c = k8slab.Cluster.from_yaml("\n---\n".join(yaml.safe_dump(d) for d in docs))
    assert not [n for n in c.notes if "unknown field" in n]
    return c


def np(name, ns, selector=None, ingress=None, egress=None, types=None):
    """GenNetworkPolicyWithNameAndPodSelector + SetSpecIngressRules/SetSpecEgressRules."""
    spec = {"podSelector": selector or {}}
    kinds = []
    if ingress is not None:
        spec["ingress"] = ingress
        kinds.append("Ingress")
    if egress is not None:
        spec["egress"] = egress
        kinds.append("Egress")
    spec["policyTypes"] = types or kinds
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


def match(**labels):
    return {"matchLabels": labels}


def ns_is(name):
    return {"matchLabels": {NS_KEY: name}}


class Reachability:
    """reachability.go's expectations: every pair starts as `default`."""

    def __init__(self, pods, default=True):
        self.pods = sorted(pods)
        self.table = {(a, b): default for a in self.pods for b in self.pods}

    def expect(self, a, b, ok):
        self.table[(a, b)] = ok

    def expect_peer(self, frm, to, ok):
        for a in self.pods:
            for b in self.pods:
                if _peer(frm, a) and _peer(to, b):
                    self.table[(a, b)] = ok

    def expect_all_ingress(self, pod, ok):
        for a in self.pods:
            self.table[(a, pod)] = ok

    def expect_all_egress(self, pod, ok):
        for b in self.pods:
            self.table[(pod, b)] = ok


def _peer(peer: dict, pod: str) -> bool:
    ns, name = pod.split("/")
    return peer.get("ns", ns) == ns and peer.get("pod", name) == name


def validate_or_fail(c, port, protocol, want: Reachability):
    got = policy.matrix(c, port, protocol)
    assert sorted(got.pods) == want.pods
    wrong = []
    for i, a in enumerate(got.pods):
        for j, b in enumerate(got.pods):
            if a == b:
                continue                # ignoreLoopback
            if got.allowed[i][j] != want.table[(a, b)]:
                wrong.append(f"{a} -> {b}: got {got.allowed[i][j]}, want {want.table[(a, b)]}")
            # The one-pair explanation must agree with the table.
            pa, pb = c.pod(a.split("/")[1], a.split("/")[0]), c.pod(b.split("/")[1], b.split("/")[0])
            assert policy.decide(c, src=pa, dst=pb, port=port, protocol=protocol).allowed == got.allowed[i][j], (a, b)
    assert not wrong, f"{port}/{protocol}\n" + got.text() + "\n" + "\n".join(wrong)


# -- "NetworkPolicy between server and client" ---------------------------------------------------

def test_should_support_a_default_deny_ingress_policy():
    pods = ["x/a", "x/b", "y/a", "y/b"]
    c = cluster(pods, [np("deny-ingress", "x", ingress=[])], protocols=("TCP",), ports=(80,))
    r = Reachability(pods)
    r.expect_peer({}, {"ns": "x"}, False)
    validate_or_fail(c, 80, "TCP", r)


def test_should_support_a_default_deny_all_policy():
    pods = ["x/a", "x/b", "y/a"]
    c = cluster(pods, [np("deny-all", "x", ingress=[], egress=[])])
    r = Reachability(pods)
    r.expect_peer({}, {"ns": "x"}, False)
    r.expect_peer({"ns": "x"}, {}, False)
    validate_or_fail(c, 80, "TCP", r)


def test_should_enforce_policy_to_allow_traffic_from_pods_within_server_namespace_based_on_PodSelector():
    pods = ["x/a", "x/b", "x/c", "y/a"]
    c = cluster(pods, [np("x-a-allows-x-b", "x", match(pod="a"), ingress=[{"from": [{"podSelector": match(pod="b")}]}])])
    r = Reachability(pods)
    r.expect_all_ingress("x/a", False)
    r.expect("x/b", "x/a", True)
    validate_or_fail(c, 80, "TCP", r)


def test_should_enforce_policy_to_allow_ingress_traffic_for_a_target():
    pods = ["x/a", "x/b", "y/a"]
    c = cluster(pods, [np("deny-all", "x", ingress=[]),
                       np("allow-all-to-a", "x", match(pod="a"),
                          ingress=[{"from": [{"podSelector": {}, "namespaceSelector": {}}]}])])
    r = Reachability(pods)
    r.expect_all_ingress("x/a", True)
    r.expect_all_ingress("x/b", False)
    validate_or_fail(c, 80, "TCP", r)


def test_should_enforce_policy_to_allow_ingress_traffic_from_pods_in_all_namespaces():
    pods = ["x/a", "x/b", "y/a", "z/a"]
    c = cluster(pods, [np("allow-from-another-ns", "x", match(pod="a"),
                          ingress=[{"from": [{"namespaceSelector": {"matchLabels": {}}}]}])])
    validate_or_fail(c, 80, "TCP", Reachability(pods))


def test_should_enforce_policy_to_allow_traffic_only_from_a_different_namespace_based_on_NamespaceSelector():
    pods = ["x/a", "x/b", "y/a", "z/a"]
    c = cluster(pods, [np("allow-client-a-via-ns-selector", "x", match(pod="a"),
                          ingress=[{"from": [{"namespaceSelector": ns_is("y")}]}])])
    r = Reachability(pods)
    r.expect_peer({"ns": "x"}, {"ns": "x", "pod": "a"}, False)
    r.expect_peer({"ns": "z"}, {"ns": "x", "pod": "a"}, False)
    validate_or_fail(c, 80, "TCP", r)


def test_should_enforce_policy_based_on_PodSelector_with_MatchExpressions():
    pods = ["x/a", "x/b", "y/a"]
    sel = {"matchExpressions": [{"key": "pod", "operator": "In", "values": ["b"]}]}
    c = cluster(pods, [np("x-a-allows-x-b", "x", match(pod="a"), ingress=[{"from": [{"podSelector": sel}]}])])
    r = Reachability(pods)
    r.expect_all_ingress("x/a", False)
    r.expect("x/b", "x/a", True)
    validate_or_fail(c, 80, "TCP", r)


def test_should_enforce_policy_based_on_NamespaceSelector_with_MatchExpressions():
    pods = ["x/a", "x/b", "y/a", "z/a"]
    sel = {"matchExpressions": [{"key": NS_KEY, "operator": "In", "values": ["y"]}]}
    c = cluster(pods, [np("allow-ns-y-match-selector", "x", match(pod="a"), ingress=[{"from": [{"namespaceSelector": sel}]}])])
    r = Reachability(pods)
    r.expect_peer({"ns": "x"}, {"ns": "x", "pod": "a"}, False)
    r.expect_peer({"ns": "z"}, {"ns": "x", "pod": "a"}, False)
    validate_or_fail(c, 80, "TCP", r)


NOT_X = {"matchExpressions": [{"key": NS_KEY, "operator": "NotIn", "values": ["x"]}]}


def test_should_enforce_policy_based_on_PodSelector_or_NamespaceSelector():
    pods = ["x/a", "x/b", "x/c", "y/a"]
    c = cluster(pods, [np("allow-ns-y-match-selector", "x", match(pod="a"),
                          ingress=[{"from": [{"namespaceSelector": NOT_X}, {"podSelector": match(pod="b")}]}])])
    r = Reachability(pods)
    r.expect("x/a", "x/a", False)
    r.expect("x/c", "x/a", False)
    validate_or_fail(c, 80, "TCP", r)


def test_should_enforce_policy_based_on_PodSelector_and_NamespaceSelector():
    pods = ["x/a", "x/b", "y/a", "y/b", "z/b"]
    c = cluster(pods, [np("allow-ns-y-podselector-and-nsselector", "x", match(pod="a"),
                          ingress=[{"from": [{"namespaceSelector": NOT_X, "podSelector": match(pod="b")}]}])])
    r = Reachability(pods)
    r.expect_all_ingress("x/a", False)
    r.expect("y/b", "x/a", True)
    r.expect("z/b", "x/a", True)
    validate_or_fail(c, 80, "TCP", r)


def test_should_enforce_policy_based_on_Multiple_PodSelectors_and_NamespaceSelectors():
    pods = ["x/a", "x/b", "y/a", "y/b", "y/c"]
    sel = {"matchExpressions": [{"key": "pod", "operator": "In", "values": ["b", "c"]}]}
    c = cluster(pods, [np("allow-ns-y-z-pod-b-c", "x", match(pod="a"),
                          ingress=[{"from": [{"namespaceSelector": NOT_X, "podSelector": sel}]}])])
    r = Reachability(pods)
    r.expect_peer({"ns": "x"}, {"ns": "x", "pod": "a"}, False)
    r.expect("y/a", "x/a", False)
    validate_or_fail(c, 80, "TCP", r)


def test_should_enforce_policy_based_on_any_PodSelectors():
    pods = ["x/a", "x/b", "x/c"]
    c = cluster(pods, [np("allow-ns-x-pod-b-c", "x", match(pod="a"),
                          ingress=[{"from": [{"podSelector": match(pod="b")}, {"podSelector": match(pod="c")}]}])])
    r = Reachability(pods)
    r.expect_all_ingress("x/a", False)
    r.expect("x/b", "x/a", True)
    r.expect("x/c", "x/a", True)
    validate_or_fail(c, 80, "TCP", r)


def test_should_enforce_policy_to_allow_traffic_only_from_a_pod_in_a_different_namespace_based_on_PodSelector_and_NamespaceSelector():
    pods = ["x/a", "x/b", "y/a", "y/b", "z/a"]
    c = cluster(pods, [np("allow-ns-y-pod-a-via-namespace-pod-selector", "x", match(pod="a"),
                          ingress=[{"from": [{"namespaceSelector": ns_is("y"), "podSelector": match(pod="a")}]}])])
    r = Reachability(pods)
    r.expect_all_ingress("x/a", False)
    r.expect("y/a", "x/a", True)
    validate_or_fail(c, 80, "TCP", r)


PORT81_FROM_Y = {"from": [{"namespaceSelector": ns_is("y")}], "ports": [{"port": 81, "protocol": "TCP"}]}


def test_should_enforce_policy_based_on_Ports():
    pods = ["x/a", "x/b", "y/a", "y/b", "z/a"]
    c = cluster(pods, [np("allow-client-a-via-ns-selector", "x", match(pod="a"), ingress=[PORT81_FROM_Y])])
    r = Reachability(pods)
    r.expect_peer({"ns": "x"}, {"ns": "x", "pod": "a"}, False)
    r.expect_peer({"ns": "y"}, {"ns": "x", "pod": "a"}, True)
    r.expect_peer({"ns": "z"}, {"ns": "x", "pod": "a"}, False)
    validate_or_fail(c, 81, "TCP", r)


def test_should_enforce_multiple_stacked_policies_with_overlapping_podSelectors():
    pods = ["x/a", "x/b", "y/a", "y/b", "z/a"]
    first = np("allow-client-a-via-ns-selector", "x", match(pod="a"), ingress=[PORT81_FROM_Y])
    allow = Reachability(pods)
    allow.expect_peer({"ns": "x"}, {"ns": "x", "pod": "a"}, False)
    allow.expect_peer({"ns": "y"}, {"ns": "x", "pod": "a"}, True)
    allow.expect_peer({"ns": "z"}, {"ns": "x", "pod": "a"}, False)
    deny = Reachability(pods)
    deny.expect_all_ingress("x/a", False)
    # step 1: port 81 as allowed, port 80 denied
    c = cluster(pods, [first])
    validate_or_fail(c, 81, "TCP", allow)
    validate_or_fail(c, 80, "TCP", deny)
    # step 2: a second policy unblocks port 80
    second = np("allow-client-a-via-ns-selector-80", "x", match(pod="a"),
                ingress=[{"from": [{"namespaceSelector": ns_is("y")}], "ports": [{"port": 80, "protocol": "TCP"}]}])
    validate_or_fail(cluster(pods, [first, second]), 80, "TCP", allow)


def test_should_support_allow_all_policy():
    pods = ["x/a", "x/b", "y/a"]
    c = cluster(pods, [np("allow-all", "x", {}, ingress=[{}])])
    validate_or_fail(c, 80, "TCP", Reachability(pods))
    validate_or_fail(c, 81, "TCP", Reachability(pods))


def test_should_allow_ingress_access_on_one_named_port():
    pods = ["x/a", "x/b", "y/a"]
    c = cluster(pods, [np("allow-all", "x", {}, ingress=[{"ports": [{"port": "serve-81-tcp"}]}])])
    validate_or_fail(c, 81, "TCP", Reachability(pods))
    r = Reachability(pods)
    r.expect_peer({}, {"ns": "x"}, False)
    validate_or_fail(c, 80, "TCP", r)


def test_should_allow_ingress_access_from_namespace_on_one_named_port():
    pods = ["x/a", "x/b", "y/a", "z/a"]
    c = cluster(pods, [np("allow-client-a-via-ns-selector-80", "x", match(pod="a"),
                          ingress=[{"from": [{"namespaceSelector": ns_is("y")}],
                                    "ports": [{"port": "serve-80-tcp", "protocol": "TCP"}]}])])
    r = Reachability(pods)
    r.expect_peer({"ns": "x"}, {"ns": "x", "pod": "a"}, False)
    r.expect_peer({"ns": "z"}, {"ns": "x", "pod": "a"}, False)
    validate_or_fail(c, 80, "TCP", r)
    fail = Reachability(pods)
    fail.expect_all_ingress("x/a", False)
    validate_or_fail(c, 81, "TCP", fail)


def test_should_allow_egress_access_on_one_named_port():
    pods = ["x/a", "y/a"]
    c = cluster(pods, [np("allow-egress", "x", {}, egress=[{"ports": [{"port": "serve-80-tcp"}]}])])
    validate_or_fail(c, 80, "TCP", Reachability(pods))
    r = Reachability(pods)
    r.expect_peer({"ns": "x"}, {}, False)
    validate_or_fail(c, 81, "TCP", r)


def test_should_enforce_updated_policy():
    pods = ["x/a", "y/a"]
    # part 1) allow all
    allow_all = np("allow-all-mutate-to-deny-all", "x", {}, ingress=[{}])
    validate_or_fail(cluster(pods, [allow_all]), 81, "TCP", Reachability(pods))
    # part 2) update the policy to deny all (spec.ingress: [], still an Ingress policy)
    deny = copy.deepcopy(allow_all)
    deny["spec"]["ingress"] = []
    r = Reachability(pods)
    r.expect_peer({}, {"ns": "x"}, False)
    validate_or_fail(cluster(pods, [deny]), 81, "TCP", r)


def test_should_allow_ingress_access_from_updated_namespace():
    pods = ["x/a", "y/a"]
    p = np("allow-client-a-via-ns-selector", "x", match(pod="a"),
           ingress=[{"from": [{"namespaceSelector": match(ns2="updated")}]}])
    r = Reachability(pods)
    r.expect_all_ingress("x/a", False)
    validate_or_fail(cluster(pods, [p]), 80, "TCP", r)
    # add a new label to namespace y
    labelled = Reachability(pods)
    labelled.expect_all_ingress("x/a", False)
    labelled.expect_peer({"ns": "y"}, {}, True)
    validate_or_fail(cluster(pods, [p], ns_labels={"y": {"ns2": "updated"}}), 80, "TCP", labelled)


def test_should_allow_ingress_access_from_updated_pod():
    pods = ["x/a", "x/b"]
    p = np("allow-client-a-via-pod-selector", "x", match(pod="a"),
           ingress=[{"from": [{"podSelector": match(pod="b", pod2="updated")}]}])
    r = Reachability(pods)
    r.expect_all_ingress("x/a", False)
    validate_or_fail(cluster(pods, [p]), 80, "TCP", r)
    labelled = Reachability(pods)
    labelled.expect_all_ingress("x/a", False)
    labelled.expect("x/b", "x/a", True)
    validate_or_fail(cluster(pods, [p], pod_labels={"x/b": {"pod2": "updated"}}), 80, "TCP", labelled)


def test_should_deny_ingress_from_pods_on_other_namespaces():
    pods = ["x/a", "x/b", "y/a", "z/a"]
    c = cluster(pods, [np("deny-empty-policy", "x", {}, ingress=[{"from": [{"podSelector": {"matchLabels": {}}}]}])])
    r = Reachability(pods)
    r.expect_peer({"ns": "y"}, {"ns": "x"}, False)
    r.expect_peer({"ns": "z"}, {"ns": "x"}, False)
    validate_or_fail(c, 80, "TCP", r)


def test_should_deny_ingress_access_to_updated_pod():
    pods = ["x/a", "y/a"]
    p = np("deny-ingress-via-label-selector", "x", match(target="isolated"), ingress=[])
    validate_or_fail(cluster(pods, [p]), 80, "TCP", Reachability(pods))
    r = Reachability(pods)
    r.expect_all_ingress("x/a", False)
    validate_or_fail(cluster(pods, [p], pod_labels={"x/a": {"target": "isolated"}}), 80, "TCP", r)


def test_should_deny_egress_from_pods_based_on_PodSelector():
    pods = ["x/a", "x/b", "y/a"]
    c = cluster(pods, [np("deny-egress-pod-a", "x", match(pod="a"), egress=[])])
    r = Reachability(pods)
    r.expect_all_egress("x/a", False)
    validate_or_fail(c, 80, "TCP", r)


def test_should_deny_egress_from_all_pods_in_a_namespace():
    pods = ["x/a", "x/b", "y/a"]
    c = cluster(pods, [np("deny-egress-ns-x", "x", {}, egress=[])])
    r = Reachability(pods)
    r.expect_peer({"ns": "x"}, {}, False)
    validate_or_fail(c, 80, "TCP", r)


def test_should_work_with_Ingress_Egress_specified_together():
    pods = ["x/a", "x/b", "x/c", "y/a"]
    p = np("allow-client-a-via-pod-selector", "x", match(pod="a"),
           ingress=[{"from": [{"podSelector": match(pod="b")}]}],
           egress=[{"ports": [{"port": 80}]}], types=["Egress", "Ingress"])
    c = cluster(pods, [p])
    r80 = Reachability(pods)
    r80.expect_all_ingress("x/a", False)
    r80.expect("x/b", "x/a", True)
    validate_or_fail(c, 80, "TCP", r80)
    r81 = Reachability(pods)
    r81.expect_all_ingress("x/a", False)
    r81.expect_all_egress("x/a", False)
    r81.expect("x/b", "x/a", True)
    validate_or_fail(c, 81, "TCP", r81)


def test_should_support_denying_of_egress_traffic_on_the_client_side_even_if_the_server_explicitly_allows_this_traffic():
    pods = ["x/a", "y/a", "y/b"]
    from_xa = {"from": [{"namespaceSelector": ns_is("x"), "podSelector": match(pod="a")}]}
    c = cluster(pods, [
        np("allow-to-ns-y-pod-a", "x", match(pod="a"),
           egress=[{"to": [{"namespaceSelector": ns_is("y"), "podSelector": match(pod="a")}]}]),
        np("allow-from-xa-on-ya-match-selector", "y", match(pod="a"), ingress=[from_xa]),
        np("allow-from-xa-on-yb-match-selector", "y", match(pod="b"), ingress=[from_xa])])
    r = Reachability(pods)
    r.expect_peer({"ns": "x", "pod": "a"}, {}, False)
    r.expect_peer({}, {"ns": "y", "pod": "a"}, False)
    r.expect_peer({"ns": "x", "pod": "a"}, {"ns": "y", "pod": "a"}, True)
    r.expect_peer({}, {"ns": "y", "pod": "b"}, False)
    validate_or_fail(c, 80, "TCP", r)


def test_should_enforce_egress_policy_allowing_traffic_to_a_server_in_a_different_namespace_based_on_PodSelector_and_NamespaceSelector():
    pods = ["x/a", "y/a", "y/b"]
    c = cluster(pods, [np("allow-to-ns-y-pod-a", "x", match(pod="a"),
                          egress=[{"to": [{"namespaceSelector": ns_is("y"), "podSelector": match(pod="a")}]}])])
    r = Reachability(pods)
    r.expect_all_egress("x/a", False)
    r.expect("x/a", "y/a", True)
    validate_or_fail(c, 80, "TCP", r)


def test_should_enforce_ingress_policy_allowing_any_port_traffic_to_a_server_on_a_specific_protocol():
    pods = ["x/a", "y/a"]
    c = cluster(pods, [np("allow-ingress-by-proto", "x", match(pod="a"), ingress=[{"ports": [{"protocol": "TCP"}]}])],
                protocols=("TCP", "UDP"), ports=(80,))
    validate_or_fail(c, 80, "TCP", Reachability(pods))
    r = Reachability(pods)
    r.expect_peer({}, {"ns": "x", "pod": "a"}, False)
    validate_or_fail(c, 80, "UDP", r)


def test_should_enforce_multiple_ingress_policies_with_ingress_allow_all_policy_taking_precedence():
    pods = ["x/a", "y/a"]
    only80 = np("allow-ingress-port-80", "x", {}, ingress=[{"ports": [{"port": 80}]}])
    r = Reachability(pods)
    r.expect_peer({}, {"ns": "x"}, False)
    validate_or_fail(cluster(pods, [only80]), 81, "TCP", r)
    allow_all = np("allow-ingress", "x", {}, ingress=[{}])
    validate_or_fail(cluster(pods, [only80, allow_all]), 81, "TCP", Reachability(pods))


def test_should_enforce_multiple_egress_policies_with_egress_allow_all_policy_taking_precedence():
    pods = ["x/a", "y/a"]
    only80 = np("allow-egress-port-80", "x", {}, egress=[{"ports": [{"port": 80}]}])
    r = Reachability(pods)
    r.expect_peer({"ns": "x"}, {}, False)
    validate_or_fail(cluster(pods, [only80]), 81, "TCP", r)
    allow_all = np("allow-egress", "x", {}, egress=[{}])
    validate_or_fail(cluster(pods, [only80, allow_all]), 81, "TCP", Reachability(pods))


def test_should_stop_enforcing_policies_after_they_are_deleted():
    pods = ["x/a", "y/a"]
    r = Reachability(pods)
    r.expect_peer({"ns": "x"}, {}, False)
    r.expect_peer({}, {"ns": "x"}, False)
    validate_or_fail(cluster(pods, [np("deny-all", "x", {}, ingress=[], egress=[])]), 80, "TCP", r)
    validate_or_fail(cluster(pods, []), 80, "TCP", Reachability(pods))


def _ip(pods, pod):
    ns, name = pod.split("/")
    return cluster(pods).pod(name, ns).ip


def _large_cidr(ip: str) -> str:
    """makeLargeCIDRForIP: the /4 holding the address."""
    import ipaddress
    return str(ipaddress.ip_network(f"{ip}/4", strict=False))


def test_should_allow_egress_access_to_server_in_CIDR_block():
    pods = ["x/a", "y/a", "y/b"]
    cidr = f"{_ip(pods, 'y/b')}/32"
    c = cluster(pods, [np("allow-client-a-via-cidr-egress-rule", "x", match(pod="a"),
                          egress=[{"to": [{"ipBlock": {"cidr": cidr}}]}])])
    r = Reachability(pods)
    r.expect_all_egress("x/a", False)
    r.expect("x/a", "y/b", True)
    validate_or_fail(c, 80, "TCP", r)


def test_should_enforce_except_clause_while_egress_access_to_server_in_CIDR_block():
    pods = ["x/a", "x/b", "x/c"]
    ip = _ip(pods, "x/b")
    c = cluster(pods, [np("allow-client-a-via-cidr-egress-rule", "x", match(pod="a"),
                          egress=[{"to": [{"ipBlock": {"cidr": _large_cidr(ip), "except": [f"{ip}/32"]}}]}])])
    r = Reachability(pods)
    r.expect("x/a", "x/b", False)
    validate_or_fail(c, 80, "TCP", r)


def test_should_ensure_an_IP_overlapping_both_IPBlock_CIDR_and_IPBlock_Except_is_allowed():
    pods = ["x/a", "x/b", "x/c"]
    ip = _ip(pods, "x/b")
    first = np("allow-client-a-via-cidr-egress-rule", "x", match(pod="a"),
               egress=[{"to": [{"ipBlock": {"cidr": _large_cidr(ip), "except": [f"{ip}/32"]}}]}])
    r = Reachability(pods)
    r.expect("x/a", "x/b", False)
    validate_or_fail(cluster(pods, [first]), 80, "TCP", r)
    # UpdatePolicy: the same name now allows only x/b's address
    second = np("allow-client-a-via-cidr-egress-rule", "x", match(pod="a"),
                egress=[{"to": [{"ipBlock": {"cidr": f"{ip}/32"}}]}])
    allow = Reachability(pods)
    allow.expect_all_egress("x/a", False)
    allow.expect("x/a", "x/b", True)
    validate_or_fail(cluster(pods, [second]), 80, "TCP", allow)


def test_should_enforce_policies_to_check_ingress_and_egress_policies_can_be_controlled_independently_based_on_PodSelector():
    pods = ["x/a", "x/b", "y/a"]
    egress = np("allow-egress-for-target", "x", match(pod="a"), egress=[{}])
    validate_or_fail(cluster(pods, [egress]), 80, "TCP", Reachability(pods))
    deny = np("deny-ingress-via-label-selector", "x", match(pod="a"), ingress=[])
    r = Reachability(pods)
    r.expect_all_ingress("x/a", False)
    validate_or_fail(cluster(pods, [egress, deny]), 80, "TCP", r)


def test_should_not_mistakenly_treat_protocol_SCTP_as_protocol_TCP_even_if_the_plugin_doesnt_support_SCTP():
    pods = ["x/a", "y/a"]
    c = cluster(pods, [np("deny-ingress", "x", {}, ingress=[]),
                       np("allow-only-sctp-ingress-on-port-81", "x", match(pod="a"),
                          ingress=[{"ports": [{"port": 81, "protocol": "SCTP"}]}])], protocols=("TCP",), ports=(81,))
    r = Reachability(pods)
    r.expect_peer({}, {"ns": "x"}, False)
    validate_or_fail(c, 81, "TCP", r)


def test_should_properly_isolate_pods_that_are_selected_by_a_policy_allowing_SCTP_even_if_the_plugin_doesnt_support_SCTP():
    pods = ["x/a", "y/a"]
    c = cluster(pods, [np("allow-only-sctp-ingress-on-port-80", "x", match(pod="a"),
                          ingress=[{"ports": [{"port": 80, "protocol": "SCTP"}]}])], protocols=("TCP",), ports=(81,))
    r = Reachability(pods)
    r.expect_all_ingress("x/a", False)
    validate_or_fail(c, 81, "TCP", r)


def test_should_not_allow_access_by_TCP_when_a_policy_specifies_only_UDP():
    pods = ["x/a", "y/a"]
    c = cluster(pods, [np("allow-only-udp-ingress-on-port-81", "x", match(pod="a"),
                          ingress=[{"ports": [{"port": 81, "protocol": "UDP"}]}])], protocols=("TCP",), ports=(81,))
    r = Reachability(pods)
    r.expect_all_ingress("x/a", False)
    validate_or_fail(c, 81, "TCP", r)


def test_should_enforce_policy_to_allow_traffic_based_on_NamespaceSelector_with_MatchLabels_using_default_ns_label():
    pods = ["x/a", "x/b", "y/a", "z/a"]
    c = cluster(pods, [np("allow-client-a-via-ns-selector-for-immutable-ns-label", "x", match(pod="a"),
                          ingress=[{"from": [{"namespaceSelector": ns_is("y")}]}])])
    r = Reachability(pods)
    r.expect_peer({"ns": "x"}, {"ns": "x", "pod": "a"}, False)
    r.expect_peer({"ns": "z"}, {"ns": "x", "pod": "a"}, False)
    validate_or_fail(c, 80, "TCP", r)


def test_should_enforce_policy_based_on_NamespaceSelector_with_MatchExpressions_using_default_ns_label():
    pods = ["x/a", "x/b", "y/a", "z/a"]
    sel = {"matchExpressions": [{"key": NS_KEY, "operator": "NotIn", "values": ["y"]}]}
    c = cluster(pods, [np("allow-ns-y-match-selector-for-immutable-ns-label", "x", match(pod="a"),
                          egress=[{"to": [{"namespaceSelector": sel}]}])])
    r = Reachability(pods)
    r.expect_peer({"ns": "x", "pod": "a"}, {"ns": "y"}, False)
    validate_or_fail(c, 80, "TCP", r)


# -- "NetworkPolicy between server and client using UDP" and "... using SCTP" --------------------

@pytest.mark.parametrize("proto", ["UDP", "SCTP"])
def test_other_protocols_should_support_a_default_deny_ingress_policy(proto):
    pods = ["x/a", "x/b", "y/a", "y/b"]
    c = cluster(pods, [np("deny-all", "x", {}, ingress=[])], protocols=(proto,), ports=(80,))
    r = Reachability(pods)
    r.expect_peer({}, {"ns": "x"}, False)
    validate_or_fail(c, 80, proto, r)


@pytest.mark.parametrize("proto", ["UDP", "SCTP"])
def test_other_protocols_should_enforce_policy_based_on_Ports(proto):
    pods = ["x/a", "x/b", "y/a", "z/a"]
    c = cluster(pods, [np("allow-ingress-on-port-81-ns-x", "x", match(pod="a"),
                          ingress=[{"from": [{"namespaceSelector": ns_is("y")}], "ports": [{"port": 81, "protocol": proto}]}])],
                protocols=(proto,), ports=(81,))
    r = Reachability(pods)
    r.expect_peer({"ns": "x"}, {"ns": "x", "pod": "a"}, False)
    r.expect_peer({"ns": "z"}, {"ns": "x", "pod": "a"}, False)
    validate_or_fail(c, 81, proto, r)


@pytest.mark.parametrize("proto", ["UDP", "SCTP"])
def test_other_protocols_should_enforce_policy_to_allow_traffic_only_from_a_pod_in_a_different_namespace_based_on_PodSelector_and_NamespaceSelector(proto):
    pods = ["x/a", "x/b", "y/a"]
    c = cluster(pods, [np("allow-ns-y-pod-a-via-namespace-pod-selector", "x", match(pod="a"),
                          ingress=[{"from": [{"namespaceSelector": ns_is("y"), "podSelector": match(pod="a")}]}])],
                protocols=(proto,), ports=(80,))
    r = Reachability(pods)
    r.expect_all_ingress("x/a", False)
    r.expect("y/a", "x/a", True)
    validate_or_fail(c, 80, proto, r)


# -- the suite's text form ------------------------------------------------------------------------

def test_the_truth_table_prints_as_the_e2e_suite_prints_it():
    pods = ["x/a", "x/b", "y/a"]
    c = cluster(pods, [np("deny-ingress", "x", ingress=[])], protocols=("TCP",), ports=(80,))
    assert policy.matrix(c, 80, "TCP").text().splitlines() == [
        "----\tx/a\tx/b\ty/a",
        "x/a\t.\tX\t.",
        "x/b\tX\t.\t.",
        "y/a\tX\tX\t.",
    ]
