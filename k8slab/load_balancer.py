"""Which nodes a cloud load balancer targets: the cloud-provider service controller's node set."""

# k8s.io/cloud-provider controllers/service/controller.go: since KEP-3458 (1.27+) the
# controller hands the cloud every node that passes stableNodeSetPredicates, and no longer
# drops a node for being NotReady: the load balancer's own health check decides whether
# traffic goes there. Under externalTrafficPolicy: Cluster that check is kube-proxy's
# /healthz (pkg/proxy/healthcheck/proxier_health.go), which fails only on a node that is being
# deleted or tainted ToBeDeletedByClusterAutoscaler (KEP-3836): the same nodes the predicates
# already leave out. So the pool is decided here, once, for route, trace and diagnose alike.
from __future__ import annotations

from .model import Node

__all__ = ["EXCLUDE_FROM_LB", "TO_BE_DELETED_TAINT", "go_parse_bool", "why_left_out", "target_pool"]

#: nodeIncludedPredicate: a node labelled so, with a value strconv.ParseBool reads as true
#: (or cannot read at all), is left out.
EXCLUDE_FROM_LB = "node.kubernetes.io/exclude-from-external-load-balancers"
#: nodeUnTaintedPredicate: the cluster autoscaler's taint on a node it is about to remove.
TO_BE_DELETED_TAINT = "ToBeDeletedByClusterAutoscaler"

_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def go_parse_bool(text: str) -> bool | None:
    """Go's strconv.ParseBool: True, False, or None where Go returns an error."""
    if text in _GO_TRUE:
        return True
    if text in _GO_FALSE:
        return False
    return None


def why_left_out(node: Node) -> str | None:
    """Why the service controller leaves `node` out of every load balancer, or None."""
    if getattr(node, "deleting", False):
        return "it is being deleted (metadata.deletionTimestamp)"
    if EXCLUDE_FROM_LB in node.labels:
        value = node.labels[EXCLUDE_FROM_LB]
        parsed = go_parse_bool(value)
        if parsed is not False:
            return (f"it is labelled {EXCLUDE_FROM_LB}={value!r}"
                    + ("" if parsed else " (not a boolean Go can read, which excludes it too)"))
    if TO_BE_DELETED_TAINT in getattr(node, "taint_keys", ()):
        return f"it is tainted {TO_BE_DELETED_TAINT} (the cluster autoscaler is removing it)"
    return None


def target_pool(nodes) -> list[Node]:
    """The nodes a cloud load balancer sends to, before its health check: stableNodeSetPredicates
    (not deleting, not labelled out, not tainted for deletion). Readiness is not among them."""
    return [n for n in nodes if why_left_out(n) is None]
