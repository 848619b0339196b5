"""What kubectl would list for a cluster: `get services`, an EndpointSlice as YAML."""

# Notebooks show these so a learner meets the same columns and fields a real cluster prints;
# they read the model and print, nothing more.
from __future__ import annotations

from .errors import K8slabError
from .model import Cluster

__all__ = ["services_table", "get_services", "endpoint_slice_yaml", "endpoint_slice",
           "controller_slices", "endpointslices_table", "get_endpointslices"]


def services_table(cluster: Cluster, names=None) -> str:
    """The Services as `kubectl get services` lists them (NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S))."""
    rows = [("NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)")]
    for s in cluster.services:
        if names and s.name not in names:
            continue
        if s.type == "ExternalName":
            external = s.external_name or "<none>"
        elif s.type == "LoadBalancer":
            external = ",".join(s.load_balancer_ingress) or "<pending>"
        else:
            external = ",".join(s.external_ips) or "<none>"
        ports = ",".join(f"{p.port}:{p.node_port}/{p.protocol}" if p.node_port
                         else f"{p.port}/{p.protocol}" for p in s.ports) or "<none>"
        rows.append((s.name, s.type, s.cluster_ip or "<none>", external, ports))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return "\n".join("   ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def get_services(cluster: Cluster, names=None) -> None:
    """Print the Services the way `kubectl get services` lists them."""
    print(services_table(cluster, names))


def endpoint_slice_yaml(cluster: Cluster, name: str, namespace: str = "default") -> str:
    """What the EndpointSlice controller would write for Service `name` (its first port)."""
    svc = cluster.service(name, namespace)
    if svc is None or not svc.ports:
        raise K8slabError(f"no Service {namespace}/{name} with a port in this cluster")
    port = svc.ports[0]
    endpoints = cluster.endpoints(svc, port)
    portless = ([sl for sl in controller_slices(cluster, svc) if not sl["ports"]]
                if not cluster.slices_for(svc) else [])
    if portless and endpoints:
        # Some pods resolve the named targetPort and some do not: the controller writes one
        # slice per set of ports (reconciler.go), the second with `ports: null`.
        return _slice_yaml(cluster, svc, endpoints, port) + "\n---\n" + _yaml(portless[0])
    if portless:
        return _yaml(portless[0])
    return _slice_yaml(cluster, svc, endpoints, port)


def _slice_yaml(cluster: Cluster, svc, endpoints, port) -> str:
    import yaml
    name = svc.name
    doc = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"generateName": f"{name}-",
                     "labels": {"kubernetes.io/service-name": name}},
        "addressType": "IPv4",
        "ports": [{"name": port.name, "port": endpoints[0].port if endpoints else None,
                   "protocol": port.protocol}],
        "endpoints": [{"addresses": [e.address],
                       "conditions": {"ready": e.ready, "serving": e.serving,
                                      "terminating": e.terminating},
                       "nodeName": e.node, "zone": e.zone,
                       "targetRef": {"kind": "Pod", "name": e.pod}} for e in endpoints],
    }
    return yaml.safe_dump(doc, sort_keys=False).rstrip()


def endpoint_slice(cluster: Cluster, name: str, namespace: str = "default") -> None:
    """Print the EndpointSlice the controller would write for Service `name`."""
    print(endpoint_slice_yaml(cluster, name, namespace))


# ---------------------------------------------------------------------------------------
# What the EndpointSlice controller writes, slice by slice, and `kubectl get endpointslices`
# ---------------------------------------------------------------------------------------

#: The letters of generated names (apimachinery/pkg/util/rand: no vowels, no 0, 1, 3).
_NAME_LETTERS = "bcdfghjklmnpqrstvwxz2456789"


def _suffix(seed: str) -> str:
    """Five letters as generateName adds them, derived from `seed` so listings are stable."""
    import hashlib
    n = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big")
    out = []
    for _ in range(5):
        n, r = divmod(n, len(_NAME_LETTERS))
        out.append(_NAME_LETTERS[r])
    return "".join(out)


def controller_slices(cluster: Cluster, svc) -> list[dict]:
    """The EndpointSlices the controller writes for a Service with a selector, as objects.

    staging/src/k8s.io/endpointslice: reconciler.go groups the selected pods by the ports
    getEndpointPorts (utils.go) finds on each: a named targetPort that a pod does not declare
    (podutil.FindPort: same name and protocol) is left out of that pod's ports, and the pod is
    still listed, in a slice of its own port set; a pod that resolves none of the Service's
    ports lands in a slice whose ports are null (`kubectl get endpointslices`: PORTS <unset>).
    kube-proxy reads no endpoint from a port-less slice. One slice per port set here (the
    controller splits at 100 endpoints; k8slab does not). Empty for a Service without selector.
    """
    if not svc.selector:
        return []
    groups: dict[tuple, list] = {}
    for pod in cluster.selected_pods(svc):
        if not pod.ip or pod.phase in ("Succeeded", "Failed"):
            continue
        if pod.node and cluster.node(pod.node) is None:
            continue        # reconciler.go: a pod whose Node does not exist is left out
        ports = []
        for sp in svc.ports:
            number = sp.target_port if isinstance(sp.target_port, int) else pod.port_named(sp.target_port, sp.protocol)
            if number is not None:
                ports.append((sp.name, number, sp.protocol))
        groups.setdefault(tuple(ports), []).append(pod)
    out = []
    for ports, pods in groups.items():
        node_zone = {n.name: n.zone for n in cluster.nodes}
        out.append({
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {"name": f"{svc.name}-{_suffix(svc.key + repr(ports))}",
                         "namespace": svc.namespace,
                         "labels": {"kubernetes.io/service-name": svc.name}},
            "addressType": "IPv4",
            "ports": [{"name": n or "", "port": num, "protocol": proto} for n, num, proto in ports] or None,
            "endpoints": [{"addresses": [p.ip],
                           "conditions": {"ready": (p.ready and not p.terminating) or svc.publish_not_ready_addresses,
                                          "serving": p.ready or svc.publish_not_ready_addresses,
                                          "terminating": p.terminating},
                           "nodeName": p.node, "zone": node_zone.get(p.node),
                           "targetRef": {"kind": "Pod", "name": p.name}} for p in pods],
        })
    return out


def _yaml(doc: dict) -> str:
    import yaml
    return yaml.safe_dump(doc, sort_keys=False).rstrip()


def endpointslices_table(cluster: Cluster, name: str, namespace: str = "default") -> str:
    """`kubectl get endpointslices -l kubernetes.io/service-name=NAME` (without AGE): PORTS is
    `<unset>` for a slice without ports, ENDPOINTS the first three addresses then `+ N more...`
    (kubectl's printers.go, formatDiscoveryPorts and formatDiscoveryEndpoints)."""
    svc = cluster.service(name, namespace)
    if svc is None:
        raise K8slabError(f"no Service {namespace}/{name} in this cluster")
    rows = [("NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS")]
    given = cluster.slices_for(svc)
    if given:
        slices = [(sl.name, sl.address_type, [str(n) for _, n, _ in sl.ports],
                   [e.address for e in sl.endpoints]) for sl in given]
    else:
        slices = [(d["metadata"]["name"], d["addressType"], [str(p["port"]) for p in d["ports"] or []],
                   [e["addresses"][0] for e in d["endpoints"]]) for d in controller_slices(cluster, svc)]
    for sname, kind, ports, addresses in slices:
        rows.append((sname, kind, _more(ports), _more(addresses, empty="<none>")))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("   ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def _more(items, empty: str = "<unset>") -> str:
    shown = ",".join(items[:3])
    if len(items) > 3:
        return f"{shown} + {len(items) - 3} more..."
    return shown or empty


def get_endpointslices(cluster: Cluster, name: str, namespace: str = "default") -> None:
    """Print the Service's EndpointSlices the way `kubectl get endpointslices` lists them."""
    print(endpointslices_table(cluster, name, namespace))
