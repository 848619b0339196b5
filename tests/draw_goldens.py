"""Golden SVGs of k8slab.draw: the routes they show, and the explicit way to rewrite them.

Rewrite the goldens (only when a picture changed on purpose, after looking at it):

    pytest tests/test_draw.py -k golden --update-goldens
    python tests/draw_goldens.py                 # the same, without pytest

A normal test run never writes them. `--update-goldens` is registered here; tests/conftest.py
loads this file with `pytest_plugins = ["draw_goldens"]`.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"


def pytest_addoption(parser):
    parser.addoption("--update-goldens", action="store_true", default=False,
                     help="rewrite tests/golden/*.svg from the current k8slab.draw output")


def golden_subjects() -> dict:
    """name -> a route or cluster of the demo cluster (variants built with model dataclasses)."""
    import k8slab

    demo = k8slab.demo_cluster()
    lb = demo.service("web-lb")
    local = demo.replace_service(replace(lb, external_traffic_policy="Local",
                                         health_check_node_port=32000))
    nodeport = demo.service("web-nodeport")
    external = demo.replace_service(replace(nodeport, external_ips=("198.51.100.7",)))
    return {
        "laptop-nodeport": demo.route(client="laptop", service="web-nodeport"),
        "internet-loadbalancer": demo.route(client="internet", service="web-lb"),
        "internet-loadbalancer-local": local.route(client="internet", service="web-lb"),
        "pod-clusterip": demo.route(client="pod/client", service="web"),
        "laptop-externalip": external.route(client="laptop", service="web-nodeport",
                                            entry="ExternalIP"),
        "laptop-clusterip-not-exposed": demo.route(client="laptop", service="web"),
        "laptop-local-policy-dropped": local.route(client="laptop", service="web-lb",
                                                   entry="NodePort", via_node="node-c"),
        "pod-headless": demo.route(client="pod/client", service="web-headless"),
        "pod-externalname": demo.route(client="pod/client", service="db"),
        "demo-cluster": demo,
    }


def golden_path(name: str) -> Path:
    return GOLDEN_DIR / f"{name}.svg"


def write_goldens() -> list[Path]:
    from k8slab.draw import draw

    GOLDEN_DIR.mkdir(exist_ok=True)
    written = []
    for name, subject in golden_subjects().items():
        path = golden_path(name)
        path.write_bytes(draw(subject).svg().encode("utf-8"))
        written.append(path)
    return written


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))   # k8slab from this checkout
    for p in write_goldens():
        print(f"wrote {p}")
