"""The demo cluster in a real kernel: every client x Service x way in, against `route`."""

import pytest

import k8slab
import kernel_cases as C
from kernel_known import marks_for, source_check_is_chance

DEMO = k8slab.demo_cluster()
CASES = C.cases(DEMO)


# Only cases that send a packet are tests; the others (no way in, DNS only) have nothing for a
# kernel to referee and are accounted for, with their reason, by the matrix test below.
@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=marks_for(DEMO, c)) for c in CASES if not c.skip])
def test_demo(case, demo_lab):
    assert f"{case.dial[0]}:{case.dial[1]}" == C.expected_dial(DEMO, case), "route's dialed address"
    verdict = C.run(demo_lab, case, check_source=not source_check_is_chance(DEMO, case))
    assert verdict.ok, verdict.text()


def test_demo_matrix_is_complete():
    """Every client meets every Service at least once (run or skipped with a reason)."""
    pairs = {(c.client, c.service) for c in CASES}
    assert pairs == {(cl, s.name) for cl in C.clients_of(DEMO) for s in DEMO.services}
    proxied = [c for c in CASES if not c.skip]
    assert all(c.skip.strip() for c in CASES if c.skip), "every case not sent says why"
    assert {c.expect for c in proxied} == {"answered"}          # the demo has no broken Service
    assert {c.entry for c in proxied} == {"ClusterIP", "NodePort", "LoadBalancer"}


def test_the_demo_file_is_the_demo_cluster():
    """The lab loads `k8slab rules notebooks/manifests/demo.yaml`; the cases use demo_cluster()."""
    from k8slab import proxy
    for node in DEMO.nodes:
        assert C.cli_rules([C.DEMO_YAML], node.name) == proxy.rules(DEMO, node.name)
