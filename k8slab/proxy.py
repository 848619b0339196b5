"""Which endpoints a node's kube-proxy uses for a Service, and with what probability."""

from __future__ import annotations

from dataclasses import dataclass

from .model import Endpoint, Service

__all__ = ["NodeView", "categorize", "shares", "uses_topology_hints", "rules"]


@dataclass(frozen=True)
class NodeView:
    """The endpoints one node's kube-proxy sends a Service port's traffic to.

    `cluster` serves Cluster traffic policies, `local` serves Local ones; either may have
    fallen back to serving-but-terminating endpoints when no ready one is left.
    """

    cluster: tuple[Endpoint, ...]
    local: tuple[Endpoint, ...]
    cluster_terminating: bool = False
    local_terminating: bool = False
    topology_zone: str | None = None     # set when topology hints narrowed `cluster`


def uses_topology_hints(service: Service, endpoints, zone: str | None) -> bool:
    """Whether kube-proxy filters by zone hints here (pkg/proxy/topology.go, topologyModeFromHints).

    Only when the Service asks for it, the node has a zone, every ready endpoint carries
    hints, and at least one hint names this zone; otherwise hints are ignored, all at once.
    """
    if service.traffic_distribution not in ("PreferClose", "PreferSameZone") or not zone:
        return False
    ready = [e for e in endpoints if e.ready]
    if not ready or any(e.hint_zones is None for e in ready):
        return False
    return any(zone in e.hint_zones for e in ready)


def categorize(service: Service, endpoints, node: str | None, zone: str | None = None) -> NodeView:
    """kube-proxy's CategorizeEndpoints for one node: the endpoints each traffic policy uses.

    Ready endpoints first; only when none is ready anywhere (or on this node, for Local) do
    serving-and-terminating ones stand in, so a rolling update does not drop connections.
    """
    hinted = uses_topology_hints(service, endpoints, zone)

    def in_topology(e: Endpoint) -> bool:
        return not hinted or (e.hint_zones is not None and zone in e.hint_zones)

    cluster = tuple(e for e in endpoints if e.ready and in_topology(e))
    cluster_terminating = False
    if not cluster:
        cluster = tuple(e for e in endpoints if e.serving and e.terminating and in_topology(e))
        cluster_terminating = bool(cluster)
    local = tuple(e for e in endpoints if e.ready and e.node == node and node is not None)
    local_terminating = False
    if not local:
        local = tuple(e for e in endpoints if e.serving and e.terminating and e.node == node
                      and node is not None)
        local_terminating = bool(local)
    return NodeView(cluster, local, cluster_terminating, local_terminating,
                    zone if hinted else None)


def shares(endpoints) -> dict[Endpoint, float]:
    """Each endpoint's chance of a new connection when a node picks among `endpoints`.

    iptables mode takes endpoint i of n with probability 1/(n-i), the last one always: a
    cascade whose product is 1/n for each. IPVS round robin and nftables' numgen map give
    the same long-run share.
    """
    n = len(endpoints)
    return {e: 1.0 / n for e in endpoints} if n else {}


def rules(cluster, node: str, mode: str = "iptables", explain: bool = False) -> str:
    """The rules kube-proxy on `node` writes for `cluster`, as `iptables-save` prints them."""
    from ._iptables import rules as _rules
    return _rules(cluster, node, mode=mode, explain=explain)
