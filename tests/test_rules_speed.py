"""The shortcuts that make `k8slab rules` fast at 10,000 Services (issue 19) give what the
plain computations give: the names kube-proxy hashes, the addresses it parses, the endpoints
it keeps, and the garbage collector's state after the rules are written.

The rulesets themselves are held byte for byte by test_rules, test_nftables and the golden
files under tests/fixtures; these tests hold each shortcut against its own oracle.
"""

import base64
import dataclasses
import gc
import hashlib

from hypothesis import given, settings, strategies as st

from k8slab import proxy
from k8slab.kube_names import chain_hash, ipv4, nft_hash, nft_hashes
from k8slab.model import Cluster, ContainerPort, Endpoint, Node, Pod, ProxyConfig, Service, ServicePort


# -- the hashes: pkg/proxy/iptables/proxier.go portProtoHash / servicePortEndpointChainName
#    (base32 of the SHA-256, 16 characters) and pkg/proxy/nftables/proxier.go hashAndTruncate (8)

@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_chain_hashes_are_the_standard_base32_of_the_sha256(text):
    b32 = base64.b32encode(hashlib.sha256(text.encode()).digest()).decode()
    assert chain_hash(text) == b32[:16]
    assert nft_hash(text) == b32[:8]
    assert nft_hashes([text, text + "x"]) == [b32[:8], nft_hash(text + "x")]


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 300), st.sampled_from(["endpoint-", "affinity-"]))
def test_endpoint_chain_names_are_hash_dash_name_cut_to_240(length, prefix):
    # pkg/proxy/nftables/proxier.go hashAndTruncate: chainNameBaseLengthMax is 240, and a
    # longer base keeps its first 237 characters and "..."
    svc = Service("s" * length, "ns", "ClusterIP", {"a": "b"}, (ServicePort(80, 80, "TCP", "p"),),
                  cluster_ip="10.96.0.1")
    eps = [Endpoint("10.0.0.1", 80), Endpoint("10.0.0.2", 8080)]
    names = proxy.decision.nft_endpoint_chains(svc, svc.ports[0], eps, prefix)
    for e, name in zip(eps, names):
        full = f"ns/{svc.name}/tcp/p__{e.address}/{e.port}"
        base = f"{nft_hash(full)}-{full}"
        assert name == prefix + (base if len(base) <= 240 else base[:237] + "...")
        assert name == proxy.nft_endpoint_chain(svc, svc.ports[0], e, prefix)


def test_chain_hash_of_upstream_expected_chain():
    # pkg/proxy/iptables/proxier_test.go (TestOverallIPTablesRules): ns1/svc1:p80 tcp
    assert chain_hash("ns1/svc1:p80tcp") == "XPGD46QRK7WJZT7O"


# -- IPv4 text as ParseIPSloppy reads it (k8s.io/utils/net): leading zeros allowed -----------

def _sloppy(text: str):
    """The oracle: four dot-separated runs of at most three digits, each <= 255."""
    parts = text.strip().split(".")
    if len(parts) != 4 or not all(p.isdigit() and len(p) <= 3 for p in parts):
        return None
    numbers = [int(p) for p in parts]
    return ".".join(map(str, numbers)) if all(n <= 255 for n in numbers) else None


_octet = st.one_of(st.integers(0, 300).map(str), st.sampled_from(["00", "010", "0255", "", "1a", "٣"]))


@settings(max_examples=500, deadline=None)
@given(st.lists(_octet, min_size=3, max_size=5),
       st.sampled_from(["", " ", "\n", "\t"]), st.sampled_from(["", " ", "\n"]))
def test_ipv4_agrees_with_parse_ip_sloppy(octets, before, after):
    text = before + ".".join(octets) + after
    assert ipv4(text) == _sloppy(text)


# -- endpoints: built without the dataclass __init__, kept as kube-proxy keeps them ----------

def _cluster(pods_per_node=3):
    nodes = [Node(f"n{i}", f"192.0.2.{i + 1}", labels={"topology.kubernetes.io/zone": f"z{i % 2}"})
             for i in range(3)]
    pods = [Pod(f"web-{n}-{i}", "default", f"n{n}", f"10.244.{n}.{i + 2}", labels={"app": "web"},
                ports=(ContainerPort(8080, "http"),), ready=i != 1, terminating=i == 2)
            for n in range(3) for i in range(pods_per_node)]
    svc = Service("web", "default", "ClusterIP", {"app": "web"},
                  (ServicePort(80, "http", "TCP", "http"),), cluster_ip="10.96.0.10",
                  traffic_distribution="PreferSameNode")
    return Cluster(nodes, pods, [svc], (), ProxyConfig())


def test_endpoints_from_pods_are_the_endpoints_their_fields_make():
    cluster = _cluster()
    svc = cluster.services[0]
    eps = cluster.endpoints(svc, svc.ports[0])
    assert len(eps) == 9
    names = {f.name for f in dataclasses.fields(Endpoint)}
    for e in eps:
        # every field set (a field added to Endpoint must be added where it is built too)
        assert set(vars(e)) == names
        same = Endpoint(**{n: getattr(e, n) for n in names})
        assert e == same and hash(e) == hash(same) and repr(e) == repr(same)
    assert [e.ip_port for e in eps] == sorted(e.ip_port for e in eps)
    # PreferSameNode: each ready endpoint is hinted for its own node and zone
    assert all(e.hint_nodes == (e.node,) and e.hint_zones == (e.zone,) for e in eps if e.ready)
    assert all(e.hint_nodes is None for e in eps if not e.ready)


def _kept(endpoints):
    """The oracle for IPv4: canonical addresses, one per IP:port (a live one over a
    terminating one), sorted by "IP:port" when anything changed, else as given."""
    by_key, changed = {}, False
    for e in endpoints:
        ip = _sloppy(e.address) if isinstance(e.address, str) else None
        if ip is None:
            changed = True
            continue
        if ip != e.address:
            e, changed = dataclasses.replace(e, address=ip), True
        key = f"{ip}:{e.port}"
        if key in by_key:
            changed = True
            if e.terminating:
                continue
        by_key[key] = e
    return tuple(endpoints) if not changed else tuple(by_key[k] for k in sorted(by_key))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["10.0.0.1", "10.0.0.2", "010.0.0.1", "10.0.0.01",
                                           "fd00::1", "10.0.0.300", "host.example"]),
                          st.sampled_from([80, 8080]), st.booleans()), max_size=6))
def test_kube_proxy_endpoints_agrees_with_the_endpoint_slice_cache(items):
    eps = [Endpoint(a, p, terminating=t, ready=not t) for a, p, t in items]
    assert proxy.kube_proxy_endpoints(eps) == _kept(eps)


# -- the garbage collector is paused while rules are written, then left as it was ------------

def test_rules_leave_the_garbage_collector_as_they_found_it():
    cluster = _cluster()
    assert gc.isenabled()
    for mode in proxy.MODES:
        proxy.rules(cluster, "n0", mode=mode)
        assert gc.isenabled()
    gc.disable()
    try:
        proxy.rules(cluster, "n0", mode="nftables")
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_trace_leaves_the_garbage_collector_as_it_found_it():
    from k8slab import trace
    cluster = _cluster()
    t = trace.trace(cluster, "node/n0", "10.96.0.10:80")
    assert t.verdict and gc.isenabled()
    gc.disable()
    try:
        trace.trace(cluster, "node/n1", "10.96.0.10:80", repeat=True)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_nftables_rules_parsed_lazily_are_the_rules_parsed_at_once():
    import k8slab
    from k8slab.proxy import nftables_walk
    cluster = k8slab.demo_cluster()
    for node in cluster.nodes:
        text = proxy.rules(cluster, node.name, mode="nftables")
        eager = nftables_walk.parse_ruleset(text)
        lazy = nftables_walk.parse_ruleset(text, lazy=True)
        assert (lazy.hooks, lazy.sets, lazy.maps) == (eager.hooks, eager.sets, eager.maps)
        assert lazy.chains.keys() == eager.chains.keys()
        for name, rules in eager.chains.items():
            assert len(lazy.chains[name]) == len(rules)
            assert list(lazy.chains[name]) == rules
            assert [lazy.chains[name][i] for i in range(len(rules))] == rules


# -- trace's shortcut in iptables mode: a rule its text rules out is not parsed (issue 22) ------

_WORDS = st.sampled_from(["-m tcp", "-p tcp", "-p udp", "-p sctp", "! -p tcp", "-p TCP", "-p 6",
                          "-d 10.96.0.10", "-d 10.96.0.1", "! -d 10.96.0.10", "-d 10.96.0.0/16",
                          "-d 10.96.0.10/32", "--destination 10.96.0.10", "-s 10.244.0.0/16",
                          "--dport 80", "--dport 53", '-m comment --comment "-d 10.1.1.1 -p udp"',
                          '-m comment --comment "ns/web:http cluster IP"', "-m addrtype --dst-type LOCAL"])


@settings(max_examples=400, deadline=None)
@given(st.lists(_WORDS, max_size=6), st.sampled_from(["tcp", "udp"]),
       st.sampled_from(["10.96.0.10", "10.96.0.1", "10.1.1.1", "10.244.1.5"]))
def test_trace_rules_out_a_rule_by_its_text_only_as_the_full_check_would(words, protocol, dst):
    from k8slab.model import Node
    from k8slab.proxy import iptables_walk
    from k8slab.proxy.packet import Packet, Path
    line = " ".join(["-A KUBE-SERVICES", *words, "-j KUBE-SVC-X"])
    chain = iptables_walk.parse_rules(f"*nat\n:KUBE-SERVICES - [0:0]\n{line}\nCOMMIT\n", lazy=True) \
        .chain("nat", "KUBE-SERVICES")
    packet = Packet(src="10.244.0.2", dst=dst, dport=80, protocol=protocol)
    quick = chain.quick_miss(0, packet)
    node = Node("n0", "192.168.0.2")
    full = iptables_walk.Tables(rules=None, local=lambda n, a: a == n.address).mismatch(
        node, chain[0], Path(1, None, packet, frozenset()))
    # A shortcut only when the full check says the packet misses, and then in its words.
    assert quick is None or quick == full
    # kube-proxy's own jump rule is the shape the shortcut is for: it must take it.
    shape = '-A KUBE-SERVICES -m comment --comment "ns/web:http cluster IP" -m tcp -p tcp -d 10.96.0.1 --dport 80 -j X'
    lazy = iptables_walk.parse_rules(f"*nat\n:KUBE-SERVICES - [0:0]\n{shape}\nCOMMIT\n", lazy=True) \
        .chain("nat", "KUBE-SERVICES")
    if dst != "10.96.0.1":
        assert lazy.quick_miss(0, packet) == (f"destination {dst} is not 10.96.0.1" if protocol == "tcp"
                                              else "protocol udp is not tcp")
    else:
        assert lazy.quick_miss(0, packet) is None or protocol == "udp"
