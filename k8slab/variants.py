"""What-if copies of a cluster: a Service's pods scaled, and set ready, terminating or starting."""

# The explorer and the exercises both ask "what if web had four pods, one not ready?"; the
# answer is a new Cluster, built the way k8slab's loader builds one, so routing and the rules
# read it like any other.
from __future__ import annotations

import ipaddress
from dataclasses import replace

from .errors import K8slabError
from .manifests import short_hash
from .model import Cluster, Pod, Service

__all__ = ["with_replicas", "pod_counts", "MAX_WHAT_IF_REPLICAS"]

#: A what-if copies pods in memory; this keeps a slider or a typo from building thousands.
MAX_WHAT_IF_REPLICAS = 64


# -- what-if: scale the Service's pods, and set how many are ready or terminating ----------------
def _pods_of(cluster: Cluster, service: Service) -> list[Pod]:
    """The pods behind a Service that have a node and an IP, in the cluster's order."""
    return [p for p in cluster.selected_pods(service) if p.node and p.ip]


def pod_counts(cluster: Cluster, service: Service) -> tuple[int, int, int]:
    """(pods, ready, terminating) of the pods a Service selects, as the cluster has them."""
    pods = _pods_of(cluster, service)
    return (len(pods), sum(1 for p in pods if p.ready and not p.terminating),
            sum(1 for p in pods if p.terminating))


def _replica_name(template: Pod, index: int, taken: set[str]) -> str:
    """The name the pod's controller gives replica `index` (as k8slab's loader names them)."""
    kind, _, owner = (template.owner or "").partition("/")
    if kind == "Deployment" and template.labels.get("pod-template-hash"):
        rs = f"{owner}-{template.labels['pod-template-hash']}"
        name = f"{rs}-{short_hash(rs, str(index), length=5)}"
    elif kind in ("ReplicaSet", "ReplicationController"):
        name = f"{owner}-{short_hash(owner, str(index), length=5)}"
    elif kind == "StatefulSet":
        name = f"{owner}-{index}"
    else:
        name = f"{template.name}-{index}"
    while name in taken:
        name += "x"
    return name


def with_replicas(cluster: Cluster, service: Service, replicas: int, ready: int | None = None,
                  terminating: int = 0) -> Cluster:
    """A copy of `cluster` where `service` selects `replicas` running pods, in three states.

    The oldest `terminating` pods are being deleted (deletionTimestamp set) but still pass
    their readiness probe: their endpoints are serving and terminating, not ready. The next
    `ready` pods are ready (default: all the rest). The newest are starting: their readiness
    probe has not passed yet. That is the order a rolling update goes through.

    Scaling up copies the first pod, names the new pods as the pod's controller would and
    places each on the node, among those already running one of them, with the fewest of
    them (then the fewest pods, then by name), the way k8slab places a Deployment's pods;
    scaling down keeps the oldest. Pod IPs come from each node's pod range. (A real
    ReplicaSet chooses which pods to delete by its own ranking.) Services whose endpoints
    are given as EndpointSlices have no pods to scale.
    """
    for name, value in (("replicas", replicas), ("terminating", terminating)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise K8slabError(f"{name}: give a whole number from 0 up, not {value!r}")
    if replicas > MAX_WHAT_IF_REPLICAS:
        raise K8slabError(f"replicas: at most {MAX_WHAT_IF_REPLICAS} in a what-if, not {replicas}")
    if terminating > replicas:
        raise K8slabError(f"terminating: at most the {replicas} pods there are, not {terminating}")
    if ready is None:
        ready = replicas - terminating
    if isinstance(ready, bool) or not isinstance(ready, int) or not 0 <= ready <= replicas - terminating:
        raise K8slabError(f"ready: give a number from 0 to {replicas - terminating} (the pods that "
                          f"are not terminating), not {ready!r}")
    if cluster.slices_for(service):
        raise K8slabError(f"Service {service.name}: its endpoints are given as EndpointSlices, "
                          "so there are no pods to scale")
    existing = _pods_of(cluster, service)
    if replicas > len(existing) and not existing:
        raise K8slabError(f"Service {service.name} selects no running pod to copy")
    keep = existing[:replicas]
    dropped = {p.key for p in existing[replicas:]}
    new: list[Pod] = []
    if replicas > len(existing):
        template = existing[0]
        taken = {p.name for p in cluster.pods}
        used_ips = {p.ip for p in cluster.pods if p.ip}
        candidates = sorted({p.node for p in existing})
        mine = {n: sum(1 for p in existing if p.node == n) for n in candidates}
        total = {n: sum(1 for p in cluster.pods if p.node == n) for n in candidates}
        for i in range(len(existing), replicas):
            node_name = min(candidates, key=lambda n: (mine[n], total[n], n))
            mine[node_name] += 1
            total[node_name] += 1
            name = _replica_name(template, i, taken)
            taken.add(name)
            new.append(replace(template, name=name, node=node_name,
                               ip=_free_pod_ip(cluster, node_name, used_ips)))
    states = {}
    for i, p in enumerate(keep + new):
        if i < terminating:
            states[p.name] = dict(ready=True, terminating=True, phase="Running")
        elif i < terminating + ready:
            states[p.name] = dict(ready=True, terminating=False, phase="Running")
        else:
            states[p.name] = dict(ready=False, terminating=False, phase="Running")
    pods = []
    for p in cluster.pods:
        if p.key in dropped:
            continue
        pods.append(replace(p, **states[p.name]) if p.name in states and p.namespace == service.namespace
                    and p in keep else p)
    pods += [replace(p, **states[p.name]) for p in new]
    return cluster.copy(pods=pods)


def _free_pod_ip(cluster: Cluster, node_name: str, used: set[str]) -> str:
    node = cluster.node(node_name)
    net = ipaddress.ip_network(node.pod_cidr if node and node.pod_cidr else "10.244.0.0/16",
                               strict=False)
    for i, host in enumerate(net.hosts()):
        text = str(host)
        if i >= 1 and text not in used:          # .1 is the node's own bridge address
            used.add(text)
            return text
    raise K8slabError(f"node {node_name}: no free pod IP left in {net}")
