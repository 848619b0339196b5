"""`k8slab.proxy` rules: kube-proxy's iptables output, checked against kube-proxy's own tests.

The fixtures in tests/fixtures/rules/ are the inputs of tests in kubernetes/kubernetes
pkg/proxy/iptables/proxier_test.go (kube-proxy v1.33), written as manifests. Two kinds of
upstream test are reproduced:

* tests with an expected iptables-restore text (TestOverallIPTablesRules, TestBadIPs,
  TestSyncProxyRulesRepeated, TestSyncProxyRulesLargeClusterMode): our output is compared
  with the upstream text, in the order upstream's sortIPTablesRules normalises it to (which
  is the order k8slab prints), whole or line by line;
* packet-flow tests (TestClusterIPGeneral, TestLoadBalancer, ...): upstream walks a packet
  through the generated rules with a small tracer and checks where it lands and whether it
  is masqueraded; `trace` below does the same walk over our output, and the expected
  results are the upstream ones.
"""

from __future__ import annotations

import functools
import ipaddress
import pathlib
import re
import shlex
from contextlib import contextmanager
from dataclasses import dataclass
from unittest import mock

import pytest

import k8slab
from k8slab import K8slabError
from k8slab.proxy.iptables import chains_for
from k8slab.proxy import rules
from k8slab.model import Cluster, Endpoint, EndpointSlice, Node, ProxyConfig, Service, ServicePort

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "rules"

# NewFakeProxier's conventions (proxier_test.go)
NODE = "test-node"
NODE_IP = "192.168.0.2"
NODE_IP_ALT = "192.168.1.2"
EXTERNAL_IP = "192.168.99.11"
EXTERNAL_CLIENT = "203.0.113.2"
EXTERNAL_CLIENT_BLOCKED = "203.0.113.130"
# tracePacket treats these as the node's own (LOCAL) addresses: testNodeIPs plus loopback
LOCAL_IPS = {"127.0.0.1", "::1", NODE_IP, NODE_IP_ALT, EXTERNAL_IP, "2001:db8::1", "2001:db8:1::2"}


# ---------------------------------------------------------------------------------------
# Loading the fixtures
# ---------------------------------------------------------------------------------------

@contextmanager
def _node_port_range(lo: int, hi: int):
    """The Go tests use node ports 3001-3003: an API server started with
    --service-node-port-range=1-32767 accepts them, so validate with that range."""
    from k8slab import _validation
    with mock.patch.object(_validation, "validate_object",
                           functools.partial(_validation.validate_object, node_port_range=(lo, hi))), \
         mock.patch.object(_validation, "validate_together",
                           functools.partial(_validation.validate_together, node_port_range=(lo, hi))), \
         mock.patch.object(_validation, "check_objects",
                           functools.partial(_validation.check_objects, node_port_range=(lo, hi))), \
         mock.patch.object(_validation, "SERVICE_CIDR", ipaddress.IPv4Network("172.30.0.0/16")):
        # ... and proxier_test's cluster IPs come from 172.30.0.0/16.
        yield


def _from_yaml(text: str) -> Cluster:
    with _node_port_range(1, 32767):
        return k8slab.Cluster.from_yaml(text)


def load(name: str) -> Cluster:
    with _node_port_range(1, 32767):
        return k8slab.Cluster.from_yaml((FIXTURES / name).read_text(), filename=name)


def expected(name: str) -> str:
    return (FIXTURES / name).read_text()


def with_proxy(cluster: Cluster, proxy) -> Cluster:
    return Cluster(cluster.nodes, cluster.pods, cluster.services, cluster.slices, proxy,
                   cluster.cloud_provider)


def without_slices(cluster: Cluster) -> Cluster:
    """The cluster after its EndpointSlices are deleted (upstream: OnEndpointSliceDelete)."""
    return Cluster(cluster.nodes, cluster.pods, cluster.services, (), cluster.proxy,
                   cluster.cloud_provider)


@dataclass(frozen=True)
class _Conf(ProxyConfig):
    """A ProxyConfig with the KubeProxyConfiguration fields rules() reads when present
    (iptables.localhostNodePorts, nodePortAddresses); model.py does not carry them yet."""

    localhost_node_ports: bool = True
    node_port_addresses: tuple = ()


# ---------------------------------------------------------------------------------------
# A packet tracer over iptables-restore text (after upstream's tracePacket)
# ---------------------------------------------------------------------------------------

@dataclass
class Rule:
    raw: str
    src: tuple | None = None          # (negated, value)
    dst: tuple | None = None
    src_type: tuple | None = None
    dst_type: tuple | None = None
    proto: str | None = None
    dport: str | None = None
    jump: str | None = None
    dnat: str | None = None
    probability: str | None = None
    history: bool = False             # -m recent --rcheck, -m mark, --ctstate: never match


def parse(text: str) -> dict[str, dict[str, list[Rule]]]:
    tables: dict[str, dict[str, list[Rule]]] = {}
    table = None
    for line in text.splitlines():
        if not line or line.startswith("#") or line == "COMMIT":
            continue
        if line.startswith("*"):
            table = tables.setdefault(line[1:], {})
        elif line.startswith(":"):
            table.setdefault(line[1:].split()[0], [])
        elif line.startswith("-A "):
            tokens = shlex.split(line)
            table.setdefault(tokens[1], []).append(_rule(line, tokens[2:]))
        elif not line.startswith("-X "):
            raise AssertionError(f"unexpected line {line!r}")
    return tables


def _rule(raw: str, tokens: list[str]) -> Rule:
    r = Rule(raw)
    negate = False
    i = 0
    while i < len(tokens):
        t = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if t == "!":
            negate = True
            i += 1
            continue
        if t == "-s":
            r.src = (negate, nxt)
        elif t == "-d":
            r.dst = (negate, nxt)
        elif t == "--src-type":
            r.src_type = (negate, nxt)
        elif t == "--dst-type":
            r.dst_type = (negate, nxt)
        elif t == "-p":
            r.proto = nxt
        elif t == "--dport":
            r.dport = nxt
        elif t == "-j":
            r.jump = nxt
        elif t == "--to-destination":
            r.dnat = nxt
        elif t == "--probability":
            r.probability = nxt
        elif t in ("--rcheck", "--ctstate") or (t == "--mark" and "-m mark" in raw):
            r.history = True
        negate = False
        i += 1
    return r


def _address_matches(spec: tuple, ip: str) -> bool:
    negated, value = spec
    if "/" in value:
        hit = ipaddress.ip_address(ip) in ipaddress.ip_network(value, strict=False)
    else:
        hit = ipaddress.ip_address(ip) == ipaddress.ip_address(value)
    return hit != negated


def _type_matches(spec: tuple, ip: str) -> bool:
    negated, value = spec
    kind = "LOCAL" if ip in LOCAL_IPS else "not-matched"
    return (kind == value) != negated


class Tracer:
    def __init__(self, tables):
        self.tables = tables
        self.matches: list[str] = []
        self.outputs: list[str] = []
        self.masq = False

    def matches_rule(self, r: Rule, src, proto, dst, dport) -> bool:
        if r.src and not _address_matches(r.src, src):
            return False
        if r.src_type and not _type_matches(r.src_type, src):
            return False
        if r.proto and r.proto != proto:
            return False
        if r.dst and not _address_matches(r.dst, dst):
            return False
        if r.dst_type and not _type_matches(r.dst_type, dst):
            return False
        if r.dport and r.dport != dport:
            return False
        return not r.history

    def run(self, table, chain, src, proto, dst, dport) -> bool:
        for r in self.tables.get(table, {}).get(chain, []):
            if r.jump is None or not self.matches_rule(r, src, proto, dst, dport):
                continue
            self.matches.append(r.raw)
            if r.jump == "KUBE-MARK-MASQ":
                self.masq = True
                continue
            if r.jump in ("ACCEPT", "REJECT", "DROP"):
                self.outputs.append(r.jump)
                return True
            if r.jump == "DNAT":
                self.outputs.append(r.dnat)
                return True
            if self.run(table, r.jump, src, proto, dst, dport) and r.probability is None:
                return True
        return False


def trace(text: str, src: str, dst: str, dport: int, proto: str = "tcp") -> tuple[str, bool, list]:
    """Where a new connection's first packet ends up: "ip:port, ..." (every endpoint it
    may be DNATed to), or ACCEPT/DROP/REJECT, or "" (no rule); and whether it is masqueraded."""
    t = Tracer(parse(text))
    dport = str(dport)
    # nat PREROUTING holds one rule, an unconditional jump to KUBE-SERVICES
    t.run("nat", "KUBE-SERVICES", src, proto, dst, dport)
    if t.outputs:
        dst = t.outputs[0].rsplit(":", 1)[0]
    for chain in ("KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES", "KUBE-NODEPORTS", "KUBE-PROXY-FIREWALL"):
        t.run("filter", chain, src, proto, dst, dport)
    return ", ".join(t.outputs), t.masq, t.matches


def run_flows(text: str, flows) -> None:
    failures = []
    for flow in flows:
        name, src, dst, dport, output, masq = flow[:6]
        proto = flow[6] if len(flow) > 6 else "tcp"
        got, got_masq, matched = trace(text, src, dst, dport, proto)
        if got != output or got_masq != masq:
            failures.append(f"{name}: {src} -> {dst}:{dport}/{proto}: expected {output!r} "
                            f"masq={masq}, got {got!r} masq={got_masq}\n  " + "\n  ".join(matched))
    assert not failures, "\n".join(failures)


def check_jumps(text: str) -> None:
    """upstream checkIPTablesRuleJumps: every chain jumped to or filled is declared, every
    jumped-to chain has rules (KUBE-NODEPORTS aside), every declared chain is used."""
    builtin = {"ACCEPT", "REJECT", "DROP", "MARK", "RETURN", "DNAT", "SNAT", "MASQUERADE"}
    fixed = {"KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING",
             "KUBE-FORWARD", "KUBE-MARK-MASQ", "KUBE-PROXY-FIREWALL", "KUBE-FIREWALL"}
    for name, body in re.findall(r"^\*(\w+)\n(.*?)^COMMIT$", text, re.S | re.M):
        lines = body.splitlines()
        created = {l[1:].split()[0] for l in lines if l.startswith(":")}
        created -= {l.split()[1] for l in lines if l.startswith("-X ")}
        filled = {l.split()[1] for l in lines if l.startswith("-A ")}
        jumped = {m for l in lines for m in re.findall(r"-j (\S+)", l)} - builtin
        assert not (jumped | filled) - created, f"{name}: used but not created"
        assert not jumped - filled - {"KUBE-NODEPORTS"}, f"{name}: jumped to but empty"
        assert not created - jumped - fixed, f"{name}: created but not used"


# ---------------------------------------------------------------------------------------
# Tests with an expected iptables-restore text
# ---------------------------------------------------------------------------------------

def test_overall_iptables_rules():
    """TestOverallIPTablesRules: the whole text, verbatim."""
    out = rules(load("overall.yaml"), NODE)
    assert out == expected("overall.expected")
    check_jumps(out)


def test_bad_ips_manifest():
    """TestBadIPs, its addresses written without the leading zeros the API server refuses."""
    out = rules(load("bad_ips.yaml"), NODE)
    assert out == expected("bad_ips.expected")
    check_jumps(out)


def test_bad_ips_zero_padded():
    """TestBadIPs as the Go test writes it: "172.30.0.041", "1.2.3.004", "192.168.099.022",
    "203.0.113.000/025", "10.180.00.001" come out as kube-proxy's ParseIPSloppy reads them."""
    svc = Service(name="svc1", namespace="ns1", type="LoadBalancer",
                  ports=(ServicePort(80, 80, "TCP", "p80", 3001),), cluster_ip="172.30.0.041",
                  external_ips=("192.168.099.022",), external_traffic_policy="Cluster",
                  load_balancer_ingress=("1.2.3.004",),
                  load_balancer_source_ranges=("203.0.113.000/025",))
    sl = EndpointSlice("ns1/svc1", "svc1-1", (("p80", 80, "TCP"),),
                       (Endpoint("10.180.00.001", 0),))
    cluster = Cluster([Node(NODE, NODE_IP)], [], [svc], [sl], ProxyConfig(cluster_cidr="10.0.0.0/8"))
    assert rules(cluster, NODE) == expected("bad_ips.expected")


def test_sync_proxy_rules_repeated_first_sync():
    out = rules(load("sync_repeated_1.yaml"), NODE)
    assert out == expected("sync_repeated_1.expected")
    check_jumps(out)


@pytest.mark.parametrize("step", ["2", "4", "6"])
def test_sync_proxy_rules_repeated_partial_syncs(step):
    """Those syncs rewrote only the changed Services: every line upstream expects is in
    our full output for the same state."""
    out = rules(load(f"sync_repeated_{step}.yaml"), NODE)
    lines = set(out.splitlines())
    missing = [l for l in expected(f"sync_repeated_{step}.expected").splitlines() if l not in lines]
    assert not missing
    check_jumps(out)


def test_sync_proxy_rules_repeated_final_full_resync():
    """The last, full resync, once its deletions of svc4's old chains are taken out."""
    text = expected("sync_repeated_final.expected")
    deleted = {l.split()[1] for l in text.splitlines() if l.startswith("-X ")}
    kept = [l for l in text.splitlines()
            if not l.startswith("-X ") and not (l.startswith(":") and l[1:].split()[0] in deleted)]
    assert rules(load("sync_repeated_final.yaml"), NODE) == "\n".join(kept) + "\n"


def _large_cluster_yaml(with_svc3: bool, with_svc4: bool) -> str:
    doc = [(FIXTURES / "sync_repeated_1.yaml").read_text().split("\n---\napiVersion: v1\nkind: Service")[0]
           .replace("clusterCIDR: 10.0.0.0/8\n", "clusterCIDR: 10.0.0.0/8\niptables: {masqueradeAll: true}\n")]

    def service(ns, name, ip, port, pname, addresses):
        doc.append(f"apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: {ns}}}\n"
                   f"spec:\n  clusterIP: {ip}\n  ports: [{{name: {pname}, port: {port}, protocol: TCP}}]\n")
        if addresses:
            eps = "".join(f"- {{addresses: [{a}]}}\n" for a in addresses)
            doc.append(f"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: "
                       f"{{name: {name}-1, namespace: {ns}, labels: {{kubernetes.io/service-name: {name}}}}}\n"
                       f"addressType: IPv4\nendpoints:\n{eps}"
                       f"ports: [{{name: {pname}, port: {port}, protocol: TCP}}]\n")

    half = 1000 // 2 - 1
    service("ns1", "svc1", "172.30.0.41", 80, "p80", [f"10.0.{i % 256}.{i // 256}" for i in range(half)])
    service("ns2", "svc2", "172.30.0.42", 8080, "p8080", [f"10.1.{i % 256}.{i // 256}" for i in range(half)])
    service("ns3", "svc3", "172.30.0.43", 8081, "p8081",
            ["203.0.113.4", "203.0.113.8", "203.0.113.12"] if with_svc3 else [])
    if with_svc4:
        service("ns4", "svc4", "172.30.0.44", 8082, "p8082", ["10.4.0.1"])
    return "\n---\n".join(doc)


def _dnat_lines(text: str, match: str):
    lines = [l for l in text.splitlines() if l.startswith("-A KUBE-SEP-") and "-j DNAT" in l]
    return next((l for l in lines if match in l), ""), len(lines), sum("--comment" in l for l in lines)


def test_sync_proxy_rules_large_cluster_mode():
    """TestSyncProxyRulesLargeClusterMode: past 1000 endpoints kube-proxy drops the comments
    on KUBE-SEP rules (and on KUBE-SVC -> KUBE-SEP jumps)."""
    small = rules(_from_yaml(_large_cluster_yaml(False, False)), NODE)
    line, n, comments = _dnat_lines(small, "10.0.0.0")
    assert line == ("-A KUBE-SEP-DKGQUZGBKLTPAR56 -m comment --comment ns1/svc1:p80 -m tcp -p tcp "
                    "-j DNAT --to-destination 10.0.0.0:80")
    assert n == comments == 998

    large = rules(_from_yaml(_large_cluster_yaml(True, False)), NODE)
    line, n, comments = _dnat_lines(large, "203.0.113.4")
    assert line == "-A KUBE-SEP-RUVVH7YV3PHQBDOS -m tcp -p tcp -j DNAT --to-destination 203.0.113.4:8081"
    assert _dnat_lines(large, "10.0.0.0")[0] == ("-A KUBE-SEP-DKGQUZGBKLTPAR56 -m tcp -p tcp -j DNAT "
                                                 "--to-destination 10.0.0.0:80")
    assert (n, comments) == (1001, 0)

    with4 = rules(_from_yaml(_large_cluster_yaml(True, True)), NODE)
    assert _dnat_lines(with4, "10.4.0.1")[0] == ("-A KUBE-SEP-SU5STNODRYEWJAUF -m tcp -p tcp -j DNAT "
                                                 "--to-destination 10.4.0.1:8082")
    assert ":KUBE-SVC-EBDQOQU5SJFXRIL3 - [0:0]" in with4.splitlines()
    check_jumps(with4)


# ---------------------------------------------------------------------------------------
# Packet-flow tests: (name, source, destination, port, expected output, masqueraded[, protocol])
# ---------------------------------------------------------------------------------------

def test_trace_packet_on_overall_rules():
    """TestTracePacket's flows, over the TestOverallIPTablesRules output."""
    run_flows(rules(load("overall.yaml"), NODE), [
        ("no match", "10.0.0.2", "10.0.0.3", 80, "", False),
        ("single endpoint", "10.0.0.2", "172.30.0.41", 80, "10.180.0.1:80", False),
        ("multiple endpoints", "10.0.0.2", "172.30.0.44", 80, "10.180.0.4:80, 10.180.0.5:80", False),
        ("LOCAL, KUBE-MARK-MASQ", NODE_IP, "192.168.99.22", 80, "10.180.0.2:80", True),
        ("DROP", EXTERNAL_CLIENT, "192.168.99.22", 80, "DROP", False),
        ("ACCEPT (NodePortHealthCheck)", NODE_IP, NODE_IP, 30000, "ACCEPT", False),
        ("REJECT", "10.0.0.2", "172.30.0.46", 80, "REJECT", False),
    ])


def test_no_endpoints_reject():
    run_flows(rules(load("no_endpoints_reject.yaml"), NODE), [
        ("pod to cluster IP with no endpoints", "10.0.0.2", "172.30.0.41", 80, "REJECT", False),
        ("external to external IP with no endpoints", EXTERNAL_CLIENT, "192.168.99.11", 80, "REJECT", False),
        ("pod to NodePort with no endpoints", "10.0.0.2", NODE_IP, 3001, "REJECT", False),
        ("external to NodePort with no endpoints", EXTERNAL_CLIENT, NODE_IP, 3001, "REJECT", False),
        ("pod to LoadBalancer IP with no endpoints", "10.0.0.2", "1.2.3.4", 80, "REJECT", False),
        ("external to LoadBalancer IP with no endpoints", EXTERNAL_CLIENT, "1.2.3.4", 80, "REJECT", False),
    ])


def test_cluster_ip_general():
    run_flows(rules(load("cluster_ip_general.yaml"), NODE), [
        ("simple clusterIP", "10.180.0.2", "172.30.0.41", 80, "10.180.0.1:80", False),
        ("hairpin to cluster IP", "10.180.0.1", "172.30.0.41", 80, "10.180.0.1:80", True),
        ("clusterIP with multiple endpoints", "10.180.0.2", "172.30.0.42", 80,
         "10.180.0.1:80, 10.180.2.1:80", False),
        ("clusterIP with TargetPort", "10.180.0.2", "172.30.0.42", 443,
         "10.180.0.1:8443, 10.180.2.1:8443", False),
        ("clusterIP with TCP, UDP, and SCTP on same port (TCP)", "10.180.0.2", "172.30.0.42", 53,
         "10.180.0.1:5353, 10.180.2.1:5353", False, "tcp"),
        ("clusterIP with TCP, UDP, and SCTP on same port (UDP)", "10.180.0.2", "172.30.0.42", 53,
         "10.180.0.1:53, 10.180.2.1:53", False, "udp"),
        ("clusterIP with TCP, UDP, and SCTP on same port (SCTP)", "10.180.0.2", "172.30.0.42", 53,
         "10.180.0.1:53, 10.180.2.1:53", False, "sctp"),
        ("TCP-only port does not match UDP traffic", "10.180.0.2", "172.30.0.42", 80, "", False, "udp"),
        ("svc1 does not accept svc2's ports", "10.180.0.2", "172.30.0.41", 443, "", False),
    ])


def test_load_balancer():
    ep = "10.180.0.1:80"
    run_flows(rules(load("load_balancer.yaml"), NODE), [
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


FIREWALL_RULE = ('-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" '
                 "-d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP")


@pytest.mark.parametrize("localhost,addresses,allow_alt,firewall", [
    (True, (), True, True),                                      # ipv4, localhost-nodeports enabled
    (False, (), True, False),                                    # ipv4, localhost-nodeports disabled
    (False, ("192.168.0.0/24", "127.0.0.1/32"), False, False),   # ... localhost in nodeport-addresses
])
def test_node_ports(localhost, addresses, allow_alt, firewall):
    """TestNodePorts' IPv4 cases (the model knows one address per node, so the case that
    needs the secondary node IP in --nodeport-addresses is left out)."""
    cluster = load("node_ports.yaml")
    if not (localhost and not addresses):
        cluster = with_proxy(cluster, _Conf(cluster_cidr="10.0.0.0/8", localhost_node_ports=localhost,
                                            node_port_addresses=addresses))
    out = rules(cluster, NODE)
    both = "10.180.0.1:80, 10.180.2.1:80"
    flows = [
        ("pod to cluster IP", "10.0.0.2", "172.30.0.41", 80, both, False),
        ("external to nodePort", EXTERNAL_CLIENT, NODE_IP, 3001, both, True),
        ("node to nodePort", NODE_IP, NODE_IP, 3001, both, True),
    ]
    if localhost:
        flows.append(("localhost to nodePort gets masqueraded", "127.0.0.1", "127.0.0.1", 3001, both, True))
    else:
        flows.append(("localhost to nodePort is ignored", "127.0.0.1", "127.0.0.1", 3001, "", False))
    if allow_alt:
        flows.append(("external to nodePort on secondary IP", EXTERNAL_CLIENT, NODE_IP_ALT, 3001, both, True))
    else:
        flows.append(("secondary nodeIP ignores NodePorts", EXTERNAL_CLIENT, NODE_IP_ALT, 3001, "", False))
    run_flows(out, flows)
    chain = [l for l in out.splitlines() if l.startswith("-A KUBE-FIREWALL ")]
    assert chain == ([FIREWALL_RULE] if firewall else [])


def test_health_check_node_port():
    cluster = with_proxy(load("health_check_node_port.yaml"),
                         _Conf(cluster_cidr="10.0.0.0/8", node_port_addresses=("127.0.0.0/8",)))
    run_flows(rules(cluster, NODE), [
        ("firewall accepts HealthCheckNodePort", "1.2.3.4", NODE_IP, 30000, "ACCEPT", False),
    ])


def test_external_traffic_policy_local():
    both, local = "10.180.0.1:80, 10.180.2.1:80", "10.180.2.1:80"
    run_flows(rules(load("external_traffic_policy_local.yaml"), NODE), [
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
    run_flows(rules(load("external_traffic_policy_cluster.yaml"), NODE), [
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
    cluster = load(f"internal_traffic_policy_{case}.yaml")
    run_flows(rules(cluster, NODE), [("pod to ClusterIP", "10.0.0.2", "172.30.1.1", 80, output, False)])
    run_flows(rules(without_slices(cluster), NODE),
              [("endpoints deleted", "10.0.0.2", "172.30.1.1", 80, "REJECT", False)])


TERMINATING = {
    "local": {
        "ready_exist": [("pod to clusterIP", "10.0.1.1:80, 10.0.1.2:80, 10.0.1.5:80", False),
                        ("external to LB", "10.0.1.1:80, 10.0.1.2:80", False)],
        "only_terminating": [("pod to clusterIP", "10.0.1.5:80", False),
                             ("external to LB", "10.0.1.2:80, 10.0.1.3:80", False)],
        "terminating_remote": [("pod to clusterIP", "10.0.1.5:80", False),
                               ("external to LB, no locally-usable endpoints", "DROP", False)],
        "none_usable": [("pod to clusterIP, no usable endpoints", "REJECT", False),
                        ("external to LB, no usable endpoints", "REJECT", False)],
    },
    "cluster": {
        "ready_exist": [("pod to clusterIP", "10.0.1.1:80, 10.0.1.2:80, 10.0.1.5:80", False),
                        ("external to LB", "10.0.1.1:80, 10.0.1.2:80, 10.0.1.5:80", True)],
        "only_terminating": [("pod to clusterIP", "10.0.1.2:80, 10.0.1.3:80, 10.0.1.5:80", False),
                             ("external to LB", "10.0.1.2:80, 10.0.1.3:80, 10.0.1.5:80", True)],
        "terminating_remote": [("pod to clusterIP", "10.0.1.5:80", False),
                               ("external to LB", "10.0.1.5:80", True)],
        "none_usable": [("pod to clusterIP", "REJECT", False), ("external to LB", "REJECT", False)],
    },
}


@pytest.mark.parametrize("policy,case", [(p, c) for p in TERMINATING for c in TERMINATING[p]])
def test_terminating_endpoints(policy, case):
    """TestTerminatingEndpointsTrafficPolicyLocal and ...Cluster."""
    cluster = load(f"terminating_{policy}_{case}.yaml")
    (n1, out1, m1), (n2, out2, m2) = TERMINATING[policy][case]
    run_flows(rules(cluster, NODE), [(n1, "10.0.0.2", "172.30.1.1", 80, out1, m1),
                                     (n2, EXTERNAL_CLIENT, "1.2.3.4", 80, out2, m2)])
    run_flows(rules(without_slices(cluster), NODE), [
        ("pod to clusterIP after endpoints deleted", "10.0.0.2", "172.30.1.1", 80, "REJECT", False),
        ("external to LB after endpoints deleted", EXTERNAL_CLIENT, "1.2.3.4", 80, "REJECT", False),
    ])


MASQUERADE_FLOWS = [
    ("pod to ClusterIP", "10.0.0.2", "172.30.0.41", 80, "10.180.0.1:80, 10.180.1.1:80", False),
    ("pod to NodePort", "10.0.0.2", NODE_IP, 3001, "10.180.0.1:80, 10.180.1.1:80", True),
    ("pod to LB", "10.0.0.2", "1.2.3.4", 80, "10.180.0.1:80, 10.180.1.1:80", True),
    ("node to ClusterIP", NODE_IP, "172.30.0.41", 80, "10.180.0.1:80, 10.180.1.1:80", True),
    ("node to NodePort", NODE_IP, NODE_IP, 3001, "10.180.0.1:80, 10.180.1.1:80", True),
    ("localhost to NodePort", "127.0.0.1", "127.0.0.1", 3001, "10.180.0.1:80, 10.180.1.1:80", True),
    ("node to LB", NODE_IP, "1.2.3.4", 80, "10.180.0.1:80, 10.180.1.1:80", True),
    ("external to ClusterIP", EXTERNAL_CLIENT, "172.30.0.41", 80, "10.180.0.1:80, 10.180.1.1:80", True),
    ("external to NodePort", EXTERNAL_CLIENT, NODE_IP, 3001, "10.180.0.1:80, 10.180.1.1:80", True),
    ("external to LB", EXTERNAL_CLIENT, "1.2.3.4", 80, "10.180.0.1:80, 10.180.1.1:80", True),
    ("pod to ClusterIP with eTP:Local", "10.0.0.2", "172.30.0.42", 80, "10.180.0.2:80, 10.180.1.2:80", False),
    ("pod to NodePort with eTP:Local", "10.0.0.2", NODE_IP, 3002, "10.180.0.2:80, 10.180.1.2:80", False),
    ("pod to LB with eTP:Local", "10.0.0.2", "5.6.7.8", 80, "10.180.0.2:80, 10.180.1.2:80", False),
    ("node to ClusterIP with eTP:Local", NODE_IP, "172.30.0.42", 80, "10.180.0.2:80, 10.180.1.2:80", True),
    ("node to NodePort with eTP:Local", NODE_IP, NODE_IP, 3001, "10.180.0.1:80, 10.180.1.1:80", True),
    ("localhost to NodePort with eTP:Local", "127.0.0.1", "127.0.0.1", 3002, "10.180.0.2:80, 10.180.1.2:80", True),
    ("node to LB with eTP:Local", NODE_IP, "5.6.7.8", 80, "10.180.0.2:80, 10.180.1.2:80", True),
    ("external to ClusterIP with eTP:Local", EXTERNAL_CLIENT, "172.30.0.42", 80, "10.180.0.2:80, 10.180.1.2:80",
     True),
    ("external to NodePort with eTP:Local", EXTERNAL_CLIENT, NODE_IP, 3002, "10.180.0.2:80", False),
    ("external to LB with eTP:Local", EXTERNAL_CLIENT, "5.6.7.8", 80, "10.180.0.2:80", False),
    ("pod to ClusterIP with iTP:Local", "10.0.0.2", "172.30.0.43", 80, "10.180.0.3:80", False),
    ("pod to NodePort with iTP:Local", "10.0.0.2", NODE_IP, 3003, "10.180.0.3:80, 10.180.1.3:80", True),
    ("pod to LB with iTP:Local", "10.0.0.2", "9.10.11.12", 80, "10.180.0.3:80, 10.180.1.3:80", True),
    ("node to ClusterIP with iTP:Local", NODE_IP, "172.30.0.43", 80, "10.180.0.3:80", True),
    ("node to NodePort with iTP:Local", NODE_IP, NODE_IP, 3003, "10.180.0.3:80, 10.180.1.3:80", True),
    ("localhost to NodePort with iTP:Local", "127.0.0.1", "127.0.0.1", 3003, "10.180.0.3:80, 10.180.1.3:80", True),
    ("node to LB with iTP:Local", NODE_IP, "9.10.11.12", 80, "10.180.0.3:80, 10.180.1.3:80", True),
    ("external to ClusterIP with iTP:Local", EXTERNAL_CLIENT, "172.30.0.43", 80, "10.180.0.3:80", True),
    ("external to NodePort with iTP:Local", EXTERNAL_CLIENT, NODE_IP, 3003, "10.180.0.3:80, 10.180.1.3:80", True),
    ("external to LB with iTP:Local", EXTERNAL_CLIENT, "9.10.11.12", 80, "10.180.0.3:80, 10.180.1.3:80", True),
]
_NO_DETECTOR = {
    "node to ClusterIP": {"masq": False}, "node to ClusterIP with eTP:Local": {"masq": False},
    "node to ClusterIP with iTP:Local": {"masq": False}, "external to ClusterIP": {"masq": False},
    "external to ClusterIP with eTP:Local": {"masq": False},
    "external to ClusterIP with iTP:Local": {"masq": False},
    "pod to NodePort with eTP:Local": {"output": "10.180.0.2:80"},
    "pod to LB with eTP:Local": {"output": "10.180.0.2:80"},
}
_MASQ_ALL = {"pod to ClusterIP": {"masq": True}, "pod to ClusterIP with eTP:Local": {"masq": True},
             "pod to ClusterIP with iTP:Local": {"masq": True}}
MASQUERADE_OVERRIDES = {
    "base": {},
    "no_local_detector": _NO_DETECTOR,
    "masquerade_all": _MASQ_ALL,
    "masquerade_all_no_local_detector": {**_MASQ_ALL, "pod to NodePort with eTP:Local": {"output": "10.180.0.2:80"},
                                         "pod to LB with eTP:Local": {"output": "10.180.0.2:80"}},
}


@pytest.mark.parametrize("case", list(MASQUERADE_OVERRIDES))
def test_internal_external_masquerade(case):
    """TestInternalExternalMasquerade: masquerading from clusterCIDR and masqueradeAll."""
    flows = []
    for name, src, dst, port, output, masq in MASQUERADE_FLOWS:
        o = MASQUERADE_OVERRIDES[case].get(name, {})
        flows.append((name, src, dst, port, o.get("output", output), o.get("masq", masq)))
    run_flows(rules(load(f"internal_external_masquerade_{case}.yaml"), NODE), flows)


# ---------------------------------------------------------------------------------------
# Chain names, order, probabilities
# ---------------------------------------------------------------------------------------

def test_chain_names_hash_like_kube_proxy():
    svc = Service("svc1", "ns1", ports=(ServicePort(80, 80, "TCP", "p80"),), cluster_ip="172.30.0.41")
    names = chains_for(svc, svc.ports[0], [Endpoint("10.180.0.1", 80)])
    assert names["KUBE-SVC"] == "KUBE-SVC-XPGD46QRK7WJZT7O"
    assert names["KUBE-SEP"] == {"10.180.0.1:80": "KUBE-SEP-SXIVWICOYRO3J4NJ"}


def test_endpoints_in_kube_proxy_order():
    """kube-proxy sorts a Service port's endpoints by their "IP:port" string
    (endpointslicecache.go, byEndpoint): 10.1.1.11:11 comes before 10.1.1.1:11, as in
    TestUpdateEndpointsMap's "complex add and remove" case; rules follow that order."""
    svc = Service("ep1", "ns1", ports=(ServicePort(11, 11, "UDP", "p11"),), cluster_ip="172.30.0.1")
    sl = EndpointSlice("ns1/ep1", "ep1-1", (("p11", 11, "UDP"),),
                       (Endpoint("10.1.1.1", 0), Endpoint("10.1.1.11", 0)))
    cluster = Cluster([Node(NODE, NODE_IP)], [], [svc], [sl], ProxyConfig(cluster_cidr="10.0.0.0/8"))
    assert [e.ip_port for e in cluster.endpoints(svc, svc.ports[0])] == ["10.1.1.11:11", "10.1.1.1:11"]
    jumps = [l for l in rules(cluster, NODE).splitlines() if l.startswith("-A KUBE-SVC-") and "->" in l]
    assert [re.search(r"-> (\S+)\"", l).group(1) for l in jumps] == ["10.1.1.11:11", "10.1.1.1:11"]
    assert "--probability 0.5000000000" in jumps[0]


def test_three_endpoints_probabilities_and_affinity():
    """1/3 then 1/2 then the rest, printed as kube-proxy's %0.10f; ClientIP affinity checks
    come first, one per endpoint."""
    svc = Service("web", "shop", ports=(ServicePort(80, 8080, "TCP", None),), cluster_ip="10.96.0.20",
                  session_affinity="ClientIP", session_affinity_timeout=600)
    sl = EndpointSlice("shop/web", "web-1", ((None, 8080, "TCP"),),
                       tuple(Endpoint(f"10.244.1.{i}", 0) for i in (5, 6, 7)))
    cluster = Cluster([Node("node-a", "192.0.2.11")], [], [svc], [sl], ProxyConfig())
    out = rules(cluster, "node-a")
    chain = chains_for(svc, svc.ports[0])["KUBE-SVC"]
    lines = [l for l in out.splitlines() if l.startswith(f"-A {chain} ") and "->" in l]
    assert len(lines) == 6
    assert all("--rcheck --seconds 600 --reap" in l for l in lines[:3])
    assert "--probability 0.3333333333" in lines[3] and "--probability 0.5000000000" in lines[4]
    assert "statistic" not in lines[5]
    assert f'-m comment --comment "shop/web -> 10.244.1.5:8080"' in lines[3]
    assert "! -s 10.244.0.0/16 -j KUBE-MARK-MASQ" in out          # the default clusterCIDR


def _shares_from_rules(text: str, chain: str) -> dict[str, float]:
    shares, left = {}, 1.0
    for line in text.splitlines():
        if not line.startswith(f"-A {chain} ") or "KUBE-SEP-" not in line or "--rcheck" in line:
            continue
        target = re.search(r"-> (\S+?)\"", line).group(1)
        m = re.search(r"--probability (\S+)", line)
        p = float(m.group(1)) if m else 1.0
        shares[target] = left * p
        left *= 1 - p
    return shares


def test_rules_agree_with_route_probabilities():
    """The cascade of --probability rules gives each pod the share route() reports."""
    cluster = k8slab.demo_cluster()
    node = cluster.nodes[0]
    out = rules(cluster, node.name)
    check_jumps(out)
    seen = 0
    for svc in cluster.services:
        if not svc.proxied or svc.internal_traffic_policy == "Local":
            continue
        for port in svc.ports:
            r = k8slab.Cluster.route(cluster, client=f"node/{node.name}", service=svc.name,
                                     namespace=svc.namespace, port=port.port)
            if not r.reachable:
                continue
            got = _shares_from_rules(out, chains_for(svc, port)["KUBE-SVC"])
            want = {e.endpoint.ip_port: e.probability for e in r.endpoints}
            assert got.keys() == want.keys()
            for k in want:
                assert got[k] == pytest.approx(want[k], abs=1e-9)
            seen += 1
    assert seen


# ---------------------------------------------------------------------------------------
# --explain, ipvs, errors
# ---------------------------------------------------------------------------------------

def test_explain_annotates_every_chain_with_a_hop():
    cluster = load("overall.yaml")
    plain = rules(cluster, NODE)
    explained = rules(cluster, NODE, explain=True)
    assert "\n".join(l for l in explained.splitlines() if not l.startswith("#")) + "\n" == plain
    declared = [l[1:].split()[0] for l in plain.splitlines() if l.startswith(":")]
    notes = {}
    for l in explained.splitlines():
        m = re.match(r"# (KUBE-[A-Z0-9-]+): (.*)", l)
        if m:
            notes.setdefault(m.group(1), []).append(m.group(2))
    for chain in declared:
        assert chain in notes, chain
        assert all(re.match(r"\[(hop: [a-z, -]+|no hop)\] ", n) for n in notes[chain]), notes[chain]
    hop = {c: n[-1] for c, n in notes.items()}
    assert hop["KUBE-SVC-XPGD46QRK7WJZT7O"].startswith("[hop: service] ns1/svc1:p80 (172.30.0.41:80)")
    assert hop["KUBE-SEP-SXIVWICOYRO3J4NJ"].startswith("[hop: pod] ns1/svc1:p80")
    assert hop["KUBE-EXT-GNZBNJ2PO5MGZ6GT"].startswith("[hop: node-port, load-balancer, external-ip] ns2/svc2:p80")
    assert hop["KUBE-EXT-4SW47YFZTEDKD3PK"].startswith("[hop: external-ip] ns4/svc4:p80 by external IP")
    assert hop["KUBE-FW-NUKIZ6OKUXPJNT4C"].startswith("[hop: load-balancer]")
    assert hop["KUBE-NODEPORTS"].startswith("[hop: node-port]")       # nat (printed after filter)
    assert '#   -A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES' \
        in explained.splitlines()


def test_explain_on_demo_cluster():
    cluster = k8slab.demo_cluster()
    text = rules(cluster, cluster.nodes[0].name, explain=True)
    assert "[hop: service]" in text and "[hop: pod]" in text


def test_ipvs_lists_virtual_servers():
    out = rules(load("overall.yaml"), NODE, mode="ipvs")
    lines = out.splitlines()
    assert lines[:3] == ["IP Virtual Server version 1.2.1 (size=4096)",
                         "Prot LocalAddress:Port Scheduler Flags",
                         "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn"]
    i = lines.index("TCP  172.30.0.41:80 rr")
    assert lines[i + 1] == "  -> 10.180.0.1:80                Masq    1      0          0         "
    assert "TCP  172.30.0.45:80 rr persistent 10800" in lines
    # svc2 has externalTrafficPolicy: Local and no endpoint on test-node: no destination
    j = lines.index("TCP  192.168.0.2:3001 rr")
    assert not lines[j + 1].startswith("  ->")
    tcp = [l for l in lines if l.startswith("TCP  ")]
    assert tcp == sorted(tcp, key=lambda l: (ipaddress.ip_address(l.split()[1].rsplit(":", 1)[0]),
                                             int(l.split()[1].rsplit(":", 1)[1])))


def test_unknown_node_is_a_clear_error():
    with pytest.raises(K8slabError, match="no node 'nope'.*test-node"):
        rules(load("overall.yaml"), "nope")


@pytest.mark.parametrize("mode,message", [("userspace", "modes are iptables, ipvs, nftables"),
                                          ("nft", "modes are iptables, ipvs, nftables")])
def test_unsupported_mode_is_a_clear_error(mode, message):
    with pytest.raises(K8slabError, match=message):
        rules(load("overall.yaml"), NODE, mode=mode)
