"""The demo cluster with kube-proxy in nftables mode, in a real kernel: `nft -f` loads what
`k8slab rules` prints into each node's namespace, and every client x Service x way in is
held to `route` (pods, shares, source seen, refused vs timeout), as test_demo.py does for
iptables mode. Plus what only nftables mode does: a cluster IP's undefined port is REJECTed
(connection refused), an unallocated cluster IP is DROPped, a node port on 127.0.0.1 is not
served."""

import pytest

import k8slab
import kernel_cases as C
import netlab
from k8slab import trace
from kernel_known import marks_for, source_check_is_chance

NFT_YAML = C.HERE / "nftables.yaml"
CLUSTER = k8slab.load(str(C.DEMO_YAML), str(NFT_YAML))
CASES = C.cases(CLUSTER)


@pytest.fixture(scope="session")
def nft_lab(kernel, request):
    import shutil
    if shutil.which("nft") is None:
        pytest.fail("nftables mode needs `nft` (apt-get install nftables)")
    lab = netlab.Lab(CLUSTER, restore=kernel,
                     rules_for=lambda node: C.cli_rules([C.DEMO_YAML, NFT_YAML], node))
    request.addfinalizer(lab.close)
    try:
        lab.build()
    except BaseException:
        lab.close()
        raise
    return lab


def test_the_lab_runs_nftables_rules(nft_lab):
    assert CLUSTER.proxy.mode == "nftables"
    for text in nft_lab.rules.values():
        assert text.startswith("add table ip kube-proxy")


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=marks_for(CLUSTER, c)) for c in CASES if not c.skip])
def test_demo_in_nftables_mode(case, nft_lab):
    verdict = C.run(nft_lab, case, check_source=not source_check_is_chance(CLUSTER, case))
    assert verdict.ok, verdict.text()


@pytest.mark.parametrize("protocol", ["TCP", "UDP"])
def test_undefined_cluster_ip_port_is_refused(nft_lab, protocol):
    # cluster-ips-check: `ip daddr @cluster-ips reject`; trace says rejected, so must the kernel.
    web = CLUSTER.service("web")
    assert trace.trace(CLUSTER, "pod/client", f"{web.cluster_ip}:81",
                              protocol=protocol.lower()).verdict == "rejected"
    got = nft_lab.connect("pod/client", web.cluster_ip, 81, protocol, count=4, timeout=C.TIMEOUT)
    assert {o.kind for o in got} == {"refused"}, got


def test_unallocated_cluster_ip_times_out(nft_lab):
    # `ip daddr { 10.96.0.0/12 } drop`: no answer at all.
    assert trace.trace(CLUSTER, "pod/client", "10.96.0.99:80").verdict == "dropped"
    got = nft_lab.connect("pod/client", "10.96.0.99", 80, "TCP", count=4, timeout=C.TIMEOUT)
    assert {o.kind for o in got} == {"timeout"}, got


# -- the policies cluster (Local policies, affinity, UDP, no endpoints, hostNetwork) in nftables mode

POLICIES = k8slab.load(str(C.POLICIES_YAML), str(NFT_YAML))
POLICY_CASES = C.cases(POLICIES, C.policies_clients(POLICIES))


@pytest.fixture(scope="session")
def nft_policies_lab(kernel, request):
    lab = netlab.Lab(POLICIES, restore=kernel,
                     rules_for=lambda node: C.cli_rules([C.POLICIES_YAML, NFT_YAML], node))
    request.addfinalizer(lab.close)
    try:
        lab.build()
    except BaseException:
        lab.close()
        raise
    return lab


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=marks_for(POLICIES, c)) for c in POLICY_CASES if not c.skip])
def test_policies_in_nftables_mode(case, nft_policies_lab):
    verdict = C.run(nft_policies_lab, case, check_source=not source_check_is_chance(POLICIES, case))
    assert verdict.ok, verdict.text()


def test_policy_cases_cover_refusals_drops_udp_and_affinity():
    got = {(c.service, c.expect) for c in POLICY_CASES if not c.skip}
    assert POLICIES.proxy.mode == "nftables"
    assert ("nobody", "refused") in got and ("local-np", "timeout") in got
    assert ("sticky", "answered") in got and ("dns", "answered") in got
