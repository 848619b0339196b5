"""trace: one packet through the rules `k8slab rules` prints, rule by rule, as netfilter does.

Each test pins one behaviour of the rules (pkg/proxy/iptables/proxier.go, syncProxyRules and
writeServiceToEndpointRules) or of netfilter's walk, on a small cluster built from YAML.
"""

import json
from fractions import Fraction

import pytest

from k8slab import proxy, trace
from k8slab.cli import main
from k8slab.errors import K8slabError
from support import cluster_from

NODES = """
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
    spec: {nodeName: node-a, containers: [{name: c, image: x, ports: [{name: http, containerPort: 8080}]}]}
    status: {phase: Running, podIP: 10.244.1.6, conditions: [{type: Ready, status: "True"}]}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: web-3, labels: {app: web}}
    spec: {nodeName: node-b, containers: [{name: c, image: x, ports: [{name: http, containerPort: 8080}]}]}
    status: {phase: Running, podIP: 10.244.2.5, conditions: [{type: Ready, status: "True"}]}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: client}
    spec: {nodeName: node-b, containers: [{name: c, image: x}]}
    status: {phase: Running, podIP: 10.244.2.9, conditions: [{type: Ready, status: "True"}]}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: agent}
    spec: {nodeName: node-b, hostNetwork: true, containers: [{name: c, image: x}]}
    status: {phase: Running, podIP: 192.0.2.12, conditions: [{type: Ready, status: "True"}]}
"""


def service(spec: str, name: str = "web") -> str:
    return NODES + f"""
    ---
    apiVersion: v1
    kind: Service
    metadata: {{name: {name}}}
    spec: {spec}
"""


CLUSTER_IP = "{selector: {app: web}, clusterIP: 10.96.0.20, ports: [{name: http, port: 80, targetPort: http}]}"
NODE_PORT = ("{type: NodePort, selector: {app: web}, clusterIP: 10.96.0.20, "
             "ports: [{name: http, port: 80, targetPort: http, nodePort: 30080}]}")


@pytest.fixture(scope="module")
def plain():
    return cluster_from(service(CLUSTER_IP))


def by_pod(t):
    out = {}
    for b in t.branches:
        out[b.pod] = out.get(b.pod, 0) + b.chance
    return out


# -- reading the rules ------------------------------------------------------------------------

def test_every_rule_line_is_read_into_its_table_and_chain(plain):
    text = proxy.rules(plain, "node-a")
    rs = trace.parse_rules(text)
    lines = [l for l in text.splitlines() if l.startswith("-A")]
    assert sum(len(rules) for t in rs.tables.values() for rules in t.values()) == len(lines)
    declared = {l[1:].split()[0] for l in text.splitlines() if l.startswith(":")}
    assert declared == {c for t in rs.tables.values() for c in t}
    masq = rs.chain("nat", "KUBE-MARK-MASQ")[0]
    assert masq.target == "MARK" and masq.option("--or-mark") == "0x4000"


def test_a_quoted_comment_is_one_word():
    rule = trace.parse_rules('*nat\n:X - [0:0]\n-A X -m comment --comment "a b \\"c\\"" -j RETURN\nCOMMIT\n')
    assert rule.chain("nat", "X")[0].comment == 'a b "c"'


@pytest.mark.parametrize("text, value", [("0.3333333333", Fraction(1, 3)), ("0.5000000000", Fraction(1, 2)),
                                         ("0.1428571429", Fraction(1, 7)), ("0.3", Fraction(3, 10))])
def test_probabilities_are_read_back_as_the_fraction_kube_proxy_meant(text, value):
    # computeProbability writes 1/k as "%0.10f"; anything else is taken as written.
    rs = trace.parse_rules(f"*nat\n:X - [0:0]\n-A X -m statistic --mode random --probability {text} -j RETURN\nCOMMIT\n")
    assert rs.chain("nat", "X")[0].probability == value


def test_an_option_trace_does_not_model_is_an_error_not_a_guess():
    with pytest.raises(K8slabError, match="not modelled"):
        trace.parse_rules("*nat\n:X - [0:0]\n-A X --uid-owner 0 -j RETURN\nCOMMIT\n")


def test_the_jump_rules_are_the_ones_rules_explain_shows(plain):
    # The built-in chains' jumps are not restored by kube-proxy; `rules --explain` lists them
    # as comments. trace walks from the same rules.
    shown = [l.strip("# ").strip() for l in proxy.rules(plain, "node-a", explain=True).splitlines()
             if l.startswith("#   -A")]
    assert shown == [r for rules in trace.JUMP_RULES.values() for r in rules]


# -- the cluster IP ---------------------------------------------------------------------------

def test_the_random_cascade_gives_each_endpoint_exactly_one_nth(plain):
    t = trace.trace(plain, "pod/client", "10.96.0.20:80")
    assert t.verdict == "delivered"
    assert by_pod(t) == {"web-1": Fraction(1, 3), "web-2": Fraction(1, 3), "web-3": Fraction(1, 3)}
    # The steps cross KUBE-SERVICES -> KUBE-SVC -> KUBE-SEP and end in one DNAT.
    chains = [s["chain"] for s in t.steps if s["matched"]]
    assert chains[:2] == ["PREROUTING", "KUBE-SERVICES"]
    assert any(c.startswith("KUBE-SVC-") for c in chains) and any(c.startswith("KUBE-SEP-") for c in chains)


def test_a_pods_packet_keeps_its_source_and_a_nodes_is_masqueraded(plain):
    # `! -s clusterCIDR -j KUBE-MARK-MASQ` in the service chain: only non-pod sources are marked.
    pod = trace.trace(plain, "pod/client", "10.96.0.20:80")
    assert {b.src_seen for b in pod.branches} == {"10.244.2.9"}
    node = trace.trace(plain, "node/node-b", "10.96.0.20:80")
    assert node.packet["src"] == "192.0.2.12"
    assert node.steps[0]["chain"] == "OUTPUT"            # a node's own packet starts at nat OUTPUT
    assert any("MASQUERADE" in (s["note"] or "") for s in node.steps)


def test_a_hostnetwork_pod_sends_from_its_nodes_address_through_output(plain):
    t = trace.trace(plain, "pod/agent", "10.96.0.20:80")
    assert t.packet["src"] == "192.0.2.12" and t.steps[0]["chain"] == "OUTPUT"
    assert t.verdict == "delivered"


def test_another_port_of_the_cluster_ip_is_unrouted_not_refused(plain):
    # Nothing matches 10.96.0.20:81, and no interface owns a cluster IP: the packet is lost.
    t = trace.trace(plain, "pod/client", "10.96.0.20:81")
    assert t.verdict == "unrouted" and [b.verdict for b in t.branches] == ["unrouted"]


def test_a_udp_packet_to_a_tcp_port_matches_nothing(plain):
    t = trace.trace(plain, "pod/client", "10.96.0.20:80", protocol="udp")
    assert t.verdict == "unrouted"
    assert all(not s["matched"] for s in t.steps if s["chain"] == "KUBE-SERVICES" and s["rule"])


def test_no_endpoints_is_rejected_by_the_filter_table():
    # No endpoint: the filter table's KUBE-SERVICES has "-j REJECT" for the cluster IP.
    c = cluster_from(service("{selector: {app: none}, clusterIP: 10.96.0.20, ports: [{port: 80}]}"))
    t = trace.trace(c, "pod/client", "10.96.0.20:80")
    assert t.verdict == "rejected"
    last = [s for s in t.steps if s["matched"]][-1]
    assert last["table"] == "filter" and last["rule"].endswith("-j REJECT")


def test_internal_traffic_policy_local_drops_on_a_node_without_endpoints():
    c = cluster_from(service("{selector: {app: web}, clusterIP: 10.96.0.20, internalTrafficPolicy: Local, "
                             "ports: [{port: 80, targetPort: 8080}]}"))
    here = trace.trace(c, "pod/client", "10.96.0.20:80")          # node-b has web-3
    assert by_pod(here) == {"web-3": 1}
    gone = cluster_from(service("{selector: {app: web}, clusterIP: 10.96.0.20, internalTrafficPolicy: Local, "
                                "ports: [{port: 80, targetPort: 8080}]}").replace("nodeName: node-b, containers: [{name: c, image: x, ports",
                                                                                   "nodeName: node-a, containers: [{name: c, image: x, ports"))
    assert trace.trace(gone, "pod/client", "10.96.0.20:80").verdict == "dropped"


def test_a_pod_reaching_itself_through_its_service_is_masqueraded(plain):
    # Hairpin: every KUBE-SEP chain starts with `-s <endpoint IP> -j KUBE-MARK-MASQ`, so the
    # pod's own packet, DNATed back to it, leaves with the node's address.
    c = cluster_from(service("{selector: {app: web}, clusterIP: 10.96.0.20, ports: [{port: 80, targetPort: 8080}]}")
                     .replace("metadata: {name: client}", "metadata: {name: client, labels: {app: web}}"))
    t = trace.trace(c, "pod/client", "10.96.0.20:80")
    seen = {b.pod: b.src_seen for b in t.branches}
    assert seen["client"] == "192.0.2.12"
    assert seen["web-1"] == "10.244.2.9"


def test_the_packet_crosses_to_the_pods_node_where_no_rule_rewrites_it_again(plain):
    # Conntrack is per node: on web-1's node the packet is a new connection to a pod's own
    # address, which no KUBE-SERVICES rule matches, so it is DNATed once, on the client's node.
    for seed in range(50):
        t = trace.trace(plain, "pod/client", "10.96.0.20:80", seed=seed)
        dnat = [s for s in t.steps if (s["note"] or "").startswith("DNAT")]
        if dnat[0]["note"].endswith("10.244.1.5:8080"):
            break
    else:
        raise AssertionError("no seed sends the packet to web-1")
    assert len(dnat) == 1 and dnat[0]["node"] == "node-b"
    there = [s for s in t.steps if s["node"] == "node-a" and s["chain"] == "KUBE-SERVICES" and s["rule"]]
    assert there and not any(s["matched"] for s in there)
    assert t.steps[-1]["note"].startswith("delivered to pod web-1")


def test_seed_makes_the_steps_follow_one_branch(plain):
    dnats = set()
    for seed in range(12):
        t = trace.trace(plain, "pod/client", "10.96.0.20:80", seed=seed)
        note = next(s["note"] for s in t.steps if (s["note"] or "").startswith("DNAT"))
        dnats.add(note.rsplit(" ", 1)[1])
        assert t.steps == trace.trace(plain, "pod/client", "10.96.0.20:80", seed=seed).steps
    assert dnats == {b.dst for b in t.branches}


def test_session_affinity_repeat_connections_return_to_the_first_pod():
    c = cluster_from(service("{selector: {app: web}, clusterIP: 10.96.0.20, sessionAffinity: ClientIP, "
                             "ports: [{port: 80, targetPort: 8080}]}"))
    first = trace.trace(c, "pod/client", "10.96.0.20:80")
    assert by_pod(first) == {"web-1": Fraction(1, 3), "web-2": Fraction(1, 3), "web-3": Fraction(1, 3)}
    again = trace.trace(c, "pod/client", "10.96.0.20:80", repeat=True, seed=1)
    assert by_pod(again) == by_pod(first)
    # The repeat matched a `--rcheck` rule: the client is in the list the first one `--set`.
    assert any(s["matched"] and "--rcheck" in s["rule"] for s in again.steps)


# -- node ports and the traffic policies --------------------------------------------------------

def test_a_node_port_from_outside_is_masqueraded_to_the_receiving_nodes_address():
    c = cluster_from(service(NODE_PORT))
    t = trace.trace(c, "laptop", "192.0.2.12:30080")
    assert t.packet["src"] == trace.CLIENT_ADDRESSES["laptop"]
    assert {b.src_seen for b in t.branches} == {"192.0.2.12"}
    assert by_pod(t) == {"web-1": Fraction(1, 3), "web-2": Fraction(1, 3), "web-3": Fraction(1, 3)}


def test_external_traffic_policy_local_keeps_the_source_or_drops():
    c = cluster_from(service(NODE_PORT.replace("type: NodePort", "type: NodePort, externalTrafficPolicy: Local")))
    here = trace.trace(c, "laptop", "192.0.2.11:30080")
    assert by_pod(here) == {"web-1": Fraction(1, 2), "web-2": Fraction(1, 2)}
    assert {b.src_seen for b in here.branches} == {trace.CLIENT_ADDRESSES["laptop"]}
    c2 = cluster_from(service(NODE_PORT.replace("type: NodePort", "type: NodePort, externalTrafficPolicy: Local"))
                      .replace("nodeName: node-b, containers: [{name: c, image: x, ports",
                               "nodeName: node-a, containers: [{name: c, image: x, ports"))
    none_here = trace.trace(c2, "laptop", "192.0.2.12:30080")
    assert none_here.verdict == "dropped"
    last = [s for s in none_here.steps if s["matched"]][-1]
    assert last["chain"] == "KUBE-EXTERNAL-SERVICES" and last["rule"].endswith("-j DROP")


def test_pod_traffic_to_a_local_policy_node_port_goes_cluster_wide():
    # KUBE-EXT: "pod traffic for ... external destinations" -s clusterCIDR -j KUBE-SVC.
    c = cluster_from(service(NODE_PORT.replace("type: NodePort", "type: NodePort, externalTrafficPolicy: Local"))
                     .replace("nodeName: node-b, containers: [{name: c, image: x, ports",
                              "nodeName: node-a, containers: [{name: c, image: x, ports"))
    t = trace.trace(c, "pod/client", "192.0.2.12:30080")
    assert t.verdict == "delivered" and {b.src_seen for b in t.branches} == {"10.244.2.9"}


def test_localhost_node_ports_are_caught_and_masqueraded(plain):
    c = cluster_from(service(NODE_PORT))
    t = trace.trace(c, "node/node-a", "127.0.0.1:30080")
    assert t.packet["src"] == "127.0.0.1"
    assert t.verdict == "delivered" and {b.src_seen for b in t.branches} == {"192.0.2.11"}


def test_outside_clients_cannot_route_to_cluster_ips_and_the_internet_only_to_load_balancers(plain):
    assert trace.trace(plain, "laptop", "10.96.0.20:80").verdict == "unrouted"
    c = cluster_from(service(NODE_PORT))
    assert trace.trace(c, "internet", "192.0.2.11:30080").verdict == "unrouted"


def test_a_node_address_on_a_port_nobody_listens_on_is_refused(plain):
    t = trace.trace(plain, "laptop", "192.0.2.11:80")
    assert t.verdict == "rejected"


# -- load balancers -----------------------------------------------------------------------------

LB = ("{type: LoadBalancer, selector: {app: web}, clusterIP: 10.96.0.20, "
      "ports: [{name: http, port: 80, targetPort: http, nodePort: 30080}]}")


def test_a_load_balancer_spreads_over_nodes_and_each_node_over_pods():
    c = cluster_from(service(LB))
    lb = c.service("web").load_balancer_ingress[0]
    t = trace.trace(c, "internet", f"{lb}:80")
    assert by_pod(t) == {"web-1": Fraction(1, 3), "web-2": Fraction(1, 3), "web-3": Fraction(1, 3)}
    assert {b.src_seen for b in t.branches} == {"192.0.2.11", "192.0.2.12"}


def test_load_balancer_source_ranges_drop_other_sources():
    # KUBE-FW: `-s RANGE -j KUBE-EXT` for each range, then the packet falls through and the
    # filter table's KUBE-PROXY-FIREWALL drops what is still addressed to the load balancer.
    spec = LB.replace("type: LoadBalancer", "type: LoadBalancer, loadBalancerSourceRanges: [198.51.100.10/32]")
    c = cluster_from(service(spec))
    lb = c.service("web").load_balancer_ingress[0]
    assert trace.trace(c, "laptop", f"{lb}:80").verdict == "delivered"        # 198.51.100.10
    denied = trace.trace(c, "internet", f"{lb}:80")
    assert denied.verdict == "dropped"
    last = [s for s in denied.steps if s["matched"]][-1]
    assert last["chain"] == "KUBE-PROXY-FIREWALL"
    everyone = cluster_from(service(LB.replace("type: LoadBalancer",
                                               "type: LoadBalancer, loadBalancerSourceRanges: [0.0.0.0/0]")))
    assert trace.trace(everyone, "internet", f"{lb}:80").verdict == "delivered"


def test_a_pod_dialing_the_load_balancer_is_caught_on_its_own_node():
    c = cluster_from(service(LB))
    lb = c.service("web").load_balancer_ingress[0]
    t = trace.trace(c, "pod/client", f"{lb}:80")
    assert t.steps[0]["node"] == "node-b" and t.verdict == "delivered"


# -- the dial, the JSON, the command --------------------------------------------------------------

@pytest.mark.parametrize("dial, words", [("10.96.0.20", "no port"), ("10.96.0.20:0", "1 to 65535"),
                                         ("10.96.0.20:http", "1 to 65535"), ("1.2.3:80", "not an IPv4"),
                                         ("under_score:80", "neither a name"), (":80", "no host")])
def test_a_bad_dial_says_what_to_give(dial, words):
    with pytest.raises(trace.DialError, match=words):
        trace.parse_dial(dial)


def test_a_service_name_means_its_cluster_ip_from_inside_only(plain):
    t = trace.trace(plain, "pod/client", "web:80")
    assert t.packet["dst"] == "10.96.0.20" and t.verdict == "delivered"
    assert trace.trace(plain, "pod/client", "web.default.svc.cluster.local:80").packet["dst"] == "10.96.0.20"
    with pytest.raises(trace.DialError, match="cannot ask the cluster's DNS"):
        trace.trace(plain, "laptop", "web:80")


def test_json_has_the_contracts_shape(plain):
    d = trace.trace(plain, "pod/client", "10.96.0.20:80").to_dict()
    assert set(d) == {"packet", "steps", "branches", "verdict"}
    assert d["packet"] == {"src": "10.244.2.9", "dst": "10.96.0.20", "protocol": "tcp", "dport": 80}
    assert {"node", "table", "chain", "rule", "matched"} <= set(d["steps"][0])
    assert {"pod", "probability", "dst", "src_seen"} <= set(d["branches"][0])
    assert sum(b["probability"] for b in d["branches"]) == pytest.approx(1)
    json.dumps(d)


def test_cli_trace_prints_the_walk_and_json(capsys, tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text(__import__("textwrap").dedent(service(CLUSTER_IP)))
    assert main(["trace", str(f), "--client", "pod/client", "--dial", "10.96.0.20:80", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert "nat PREROUTING" in out and "[match]" in out and "Verdict: delivered" in out
    assert main(["trace", str(f), "--client", "pod/client", "--dial", "10.96.0.20:80", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "delivered"


@pytest.mark.parametrize("dial", ["10.96.0.20", "10.96.0.20:70000", "bad_host:80"])
def test_cli_bad_dial_is_a_usage_error(capsys, tmp_path, dial):
    f = tmp_path / "c.yaml"
    f.write_text(__import__("textwrap").dedent(service(CLUSTER_IP)))
    with pytest.raises(SystemExit) as e:
        main(["trace", str(f), "--client", "pod/client", "--dial", dial])
    assert e.value.code == 2
    assert "HOST:PORT" in capsys.readouterr().err


def test_cli_a_name_an_outside_client_cannot_resolve_is_a_usage_error(capsys, tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text(__import__("textwrap").dedent(service(CLUSTER_IP)))
    assert main(["trace", str(f), "--client", "laptop", "--dial", "web:80"]) == 2
    assert "dial an address" in capsys.readouterr().err


# -- kube-proxy's own packet-flow tests, walked by trace ---------------------------------------

def _upstream_flow_tests():
    import inspect
    import test_rules as upstream
    return upstream, [n for n in dir(upstream) if n.startswith("test_")
                      and "run_flows(" in inspect.getsource(getattr(upstream, n))]


def _walk_like_upstream(upstream):
    """test_rules' `trace(text, src, dst, dport, proto)` answered by trace.walk instead."""
    from k8slab.model import Cluster, Node
    node = Cluster([Node(upstream.NODE, upstream.NODE_IP)])
    local = {ip for ip in upstream.LOCAL_IPS if ":" not in ip}

    def walked(text, src, dst, dport, proto="tcp"):
        walks = trace.walk(node, upstream.NODE, src, dst, int(dport), proto, local_addresses=local, rules=text)
        targets = sorted({f"{w.packet.dst}:{w.packet.dport}" for w in walks if w.packet.dnat},
                         key=lambda t: tuple(int(x) for x in t.replace(":", ".").split(".")))
        matched = [s["rule"] for w in walks for s in w.steps if s["matched"]]
        if targets:
            out = ", ".join(targets)
        elif any(w.outcome in ("DROP", "REJECT") for w in walks):
            out = next(w.outcome for w in walks if w.outcome in ("DROP", "REJECT"))
        elif any(r.startswith("-A KUBE-NODEPORTS") and r.endswith("-j ACCEPT") for r in matched):
            out = "ACCEPT"                   # the health-check node port
        else:
            out = ""
        return out, any(w.marked for w in walks), matched
    return walked


@pytest.mark.parametrize("name", _upstream_flow_tests()[1])
def test_kube_proxys_packet_flows_give_the_same_answers_through_trace(name, monkeypatch):
    """Every packet-flow case of proxier_test.go that tests/test_rules.py reproduces, walked
    by trace.walk (all hooks, marks, conntrack states) instead of upstream's small tracer."""
    import itertools
    upstream, _ = _upstream_flow_tests()
    monkeypatch.setattr(upstream, "trace", _walk_like_upstream(upstream))
    fn = getattr(upstream, name)
    marks = [m for m in getattr(fn, "pytestmark", []) if m.name == "parametrize"]
    axes = []
    for m in marks:
        names = [n.strip() for n in m.args[0].split(",")] if isinstance(m.args[0], str) else list(m.args[0])
        axes.append([dict(zip(names, v if len(names) > 1 else (v,))) for v in m.args[1]])
    for combo in itertools.product(*axes):
        kwargs = {k: v for d in combo for k, v in d.items()}
        fn(**kwargs)
