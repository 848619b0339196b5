"""What CoreDNS answers and how a pod's resolver searches: the names of Services and pods.

Two halves, each following its source:

* the client's resolver, as the kubelet writes its resolv.conf (kubernetes/kubernetes
  pkg/kubelet/network/dns/dns.go) and as glibc walks the search list (resolv/res_query.c,
  __res_context_search);
* the cluster DNS, as CoreDNS's `kubernetes` plugin answers under kubeadm's default Corefile
  (coredns/coredns plugin/kubernetes/: kubernetes.go, parse.go, reverse.go, handler.go, with
  plugin/backend_lookup.go for how records are built; handler_test.go is the spec):

      kubernetes cluster.local in-addr.arpa ip6.arpa {
         pods insecure
         fallthrough in-addr.arpa ip6.arpa
         ttl 30
      }
      forward . /etc/resolv.conf

Names outside `cluster.local` go to `forward`, a resolver k8slab does not model: their rcode is
UPSTREAM, unless the name lies under no delegated top-level domain (the Public Suffix List
decides, see public_names.py): then the public DNS answers NXDOMAIN and the search goes on. The model is IPv4: no Service or pod here has an IPv6 address, so AAAA answers are
empty (NOERROR) for names that exist.
"""

from __future__ import annotations

import ipaddress
import re
import weakref
from dataclasses import dataclass, field

from .errors import K8slabError
from .model import Cluster, Pod, Service, ServicePort
from .public_names import public_suffix

__all__ = ["Record", "Answer", "Try", "Resolver", "Lookup", "DnsEndpoint", "resolver", "query",
           "lookup", "service_records", "endpoints", "cluster_services", "cluster_dns_ip",
           "reverse_name", "TYPES", "RCODES", "TTL", "CLUSTER_DOMAIN", "CLUSTER_DNS_IP",
           "KUBERNETES_IP", "NODE_RESOLVER"]

CLUSTER_DOMAIN = "cluster.local"
#: kubeadm's defaults: the tenth address of the Service CIDR for the cluster DNS, the first
#: for the API server's `kubernetes` Service.
CLUSTER_DNS_IP = "10.96.0.10"
KUBERNETES_IP = "10.96.0.1"
#: `ttl 30` in kubeadm's Corefile (CoreDNS's own default is 5, as handler_test.go shows).
TTL = 30
#: The query types k8slab answers. ANY is a real ANY query: CoreDNS's kubernetes plugin answers
#: it with no records (handler.go: anything else is "a fake A lookup" that only decides between
#: NOERROR and NXDOMAIN).
TYPES = ("A", "AAAA", "SRV", "CNAME", "PTR", "ANY")
RCODES = ("NOERROR", "NXDOMAIN", "SERVFAIL", "UPSTREAM", "TIMEOUT")   # TIMEOUT: a NetworkPolicy drops the query
#: Stands for the node's own /etc/resolv.conf nameserver, which k8slab does not model.
NODE_RESOLVER = "the node's resolver"

_ZONE = CLUSTER_DOMAIN + "."
_IP4_ARPA = "in-addr.arpa."
_IP6_ARPA = "ip6.arpa."
# glibc caps ndots at 15 (RES_MAXNDOTS); the kubelet allows 3 nameservers (MaxDNSNameservers)
# and, with ExpandedDNSConfig (GA in 1.28), 32 search paths of 2048 characters in all.
_MAX_NDOTS = 15
_MAX_NAMESERVERS = 3
_MAX_SEARCHES = 32
_MAX_SEARCH_CHARS = 2048
# A CNAME chain inside the zone is followed at most this far (backend_lookup.go).
_MAX_CNAME_CHAIN = 10
_LABEL_CHARS = re.compile(r"[A-Za-z0-9_-]+\Z")


# ---------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Record:
    """One resource record of an answer, written as `dig` prints it."""

    name: str          # owner name, fully qualified, with its trailing dot
    type: str
    value: str         # an address; SRV "priority weight port target."; a CNAME/PTR target.
    ttl: int = TTL

    def to_dict(self) -> dict:
        return {"name": self.name, "type": self.type, "value": self.value, "ttl": self.ttl}

    def text(self) -> str:
        return f"{self.name}\t{self.ttl}\tIN\t{self.type}\t{self.value}"


@dataclass(frozen=True)
class Answer:
    """What one query for one absolute name gets: an rcode and the answer section."""

    rcode: str
    records: tuple[Record, ...] = ()
    note: str = ""     # why, in a sentence, where the rcode alone would puzzle a learner


@dataclass(frozen=True)
class Try:
    """One name the resolver sent, and the rcode that came back."""

    name: str
    rcode: str
    records: tuple[Record, ...] = field(default=(), compare=False)

    def to_dict(self) -> dict:
        return {"name": self.name, "rcode": self.rcode}


@dataclass(frozen=True)
class Resolver:
    """A client's resolv.conf: who it asks, the search list, and ndots."""

    client: str
    policy: str                       # the pod's dnsPolicy, or "node" for a process on a node
    nameservers: tuple[str, ...]
    searches: tuple[str, ...]
    options: tuple[str, ...]
    cluster_dns: str                  # the cluster DNS Service's address

    @property
    def ndots(self) -> int:
        """glibc's ndots: 1 unless an `ndots:N` option says otherwise (the last one wins)."""
        n = 1
        for o in self.options:
            if o.startswith("ndots:") and o[6:].isdigit():
                n = min(int(o[6:]), _MAX_NDOTS)
        return n

    @property
    def asks_cluster_dns(self) -> bool:
        """Whether the first nameserver, the one glibc asks, is the cluster DNS."""
        return bool(self.nameservers) and self.nameservers[0] == self.cluster_dns

    def resolv_conf(self) -> str:
        """The file as the kubelet writes it into the container (/etc/resolv.conf)."""
        lines = []
        for ns in self.nameservers:
            lines.append(f"nameserver {ns}" if ns != NODE_RESOLVER
                         else "nameserver ...   # the node's own nameserver (k8slab does not model it)")
        if self.searches:
            lines.append("search " + " ".join(self.searches))
        if self.options:
            lines.append("options " + " ".join(self.options))
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Lookup:
    """A client's whole lookup: every name its resolver tried, and what it got in the end."""

    client: str
    query: str
    type: str
    resolver: Resolver
    tried: tuple[Try, ...]
    rcode: str
    answer: tuple[Record, ...]
    note: str = ""

    def to_dict(self) -> dict:
        """DESIGN.md's `k8slab dns --json` output."""
        return {"client": self.client, "query": self.query, "type": self.type,
                "tried": [t.to_dict() for t in self.tried], "rcode": self.rcode,
                "answer": [r.to_dict() for r in self.answer]}

    def to_route_dict(self) -> dict:
        """The lookup in route JSON's `dns` shape (what `service_records` gives), with what was
        typed (`query`) and each try (`tried`): names without their trailing dot, as route's
        `dns` writes them."""
        owner = self.answer[0].name.rstrip(".") if self.answer else self.query
        return {"name": owner, "query": self.query, "rcode": self.rcode,
                "tried": [{"name": t.name.rstrip("."), "rcode": t.rcode} for t in self.tried],
                "records": _route_records(self.answer)}

    @property
    def addresses(self) -> list[str]:
        return [r.value for r in self.answer if r.type in ("A", "AAAA")]

    def text(self) -> str:
        """What `k8slab dns` prints: the resolver, each try, the answer and why."""
        r = self.resolver
        if r.asks_cluster_dns:
            who = f"the cluster DNS at {r.cluster_dns}"
        elif r.nameservers and r.nameservers[0] == NODE_RESOLVER:
            who = NODE_RESOLVER
        elif r.nameservers:
            who = f"{r.nameservers[0]} (not the cluster DNS)"
        else:
            who = "no nameserver at all"
        search = " ".join(r.searches) if r.searches else "(none)"
        lines = [f"{self.client} looks up {self.query} ({self.type})",
                 f"  resolver: asks {who}; search {search}; ndots:{r.ndots}", ""]
        width = max([len(t.name) for t in self.tried] + [4])
        for i, t in enumerate(self.tried, 1):
            lines.append(f"  {i}. {t.name.ljust(width)}  {t.rcode}")
        lines.append("")
        if self.answer:
            lines.append(f"{self.rcode}: {len(self.answer)} record{'s' if len(self.answer) != 1 else ''}")
            lines += ["  " + rec.text() for rec in self.answer]
        else:
            lines.append(f"{self.rcode}: no answer at all" if self.rcode == "TIMEOUT" else f"{self.rcode}: no records")
        if self.note:
            lines += ["", "Why: " + self.note]
        return "\n".join(lines)


@dataclass(frozen=True)
class DnsEndpoint:
    """One ready address of a Service as CoreDNS reads it from the EndpointSlices."""

    address: str
    hostname: str | None                       # endpoints[].hostname, if the controller set one
    ports: tuple[tuple[str, int, str], ...]    # (name, port, protocol); empty: the slice has none
    pod: str | None = None

    @property
    def label(self) -> str:
        """The first label of its name: the hostname, else the address with dashes
        (kubernetes.go, endpointHostname)."""
        if self.hostname:
            return self.hostname
        if ":" in self.address:
            label = self.address.replace(":", "-")
            return label + "0" if label.endswith("-") else label
        return self.address.replace(".", "-")


# ---------------------------------------------------------------------------------------
# What CoreDNS knows: built once per cluster
# ---------------------------------------------------------------------------------------

class _Index:
    """Services by name and by address, namespaces, and endpoints (computed per Service, once)."""

    def __init__(self, cluster: Cluster):
        self.cluster = cluster
        services = sorted(cluster_services(cluster), key=lambda s: (s.namespace, s.name))
        self.services: dict[tuple[str, str], Service] = {(s.namespace, s.name): s for s in services}
        self.by_ip: dict[str, Service] = {}
        for s in services:
            if s.cluster_ip and s.cluster_ip != "None" and s.type != "ExternalName":
                self.by_ip.setdefault(s.cluster_ip, s)
        # CoreDNS answers only for namespaces that exist (namespace.go). k8slab reads no
        # Namespace objects: the ones every cluster has, and those its objects live in.
        self.namespaces = {"default", "kube-system", "kube-public", "kube-node-lease"}
        self.namespaces.update(s.namespace for s in services)
        self.namespaces.update(p.namespace for p in cluster.pods)
        self.slices: dict[str, list] = {}
        for sl in cluster.slices:
            self.slices.setdefault(sl.service, []).append(sl)
        dns_service = self.services.get(("kube-system", "kube-dns"))
        self.dns_ip = (dns_service.cluster_ip if dns_service and dns_service.cluster_ip
                       and dns_service.cluster_ip != "None" else cluster.facts.service_range.dns_ip)
        self._endpoints: dict[str, tuple[DnsEndpoint, ...]] = {}
        self._reverse: dict[str, list[tuple[Service, DnsEndpoint]]] | None = None

    def endpoints(self, svc: Service) -> tuple[DnsEndpoint, ...]:
        found = self._endpoints.get(svc.key)
        if found is None:
            # CoreDNS answers in EndpointSlice order (and `loadbalance` shuffles A records per
            # answer); k8slab shows named endpoints by name, the others by address.
            found = tuple(sorted(self._compute(svc), key=lambda e: (
                e.hostname is None, e.hostname or "", _ip_key(e.address))))
            self._endpoints[svc.key] = found
        return found

    def _compute(self, svc: Service) -> list[DnsEndpoint]:
        if svc.type == "ExternalName":
            return []
        if svc.key in self.slices:
            # EndpointSlices as written: CoreDNS keeps ready endpoints only, and every address
            # of each (object/endpoint.go, endpointSliceToEndpoints; unset ready means ready).
            out = []
            for sl in self.slices[svc.key]:
                ports = tuple((name or "", number, protocol) for name, number, protocol in sl.ports)
                for e in sl.endpoints:
                    if e.ready:
                        out.append(DnsEndpoint(e.address, e.hostname, ports, e.pod))
            return out
        out = []
        for pod in self.cluster.selected_pods(svc):
            # The EndpointSlice controller: pods with an IP that have not finished
            # (controller_utils.go, ShouldPodBeInEndpoints); ready unless not ready or
            # terminating, and publishNotReadyAddresses makes every one ready (podToEndpoint).
            if not pod.ip or pod.phase in ("Succeeded", "Failed"):
                continue
            if not ((pod.ready and not pod.terminating) or svc.publish_not_ready_addresses):
                continue
            # A pod lacking a named port is not left out: the controller groups endpoints by
            # the ports they resolve (reconciler.go, getEndpointPorts skips the port only), so
            # it lands in a slice with fewer ports, and CoreDNS still gives it its A record.
            ports = []
            for sp in svc.ports:
                number = sp.target_port if isinstance(sp.target_port, int) else pod.port_named(
                    sp.target_port, sp.protocol)
                if number is not None:
                    ports.append((sp.name or "", number, sp.protocol))
            hostname = pod.hostname if pod.hostname and pod.subdomain == svc.name else None
            out.append(DnsEndpoint(pod.ip, hostname, tuple(ports), pod.name))
        return out

    def reverse(self, ip: str) -> list[tuple[Service, DnsEndpoint]]:
        if self._reverse is None:
            rev: dict[str, list[tuple[Service, DnsEndpoint]]] = {}
            for svc in self.services.values():
                for e in self.endpoints(svc):
                    rev.setdefault(e.address, []).append((svc, e))
            self._reverse = rev
        return self._reverse.get(ip, [])


_INDEXES: "weakref.WeakKeyDictionary[Cluster, _Index]" = weakref.WeakKeyDictionary()


def _index(cluster: Cluster) -> _Index:
    idx = _INDEXES.get(cluster)
    if idx is None:
        idx = _INDEXES[cluster] = _Index(cluster)
    return idx


def cluster_services(cluster: Cluster) -> list[Service]:
    """The cluster's Services plus the two every cluster has, unless the input gives them:
    `default/kubernetes` (the API server) and `kube-system/kube-dns`, at the first and tenth
    address of the cluster's Service range (10.96.0.1 and 10.96.0.10 with kubeadm's)."""
    services = list(cluster.services)
    keys = {s.key for s in services}
    ips = {s.cluster_ip for s in services}
    # The range the input says (ServiceCIDR, default/kubernetes, --service-cidr; issue 22).
    kubernetes_ip, dns_ip = cluster.facts.service_range.kubernetes_ip, cluster.facts.service_range.dns_ip
    if "default/kubernetes" not in keys and kubernetes_ip not in ips:
        # No selector: the API server keeps its endpoints itself (not modelled here).
        services.append(Service(name="kubernetes", namespace="default", cluster_ip=kubernetes_ip,
                                ports=(ServicePort(443, 6443, "TCP", "https"),),
                                labels={"component": "apiserver", "provider": "kubernetes"}))
    if "kube-system/kube-dns" not in keys and dns_ip not in ips:
        services.append(Service(name="kube-dns", namespace="kube-system", cluster_ip=dns_ip,
                                selector={"k8s-app": "kube-dns"},
                                ports=(ServicePort(53, 53, "UDP", "dns"),
                                       ServicePort(53, 53, "TCP", "dns-tcp"),
                                       ServicePort(9153, 9153, "TCP", "metrics")),
                                labels={"k8s-app": "kube-dns"}))
    return services


def cluster_dns_ip(cluster: Cluster) -> str:
    """The address pods with dnsPolicy ClusterFirst ask: the kube-dns Service's cluster IP."""
    return _index(cluster).dns_ip


def endpoints(cluster: Cluster, service: Service) -> tuple[DnsEndpoint, ...]:
    """The ready addresses CoreDNS publishes for a Service, in address order."""
    return _index(cluster).endpoints(service)


def _ip_key(address: str):
    try:
        ip = ipaddress.ip_address(address)
        return (ip.version, int(ip))
    except ValueError:
        return (9, 0)


# ---------------------------------------------------------------------------------------
# The cluster DNS: one query, one absolute name
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Item:
    """One msg.Service of CoreDNS: a host (address or name), a port, and the name it lives at."""

    host: str
    port: int
    domain: str        # the record's own name (ClusterIP: the Service; headless: the endpoint)

    @property
    def host_type(self) -> str:
        """msg.Service.HostType: an address is A or AAAA, anything else a name (CNAME)."""
        try:
            return "A" if ipaddress.ip_address(self.host).version == 4 else "AAAA"
        except ValueError:
            return "CNAME"


class _NameError(Exception):
    """NXDOMAIN from the kubernetes plugin (errNoItems, errNsNotExposed, errInvalidRequest)."""


class _Fallthrough(Exception):
    """Not the kubernetes plugin's name after all: `fallthrough in-addr.arpa ip6.arpa`."""


def query(cluster: Cluster, name: str, qtype: str = "A") -> Answer:
    """What the cluster DNS answers for one absolute name (a trailing dot is implied)."""
    qtype = _check_type(qtype)
    qname = name if name.endswith(".") else name + "."
    return _query(_index(cluster), qname, qtype)


def _query(idx: _Index, qname: str, qtype: str) -> Answer:
    lower = qname.lower()
    if lower == _ZONE or lower.endswith("." + _ZONE):
        return _kubernetes(idx, qname, lower, qtype)
    if lower.endswith(_IP4_ARPA) or lower.endswith(_IP6_ARPA) or lower in (_IP4_ARPA, _IP6_ARPA):
        if qtype == "PTR":
            found = _reverse(idx, lower)
            if found:
                return Answer("NOERROR", tuple(Record(qname, "PTR", host) for host in found))
        # Not a cluster address (or not a PTR query): `fallthrough in-addr.arpa ip6.arpa`
        # hands it to the next plugin, `forward`.
        return Answer("UPSTREAM", note=f"CoreDNS knows no cluster address for {qname} and "
                                       "forwards it to the upstream resolver, which k8slab does not model.")
    if public_suffix(qname) is None:
        return _no_such_tld(qname, "CoreDNS forwards it (forward . /etc/resolv.conf) and")
    return Answer("UPSTREAM", note=f"{qname} is outside {_ZONE}, so CoreDNS forwards it "
                                   "(forward . /etc/resolv.conf) to a resolver k8slab does not model.")


def _no_such_tld(qname: str, how: str) -> Answer:
    """The public DNS's answer for a name under no delegated top-level domain: NXDOMAIN."""
    tld = qname.rstrip(".").rsplit(".", 1)[-1]
    return Answer("NXDOMAIN", note=f"{qname} is outside {_ZONE}: {how} the upstream answers "
                                   f"NXDOMAIN, because {tld} is no top-level domain (none in the "
                                   "Public Suffix List); like any NXDOMAIN, that sends the resolver "
                                   "on to the next name of its search list, if one is left.")


def _kubernetes(idx: _Index, qname: str, lower: str, qtype: str) -> Answer:
    """The kubernetes plugin's ServeDNS for a name inside cluster.local."""
    try:
        if qtype == "A":
            records = _address(idx, qname, lower, "A", [])
        elif qtype == "AAAA":
            records = _address(idx, qname, lower, "AAAA", [])
        elif qtype == "SRV":
            records = _srv(idx, qname, lower)
        elif qtype == "CNAME":
            items = _services(idx, lower)
            # backend_lookup.go CNAME: the first item, only if its host is a name.
            records = [Record(qname, "CNAME", _fqdn(items[0].host))] if items and \
                items[0].host_type == "CNAME" else []
        elif qtype == "PTR":
            # A PTR query for a forward name: no records, but the name's existence decides
            # NOERROR or NXDOMAIN (reverse.go: Reverse falls back to Records).
            _records(idx, lower)
            records = []
        else:
            # ANY, and every other type: "a fake A lookup, so we can distinguish between
            # NODATA and NXDOMAIN" (handler.go); the answer stays empty.
            _address(idx, qname, lower, "A", [])
            records = []
    except _NameError as e:
        return Answer("NXDOMAIN", note=str(e))
    if not records:
        return Answer("NOERROR", note=f"{qname} exists, but has no {qtype} record.")
    return Answer("NOERROR", tuple(records))


def _parse(lower: str) -> dict | None:
    """parse.go, parseRequest: the labels of a name below cluster.local, right to left."""
    base = lower[:-len(_ZONE)].rstrip(".") if lower != _ZONE else ""
    if base in ("", "svc", "pod"):
        return None                                   # the apex and its two subtrees: NODATA
    segs = base.split(".")
    r = {"kind": segs[-1], "namespace": "", "service": "", "endpoint": "", "port": "", "protocol": ""}
    if r["kind"] not in ("svc", "pod"):
        raise _NameError(f"{lower} is neither under svc.{_ZONE} nor under pod.{_ZONE}, the only "
                         "names CoreDNS's kubernetes plugin serves.")
    rest = segs[:-1]
    if rest:
        r["namespace"] = rest.pop()
    if rest:
        r["service"] = rest.pop()
    if len(rest) == 1:
        r["endpoint"] = rest[0]
    elif len(rest) == 2:
        # Two labels more are always _port._protocol (an underscore is stripped if present).
        r["port"], r["protocol"] = rest[0].removeprefix("_"), rest[1].removeprefix("_")
    elif len(rest) > 2:
        raise _NameError(f"{lower} has more labels than any Service or pod name "
                         "(SERVICE.NAMESPACE.svc, ENDPOINT.SERVICE.NAMESPACE.svc or "
                         "_PORT._PROTOCOL.SERVICE.NAMESPACE.svc).")
    return r


def _records(idx: _Index, lower: str) -> list[_Item]:
    """kubernetes.go, Records: the items a forward name has, or _NameError."""
    r = _parse(lower)
    if r is None or not r["namespace"] and r["kind"] in ("svc", "pod"):
        return []
    if r["namespace"] not in idx.namespaces:
        raise _NameError(f"there is no namespace {r['namespace']!r} in this cluster.")
    if r["kind"] == "pod":
        return _pods(r)
    return _find_services(idx, r)


def _pods(r: dict) -> list[_Item]:
    """kubernetes.go, findPods with `pods insecure`: the name is the address, with dashes;
    no pod needs to have it."""
    name = r["service"]
    if not name:
        return []                                     # NAMESPACE.pod.cluster.local: NODATA
    if name.count("-") == 3 and "--" not in name:
        text = name.replace("-", ".")
    else:
        text = name.replace("-", ":")
    try:
        ipaddress.ip_address(text)
    except ValueError:
        raise _NameError(f"{name!r} is not an address with dashes (like 10-244-1-5), so there "
                         f"is no such name under {r['namespace']}.pod.{_ZONE}.")
    return [_Item(text, 0, "")]


def _find_services(idx: _Index, r: dict) -> list[_Item]:
    """kubernetes.go, findServices."""
    if not r["service"]:
        return []                                     # NAMESPACE.svc.cluster.local: NODATA
    svc = idx.services.get((r["namespace"], r["service"]))
    if svc is None:
        raise _NameError(f"there is no Service {r['service']!r} in namespace {r['namespace']!r}.")
    zone_path = f"{svc.name}.{svc.namespace}.svc.{_ZONE}"
    if svc.type == "ExternalName":
        # No endpoints, no _port._protocol names; and an externalName that is an IP address is
        # no CNAME target, so the name answers nothing at all (HostType is A, not CNAME).
        if r["endpoint"] or r["port"] or r["protocol"]:
            raise _NameError(f"an ExternalName Service ({svc.name}) has no names below its own.")
        item = _Item(svc.external_name or "", 0, zone_path)
        if item.host_type != "CNAME":
            raise _NameError(f"Service {svc.name}'s externalName {svc.external_name!r} is an IP "
                             "address, not a name: CoreDNS serves no record for it (use a "
                             "Service without selector and an EndpointSlice instead).")
        return [item]
    items: list[_Item] = []
    if svc.headless or r["endpoint"]:
        for e in idx.endpoints(svc):
            if r["endpoint"] and e.label != r["endpoint"]:
                continue
            for name, number, protocol in e.ports or (("", -1, ""),):
                if _port_matches(r, name, protocol):
                    items.append(_Item(e.address, number, f"{e.label}.{zone_path}"))
        if not items:
            if r["endpoint"]:
                raise _NameError(f"Service {svc.name} has no ready endpoint named {r['endpoint']!r}.")
            if r["port"] or r["protocol"]:
                raise _NameError(f"Service {svc.name} has no port named {r['port']!r} "
                                 f"with protocol {r['protocol']!r} on a ready endpoint.")
            raise _NameError(f"headless Service {svc.name} has no ready endpoint, so its name "
                             "has no address at all.")
        return items
    ports = [(p.name or "", p.port, p.protocol) for p in svc.ports] or [("", -1, "")]
    for name, number, protocol in ports:
        if _port_matches(r, name, protocol):
            items.append(_Item(svc.cluster_ip or "", number, zone_path))
    if not items:
        raise _NameError(f"Service {svc.name} has no port named {r['port']!r} with protocol "
                         f"{r['protocol']!r}.")
    return items


def _port_matches(r: dict, name: str, protocol: str) -> bool:
    # matchPortAndProtocol: an empty label matches anything; names compare without case.
    return ((not r["port"] or r["port"] == name.lower())
            and (not r["protocol"] or r["protocol"] == protocol.lower()))


def _services(idx: _Index, lower: str) -> list[_Item]:
    """kubernetes.go, Services: Records, with the DNS-schema TXT and NS cases left out."""
    return _records(idx, lower)


def _address(idx: _Index, qname: str, lower: str, qtype: str, chain: list[Record]) -> list[Record]:
    """backend_lookup.go, A and AAAA: addresses, and a CNAME followed inside the zone."""
    out: list[Record] = []
    seen: set[str] = set()
    for item in _services(idx, lower):
        kind = item.host_type
        if kind == "CNAME":
            target = _fqdn(item.host)
            if target.lower() == lower or len(chain) > _MAX_CNAME_CHAIN:
                continue                              # x CNAME x, or a chain too long
            cname = Record(qname, "CNAME", target)
            if any(c.value.lower() == target.lower() for c in chain):
                continue
            if target.lower() == _ZONE or target.lower().endswith("." + _ZONE):
                try:
                    more = _address(idx, target, target.lower(), qtype, chain + [cname])
                except _NameError:
                    more = []
                if more:
                    out += [cname] + more
                continue
            # Outside the zone: CoreDNS asks upstream for the target's addresses and adds them
            # after the CNAME. k8slab does not model that resolver: the CNAME is all it shows.
            out.append(cname)
        elif kind == qtype and item.host not in seen:
            seen.add(item.host)
            out.append(Record(qname, qtype, item.host))
    return out


def _srv(idx: _Index, qname: str, lower: str) -> list[Record]:
    """backend_lookup.go, SRV: priority 0, weight 100 split evenly over every item (the ones
    dropped later included), the target the item's own name."""
    items = [i for i in _services(idx, lower) if i.host_type != "CNAME"]  # no SRV for ExternalName
    if not items:
        return []
    weight = max(1, 100 // len(items))
    out, seen = [], set()
    for item in items:
        if item.port == -1:
            continue                                  # no declared port: no SRV record
        target = item.domain
        if (target, item.port) in seen:
            continue
        seen.add((target, item.port))
        out.append(Record(qname, "SRV", f"0 {weight} {item.port} {target}"))
    return out


def _reverse(idx: _Index, lower: str) -> list[str]:
    """reverse.go: a cluster IP names its Service; else every endpoint with that address."""
    ip = _address_from_reverse(lower)
    if ip is None:
        return []
    svc = idx.by_ip.get(ip)
    if svc is not None:
        return [f"{svc.name}.{svc.namespace}.svc.{_ZONE}"]
    found, seen = [], set()
    for svc, e in idx.reverse(ip):
        host = f"{e.label}.{svc.name}.{svc.namespace}.svc.{_ZONE}"
        if host not in seen:
            seen.add(host)
            found.append(host)
    return found


def _address_from_reverse(lower: str) -> str | None:
    if lower.endswith("." + _IP4_ARPA):
        parts = lower[:-len(_IP4_ARPA) - 1].split(".")
        try:
            return str(ipaddress.IPv4Address(".".join(reversed(parts))))
        except ValueError:
            return None
    if lower.endswith("." + _IP6_ARPA):
        nibbles = lower[:-len(_IP6_ARPA) - 1].split(".")
        if len(nibbles) != 32 or any(len(n) != 1 for n in nibbles):
            return None
        try:
            return str(ipaddress.IPv6Address(int("".join(reversed(nibbles)), 16)))
        except ValueError:
            return None
    return None


def reverse_name(address: str) -> str:
    """The in-addr.arpa (or ip6.arpa) name of an address, as `dig -x` builds it."""
    return ipaddress.ip_address(address).reverse_pointer + "."


def _fqdn(name: str) -> str:
    return name if name.endswith(".") else name + "."


# ---------------------------------------------------------------------------------------
# The client's resolver
# ---------------------------------------------------------------------------------------

def resolver(cluster: Cluster, client: str, namespace: str = "default") -> Resolver:
    """The resolv.conf the kubelet gives a pod (`pod/NAME`, `pod/NS/NAME`), or a node's own
    (`node/NAME`)."""
    idx = _index(cluster)
    kind, pod = _client(cluster, client, namespace)
    if kind == "node":
        # A process on a node uses the node's /etc/resolv.conf: its own nameserver, which knows
        # nothing of cluster.local (k8slab's nodes have no search domains).
        return Resolver(client, "node", (NODE_RESOLVER,), (), (), idx.dns_ip)
    return _pod_resolver(client, pod, idx.dns_ip)


def _pod_resolver(client: str, pod: Pod, dns_ip: str) -> Resolver:
    """dns.go, GetPodDNS: the dnsPolicy picks the base, then spec.dnsConfig is appended."""
    policy = pod.dns_policy or "ClusterFirst"
    if policy not in ("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"):
        policy = "ClusterFirst"       # the kubelet's fallback for a value it does not know
    host_search: list[str] = []                       # the node's search line: none here
    if policy == "None":
        servers, searches, options = [], [], []
    elif policy == "ClusterFirstWithHostNet" or (policy == "ClusterFirst" and not pod.host_network):
        # The cluster DNS is the only nameserver; the search list is the pod's namespace, then
        # the node's; the node's options are replaced by ndots:5.
        servers = [dns_ip]
        searches = _unique([f"{pod.namespace}.svc.{CLUSTER_DOMAIN}", f"svc.{CLUSTER_DOMAIN}",
                            CLUSTER_DOMAIN] + host_search)
        options = ["ndots:5"]
    else:
        # Default, and ClusterFirst on a hostNetwork pod ("fallback to DNSDefault"): the node's
        # own resolv.conf.
        servers, searches, options = [NODE_RESOLVER], list(host_search), []
    conf = pod.dns_config
    if conf is not None:
        servers = _unique(servers + list(conf.nameservers))
        searches = _unique(searches + [s.removesuffix(".") for s in conf.searches])
        options = _merge_options(options, conf.options)
    return Resolver(client, policy, tuple(servers[:_MAX_NAMESERVERS]),
                    tuple(_fit_searches(searches)), tuple(options), dns_ip)


def _unique(items: list[str]) -> list[str]:
    seen, out = set(), []
    for s in items:
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def _merge_options(existing: list[str], extra) -> list[str]:
    """dns.go, mergeDNSOptions: a dnsConfig option replaces one of the same name. (The kubelet
    builds them in a Go map, so their order in the file is unspecified; here: first seen.)"""
    merged: dict[str, str | None] = {}
    for o in existing:
        name, sep, value = o.partition(":")
        merged[name] = value if sep else None
    for name, value in extra:
        merged[name] = value if value else None
    return [f"{k}:{v}" if v else k for k, v in merged.items()]


def _fit_searches(searches: list[str]) -> list[str]:
    """dns.go, formDNSSearchFitsLimits: at most 32 paths, none over 253 characters, 2048 in all."""
    kept = [s for s in searches[:_MAX_SEARCHES] if len(s) <= 253]
    while kept and len(" ".join(kept)) > _MAX_SEARCH_CHARS:
        kept.pop()
    return kept


def _client(cluster: Cluster, text: str, namespace: str) -> tuple[str, Pod | None]:
    if not isinstance(text, str) or not text:
        raise K8slabError("client: give pod/NAME, pod/NAMESPACE/NAME or node/NAME")
    kind, _, rest = text.partition("/")
    if kind == "node" and rest:
        if cluster.node(rest) is None:
            raise K8slabError(f"client {text}: no node {rest!r}; there are: "
                              + ", ".join(n.name for n in cluster.nodes))
        return "node", None
    if kind == "pod" and rest:
        ns, _, name = rest.rpartition("/")
        pod = cluster.pod(name, ns or namespace)
        if pod is None and not ns:
            anywhere = [p for p in cluster.pods if p.name == name]
            pod = anywhere[0] if len(anywhere) == 1 else None
        if pod is None:
            import difflib           # only for a typo: not on every lookup's path
            names = [p.name for p in cluster.pods if p.namespace == (ns or namespace)]
            close = difflib.get_close_matches(name, names, n=3)
            hint = "; did you mean " + " or ".join(close) + "?" if close else ""
            raise K8slabError(f"client {text}: no pod {name!r} in namespace {ns or namespace!r}{hint}")
        if pod.ip is None:
            raise K8slabError(f"client {text}: the pod is Pending (no node, no IP): it runs no "
                              "resolver yet")
        return "pod", pod
    if text in ("laptop", "other-cluster", "internet"):
        raise K8slabError(f"client {text}: only pods and nodes of this cluster can ask its DNS "
                          "(its address is a cluster IP); give pod/NAME, pod/NAMESPACE/NAME or node/NAME")
    import difflib
    known = [*(f"node/{n.name}" for n in cluster.nodes),
             *(f"pod/{p.name}" for p in cluster.pods if p.namespace == namespace)]
    close = difflib.get_close_matches(text, known, n=3)
    hint = "; did you mean " + " or ".join(close) + "?" if close else ""
    raise K8slabError(f"client {text!r}: give pod/NAME, pod/NAMESPACE/NAME or node/NAME{hint}")


# ---------------------------------------------------------------------------------------
# A whole lookup: the search list walked the way glibc walks it
# ---------------------------------------------------------------------------------------

def lookup(cluster: Cluster, client: str, name: str, qtype: str = "A",
           namespace: str = "default") -> Lookup:
    """What `client` gets when it looks up `name`: each try of its search list, then the answer.

    glibc's rules (res_query.c): a name with a trailing dot is absolute and asked alone; a name
    with at least `ndots` dots is asked as given first, then with each search domain; one with
    fewer goes down the search list first and is asked as given last. A try that returns
    records ends the lookup; NXDOMAIN, an empty NOERROR and SERVFAIL go on to the next. A try
    outside cluster.local under no delegated TLD gets NXDOMAIN from the public DNS and goes on
    too; one under a real TLD (UPSTREAM) ends what k8slab can follow: if the upstream resolver
    knows the name, that is the answer; if not, glibc goes on, and the note names the rest.
    For PTR, an IPv4 or IPv6 address stands for its reverse name, as with `dig -x`.
    """
    qtype = _check_type(qtype)
    res = resolver(cluster, client, namespace)
    idx = _index(cluster)
    typed = name.strip() if isinstance(name, str) else name
    asked = _check_name(typed, qtype)
    if asked != typed:
        candidates = [(asked, True)]               # an address for PTR: its reverse name, absolute
    else:
        candidates = _candidates(asked, res)
    blocked = _policy_blocks_dns(cluster, client, namespace, res)
    if blocked is not None and candidates:
        # A NetworkPolicy drops the query on its way to kube-dns: glibc waits, retries, and
        # gives up on the first name (no NXDOMAIN ever comes back to move it down the list).
        first = candidates[0][0]
        return Lookup(res.client, typed, qtype, res, (Try(first, "TIMEOUT", ()),), "TIMEOUT", (),
                      f"the query never gets an answer: {blocked.detail}")
    tried: list[Try] = []
    got_nodata = got_servfail = False
    final: Answer | None = None
    as_is_first = not asked.endswith(".") and asked.count(".") >= res.ndots
    saved: str | None = None
    for i, (candidate, as_is) in enumerate(candidates):
        if len(candidate.rstrip(".")) > 253:
            continue                               # too long to send once the domain is added
        answer = _ask(idx, res, candidate, qtype)
        tried.append(Try(candidate, answer.rcode, answer.records))
        final = answer
        if answer.records or answer.rcode == "UPSTREAM":
            break
        if as_is and as_is_first and i == 0:
            saved = answer.rcode
        if answer.rcode == "NOERROR":
            got_nodata = True
        elif answer.rcode == "SERVFAIL":
            got_servfail = True
    if final is None:
        raise K8slabError(f"name {typed!r}: every name the search list makes of it is longer "
                          "than 253 characters")
    if final.records or final.rcode == "UPSTREAM":
        rcode = final.rcode
    elif saved is not None:
        rcode = saved
    elif got_nodata:
        rcode = "NOERROR"
    elif got_servfail:
        rcode = "SERVFAIL"
    else:
        rcode = final.rcode
    left = [c for c, _ in candidates[len(tried):]] if final.rcode == "UPSTREAM" else []
    return Lookup(res.client, typed, qtype, res, tuple(tried), rcode, final.records if final.records else (),
                  _lookup_note(res, final, tried, asked, qtype, left))


def _policy_blocks_dns(cluster: Cluster, client: str, namespace: str, res: Resolver):
    """The NetworkPolicy decision that drops a pod's queries to the cluster DNS, or None."""
    if not cluster.policies or not res.asks_cluster_dns:
        return None
    kind, pod = _client(cluster, client, namespace)
    if kind != "pod" or pod is None:
        return None
    from . import policy
    return policy.dns_decision(cluster, pod)


def _candidates(name: str, res: Resolver) -> list[tuple[str, bool]]:
    """The names glibc sends, in order, each with whether it is the name as given."""
    if name.endswith("."):
        return [(name, True)]
    as_is = (name + ".", True)
    searched = [(f"{name}.{d}." if d not in ("", ".") else name + ".", False) for d in res.searches]
    if name.count(".") >= res.ndots:
        out = [as_is] + [c for c in searched if c[0] != as_is[0]]
    else:
        # The as-given try comes last, unless a root domain in the list already asked it.
        out = searched + ([] if any(c[0] == as_is[0] for c in searched) else [as_is])
    return _unique_pairs(out)


def _unique_pairs(pairs):
    seen, out = set(), []
    for p in pairs:
        if p[0] not in seen:
            seen.add(p[0])
            out.append(p)
    return out


def _ask(idx: _Index, res: Resolver, name: str, qtype: str) -> Answer:
    """One query, to the first nameserver (glibc asks the next only when one does not answer)."""
    if not res.nameservers:
        return Answer("SERVFAIL", note="the pod's resolv.conf lists no nameserver (dnsPolicy: None "
                                       "without dnsConfig.nameservers, which the API server refuses).")
    if res.asks_cluster_dns:
        return _query(idx, name, qtype)
    lower = name.lower()
    who = NODE_RESOLVER if res.nameservers[0] == NODE_RESOLVER else f"the nameserver {res.nameservers[0]}"
    if lower == _ZONE or lower.endswith("." + _ZONE):
        return Answer("NXDOMAIN", note=f"{who} is not the cluster DNS: it knows nothing of {_ZONE}, "
                                       "which only CoreDNS serves.")
    if public_suffix(name) is None:
        return _no_such_tld(name, f"{who} asks the public DNS and")
    return Answer("UPSTREAM", note=f"What {who} answers for {name} k8slab does not model.")


def _lookup_note(res: Resolver, final: Answer, tried: list[Try], asked: str, qtype: str,
                 left: list[str]) -> str:
    notes = []
    if not res.asks_cluster_dns and res.nameservers:
        if res.policy == "node":
            notes.append("A process on a node uses the node's own resolver, not the cluster DNS: "
                         f"it knows no {_ZONE} names. Ask the cluster DNS directly "
                         f"(`dig @{res.cluster_dns} NAME`) or use a pod.")
        elif res.policy in ("ClusterFirst", "Default"):
            why = ("a hostNetwork pod with dnsPolicy ClusterFirst falls back to Default"
                   if res.policy == "ClusterFirst" else "dnsPolicy Default")
            notes.append(f"This pod uses the node's resolver ({why}), which knows no {_ZONE} names; "
                         "a hostNetwork pod needs dnsPolicy: ClusterFirstWithHostNet to use the cluster DNS.")
        else:
            notes.append(f"This pod's first nameserver, {res.nameservers[0]}, is not the cluster DNS "
                         f"({res.cluster_dns}), so {_ZONE} names are unknown to it.")
    if not res.asks_cluster_dns:
        return " ".join(notes)
    if final.records and any(r.type == "CNAME" for r in final.records) and qtype in ("A", "AAAA"):
        last = final.records[-1]
        if last.type == "CNAME":
            notes.append(f"The cluster DNS answers with a CNAME to {last.value}; the addresses of "
                         f"that name come from the upstream resolver (forward . /etc/resolv.conf), "
                         "which k8slab does not model.")
    elif final.rcode == "UPSTREAM":
        notes.append(final.note)
        if left:
            notes.append("If the upstream resolver does not know it either, the resolver goes on "
                         "with " + ", ".join(left) + ".")
    elif not final.records:
        misses = sum(1 for t in tried if t.rcode == "NXDOMAIN")
        if final.note:
            notes.append(final.note)
        if len(tried) > 1 and misses:
            notes.append(f"Every one of the {len(tried)} names the search list made was tried.")
    if len(tried) > 1 and final.records:
        notes.append(f"{len(tried) - 1} name{'s' if len(tried) > 2 else ''} of the search list "
                     f"failed first (ndots:{res.ndots}: {asked!r} has {asked.count('.')} dot"
                     f"{'s' if asked.count('.') != 1 else ''}).")
    return " ".join(n for n in notes if n)


# ---------------------------------------------------------------------------------------
# Checking what the learner typed
# ---------------------------------------------------------------------------------------

def _check_type(qtype) -> str:
    t = qtype.upper() if isinstance(qtype, str) else qtype
    if t not in TYPES:
        raise K8slabError(f"type {qtype!r}: k8slab answers {', '.join(TYPES)} queries "
                          "(the types CoreDNS's kubernetes plugin serves for Services and pods)")
    return t


def _check_name(name, qtype: str) -> str:
    """The name to send, or K8slabError for one no resolver would send (RFC 1035 limits)."""
    if not isinstance(name, str) or not name:
        raise K8slabError("name: give a DNS name, like web, web.shop or web.shop.svc.cluster.local")
    if qtype == "PTR":
        try:
            return reverse_name(name)
        except ValueError:
            pass
    if name == ".":
        raise K8slabError("name '.': the root has no Service or pod records; give a name")
    body = name[:-1] if name.endswith(".") else name
    if len(body) > 253:
        raise K8slabError(f"name {name[:40]}...: {len(body)} characters; a DNS name has at most 253")
    for label in body.split("."):
        if not label:
            raise K8slabError(f"name {name!r}: an empty label (two dots in a row, or a leading dot)")
        if len(label) > 63:
            raise K8slabError(f"name {name!r}: the label {label[:20]}... has {len(label)} characters; "
                              "a DNS label has at most 63")
        if not _LABEL_CHARS.match(label):
            raise K8slabError(f"name {name!r}: the label {label!r} has characters other than letters, "
                              "digits, '-' and '_' (not a host name a resolver would send)")
    return name


# ---------------------------------------------------------------------------------------
# For the route: the answer to a Service's own name
# ---------------------------------------------------------------------------------------

def service_records(cluster: Cluster, service: Service) -> dict:
    """The cluster DNS's A answer for a Service's name, in route JSON's `dns` shape:
    `{"name": "web.shop.svc.cluster.local", "records": [{"type": "A", "value": ...}]}`."""
    name = f"{service.name}.{service.namespace}.svc.{CLUSTER_DOMAIN}"
    answer = _query(_index(cluster), name + ".", "A")
    return {"name": name, "records": _route_records(answer.records)}


def _route_records(records) -> list[dict]:
    """Records as route JSON lists them: a CNAME's target without its trailing dot."""
    return [{"type": r.type, "value": r.value.rstrip(".") if r.type == "CNAME" else r.value}
            for r in records]
