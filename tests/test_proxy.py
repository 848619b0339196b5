"""kube-proxy's endpoint choice, one test per rule, each checked against kube-proxy's source.

pkg/proxy/iptables/proxier.go (writeServiceToEndpointRules), pkg/proxy/nftables/proxier.go,
pkg/proxy/ipvs/proxier.go, pkg/proxy/topology.go and docs/reference/networking/virtual-ips.md.
"""

import re
from dataclasses import replace
from fractions import Fraction

import pytest
from hypothesis import given, settings, strategies as st

from k8slab import proxy
from k8slab.manifests import with_service_type
from k8slab.model import Endpoint, Service, ServicePort

from support import cluster_from


def endpoints(n, node="n1"):
    """n ready endpoints, in kube-proxy's order ("IP:port" sorted as text)."""
    eps = [Endpoint(f"10.244.1.{i + 2}", 8080, pod=f"web-{i}", node=node) for i in range(n)]
    return sorted(eps, key=lambda e: e.ip_port)


# -- iptables: the random cascade ------------------------------------------------------------

def test_cascade_rule_i_of_n_matches_with_one_over_n_minus_i_and_the_last_always():
    eps = endpoints(3)
    rules = proxy.cascade(eps)
    assert [e for e, _ in rules] == eps
    assert [p for _, p in rules] == [pytest.approx(1 / 3), pytest.approx(1 / 2), 1.0]


def test_cascade_rules_are_written_with_ten_decimals_like_compute_probability():
    assert [proxy.probability_text(k) for k in (4, 3, 2)] == ["0.2500000000", "0.3333333333",
                                                            "0.5000000000"]


@given(st.integers(min_value=1, max_value=40))
def test_cascade_gives_every_endpoint_exactly_one_over_n(n):
    got = proxy.cascade_shares(proxy.cascade(endpoints(n), exact=True))
    assert list(got.values()) == [Fraction(1, n)] * n
    assert sum(got.values()) == 1


@given(st.integers(min_value=1, max_value=200))
def test_float_cascade_and_shares_sum_to_one(n):
    eps = endpoints(n)
    assert sum(proxy.cascade_shares(proxy.cascade(eps)).values()) == pytest.approx(1)
    assert sum(proxy.shares(eps).values()) == pytest.approx(1)


def test_cascade_follows_kube_proxys_text_order_not_numeric_order():
    eps = sorted([Endpoint("10.244.1.10", 8080), Endpoint("10.244.1.9", 8080)], key=lambda e: e.ip_port)
    assert [e.address for e, _ in proxy.cascade(eps)] == ["10.244.1.10", "10.244.1.9"]


def test_cascade_matches_the_probabilities_in_the_written_rules(demo):
    text = proxy.rules(demo, "node-c")
    written = re.findall(r"--probability (\S+)", text)
    assert written and set(written) <= {proxy.probability_text(k) for k in (2, 3)}


def test_no_endpoints_means_no_shares():
    assert proxy.shares([]) == {} and proxy.cascade([]) == []


# -- nftables: one numgen map ------------------------------------------------------------------

def test_numgen_map_numbers_endpoints_from_zero_in_kube_proxy_order():
    eps = endpoints(3)
    assert proxy.numgen_map(eps) == [(0, eps[0]), (1, eps[1]), (2, eps[2])]


def test_nft_chain_names_hash_like_kube_proxy():
    # The examples in nftables/proxier.go: "5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80".
    svc = Service("svc1", "ns1")
    port = ServicePort(80, 80, name="p80")
    ep = Endpoint("10.180.0.1", 80)
    assert proxy.nft_endpoint_chain(svc, port, ep) == "endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80"
    assert proxy.nft_endpoint_chain(svc, port, ep, "affinity-").startswith("affinity-5OJB2KTY-")


def test_numgen_rule_is_one_vmap_over_all_endpoints(demo):
    svc = demo.service("web")
    eps = demo.endpoints(svc, svc.ports[0])
    rule = proxy.numgen_rule(svc, svc.ports[0], eps)
    assert rule.startswith("numgen random mod 3 vmap { 0 : goto endpoint-")
    assert rule.count(" : goto endpoint-") == 3 and rule.endswith("/8080 }")
    assert "default/web/tcp/http__" in rule


# -- IPVS ---------------------------------------------------------------------------------------

def test_ipvs_round_robin_takes_turns_from_the_first_destination():
    a, b, c = endpoints(3)
    assert proxy.round_robin([a, b, c], 7) == [a, b, c, a, b, c, a]
    assert proxy.round_robin([a, b, c], 2, start=2) == [c, a]


def test_ipvs_round_robin_long_run_share_is_one_over_n():
    eps = endpoints(4)
    seq = proxy.round_robin(eps, 400)
    assert {e: seq.count(e) / 400 for e in eps} == proxy.ipvs_shares(eps, "rr")


def test_kube_proxy_accepts_these_schedulers_and_empty_means_rr():
    assert set(proxy.IPVS_SCHEDULERS) == {"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "sh", "dh",
                                          "sed", "nq"}
    assert proxy.ipvs_scheduler("").name == "rr" and proxy.ipvs_scheduler(None).name == "rr"
    with pytest.raises(ValueError, match="kube-proxy accepts"):
        proxy.ipvs_scheduler("maglev")


def test_weight_one_makes_wrr_plain_round_robin():
    eps = endpoints(3)
    assert proxy.ipvs_shares(eps, "wrr") == proxy.ipvs_shares(eps, "rr")


@pytest.mark.parametrize("name", ["lc", "wlc", "sed", "nq", "lblc", "lblcr"])
def test_load_driven_schedulers_have_no_share_without_load(name):
    assert not proxy.ipvs_scheduler(name).computable
    assert proxy.ipvs_shares(endpoints(3), name) is None


def test_source_hashing_pins_each_client_address_and_shares_buckets():
    eps = endpoints(3)
    assert proxy.source_hash(eps, "198.51.100.7") == proxy.source_hash(eps, "198.51.100.7")
    got = proxy.ipvs_shares(eps, "sh")
    assert [round(v * 256) for v in got.values()] == [86, 85, 85]
    seen = {proxy.source_hash(eps, f"198.51.100.{i}") for i in range(1, 60)}
    assert len(seen) == 3


def test_hash_slot_is_the_kernels_hash_32():
    # hash_32(val, 8) = (val * 0x61C88647 mod 2^32) >> 24
    assert proxy.ipvs_bucket("0.0.0.1") == 0x61C88647 >> 24
    assert proxy.ipvs_bucket(0) == 0


def test_destination_hashing_sends_a_whole_service_address_to_one_pod():
    eps = endpoints(3)
    got = proxy.ipvs_shares(eps, "dh", service_address="10.96.0.10")
    assert sorted(got.values()) == [0.0, 0.0, 1.0]
    assert got[proxy.destination_hash(eps, "10.96.0.10")] == 1.0


# -- session affinity --------------------------------------------------------------------------

def take_turns():
    """A deterministic stand-in for the random pick: endpoints in turn."""
    state = {"i": 0}

    def pick(eps):
        state["i"] += 1
        return eps[(state["i"] - 1) % len(eps)]
    return pick


def test_affinity_timeout_defaults_to_three_hours(demo):
    svc = demo.service("web")
    assert proxy.affinity_timeout(svc) is None
    assert proxy.affinity_timeout(replace(svc, session_affinity="ClientIP")) == 10800
    assert proxy.affinity_timeout(replace(svc, session_affinity="ClientIP",
                                          session_affinity_timeout=60)) == 60


def test_a_client_address_keeps_its_pod_within_the_timeout():
    a, b, c = endpoints(3)
    table = proxy.AffinityTable(60, [a, b, c], pick=take_turns())
    first = table.connect("198.51.100.1", now=0)
    assert [table.connect("198.51.100.1", now=t) for t in (10, 60, 119)] == [first] * 3
    assert table.connect("198.51.100.2", now=5) != first        # another address, another pick


def test_the_timeout_counts_from_the_last_new_connection():
    a, b, c = endpoints(3)
    table = proxy.AffinityTable(60, [a, b, c], pick=take_turns())
    assert table.connect("x", 0) == a
    assert table.connect("x", 50) == a            # refreshed at 50 (recent --set, nft update)
    assert table.lookup("x", 110) == a
    assert table.lookup("x", 111) is None         # 61 s without a new connection: expired
    assert table.connect("x", 111) == b           # a fresh pick


def test_an_entry_for_a_removed_endpoint_is_no_longer_matched():
    a, b, c = endpoints(3)
    table = proxy.AffinityTable(10800, [a, b, c], pick=take_turns())
    assert [table.connect(x, 0) for x in ("x", "y", "z")] == [a, b, c]
    assert table.endpoints_changed([a, c]) == ["y"]
    assert table.connect("x", 1) == a and table.connect("z", 1) == c     # survivors stay
    assert table.connect("y", 1) in (a, c)                               # re-picked


def test_a_new_pod_gets_only_clients_without_a_live_entry():
    a, b, c = endpoints(3)
    table = proxy.AffinityTable(10800, [a, b], pick=take_turns())
    before = {x: table.connect(x, 0) for x in ("w", "x", "y")}
    table.endpoints_changed([a, b, c])
    assert {x: table.connect(x, 1) for x in before} == before
    assert c not in table.pinned(1).values()


def test_affinity_timeout_must_be_positive():
    with pytest.raises(ValueError):
        proxy.AffinityTable(0)


# -- topology hints (topology.go: topologyModeFromHints, availableForTopology) --------------

NODES = """
apiVersion: v1
kind: Node
metadata: {name: node-a, labels: {topology.kubernetes.io/zone: zone-1}}
status: {addresses: [{type: InternalIP, address: 192.0.2.11}]}
---
apiVersion: v1
kind: Node
metadata: {name: node-b, labels: {topology.kubernetes.io/zone: zone-2}}
status: {addresses: [{type: InternalIP, address: 192.0.2.12}]}
---
apiVersion: v1
kind: Node
metadata: {name: node-c, labels: {topology.kubernetes.io/zone: zone-3}}
status: {addresses: [{type: InternalIP, address: 192.0.2.13}]}
---
apiVersion: v1
kind: Node
metadata: {name: node-d}
status: {addresses: [{type: InternalIP, address: 192.0.2.14}]}
"""


def hinted_cluster(hints=("zone-1", "zone-1", "zone-2"), ready=(True, True, True),
                   distribution="PreferClose"):
    """Three endpoints (two on node-a in zone-1, one on node-b in zone-2) with the given hints."""
    placed = [("10.244.1.2", "node-a", "zone-1"), ("10.244.1.3", "node-a", "zone-1"),
              ("10.244.2.2", "node-b", "zone-2")]
    items = []
    for (ip, node, zone), hint, ok in zip(placed, hints, ready):
        h = "" if hint is None else (f"\n  hints: {{forZones: [{{name: {hint}}}]}}" if hint
                                     else "\n  hints: {forZones: []}")
        items.append(f"""- addresses: [{ip}]
  nodeName: {node}
  zone: {zone}
  conditions: {{ready: {str(ok).lower()}}}{h}""")
    dist = f"\n  trafficDistribution: {distribution}" if distribution else ""
    return cluster_from(NODES + f"""
---
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec:{dist}
  ports: [{{name: http, port: 80, targetPort: 8080}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {{name: web-1, labels: {{kubernetes.io/service-name: web}}}}
addressType: IPv4
ports: [{{name: http, port: 8080, protocol: TCP}}]
endpoints:
""" + "\n".join(items) + "\n")


def view(cluster, node):
    svc = cluster.service("web")
    n = cluster.node(node)
    return proxy.categorize(svc, cluster.endpoints(svc, svc.ports[0]), n.name, n.zone)


def test_zone_hints_keep_traffic_in_the_clients_zone():
    c = hinted_cluster()
    assert [e.address for e in view(c, "node-a").cluster] == ["10.244.1.2", "10.244.1.3"]
    assert [e.address for e in view(c, "node-b").cluster] == ["10.244.2.2"]
    assert view(c, "node-a").topology_zone == "zone-1"
    r = c.route(client="node/node-b", service="web")
    assert [e.endpoint.address for e in r.endpoints] == ["10.244.2.2"]
    assert "zone-2" in r.reason and r.endpoints[0].probability == 1.0


def test_hints_are_ignored_in_a_zone_no_endpoint_is_hinted_for():
    assert len(view(hinted_cluster(), "node-c").cluster) == 3


def test_hints_are_ignored_on_a_node_without_a_zone_label():
    assert len(view(hinted_cluster(), "node-d").cluster) == 3


def test_one_ready_endpoint_without_a_hint_turns_hints_off_everywhere():
    c = hinted_cluster(hints=("zone-1", "zone-1", None))
    assert len(view(c, "node-a").cluster) == 3 and view(c, "node-a").topology_zone is None


def test_an_empty_for_zones_counts_as_no_hint():
    assert len(view(hinted_cluster(hints=("zone-1", "zone-1", "")), "node-a").cluster) == 3


def test_only_ready_endpoints_need_hints():
    c = hinted_cluster(hints=("zone-1", "zone-1", None), ready=(True, True, False))
    assert len(view(c, "node-a").cluster) == 2
    assert view(c, "node-b").cluster == view(c, "node-a").cluster    # zone-2 has no ready hinted one


def test_hints_never_narrow_the_local_list():
    c = hinted_cluster(hints=("zone-2", "zone-2", "zone-2"))
    v = view(c, "node-a")
    assert [e.address for e in v.local] == ["10.244.1.2", "10.244.1.3"]


def test_kube_proxy_reads_the_hints_not_the_service_field():
    # topology.go (today) does not look at the Service: hints written on a slice decide.
    assert view(hinted_cluster(distribution=None), "node-a").topology_zone == "zone-1"


def test_prefer_close_hints_pods_by_their_own_zone(demo):
    # The EndpointSlice controller (trafficdist, preferCloseHeuristic) hints each ready
    # endpoint for its own zone; node-a is zone-1 with two pods, node-b/node-c zone-2 with one.
    svc = replace(demo.service("web"), traffic_distribution="PreferClose")
    c = demo.replace_service(svc)
    assert {e.hint_zones for e in c.endpoints(svc, svc.ports[0])} == {("zone-1",), ("zone-2",)}
    r = c.route(client="pod/client", service="web")        # the client pod runs on node-c, zone-2
    assert [e.endpoint.node for e in r.endpoints] == ["node-b"]
    assert r.endpoints[0].probability == 1.0


# -- the cloud load balancer's spread under externalTrafficPolicy: Local --------------------

def test_load_balancer_shares_split_evenly_over_nodes_then_pods():
    a1, a2 = endpoints(2, node="node-a")
    b1 = Endpoint("10.244.2.2", 8080, pod="b1", node="node-b")
    got = proxy.load_balancer_shares({"node-a": [a1, a2], "node-b": [b1]})
    assert got == {a1: 0.25, a2: 0.25, b1: 0.5}


def test_a_pod_alone_on_its_node_takes_more_under_local(demo):
    c = with_service_type(demo, demo.service("web-lb"), "LoadBalancer", "Local")
    r = c.route(client="internet", service="web-lb")
    by_node = {}
    for e in r.endpoints:
        by_node.setdefault(e.endpoint.node, []).append(e.probability)
    assert by_node == {"node-a": [0.25, 0.25], "node-b": [0.5]}
    svc = c.service("web-lb")
    eps = c.endpoints(svc, svc.ports[0])
    per_node = {n: [e for e in eps if e.node == n] for n in ("node-a", "node-b")}
    assert {e.pod: p for e, p in proxy.load_balancer_shares(per_node).items()} == {
        e.endpoint.pod: e.probability for e in r.endpoints}


def test_under_cluster_policy_every_pod_gets_the_same_share(demo):
    r = demo.route(client="internet", service="web-lb")
    assert [e.probability for e in r.endpoints] == [pytest.approx(1 / 3)] * 3


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=5))
def test_load_balancer_shares_sum_to_one(pods_per_node):
    per_node, k = {}, 0
    for i, count in enumerate(pods_per_node):
        per_node[f"n{i}"] = [Endpoint(f"10.0.{i}.{j}", 80, node=f"n{i}") for j in range(count)]
        k += count
    got = proxy.load_balancer_shares(per_node)
    assert len(got) == k and sum(got.values()) == pytest.approx(1)
    lone = [e for n, eps in per_node.items() if len(eps) == 1 for e in eps]
    crowded = [e for n, eps in per_node.items() if len(eps) > 1 for e in eps]
    assert all(got[x] > got[y] for x in lone for y in crowded)
