"""Properties of NetworkPolicy enforcement over generated clusters and policies (hypothesis).

- The truth table (bit sets, k8slab.policy.matrix) and the one-pair explanation
  (k8slab.policy.decide) never disagree.
- Isolation is per direction and additive: adding a policy never allows what was denied to a pod
  it does not select, and removing every policy allows everything.
- A pod no policy selects for a direction is never refused on that side.
"""
from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import k8slab
from k8slab import policy

NS = ("x", "y", "z")
APPS = ("a", "b", "c")

selector = st.one_of(
    st.just({}),
    st.sampled_from(APPS).map(lambda a: {"matchLabels": {"app": a}}),
    st.lists(st.sampled_from(APPS), min_size=1, max_size=2, unique=True).map(
        lambda v: {"matchExpressions": [{"key": "app", "operator": "In", "values": v}]}),
    st.sampled_from(APPS).map(lambda a: {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": [a]}]}),
)
ns_selector = st.one_of(
    st.just({}),
    st.sampled_from(NS).map(lambda n: {"matchLabels": {"kubernetes.io/metadata.name": n}}),
    st.sampled_from(("red", "blue")).map(lambda c: {"matchLabels": {"color": c}}),
)
peer = st.one_of(
    selector.map(lambda s: {"podSelector": s}),
    ns_selector.map(lambda s: {"namespaceSelector": s}),
    st.tuples(selector, ns_selector).map(lambda t: {"podSelector": t[0], "namespaceSelector": t[1]}),
    st.sampled_from([{"ipBlock": {"cidr": "10.244.0.0/16"}},
                     {"ipBlock": {"cidr": "10.244.0.0/16", "except": ["10.244.1.0/24"]}},
                     {"ipBlock": {"cidr": "10.244.2.0/24"}}]),
)
port = st.one_of(
    st.sampled_from([80, 81, 8080]).map(lambda p: {"port": p}),
    st.just({"port": 80, "endPort": 81}),
    st.sampled_from(["http", "alt"]).map(lambda n: {"port": n}),
    st.sampled_from(["TCP", "UDP"]).map(lambda p: {"protocol": p}),
)
rule = st.fixed_dictionaries({}, optional={"peers": st.lists(peer, max_size=2), "ports": st.lists(port, max_size=2)})


@st.composite
def setups(draw):
    docs = []
    for ns in NS:
        docs.append({"apiVersion": "v1", "kind": "Namespace",
                     "metadata": {"name": ns, "labels": {"color": draw(st.sampled_from(("red", "blue")))}}})
    pods = draw(st.lists(st.tuples(st.sampled_from(NS), st.sampled_from(APPS)), min_size=1, max_size=6))
    for i, (ns, app) in enumerate(pods):
        docs.append({"apiVersion": "v1", "kind": "Pod",
                     "metadata": {"name": f"p{i}", "namespace": ns, "labels": {"app": app}},
                     "spec": {"containers": [{"name": "c", "image": "x", "ports": [
                         {"name": "http", "containerPort": 80},
                         {"name": "alt", "containerPort": draw(st.sampled_from([81, 8080]))}]}]}})
    policies = []
    for j in range(draw(st.integers(0, 4))):
        spec = {"podSelector": draw(selector)}
        kinds = draw(st.sampled_from([["Ingress"], ["Egress"], ["Ingress", "Egress"]]))
        spec["policyTypes"] = kinds
        for kind, key, word in (("Ingress", "ingress", "from"), ("Egress", "egress", "to")):
            if kind in kinds:
                rules = []
                for r in draw(st.lists(rule, max_size=2)):
                    out = {}
                    if "peers" in r:
                        out[word] = r["peers"]
                    if "ports" in r:
                        out["ports"] = r["ports"]
                    rules.append(out)
                spec[key] = rules
        policies.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                         "metadata": {"name": f"np{j}", "namespace": draw(st.sampled_from(NS))}, "spec": spec})
    return docs, policies


def load(docs):
    return k8slab.Cluster.from_yaml("\n---\n".join(yaml.safe_dump(d) for d in docs))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(setups(), st.sampled_from([80, 81, 8080]), st.sampled_from(["TCP", "UDP"]))
def test_the_table_and_the_explanation_agree(setup, port, protocol):
    docs, policies = setup
    c = load(docs + policies)
    m = policy.matrix(c, port, protocol)
    by_key = {p.key: p for p in c.pods}
    for i, a in enumerate(m.pods):
        for j, b in enumerate(m.pods):
            d = policy.decide(c, src=by_key[a], dst=by_key[b], port=port, protocol=protocol)
            assert d.allowed == m.allowed[i][j], (a, b, d.reason)
            # A side no policy selects never refuses.
            if not policy.isolating(c, by_key[b], "ingress"):
                assert d.ingress.allowed
            if not policy.isolating(c, by_key[a], "egress"):
                assert d.egress.allowed


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(setups())
def test_no_policy_no_isolation_and_policies_only_touch_what_they_select(setup):
    docs, policies = setup
    open_ = policy.matrix(load(docs), 80)
    assert all(all(row) for row in open_.allowed)
    c = load(docs + policies)
    m = policy.matrix(c, 80)
    by_key = {p.key: p for p in c.pods}
    for i, a in enumerate(m.pods):
        for j, b in enumerate(m.pods):
            if not m.allowed[i][j]:
                # Something selects the sender for egress or the receiver for ingress.
                assert policy.isolating(c, by_key[a], "egress") or policy.isolating(c, by_key[b], "ingress")
