"""kube-proxy's nftables packet-flow tests, answered by `trace` walking k8slab's nft ruleset.

Every case is one of kubernetes/kubernetes pkg/proxy/nftables/proxier_test.go's
runPacketFlowTests cases (named after the upstream test and case): a packet in, where it
ends (the DNAT targets, "DROP", "REJECT", or "" when no kube-proxy rule touches it) and
whether it is marked for masquerading. Upstream walks the fake's ruleset with a small
tracer (helpers_test.go); here trace.walk evaluates k8slab's `rules --mode nftables` output
rule by rule through the base chains at each hook. The fixtures are shared with
tests/test_rules.py (upstream's iptables and nftables files build the same Services).
"""

from __future__ import annotations

import pytest

from k8slab import trace
from k8slab.proxy import nftables, service_ports

from test_nftables import SERVICE_CIDRS, nft_mode, nft_rules
from test_rules import (EXTERNAL_CLIENT, EXTERNAL_CLIENT_BLOCKED, EXTERNAL_IP, NODE, NODE_IP,
                        NODE_IP_ALT, TERMINATING, load, without_slices)

#: testNodeIPs: the addresses runPacketFlowTests treats as the node's own.
LOCAL = {NODE_IP_ALT, EXTERNAL_IP}


def _order(target: str):
    return tuple(int(x) for x in target.replace(":", ".").split("."))


def flow(cluster, src, dst, dport, proto="tcp"):
    """(output, masq) as upstream's tracePacket reports them."""
    text = nft_rules(cluster)
    walks = trace.walk(cluster, NODE, src, dst, int(dport), proto, local_addresses=LOCAL, rules=text)
    targets = sorted({f"{w.packet.dst}:{w.packet.dport}" for w in walks if w.packet.dnat}, key=_order)
    if targets:
        out = ", ".join(targets)
    else:
        out = next((w.outcome for w in walks if w.outcome in ("DROP", "REJECT")), "")
    return out, any(w.marked for w in walks)


def run_flows(cluster, flows):
    failures = []
    for f in flows:
        name, src, dst, dport, output, masq = f[:6]
        proto = f[6] if len(f) > 6 else "tcp"
        got = flow(cluster, src, dst, dport, proto)
        if got != (output, masq):
            failures.append(f"{name}: {src} -> {dst}:{dport}/{proto}: expected {(output, masq)}, got {got}")
    assert not failures, "\n".join(failures)


def nft(name: str, **conf):
    return nft_mode(load(name), **conf)


def test_no_endpoints_reject():
    # TestNoEndpointsReject: every way in REJECTs (no-endpoint-services / -nodeports).
    run_flows(nft("no_endpoints_reject.yaml"), [
        ("pod to cluster IP with no endpoints", "10.0.0.2", "172.30.0.41", 80, "REJECT", False),
        ("external to external IP with no endpoints", EXTERNAL_CLIENT, "192.168.99.11", 80, "REJECT", False),
        ("pod to NodePort with no endpoints", "10.0.0.2", NODE_IP, 3001, "REJECT", False),
        ("external to NodePort with no endpoints", EXTERNAL_CLIENT, NODE_IP, 3001, "REJECT", False),
        ("pod to LoadBalancer IP with no endpoints", "10.0.0.2", "1.2.3.4", 80, "REJECT", False),
        ("external to LoadBalancer IP with no endpoints", EXTERNAL_CLIENT, "1.2.3.4", 80, "REJECT", False),
    ])


def test_cluster_ip_general():
    # TestClusterIPGeneral (nftables): unlike iptables mode, a port the cluster IP does not
    # have is REJECTed (cluster-ips-check), and an unallocated address in the ServiceCIDR
    # is DROPped.
    run_flows(nft("cluster_ip_general.yaml"), [
        ("simple clusterIP", "10.180.0.2", "172.30.0.41", 80, "10.180.0.1:80", False),
        ("hairpin to cluster IP", "10.180.0.1", "172.30.0.41", 80, "10.180.0.1:80", True),
        ("clusterIP with multiple endpoints", "10.180.0.2", "172.30.0.42", 80,
         "10.180.0.1:80, 10.180.2.1:80", False),
        ("clusterIP with TargetPort", "10.180.0.2", "172.30.0.42", 443, "10.180.0.1:8443, 10.180.2.1:8443", False),
        ("clusterIP with TCP, UDP, and SCTP on same port (TCP)", "10.180.0.2", "172.30.0.42", 53,
         "10.180.0.1:5353, 10.180.2.1:5353", False, "tcp"),
        ("clusterIP with TCP, UDP, and SCTP on same port (UDP)", "10.180.0.2", "172.30.0.42", 53,
         "10.180.0.1:53, 10.180.2.1:53", False, "udp"),
        ("clusterIP with TCP, UDP, and SCTP on same port (SCTP)", "10.180.0.2", "172.30.0.42", 53,
         "10.180.0.1:53, 10.180.2.1:53", False, "sctp"),
        ("TCP-only port does not match UDP traffic", "10.180.0.2", "172.30.0.42", 80, "REJECT", False, "udp"),
        ("svc1 does not accept svc2's ports", "10.180.0.2", "172.30.0.41", 443, "REJECT", False),
        ("packet to unallocated cluster ip", "10.180.0.2", "172.30.0.50", 80, "DROP", False),
    ])


def test_load_balancer():
    # TestLoadBalancer: loadBalancerSourceRanges in firewall-check, before DNAT.
    ep = "10.180.0.1:80"
    run_flows(nft("load_balancer.yaml"), [
        ("pod to cluster IP", "10.0.0.2", "172.30.0.41", 80, ep, False),
        ("external to nodePort", EXTERNAL_CLIENT, NODE_IP, 3001, ep, True),
        ("nodePort bypasses LoadBalancerSourceRanges", EXTERNAL_CLIENT_BLOCKED, NODE_IP, 3001, ep, True),
        ("accepted external to LB1", EXTERNAL_CLIENT, "1.2.3.4", 80, ep, True),
        ("accepted external to LB2", EXTERNAL_CLIENT, "5.6.7.8", 80, ep, True),
        ("blocked external to LB1", EXTERNAL_CLIENT_BLOCKED, "1.2.3.4", 80, "DROP", False),
        ("blocked external to LB2", EXTERNAL_CLIENT_BLOCKED, "5.6.7.8", 80, "DROP", False),
        ("pod to LB1 (blocked by LoadBalancerSourceRanges)", "10.0.0.2", "1.2.3.4", 80, "DROP", False),
        ("pod to LB2 (blocked by LoadBalancerSourceRanges)", "10.0.0.2", "5.6.7.8", 80, "DROP", False),
        ("node to LB1 (allowed by LoadBalancerSourceRanges)", NODE_IP, "1.2.3.4", 80, ep, True),
        ("node to LB2 (allowed by LoadBalancerSourceRanges)", NODE_IP, "5.6.7.8", 80, ep, True),
        ("same node to LB1, SNATted to LB1 (implicitly allowed)", "1.2.3.4", "1.2.3.4", 80, ep, True),
        ("same node to LB2, SNATted to LB2 (implicitly allowed)", "5.6.7.8", "5.6.7.8", 80, ep, True),
    ])


def test_load_balancer_source_ranges_drop_even_without_endpoints():
    # proxier.go: usesFWChain does not depend on endpoints, and firewall-check runs in
    # filter-prerouting-pre-dnat, before service-endpoints-check could REJECT.
    cluster = without_slices(nft("load_balancer.yaml"))
    run_flows(cluster, [
        ("blocked external to LB1, no endpoints", EXTERNAL_CLIENT_BLOCKED, "1.2.3.4", 80, "DROP", False),
        ("accepted external to LB1, no endpoints", EXTERNAL_CLIENT, "1.2.3.4", 80, "REJECT", False),
    ])


@pytest.mark.parametrize("addresses", [(), ("192.168.0.0/24",)])
def test_node_ports(addresses):
    """TestNodePorts' IPv4 cases: nodePortAddresses unset (nftables' default, the primary
    IP) and a block holding the primary IP. (The model knows one address per node: the case
    that also opens the secondary IP 192.168.1.2 is left out.)"""
    cluster = nft("node_ports.yaml", node_port_addresses=addresses)
    both = "10.180.0.1:80, 10.180.2.1:80"
    run_flows(cluster, [
        ("pod to cluster IP", "10.0.0.2", "172.30.0.41", 80, both, False),
        ("external to nodePort", EXTERNAL_CLIENT, NODE_IP, 3001, both, True),
        ("node to nodePort", NODE_IP, NODE_IP, 3001, both, True),
        ("secondary nodeIP ignores NodePorts", EXTERNAL_CLIENT, NODE_IP_ALT, 3001, "", False),
        # Not an upstream case, but what nftables mode is built to do (nodePortAddresses is
        # never loopback): a node port on 127.0.0.1 is not DNATed.
        ("localhost to nodePort is ignored", "127.0.0.1", "127.0.0.1", 3001, "", False),
    ])


def test_external_traffic_policy_local():
    both, local = "10.180.0.1:80, 10.180.2.1:80", "10.180.2.1:80"
    run_flows(nft("external_traffic_policy_local.yaml"), [
        ("pod to cluster IP hits both endpoints, unmasqueraded", "10.0.0.2", "172.30.0.41", 80, both, False),
        ("pod to external IP hits both endpoints, unmasqueraded", "10.0.0.2", EXTERNAL_IP, 80, both, False),
        ("external to external IP hits only local endpoint, unmasqueraded", EXTERNAL_CLIENT, EXTERNAL_IP, 80,
         local, False),
        ("pod to LB IP hits only both endpoints, unmasqueraded", "10.0.0.2", "1.2.3.4", 80, both, False),
        ("external to LB IP hits only local endpoint, unmasqueraded", EXTERNAL_CLIENT, "1.2.3.4", 80, local, False),
        ("pod to NodePort hits both endpoints, unmasqueraded", "10.0.0.2", NODE_IP, 3001, both, False),
        ("external to NodePort hits only local endpoint, unmasqueraded", EXTERNAL_CLIENT, NODE_IP, 3001,
         local, False),
    ])


def test_external_traffic_policy_cluster():
    both = "10.180.0.1:80, 10.180.2.1:80"
    run_flows(nft("external_traffic_policy_cluster.yaml"), [
        ("pod to cluster IP hits both endpoints, unmasqueraded", "10.0.0.2", "172.30.0.41", 80, both, False),
        ("pod to external IP hits both endpoints, masqueraded", "10.0.0.2", EXTERNAL_IP, 80, both, True),
        ("external to external IP hits both endpoints, masqueraded", EXTERNAL_CLIENT, EXTERNAL_IP, 80, both, True),
        ("pod to LB IP hits both endpoints, masqueraded", "10.0.0.2", "1.2.3.4", 80, both, True),
        ("external to LB IP hits both endpoints, masqueraded", EXTERNAL_CLIENT, "1.2.3.4", 80, both, True),
        ("pod to NodePort hits both endpoints, masqueraded", "10.0.0.2", NODE_IP, 3001, both, True),
        ("external to NodePort hits both endpoints, masqueraded", EXTERNAL_CLIENT, NODE_IP, 3001, both, True),
    ])


@pytest.mark.parametrize("case,output", [
    ("cluster", "10.0.1.1:80, 10.0.1.2:80, 10.0.1.3:80"),
    ("local_one", "10.0.1.1:80"),
    ("local_many", "10.0.1.1:80, 10.0.1.2:80"),
    ("local_none", "DROP"),
])
def test_internal_traffic_policy(case, output):
    # TestInternalTrafficPolicy, then the same Service after OnEndpointSliceDelete.
    cluster = nft(f"internal_traffic_policy_{case}.yaml")
    run_flows(cluster, [("pod to ClusterIP", "10.0.0.2", "172.30.1.1", 80, output, False)])
    run_flows(without_slices(cluster), [("endpoints deleted", "10.0.0.2", "172.30.1.1", 80, "REJECT", False)])


@pytest.mark.parametrize("policy,case", [(p, c) for p in TERMINATING for c in TERMINATING[p]])
def test_terminating_endpoints(policy, case):
    """TestTerminatingEndpointsTrafficPolicyLocal and ...Cluster (the same flows as the
    iptables file's)."""
    cluster = nft(f"terminating_{policy}_{case}.yaml")
    (n1, out1, m1), (n2, out2, m2) = TERMINATING[policy][case]
    run_flows(cluster, [(n1, "10.0.0.2", "172.30.1.1", 80, out1, m1),
                        (n2, EXTERNAL_CLIENT, "1.2.3.4", 80, out2, m2)])
    run_flows(without_slices(cluster), [
        ("pod to clusterIP after endpoints deleted", "10.0.0.2", "172.30.1.1", 80, "REJECT", False),
        ("external to LB after endpoints deleted", EXTERNAL_CLIENT, "1.2.3.4", 80, "REJECT", False),
    ])


def test_cluster_ips_check_rejects_unknown_ports_and_drops_unallocated_addresses():
    # The cluster-ips-check chain (setupNFTables): a cluster IP's port no Service has is
    # REJECTed, an address of the ServiceCIDR no Service has is DROPped; from a pod
    # (filter-forward) and from the node itself (filter-output) alike.
    cluster = nft("overall.yaml")
    run_flows(cluster, [
        ("pod to a cluster IP's unknown port", "10.0.0.2", "172.30.0.41", 8080, "REJECT", False),
        ("node to a cluster IP's unknown port", NODE_IP, "172.30.0.41", 8080, "REJECT", False),
        ("pod to an unallocated cluster IP", "10.0.0.2", "172.30.0.99", 80, "DROP", False),
        ("node to an unallocated cluster IP", NODE_IP, "172.30.0.99", 80, "DROP", False),
        ("pod to an address outside the ServiceCIDR", "10.0.0.2", "172.31.0.1", 80, "", False),
    ])


def test_session_affinity_returns_to_the_recorded_endpoint():
    # svc5 of TestOverallNFTablesRules: ClientIP affinity, one affinity set per endpoint.
    cluster = nft("overall.yaml")
    text = nft_rules(cluster)
    affinity = nftables.chain_name_base("ns5/svc5/tcp/p80__10.180.0.3/80")
    first = trace.walk(cluster, NODE, "10.0.0.2", "172.30.0.45", 80, rules=text)
    assert any(s["rule"] and "update @affinity-" + affinity in s["rule"] and s["matched"]
               for w in first for s in w.steps)
    again = trace.walk(cluster, NODE, "10.0.0.2", "172.30.0.45", 80, rules=text,
                       recent=[("affinity-" + affinity, "10.0.0.2")])
    hit = [s for w in again for s in w.steps if s["matched"] and s["rule"]
           and f"ip saddr @affinity-{affinity} goto" in s["rule"]]
    assert hit and "session affinity" in hit[0]["note"]


def test_trace_follows_the_cluster_mode_on_the_demo_cluster():
    import k8slab
    cluster = nft_mode(k8slab.demo_cluster())
    t = trace.trace(cluster, "pod/client", "10.96.0.11:80")
    assert t.verdict == "delivered" and len(t.pods()) == 3
    assert any(s["chain"] == "nat-prerouting" for s in t.steps)
    assert any("numgen random mod 3 vmap" in (s["rule"] or "") for s in t.steps)
    # iptables mode leaves an unknown cluster-IP port unrouted; nftables REJECTs it.
    assert trace.trace(cluster, "pod/client", "10.96.0.11:81").verdict == "rejected"
    assert trace.trace(k8slab.demo_cluster(), "pod/client", "10.96.0.11:81").verdict == "unrouted"


def test_service_cidrs_follow_the_writer():
    # The unallocated-address DROP uses the ServiceCIDRs given to the writer.
    cluster = nft("overall.yaml")
    n = cluster.node(NODE)
    text = nftables.write(cluster, n, service_ports(cluster, n), ("172.30.0.0/16", "172.50.0.0/16"))
    assert "ip daddr { 172.30.0.0/16,172.50.0.0/16 } drop" in text
    assert SERVICE_CIDRS == ("172.30.0.0/16",)


@pytest.mark.parametrize("dial", ["10.96.0.11:80", "10.96.0.11:81", "10.96.0.99:80", "10.96.0.12:80",
                                  "192.0.2.11:30080", "192.0.2.11:31999", "203.0.113.10:80"])
@pytest.mark.parametrize("client", ["pod/client", "node/node-a"])
def test_diagnose_symptom_follows_the_trace_in_nftables_mode(client, dial):
    # diagnose says what the client sees; in nftables mode that is what the nft walk ends in.
    import k8slab
    from k8slab import diagnose
    cluster = nft_mode(k8slab.demo_cluster())
    t = trace.trace(cluster, client, dial)
    symptom = diagnose.diagnose(cluster, client, dial).symptom
    want = {"delivered": "ok", "rejected": "connection refused", "dropped": "timeout",
            "unrouted": "timeout"}[t.verdict]
    assert symptom == want, (t.verdict, symptom)


def test_simulate_and_draw_follow_the_mode():
    import k8slab
    from k8slab import manifests, proxy, simulate
    from k8slab.draw import draw
    demo = k8slab.demo_cluster()
    cluster = nft_mode(demo)
    sim = simulate.simulate(cluster.route(client="pod/client", service="web"), requests=300, seed=1)
    assert sim.mode == "nftables" and any("numgen random mod" in n for n in sim.notes)
    # A Local policy's route names local-... chains in nftables mode; the picture is the same.
    for c in (demo, cluster):
        local = manifests.with_service_type(c, c.service("web-lb"), "LoadBalancer", external_traffic_policy="Local")
        r = local.route(client="internet", service="web-lb")
        chains = {h["chain"] for h in r.to_dict()["hops"] if h["kind"] == "service"}
        assert all(ch.startswith("local-" if c is cluster else "KUBE-SVL-") for ch in chains), chains
    pictures = [draw(manifests.with_service_type(c, c.service("web-lb"), "LoadBalancer",
                                                 external_traffic_policy="Local")
                     .route(client="internet", service="web-lb")).source for c in (demo, cluster)]
    assert pictures[0] == pictures[1]
    assert proxy.with_mode(cluster, "iptables").proxy.mode == "iptables"
