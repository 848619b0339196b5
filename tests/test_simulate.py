"""The seeded simulation: where requests land, per connection and per client address."""

import functools
import json
import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from k8slab import K8slabError, proxy
from k8slab.manifests import with_service_type
from k8slab.simulate import chi_square, chi_square_p, simulate

from support import cluster_from


def sticky(cluster, name="web", timeout=10800):
    """The cluster with `sessionAffinity: ClientIP` on Service `name`."""
    return cluster.replace_service(replace(cluster.service(name), session_affinity="ClientIP",
                                           session_affinity_timeout=timeout))


@functools.lru_cache(maxsize=None)
def replicas(n):
    """A Deployment of n ready pods over three nodes, behind a ClusterIP Service."""
    return cluster_from(f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: {n}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers: [{{name: web, image: nginx, ports: [{{name: http, containerPort: 8080}}]}}]
---
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec:
  selector: {{app: web}}
  ports: [{{name: http, port: 80, targetPort: http}}]
""")


# -- the JSON ------------------------------------------------------------------------------------

def test_json_is_exactly_the_designs(demo):
    r = demo.route(client="pod/client", service="web")
    d = simulate(r, 3000, seed=1).to_dict()
    assert list(d) == ["requests", "connections", "clients", "pods", "expected"]
    assert (d["requests"], d["connections"], d["clients"]) == (3000, 3000, 100)
    assert list(d["pods"]) == [e.endpoint.pod for e in r.endpoints]
    assert sum(d["pods"].values()) == 3000
    assert all(type(v) is int for v in d["pods"].values())
    assert d["expected"] == {e["pod"]: e["probability"] for e in r.to_dict()["endpoints"]}
    json.dumps(d)


def test_the_same_seed_gives_the_same_counts_on_every_machine(demo):
    r = demo.route(client="internet", service="web-lb")
    # Pinned: PCG64's raw output is fixed by its algorithm, and indices come from exact
    # float arithmetic, so these numbers must not change with the machine or numpy version.
    assert simulate(r, 1000, seed=42).to_dict()["pods"] == PINNED
    assert simulate(r, 1000, seed=42).to_dict() == simulate(r, 1000, seed=42).to_dict()
    assert simulate(r, 1000, seed=43).to_dict() != simulate(r, 1000, seed=42).to_dict()


PINNED = {"web-5qfpmcl4nc-9lqsj": 326, "web-5qfpmcl4nc-g5tvh": 334, "web-5qfpmcl4nc-fqrl9": 340}


# -- observed against expected -------------------------------------------------------------------

@settings(max_examples=25, deadline=None)
@given(n=st.integers(min_value=1, max_value=7), seed=st.integers(min_value=0, max_value=2**32),
       mode=st.sampled_from(["iptables", "nftables"]))
def test_observed_shares_match_expected_within_sampling_error(n, seed, mode):
    r = replicas(n).route(client="node/node-a", service="web")
    sim = simulate(r, 20_000, seed=seed, mode=mode)
    assert sum(sim.expected.values()) == pytest.approx(1)
    assert sum(sim.pods.values()) == 20_000
    assert sim.p_value > 1e-5, sim.text()


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_load_balancer_spread_under_local_matches_the_route(demo, seed):
    c = with_service_type(demo, demo.service("web-lb"), "LoadBalancer", "Local")
    r = c.route(client="internet", service="web-lb")
    sim = simulate(r, 50_000, seed=seed)
    assert sim.nodes == ("node-a", "node-b")                  # node-c fails the health check
    alone = next(p for p, e in zip(sim.pod_names, sim.pod_nodes) if e == "node-b")
    assert sim.observed[alone] == pytest.approx(0.5, abs=0.01)   # a pod alone takes half
    assert sim.p_value > 1e-5


def test_a_load_balancer_picks_a_node_then_that_nodes_kube_proxy_picks_a_pod(demo):
    r = demo.route(client="internet", service="web-lb")
    sim = simulate(r, 30_000, seed=5)
    assert sim.nodes == ("node-a", "node-b", "node-c")
    per_node = np.bincount(sim.connection_node, minlength=3) / 30_000
    assert per_node == pytest.approx([1 / 3] * 3, abs=0.015)
    assert sim.p_value > 1e-5


def test_a_load_balancer_without_node_ports_picks_pods_itself(demo):
    svc = replace(demo.service("web-lb"), allocate_load_balancer_node_ports=False,
                  session_affinity="ClientIP", session_affinity_timeout=10800)
    r = demo.replace_service(svc).route(client="internet", service="web-lb")
    sim = simulate(r, 30_000, clients=1, seed=4, mode="ipvs", scheduler="lc")
    assert sim.load_balancer_picks and sim.scheduler is None     # no kube-proxy on the path
    assert sum(sim.picks.values()) == 30_000 and sim.p_value > 1e-5


# -- connections and requests -------------------------------------------------------------------

def test_one_keep_alive_connection_sends_everything_to_one_pod(demo):
    r = demo.route(client="pod/client", service="web")
    for seed in range(5):
        sim = simulate(r, 10_000, connections=1, seed=seed)
        assert sorted(sim.pods.values()) == [0, 0, 10_000]
        assert sum(sim.picks.values()) == 1


def test_requests_follow_their_connection(demo):
    r = demo.route(client="pod/client", service="web")
    sim = simulate(r, 1003, connections=10, seed=3)
    assert list(sim.connection_requests) == [101, 101, 101] + [100] * 7
    for name, count in sim.pods.items():
        i = sim.pod_names.index(name)
        assert count == int(sim.connection_requests[sim.connection_pod == i].sum())
    assert sum(1 for v in sim.pods.values() if v) <= 3


def test_a_new_connection_per_request_is_the_default(demo):
    sim = simulate(demo.route(client="pod/client", service="web"), 500)
    assert sim.connections == 500 and set(sim.connection_requests) == {1}


# -- session affinity ----------------------------------------------------------------------------

def test_affinity_keeps_each_client_address_on_one_pod(demo):
    r = sticky(demo).route(client="pod/client", service="web")
    sim = simulate(r, 20_000, clients=50, seed=7)
    assert set(sim.pods_per_client.values()) == {1} and len(sim.pods_per_client) == 50
    assert sum(sim.picks.values()) == 50


def test_without_affinity_a_client_address_reaches_every_pod(demo):
    sim = simulate(demo.route(client="pod/client", service="web"), 20_000, clients=50, seed=7)
    assert set(sim.pods_per_client.values()) == {3}


def test_everyone_behind_one_nat_lands_on_one_pod(demo):
    r = sticky(demo, "web-nodeport").route(client="laptop", service="web-nodeport")
    assert not r.source_ip_preserved                   # SNAT: the pod sees the node's address
    sim = simulate(r, 5000, clients=1, seed=2)
    assert sorted(sim.pods.values()) == [0, 0, 5000]    # affinity keys on the client's address
    assert any("before masquerading" in n for n in sim.notes)


def test_affinity_memory_is_per_node_behind_a_load_balancer(demo):
    r = sticky(demo, "web-lb").route(client="internet", service="web-lb")
    sim = simulate(r, 20_000, clients=20, seed=11)
    pairs = set(zip(sim.connection_client.tolist(), sim.connection_node.tolist()))
    chosen = {}
    for c, n, p in zip(sim.connection_client.tolist(), sim.connection_node.tolist(),
                       sim.connection_pod.tolist()):
        chosen.setdefault((c, n), set()).add(p)
    assert all(len(v) == 1 for v in chosen.values())            # one pod per (node, client)
    assert sum(sim.picks.values()) == len(pairs)
    assert max(sim.pods_per_client.values()) > 1                # but a client may reach several


def test_affinity_picks_still_fit_the_expected_shares(demo):
    r = sticky(replicas(4)).route(client="node/node-a", service="web")
    sim = simulate(r, 40_000, clients=4000, seed=9)
    assert sum(sim.picks.values()) == 4000
    assert sim.p_value > 1e-5


# -- IPVS ---------------------------------------------------------------------------------------

def test_ipvs_round_robin_is_as_even_as_counts_allow(demo):
    r = demo.route(client="pod/client", service="web")
    sim = simulate(r, 1000, mode="ipvs")
    assert sim.scheduler == "rr" and sorted(sim.pods.values()) == [333, 333, 334]
    eps = [e.endpoint for e in r.endpoints]
    expected = [eps.index(e) for e in proxy.round_robin(eps, 10)]
    assert sim.connection_pod[:10].tolist() == expected


def test_ipvs_round_robin_turns_count_only_new_persistence_entries(demo):
    r = sticky(demo).route(client="pod/client", service="web")
    sim = simulate(r, 900, clients=9, mode="ipvs")
    first = [sim.connection_pod[sim.connection_client == c][0] for c in range(9)]
    assert first == [0, 1, 2] * 3
    assert set(sim.pods_per_client.values()) == {1}


def test_ipvs_source_hashing_pins_clients_without_affinity(demo):
    r = demo.route(client="pod/client", service="web")
    sim = simulate(r, 5000, clients=40, mode="ipvs", scheduler="sh")
    assert set(sim.pods_per_client.values()) == {1}


def test_ipvs_destination_hashing_sends_everything_to_one_pod(demo):
    sim = simulate(demo.route(client="pod/client", service="web"), 5000, mode="ipvs", scheduler="dh")
    assert sorted(sim.pods.values()) == [0, 0, 5000]
    assert sim.p_value < 1e-6


def test_the_clusters_scheduler_is_the_default(demo):
    from k8slab.model import ProxyConfig
    demo2 = type(demo)(demo.nodes, demo.pods, demo.services, demo.slices,
                       ProxyConfig(mode="ipvs", ipvs_scheduler="sh"))
    sim = simulate(demo2.route(client="pod/client", service="web"), 300, clients=30)
    assert (sim.mode, sim.scheduler) == ("ipvs", "sh")


@pytest.mark.parametrize("name", ["lc", "wlc", "sed", "nq", "lblc", "lblcr"])
def test_load_driven_schedulers_are_refused_with_a_reason(demo, name):
    with pytest.raises(K8slabError, match="no model of load"):
        simulate(demo.route(client="pod/client", service="web"), 10, mode="ipvs", scheduler=name)


# -- what cannot be simulated, and bad input -----------------------------------------------------

def test_an_unreachable_route_raises_its_reason(demo):
    r = demo.route(client="laptop", service="web")
    with pytest.raises(K8slabError) as err:
        simulate(r, 10)
    assert r.reason in str(err.value) and "not-exposed" in str(err.value)


def test_a_headless_service_is_the_clients_choice(demo):
    with pytest.raises(K8slabError, match="client itself picks"):
        simulate(demo.route(client="pod/client", service="web-headless"), 10)


def test_an_external_name_has_no_pod(demo):
    with pytest.raises(K8slabError, match="CNAME"):
        simulate(demo.route(client="pod/client", service="db"), 10)


@pytest.mark.parametrize("kw, words", [
    ({"requests": 0}, "at least 1"),
    ({"requests": 10, "connections": 11}, "at most 10"),
    ({"requests": 10, "clients": 0}, "at least 1"),
    ({"requests": 2.5}, "whole number"),
    ({"requests": True}, "whole number"),
    ({"requests": 10, "seed": -1}, "at least 0"),
    ({"requests": 10**9}, "--connections"),
    ({"requests": 10, "mode": "userspace"}, "iptables, ipvs, nftables"),
    ({"requests": 10, "mode": "ipvs", "scheduler": "maglev"}, "kube-proxy accepts"),
    ({"requests": 10, "scheduler": "rr"}, "IPVS mode only"),
])
def test_bad_settings_are_clear_errors(demo, kw, words):
    with pytest.raises(K8slabError, match=words):
        simulate(demo.route(client="pod/client", service="web"), **kw)


def test_many_requests_over_few_connections_stay_cheap(demo):
    sim = simulate(demo.route(client="pod/client", service="web"), 10**12, connections=1000)
    assert sum(sim.pods.values()) == 10**12


# -- the figures -------------------------------------------------------------------------------

@pytest.mark.parametrize("stat, dof, p", [(3.841458820694124, 1, 0.05), (5.991464547107979, 2, 0.05),
                                          (18.307038053275146, 10, 0.05), (6.634896601021214, 1, 0.01),
                                          (0.0, 3, 1.0), (2.0, 2, math.exp(-1)), (200.0, 2, math.exp(-100))])
def test_chi_square_p_value_matches_the_tables(stat, dof, p):
    assert chi_square_p(stat, dof) == pytest.approx(p, rel=1e-6)


def test_chi_square_statistic():
    assert chi_square([10, 20, 30], [1 / 6, 1 / 3, 1 / 2]) == (0.0, 2)
    stat, dof = chi_square([30, 30], [0.5, 0.5])
    assert (stat, dof) == (0.0, 1)
    assert chi_square([50, 10], [0.5, 0.5])[0] == pytest.approx(26.666666, rel=1e-6)


def test_text_is_a_table_with_the_fit(demo):
    r = sticky(demo).route(client="pod/client", service="web")
    text = simulate(r, 1000, connections=100, clients=10).text()
    assert "POD" in text and "EXPECTED" in text and "Fit: chi-square" in text
    assert "from 10 client addresses" in text and "sessionAffinity: ClientIP" in text
    for e in r.endpoints:
        assert e.endpoint.pod in text
