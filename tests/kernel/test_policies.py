"""Traffic policies, affinity, UDP, no endpoints and hostNetwork pods in a real kernel."""

import collections

import pytest

import kernel_cases as C
import netlab
from kernel_known import marks_for, source_check_is_chance

CLUSTER = C.policies_cluster()
CLIENTS = C.policies_clients(CLUSTER)
CASES = C.cases(CLUSTER, CLIENTS)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=marks_for(CLUSTER, c)) for c in CASES if not c.skip])
def test_policies(case, policies_lab):
    assert f"{case.dial[0]}:{case.dial[1]}" == C.expected_dial(CLUSTER, case), "route's dialed address"
    verdict = C.run(policies_lab, case, check_source=not source_check_is_chance(CLUSTER, case))
    assert verdict.ok, verdict.text()


def test_the_cases_cover_what_the_issue_asks():
    got = {(c.service, c.expect) for c in CASES if not c.skip}
    assert ("nobody", "refused") in got                        # no endpoints: REJECT
    assert ("local-np", "timeout") in got                      # no local endpoints: DROP
    assert ("node-local", "timeout") in got
    assert ("sticky", "answered") in got
    assert ("dns", "answered") in got                          # UDP
    assert any(c.client == "pod/agent" and not c.skip for c in CASES)      # hostNetwork client
    hairpin = [c for c in CASES if c.client.startswith("pod/web") and c.service == "sticky"]
    assert hairpin


def test_load_balancer_targets_match_the_route(policies_lab):
    """The lab's load balancer sends to the nodes the route says pass the health check."""
    for case in CASES:
        if case.entry == "LoadBalancer" and not case.skip and case.client in netlab.OUTSIDE:
            lb = next(h for h in case.route["hops"] if h["kind"] == "load-balancer")
            assert lb["nodes"] == policies_lab.lb_targets[f"{case.namespace}/{case.service}"]


def test_affinity_spreads_clients_and_sticks_each(policies_lab):
    """sessionAffinity ClientIP: each client address keeps its pod; different clients spread.

    The route JSON has no field for affinity: the expectation (stick per client address, first
    pick as the route's probabilities) comes from the Service's sessionAffinity."""
    case = next(c for c in CASES if c.service == "sticky" and c.client == "pod/client")
    assert case.dial and case.sticky
    lab = policies_lab
    ns = lab.namespace_of("pod/client")
    # 60 extra addresses in the client pod's namespace (inside its node's pod CIDR): each is a
    # new ClientIP for kube-proxy's `-m recent` affinity table.
    extra = [f"10.244.3.{100 + i}" for i in range(60)]
    netlab._run(["ip", "-n", ns, "-batch", "-"],
                input_text="".join(f"addr add {a}/32 dev eth0\n" for a in extra))
    picks = collections.Counter()
    try:
        for a in extra:
            got = netlab.probe(ns, case.dial[0], case.dial[1], "TCP", count=5, bind=a, timeout=C.ANSWER_TIMEOUT)
            assert all(o.kind == "answered" for o in got), got
            pods = {o.pod for o in got}
            assert len(pods) == 1, f"client {a} reached {pods}"
            assert {o.seen for o in got} == {a}
            picks[pods.pop()] += 1
    finally:
        netlab._run(["ip", "-n", ns, "-batch", "-"], check=False,
                    input_text="".join(f"addr del {a}/32 dev eth0\n" for a in extra))
    eps = case.route["endpoints"]
    stat, dof = C.chi_square([picks.get(e["pod"], 0) for e in eps], [e["probability"] for e in eps])
    assert C.chi_square_p(stat, dof) >= C.P_MIN, (picks, eps)
