"""`k8slab rules --mode nftables`: kube-proxy's nftables ruleset, held to kube-proxy's own tests.

The inputs are those of kubernetes/kubernetes pkg/proxy/nftables/proxier_test.go, written as
manifests (tests/fixtures/rules/, shared with the iptables tests: upstream's two test files
build the same Services), and NewFakeProxier's settings: node test-node at 192.168.0.2,
pod CIDR 10.0.0.0/8, ServiceCIDR 172.30.0.0/16, nodePortAddresses 192.168.0.2/32 (which is
also what nftables mode's default, "primary", gives for this node). Expected rulesets are
upstream's, transcribed into tests/fixtures/nftables/.
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import tempfile

import pytest

import k8slab
from k8slab import K8slabError
from k8slab.model import Cluster, ProxyConfig
from k8slab.proxy import nftables, service_ports

from test_rules import load, with_proxy

HERE = pathlib.Path(__file__).parent
EXPECTED = HERE / "fixtures" / "nftables"
SERVICE_CIDRS = ("172.30.0.0/16",)


def nft_rules(cluster: Cluster, node: str = "test-node", cidrs=SERVICE_CIDRS) -> str:
    n = cluster.node(node)
    return nftables.write(cluster, n, service_ports(cluster, n), cidrs)


def nft_mode(cluster: Cluster, **conf) -> Cluster:
    p = cluster.proxy
    fields = dict(mode="nftables", cluster_cidr=p.cluster_cidr, masquerade_all=p.masquerade_all,
                  masquerade_bit=p.masquerade_bit, node_port_addresses=p.node_port_addresses)
    fields.update(conf)
    return with_proxy(cluster, ProxyConfig(**fields))


def lines(text: str) -> list[str]:
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def assert_same_ruleset(expected: str, got: str) -> None:
    """As upstream's assertNFTablesTransactionEqual: the same lines, whatever their order,
    except that each chain's rules keep their order."""
    exp, out = lines(expected), lines(got)
    assert sorted(exp) == sorted(out), "\n".join(
        [f"- {x}" for x in sorted(set(exp) - set(out))] + [f"+ {x}" for x in sorted(set(out) - set(exp))])

    def per_chain(ls):
        chains: dict[str, list[str]] = {}
        for ln in ls:
            m = re.match(r"add rule ip kube-proxy (\S+) ", ln)
            if m:
                chains.setdefault(m.group(1), []).append(ln)
        return chains

    assert per_chain(exp) == per_chain(out)


# ---------------------------------------------------------------------------------------
# Expected rulesets
# ---------------------------------------------------------------------------------------

def test_overall_nftables_rules():
    # TestOverallNFTablesRules (proxier_test.go): six Services, every kind of chain.
    cluster = nft_mode(load("overall.yaml"))
    assert_same_ruleset((EXPECTED / "overall.expected").read_text(), nft_rules(cluster))


def test_the_dump_is_in_knftables_order_so_nft_can_load_it():
    # table, chains, sets, maps, rules, elements: every name is defined before it is used.
    out = lines(nft_rules(nft_mode(load("overall.yaml"))))
    kinds = [ln.split()[1] for ln in out]
    order = ["table", "chain", "set", "map", "rule", "element"]
    assert kinds == sorted(kinds, key=order.index)
    chains = [ln.split()[4] for ln in out if ln.startswith("add chain")]
    assert chains == sorted(chains)


def test_rules_mode_nftables_goes_through_proxy_rules():
    cluster = nft_mode(load("overall.yaml"))
    out = k8slab.proxy.rules(cluster, "test-node", mode="nftables")
    # The cluster says nothing of its ServiceCIDRs: kubeadm's default range.
    assert 'add rule ip kube-proxy cluster-ips-check ip daddr { 10.96.0.0/12 } drop' in out
    assert "numgen random mod 2 vmap" in out


def test_no_endpoints_reject_and_local_drop_verdicts():
    # TestNoEndpointsReject's Service (every way in REJECTs) and svc2 of the overall test
    # (Local policy, no local endpoint: DROP for outside traffic only).
    cluster = nft_mode(load("no_endpoints_reject.yaml"))
    out = nft_rules(cluster)
    assert re.search(r'no-endpoint-services \{ 172\.30\.0\.41 \. tcp \. 80 comment "ns1/svc1:p80" : goto reject-chain \}', out)
    assert re.search(r'no-endpoint-nodeports \{ tcp \. 3001 comment "ns1/svc1:p80" : goto reject-chain \}', out)
    assert not re.search(r"add element ip kube-proxy service-(ips|nodeports) ", out)   # nothing to DNAT to
    assert "add chain ip kube-proxy service-ULMVA6XW" not in out


def test_masquerade_all_and_no_local_detector():
    base = load("overall.yaml")
    out = nft_rules(nft_mode(base, masquerade_all=True))
    assert "add rule ip kube-proxy service-ULMVA6XW-ns1/svc1/tcp/p80 ip daddr 172.30.0.41 jump mark-for-masquerade" in out
    out = nft_rules(nft_mode(base, cluster_cidr=None))
    assert "ip saddr != 10.0.0.0/8" not in out
    assert "short-circuit pod traffic" not in out          # IfLocalNFT needs a detector
    assert "short-circuit local traffic" in out


def test_masquerade_bit_sets_the_mark():
    out = nft_rules(nft_mode(load("overall.yaml"), masquerade_bit=5))
    assert "add rule ip kube-proxy mark-for-masquerade mark set mark or 0x20" in out
    assert "add rule ip kube-proxy masquerading mark and 0x20 == 0 return" in out


def test_node_port_addresses_default_primary_and_match_all():
    base = load("overall.yaml")
    out = nft_rules(nft_mode(base))
    assert "add element ip kube-proxy nodeport-ips { 192.168.0.2 }" in out
    # A loopback block never opens node ports in nftables mode.
    out = nft_rules(nft_mode(base, node_port_addresses=("127.0.0.0/8",)))
    assert "add set ip kube-proxy nodeport-ips" in out and "nodeport-ips {" not in out.split("add element", 1)[-1]
    # 0.0.0.0/0: every local address but loopback (NodePortAddresses.MatchAll); no set.
    out = nft_rules(nft_mode(base, node_port_addresses=("0.0.0.0/0",)))
    assert "nodeport-ips" not in out
    assert ("add rule ip kube-proxy services fib daddr type local ip daddr != 127.0.0.0/8 "
            "meta l4proto . th dport vmap @service-nodeports") in out
    assert ("add rule ip kube-proxy nodeport-endpoints-check ip daddr != 127.0.0.0/8 "
            "meta l4proto . th dport vmap @no-endpoint-nodeports") in out


def test_chain_names_are_kube_proxys():
    # servicePortChainNameBase / servicePortEndpointChainNameBase examples in proxier.go.
    assert nftables.chain_name_base("ns1/svc1/tcp/p80") == "ULMVA6XW-ns1/svc1/tcp/p80"
    assert nftables.chain_name_base("ns1/svc1/tcp/p80__10.180.0.1/80") == "5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80"
    long = nftables.chain_name_base("x" * 300)
    assert len(long) == 240 and long.endswith("...")


def test_unknown_mode_and_node_are_clear_errors():
    cluster = nft_mode(load("overall.yaml"))
    with pytest.raises(K8slabError, match="no node 'nope'"):
        k8slab.proxy.rules(cluster, "nope", mode="nftables")
    with pytest.raises(K8slabError, match="kube-proxy's modes are"):
        k8slab.proxy.rules(cluster, "test-node", mode="nft")


# ---------------------------------------------------------------------------------------
# A real nft loads it (in a network namespace of its own, never the host's ruleset)
# ---------------------------------------------------------------------------------------

def _nft_in_netns(script: str) -> subprocess.CompletedProcess:
    with tempfile.NamedTemporaryFile("w", suffix=".nft", delete=False) as f:
        f.write(script)
        path = f.name
    try:
        return subprocess.run(["unshare", "-n", "sh", "-c", f"nft -f {path} && nft list table ip kube-proxy"],
                              capture_output=True, text=True, timeout=30)
    finally:
        os.unlink(path)


def _can_unshare() -> bool:
    if not shutil.which("nft") or not shutil.which("unshare"):
        return False
    try:
        return subprocess.run(["unshare", "-n", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


needs_nft = pytest.mark.skipif(not _can_unshare() and os.environ.get("K8SLAB_REQUIRE_KERNEL") != "1",
                               reason="needs nft and unshare -n (root); K8SLAB_REQUIRE_KERNEL=1 makes it fail instead")


@needs_nft
@pytest.mark.parametrize("fixture", ["overall.yaml", "no_endpoints_reject.yaml", "load_balancer.yaml",
                                     "external_traffic_policy_local.yaml"])
def test_nft_loads_the_output_unchanged(fixture):
    out = nft_rules(nft_mode(load(fixture)))
    done = _nft_in_netns(out)
    assert done.returncode == 0, done.stderr
    assert "table ip kube-proxy" in done.stdout


@needs_nft
def test_nft_loads_the_demo_cluster_on_every_node():
    cluster = k8slab.demo_cluster()
    cluster = nft_mode(cluster)
    for node in cluster.nodes:
        done = _nft_in_netns(k8slab.proxy.rules(cluster, node.name, mode="nftables"))
        assert done.returncode == 0, done.stderr


def test_bad_ips():
    # TestBadIPs: "172.30.0.041", "1.2.3.004", "192.168.099.022", "203.0.113.000/025",
    # "10.180.00.001" come out as ParseIPSloppy reads them (built in the model directly:
    # the API server refuses them in new objects; bad_ips.yaml has them without the zeros).
    from k8slab.model import Endpoint, EndpointSlice, Node, Service, ServicePort
    svc = Service(name="svc1", namespace="ns1", type="LoadBalancer",
                  ports=(ServicePort(80, 80, "TCP", "p80", 3001),), cluster_ip="172.30.0.041",
                  external_ips=("192.168.099.022",), external_traffic_policy="Cluster",
                  load_balancer_ingress=("1.2.3.004",),
                  load_balancer_source_ranges=("203.0.113.000/025",))
    sl = EndpointSlice("ns1/svc1", "svc1-1", (("p80", 80, "TCP"),), (Endpoint("10.180.00.001", 0),))
    padded = Cluster([Node("test-node", "192.168.0.2")], [], [svc], [sl],
                     ProxyConfig(mode="nftables", cluster_cidr="10.0.0.0/8"))
    want = (EXPECTED / "bad_ips.expected").read_text()
    assert_same_ruleset(want, nft_rules(padded))
    assert_same_ruleset(want, nft_rules(nft_mode(load("bad_ips.yaml"))))


@pytest.mark.parametrize("ip_mode,expected_rule", [("Proxy", False), ("VIP", True), (None, True)])
def test_load_balancer_ingress_route_type_proxy(ip_mode, expected_rule):
    # TestLoadBalancerIngressRouteTypeProxy: an ipMode: Proxy address gets no service-ips element.
    import yaml
    ingress = {"ip": "1.2.3.4"} | ({"ipMode": ip_mode} if ip_mode else {})
    docs = [{"apiVersion": "kubeproxy.config.k8s.io/v1alpha1", "kind": "KubeProxyConfiguration",
             "mode": "nftables", "clusterCIDR": "10.0.0.0/8"},
            {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "test-node"},
             "status": {"addresses": [{"type": "InternalIP", "address": "192.168.0.2"}]}},
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc1", "namespace": "ns1"},
             "spec": {"type": "LoadBalancer", "clusterIP": "10.96.30.41",
                      "ports": [{"name": "p80", "port": 80, "protocol": "TCP", "nodePort": 30001}]},
             "status": {"loadBalancer": {"ingress": [ingress]}}},
            {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
             "metadata": {"name": "svc1-1", "namespace": "ns1", "labels": {"kubernetes.io/service-name": "svc1"}},
             "addressType": "IPv4", "endpoints": [{"addresses": ["10.180.0.1"]}],
             "ports": [{"name": "p80", "port": 80, "protocol": "TCP"}]}]
    cluster = k8slab.Cluster.from_yaml(yaml.safe_dump_all(docs))
    out = nft_rules(cluster)
    assert ("add element ip kube-proxy service-ips { 1.2.3.4 . tcp . 80 :" in out) is expected_rule


@pytest.mark.parametrize("name,expected", [
    # Test_servicePortChainNameBase and Test_servicePortEndpointChainNameBase (the IPv4 and
    # the truncated IPv6 cases; an IPv6 address's colons become dots).
    ("testing/service/tcp/http", "P4ZYZVCF-testing/service/tcp/http"),
    ("testing/service/tcp/https", "LZBRENCP-testing/service/tcp/https"),
    ("testing/service/tcp/http__10.180.0.1/80", "JO2XBXZR-testing/service/tcp/http__10.180.0.1/80"),
    ("testing/service/tcp/http__10.180.0.2/80", "5S6H3H22-testing/service/tcp/http__10.180.0.2/80"),
    ("testing/service/tcp/http__fd80.abcd.12..a1b2.c3d4.e5f6.9999/80",
     "U7E2ET36-testing/service/tcp/http__fd80.abcd.12..a1b2.c3d4.e5f6.9999/80"),
    ("very-long-namespace-name-abcdefghijklmnopqrstuvwxyz0123456789xx/very-long-service-name-why-would-you-"
     "even-do-this-i-mean-really/sctp/port-443-providing-the-hypertext-transmission-protocol-with-tls__"
     "1234.5678.9abc.def0..abcd.1234.5678/443",
     "CI6C53Q3-very-long-namespace-name-abcdefghijklmnopqrstuvwxyz0123456789xx/very-long-service-name-why-"
     "would-you-even-do-this-i-mean-really/sctp/port-443-providing-the-hypertext-transmission-protocol-with-"
     "tls__1234.5678.9abc.def0..abcd.1234..."),
])
def test_chain_name_bases(name, expected):
    assert nftables.chain_name_base(name) == expected


def test_proxy_numgen_rule_is_the_writers():
    # proxy.numgen_rule (what notebook 05 shows) is the rule the writer puts in the chain.
    cluster = nft_mode(k8slab.demo_cluster())
    svc = cluster.service("web")
    eps = cluster.endpoints(svc, svc.ports[0])
    rule = k8slab.proxy.numgen_rule(svc, svc.ports[0], eps)
    out = k8slab.proxy.rules(cluster, "node-a", mode="nftables")
    assert f"{nftables.chain_names(svc, svc.ports[0])['service']} {rule}" in out


def _base_rules() -> str:
    # upstream's baseRules: the part of overall.expected before its first Service
    return (EXPECTED / "overall.expected").read_text().split("# svc1")[0]


@pytest.mark.parametrize("step", ["1", "2", "4"])
def test_sync_proxy_rules_repeated(step):
    # TestSyncProxyRulesRepeated: the rulesets after the first sync, after svc3 is added, and
    # after svc2 is deleted and svc4 added with no endpoints. (The same inputs as the iptables
    # test's fixtures; upstream's nftables and iptables tests build the same Services.)
    want = _base_rules() + (EXPECTED / f"sync_repeated_{step}.expected").read_text()
    assert_same_ruleset(want, nft_rules(nft_mode(load(f"sync_repeated_{step}.yaml"))))


def test_sync_proxy_rules_startup():
    # TestSyncProxyRulesStartup: svc1 with two endpoints, svc2 with one, svc3 with none.
    from k8slab.model import Endpoint, EndpointSlice, Node, Service, ServicePort
    svcs = [Service(name="svc1", namespace="ns1", ports=(ServicePort(80, 80, "TCP", "p80"),), cluster_ip="172.30.0.41"),
            Service(name="svc2", namespace="ns2", ports=(ServicePort(8080, 8080, "TCP", "p8080"),),
                    cluster_ip="172.30.0.42"),
            Service(name="svc3", namespace="ns3", ports=(ServicePort(80, 80, "TCP", "p80"),), cluster_ip="172.30.0.43")]
    slices = [EndpointSlice("ns1/svc1", "svc1-1", (("p80", 80, "TCP"),),
                            (Endpoint("10.0.1.1", 0), Endpoint("10.0.1.2", 0))),
              EndpointSlice("ns2/svc2", "svc2-1", (("p8080", 8080, "TCP"),), (Endpoint("10.0.2.1", 0),))]
    cluster = Cluster([Node("test-node", "192.168.0.2")], [], svcs, slices,
                      ProxyConfig(mode="nftables", cluster_cidr="10.0.0.0/8"))
    want = _base_rules() + (EXPECTED / "startup.expected").read_text()
    assert_same_ruleset(want, nft_rules(cluster))


def test_explain_names_a_hop_for_every_chain_and_stays_loadable():
    cluster = nft_mode(k8slab.demo_cluster())
    out = k8slab.proxy.rules(cluster, "node-a", explain=True)
    lines = out.splitlines()
    for i, ln in enumerate(lines):
        if ln.startswith("add chain "):
            name = ln.split()[4]
            assert lines[i - 1].startswith(f"# {name}: ") and len(lines[i - 1]) > len(name) + 6, ln
    # the comments change nothing: the same ruleset once they are left out
    assert [ln for ln in lines if not ln.startswith("#")] == k8slab.proxy.rules(cluster, "node-a").splitlines()
    from k8slab.proxy import nftables_walk
    assert nftables_walk.parse_ruleset(out).chains.keys() == nftables_walk.parse_ruleset(
        k8slab.proxy.rules(cluster, "node-a")).chains.keys()


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=0, max_size=300))
def test_nft_hash_is_the_first_8_base32_characters_of_sha256(name):
    # hashAndTruncate's encoded[:8], computed from 40 bits instead of base64.b32encode's 256.
    import base64
    import hashlib

    from k8slab.kube_names import nft_hash
    assert nft_hash(name) == base64.b32encode(hashlib.sha256(name.encode()).digest()).decode()[:8]
