"""route and trace never disagree: one packet through the rules says what the route says.

Generated clusters (several nodes, pods ready / terminating / not ready, hostNetwork pods,
every Service type, both traffic policies, session affinity, loadBalancerSourceRanges,
external IPs, hand-written EndpointSlices) are built from YAML with manifests.load_texts;
for every client x Service x way in, `routing.route` and `trace.trace` (which reads only
the rules `proxy.rules` prints) must give the same reachability, the same pods with the
same probabilities (exactly), the same source address seen by the pod, and the same
refused-vs-timeout.

`K8SLAB_PROPERTY_EXAMPLES` sets the number of clusters (default 200, up to eight cases each);
benchmarks/trace.py checks every combination of generated clusters, 10,000 cases.
"""

from __future__ import annotations

import os
from fractions import Fraction

import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from k8slab import manifests, routing, trace

EXAMPLES = int(os.environ.get("K8SLAB_PROPERTY_EXAMPLES", "200"))
PER_CLUSTER = 8

#: route's code -> the trace verdicts that mean the same to the client (not-exposed: no way
#: to the pods at all, unrouted; source-blocked: dropped by loadBalancerSourceRanges; both
#: time out).
VERDICT_OF = {"ok": {"delivered"}, "no-endpoints": {"rejected"}, "no-local-endpoints": {"dropped"},
              "not-exposed": {"unrouted"}, "source-blocked": {"dropped"}, "node-port-closed": {"rejected"},
              "policy-denied": {"dropped"}}

#: NetworkPolicies a generated cluster may carry (issue 20): both directions, pod and namespace
#: selectors, named ports, ipBlocks that see a node's address after SNAT or the client's.
POLICY_SPECS = [
    {"podSelector": {}, "policyTypes": ["Ingress"]},
    {"podSelector": {"matchLabels": {"app": "a"}},
     "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "b"}}}], "ports": [{"port": 8080}]}]},
    {"podSelector": {"matchLabels": {"app": "a"}}, "ingress": [{"from": [{"ipBlock": {"cidr": "198.51.100.0/24"}}]}]},
    {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "192.0.2.0/24", "except": ["192.0.2.12/32"]}}],
                                     "ports": [{"port": "http"}]}]},
    {"podSelector": {"matchLabels": {"app": "b"}}, "policyTypes": ["Egress"]},
    {"podSelector": {}, "egress": [{"to": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "a"}}}],
                                    "ports": [{"port": "http", "protocol": "TCP"}]}]},
]

NODE_NAMES = ("node-a", "node-b", "node-c", "node-d")
OUTSIDE = ("laptop", "other-cluster", "internet")


@st.composite
def clusters(draw, mode="iptables"):
    """YAML text of a small cluster whose kube-proxy runs in `mode`."""
    proxy_conf = {"apiVersion": "kubeproxy.config.k8s.io/v1alpha1", "kind": "KubeProxyConfiguration",
                  "mode": mode, "clusterCIDR": "10.244.0.0/16"}
    setting = draw(st.sampled_from(["default"] * 6 + ["masquerade-all", "no-local-detector"]))
    if setting == "masquerade-all":
        proxy_conf["iptables"] = {"masqueradeAll": True}
    elif setting == "no-local-detector":
        del proxy_conf["clusterCIDR"]
    if draw(st.integers(0, 3)) == 0:
        # issue 23.3 (proxier.go syncProxyRules): node-port jumps only for listed node IPs
        proxy_conf["nodePortAddresses"] = draw(st.sampled_from(
            [["192.0.2.11/32"], ["192.0.2.12/31"], ["10.0.0.0/8"], ["primary"], ["127.0.0.0/8"],
             ["192.0.2.0/24"]]))
    docs = [proxy_conf]
    n_nodes = draw(st.integers(1, 4))
    for i in range(n_nodes):
        labels = {"topology.kubernetes.io/zone": f"zone-{i % 2}"}
        if i and draw(st.integers(0, 7)) == 0:
            # cloud-provider nodeIncludedPredicate: strconv.ParseBool decides ("false" keeps it)
            labels["node.kubernetes.io/exclude-from-external-load-balancers"] = draw(
                st.sampled_from(["", "true", "false", "maybe", "0"]))
        node = {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": NODE_NAMES[i], "labels": labels},
                "status": {"addresses": [{"type": "InternalIP", "address": f"192.0.2.{11 + i}"}]}}
        state = draw(st.sampled_from(["ok"] * 5 + ["not-ready", "deleting", "autoscaler-taint"])) if i else "ok"
        if state == "not-ready":            # stays a load-balancer target since KEP-3458
            node["status"]["conditions"] = [{"type": "Ready", "status": "False"}]
        elif state == "deleting":
            node["metadata"]["deletionTimestamp"] = "2026-12-01T00:00:00Z"
        elif state == "autoscaler-taint":
            node["spec"] = {"taints": [{"key": "ToBeDeletedByClusterAutoscaler", "value": "1700000000",
                                        "effect": "NoSchedule"}]}
        docs.append(node)
    pod_ips = []
    for j in range(draw(st.integers(0, 6))):
        node = draw(st.integers(0, n_nodes - 1))
        host = draw(st.booleans()) if j % 3 == 2 else False
        state = draw(st.sampled_from(["ready", "ready", "not-ready", "terminating", "terminating-serving"]))
        ip = f"192.0.2.{11 + node}" if host else f"10.244.{node + 1}.{j + 2}"
        app = draw(st.sampled_from(["a", "b"]))
        named = draw(st.booleans())
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": f"p{j}", "labels": {"app": app}},
               "spec": {"nodeName": NODE_NAMES[node], "hostNetwork": host,
                        "containers": [{"name": "c", "image": "x",
                                        "ports": [{"name": "http" if named else "web",
                                                   "containerPort": 8080 + j if host else 8080}]}]},
               "status": {"phase": "Running", "podIP": ip,
                          "conditions": [{"type": "Ready",
                                          "status": "True" if state == "ready" else "False"}]}}
        if state.startswith("terminating"):
            pod["metadata"]["deletionTimestamp"] = "2026-12-01T00:00:00Z"
        docs.append(pod)
        pod_ips.append((f"p{j}", ip, NODE_NAMES[node], state))
    for k in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["ClusterIP", "NodePort", "LoadBalancer", "ClusterIP", "headless",
                                     "ExternalName"]))
        if kind in ("headless", "ExternalName"):
            # No kube-proxy rule: route answers by DNS, trace has no address to walk; they
            # stay in the cluster so that every other Service's rules are written beside them.
            spec = ({"clusterIP": "None", "selector": {"app": "a"}, "ports": [{"port": 80}]}
                    if kind == "headless" else {"type": "ExternalName", "externalName": "db.example.com"})
            docs.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"s{k}"}, "spec": spec})
            continue
        spec = {"type": kind}
        handwritten = draw(st.integers(0, 5)) == 0
        if not handwritten:
            spec["selector"] = {"app": draw(st.sampled_from(["a", "b"]))}
        protocol = draw(st.sampled_from(["TCP", "TCP", "UDP"]))
        target = draw(st.sampled_from([8080, "http"]))
        spec["ports"] = [{"name": "http", "port": 80, "targetPort": target, "protocol": protocol}]
        if draw(st.booleans()):
            spec["ports"].append({"name": "alt", "port": 81, "targetPort": 8080, "protocol": "TCP"})
        if kind != "ClusterIP" and draw(st.booleans()):
            spec["externalTrafficPolicy"] = "Local"
        if draw(st.integers(0, 3)) == 0:
            spec["internalTrafficPolicy"] = "Local"
        if draw(st.integers(0, 3)) == 0:
            spec["sessionAffinity"] = "ClientIP"
        if draw(st.integers(0, 5)) == 0:
            spec["trafficDistribution"] = "PreferClose"      # zone hints from the controller
        if kind == "LoadBalancer" and draw(st.integers(0, 5)) == 0:
            spec["allocateLoadBalancerNodePorts"] = False
        if kind == "LoadBalancer" and draw(st.integers(0, 5)) == 0:
            spec["loadBalancerClass"] = "example.com/unserved"      # stays <pending>
        if kind == "LoadBalancer" and draw(st.integers(0, 2)) == 0:
            spec["loadBalancerSourceRanges"] = [draw(st.sampled_from(
                ["198.51.100.0/24", "198.51.100.10/32", "192.0.2.0/24", "0.0.0.0/0"]))]
        if draw(st.integers(0, 3)) == 0:
            spec["externalIPs"] = [f"192.0.2.{200 + k}"]
        service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"s{k}"}, "spec": spec}
        if kind == "LoadBalancer" and draw(st.integers(0, 4)) == 0:
            # A load balancer that proxies (ipMode: Proxy), given as a snapshot's status.
            service["status"] = {"loadBalancer": {"ingress": [{"ip": f"203.0.113.{50 + k}", "ipMode": "Proxy"}]}}
        docs.append(service)
        if handwritten and pod_ips:
            chosen = draw(st.lists(st.sampled_from(pod_ips), max_size=3, unique=True))
            endpoints = []
            for name, ip, node, state in chosen:
                endpoints.append({"addresses": [ip], "nodeName": node,
                                  "targetRef": {"kind": "Pod", "name": name},
                                  "conditions": {"ready": state == "ready",
                                                 "serving": state in ("ready", "terminating-serving"),
                                                 "terminating": state.startswith("terminating")}})
            docs.append({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                         "metadata": {"name": f"s{k}-hand",
                                      "labels": {"kubernetes.io/service-name": f"s{k}"}},
                         "addressType": "IPv4",
                         "ports": [{"name": "http", "port": 8080, "protocol": protocol}],
                         "endpoints": endpoints})
    for i in sorted(set(draw(st.lists(st.integers(0, len(POLICY_SPECS) - 1), max_size=2)))):
        docs.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                     "metadata": {"name": f"np{i}"}, "spec": POLICY_SPECS[i]})
    return yaml.safe_dump_all(docs, sort_keys=False)


def dial_for(cluster, r, via):
    """The address a client dials for a route's way in."""
    svc, sp = r.service, r.port
    if r.entry == "ClusterIP":
        return f"{svc.cluster_ip}:{sp.port}"
    if r.entry == "NodePort":
        return f"{via.address}:{sp.node_port}"
    if r.entry == "LoadBalancer":
        return f"{svc.load_balancer_ingress[0]}:{sp.port}"
    if r.entry == "ExternalIP":
        return f"{svc.external_ips[0]}:{sp.port}"
    return None


def clients_of(cluster):
    out = [f"pod/{p.name}" for p in cluster.pods if p.ip and p.node]
    out += [f"node/{n.name}" for n in cluster.nodes]
    return out + list(OUTSIDE)


def source_of(cluster, client):
    who = routing.parse_client(cluster, client)
    if who.kind == "pod" and not who.pod.host_network:
        return who.pod.ip
    if who.inside:
        return who.node.address
    return trace.CLIENT_ADDRESSES[who.kind]


def check_one(cluster, client, svc, sp, entry, via):
    r = routing.route(cluster, client=client, service=svc.name, namespace=svc.namespace,
                      port=sp.port, entry=entry, via_node=via.name)
    if r.entry is None or r.code in ("lb-pending", "no-such-port") or r.entry == "DNS":
        return None
    dial = dial_for(cluster, r, via)
    t = trace.trace(cluster, client, dial, protocol=sp.protocol.lower(), via_node=via.name)
    where = f"{client} -> {svc.name}:{sp.port} by {r.entry} ({dial}), route code {r.code}"
    verdicts = {b.verdict for b in t.branches}
    want = {e.endpoint.ip_port: Fraction(e.probability).limit_denominator(10_000) for e in r.endpoints
            if not e.blocked_by}
    # What a policy drops, both name the same pods (route: blocked_by and probability 0).
    blocked = {e.endpoint.ip_port for e in r.endpoints if e.blocked_by}
    dropped = {b.dst for b in t.branches if b.blocked_by} - set(t.pods())
    assert blocked == dropped, f"{where}: route blocks {blocked}, trace drops {dropped}"
    if r.code == "ok" and sum(want.values()) < 1 and want:
        # A load balancer failing open: the share of nodes with nothing to offer is lost there.
        assert "delivered" in verdicts and len(verdicts) == 2, f"{where}: trace ends {sorted(verdicts)}"
    else:
        assert len(verdicts) == 1 and verdicts <= VERDICT_OF[r.code], \
            f"{where}: trace ends {sorted(verdicts)}, route says {r.code}"
    if r.code != "ok":
        return r.code
    got = t.pods()
    assert got == want, f"{where}: trace {got} route {want}"
    # The source each pod sees: the client's own address, or the address of the node whose
    # rules masqueraded it.
    src = source_of(cluster, client)
    seen: dict[str, set] = {}
    for b in t.branches:
        if b.verdict != "delivered":
            continue
        entered = cluster.node(b.entered)
        if b.src_seen in r.service.load_balancer_ingress and r.service.load_balancer_ip_mode == "Proxy":
            seen.setdefault(b.dst, []).append({"load-balancer"})
            continue
        if b.src_seen == src:
            mark = {"client", "node"} if entered is not None and entered.address == src else {"client"}
        else:
            assert entered is not None and b.src_seen == entered.address, \
                f"{where}: {b.pod} sees {b.src_seen}, neither the client's nor {b.entered}'s address"
            mark = {"node"}
        seen.setdefault(b.dst, []).append(mark)
    for e in r.endpoints:
        if e.blocked_by:
            continue
        marks = seen[e.endpoint.ip_port]
        # Each trace branch must be one the route names, and the route must name no more.
        assert all(m & e.seen for m in marks), f"{where}: {e.endpoint.pod} sees {marks}, route says {set(e.seen)}"
        assert e.seen <= set().union(*marks), f"{where}: {e.endpoint.pod} sees {marks}, route says {set(e.seen)}"
    return "ok"


def combinations(cluster):
    """Every client x Service port x way in (None: the client's own default) x via node."""
    vias = sorted({cluster.nodes[0].name, cluster.nodes[-1].name})
    for client in clients_of(cluster):
        for svc in cluster.services:
            for sp in svc.ports:
                for entry in (None,) + routing.ENTRIES:
                    for via in vias:
                        yield client, svc, sp, entry, cluster.node(via)


def check_cluster(text) -> int:
    """Check every combination of one cluster; the number of cases checked."""
    cluster = manifests.load_texts([("generated.yaml", text)])
    n = 0
    for combo in combinations(cluster):
        check_one(cluster, *combo)
        n += 1
    return n


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clusters(), st.data())
def test_route_and_trace_agree(text, data):
    # A few hundred clusters, a sample of their combinations each (benchmarks/trace.py
    # checks every combination of many more).
    cluster = manifests.load_texts([("generated.yaml", text)])
    combos = list(combinations(cluster))
    if not combos:
        return                                  # only DNS Services: nothing to walk
    for i in data.draw(st.lists(st.integers(0, len(combos) - 1), min_size=1, max_size=PER_CLUSTER,
                                unique=True), label="cases"):
        check_one(cluster, *combos[i])


@settings(max_examples=max(EXAMPLES // 2, 1), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clusters(mode="nftables"), st.data())
def test_route_and_trace_agree_in_nftables_mode(text, data):
    # The same property with kube-proxy in nftables mode: trace walks table ip kube-proxy
    # (verdict maps, numgen, goto/jump, reject, drop); route reads the same decisions.
    cluster = manifests.load_texts([("generated.yaml", text)])
    assert cluster.proxy.mode == "nftables"
    combos = list(combinations(cluster))
    if not combos:
        return
    for i in data.draw(st.lists(st.integers(0, len(combos) - 1), min_size=1, max_size=PER_CLUSTER,
                                unique=True), label="cases"):
        case = combos[i]
        r = check_one(cluster, *case)
        if r is not None:
            hop = next((h for h in routing.route(cluster, client=case[0], service=case[1].name,
                                                 namespace=case[1].namespace, port=case[2].port,
                                                 entry=case[3], via_node=case[4].name).to_dict()["hops"]
                        if h["kind"] == "service"), None)
            assert hop is None or hop["chain"].startswith(("service-", "local-")), hop
