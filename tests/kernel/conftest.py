"""The kernel harness's gate and labs: built once per session, torn down even when a test fails.

It runs when it can (root, `ip netns`, a working iptables-restore) and skips with the reason
otherwise; under K8SLAB_REQUIRE_KERNEL=1 (CI) it fails instead of skipping."""

import os

import pytest

import k8slab
import netlab
from kernel_cases import (DEMO_YAML, NODEPORTS_YAML, POLICIES_YAML, cli_rules, nodeports_cluster,
                          policies_cluster)

REQUIRED = os.environ.get("K8SLAB_REQUIRE_KERNEL") == "1"


@pytest.fixture(scope="session")
def kernel():
    why = netlab.missing()
    if why:
        if REQUIRED:
            pytest.fail(f"K8SLAB_REQUIRE_KERNEL=1 but the kernel harness cannot run: {why}")
        pytest.skip(f"kernel harness: {why}")
    netlab.cleanup_leftovers()
    return netlab.restore_command()


def _lab(cluster, restore, yaml_path):
    # Each node gets exactly what `k8slab rules FILE --node N` prints for it.
    lab = netlab.Lab(cluster, restore=restore, rules_for=lambda node: cli_rules([yaml_path], node))
    try:
        lab.build()
    except BaseException:
        lab.close()
        raise
    return lab


@pytest.fixture(scope="session")
def demo_lab(kernel, request):
    lab = _lab(k8slab.demo_cluster(), kernel, DEMO_YAML)
    request.addfinalizer(lab.close)
    return lab


@pytest.fixture(scope="session")
def policies_lab(kernel, request):
    lab = _lab(policies_cluster(), kernel, POLICIES_YAML)
    request.addfinalizer(lab.close)
    return lab


@pytest.fixture(scope="session")
def nodeports_lab(kernel, request):
    lab = _lab(nodeports_cluster(), kernel, NODEPORTS_YAML)
    request.addfinalizer(lab.close)
    return lab
