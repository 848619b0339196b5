"""kube-proxy as kube-proxy's pkg/proxy is built: the decision once, then per mode its text and its walk."""

# The layout follows kubernetes/kubernetes pkg/proxy: what every mode shares (topology.go,
# serviceport.go, endpointslicecache.go) is `decision`; each mode writes that decision in
# its own words (pkg/proxy/iptables, pkg/proxy/nftables): `iptables` (and the ipvs listing, as
# it was), `nftables`; and each mode's text is walked packet by packet by its own walk module
# (`iptables_walk`, `nftables_walk`), which trace.py picks by the cluster's mode. This
# package's own namespace is the decision plus `rules`; the walk modules are imported by
# their users (trace), not here, since they sit above routing in the data flow.

from __future__ import annotations

import gc

from . import decision, iptables, nftables
from ..errors import K8slabError
from ..kube_names import chain_hash, port_name
from .decision import (NodeView, categorize, shares, uses_topology_hints, uses_node_hints,
    MODES, cascade, cascade_shares, probability_text, numgen_map, numgen_rule,
    nft_endpoint_chain, Scheduler, IPVS_SCHEDULERS, ipvs_scheduler, round_robin, source_hash,
    destination_hash, ipvs_shares, ipvs_bucket, DEFAULT_AFFINITY_TIMEOUT, affinity_timeout,
    AffinityTable, load_balancer_shares, ServicePortState, service_ports, kube_proxy_endpoints,
    decide, Fate, WAYS)

__all__ = ["NodeView", "categorize", "shares", "uses_topology_hints", "uses_node_hints",
    "MODES", "cascade", "cascade_shares", "probability_text", "numgen_map", "numgen_rule",
    "nft_endpoint_chain", "Scheduler", "IPVS_SCHEDULERS", "ipvs_scheduler", "round_robin",
    "source_hash", "destination_hash", "ipvs_shares", "ipvs_bucket",
    "DEFAULT_AFFINITY_TIMEOUT", "affinity_timeout", "AffinityTable", "load_balancer_shares",
    "ServicePortState", "service_ports", "kube_proxy_endpoints", "decide", "Fate", "WAYS",
    "rules", "policy_chain", "with_mode", "decision", "iptables", "nftables"]


def rules(cluster, node: str, mode: str | None = None, explain: bool = False) -> str:
    """The rules kube-proxy on `node` writes for `cluster`, in the mode's own form.

    mode "iptables": the filter and nat tables as `iptables-save` prints them; mode
    "nftables": table `ip kube-proxy` as `nft -f` input (knftables' dump form); mode "ipvs"
    (deprecated upstream since 1.35): what `ipvsadm -Ln` lists. With `explain`, every
    chain gets a `#` line naming the hop of a route it implements.
    `mode` None means the cluster's own (KubeProxyConfiguration.mode; iptables when unset).
    Raises K8slabError for an unknown node or mode.
    """
    if mode is None:
        mode = getattr(cluster.proxy, "mode", None) or "iptables"
    if not isinstance(mode, str) or mode not in MODES:
        raise K8slabError(f"mode {mode!r}: kube-proxy's modes are {', '.join(MODES)}")
    if not isinstance(node, str) or cluster.node(node) is None:
        names = [n.name for n in cluster.nodes]
        listed = ", ".join(names[:8]) + (" ..." if len(names) > 8 else "")
        raise K8slabError(f"no node {node!r} in this cluster"
                          + (f"; its nodes are {listed}" if names else "; it has no nodes"))
    the_node = cluster.node(node)
    # Writing the rules allocates about ten objects per endpoint (a million at 10,000 Services)
    # and puts none of them in a reference cycle: the cyclic garbage collector, triggered by
    # the allocations, would only walk the whole model again and again (a third of the time
    # in issue 19's benchmark). It is paused meanwhile, and resumed as it was.
    paused = gc.isenabled()
    gc.disable()
    try:
        if mode == "nftables":
            return nftables.write(cluster, the_node, service_ports(cluster, the_node), explain=explain)
        return iptables.write(cluster, the_node, service_ports(cluster, the_node), mode=mode,
                              explain=explain)
    finally:
        if paused:
            gc.enable()


def policy_chain(service, port, local: bool, mode: str = "iptables") -> str:
    """The chain of a Service port's endpoints that a route's `service` hop names: the
    Cluster policy's (iptables KUBE-SVC-HASH, nftables service-HASH-ns/name/proto/port) or,
    with `local`, the Local policy's (KUBE-SVL-..., local-...)."""
    if mode == "nftables":
        return nftables.chain_names(service, port)["local" if local else "service"]
    return ("KUBE-SVL-" if local else "KUBE-SVC-") + chain_hash(port_name(service, port) + port.protocol.lower())


def with_mode(cluster, mode: str):
    """The same cluster with kube-proxy in `mode` (KubeProxyConfiguration.mode), for comparing
    what the modes write and do: every view follows the cluster's mode."""
    import dataclasses

    if not isinstance(mode, str) or mode not in MODES:
        raise K8slabError(f"mode {mode!r}: kube-proxy's modes are {', '.join(MODES)}")
    return cluster.copy(proxy=dataclasses.replace(cluster.proxy, mode=mode))
