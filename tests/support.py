"""Test helpers shared by several test files (import as `from support import ...`)."""

import textwrap

import k8slab


def cluster_from(yaml_text: str, **kw) -> k8slab.Cluster:
    """A cluster from an indented YAML snippet."""
    from k8slab.manifests import load_texts
    return load_texts([("test.yaml", textwrap.dedent(yaml_text))], **kw)
