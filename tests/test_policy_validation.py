"""NetworkPolicy and Namespace: the API server's checks, its words, defaulting; never a traceback."""

# The rules and messages are those of pkg/apis/networking/validation/validation.go
# (ValidateNetworkPolicyPort, ValidateNetworkPolicyPeer, ValidateIPBlock,
# ValidateNetworkPolicySpec); defaulting is pkg/apis/networking/v1/defaults.go.
import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import k8slab
from k8slab._validation import unknown_fields, validate_object
from k8slab.errors import K8slabError

CIDR = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
POLICY = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
          "metadata": {"name": "p", "namespace": "x"}, "spec": {"podSelector": {}}}


def policy(**spec):
    p = copy.deepcopy(POLICY)
    p["spec"].update(spec)
    return p


def problems(obj):
    return [(p.path, p.message) for p in validate_object(obj)]


CASES = [
    # ValidateNetworkPolicyPort
    ("protocol", policy(ingress=[{"ports": [{"protocol": "ICMP"}]}]),
     [("spec.ingress[0].ports[0].protocol", 'Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"')]),
    ("port out of range", policy(egress=[{"ports": [{"port": 0}]}]),
     [("spec.egress[0].ports[0].port", "Invalid value: 0: must be between 1 and 65535, inclusive")]),
    ("bad port name", policy(ingress=[{"ports": [{"port": "Web_Port"}]}]),
     [("spec.ingress[0].ports[0].port",
       'Invalid value: "Web_Port": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)')]),
    ("endPort below port", policy(ingress=[{"ports": [{"port": 90, "endPort": 80}]}]),
     [("spec.ingress[0].ports[0].endPort", "Invalid value: 80: must be greater than or equal to `port`")]),
    ("endPort out of range", policy(ingress=[{"ports": [{"port": 90, "endPort": 65536}]}]),
     [("spec.ingress[0].ports[0].endPort", "Invalid value: 65536: must be between 1 and 65535, inclusive")]),
    ("endPort with named port", policy(ingress=[{"ports": [{"port": "web", "endPort": 90}]}]),
     [("spec.ingress[0].ports[0].endPort", "Invalid value: 90: may not be specified when `port` is non-numeric")]),
    ("endPort without port", policy(egress=[{"ports": [{"endPort": 90}]}]),
     [("spec.egress[0].ports[0].endPort", "Invalid value: 90: may not be specified when `port` is not specified")]),
    # ValidateNetworkPolicyPeer
    ("empty peer", policy(ingress=[{"from": [{}]}]),
     [("spec.ingress[0].from[0]", "Required value: must specify a peer")]),
    ("ipBlock and a selector", policy(egress=[{"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}, "namespaceSelector": {}}]}]),
     [("spec.egress[0].to[0]", "Forbidden: may not specify both ipBlock and another peer")]),
    ("bad selector operator", policy(ingress=[{"from": [{"podSelector": {"matchExpressions": [
        {"key": "pod", "operator": "Is", "values": ["a"]}]}}]}]),
     [("spec.ingress[0].from[0].podSelector.matchExpressions[0].operator",
       'Invalid value: "Is": not a valid selector operator')]),
    ("In without values", policy(podSelector={"matchExpressions": [{"key": "pod", "operator": "In"}]}),
     [("spec.podSelector.matchExpressions[0].values",
       "Required value: must be specified when `operator` is 'In' or 'NotIn'")]),
    # ValidateIPBlock
    ("cidr missing", policy(ingress=[{"from": [{"ipBlock": {"except": ["10.0.0.0/24"]}}]}]),
     [("spec.ingress[0].from[0].ipBlock.cidr", "Required value")]),
    ("cidr malformed", policy(ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.0/33"}}]}]),
     [("spec.ingress[0].from[0].ipBlock.cidr", f'Invalid value: "10.0.0.0/33": {CIDR}')]),
    ("except outside", policy(ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["11.0.0.0/24"]}}]}]),
     [("spec.ingress[0].from[0].ipBlock.except[0]", 'Invalid value: "11.0.0.0/24": must be a strict subset of `cidr`')]),
    ("except equal", policy(ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.0.0.0/8"]}}]}]),
     [("spec.ingress[0].from[0].ipBlock.except[0]", 'Invalid value: "10.0.0.0/8": must be a strict subset of `cidr`')]),
    ("except other family", policy(ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["fd00::/64"]}}]}]),
     [("spec.ingress[0].from[0].ipBlock.except[0]", 'Invalid value: "fd00::/64": must be a strict subset of `cidr`')]),
    ("except malformed", policy(ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": [""]}}]}]),
     [("spec.ingress[0].from[0].ipBlock.except[0]", f'Invalid value: "": {CIDR}')]),
    # ValidateNetworkPolicySpec: policyTypes
    ("unknown policyType", policy(policyTypes=["Ingress", "egress"]),
     [("spec.policyTypes[1]", 'Unsupported value: "egress": supported values: "Ingress", "Egress"')]),
    ("three policyTypes", policy(policyTypes=["Ingress", "Egress", "Ingress"]),
     [("spec.policyTypes", 'Invalid value: ["Ingress","Egress","Ingress"]: may not specify more than two policyTypes')]),
    ("wrong type", policy(ingress=[{"ports": [{"port": 80.5}]}]),
     [("spec.ingress[0].ports[0].port", "json: cannot unmarshal number 80.5 into Go value of type int32")]),
]


@pytest.mark.parametrize("name,obj,expected", CASES, ids=[c[0] for c in CASES])
def test_the_api_servers_words(name, obj, expected):
    assert problems(obj) == expected


@pytest.mark.parametrize("spec", [
    {"podSelector": {}},
    {"podSelector": {"matchLabels": {"pod": "a"}}, "ingress": [{}], "egress": [{}]},
    {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.1/8", "except": ["10.1.0.0/16"]}},
                                              {"podSelector": {}, "namespaceSelector": {}}],
                                     "ports": [{"port": 80, "endPort": 90}, {"protocol": "SCTP"}, {"port": "web"}]}],
     "policyTypes": ["Egress", "Ingress"]},
])
def test_valid_policies_pass(spec):
    assert problems({**POLICY, "spec": spec}) == []


def test_namespace_name_is_a_dns_label():
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a.b", "labels": {"team": "x"}}}
    assert [p for p, _ in problems(ns)] == ["metadata.name"]


def _load(*docs):
    import yaml
    return k8slab.Cluster.from_yaml("\n---\n".join(yaml.safe_dump(d) for d in docs))


def test_policy_types_default_as_the_api_server_does():
    # SetDefaults_NetworkPolicy: Ingress always; Egress only when egress rules are given.
    c = _load(policy(name="i"), {**policy(egress=[{}]), "metadata": {"name": "e", "namespace": "x"}},
              {**policy(policyTypes=["Egress"]), "metadata": {"name": "o", "namespace": "x"}})
    assert [p.policy_types for p in c.policies] == [("Ingress",), ("Ingress", "Egress"), ("Egress",)]


def test_missing_protocol_is_tcp():
    c = _load(policy(ingress=[{"ports": [{"port": 80}, {"protocol": "UDP"}]}]))
    ports = c.policies[0].ingress[0].ports
    assert [(p.protocol, p.port) for p in ports] == [("TCP", 80), ("UDP", None)]


def test_namespace_labels_include_the_name_label():
    c = _load({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x", "labels": {"team": "a"}}})
    assert c.namespace_labels("x") == {"team": "a", "kubernetes.io/metadata.name": "x"}
    assert c.namespace_labels("never-declared") == {"kubernetes.io/metadata.name": "never-declared"}


def test_an_invalid_policy_is_refused_with_file_and_field():
    with pytest.raises(K8slabError) as e:
        _load(policy(ingress=[{"from": [{}]}]))
    assert "NetworkPolicy/p: spec.ingress[0].from[0]: Required value: must specify a peer" in str(e.value)


def test_unknown_fields_are_noted_not_fatal():
    p = policy(ingress=[{"form": [{"podSelector": {}}]}])
    assert unknown_fields(p) == ["spec.ingress[0].form"]
    c = _load(p)
    assert any('unknown field "spec.ingress[0].form"' in n for n in c.notes)
    assert c.policies[0].ingress[0].peers == ()        # the rule, as stored, admits everyone


def test_a_huge_cidr_list_is_quick():
    import time
    excepts = [f"10.{i // 256}.{i % 256}.0/24" for i in range(50_000)]
    p = policy(ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": excepts + ["11.0.0.0/8"]}}]}])
    t = time.perf_counter()
    found = problems(p)
    assert time.perf_counter() - t < 5
    assert found == [("spec.ingress[0].from[0].ipBlock.except[50000]",
                      'Invalid value: "11.0.0.0/8": must be a strict subset of `cidr`')]


_json = st.recursive(st.none() | st.booleans() | st.integers(-70000, 70000) | st.text(max_size=12),
                     lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.sampled_from(["podSelector", "namespaceSelector", "ipBlock", "cidr",
                                                        "except", "from", "to", "ports", "port", "endPort",
                                                        "protocol", "matchLabels", "matchExpressions"]),
                                       inner, max_size=4), max_leaves=20)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ingress=_json, egress=_json, types=_json)
def test_any_input_gets_messages_never_a_traceback(ingress, egress, types):
    obj = policy(ingress=ingress, egress=egress, policyTypes=types)
    for p in validate_object(obj):
        assert p.message and "could not check" not in p.message
    if not validate_object(obj):
        _load(obj)          # what the server accepts, k8slab builds
