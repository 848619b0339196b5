"""What kubectl would list for a cluster: `get services`, an EndpointSlice as YAML."""

# Notebooks show these so a learner meets the same columns and fields a real cluster prints;
# they read the model and print, nothing more.
from __future__ import annotations

from .errors import K8slabError
from .model import Cluster

__all__ = ["services_table", "get_services", "endpoint_slice_yaml", "endpoint_slice"]


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
    import yaml
    svc = cluster.service(name, namespace)
    if svc is None or not svc.ports:
        raise K8slabError(f"no Service {namespace}/{name} with a port in this cluster")
    port = svc.ports[0]
    endpoints = cluster.endpoints(svc, port)
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
