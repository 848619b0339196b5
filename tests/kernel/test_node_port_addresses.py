"""nodePortAddresses in a real kernel (issue 23.3): what `route` says for each node's node port
(`node-port-closed` where no listed range holds the node's address) is what the kernel does
with exactly the rules `k8slab rules` prints (pkg/proxy/iptables/proxier.go syncProxyRules)."""

import pytest

import kernel_cases as C
from kernel_known import marks_for

CLUSTER = C.nodeports_cluster()
CASES = [c for c in C.cases(CLUSTER) if c.entry == "NodePort"]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=marks_for(CLUSTER, c)) for c in CASES if not c.skip])
def test_node_ports(case, nodeports_lab):
    assert f"{case.dial[0]}:{case.dial[1]}" == C.expected_dial(CLUSTER, case), "route's dialed address"
    verdict = C.run(nodeports_lab, case)
    assert verdict.ok, verdict.text()


def test_both_answers_are_refereed():
    got = {(c.route["hops"][1].get("node"), c.expect) for c in CASES if not c.skip}
    assert ("node-a", "refused") in got and ("node-b", "answered") in got
    assert all(c.route["code"] == "node-port-closed" for c in CASES
               if not c.skip and c.route["hops"][1].get("node") == "node-a")
