"""k8slab: how a request reaches a pod through a Kubernetes Service, as a model you can query."""

from __future__ import annotations

from . import draw as _draw_module  # noqa: F401 - first, so `k8slab.draw` below stays the function
from .errors import K8slabError, Problem
from .model import Cluster
from . import shortcuts as _shortcuts  # noqa: F401 - adds Cluster.from_yaml and Cluster.route

__all__ = ["Cluster", "K8slabError", "Problem", "load", "demo_cluster", "draw", "explorer",
           "doctor", "__version__"]

__version__ = "0.1.0"


def load(*paths: str, cloud: bool | None = None, service_cidr: str | None = None) -> Cluster:
    """A cluster from YAML files: manifests, multi-document files, `kubectl get -o yaml` output.

    `service_cidr`: the cluster's Service range, for files that do not say it (no ServiceCIDR
    objects, no default/kubernetes Service)."""
    from .manifests import load as _load
    return _load(*paths, cloud=cloud, service_cidr=service_cidr)


def demo_cluster() -> Cluster:
    """The built-in demo: three nodes, a 3-replica web app, one Service of each kind."""
    from importlib.resources import files
    from .manifests import load_texts
    text = files(__package__).joinpath("data/demo.yaml").read_text(encoding="utf-8")
    return load_texts([("demo.yaml", text)])


def draw(obj, *, caption: bool = True):
    """A Diagram of a route or of a whole cluster (renders itself in Jupyter).

    `caption=False` leaves out a route picture's headline and reason."""
    # The submodule k8slab.draw shares this name: it is imported above, once, so that importing
    # it again elsewhere never replaces this function with the module.
    return _draw_module.draw(obj, caption=caption)


def explorer(cluster: Cluster | None = None):
    """The ipywidgets explorer: pick a client and a Service type, watch the route."""
    from .widgets import explorer as _explorer
    return _explorer(cluster if cluster is not None else demo_cluster())


def doctor() -> str:
    """Versions and the renderer in use, for a learner's bug report."""
    from ._doctor import report
    return report()
