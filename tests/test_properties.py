"""Property tests: random and mutated manifests never crash k8slab, and every route adds up."""

import copy

import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from k8slab.errors import K8slabError
from k8slab.manifests import INTERNAL, load_texts
from k8slab.proxy import rules
from k8slab.routing import ENTRIES, default_clients

import k8slab
from importlib.resources import files

BASE = [d for d in yaml.safe_load_all(files("k8slab").joinpath("data/demo.yaml").read_text()) if d]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-70000, 70000), st.floats(allow_nan=False),
                    st.text(max_size=12), st.sampled_from(["None", "Local", "Cluster", "http", "TCP", "SCTP",
                                                           "NodePort", "LoadBalancer", "ClusterIP", "10.96.0.1",
                                                           "web", "app", "Ready", "True", "ExternalName"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)), max_leaves=8)


def paths(obj, prefix=()):
    """Every (path) into a document, so a mutation can land anywhere."""
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from paths(v, prefix + (i,))


PROXY_CONFIGS = st.fixed_dictionaries({
    "apiVersion": st.just("kubeproxy.config.k8s.io/v1alpha1"), "kind": st.just("KubeProxyConfiguration")},
    optional={"mode": values, "clusterCIDR": st.one_of(values, st.just("10.0.0.0/8")),
              "iptables": st.one_of(values, st.fixed_dictionaries({}, optional={
                  "masqueradeAll": values, "masqueradeBit": values, "localhostNodePorts": values})),
              "nodePortAddresses": values})


@st.composite
def mutated_docs(draw):
    picked = draw(st.lists(st.integers(0, len(BASE) - 1), min_size=1, max_size=len(BASE), unique=True))
    docs = copy.deepcopy([BASE[i] for i in sorted(picked)])
    if draw(st.booleans()):
        docs.append(draw(PROXY_CONFIGS))
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, len(docs) - 1))
        all_paths = [p for p in paths(docs[i]) if p]
        if not all_paths:
            continue
        path = draw(st.sampled_from(all_paths))
        parent = docs[i]
        for k in path[:-1]:
            parent = parent[k]
        if draw(st.booleans()) and isinstance(parent, dict):
            parent.pop(path[-1], None)
        else:
            parent[path[-1]] = draw(values)
    return docs


def check_cluster(cluster):
    """Every client reaches every Service port with an answer, shares add up to 1, and
    kube-proxy's rules can be written for every node."""
    for node in cluster.nodes:
        assert rules(cluster, node.name).endswith("COMMIT\n")
    clients = default_clients(cluster) + [f"node/{n.name}" for n in cluster.nodes[:2]]
    for s in cluster.services:
        for port in [None] + [p.port for p in s.ports[:2]]:
            for client in clients:
                for entry in (None,) + ENTRIES:
                    r = cluster.route(client=client, service=s.name, namespace=s.namespace, port=port, entry=entry)
                    d = r.to_dict()
                    assert d["reason"]
                    if r.reachable and r.entry != "DNS":
                        assert abs(sum(e.probability for e in r.endpoints) - 1) < 1e-9, d
                    if not r.reachable:
                        assert r.endpoints == () and r.code != "ok"


def load_or_error(text):
    try:
        return load_texts([("prop.yaml", text)])
    except K8slabError as e:
        assert e.problems or str(e)
        assert not any(INTERNAL in str(p) for p in e.problems), [str(p) for p in e.problems]
        return None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_docs())
def test_mutated_manifests_load_or_fail_cleanly_and_always_route(docs):
    text = yaml.safe_dump_all(docs)
    cluster = load_or_error(text)
    if cluster is not None:
        check_cluster(cluster)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_random_text_never_escapes_as_anything_but_k8slab_error(text):
    load_or_error(text)


@settings(max_examples=80, deadline=None)
@given(st.lists(values, max_size=4))
def test_random_documents_never_escape_as_anything_but_k8slab_error(docs):
    load_or_error(yaml.safe_dump_all(docs))


def test_demo_cluster_passes_the_same_checks():
    check_cluster(k8slab.demo_cluster())
