"""The conveniences on Cluster that hand over to the layers above it: from_yaml and route."""

# The model is data only and imports nothing of k8slab's; these two methods are the public
# API DESIGN.md promises (`Cluster.from_yaml(text)`, `cluster.route(...)`), so they are
# attached here, once, by `import k8slab` (which runs before any of its submodules). The
# parser and the router load on first use, so `import k8slab` stays fast.
from __future__ import annotations

from .model import Cluster

__all__ = ["from_yaml", "route"]


def from_yaml(cls, text: str, filename: str = "<string>") -> Cluster:
    """A cluster from YAML text (any number of documents, or a `kind: List`)."""
    from . import manifests
    from .errors import K8slabError
    if isinstance(text, (bytes, bytearray)):
        try:                                  # YAML is text; bytes in UTF-8 are taken as such
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise K8slabError(f"{filename}: not UTF-8 text (byte 0x{text[e.start]:02x} at position "
                              f"{e.start}); from_yaml takes YAML text") from None
    if not isinstance(text, str):
        import os
        hint = (": that is a path, so use k8slab.load(path)" if isinstance(text, os.PathLike) else
                ": give the YAML text itself, e.g. open(\"app.yaml\").read(), or yaml.safe_dump(obj) "
                "for an object you built" if isinstance(text, (dict, list)) else
                ": give the YAML text itself, e.g. open(\"app.yaml\").read()")
        raise K8slabError(f"{filename}: Cluster.from_yaml takes YAML text (a str), not "
                          f"{type(text).__name__}{hint}")
    return manifests.load_texts([(filename, text)])


def route(self: Cluster, client: str, service: str, namespace: str = "default", port=None,
          entry: str | None = None, via_node: str | None = None, protocol: str | None = None,
          name: str | None = None):
    """How `client` reaches `service` (typing `name` for it, if given): a `k8slab.routing.Route`."""
    from . import routing
    return routing.route(self, client=client, service=service, namespace=namespace,
                         port=port, entry=entry, via_node=via_node, protocol=protocol, name=name)


Cluster.from_yaml = classmethod(from_yaml)
Cluster.route = route
