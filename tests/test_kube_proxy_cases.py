"""The cases issue 11 found the model getting wrong, each checked against Kubernetes' source.

Each test names the source it follows; where it matters, `trace` (which reads only the
rules) is asked too, so route and rules cannot drift apart again.
"""

import pytest

from k8slab import proxy, routing, trace
from k8slab.errors import K8slabError
from support import cluster_from

BASE = """
    apiVersion: kubeproxy.config.k8s.io/v1alpha1
    kind: KubeProxyConfiguration
    clusterCIDR: 10.244.0.0/16
    ---
    apiVersion: v1
    kind: Node
    metadata: {name: node-a}
    status: {addresses: [{type: InternalIP, address: 192.0.2.11}]}
    ---
    apiVersion: v1
    kind: Node
    metadata: {name: node-b}
    status: {addresses: [{type: InternalIP, address: 192.0.2.12}]}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: web-1, labels: {app: web}}
    spec: {nodeName: node-a, containers: [{name: c, image: x, ports: [{name: http, containerPort: 8080}]}]}
    status: {phase: Running, podIP: 10.244.1.5, conditions: [{type: Ready, status: "True"}]}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: web-2, labels: {app: web}}
    spec: {nodeName: node-b, containers: [{name: c, image: x, ports: [{name: http, containerPort: 8080}]}]}
    status: {phase: Running, podIP: 10.244.2.5, conditions: [{type: Ready, status: "True"}]}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: agent}
    spec: {nodeName: node-b, hostNetwork: true, containers: [{name: c, image: x}]}
    status: {phase: Running, podIP: 192.0.2.12, conditions: [{type: Ready, status: "True"}]}
"""


def cluster(*docs: str):
    return cluster_from(BASE + "".join("\n    ---\n    " + d for d in docs))


def service(spec: str, name: str = "web", status: str = "") -> str:
    return (f"apiVersion: v1\n    kind: Service\n    metadata: {{name: {name}}}\n    spec: {spec}"
            + (f"\n    status: {status}" if status else ""))


def seen(r):
    return {e.endpoint.pod: set(e.seen) for e in r.endpoints}


def pods(t):
    out = {}
    for b in t.branches:
        if b.verdict == "delivered":
            out[b.pod] = out.get(b.pod, 0) + b.chance
    return out


# -- hairpin ----------------------------------------------------------------------------------

def test_a_pod_reaching_itself_through_its_service_is_masqueraded():
    # pkg/proxy/iptables/proxier.go: every KUBE-SEP chain starts with
    # `-s <endpoint IP> -j KUBE-MARK-MASQ` ("Handle traffic that loops back to the originator
    # with SNAT"), so the pod's own connection comes back from its node's address.
    c = cluster(service("{selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}"))
    r = routing.route(c, "pod/web-1", "web")
    assert r.reachable and seen(r) == {"web-1": {"node"}, "web-2": {"client"}}
    assert not r.source_ip_preserved and "hairpin" in r.reason
    t = trace.trace(c, "pod/web-1", f"{c.service('web').cluster_ip}:80")
    assert {b.pod: b.src_seen for b in t.branches} == {"web-1": "192.0.2.11", "web-2": "10.244.1.5"}


# -- hostNetwork sources --------------------------------------------------------------------------

def test_a_hostnetwork_pod_is_not_pod_traffic_for_the_local_detector():
    # proxier.go's local detector is clusterCIDR (detectLocalMode: ClusterCIDR): a hostNetwork
    # pod sends from its node's address, outside it, so the cluster IP's `! -s clusterCIDR
    # -j KUBE-MARK-MASQ` marks it, like any node process.
    c = cluster(service("{selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}"))
    r = routing.route(c, "pod/agent", "web")
    assert r.reachable and set().union(*seen(r).values()) == {"node"}
    assert not r.source_ip_preserved


def test_a_hostnetwork_pod_to_a_local_policy_node_port_is_outside_traffic():
    # KUBE-EXT's "pod traffic for ... external destinations" rule matches `-s clusterCIDR`
    # only: a hostNetwork pod on node-b dialing node-a's node port is treated like any
    # outside client there (node-a's own pods, source kept), not sent cluster-wide.
    c = cluster(service("{type: NodePort, externalTrafficPolicy: Local, selector: {app: web}, "
                        "ports: [{port: 80, targetPort: 8080, nodePort: 30080}]}"))
    r = routing.route(c, "pod/agent", "web", entry="NodePort", via_node="node-a")
    assert [e.endpoint.pod for e in r.endpoints] == ["web-1"] and r.source_ip_preserved
    assert pods(trace.trace(c, "pod/agent", "192.0.2.11:30080")) == {"web-1": 1}
    # A real pod on node-b is pod traffic: cluster-wide.
    real = cluster(service("{type: NodePort, externalTrafficPolicy: Local, selector: {app: web}, "
                           "ports: [{port: 80, targetPort: 8080, nodePort: 30080}]}"))
    r2 = routing.route(real, "pod/web-2", "web", entry="NodePort", via_node="node-a")
    assert {e.endpoint.pod for e in r2.endpoints} == {"web-1", "web-2"}


# -- loadBalancerSourceRanges ---------------------------------------------------------------------

LB = "{{type: LoadBalancer, selector: {{app: web}}, {extra}ports: [{{port: 80, targetPort: 8080, nodePort: 30080}}]}}"


def test_load_balancer_source_ranges_keep_other_clients_out():
    # proxier.go: KUBE-FW-* jumps to KUBE-EXT only for `-s <range>`; the rest falls through
    # and the filter table's KUBE-PROXY-FIREWALL drops what is still addressed to the load
    # balancer: a timeout. The node port is not filtered.
    c = cluster(service(LB.format(extra="loadBalancerSourceRanges: [198.51.100.10/32], ")))
    laptop = routing.route(c, "laptop", "web")                       # 198.51.100.10
    internet = routing.route(c, "internet", "web")                   # 198.51.100.30
    assert laptop.reachable
    assert not internet.reachable and internet.code == "source-blocked"
    assert "loadBalancerSourceRanges" in internet.reason and internet.entry == "LoadBalancer"
    lb = c.service("web").load_balancer_ingress[0]
    assert trace.trace(c, "internet", f"{lb}:80").verdict == "dropped"
    # Pods inside the cluster are sources like any other for the load balancer's IP.
    assert routing.route(c, "pod/web-1", "web", entry="LoadBalancer").code == "source-blocked"
    assert routing.route(c, "laptop", "web", entry="NodePort").reachable


@pytest.mark.parametrize("ranges", ["[0.0.0.0/0]", "[198.51.100.10/32, 0.0.0.0/0]", '[" 0.0.0.0/0 "]'])
def test_a_source_range_of_everything_admits_everyone(ranges):
    # issue 23.4. kubernetes/kubernetes PR #132722 (pkg/proxy, merged 2025-07): a zero-masked
    # range is "the same effect as not specifying": the Service port keeps no source ranges,
    # so syncProxyRules' usesFWChain (len(LoadBalancerSourceRanges()) > 0) is false and the
    # load balancer IP jumps straight to KUBE-EXT: no KUBE-FW chain, every source admitted.
    c = cluster(service(LB.format(extra=f"loadBalancerSourceRanges: {ranges}, ")))
    assert routing.route(c, "internet", "web").reachable
    lb = c.service("web").load_balancer_ingress[0]
    assert trace.trace(c, "internet", f"{lb}:80").verdict == "delivered"
    rules = proxy.rules(c, "node-a")
    assert "KUBE-FW-" not in rules and "-s 0.0.0.0/0" not in rules
    assert f"-d {lb} --dport 80 -j KUBE-EXT-" in rules
    for node in ("node-a", "node-b"):
        state = proxy.decide(c, c.service("web"), c.service("web").ports[0], c.node(node))
        assert state.source_ranges == [] and not state.firewall


# -- load balancers that proxy, and ones nobody provides ------------------------------------------

def test_an_ip_mode_proxy_load_balancer_is_not_caught_by_kube_proxy():
    # pkg/proxy/serviceport.go: an ingress IP with ipMode: Proxy is left out of the Service's
    # load-balancer VIPs (KEP-1860), so no rule catches it: pods dialing it go out to the load
    # balancer, which connects to the node ports from its own address.
    c = cluster(service(LB.format(extra=""), status="{loadBalancer: {ingress: [{ip: 203.0.113.99, ipMode: Proxy}]}}"))
    assert c.service("web").load_balancer_ip_mode == "Proxy"
    assert "203.0.113.99" not in proxy.rules(c, "node-a")
    r = routing.route(c, "pod/web-1", "web", entry="LoadBalancer")
    assert r.reachable and all(e.seen == {"node"} for e in r.endpoints)
    assert any(h["kind"] == "node-port" for h in r.hops)
    t = trace.trace(c, "pod/web-1", "203.0.113.99:80")
    assert t.verdict == "delivered" and t.steps[0]["chain"] == "PREROUTING"
    local = cluster(service(LB.format(extra="externalTrafficPolicy: Local, "),
                            status="{loadBalancer: {ingress: [{ip: 203.0.113.99, ipMode: Proxy}]}}"))
    rl = routing.route(local, "internet", "web")
    # Local policy keeps the source kube-proxy sees: the load balancer's, not the client's.
    assert rl.reachable and all(e.seen == {"load-balancer"} for e in rl.endpoints)
    assert not rl.source_ip_preserved


def test_a_load_balancer_class_no_controller_serves_stays_pending():
    # k8s.io/cloud-provider controllers/service: the cloud's service controller skips a
    # Service whose spec.loadBalancerClass is set; that class's own controller would serve it,
    # and this cluster has none: EXTERNAL-IP stays <pending>.
    c = cluster(service(LB.format(extra="loadBalancerClass: example.com/internal, ")))
    svc = c.service("web")
    assert svc.load_balancer_class == "example.com/internal" and svc.load_balancer_ingress == ()
    assert routing.route(c, "internet", "web").code == "lb-pending"
    assert routing.route(c, "laptop", "web").entry == "NodePort"


# -- EndpointSlices kube-proxy ignores, and ones it merges ---------------------------------------

FQDN_SLICE = """apiVersion: discovery.k8s.io/v1
    kind: EndpointSlice
    metadata: {name: db-1, labels: {kubernetes.io/service-name: db}}
    addressType: FQDN
    ports: [{port: 5432}]
    endpoints: [{addresses: [db.example.com]}]"""


def test_fqdn_endpoint_slices_are_ignored_by_kube_proxy():
    # pkg/proxy/endpointslicecache.go takes IPv4 and IPv6 slices only: an FQDN slice gives
    # the Service no endpoint, so the rules REJECT and the route says why.
    c = cluster(service("{ports: [{port: 5432}]}", name="db"), FQDN_SLICE)
    r = routing.route(c, "pod/web-1", "db")
    assert r.code == "no-endpoints" and "FQDN" in r.reason
    assert trace.trace(c, "pod/web-1", f"{c.service('db').cluster_ip}:5432").verdict == "rejected"
    assert '"default/db has no endpoints"' in proxy.rules(c, "node-a")


HAND_SLICE = """apiVersion: discovery.k8s.io/v1
    kind: EndpointSlice
    metadata: {name: web-extra, labels: {kubernetes.io/service-name: web}}
    addressType: IPv4
    ports: [{port: 8080}]
    endpoints: [{addresses: [10.9.9.9]}]"""


def test_a_hand_written_slice_is_merged_beside_the_controllers():
    # The EndpointSlice controller keeps writing its own slices for a Service with a selector,
    # and kube-proxy merges every slice labelled kubernetes.io/service-name=web.
    c = cluster(service("{selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}"), HAND_SLICE)
    r = routing.route(c, "pod/web-1", "web")
    assert sorted(e.endpoint.ip_port for e in r.endpoints) == ["10.244.1.5:8080", "10.244.2.5:8080", "10.9.9.9:8080"]
    # A snapshot's slices are the controller's own: they stand alone.
    snapshot = HAND_SLICE.replace("labels: {kubernetes.io/service-name: web}",
                                  "labels: {kubernetes.io/service-name: web, "
                                  "endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io}")
    c2 = cluster(service("{selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}"), snapshot)
    assert [e.endpoint.ip_port for e in routing.route(c2, "pod/web-1", "web").endpoints] == ["10.9.9.9:8080"]


# -- named ports on native sidecars ---------------------------------------------------------------

def test_a_named_target_port_resolves_on_a_native_sidecar():
    # pkg/api/v1/pod/util.go FindPort: after the app containers, init containers with
    # restartPolicy: Always (native sidecars) are searched for the port name.
    sidecar = """apiVersion: v1
    kind: Pod
    metadata: {name: proxied, labels: {app: mesh}}
    spec:
      nodeName: node-a
      initContainers:
      - {name: proxy, image: x, restartPolicy: Always, ports: [{name: mesh, containerPort: 15001}]}
      - {name: setup, image: x, ports: [{name: setup, containerPort: 9999}]}
      containers: [{name: app, image: x}]
    status: {phase: Running, podIP: 10.244.1.9, conditions: [{type: Ready, status: "True"}]}"""
    c = cluster(sidecar, service("{selector: {app: mesh}, ports: [{port: 80, targetPort: mesh}]}", name="mesh"),
                service("{selector: {app: mesh}, ports: [{port: 80, targetPort: setup}]}", name="setup"))
    assert [e.endpoint.ip_port for e in routing.route(c, "pod/web-1", "mesh").endpoints] == ["10.244.1.9:15001"]
    assert routing.route(c, "pod/web-1", "setup").code == "no-endpoints"     # a plain init container


# -- the client's protocol --------------------------------------------------------------------------

def test_a_tcp_client_to_a_udp_only_port_matches_no_rule():
    c = cluster(service("{selector: {app: web}, ports: [{name: dns, port: 53, targetPort: 8080, protocol: UDP}]}"))
    r = routing.route(c, "pod/web-1", "web", protocol="tcp")
    assert r.code == "no-such-port" and "UDP only" in r.reason and not r.reachable
    assert routing.route(c, "pod/web-1", "web", protocol="UDP").reachable
    assert trace.trace(c, "pod/web-1", f"{c.service('web').cluster_ip}:53", protocol="tcp").verdict == "unrouted"
    both = cluster(service("{selector: {app: web}, ports: [{name: dns, port: 53, targetPort: 8080, protocol: UDP}, "
                           "{name: dns-tcp, port: 53, targetPort: 8080, protocol: TCP}]}"))
    assert routing.route(both, "pod/web-1", "web", port=53, protocol="TCP").port.name == "dns-tcp"
    with pytest.raises(K8slabError, match="protocol"):
        routing.route(c, "pod/web-1", "web", protocol="icmp")


def test_cli_route_takes_the_clients_protocol(capsys, tmp_path):
    import textwrap
    from k8slab.cli import main
    f = tmp_path / "c.yaml"
    f.write_text(textwrap.dedent(BASE + "\n    ---\n    " + service(
        "{selector: {app: web}, ports: [{name: dns, port: 53, targetPort: 8080, protocol: UDP}]}")))
    assert main(["route", str(f), "--service", "web", "--client", "pod/web-1", "--protocol", "tcp"]) == 0
    assert "no-such-port" in capsys.readouterr().out


# -- what the API server refuses at create time ------------------------------------------------------

@pytest.mark.parametrize("spec, message", [
    # pkg/registry/core/service/ipallocator: ErrNotInRange, reported by the storage layer
    ("{clusterIP: 10.0.0.5, ports: [{port: 80}]}",
     "spec.clusterIPs: Invalid value: [\"10.0.0.5\"]: failed to allocate IP 10.0.0.5: the provided IP "
     "(10.0.0.5) is not in the valid range. The range of valid IPs is 10.96.0.0/12"),
    # the range's first address is default/kubernetes's (the API server's own Service)
    ("{clusterIP: 10.96.0.1, ports: [{port: 80}]}",
     "spec.clusterIPs: Invalid value: [\"10.96.0.1\"]: failed to allocate IP 10.96.0.1: provided IP is "
     "already allocated"),
    # pkg/registry/core/service/storage/alloc.go, initIPFamilyFields, on a single-stack cluster
    ("{ipFamilyPolicy: RequireDualStack, ports: [{port: 80}]}",
     "spec.ipFamilyPolicy: Invalid value: \"RequireDualStack\": this cluster is not configured for "
     "dual-stack services"),
    ("{ipFamilies: [IPv6], ports: [{port: 80}]}",
     "spec.ipFamilies[0]: Invalid value: \"IPv6\": not configured on this cluster"),
])
def test_the_api_server_refuses_what_this_cluster_cannot_allocate(spec, message):
    with pytest.raises(K8slabError) as e:
        cluster(service(spec, name="s"))
    assert message in str(e.value)


def test_prefer_dual_stack_on_a_single_stack_cluster_is_accepted():
    c = cluster(service("{ipFamilyPolicy: PreferDualStack, ports: [{port: 80}]}", name="s"))
    assert c.service("s").cluster_ip.startswith("10.96.")


def test_a_snapshot_holds_its_own_kubernetes_service_address():
    kube = service("{clusterIP: 10.96.0.1, ports: [{name: https, port: 443, targetPort: 6443}]}", name="kubernetes")
    c = cluster(kube, service("{ports: [{port: 80}]}", name="s"))
    assert c.service("kubernetes").cluster_ip == "10.96.0.1"


# -- a reply that bypasses the node that DNATed the packet ------------------------------------------

def test_pod_traffic_to_another_nodes_local_node_port_times_out_where_the_reply_bypasses_it():
    # proxier.go: KUBE-EXT's "pod traffic for ... external destinations" (`-s clusterCIDR
    # -j KUBE-SVC-...`) sends it cluster-wide without masquerading. Conntrack undoes the DNAT
    # only on node-a, so a pod elsewhere answers the client directly and the client, which
    # dialed node-a, discards the reply: those connections time out (the kernel harness,
    # tests/kernel, measures the same share).
    c = cluster(service("{type: NodePort, externalTrafficPolicy: Local, selector: {app: web}, "
                        "ports: [{port: 80, targetPort: 8080, nodePort: 30080}]}"),
                """apiVersion: v1
    kind: Pod
    metadata: {name: client}
    spec: {nodeName: node-b, containers: [{name: c, image: x}]}
    status: {phase: Running, podIP: 10.244.2.9, conditions: [{type: Ready, status: "True"}]}""")
    r = routing.route(c, "pod/client", "web", entry="NodePort", via_node="node-a")
    assert r.code == "ok" and [(e.endpoint.pod, e.probability) for e in r.endpoints] == [("web-1", 0.5)]
    assert "times out" in r.reason and any("straight to the client" in why for _, why in r.excluded)
    t = trace.trace(c, "pod/client", "192.0.2.11:30080")
    assert {(b.pod, b.verdict): b.chance for b in t.branches} == {("web-1", "delivered"): 0.5,
                                                                  ("web-2", "dropped"): 0.5}
    # Its own node's node port is fine: the DNAT is undone there.
    assert [e.probability for e in routing.route(c, "pod/client", "web", entry="NodePort",
                                                  via_node="node-b").endpoints] == [0.5, 0.5]
