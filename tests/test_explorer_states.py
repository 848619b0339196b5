"""The explorer never shows an error for a state its own controls can reach (issue 14).

Every combination of client (each pod and node it offers), Service type, traffic policy, way
in and node dialed, then the pod sliders swept for a few clients, on the demo cluster and on
two other shipped manifests. An unreachable route is an answer; "Cannot route" is not.
"""
from __future__ import annotations

import itertools
from pathlib import Path

import pytest

import k8slab
from k8slab.widgets import DIALS, POLICIES, TYPES, Explorer

MANIFESTS = Path(__file__).resolve().parents[1] / "notebooks" / "manifests"
CLUSTERS = {
    "demo": lambda: k8slab.demo_cluster(),
    "shop": lambda: k8slab.load(str(MANIFESTS / "shop.yaml")),
    "broken-15-local": lambda: k8slab.load(str(MANIFESTS / "broken" / "15-local.yaml")),
}


def clients(ex: Explorer) -> list[str]:
    out = [v for _, v in ex.controls["pod"].options if v]
    out += [v for _, v in ex.controls["node"].options]
    return out + ["laptop", "other-cluster", "internet"]


def assert_answers(ex: Explorer, where) -> None:
    assert ex.route is not None, (where, ex._headline.value)
    assert "Cannot route" not in ex._headline.value, where
    assert ex._why.value and "Traceback" not in ex._why.value, where


@pytest.mark.parametrize("name", sorted(CLUSTERS))
def test_every_control_combination_answers(name):
    ex = Explorer(CLUSTERS[name]())
    vias = [o[1] if isinstance(o, tuple) else o for o in ex.controls["via"].options]
    for client, service_type, policy, (_, entry), via in itertools.product(
            clients(ex), TYPES, POLICIES, DIALS, vias):
        ex.set(client=client, service_type=service_type, external_traffic_policy=policy,
               entry=entry, via_node=via)
        assert_answers(ex, (client, service_type, policy, entry, via))


@pytest.mark.parametrize("name", sorted(CLUSTERS))
def test_the_pod_sliders_never_leave_a_vanished_client_selected(name):
    ex = Explorer(CLUSTERS[name]())
    if ex.controls["replicas"].disabled:
        pytest.skip(f"{name}: its Service's endpoints are hand-written, so there are no pods to scale")
    top = ex.controls["replicas"].max
    for client in clients(ex)[-4:] + clients(ex)[:2]:
        for service_type in TYPES:
            ex.set(service_type=service_type, replicas=top)      # every pod back, then choose
            ex.set(client=client)
            for replicas in range(top, -1, -1):
                for terminating in sorted({0, min(1, replicas)}):
                    ex.set(replicas=replicas, ready=replicas - terminating, terminating=terminating)
                    assert_answers(ex, (client, service_type, replicas, terminating))
