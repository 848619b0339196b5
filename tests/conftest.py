"""Shared fixtures: the demo cluster and a way to build small clusters from YAML text."""

import pytest

import k8slab
from support import cluster_from

pytest_plugins = ["draw_goldens"]      # `--update-goldens`: the only way golden SVGs change


@pytest.fixture(scope="session")
def demo():
    return k8slab.demo_cluster()


@pytest.fixture
def make_cluster():
    return cluster_from

