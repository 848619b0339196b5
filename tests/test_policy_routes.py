"""Every view follows NetworkPolicy, judged on what the pod sees (issue 20, DESIGN.md "k8slab reach")."""
import pytest
import yaml

import k8slab
from k8slab import dns, policy, routing, trace

NODES = [{"apiVersion": "v1", "kind": "Node", "metadata": {"name": f"node-{c}"},
          "status": {"addresses": [{"type": "InternalIP", "address": f"192.0.2.{11 + i}"}]}}
         for i, c in enumerate("abc")]
CLIENT = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "client", "namespace": "shop", "labels": {"app": "client"}},
          "spec": {"nodeName": "node-a", "containers": [{"name": "c", "image": "i"}]}}
WEB = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
       "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                             "spec": {"containers": [{"name": "c", "image": "i",
                                                      "ports": [{"containerPort": 8080, "name": "http"}]}]}}}}


def svc(**spec):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "http"}], **spec}}


def np(name, **spec):
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": "shop"}, "spec": {"podSelector": {}, **spec}}


def cluster(*docs):
    return k8slab.Cluster.from_yaml("\n---\n".join(yaml.safe_dump(d) for d in [*NODES, CLIENT, WEB, *docs]))


WEB_FROM_OFFICE = np("web-from-office", podSelector={"matchLabels": {"app": "web"}},
                     ingress=[{"from": [{"ipBlock": {"cidr": "198.51.100.0/24"}}]}])


def test_snat_hides_the_office_from_an_ipblock_under_cluster_policy():
    c = cluster(svc(type="LoadBalancer"), WEB_FROM_OFFICE)
    r = c.route("laptop", "web", namespace="shop")
    # Each pod gets only what its own node forwards: 1/3 of its 1/3 (the own-node rule).
    assert r.code == "ok"
    assert [round(e.probability, 6) for e in r.endpoints] == [round(1 / 9, 6)] * 3
    assert "SNAT" in r.reason and "67% of new connections time out" in r.reason


def test_local_policy_keeps_the_client_address_and_the_ipblock_admits_it():
    c = cluster(svc(type="LoadBalancer", externalTrafficPolicy="Local"), WEB_FROM_OFFICE)
    r = c.route("laptop", "web", namespace="shop")
    assert r.code == "ok" and sum(e.probability for e in r.endpoints) == pytest.approx(1)
    assert not any(e.blocked_by for e in r.endpoints)


def test_ingress_is_judged_after_dnat_on_the_target_port():
    # A rule naming the Service port (80) never matches: the pod receives on 8080.
    c = cluster(svc(), np("only-80", podSelector={"matchLabels": {"app": "web"}}, ingress=[{"ports": [{"port": 80}]}]))
    r = c.route("pod/shop/client", "web", namespace="shop", entry="ClusterIP")
    assert r.code == "policy-denied" and not r.reachable
    assert [e.blocked_by for e in r.endpoints] == [("shop/only-80",)] * 3
    assert [e.probability for e in r.endpoints] == [0, 0, 0]
    ok = cluster(svc(), np("only-8080", podSelector={"matchLabels": {"app": "web"}}, ingress=[{"ports": [{"port": 8080}]}]))
    assert ok.route("pod/shop/client", "web", namespace="shop", entry="ClusterIP").code == "ok"


def test_egress_is_judged_on_the_pod_never_the_cluster_ip():
    c0 = cluster(svc())
    cip = c0.service("web", "shop").cluster_ip
    c = cluster(svc(clusterIP=cip), np("to-cluster-ip", podSelector={"matchLabels": {"app": "client"}},
                                       egress=[{"to": [{"ipBlock": {"cidr": f"{cip}/32"}}]}]))
    r = c.route("pod/shop/client", "web", namespace="shop", entry="ClusterIP")
    assert r.code == "policy-denied"
    assert "egress of shop/client" in r.reason


def test_route_json_lists_blocked_endpoints():
    c = cluster(svc(), np("deny", policyTypes=["Ingress"]))
    d = c.route("pod/shop/client", "web", namespace="shop", entry="ClusterIP").to_dict()
    assert d["code"] == "policy-denied" and d["reachable"] is False
    assert {e["probability"] for e in d["endpoints"]} == {0}
    assert all(e["blocked_by"] == ["shop/deny"] for e in d["endpoints"])


DENY_EGRESS = np("default-deny-egress", policyTypes=["Egress"])
ALLOW_DNS = np("allow-dns", policyTypes=["Egress"], egress=[{
    "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
    "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}])


def test_default_deny_egress_breaks_dns_the_lookup_times_out():
    c = cluster(svc(), DENY_EGRESS)
    r = c.route("pod/shop/client", "web", namespace="shop")          # by name, as a pod dials
    assert r.code == "policy-denied" and r.entry is None
    assert [h["kind"] for h in r.hops] == ["client"]
    assert "times out" in r.reason and "not even NXDOMAIN" in r.reason
    assert r.dns["rcode"] == "TIMEOUT"
    named = c.route("pod/shop/client", "web", namespace="shop", name="web")
    assert named.code == "policy-denied" and named.dns["rcode"] == "TIMEOUT"
    found = dns.lookup(c, "pod/shop/client", "web", "A", "shop")
    assert found.rcode == "TIMEOUT" and [t.rcode for t in found.tried] == ["TIMEOUT"]
    assert "default-deny-egress" in found.note


def test_allowing_dns_moves_the_failure_to_the_connection():
    c = cluster(svc(), DENY_EGRESS, ALLOW_DNS)
    assert dns.lookup(c, "pod/shop/client", "web", "A", "shop").rcode == "NOERROR"
    r = c.route("pod/shop/client", "web", namespace="shop")
    assert r.code == "policy-denied" and r.entry == "ClusterIP"       # the lookup works, the connection not
    assert r.dns is not None


def test_udp_only_dns_is_enough_for_the_resolver():
    udp = np("dns-udp", policyTypes=["Egress"], egress=[{"ports": [{"port": 53, "protocol": "UDP"}]}])
    tcp = np("dns-tcp", policyTypes=["Egress"], egress=[{"ports": [{"port": 53, "protocol": "TCP"}]}])
    assert policy.dns_decision(cluster(svc(), DENY_EGRESS, udp), cluster(svc()).pod("client", "shop")) is None
    c = cluster(svc(), DENY_EGRESS, tcp)
    assert policy.dns_decision(c, c.pod("client", "shop")) is not None


def test_named_dns_ports_match_corednss_container_ports():
    named = np("dns-named", policyTypes=["Egress"], egress=[{"ports": [{"port": "dns", "protocol": "UDP"}]}])
    c = cluster(svc(), DENY_EGRESS, named)
    assert policy.dns_decision(c, c.pod("client", "shop")) is None


def test_trace_drops_what_route_blocks():
    c = cluster(svc(), np("deny", policyTypes=["Ingress"]))
    cip = c.service("web", "shop").cluster_ip
    t = trace.trace(c, "pod/shop/client", f"{cip}:80")
    assert t.verdict == "dropped"
    assert {b.verdict for b in t.branches} == {"dropped"}
    assert all(b.to_dict()["blocked_by"] == ["shop/deny"] for b in t.branches)


def test_trace_by_name_with_dns_blocked_says_the_lookup_times_out():
    c = cluster(svc(), DENY_EGRESS)
    with pytest.raises(trace.DialError, match="lookup times out"):
        trace.trace(c, "pod/shop/client", "web:80")


def test_traffic_from_the_pods_own_node_is_always_allowed():
    c = cluster(svc(), np("deny", policyTypes=["Ingress"]))
    web = [p for p in c.pods if p.labels.get("app") == "web"]
    for node in c.nodes:
        r = c.route(f"node/{node.name}", "web", namespace="shop", entry="ClusterIP")
        open_ = {e.endpoint.pod for e in r.endpoints if not e.blocked_by}
        assert open_ == {p.name for p in web if p.node == node.name}


def test_draw_marks_the_policy_where_the_packet_stops():
    c = cluster(svc(), np("deny", policyTypes=["Ingress"]))
    src = k8slab.draw(c.route("pod/shop/client", "web", namespace="shop", entry="ClusterIP")).source
    assert src.count("NetworkPolicy shop/deny\"") == 3 and src.count("✕ dropped by") == 3
    dns_src = k8slab.draw(cluster(svc(), DENY_EGRESS).route("pod/shop/client", "web", namespace="shop")).source
    assert "DNS lookup times out: NetworkPolicy drops it" in dns_src


def test_lockdown_what_if():
    c = cluster(svc())
    web = c.service("web", "shop")
    assert policy.lockdown(c, "shop", "none", web.selector) is c
    denied = policy.lockdown(c, "shop", "default-deny", web.selector)
    assert policy.lockdown(c, "shop", "default-deny", web.selector) is denied       # the same copy
    r = denied.route("pod/shop/client", "web", namespace="shop")
    assert r.code == "policy-denied" and r.dns["rcode"] == "TIMEOUT"
    assert denied.route("laptop", "web", namespace="shop", entry="NodePort").code in ("not-exposed", "policy-denied")
    allowed = policy.lockdown(c, "shop", "default-deny + allow", web.selector)
    assert allowed.route("pod/shop/client", "web", namespace="shop").code == "ok"
    assert not c.policies                                      # the cluster given is never changed


def test_the_explorer_switch_locks_the_namespace_and_why_follows():
    from k8slab.widgets import Explorer
    c = cluster(svc())
    ex = Explorer(c, "web", "shop")
    ex.set(client="pod/shop/client")
    assert ex.route.code == "ok"
    ex.set(network_policy="default-deny")
    assert ex.route.code == "policy-denied"
    assert "egress-blocks-dns" in ex._why.value or "network-policy" in ex._why.value
    ex.set(network_policy="default-deny + allow")
    assert ex.route.code == "ok"
    ex.set(network_policy="none")
    assert ex.route.code == "ok" and not ex.cluster.policies


def test_diagnose_a_pod_address_names_the_policy():
    from k8slab.diagnose import diagnose
    c = cluster(svc(), np("deny", policyTypes=["Ingress"]))
    ip = c.pod("client", "shop").ip
    web = next(p for p in c.pods if p.labels.get("app") == "web")
    r = diagnose(c, "pod/shop/client", f"{web.ip}:8080")
    assert not r.works and r.symptom == "timeout"
    assert "network-policy-blocks" in r.codes
    assert [ch.id for ch in r.checks][:3] == ["dns", "service", "network-policy"]
    assert ip


def test_a_huge_except_list_is_quick_and_exact():
    import time
    excepts = [f"10.{i // 256}.{i % 256}.0/24" for i in range(20_000)]      # 10.0.0.0 - 10.78.31.255
    big = np("web-big-block", podSelector={"matchLabels": {"app": "web"}},
             ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": excepts}}]}])
    c = cluster(svc(), big)
    t = time.perf_counter()
    m = policy.matrix(c, 8080)
    assert time.perf_counter() - t < 5
    client = m.pods.index("shop/client")
    # client (10.244.x.x) is inside 10.0.0.0/8 and outside every except: admitted.
    assert all(m.allowed[client][j] for j, name in enumerate(m.pods) if "web" in name)
    web = c.pod(next(n.split("/")[1] for n in m.pods if "web" in n), "shop")
    d = policy.decide(c, src=None, dst=web, port=8080, seen_ip="10.1.2.3")
    assert not d.allowed                                   # 10.1.2.0/24 is an except
