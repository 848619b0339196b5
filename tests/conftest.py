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


@pytest.fixture(autouse=True, scope="session")
def _no_cluster_cache(tmp_path_factory):
    """Large inputs are cached on disk (manifests.load_texts): tests keep theirs in a temp dir,
    never in the user's ~/.cache, and start from an empty one."""
    import os
    old = os.environ.get("K8SLAB_CACHE_DIR")
    os.environ["K8SLAB_CACHE_DIR"] = str(tmp_path_factory.mktemp("k8slab-cache"))
    yield
    if old is None:
        os.environ.pop("K8SLAB_CACHE_DIR", None)
    else:
        os.environ["K8SLAB_CACHE_DIR"] = old
