"""The cluster as data: nodes, pods, Services and their endpoints, as frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

__all__ = [
    "Node", "ContainerPort", "Pod", "ServicePort", "Service", "Endpoint",
    "ProxyConfig", "EndpointSlice", "Cluster", "ZONE_LABEL", "PodDNSConfig", "CONTROLLER",
    "GatewayClass", "Listener", "Gateway", "ParentRef", "HTTPMatchValue",
    "HTTPRouteMatch", "HTTPBackendRef", "HTTPRouteRule", "HTTPRoute", "ReferenceGrant",
    "IngressBackend", "IngressPath", "IngressRule", "Ingress", "GatewayObjects",
    "NAMESPACE_NAME_LABEL", "LabelSelector", "Namespace", "IPBlock", "PolicyPeer", "PolicyPort",
    "PolicyRule", "NetworkPolicy",
    "ServiceRange", "ClusterFacts",
]

#: The well-known node label topology-aware routing reads.
ZONE_LABEL = "topology.kubernetes.io/zone"
#: endpointslice.kubernetes.io/managed-by of the slices the EndpointSlice controller writes.
CONTROLLER = "endpointslice-controller.k8s.io"


@dataclass(frozen=True)
class Node:
    """A node: where pods run and where kube-proxy writes its rules."""

    name: str
    address: str                                  # the InternalIP
    pod_cidr: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)
    ready: bool = True
    schedulable: bool = True                      # False when cordoned (spec.unschedulable)
    provider_id: str | None = None
    deleting: bool = False                        # metadata.deletionTimestamp is set
    taint_keys: tuple[str, ...] = ()              # spec.taints[].key, every effect

    @property
    def zone(self) -> str | None:
        return self.labels.get(ZONE_LABEL)


@dataclass(frozen=True)
class ContainerPort:
    """A port a container declares; its name is what a named targetPort looks up."""

    port: int
    name: str | None = None
    protocol: str = "TCP"


@dataclass(frozen=True)
class PodDNSConfig:
    """spec.dnsConfig: what the kubelet adds to the resolv.conf its dnsPolicy gives the pod."""

    nameservers: tuple[str, ...] = ()
    searches: tuple[str, ...] = ()
    options: tuple[tuple[str, str | None], ...] = ()   # (name, value or None)


@dataclass(frozen=True)
class Pod:
    """A pod as the EndpointSlice controller (and the kubelet, for its DNS) sees it."""

    name: str
    namespace: str
    node: str | None
    ip: str | None
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)
    ports: tuple[ContainerPort, ...] = ()
    ready: bool = True
    terminating: bool = False
    owner: str | None = None                      # "Deployment/web", for pictures and notes
    phase: str = "Running"                        # Pending, Running, Succeeded, Failed
    host_network: bool = False
    hostname: str | None = None                   # spec.hostname (a StatefulSet sets the pod's name)
    subdomain: str | None = None                  # spec.subdomain (a StatefulSet sets its serviceName)
    dns_policy: str = "ClusterFirst"              # spec.dnsPolicy, as the API server defaults it
    dns_config: PodDNSConfig | None = None        # spec.dnsConfig

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def port_named(self, name: str, protocol: str = "TCP") -> int | None:
        """The container port a named targetPort resolves to on this pod, if any."""
        for p in self.ports:
            if p.name == name and p.protocol == protocol:
                return p.port
        return None


@dataclass(frozen=True)
class ServicePort:
    """One entry of spec.ports, after the API server's defaulting."""

    port: int
    target_port: int | str                        # a number, or a container port's name
    protocol: str = "TCP"
    name: str | None = None
    node_port: int | None = None


@dataclass(frozen=True)
class Service:
    """A Service after defaulting and allocation (cluster IP, node ports, load-balancer address)."""

    name: str
    namespace: str
    type: str = "ClusterIP"
    selector: Mapping[str, str] | None = field(default=None, hash=False)
    ports: tuple[ServicePort, ...] = ()
    cluster_ip: str | None = None                 # "None" for a headless Service
    external_ips: tuple[str, ...] = ()
    external_name: str | None = None
    external_traffic_policy: str | None = None    # only NodePort / LoadBalancer have one
    internal_traffic_policy: str = "Cluster"
    session_affinity: str = "None"
    session_affinity_timeout: int | None = None   # seconds, with ClientIP (default 10800)
    load_balancer_ingress: tuple[str, ...] = ()   # status.loadBalancer.ingress IPs or hostnames
    load_balancer_ip_mode: str = "VIP"            # status.loadBalancer.ingress[0].ipMode: VIP or Proxy
    load_balancer_class: str | None = None        # spec.loadBalancerClass
    load_balancer_source_ranges: tuple[str, ...] = ()
    health_check_node_port: int | None = None
    allocate_load_balancer_node_ports: bool = True
    publish_not_ready_addresses: bool = False
    traffic_distribution: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def headless(self) -> bool:
        return self.type == "ClusterIP" and self.cluster_ip == "None"

    @property
    def proxied(self) -> bool:
        """Whether kube-proxy handles it (headless and ExternalName Services are DNS only)."""
        return not self.headless and self.type != "ExternalName"

    @property
    def has_node_ports(self) -> bool:
        return any(p.node_port for p in self.ports)

    @property
    def dns_name(self) -> str:
        return f"{self.name}.{self.namespace}.svc.cluster.local"

    def port_for(self, port: int | str | None) -> ServicePort | None:
        """The spec.ports entry a number or name designates; the first when None."""
        if port is None:
            return self.ports[0] if self.ports else None
        for p in self.ports:
            if p.port == port or (p.name is not None and p.name == port):
                return p
        if isinstance(port, str) and port.isascii() and port.isdigit() and len(port) <= 10:
            return self.port_for(int(port))     # "80"; not "٨٠", nor a 5,000-digit number
        return None


@dataclass(frozen=True)
class Endpoint:
    """One address behind one Service port, as an EndpointSlice lists it."""

    address: str
    port: int
    pod: str | None = None
    node: str | None = None
    zone: str | None = None
    ready: bool = True
    serving: bool = True
    terminating: bool = False
    hint_zones: tuple[str, ...] | None = None     # hints.forZones, for topology-aware routing
    hint_nodes: tuple[str, ...] | None = None     # hints.forNodes (trafficDistribution: PreferSameNode)
    hostname: str | None = None                   # endpoints[].hostname, what CoreDNS names it by

    @property
    def ip_port(self) -> str:
        return f"{self.address}:{self.port}"


@dataclass(frozen=True)
class ProxyConfig:
    """What kube-proxy's KubeProxyConfiguration sets that changes what a learner sees."""

    mode: str = "iptables"
    cluster_cidr: str | None = "10.244.0.0/16"
    masquerade_all: bool = False
    ipvs_scheduler: str = "rr"
    masquerade_bit: int = 14
    localhost_node_ports: bool = True
    node_port_addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class EndpointSlice:
    """An EndpointSlice as written: its ports and its endpoints (without a port yet)."""

    service: str                                  # "namespace/name", from kubernetes.io/service-name
    name: str
    ports: tuple[tuple[str | None, int, str], ...]  # (name, port, protocol)
    endpoints: tuple[Endpoint, ...]               # port=0: the slice's ports apply
    address_type: str = "IPv4"                    # IPv4, IPv6 or FQDN
    managed_by: str | None = None                 # endpointslice.kubernetes.io/managed-by

    @property
    def by_controller(self) -> bool:
        """Written by the EndpointSlice controller (a snapshot of its slices), not by hand."""
        return self.managed_by == CONTROLLER


class Cluster:
    """A whole cluster: its nodes, pods, Services, endpoints and kube-proxy settings.

    Built by `k8slab.load`, `Cluster.from_yaml` or `k8slab.demo_cluster`; treat it as read-only.
    Only data lives here: `Cluster.from_yaml` and `Cluster.route` are added by
    `k8slab.shortcuts`, a layer above the parser and the router.
    """

    #: The Gateway API and Ingress objects read with the cluster (set by the parser).
    gateway_objects: "GatewayObjects | None" = None

    def __init__(self, nodes=(), pods=(), services=(), slices=(), proxy: ProxyConfig | None = None,
                 cloud_provider: bool = True, notes=(), sources=(), *, policies=(), namespaces=(),
                 facts: "ClusterFacts | None" = None):
        self.nodes: tuple[Node, ...] = tuple(sorted(nodes, key=lambda n: n.name))
        self.pods: tuple[Pod, ...] = tuple(pods)
        self.services: tuple[Service, ...] = tuple(services)
        self.slices: tuple[EndpointSlice, ...] = tuple(slices)
        self.proxy = proxy or ProxyConfig()
        self.cloud_provider = cloud_provider
        self.notes: tuple[str, ...] = tuple(notes)
        self.sources: tuple[str, ...] = tuple(sources)
        self.policies: tuple[NetworkPolicy, ...] = tuple(policies)
        self.namespaces: tuple[Namespace, ...] = tuple(namespaces)
        #: what the input says about the cluster as a whole (its Service range, its proxy)
        self.facts: ClusterFacts = facts or ClusterFacts()
        self._node_by_name = {n.name: n for n in self.nodes}
        self._service_by_key = {s.key: s for s in self.services}
        self._pod_by_key = {p.key: p for p in self.pods}
        self._slices_by_service: dict[str, list[EndpointSlice]] = {}
        for sl in self.slices:
            self._slices_by_service.setdefault(sl.service, []).append(sl)
        self._label_index: dict[tuple[str, str, str], list[int]] | None = None
        self._endpoint_cache: dict[tuple[str, int, str], tuple[Endpoint, ...]] = {}

    def __repr__(self) -> str:
        return (f"<Cluster: {len(self.nodes)} nodes, {len(self.pods)} pods, "
                f"{len(self.services)} services>")

    # -- look-ups ---------------------------------------------------------------------------
    def node(self, name: str) -> Node | None:
        return self._node_by_name.get(name)

    def pod(self, name: str, namespace: str = "default") -> Pod | None:
        return self._pod_by_key.get(f"{namespace}/{name}")

    def service(self, name: str, namespace: str = "default") -> Service | None:
        return self._service_by_key.get(f"{namespace}/{name}")

    def slices_for(self, service: Service) -> tuple[EndpointSlice, ...]:
        """The EndpointSlices written for `service` (empty: its endpoints come from its pods)."""
        return tuple(self._slices_by_service.get(service.key, ()))

    #: The parts `copy` carries over, by the name `__init__` takes them.
    PARTS = ("nodes", "pods", "services", "slices", "proxy", "cloud_provider", "notes", "sources",
             "policies", "namespaces", "facts", "gateway_objects")

    def copy(self, **changes) -> "Cluster":
        """A copy of this cluster with some parts changed (`copy(pods=...)`, `copy(proxy=...)`):
        every other part, the Gateway objects and what the input said of the cluster as a whole
        (its Service range) included, is carried over. The one way to derive a cluster, so that
        a part added later cannot be dropped by one copy site."""
        unknown = sorted(set(changes) - set(self.PARTS))
        if unknown:
            raise TypeError(f"Cluster.copy: no part named {', '.join(unknown)}")
        parts = {name: changes.get(name, getattr(self, name)) for name in self.PARTS}
        gateway_objects = parts.pop("gateway_objects")
        copy = Cluster(**parts)
        copy.gateway_objects = gateway_objects
        return copy

    def replace_service(self, service: Service) -> "Cluster":
        """A copy of this cluster with one Service replaced (or added)."""
        services = [service if s.key == service.key else s for s in self.services]
        if service.key not in self._service_by_key:
            services.append(service)
        return self.copy(services=services)

    def with_policies(self, policies, namespaces=None) -> "Cluster":
        """A copy of this cluster with other NetworkPolicies (and Namespace labels, if given)."""
        return self.copy(policies=policies,
                         namespaces=self.namespaces if namespaces is None else namespaces)

    def namespace_labels(self, name: str) -> Mapping[str, str]:
        """A namespace's labels, with the one the API server sets on every namespace."""
        for ns in self.namespaces:
            if ns.name == name:
                return {**ns.labels, NAMESPACE_NAME_LABEL: name}
        # A namespace the input only names (a pod's metadata.namespace) exists in a real
        # cluster with no labels but this one.
        return {NAMESPACE_NAME_LABEL: name}

    # -- what the EndpointSlice controller computes ------------------------------------------
    def selected_pods(self, service: Service) -> list[Pod]:
        """Pods in the Service's namespace whose labels carry every pair of its selector."""
        if not service.selector:
            return []            # no selector: endpoints are managed by hand (EndpointSlices)
        if self._label_index is None:
            index: dict[tuple[str, str, str], list[int]] = {}
            for i, p in enumerate(self.pods):
                for k, v in p.labels.items():
                    index.setdefault((p.namespace, k, v), []).append(i)
            self._label_index = index
        lists = [self._label_index.get((service.namespace, k, v), [])
                 for k, v in service.selector.items()]
        lists.sort(key=len)
        found = set(lists[0])
        for other in lists[1:]:
            found.intersection_update(other)
            if not found:
                break
        return [self.pods[i] for i in sorted(found)]

    def endpoints(self, service: Service, port: ServicePort) -> tuple[Endpoint, ...]:
        """Every endpoint of one Service port, ready or not, in kube-proxy's order."""
        cache_key = (service.key, port.port, port.protocol)
        cached = self._endpoint_cache.get(cache_key)
        if cached is not None:
            return cached
        given = self._slices_by_service.get(service.key)
        if given:
            found = self._endpoints_from_slices(service, port)
            # A hand-written slice sits beside the controller's: for a Service with a selector
            # the EndpointSlice controller still writes its own from the pods, and kube-proxy
            # merges every slice labelled with the Service's name (pkg/proxy/
            # endpointslicecache.go). Only slices the controller wrote (a snapshot) stand alone.
            if service.selector and not any(sl.by_controller for sl in given):
                found = self._endpoints_from_pods(service, port) + found
        else:
            found = self._endpoints_from_pods(service, port)
        # One endpoint per IP:port, as kube-proxy keeps them; a live one wins over a
        # terminating duplicate (pkg/proxy/endpointslicecache.go, addEndpoints).
        unique: dict[str, Endpoint] = {}
        for e in found:
            key = f"{e.address}:{e.port}"          # e.ip_port
            seen = unique.get(key)
            if seen is None or (seen.terminating and not e.terminating):
                unique[key] = e
        # kube-proxy keeps each Service port's endpoints sorted by their "IP:port" string
        # (pkg/proxy/endpointslicecache.go, byEndpoint), so rules and probabilities follow that order.
        result = tuple(unique[key] for key in sorted(unique))
        self._endpoint_cache[cache_key] = result
        return result

    def _endpoints_from_slices(self, service: Service, port: ServicePort) -> list[Endpoint]:
        found = []
        for sl in self._slices_by_service[service.key]:
            if sl.address_type not in ("IPv4", "IPv6"):
                continue         # FQDN slices: no proxier reads them (endpointslicecache.go)
            for name, number, protocol in sl.ports:
                # A slice port belongs to the Service port of the same name ("" when unnamed).
                if (name or None) == (port.name or None) and protocol == port.protocol:
                    found.extend(_with_port(e, number) for e in sl.endpoints)
        return found

    def _endpoints_from_pods(self, service: Service, port: ServicePort) -> list[Endpoint]:
        found = []
        publish = service.publish_not_ready_addresses
        # trafficDistribution makes the controller hint each ready endpoint for its own zone
        # (PreferSameZone, and PreferClose, its deprecated name) and, for PreferSameNode,
        # also for its own node (staging/src/k8s.io/endpointslice/trafficdist, update()).
        close = service.traffic_distribution in ("PreferClose", "PreferSameZone", "PreferSameNode")
        same_node = service.traffic_distribution == "PreferSameNode"
        by_name, new = self._node_by_name, object.__new__
        for pod in self.selected_pods(service):
            if not pod.ip or pod.phase in ("Succeeded", "Failed"):
                continue         # the controller skips pods with no IP yet, and finished ones
            node = by_name.get(pod.node) if pod.node else None
            if node is None:
                continue         # and pods whose Node it cannot find (reconciler.go)
            if isinstance(port.target_port, int):
                number = port.target_port
            else:
                number = pod.port_named(port.target_port, port.protocol)
                if number is None:
                    continue     # this pod has no container port of that name
            ready = (pod.ready and not pod.terminating) or publish
            zone = node.zone
            # Endpoint(...) with every field given, at a tenth of the cost: its frozen
            # dataclass __init__ sets each field through object.__setattr__, and a cluster of
            # 10,000 Services lists 100,000 endpoints (`k8slab rules` <= 2 s, issue 19).
            e = new(Endpoint)
            e.__dict__.update(
                address=pod.ip, port=number, pod=pod.name, node=pod.node, zone=zone, ready=ready,
                serving=pod.ready or publish, terminating=pod.terminating,
                hint_zones=(zone,) if close and ready and zone else None,
                hint_nodes=(pod.node,) if same_node and ready and pod.node else None,
                # The controller names the endpoint only for the Service the pod's subdomain
                # names (pkg/controller/util/endpoint/controller_utils.go, ShouldSetHostname).
                hostname=pod.hostname if pod.hostname and pod.subdomain == service.name else None)
            found.append(e)
        return found


def _with_port(e: Endpoint, port: int) -> Endpoint:
    copy = object.__new__(Endpoint)         # as `replace(e, port=port)`, without its cost
    copy.__dict__.update(e.__dict__)
    copy.__dict__["port"] = port
    return copy


# ---------------------------------------------------------------------------------------
# After the load balancer: the Gateway API (gateway.networking.k8s.io/v1) and Ingress
# (networking.k8s.io/v1), as read after defaulting. The matching lives in gateway.py.
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GatewayClass:
    """A GatewayClass: which controller (implementation) programs the Gateways of this class."""

    name: str
    controller_name: str


@dataclass(frozen=True)
class Listener:
    """One entry of a Gateway's spec.listeners, with allowedRoutes defaulted."""

    name: str
    port: int
    protocol: str                                   # HTTP, HTTPS, TLS, TCP, UDP or a domain-prefixed one
    hostname: str | None = None
    allowed_from: str = "Same"                      # allowedRoutes.namespaces.from: Same, All, Selector, None
    allowed_selector: LabelSelector | None = None   # the same metav1.LabelSelector as a NetworkPolicy's
    allowed_kinds: tuple[tuple[str, str], ...] = ()  # (group, kind); empty: the protocol's default kinds


@dataclass(frozen=True)
class Gateway:
    """A Gateway: listeners a Gateway implementation opens behind its load balancer."""

    name: str
    namespace: str
    class_name: str
    listeners: tuple[Listener, ...] = ()
    addresses: tuple[str, ...] = ()                 # status.addresses (or spec.addresses) values

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class ParentRef:
    """An HTTPRoute's parentRefs entry (namespace None: the route's own)."""

    name: str
    namespace: str | None = None
    group: str = "gateway.networking.k8s.io"
    kind: str = "Gateway"
    section_name: str | None = None
    port: int | None = None


@dataclass(frozen=True)
class HTTPMatchValue:
    """A header or query-parameter match: name, value and type (Exact or RegularExpression)."""

    name: str
    value: str
    type: str = "Exact"


@dataclass(frozen=True)
class HTTPRouteMatch:
    """One entry of a rule's matches (all of its conditions must hold)."""

    path_type: str = "PathPrefix"                   # Exact, PathPrefix, RegularExpression
    path: str = "/"
    headers: tuple[HTTPMatchValue, ...] = ()
    query_params: tuple[HTTPMatchValue, ...] = ()
    method: str | None = None


@dataclass(frozen=True)
class HTTPBackendRef:
    """A rule's backendRefs entry (namespace None: the route's own)."""

    name: str
    namespace: str | None = None
    group: str = ""
    kind: str = "Service"
    port: int | None = None
    weight: int = 1
    filters: tuple[str, ...] = ()                   # filter types, noted only
    redirect: Mapping[str, object] | None = field(default=None, hash=False)   # its RequestRedirect filter


@dataclass(frozen=True)
class HTTPRouteRule:
    """One entry of an HTTPRoute's rules, with matches defaulted to PathPrefix /."""

    matches: tuple[HTTPRouteMatch, ...] = (HTTPRouteMatch(),)
    backend_refs: tuple[HTTPBackendRef, ...] = ()
    filters: tuple[str, ...] = ()                   # filter types, in order
    redirect: Mapping[str, object] | None = field(default=None, hash=False)   # requestRedirect, as given
    name: str | None = None


@dataclass(frozen=True)
class HTTPRoute:
    """An HTTPRoute: which requests on which Gateway listeners go to which backends."""

    name: str
    namespace: str
    parent_refs: tuple[ParentRef, ...] = ()
    hostnames: tuple[str, ...] = ()
    rules: tuple[HTTPRouteRule, ...] = (HTTPRouteRule(),)
    created: str | None = None                      # metadata.creationTimestamp (RFC 3339), if given

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class ReferenceGrant:
    """A ReferenceGrant: which kinds in which namespaces may refer to objects in its namespace."""

    name: str
    namespace: str
    from_: tuple[tuple[str, str, str], ...] = ()    # (group, kind, namespace)
    to: tuple[tuple[str, str, str | None], ...] = ()  # (group, kind, name or None for all)


@dataclass(frozen=True)
class IngressBackend:
    """An Ingress backend: a Service and port (a number or a name), or another resource."""

    service: str | None = None
    port: int | str | None = None
    resource: str | None = None                     # "Kind/name" of a resource backend


@dataclass(frozen=True)
class IngressPath:
    """One spec.rules[].http.paths entry."""

    path: str | None
    path_type: str                                  # Exact, Prefix, ImplementationSpecific
    backend: IngressBackend


@dataclass(frozen=True)
class IngressRule:
    """One spec.rules entry: a host (None: every host) and its paths."""

    host: str | None = None
    paths: tuple[IngressPath, ...] = ()


@dataclass(frozen=True)
class Ingress:
    """An Ingress (networking.k8s.io/v1): the older, frozen way to route HTTP to Services."""

    name: str
    namespace: str
    class_name: str | None = None                   # spec.ingressClassName
    default_backend: IngressBackend | None = None
    rules: tuple[IngressRule, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class GatewayObjects:
    """Every Gateway API and Ingress object read, and the namespaces' labels they select on."""

    classes: tuple[GatewayClass, ...] = ()
    gateways: tuple[Gateway, ...] = ()
    routes: tuple[HTTPRoute, ...] = ()
    grants: tuple[ReferenceGrant, ...] = ()
    ingresses: tuple[Ingress, ...] = ()
    namespace_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict, hash=False)

    def gateway(self, key: str) -> Gateway | None:
        return next((g for g in self.gateways if g.key == key), None)


# --- NetworkPolicy (networking.k8s.io/v1) --------------------------------------------------------

#: The label the API server puts on every Namespace, immutable, equal to its name
#: (staging/src/k8s.io/api/core/v1/well_known_labels.go, LabelMetadataName).
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class LabelSelector:
    """A metav1.LabelSelector: every matchLabels pair and every expression must hold."""

    match_labels: tuple[tuple[str, str], ...] = ()
    match_expressions: tuple[tuple[str, str, tuple[str, ...]], ...] = ()   # (key, operator, values)

    @property
    def empty(self) -> bool:
        """An empty selector ({}) selects everything."""
        return not self.match_labels and not self.match_expressions

    def matches(self, labels: Mapping[str, str]) -> bool:
        for k, v in self.match_labels:
            if labels.get(k) != v:
                return False
        for key, op, values in self.match_expressions:
            present = key in labels
            if op == "In" and not (present and labels[key] in values):
                return False
            if op == "NotIn" and present and labels[key] in values:
                return False
            if op == "Exists" and not present:
                return False
            if op == "DoesNotExist" and present:
                return False
        return True

    def text(self) -> str:
        """As kubectl describe prints it: "pod=a,tier in (web,api)"; "<all>" for the empty one."""
        parts = [f"{k}={v}" for k, v in self.match_labels]
        for key, op, values in self.match_expressions:
            if op in ("In", "NotIn"):
                parts.append(f"{key} {op.lower()} ({','.join(values)})")
            elif op == "Exists":
                parts.append(key)
            else:
                parts.append(f"!{key}")
        return ",".join(parts) if parts else "<all>"


@dataclass(frozen=True)
class Namespace:
    """A Namespace: only its labels matter here (a policy's namespaceSelector reads them)."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class IPBlock:
    """spec.ingress[].from[].ipBlock / spec.egress[].to[].ipBlock: a CIDR less its excepts."""

    cidr: str
    excepts: tuple[str, ...] = ()


@dataclass(frozen=True)
class PolicyPeer:
    """One from/to entry. podSelector and namespaceSelector in one peer must both match."""

    pod_selector: LabelSelector | None = None
    namespace_selector: LabelSelector | None = None
    ip_block: IPBlock | None = None


@dataclass(frozen=True)
class PolicyPort:
    """One ports entry, after defaulting: protocol TCP when absent; no port means every port."""

    protocol: str = "TCP"
    port: int | str | None = None                 # a number, a container port's name, or None
    end_port: int | None = None


@dataclass(frozen=True)
class PolicyRule:
    """One ingress or egress rule. No peers: every peer; no ports: every port."""

    peers: tuple[PolicyPeer, ...] = ()
    ports: tuple[PolicyPort, ...] = ()


@dataclass(frozen=True)
class NetworkPolicy:
    """A NetworkPolicy after defaulting (policyTypes filled in as the API server does)."""

    name: str
    namespace: str
    pod_selector: LabelSelector = field(default_factory=LabelSelector)
    policy_types: tuple[str, ...] = ("Ingress",)
    ingress: tuple[PolicyRule, ...] = ()
    egress: tuple[PolicyRule, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"
@dataclass(frozen=True)
class ServiceRange:
    """The cluster's Service IP range (--service-cluster-ip-range, or its ServiceCIDR objects).

    `source` says where it was learned: "ServiceCIDR" (exact), "default/kubernetes" (its
    cluster IP is the range's first address; the prefix length is not known, so `exact` is
    False), "given" (--service-cidr), or "kubeadm" (nothing said: kubeadm's default)."""

    cidrs: tuple[str, ...] = ("10.96.0.0/12",)    # IPv4 ones only: k8slab models IPv4
    source: str = "kubeadm"
    exact: bool = True

    def _nth(self, n: int) -> str:
        # IPv4 only: "a.b.c.d/len" -> the n-th address after the network address.
        net = self.cidrs[0].split("/")[0]
        value = 0
        for part in net.split("."):
            value = value * 256 + int(part)
        value += n
        return ".".join(str((value >> shift) & 255) for shift in (24, 16, 8, 0))

    @property
    def kubernetes_ip(self) -> str:
        """The first address: the API server's own Service, default/kubernetes."""
        return self._nth(1)

    @property
    def dns_ip(self) -> str:
        """The tenth address: where kubeadm, k3s, kind and minikube put kube-dns."""
        return self._nth(10)


@dataclass(frozen=True)
class ClusterFacts:
    """What the input says about the cluster as a whole, beyond its objects."""

    service_range: ServiceRange = ServiceRange()
    #: What runs in kube-proxy's place (e.g. "Cilium's kube-proxy replacement"), when the
    #: input shows one: then the rules k8slab prints are kube-proxy's, not what runs there.
    proxy_replacement: str | None = None
    #: Kinds and objects read but not modelled (IPv6 Services and pods, ...), for notes.
    not_modelled: tuple[str, ...] = ()
