"""Where `route` and the kernel disagree today: strict xfails, each naming the rule responsible.

Each condition below picks out the cases a real kernel answers differently from `route`, found by
this harness and checked against kube-proxy's source (pkg/proxy/iptables/proxier.go). They are
strict: when the model is fixed the case passes, the xfail turns into a failure, and the
condition here must go. The model's fix belongs in k8slab (routing/proxy/trace), not here."""

import pytest

HAIRPIN = ("hairpin: route says source_ip_preserved=true, but a pod that lands on itself through "
           "its Service is masqueraded by the endpoint chain's `-A KUBE-SEP-... -s <pod IP> -j "
           "KUBE-MARK-MASQ` rule: the kernel shows that pod its node's address (the bridge's "
           "10.244.N.1, or the receiving node's IP), the other pods see the client's address")
HOSTNET_SOURCE = ("hostNetwork client: route says source_ip_preserved=true, but its packets come "
                  "from the node's IP, outside clusterCIDR, so `-A KUBE-SVC-... ! -s 10.244.0.0/16 "
                  "-j KUBE-MARK-MASQ` (and for node ports the `--src-type LOCAL` masquerade) "
                  "applies: pods on its own node see the bridge address 10.244.N.1")
HOSTNET_LOCAL = ("hostNetwork client on another node's node port, externalTrafficPolicy Local: "
                 "route treats it as pod traffic (short-circuit to every endpoint), but its source "
                 "is the node's IP, not in clusterCIDR, so kube-proxy's `-s 10.244.0.0/16 -j "
                 "KUBE-SVC-...` 'pod traffic' rule does not match and KUBE-SVL-... sends it only "
                 "to the receiving node's local endpoints (none: dropped)")
POD_LOCAL_REMOTE = ("pod on another node's node port, externalTrafficPolicy Local: kube-proxy's "
                    "'pod traffic for external destinations' rule (`-s 10.244.0.0/16 -j "
                    "KUBE-SVC-...`) DNATs it to any endpoint without masquerade; an endpoint on a "
                    "third node (or on the client's own node) answers the pod directly, not through "
                    "the receiving node, and the handshake never completes: those connections time "
                    "out; route says every endpoint answers")


SOURCE_REASONS = (HAIRPIN, HOSTNET_SOURCE)


def disagreements(cluster, case) -> list[str]:
    """The known disagreements this case runs into, as reasons (empty: none known).

    Under sessionAffinity ClientIP every connection goes to one pod picked at random, so
    whether a source-address disagreement shows is chance: those are left to the cases
    without affinity (see `source_check_is_chance`)."""
    out = _disagreements(cluster, case)
    if case.sticky:
        out = [r for r in out if r not in SOURCE_REASONS]
    return out


def source_check_is_chance(cluster, case) -> bool:
    """True when a known source disagreement may or may not show, by which pod is picked."""
    return case.sticky and any(r in SOURCE_REASONS for r in _disagreements(cluster, case))


def _disagreements(cluster, case) -> list[str]:
    if case.skip or case.expect != "answered":
        return []
    r = case.route
    eps = r["endpoints"]
    per_endpoint_source = any("source_seen" in e or "src_seen" in e or "seen" in e for e in eps)
    pod = _client_pod(cluster, case.client)
    if pod is None:
        return []
    svc = case.service_obj
    local = (svc.external_traffic_policy or "Cluster") == "Local"
    receiving = next((h.get("node") for h in r["hops"] if h["kind"] == "node-port"), None)
    remote_node_port = case.entry == "NodePort" and receiving not in (None, pod.node)
    hostnet_pods = {p.name for p in cluster.pods if p.host_network}
    out = []
    if not pod.host_network:
        if r["source_ip_preserved"] and not per_endpoint_source and pod.name in {e["pod"] for e in eps}:
            out.append(HAIRPIN)
        # POD_LOCAL_REMOTE is modelled now (routing.asymmetric, trace's reply check): route
        # leaves those connections' share out, and the harness expects them to time out.
    else:
        if local and remote_node_port:
            if {e["pod"] for e in eps} != {e["pod"] for e in eps if e["node"] == receiving}:
                out.append(HOSTNET_LOCAL)
        elif (r["source_ip_preserved"] and not per_endpoint_source
              and any(e["node"] == pod.node and e["pod"] not in hostnet_pods for e in eps)):
            out.append(HOSTNET_SOURCE)
    return out


def marks_for(cluster, case) -> list:
    reasons = disagreements(cluster, case)
    return [pytest.mark.xfail(strict=True, reason=" | ".join(reasons))] if reasons else []


def _client_pod(cluster, client: str):
    if not client.startswith("pod/"):
        return None
    parts = client.split("/")
    return cluster.pod(parts[-1], parts[1] if len(parts) == 3 else "default")
