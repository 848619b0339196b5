"""Shared fixtures: the demo cluster and a way to build small clusters from YAML text."""

import textwrap

import pytest

import k8slab


@pytest.fixture(scope="session")
def demo():
    return k8slab.demo_cluster()


def cluster_from(yaml_text: str, **kw) -> k8slab.Cluster:
    """A cluster from an indented YAML snippet (test helper)."""
    from k8slab.manifests import load_texts
    return load_texts([("test.yaml", textwrap.dedent(yaml_text))], **kw)


@pytest.fixture
def make_cluster():
    return cluster_from
