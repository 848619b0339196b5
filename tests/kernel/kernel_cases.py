"""Every client x Service x way in of a cluster, what `route` says of it, and the kernel's verdict.

Shared by the tests (tests/kernel/test_*.py) and benchmarks/kernel.py."""

from __future__ import annotations

import collections
import pathlib
import time
from dataclasses import dataclass, field

from k8slab import routing
from k8slab.simulate import chi_square, chi_square_p

from netlab import Lab, Outcome

P_MIN = 0.001            # a distribution check fails below this p-value (twice, see `check`)
ANSWERED_N = 300         # connections per case that should reach a pod
FAILING_N = 24           # connections per case that should be refused or time out
FIRST_ROUND = 48         # connections tried first; a case already failing stops there
TIMEOUT = 0.5            # seconds a connection that should fail may take (DROP: a timeout)
# seconds a connection that should be answered may take: long enough for one SYN
# retransmission (1 s), since a SYN can be lost to a conntrack insertion race when many
# connections are masqueraded at once (kube-proxy adds --random-fully where iptables has
# it; `k8slab rules` prints kube-proxy's test output, which has not)
ANSWER_TIMEOUT = 1.2


HERE = pathlib.Path(__file__).parent
DEMO_YAML = HERE.parents[1] / "notebooks" / "manifests" / "demo.yaml"
POLICIES_YAML = HERE / "policies.yaml"


def cli_rules(paths, node: str) -> str:
    """Exactly what `k8slab rules FILE... --node NODE` prints (the CLI, run in-process)."""
    import contextlib
    import io

    from k8slab import cli
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(["rules", *map(str, paths), "--node", node])
    if code != 0:
        raise RuntimeError(f"k8slab rules --node {node} exited {code}")
    return out.getvalue()


NODEPORTS_YAML = HERE / "nodeports.yaml"


def nodeports_cluster():
    """The third cluster (nodeports.yaml): nodePortAddresses lists one node's address only."""
    import k8slab
    return k8slab.load(str(NODEPORTS_YAML))


def policies_cluster():
    """The second cluster (policies.yaml): Local policies, affinity, UDP, no endpoints, hostNetwork."""
    import k8slab
    return k8slab.load(str(POLICIES_YAML))


def policies_clients(cluster) -> list[str]:
    """The demo covers every pod; here: the pod on the batch node, the hostNetwork pod, one web
    pod on a node with endpoints, a node, and the outside clients."""
    web = next(p.name for p in cluster.pods if p.name.startswith("web") and p.node == "node-a")
    return ["pod/client", "pod/agent", f"pod/{web}", "node/node-b", "laptop", "other-cluster", "internet"]


@dataclass
class Case:
    """One way one client dials one Service port, and what the route says happens."""

    id: str
    client: str
    service: str
    namespace: str
    port: int | None
    entry: str | None
    via: str | None
    route: dict
    service_obj: object = field(repr=False, default=None)
    skip: str | None = None
    dial: tuple[str, int, str] | None = None       # host, port, protocol
    expect: str | None = None                      # answered, refused, timeout

    @property
    def sticky(self) -> bool:
        return getattr(self.service_obj, "session_affinity", "None") == "ClientIP"


def clients_of(cluster) -> list[str]:
    out = []
    for p in cluster.pods:
        if p.node and p.ip:
            out.append(f"pod/{p.name}" if p.namespace == "default" else f"pod/{p.namespace}/{p.name}")
    out += [f"node/{n.name}" for n in cluster.nodes]
    return out + ["laptop", "other-cluster", "internet"]


def cases(cluster, clients=None) -> list[Case]:
    """Every (client, Service port, way in, node dialed) with a distinct dial, in a stable order."""
    out: list[Case] = []
    seen = set()
    for client in clients or clients_of(cluster):
        for svc in cluster.services:
            ports = list(svc.ports) or [None]
            for sp in ports:
                default = routing.route(cluster, client, svc.name, svc.namespace,
                                        port=sp.port if sp else None)
                tries = [(None, None)]
                tries += [("NodePort", n.name) for n in cluster.nodes]
                tries += [("ClusterIP", None), ("LoadBalancer", None), ("ExternalIP", None)]
                for entry, via in tries:
                    r = default if (entry, via) == (None, None) else routing.route(
                        cluster, client, svc.name, svc.namespace, port=sp.port if sp else None,
                        entry=entry, via_node=via)
                    case = _case(cluster, client, svc, sp, entry, via, r)
                    if case is None:
                        continue
                    key = (client, svc.key, sp.port if sp else None, case.dial, case.skip)
                    if key in seen:
                        continue
                    seen.add(key)
                    out.append(case)
    return out


def _case(cluster, client, svc, sp, entry, via, r) -> Case | None:
    d = r.to_dict()
    forced = entry is not None
    name = f"{client}->{svc.name}:{sp.port if sp else '-'}"
    case = Case(id="", client=client, service=svc.name, namespace=svc.namespace,
                port=sp.port if sp else None, entry=d["entry"], via=via, route=d, service_obj=svc)
    if d["entry"] == "DNS":
        if forced:
            return None
        case.skip = "DNS-only (headless/ExternalName): no proxy rule, nothing to referee"
        case.id = f"{name}[skip-dns-only]"
        return case
    if d["entry"] is None or d["code"] in ("not-exposed", "lb-pending", "no-such-port", "nxdomain"):
        if forced:
            return None                        # not a way this client can dial at all
        case.skip = f"{d['code']}: the client has no way in, nothing is sent"
        case.id = f"{name}[skip-{d['code']}]"
        return case
    host_port = dial_address(d)
    if host_port is None:
        case.skip = "no dialed address in the route's hops"
        case.id = f"{name}[skip-no-address]"
        return case
    host, port = host_port.rsplit(":", 1)
    case.dial = (host, int(port), sp.protocol)
    case.expect = {"ok": "answered", "no-endpoints": "refused",
                   "no-local-endpoints": "timeout", "node-port-closed": "refused"}.get(d["code"])
    if case.expect is None:
        case.skip = f"route code {d['code']!r}: no kernel expectation defined"
    via_txt = f"@{_hop_node(d)}" if d["entry"] == "NodePort" else ""
    case.id = f"{name}[{d['entry']}{via_txt}->{case.expect or 'skip'}]"
    return case


def dial_address(route: dict) -> str | None:
    """The address the client sends its first packet to: the first hop after the client."""
    for h in route["hops"][1:]:
        if h["kind"] in ("load-balancer", "external-ip", "node-port", "cluster-ip", "service") and "address" in h:
            return h["address"]
    return None


def expected_dial(cluster, case: Case) -> str:
    """The same address, from the cluster's own objects (a check on the route's hops)."""
    svc = case.service_obj
    sp = svc.port_for(case.port)
    if case.entry == "ClusterIP":
        return f"{svc.cluster_ip}:{sp.port}"
    if case.entry == "NodePort":
        node = cluster.node(_hop_node(case.route))
        return f"{node.address}:{sp.node_port}"
    if case.entry == "LoadBalancer":
        return f"{svc.load_balancer_ingress[0]}:{sp.port}"
    if case.entry == "ExternalIP":
        return f"{svc.external_ips[0]}:{sp.port}"
    raise AssertionError(case.entry)


def _hop_node(route: dict) -> str | None:
    for h in route["hops"]:
        if h["kind"] == "node-port" and "node" in h:
            return h["node"]
    return None


def handling_nodes(cluster, case: Case) -> set[str]:
    """Nodes whose kube-proxy rules handle the packet: named by the hops, else the client's."""
    nodes = set()
    for h in case.route["hops"][1:]:
        if "node" in h:
            nodes.add(h["node"])
        nodes |= set(h.get("nodes", ()))
    if not nodes:
        if case.client.startswith("node/"):
            nodes.add(case.client[5:])
        elif case.client.startswith("pod/"):
            parts = case.client.split("/")
            pod = cluster.pod(parts[-1], parts[1] if len(parts) == 3 else "default")
            nodes.add(pod.node)
    return nodes


# ---------------------------------------------------------------------------------------
# Running a case in the lab and judging it
# ---------------------------------------------------------------------------------------

@dataclass
class Verdict:
    case: Case
    connections: int = 0
    seconds: float = 0.0
    outcomes: collections.Counter = field(default_factory=collections.Counter)
    p_values: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    check_source: bool = True

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        c = self.case
        kinds = ", ".join(f"{k}: {n}" for k, n in sorted(self.outcomes.items(), key=str))
        return (f"{c.id}: dial {c.dial[0]}:{c.dial[1]}/{c.dial[2]} from {c.client}; kernel saw {{{kinds}}}; "
                f"route said code={c.route['code']} source_ip_preserved={c.route['source_ip_preserved']} "
                f"endpoints={[(e['pod'], e['probability']) for e in c.route['endpoints']]}"
                + (f"; p={', '.join(f'{p:.3g}' for p in self.p_values)}" if self.p_values else "")
                + ("; PROBLEMS: " + " | ".join(self.problems) if self.problems else ""))


def run(lab: Lab, case: Case, check_source: bool = True) -> Verdict:
    """Connect N times as the case says, and compare every answer with the route.

    `check_source=False` leaves out the source-address comparison (see known.py: only where
    whether a known disagreement shows is chance)."""
    v = Verdict(case)
    v.check_source = check_source
    t0 = time.monotonic()
    host, port, proto = case.dial
    if case.expect == "answered":
        results = lab.connect(case.client, host, port, proto, count=FIRST_ROUND, timeout=ANSWER_TIMEOUT)
        if all(o.kind == "answered" for o in results):
            results += lab.connect(case.client, host, port, proto, count=ANSWERED_N - FIRST_ROUND,
                                   timeout=ANSWER_TIMEOUT)
    else:
        results = lab.connect(case.client, host, port, proto, count=FAILING_N, timeout=TIMEOUT)
    _judge(lab, case, results, v)
    # A distribution check that fails may be chance (p < 0.001 happens once in a thousand):
    # measure once more with a fresh sample; the case fails only if both samples reject.
    if v.problems and v.p_values and all(p.startswith("distribution") for p in v.problems):
        v2 = Verdict(case, check_source=check_source)
        more = lab.connect(case.client, host, port, proto, count=ANSWERED_N, timeout=ANSWER_TIMEOUT)
        _judge(lab, case, more, v2)
        v.connections += v2.connections
        v.outcomes.update(v2.outcomes)
        v.p_values += v2.p_values
        v.problems = v2.problems and v.problems + v2.problems
    v.seconds = time.monotonic() - t0
    return v


def _judge(lab: Lab, case: Case, results: list[Outcome], v: Verdict) -> None:
    v.connections += len(results)
    for o in results:
        v.outcomes[(o.kind, o.pod, o.seen) if o.kind == "answered" else (o.kind, o.detail or None, None)] += 1
    kinds = collections.Counter(o.kind for o in results)
    if case.expect != "answered":
        if kinds.get(case.expect, 0) != len(results):
            v.problems.append(f"expected every connection {case.expect}, got {dict(kinds)}")
        return
    endpoints = case.route["endpoints"]
    # route's shares may leave a part out: connections it says time out (a reply that
    # bypasses the node that DNATed it, a load balancer failing open onto nodes with nothing).
    lost = 1 - sum(e["probability"] or 0 for e in endpoints)
    if lost > 1e-9 and not case.sticky:
        if set(kinds) - {"answered", "timeout"}:
            v.problems.append(f"expected answers and timeouts, got {dict(kinds)}")
        observed = [sum(1 for o in results if o.kind == "answered" and o.pod == e["pod"]) for e in endpoints]
        observed.append(kinds.get("timeout", 0))
        stat, dof = chi_square(observed, [e["probability"] for e in endpoints] + [lost])
        p = chi_square_p(stat, dof)
        v.p_values.append(p)
        if p < P_MIN:
            v.problems.append(f"distribution: observed {observed} (last: timeouts) against "
                              f"{[e['probability'] for e in endpoints] + [lost]} (p={p:.2g})")
        if v.check_source:
            _judge_source(lab, case, [o for o in results if o.kind == "answered"], v)
        return
    if kinds.get("answered", 0) != len(results):
        v.problems.append(f"expected every connection answered, got {dict(kinds)}")
    by_pod = {e["pod"]: e for e in endpoints}
    answers = [o for o in results if o.kind == "answered"]
    counts = collections.Counter(o.pod for o in answers)
    strangers = sorted(set(counts) - set(by_pod))
    if strangers:
        v.problems.append(f"pods not in the route's endpoints answered: {strangers}")
    if case.sticky:
        if len(counts) > 1:
            v.problems.append(f"sessionAffinity ClientIP, yet one client reached {sorted(counts)}")
    elif len(endpoints) == 1:
        if set(counts) - {endpoints[0]["pod"]}:
            v.problems.append(f"one endpoint {endpoints[0]['pod']}, answers from {sorted(counts)}")
    elif endpoints and answers:
        observed = [counts.get(e["pod"], 0) for e in endpoints]
        stat, dof = chi_square(observed, [e["probability"] for e in endpoints])
        p = chi_square_p(stat, dof)
        v.p_values.append(p)
        if p < P_MIN:
            v.problems.append(f"distribution: observed {dict(zip(by_pod, observed))} against "
                              f"{ {e['pod']: e['probability'] for e in endpoints} } (p={p:.2g})")
    if v.check_source:
        _judge_source(lab, case, answers, v)


def _judge_source(lab: Lab, case: Case, answers: list[Outcome], v: Verdict) -> None:
    client_ip = lab.client_address(case.client)
    node_addrs = {a for n in handling_nodes(lab.cluster, case) for a in lab.addresses_of(f"node/{n}")}
    wrong = collections.Counter()
    for o in answers:
        e = next((e for e in case.route["endpoints"] if e["pod"] == o.pod), None)
        if e is None:
            continue
        exact = e.get("source_seen") or e.get("src_seen")
        if exact in ("client", "node", "client or node"):
            # route's per-pod answer: the client's own address, or one of the handling node's
            allowed = ({client_ip} if "client" in exact else set()) | (node_addrs if "node" in exact else set())
            if o.seen not in allowed:
                wrong[(o.pod, o.seen, f"route: {exact}")] += 1
        elif exact is not None:
            if o.seen != exact:
                wrong[(o.pod, o.seen, f"route: {exact}")] += 1
        elif case.route["source_ip_preserved"]:
            if o.seen != client_ip:
                wrong[(o.pod, o.seen, f"route: preserved ({client_ip})")] += 1
        elif o.seen not in node_addrs:
            wrong[(o.pod, o.seen, f"route: not preserved, a node address of {sorted(node_addrs)}")] += 1
    if wrong:
        v.problems.append("source seen: " + "; ".join(
            f"{pod} saw {seen} x{n} ({why})" for (pod, seen, why), n in sorted(wrong.items())))
