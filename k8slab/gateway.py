"""The Gateway API (and Ingress): which listener, route and rule an HTTP request matches, which backend, which pod."""

# Normative text: kubernetes-sigs/gateway-api apis/v1/gateway_types.go (Listener: hostname
# precedence, listener isolation), apis/v1/httproute_types.go (HTTPRouteSpec.Hostnames:
# intersection and hostname precedence; HTTPRouteRule.Matches: the match precedence order;
# HTTPPathMatch, HTTPHeaderMatch, HTTPQueryParamMatch; BackendRefs: 500 for invalid backends
# and their weight share, 503 for a backend with no ready endpoints), apis/v1/shared_types.go
# (ParentReference.SectionName/Port, BackendRef.Weight; the route condition reasons named in the
# answers: NotAllowedByListeners, NoMatchingListenerHostname, NoMatchingParent, RefNotPermitted,
# BackendNotFound, InvalidKind, as `kubectl describe httproute` shows them), referencegrant_types.go.
# Checked against conformance/tests/httproute-*.go (tests/test_gateway_conformance.py).

from __future__ import annotations

import datetime
import re
import urllib.parse
from dataclasses import dataclass, field

from . import proxy
from .errors import K8slabError
from .model import (
    Cluster, Gateway, GatewayObjects, HTTPBackendRef, HTTPRoute, HTTPRouteMatch, HTTPRouteRule, Ingress,
    IngressBackend, LabelSelector, Listener,
)

__all__ = ["RequestError", "Request", "Answer", "BackendShare", "parse_request", "request", "ingress_request",
           "host_matches", "listener_order", "intersect_hostnames", "path_matches", "IMPLEMENTATION_NOTE"]

GATEWAY_GROUP = "gateway.networking.k8s.io"
DEFAULT_PORTS = {"http": 80, "https": 443}

#: What the reason says about the hop after the Gateway. Envoy Gateway routes to the endpoints
#: of a Service's EndpointSlices by default, not to its cluster IP (routing to the cluster IP is
#: an opt-in `routingType: Service`, added by envoyproxy/gateway#3543 for issue #1900 "Support
#: routing to Service Cluster IP"), and its default balancer is Least Request
#: (gateway.envoyproxy.io/docs/tasks/traffic/load-balancing); NGINX Gateway Fabric and Istio
#: also balance over endpoints themselves. kube-proxy's rules for the Service are never walked.
IMPLEMENTATION_NOTE = (
    "The Gateway's proxy picks the pod itself from the Service's EndpointSlices and connects to it "
    "directly (the common case: Envoy Gateway, NGINX Gateway Fabric, Istio), so kube-proxy's rules, "
    "the cluster IP, session affinity and the traffic policies of that Service play no part; each "
    "ready pod gets an even share (in expectation under Envoy's default least-request balancer).")


class RequestError(K8slabError):
    """A --url, --header or --method that is not a usable HTTP request (a usage mistake)."""


def _empty() -> GatewayObjects:
    return GatewayObjects()


@dataclass(frozen=True)
class Request:
    """One HTTP request as the Gateway sees it."""

    scheme: str
    host: str                                   # the Host header, lower-cased, without a port
    port: int                                   # the port the client connected to
    path: str
    query: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()   # (name, value), as sent (Host aside)
    method: str = "GET"

    @property
    def url(self) -> str:
        default = DEFAULT_PORTS.get(self.scheme)
        port = "" if self.port == default else f":{self.port}"
        query = "?" + urllib.parse.urlencode(self.query) if self.query else ""
        return f"{self.scheme}://{self.host}{port}{self.path}{query}"


def parse_request(url: str, headers=(), method: str = "GET") -> Request:
    """A Request from a URL, "Name: value" header pairs and a method; K8slabError when unusable."""
    if not isinstance(url, str) or "://" not in url:
        raise RequestError(f"--url {url!r}: give a whole URL, such as http://example.com/path")
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError as e:                     # "Invalid IPv6 URL" and the like
        raise RequestError(f"--url {url!r}: not a URL ({e})") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise RequestError(f"--url {url!r}: the scheme must be http or https (HTTPRoute serves HTTP)")
    try:
        port = DEFAULT_PORTS[scheme] if parts.port is None else parts.port
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise RequestError(f"--url {url!r}: the port must be a number from 1 to 65535")
    try:
        hostname = parts.hostname
    except ValueError as e:
        raise RequestError(f"--url {url!r}: not a URL ({e})") from None
    if not hostname:
        raise RequestError(f"--url {url!r}: no host")
    host = hostname.lower()
    pairs = []
    for h in headers:
        if isinstance(h, str):
            name, sep, value = h.partition(":")
            if not sep or not name.strip():
                raise RequestError(f"--header {h!r}: write it as NAME:VALUE, such as version:two")
            h = (name.strip(), value.strip())
        name, value = h
        if not re.fullmatch(r"[A-Za-z0-9!#$%&'*+\-.^_`|~]+", name):
            raise RequestError(f"--header {name!r}: not a valid HTTP header name")
        if name.lower() == "host":
            host = value.lower().rsplit(":", 1)[0] if not value.startswith("[") else value.lower()
            continue
        pairs.append((name, value))
    method = (method or "GET").upper()
    if not re.fullmatch(r"[A-Z]+", method):
        raise RequestError(f"--method {method!r}: not an HTTP method")
    query = tuple(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    return Request(scheme, host, port, parts.path or "/", query, tuple(pairs), method)


@dataclass(frozen=True)
class BackendShare:
    """One backendRef of the rule that won: its weight share and, when valid, its pods."""

    ref: HTTPBackendRef
    namespace: str
    weight: int
    probability: float
    status: int                          # 200 (answers), 500 (invalid), 503 (no ready endpoint)
    problem: str | None = None
    endpoints: tuple[dict, ...] = ()     # {"pod", "node", "address", "probability"}
    location: str | None = None          # 3xx: the backendRef's RequestRedirect filter answers

    @property
    def short_problem(self) -> str | None:
        """The problem in a few words (the route status reason where the spec names one)."""
        if not self.problem:
            return None
        for code, words in (("RefNotPermitted", "no ReferenceGrant allows it"),
                            ("BackendNotFound", "no such Service"), ("InvalidKind", "not a Service")):
            if f"({code})" in self.problem:
                return f"{code}: {words}"
        if "ExternalName" in self.problem:
            return "an ExternalName Service"
        if "no ready endpoint" in self.problem:
            return "no ready pod"
        return "no such port" if "has no port" in self.problem else self.problem

    @property
    def label(self) -> str:
        kind = "" if (self.ref.group, self.ref.kind) == ("", "Service") else f"{self.ref.kind}/"
        return f"{kind}{self.namespace}/{self.ref.name}"

    def to_dict(self) -> dict:
        d = {"service": self.label, "port": self.ref.port, "weight": self.weight,
             "probability": round(self.probability, 10), "status": self.status,
             "endpoints": [dict(e, probability=round(e["probability"], 10)) for e in self.endpoints]}
        if self.problem:
            d["problem"] = self.problem
        if self.location:
            d["location"] = self.location
        return d


@dataclass(frozen=True)
class Answer:
    """What the Gateway does with one request: listener, route, rule, backends, status, why."""

    gateway: str
    request: Request
    status: int | None
    reason: str
    listener: str | None = None
    route: str | None = None
    rule: int | None = None
    match: HTTPRouteMatch | None = None
    backends: tuple[BackendShare, ...] = ()
    location: str | None = None            # a RequestRedirect's Location header
    filters: tuple[str, ...] = ()
    address: str | None = None             # the Gateway's address, when known
    listener_port: int | None = None
    listener_protocol: str | None = None
    listener_hostname: str | None = None
    kind: str = "Gateway"                  # "Gateway" or "Ingress"
    ingress_class: str | None = None       # for kind Ingress: the class asked for, if any
    considered: tuple[str, ...] = field(default=(), compare=False)   # routes on the listener

    @property
    def error_share(self) -> float:
        """The share of requests that get an error (500 or 503) from the rule's backends."""
        return sum(b.probability for b in self.backends if b.status >= 500)

    def text(self) -> str:
        """What `k8slab request` prints: the hops in order, then why."""
        req = self.request
        status = "no answer: nothing listens" if self.status is None else str(self.status)
        rows = [f"{req.method} {req.url} -> {self.kind} {self.gateway}"]
        if self.kind == "Gateway":
            where = "any host" if not self.listener_hostname else f"hostname {self.listener_hostname}"
            rows.append(f"  listener  {self.listener} ({self.listener_protocol} {self.listener_port}, {where})"
                        if self.listener else "  listener  none")
        if self.route is not None:
            rule = f"rule {self.rule}" if self.rule is not None else "defaultBackend"
            rows.append(f"  route     {self.route} {rule}" + (f" ({_describe(self.match)})" if self.match else ""))
        rows.append(f"  status    {status}" + (f"  Location: {self.location}" if self.location else ""))
        for b in self.backends:
            head = f"  backend   {b.label}:{b.ref.port} weight {b.weight} ({_percent(b.probability)})"
            if b.location:
                rows.append(f"{head} -> {b.status}, Location: {b.location}")
                continue
            if b.status != 200:
                rows.append(f"{head} -> {b.status}: {b.problem}")
                continue
            rows.append(head)
            for e in b.endpoints:
                rows.append(f"              pod {e['pod'] or '-'} {e['address']}"
                            + (f" on {e['node']}" if e.get("node") else "") + f"  {_percent(e['probability'])}")
        return "\n".join(rows) + f"\nwhy: {self.reason}"

    def to_dict(self) -> dict:
        if self.kind == "Ingress":
            return {"ingress_class": self.ingress_class, "status": self.status, "ingress": self.route,
                    "rule": self.rule, "path": _match_dict(self.match)["path"] if self.match else None,
                    "backends": [b.to_dict() for b in self.backends], "reason": self.reason}
        d = {"gateway": self.gateway, "listener": self.listener, "status": self.status,
             "route": self.route, "rule": self.rule,
             "match": _match_dict(self.match) if self.match else None,
             "backends": [b.to_dict() for b in self.backends], "reason": self.reason}
        if self.location is not None:
            d["location"] = self.location
        return d


def _match_dict(m: HTTPRouteMatch) -> dict:
    d: dict = {"path": {"type": m.path_type, "value": m.path}}
    if m.headers:
        d["headers"] = [{"name": h.name, "value": h.value, "type": h.type} for h in m.headers]
    if m.query_params:
        d["queryParams"] = [{"name": q.name, "value": q.value, "type": q.type} for q in m.query_params]
    if m.method:
        d["method"] = m.method
    return d


# ---------------------------------------------------------------------------------------
# Hostnames
# ---------------------------------------------------------------------------------------

def host_matches(pattern: str | None, host: str) -> bool:
    """Whether a listener or route hostname matches a request's Host.

    `*.example.com` is a suffix match over any number of labels, never `example.com` itself
    (gateway_types.go, Listener.Hostname); no pattern matches every host.
    """
    if not pattern:
        return True
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return host == pattern


def _specificity(hostname: str | None) -> tuple:
    # Exact before wildcard before none; among wildcards, more dots to the right of the
    # wildcard first (gateway_types.go, "Listeners that are distinct only by Hostname").
    if not hostname:
        return (2, 0, 0)
    if hostname.startswith("*."):
        return (1, -hostname.count("."), -len(hostname))
    return (0, 0, -len(hostname))


def listener_order(listeners) -> list[Listener]:
    """Listeners in the order a request's Host is tried against them: most specific first."""
    return sorted(listeners, key=lambda li: _specificity(li.hostname))


def _narrower(a: str, b: str) -> str | None:
    """The intersection of two hostnames, each exact or `*.` wildcard: the narrower one, or None."""
    a_wild, b_wild = a.startswith("*."), b.startswith("*.")
    if a_wild and b_wild:
        return a if a.endswith(b[1:]) else b if b.endswith(a[1:]) else None
    if a_wild:
        return b if host_matches(a, b) else None
    if b_wild:
        return a if host_matches(b, a) else None
    return a if a == b else None


def intersect_hostnames(listener: str | None, route: tuple[str, ...]) -> tuple[str, ...] | None:
    """The hostnames a route serves on a listener: None for any host, () for none at all.

    A route hostname must match the listener's, or the listener's must match the route's
    wildcard; the narrower of the two is what serves (httproute_types.go, HTTPRouteSpec.Hostnames).
    """
    if not route:
        return (listener,) if listener else None
    if not listener:
        return tuple(route)
    return tuple(dict.fromkeys(n for h in route if (n := _narrower(listener, h)) is not None))


# ---------------------------------------------------------------------------------------
# Matching
# ---------------------------------------------------------------------------------------

def path_matches(match: HTTPRouteMatch, path: str) -> bool:
    """HTTPPathMatch: Exact is the whole path; PathPrefix matches whole `/`-separated
    elements, case-sensitively, a trailing `/` in the prefix ignored (`/abc` matches `/abc`,
    `/abc/` and `/abc/def`, never `/abcd`); RegularExpression as Python's full match."""
    if match.path_type == "Exact":
        return path == match.path
    if match.path_type == "PathPrefix":
        prefix = match.path.rstrip("/")
        return not prefix or path == prefix or path.startswith(prefix + "/")
    try:
        return re.fullmatch(match.path, path) is not None
    except re.error:
        return False


def _value_matches(kind: str, pattern: str, value: str | None) -> bool:
    if value is None:
        return False
    if kind == "RegularExpression":
        try:
            return re.fullmatch(pattern, value) is not None
        except re.error:
            return False
    return value == pattern


def _first_by(items, key):
    # "If multiple entries specify equivalent names, only the first entry ... MUST be considered."
    seen, out = set(), []
    for item in items:
        k = key(item)
        if k not in seen:
            seen.add(k)
            out.append(item)
    return out


def _match_holds(m: HTTPRouteMatch, req: Request) -> bool:
    if not path_matches(m, req.path):
        return False
    if m.method and m.method != req.method:
        return False
    headers: dict[str, str] = {}
    for name, value in req.headers:
        headers.setdefault(name.lower(), value)     # header names are case-insensitive
    for h in _first_by(m.headers, lambda h: h.name.lower()):
        if not _value_matches(h.type, h.value, headers.get(h.name.lower())):
            return False
    params: dict[str, str] = {}
    for name, value in req.query:
        params.setdefault(name, value)              # query-parameter names are case-sensitive
    for q in _first_by(m.query_params, lambda q: q.name):
        if not _value_matches(q.type, q.value, params.get(q.name)):
            return False
    return True


def _created(route: HTTPRoute) -> datetime.datetime:
    if route.created:
        try:
            t = datetime.datetime.fromisoformat(route.created.replace("Z", "+00:00"))
            return t if t.tzinfo else t.replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            pass
    # No timestamp (a manifest, not a snapshot): as if created together, so the name decides.
    return datetime.datetime.max.replace(tzinfo=datetime.timezone.utc)


def _precedence(route: HTTPRoute, hostname: str | None, rule_i: int, match_i: int, m: HTTPRouteMatch) -> tuple:
    exact_host = len(hostname) if hostname and not hostname.startswith("*") else 0
    any_host = len(hostname) if hostname else 0
    path_rank = {"Exact": 0, "PathPrefix": 1}.get(m.path_type, 2)
    return (-exact_host, -any_host, path_rank, -len(m.path) if path_rank == 1 else 0,
            0 if m.method else 1, -len(_first_by(m.headers, lambda h: h.name.lower())),
            -len(_first_by(m.query_params, lambda q: q.name)), _created(route), route.key, rule_i, match_i)


# ---------------------------------------------------------------------------------------
# Attachment
# ---------------------------------------------------------------------------------------

def _selects(sel: LabelSelector | None, labels: dict) -> bool:
    return sel is None or sel.matches(labels)


def _namespace_allowed(objs: GatewayObjects, gw: Gateway, li: Listener, ns: str) -> bool:
    if li.allowed_from == "All":
        return True
    if li.allowed_from == "Same":
        return ns == gw.namespace
    if li.allowed_from == "Selector":
        # The API server labels every namespace with its own name (NamespaceDefaultLabelName).
        labels = {**objs.namespace_labels.get(ns, {}), "kubernetes.io/metadata.name": ns}
        return _selects(li.allowed_selector, labels)
    return False


def _kind_allowed(li: Listener) -> bool:
    if li.allowed_kinds:
        return (GATEWAY_GROUP, "HTTPRoute") in li.allowed_kinds
    return li.protocol in ("HTTP", "HTTPS")


def _attachment(objs: GatewayObjects, gw: Gateway, li: Listener, route: HTTPRoute) -> tuple[tuple | None, str | None]:
    """(the hostnames the route serves on this listener, or None for any; why not, if it does not attach)."""
    why = None
    for p in route.parent_refs:
        if (p.group, p.kind) != (GATEWAY_GROUP, "Gateway") or p.name != gw.name \
                or (p.namespace or route.namespace) != gw.namespace:
            continue
        if p.section_name and p.section_name != li.name:
            why = why or f"its parentRef names sectionName {p.section_name}, not {li.name} (NoMatchingParent)"
            continue
        if p.port and p.port != li.port:
            why = why or f"its parentRef names port {p.port}, not {li.port} (NoMatchingParent)"
            continue
        if not _namespace_allowed(objs, gw, li, route.namespace):
            why = why or (f"listener {li.name} allows routes from {li.allowed_from} namespaces "
                          f"and {route.namespace} is not one of them (NotAllowedByListeners)")
            continue
        if not _kind_allowed(li):
            why = why or f"listener {li.name} does not allow the HTTPRoute kind (NotAllowedByListeners)"
            continue
        hosts = intersect_hostnames(li.hostname, route.hostnames)
        if hosts == ():
            why = why or (f"none of its hostnames ({', '.join(route.hostnames)}) intersects "
                          f"listener {li.name}'s {li.hostname} (NoMatchingListenerHostname)")
            continue
        return hosts, None
    return None, why or "no parentRef names this Gateway"


# ---------------------------------------------------------------------------------------
# Backends: the weight split, then the pods
# ---------------------------------------------------------------------------------------

def _granted(objs: GatewayObjects, route: HTTPRoute, ref: HTTPBackendRef, ns: str) -> bool:
    for g in objs.grants:
        if g.namespace != ns:
            continue
        if not any(f == (GATEWAY_GROUP, "HTTPRoute", route.namespace) for f in g.from_):
            continue
        if any(group == ref.group and kind == ref.kind and (name is None or name == ref.name)
               for group, kind, name in g.to):
            return True
    return False


def _backend_problem(cluster: Cluster, objs: GatewayObjects, route: HTTPRoute, ref: HTTPBackendRef):
    """(why this backendRef is invalid or None, the Service, its port)."""
    ns = ref.namespace or route.namespace
    if (ref.group, ref.kind) not in (("", "Service"), ("core", "Service")):
        return f"kind {ref.kind} ({ref.group or 'core'} group) is not one the Gateway can send to (InvalidKind)", None, None
    if ns != route.namespace and not _granted(objs, route, ref, ns):
        return (f"the Service is in namespace {ns} and no ReferenceGrant there lets HTTPRoutes from "
                f"{route.namespace} refer to it (RefNotPermitted)"), None, None
    svc = cluster.service(ref.name, ns)
    if svc is None:
        return f"Service {ns}/{ref.name} does not exist (BackendNotFound)", None, None
    if svc.type == "ExternalName":
        return (f"Service {ns}/{ref.name} is an ExternalName Service, which has no endpoints to send to "
                "(support for it is implementation-specific; k8slab treats it as invalid)"), None, None
    port = next((p for p in svc.ports if p.port == ref.port), None)
    if port is None:
        return f"Service {ns}/{ref.name} has no port {ref.port}", None, None
    return None, svc, port


def _shares(cluster: Cluster, objs: GatewayObjects, route: HTTPRoute, rule: HTTPRouteRule,
            redirect_to=None) -> tuple[BackendShare, ...]:
    total = sum(r.weight for r in rule.backend_refs)
    out = []
    for ref in rule.backend_refs:
        ns = ref.namespace or route.namespace
        p = ref.weight / total if total else 0.0
        problem, svc, port = _backend_problem(cluster, objs, route, ref)
        if problem:
            out.append(BackendShare(ref, ns, ref.weight, p, 500, problem))
            continue
        if ref.redirect is not None and redirect_to is not None:
            # A RequestRedirect filter on the backendRef answers for its share: no pod is asked.
            out.append(BackendShare(ref, ns, ref.weight, p, int(ref.redirect.get("statusCode") or 302),
                                    location=redirect_to(ref.redirect)))
            continue
        view = proxy.categorize(svc, cluster.endpoints(svc, port), None)
        ready = view.cluster
        if not ready:
            out.append(BackendShare(ref, ns, ref.weight, p, 503,
                                    f"Service {svc.key} has no ready endpoint (the spec says SHOULD answer 503)"))
            continue
        each = proxy.shares(ready)
        eps = tuple({"pod": e.pod, "node": e.node, "address": e.ip_port, "probability": p * each[e]} for e in ready)
        out.append(BackendShare(ref, ns, ref.weight, p, 200, None, eps))
    return tuple(out)


def _redirect_location(req: Request, li: Listener, redirect, m: HTTPRouteMatch) -> str:
    # HTTPRequestRedirectFilter (httproute_types.go): an unset port is the scheme's well-known
    # port when a scheme is given, else the listener's; 80 for http and 443 for https are left out.
    r = redirect or {}
    scheme = r.get("scheme") or req.scheme
    host = r.get("hostname") or req.host
    port = r.get("port") or (DEFAULT_PORTS[scheme] if r.get("scheme") else li.port)
    path = req.path
    rp = r.get("path") if isinstance(r.get("path"), dict) else None
    if rp and rp.get("type") == "ReplaceFullPath":
        path = rp.get("replaceFullPath") or "/"
    elif rp and rp.get("type") == "ReplacePrefixMatch" and m.path_type == "PathPrefix":
        prefix = m.path.rstrip("/")
        rest = path[len(prefix):]
        new = (rp.get("replacePrefixMatch") or "/").rstrip("/")
        path = (new + rest) if rest.startswith("/") else (new + ("/" + rest if rest else "")) or "/"
        path = path or "/"
    shown = "" if DEFAULT_PORTS.get(scheme) == port else f":{port}"
    query = "?" + urllib.parse.urlencode(req.query) if req.query else ""
    return f"{scheme}://{host}{shown}{path}{query}"


# ---------------------------------------------------------------------------------------
# The request
# ---------------------------------------------------------------------------------------

def _percent(p: float) -> str:
    text = f"{p * 100:.1f}".rstrip("0").rstrip(".")
    return f"{text}%"


def request(cluster: Cluster, gateway: str, url: str | Request, headers=(), method: str = "GET") -> Answer:
    """What the Gateway `NS/NAME` does with one HTTP request (DESIGN.md, `k8slab request`)."""
    objs = cluster.gateway_objects or _empty()
    req = url if isinstance(url, Request) else parse_request(url, headers, method)
    ns, _, name = gateway.rpartition("/")
    key = f"{ns or 'default'}/{name}"
    gw = objs.gateway(key)
    if gw is None:
        known = ", ".join(g.key for g in objs.gateways) or "none in the input"
        raise K8slabError(f"--gateway {gateway}: no Gateway {key} (Gateways: {known})")
    address = gw.addresses[0] if gw.addresses else None

    def answer(status, reason, **kw):
        return Answer(key, req, status, reason, address=address, **kw)

    if objs.classes and not any(c.name == gw.class_name for c in objs.classes):
        return answer(None, f"No GatewayClass named {gw.class_name} exists, so no controller programs Gateway "
                            f"{key}: nothing listens. Create the GatewayClass (kubectl get gatewayclass lists "
                            "the installed ones) or set spec.gatewayClassName to one of "
                            + ", ".join(c.name for c in objs.classes) + ".")
    on_port = [li for li in gw.listeners if li.port == req.port]
    want = "HTTPS" if req.scheme == "https" else "HTTP"
    serving = [li for li in on_port if li.protocol == want]
    if not serving:
        if on_port:
            protos = ", ".join(sorted({li.protocol for li in on_port}))
            return answer(None, f"Gateway {key} listens on port {req.port} for {protos}, not {want}: the "
                                f"{req.scheme} request gets no HTTP answer there."
                                + (f" Try {'https' if want == 'HTTP' else 'http'}://." if protos in ("HTTP", "HTTPS") else ""))
        ports = ", ".join(dict.fromkeys(f"{li.port}/{li.protocol}" for li in gw.listeners))
        return answer(None, f"Nothing listens on port {req.port} of Gateway {key} (its listeners: {ports}): "
                            "the connection is refused or times out, no HTTP status at all.")
    chosen = next((li for li in listener_order(serving) if host_matches(li.hostname, req.host)), None)
    if chosen is None:
        names = ", ".join(f"{li.name} ({li.hostname})" for li in serving)
        return answer(404, f"Gateway {key} serves HTTP on port {req.port}, but no listener's hostname matches "
                           f"Host {req.host} (listeners: {names}; `*.example.com` matches sub-domains only, never "
                           "example.com itself): 404.", listener_port=req.port)
    attached, why_not, candidates = [], [], []
    for route in objs.routes:
        hosts, why = _attachment(objs, gw, chosen, route)
        if why is not None:
            if any(p.name == gw.name and (p.namespace or route.namespace) == gw.namespace for p in route.parent_refs):
                why_not.append(f"{route.key} does not attach: {why}")
            continue
        attached.append(route.key)
        if hosts is None:
            served = [None]
        else:
            served = [h for h in hosts if host_matches(h, req.host)]
            if not served:
                why_not.append(f"{route.key} serves {', '.join(hosts)}, not {req.host}")
                continue
        hostname = max(served, key=lambda h: (0, 0) if h is None else (0 if h.startswith("*") else len(h), len(h)))
        for ri, rule in enumerate(route.rules):
            for mi, m in enumerate(rule.matches):
                if _match_holds(m, req):
                    candidates.append((_precedence(route, hostname, ri, mi, m), route, ri, rule, m))
    lead = f"Listener {chosen.name} ({chosen.protocol} {chosen.port}" + \
           (f", hostname {chosen.hostname})" if chosen.hostname else ", any host)") + " takes it"
    if len(serving) > 1:
        lead += " (the most specific listener whose hostname matches; only its routes count)"
    if not candidates:
        detail = "; ".join(why_not[:3]) if why_not else (
            "no HTTPRoute attaches to it" if not attached else
            f"none of the rules of {', '.join(attached[:5])} matches {req.method} {req.path}")
        return answer(404, f"{lead}, but no route rule matches: {detail}. The Gateway answers 404.",
                      listener=chosen.name, listener_port=chosen.port, considered=tuple(attached),
                      listener_protocol=chosen.protocol, listener_hostname=chosen.hostname)
    candidates.sort(key=lambda c: c[0])
    _, route, ri, rule, m = candidates[0]
    base = dict(listener=chosen.name, listener_port=chosen.port, listener_protocol=chosen.protocol,
                listener_hostname=chosen.hostname, route=route.key, rule=ri, match=m,
                filters=rule.filters, considered=tuple(attached))
    how = f"{lead}; HTTPRoute {route.key} rule {ri} matches ({_describe(m)})"
    if len(candidates) > 1:
        other = candidates[1]
        how += f", ahead of {other[1].key} rule {other[2]} ({_why_first(candidates[0], other)})"
    noted = [f for f in rule.filters if f != "RequestRedirect"]
    note = f" Its filters ({', '.join(noted)}) change the request or response, not where it goes." if noted else ""
    if rule.redirect is not None:
        status = int(rule.redirect.get("statusCode") or 302)
        loc = _redirect_location(req, chosen, rule.redirect, m)
        return answer(status, f"{how}. Its RequestRedirect filter answers {status} with Location {loc}; "
                              f"no backend sees the request.{note}", location=loc, **base)
    if not rule.backend_refs:
        return answer(500, f"{how}. The rule has no backendRefs, so the Gateway answers 500.{note}", **base)
    shares = _shares(cluster, objs, route, rule, lambda r: _redirect_location(req, chosen, r, m))
    if not sum(s.weight for s in shares):
        return answer(500, f"{how}. Every backendRef has weight 0, so there is no backend to send to; the "
                           f"specification does not say what then, and k8slab answers 500 as for a rule "
                           f"without backends.{note}",
                      backends=shares, **base)
    good = [s for s in shares if s.status == 200 and s.probability > 0]
    moved = [s for s in shares if s.location and s.probability > 0]
    bad = [s for s in shares if s.status >= 500 and s.probability > 0]
    parts = [f"{s.label} weight {s.weight} ({_percent(s.probability)})" for s in shares]
    split = f" The weights send {', '.join(parts)}." if len(shares) > 1 else ""
    errs = "".join(f" {_percent(s.probability)} of requests get {s.status}: {s.problem}." for s in bad)
    redirects = "".join(f" {_percent(s.probability)} of requests get {s.status} from {s.label}'s RequestRedirect "
                        f"filter, Location {s.location}." for s in moved)
    if not good and moved:
        top = max(moved, key=lambda s: s.probability)
        return answer(top.status, f"{how}.{split}{redirects}{errs}{note}", backends=shares, location=top.location,
                      **base)
    if not good:
        status = 503 if all(s.status == 503 for s in bad) else 500
        return answer(status, f"{how}.{split}{errs}{note}", backends=shares, **base)
    return answer(200, f"{how}.{split}{redirects}{errs} {IMPLEMENTATION_NOTE}{note}", backends=shares, **base)


def _describe(m: HTTPRouteMatch) -> str:
    parts = [f"path {m.path_type} {m.path}"]
    if m.method:
        parts.append(f"method {m.method}")
    parts += [f"header {h.name}: {h.value}" for h in m.headers]
    parts += [f"query {q.name}={q.value}" for q in m.query_params]
    return ", ".join(parts)


_RANKS = ("a more specific exact hostname", "a more specific hostname", "an Exact path over a prefix",
          "a longer path prefix", "a method match", "more header matches", "more query-parameter matches",
          "the older route", "its namespace/name sorts first", "an earlier rule", "an earlier match")


def _why_first(a, b) -> str:
    for i, (x, y) in enumerate(zip(a[0], b[0])):
        if x != y:
            return _RANKS[i] if i != 2 or a[0][2] == 0 else "a prefix over a regular expression"
    return "an earlier match"


# ---------------------------------------------------------------------------------------
# Ingress: the frozen predecessor
# ---------------------------------------------------------------------------------------

def _ingress_host_matches(rule_host: str | None, host: str) -> bool:
    # networking/v1 IngressRule.Host: a wildcard covers exactly one DNS label
    # ("*.foo.com" matches "bar.foo.com", not "baz.bar.foo.com" nor "foo.com").
    if not rule_host:
        return True
    if rule_host.startswith("*."):
        head, _, rest = host.partition(".")
        return bool(head) and rest == rule_host[2:]
    return host == rule_host


def _ingress_path_matches(path_type: str, value: str | None, path: str) -> bool:
    value = value or "/"
    if path_type == "Exact":
        return path == value
    if path_type == "Prefix":
        prefix = value.rstrip("/")
        return not prefix or path == prefix or path.startswith(prefix + "/")
    # ImplementationSpecific: ingress-nginx (the controller most clusters ran) treats it as a
    # plain string prefix, so /foo matches /foobar there.
    return path.startswith(value)


def ingress_request(cluster: Cluster, url: str | Request, ingress_class: str | None = None, headers=(),
                    method: str = "GET") -> Answer:
    """Which Ingress rule and backend an ingress controller picks for one request, and why."""
    objs = cluster.gateway_objects or _empty()
    req = url if isinstance(url, Request) else parse_request(url, headers, method)
    ings = [i for i in objs.ingresses if ingress_class is None or i.class_name in (ingress_class, None)]
    label = f"ingress class {ingress_class}" if ingress_class else "Ingress"
    if not ings:
        raise K8slabError(f"no Ingress{' of class ' + ingress_class if ingress_class else ''} in the input")
    best = None
    for ing in ings:
        for ri, rule in enumerate(ing.rules):
            if not _ingress_host_matches(rule.host, req.host):
                continue
            host_rank = 0 if rule.host and not rule.host.startswith("*") else 1 if rule.host else 2
            for pi, p in enumerate(rule.paths):
                if _ingress_path_matches(p.path_type, p.path, req.path):
                    # Longest path first, Exact before Prefix on a tie (networking/v1 HTTPIngressPath).
                    key = (host_rank, -len(p.path or "/"), 0 if p.path_type == "Exact" else 1, ing.key, ri, pi)
                    if best is None or key < best[0]:
                        best = (key, ing, ri, p)
    unclassed = [i.key for i in ings if i.class_name is None]
    note = (f" ({', '.join(unclassed)} name no ingressClassName: only the default IngressClass's "
            "controller takes them)") if unclassed and ingress_class else ""
    if best is not None:
        _, ing, ri, p = best
        why = f"Ingress {ing.key} rule {ri} ({ing.rules[ri].host or 'any host'}) path {p.path_type} {p.path or '/'} matches"
        return _ingress_answer(cluster, ing, req, p.backend, why + note, label, ri, ingress_class,
                               HTTPRouteMatch(p.path_type, p.path or "/"))
    fallback = next((i for i in ings if i.default_backend is not None), None)
    if fallback is not None:
        return _ingress_answer(cluster, fallback, req, fallback.default_backend,
                               f"No rule matches {req.host}{req.path}; Ingress {fallback.key}'s defaultBackend takes it" + note,
                               label, None, ingress_class)
    return Answer(label, req, 404, f"No Ingress rule matches {req.host}{req.path} and none has a defaultBackend: "
                                   f"the controller's own default backend answers 404.{note}", kind="Ingress",
                  ingress_class=ingress_class)


def _ingress_answer(cluster: Cluster, ing: Ingress, req: Request, b: IngressBackend, why: str, label, ri,
                    ingress_class=None, match=None) -> Answer:
    common = dict(route=ing.key, rule=ri, kind="Ingress", ingress_class=ingress_class, match=match)
    ref_port = b.port
    if b.service is None:
        return Answer(label, req, 500, f"{why}, but its backend is a resource ({b.resource}), which only some "
                                       "controllers serve.", **common)
    svc = cluster.service(b.service, ing.namespace)
    port = None
    if svc is not None:
        port = next((p for p in svc.ports if p.port == ref_port or (p.name and p.name == ref_port)), None)
    number = port.port if port else (ref_port if isinstance(ref_port, int) else None)
    ref = HTTPBackendRef(b.service, ing.namespace, port=number)
    if svc is None or port is None:
        problem = f"Service {ing.namespace}/{b.service} does not exist" if svc is None else \
            f"Service {svc.key} has no port {ref_port}"
        share = BackendShare(ref, ing.namespace, 1, 1.0, 503, problem)
        return Answer(label, req, 503, f"{why}, but {problem}: ingress-nginx answers 503.", backends=(share,),
                      **common)
    view = proxy.categorize(svc, cluster.endpoints(svc, port), None)
    each = proxy.shares(view.cluster)
    eps = tuple({"pod": e.pod, "node": e.node, "address": e.ip_port, "probability": each[e]} for e in view.cluster)
    share = BackendShare(ref, ing.namespace, 1, 1.0, 200 if eps else 503, None if eps else "no ready endpoint", eps)
    status = 200 if eps else 503
    return Answer(label, req, status, f"{why}: Service {svc.key} port {port.port}." + (
        " The controller, like a Gateway, sends to the pods directly." if eps else " No pod is ready: 503."),
        backends=(share,), **common)
