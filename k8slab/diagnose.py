"""The "Debug Services" checks: why a connection to a Service fails, where to look, and the fix."""

# The order of the checks is the Kubernetes guide's (kubernetes/website,
# content/en/docs/tasks/debug/debug-application/debug-service.md): does the name resolve,
# does the Service exist, is the port one of its ports (with the right protocol), may this
# client use this way in, does the selector match pods (in the Service's namespace), are they
# ready, does the targetPort resolve on each, are there endpoints where the traffic policy
# looks, and does the load balancer have an address that admits the source.
#
# diagnose decides nothing the lower layers do not: the name comes from `dns.lookup`, the
# path from `routing.route`, and what the client sees (refused, timeout) from `trace.trace`,
# the packet walked through the rules kube-proxy writes. diagnose reads the model only to
# explain *why* (which field, which object) and to name the fix.
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

import yaml

from . import dns, manifests, routing, trace
from . import policy as netpol
from .errors import K8slabError
from .model import Cluster, Pod, Service, ServicePort

__all__ = ["Check", "Finding", "Report", "diagnose", "diagnose_texts", "diagnose_files", "diagnose_yaml",
           "explain_text", "parse_dial", "DialError", "CODES", "WARNINGS", "SYMPTOMS", "CHECKS"]

#: The stable problem codes (DESIGN.md); `invalid` stands for an object the API server refuses.
CODES = (
    "name-not-found", "no-such-service", "port-not-in-service", "dialed-target-port",
    "dialed-service-port-on-node", "dialed-node-port-on-cluster-ip", "protocol-mismatch",
    "not-exposed", "lb-pending", "selector-matches-nothing", "selector-other-namespace",
    "pods-not-ready", "named-port-missing", "target-port-not-declared", "no-local-endpoints",
    "source-range-blocked", "headless-no-ready-pods", "externalname-tls-mismatch",
    "session-affinity-behind-nat", "keepalive-imbalance", "node-port-closed",
    "egress-blocks-dns", "network-policy-blocks", "network-policy-blocks-some",
)
#: The codes that describe a surprising setup that still works: severity "warning".
WARNINGS = ("target-port-not-declared", "externalname-tls-mismatch",
            "session-affinity-behind-nat", "keepalive-imbalance", "network-policy-blocks-some")
SYMPTOMS = ("ok", "connection refused", "timeout", "name not found", "no address yet")
#: The checks, in the guide's order.
CHECKS = ("dns", "service", "network-policy", "port", "way-in", "selector", "ready", "target-port",
          "endpoints", "load-balancer")

DialError = trace.DialError
parse_dial = trace.parse_dial

_CLIENT_NS_DEFAULT = "default"
#: Top-level domains taken as names of the outside world (not a typo of a namespace).
_PUBLIC_SUFFIXES = ("com", "org", "net", "io", "dev", "app", "cloud", "example", "test")
#: Port names that announce long-lived, multiplexed connections (gRPC, HTTP/2): kube-proxy
#: balances connections, not requests. (Kubernetes' port-naming convention, appProtocol-like.)
_MULTIPLEXED = ("grpc", "h2c", "http2", "h2")


@dataclass(frozen=True)
class Check:
    """One step of the guide: what was checked, whether it passed, and the evidence."""

    id: str
    ok: bool
    detail: str

    def to_dict(self) -> dict:
        return {"id": self.id, "ok": self.ok, "detail": self.detail}


@dataclass(frozen=True)
class Finding:
    """One problem: its stable code, how bad, the object and field to change, and the fix."""

    code: str
    severity: str            # "error" or "warning"
    object: str              # "Service/web"
    field: str               # "spec.ports[0].targetPort"
    message: str
    fix: str

    def to_dict(self) -> dict:
        return {"code": self.code, "severity": self.severity, "object": self.object,
                "field": self.field, "message": self.message, "fix": self.fix}


@dataclass
class Report:
    """What `k8slab diagnose` prints: the checks in order, the problems, and what the client sees."""

    client: str
    dial: str
    protocol: str
    works: bool
    symptom: str
    checks: list[Check]
    problems: list[Finding]
    kubectl: list[str]
    route: routing.Route | None = field(default=None, repr=False)
    verdict: str | None = None          # the trace's verdict, when a packet was traced

    @property
    def codes(self) -> list[str]:
        return [p.code for p in self.problems]

    @property
    def errors(self) -> list[Finding]:
        return [p for p in self.problems if p.severity == "error"]

    def to_dict(self) -> dict:
        """DESIGN.md's diagnose JSON (what `k8slab diagnose --json` prints)."""
        return {"client": self.client, "dial": self.dial, "protocol": self.protocol,
                "works": self.works, "symptom": self.symptom,
                "checks": [c.to_dict() for c in self.checks],
                "problems": [p.to_dict() for p in self.problems],
                "kubectl": list(self.kubectl)}

    def __repr__(self) -> str:
        state = "works" if self.works else f"fails ({self.symptom})"
        return f"<Diagnosis {self.client} -> {self.dial}: {state}; {', '.join(self.codes) or 'no problems'}>"

    def text(self) -> str:
        """The checks, one line each, then the problems with their fixes, then kubectl."""
        leaves = self.works and (self.route is None or not self.route.endpoints)
        head = (f"{self.client} -> {self.dial} ({self.protocol}): "
                + ("works: the connection leaves the cluster" if leaves else
                   "works, the connection reaches a pod" if self.works
                   else f"does not work: {self.symptom}"))
        lines = [head, "", "Checks (in the order of the Debug Services guide):"]
        for c in self.checks:
            lines.append(f"  [{'ok' if c.ok else 'FAIL':>4}] {c.id:<13} {c.detail}")
        if self.problems:
            lines += ["", "Problems:"]
            for p in self.problems:
                lines.append(f"  {p.severity}: {p.code}: {p.object}: {p.field}")
                lines.append(f"      {p.message}")
                lines.append(f"      fix: {p.fix}")
        else:
            lines += ["", "No problems found."]
        if self.kubectl:
            lines += ["", "On a real cluster, confirm with:"]
            lines += [f"  {k}" for k in self.kubectl]
        return "\n".join(lines)


def explain_text(report: Report, html_output: bool = False) -> str:
    """A compact view of the checks and problems, for the explorer's "Why?" panel.

    Plain text by default; `html_output=True` gives a small, sanitizer-safe HTML fragment
    (only <div>, <b>, <ul>, <li>, <code>: it survives JupyterLab's untrusted rendering).
    """
    if not html_output:
        lines = [("works" if report.works else f"fails: {report.symptom}") + f"  ({report.dial})"]
        for c in report.checks:
            lines.append(f"{'✓' if c.ok else '✗'} {c.id}: {c.detail}")
        for p in report.problems:
            lines.append(f"{p.severity} {p.code}: {p.object} {p.field}: {p.fix}")
        return "\n".join(lines)
    from html import escape as esc          # only the explorer's panel needs it
    head = "works: the connection reaches a pod" if report.works else f"fails: {report.symptom}"
    items = "".join(f"<li>{'✓' if c.ok else '✗'} <b>{esc(c.id)}</b>: {esc(c.detail)}</li>"
                    for c in report.checks)
    probs = "".join(f"<li><b>{esc(p.severity)} {esc(p.code)}</b> <code>{esc(p.object)}</code> "
                    f"<code>{esc(p.field)}</code>: {esc(p.message)} <i>Fix:</i> {esc(p.fix)}</li>"
                    for p in report.problems)
    return (f"<div><b>{esc(report.dial)}: {esc(head)}</b><ul>{items}</ul>"
            + (f"<ul>{probs}</ul>" if probs else "") + "</div>")


# ---------------------------------------------------------------------------------------
# The two calls into the layers below: one small function each
# ---------------------------------------------------------------------------------------

def _lookup(cluster: Cluster, client: str, host: str) -> dns.Lookup:
    """What the client's resolver gets for `host` (k8slab.dns: search list, CoreDNS)."""
    return dns.lookup(cluster, client, host, "A")


_VERDICT_SYMPTOM = {"delivered": "ok", "rejected": "connection refused", "dropped": "timeout",
                    "unrouted": "timeout"}


def _packet(cluster: Cluster, client: str, address: str, port: int, protocol: str,
            via_node: str | None) -> str | None:
    """The trace's verdict for one packet to address:port, or None when it cannot be traced."""
    try:
        return trace.trace(cluster, client, f"{address}:{port}", protocol=protocol,
                           via_node=via_node).verdict
    except K8slabError:
        return None


#: What the route's code means to the client, in kube-proxy's iptables mode. Where a route
#: exists this is the symptom: route and trace never disagree (tests/test_route_trace_agree.py
#: holds trace's verdict to exactly this, and tests/test_diagnose.py holds diagnose to the
#: trace), and asking the route costs nothing more, while a first trace on a large cluster
#: renders and parses every rule of each node the packet enters. Dials no route explains
#: (a port no Service has, an address nobody owns) are traced.
_ROUTE_SYMPTOM = {"ok": "ok", "no-endpoints": "connection refused", "no-local-endpoints": "timeout",
                  "nxdomain": "name not found", "lb-pending": "no address yet",
                  "not-exposed": "timeout", "no-such-port": "timeout", "policy-denied": "timeout",
                  "node-port-closed": "connection refused"}


# ---------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------

def diagnose_files(paths, client: str, dial: str, protocol: str = "tcp") -> Report:
    """diagnose over YAML files; objects the API server would refuse are reported first."""
    if not paths:
        raise K8slabError("no files given")
    texts = []
    for path in paths:
        texts.extend(_texts_of(path))
    return diagnose_texts(texts, client, dial, protocol)


def _texts_of(path: str) -> list[tuple[str, str]]:
    import pathlib
    p = pathlib.Path(path)
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.suffix in (".yaml", ".yml", ".json"))
        return [(str(f), manifests.read_text(str(f))) for f in files]
    return [(path, manifests.read_text(path))]


def diagnose_yaml(text: str, client: str, dial: str, protocol: str = "tcp") -> Report:
    """diagnose over one YAML string (a notebook cell's manifest)."""
    return diagnose_texts([("<yaml>", text)], client, dial, protocol)


def diagnose_texts(texts: list[tuple[str, str]], client: str, dial: str,
                   protocol: str = "tcp", service_cidr: str | None = None) -> Report:
    """diagnose over (filename, YAML) pairs, the way `kubectl apply` would leave the cluster.

    Objects that fail the API server's validation are refused (they never exist): each is
    reported first, as an `invalid` problem, and the rest of the input is diagnosed.
    """
    parse_dial(dial)                       # a usage error before anything is read
    try:
        return diagnose(manifests.load_texts(texts, service_cidr=service_cidr), client, dial, protocol)
    except K8slabError as e:
        refused = [p for p in e.problems if p.kind]
        if not refused or len(refused) != len(e.problems):
            raise                          # broken YAML: nothing to apply at all
    keep = _without(texts, {(p.kind, p.name) for p in refused})
    cluster = manifests.load_texts(keep, service_cidr=service_cidr)
    report = diagnose(cluster, client, dial, protocol)
    first = [Finding("invalid", "error", f"{p.kind}/{p.name}" if p.name else p.kind,
                     p.path or "(object)", f"the API server refuses it: {p.message}",
                     f"correct {p.path or 'the object'} in {p.file}; until then the object "
                     "does not exist") for p in refused]
    report.problems[:0] = first
    report.checks.insert(0, Check("valid", False, f"{len(first)} object"
                                  f"{'s' if len(first) != 1 else ''} refused by the API server: "
                                  + ", ".join(f.object for f in first)))
    return report


def _without(texts, refused: set) -> list[tuple[str, str]]:
    """The texts with every refused object (by kind and name) left out, List items included."""
    out = []
    for filename, text in texts:
        docs = []
        for doc in yaml.safe_load_all(text):
            if not isinstance(doc, dict):
                continue
            if doc.get("kind") == "List" and isinstance(doc.get("items"), list):
                doc = dict(doc, items=[i for i in doc["items"] if not _is_refused(i, refused)])
            elif _is_refused(doc, refused):
                continue
            docs.append(doc)
        out.append((filename, yaml.safe_dump_all(docs, sort_keys=False)))
    return out


def _is_refused(doc, refused: set) -> bool:
    if not isinstance(doc, dict):
        return False
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    return (doc.get("kind"), meta.get("name")) in refused or (doc.get("kind"), None) in refused


def diagnose(cluster: Cluster, client: str, dial: str, protocol: str = "tcp",
             namespace: str = _CLIENT_NS_DEFAULT) -> Report:
    """Why `client` connecting to `dial` ("HOST:PORT") works or not: the guide's checks in order.

    HOST is a name as the client would type it (resolved by its own resolver) or an IPv4
    address; for a client outside the cluster a Service name means that Service's published
    address (its load balancer's, or an external IP). `protocol` is tcp, udp or sctp.
    """
    host, port = parse_dial(dial)
    protocol = (protocol or "tcp").lower()
    if protocol not in trace.PROTOCOLS:
        raise DialError(f"--protocol {protocol!r}: give one of {', '.join(trace.PROTOCOLS)}")
    who = routing.parse_client(cluster, client, namespace)
    return _Diagnosis(cluster, who, dial, host, port, protocol).run()


# ---------------------------------------------------------------------------------------
# The checks
# ---------------------------------------------------------------------------------------

def _names(names) -> str:
    names = list(names)
    return (", ".join(names[:-1]) + " and " + names[-1]) if len(names) > 1 else (names[0] if names else "a NetworkPolicy")


def _obj(svc: Service) -> str:
    return f"Service/{svc.name}"


def _port_index(svc: Service, sp: ServicePort) -> int:
    return svc.ports.index(sp)


def _selector_text(svc: Service) -> str:
    return ",".join(f"{k}={v}" for k, v in (svc.selector or {}).items())


def _ns_flag(ns: str) -> str:
    return f" -n {ns}"


class _Diagnosis:
    def __init__(self, cluster: Cluster, who: routing.Client, dial: str, host: str, port: int,
                 protocol: str):
        self.cluster, self.who, self.dial = cluster, who, dial
        self.host, self.port, self.protocol = host, port, protocol
        self.checks: list[Check] = []
        self.problems: list[Finding] = []
        self.kubectl: list[str] = []
        self.route: routing.Route | None = None
        self.verdict: str | None = None
        self.symptom: str | None = None
        self.client_ns = who.pod.namespace if who.pod is not None else _CLIENT_NS_DEFAULT

    # -- recording ---------------------------------------------------------------------------
    def check(self, id: str, ok: bool, detail: str, *kubectl: str) -> bool:
        self.checks.append(Check(id, ok, detail))
        for k in kubectl:
            if k not in self.kubectl:
                self.kubectl.append(k)
        return ok

    def problem(self, code: str, obj: str, fld: str, message: str, fix: str) -> None:
        assert code in CODES, code
        self.problems.append(Finding(code, "warning" if code in WARNINGS else "error", obj, fld,
                                     message, fix))

    def finish(self, works: bool, symptom: str | None = None) -> Report:
        symptom = symptom or self.symptom or ("ok" if works else "timeout")
        if works:
            symptom = "ok"
        return Report(self.who.text, self.dial, self.protocol, works, symptom, self.checks,
                      self.problems, self.kubectl, self.route, self.verdict)

    def traced(self, address: str, port: int, via_node: str | None = None) -> str | None:
        self.verdict = _packet(self.cluster, self.who.text, address, port, self.protocol, via_node)
        if self.verdict is not None:
            self.symptom = _VERDICT_SYMPTOM[self.verdict]
        return self.verdict

    # -- step 1: the name --------------------------------------------------------------------
    def run(self) -> Report:
        if _is_ipv4(self.host):
            self.check("dns", True, f"{self.host} is an address: no lookup")
            return self.by_address(self.host)
        if self.who.inside:
            return self.by_name_inside()
        return self.by_name_outside()

    def named_service(self) -> tuple[Service | None, list[Service]]:
        """The Service the typed name means (name[.namespace[.svc[.cluster.local]]]) and
        same-named Services elsewhere."""
        parts = self.host.rstrip(".").split(".")
        name = parts[0]
        ns = parts[1] if len(parts) > 1 and parts[1] != "svc" else self.client_ns
        svc = self.cluster.service(name, ns)
        elsewhere = [s for s in self.cluster.services if s.name == name and s is not svc]
        return svc, elsewhere

    def by_name_inside(self) -> Report:
        who, host = self.who, self.host
        look = _lookup(self.cluster, who.text, host)
        tried = " -> ".join(t.name.rstrip(".") + f" ({t.rcode})" for t in look.tried)
        nslookup = (f"kubectl exec{_ns_flag(self.client_ns)} {who.pod.name} -- nslookup {host}"
                    if who.pod is not None else f"nslookup {host}   # on {who.node.name}")
        cname = [r.value for r in look.answer if r.type == "CNAME"]
        addresses = look.addresses
        svc, elsewhere = self.named_service()
        if look.rcode == "TIMEOUT":
            return self.dns_blocked(look, nslookup)
        if addresses or cname:
            shown = ", ".join(addresses) if addresses else f"CNAME {cname[0].rstrip('.')}"
            final = look.tried[-1].name.rstrip(".") if look.tried else host
            self.check("dns", True, f"{host} -> {final} -> {shown}", nslookup)
            if cname and svc is not None and svc.type == "ExternalName":
                return self.external_name(svc)
            if svc is not None and svc.headless:
                return self.headless(svc, addresses)
            return self.by_address(addresses[0], by_name=True)
        if look.rcode == "UPSTREAM" and self.outside_name():
            self.check("dns", True, f"{host} is outside cluster.local: CoreDNS forwards it upstream", nslookup)
            self.check("service", True, f"{host} is no Service of this cluster: the connection leaves the "
                       "cluster (k8slab does not model what answers it there)")
            return self.finish(True)
        # The name does not resolve from this client: say why.
        self.check("dns", False, f"{host} does not resolve from {who.text}: {tried or look.rcode}",
                   nslookup)
        self.symptom = "name not found"
        if who.kind == "node" or (look.resolver is not None and not look.resolver.asks_cluster_dns):
            target = svc or (elsewhere[0] if elsewhere else None)
            addr = f" {target.cluster_ip}:{self.port}" if target and target.proxied else " the cluster IP"
            self.problem("name-not-found", f"Pod/{who.pod.name}" if who.pod else f"Node/{who.node.name}",
                         "spec.dnsPolicy" if who.pod else "/etc/resolv.conf",
                         f"{who.text} uses the node's own resolver, which knows no cluster.local names",
                         (f"dial{addr}, or ask the cluster DNS explicitly (nslookup "
                          f"{target.dns_name if target else host} {dns.cluster_dns_ip(self.cluster)})"
                          if who.kind == "node" else
                          "set dnsPolicy: ClusterFirstWithHostNet on this hostNetwork pod"))
            return self.finish(False, "name not found")
        if svc is not None and svc.headless:
            return self.headless(svc, [])
        if svc is not None:
            self.problem("name-not-found", _obj(svc), "spec.externalName" if svc.type == "ExternalName" else "metadata.name",
                         f"{host} does not resolve ({look.rcode})", "check the Service's name and type")
            return self.finish(False, "name not found")
        if elsewhere:
            other = elsewhere[0]
            self.check("service", False, f"no Service {other.name} in namespace {self.client_ns}; "
                       f"there is one in namespace {other.namespace}",
                       f"kubectl get svc -A --field-selector metadata.name={other.name}")
            self.problem("name-not-found", _obj(other), "metadata.namespace",
                         f"{host} is looked up in the client's namespace {self.client_ns} first, "
                         f"but Service {other.name} lives in namespace {other.namespace}",
                         f"dial {other.name}.{other.namespace}:{self.port} (or run the client in "
                         f"namespace {other.namespace})")
            return self.finish(False, "name not found")
        names = sorted({s.name for s in self.cluster.services if s.namespace == self.client_ns})
        import difflib                       # only a name that resolves to nothing needs it
        near = difflib.get_close_matches(host.split(".")[0], names, n=1)
        close = f"did you mean {near[0]}?" if near else (f"Services here: {', '.join(names[:6])}" if names else "")
        self.check("service", False, f"no Service named {host.split('.')[0]} in namespace {self.client_ns}",
                   f"kubectl get svc{_ns_flag(self.client_ns)}")
        labels = host.rstrip(".").lower().split(".")
        namespaces = {x.namespace for x in self.cluster.services} | {x.namespace for x in self.cluster.pods}
        if len(labels) >= 2 and labels[1] not in namespaces and labels[1] != "svc" and labels[-1] != "local":
            # Not a cluster name, and (issue 23.1) under no delegated TLD: NXDOMAIN upstream too.
            self.problem("name-not-found", f"Service/{labels[0]}", "metadata.name",
                         f"{host} names no Service ({labels[1]} is no namespace here), and outside "
                         f"cluster.local {labels[-1]} is no public top-level domain: the upstream "
                         "resolver answers NXDOMAIN as well",
                         "check the spelling; a private name needs the resolver that serves it "
                         "(CoreDNS forwards to the node's /etc/resolv.conf)")
            return self.finish(False, "name not found")
        self.problem("name-not-found", f"Service/{host.split('.')[0]}", "metadata.name",
                     f"no Service is called {host.split('.')[0]}, so the cluster DNS answers NXDOMAIN",
                     (close + "; " if close else "") + "dial an existing Service's name, or create the Service")
        return self.finish(False, "name not found")

    def outside_name(self) -> bool:
        """A name of the outside world: an ExternalName's target, or under a public suffix."""
        name = self.host.rstrip(".").lower()
        if any(s.external_name and s.external_name.rstrip(".").lower() == name for s in self.cluster.services):
            return True
        labels = name.split(".")
        # Under a delegated TLD (the Public Suffix List, as dns.py decides UPSTREAM), or one of
        # the reserved documentation names the suite's examples use.
        from .public_names import public_suffix
        if len(labels) == 2 and (labels[1] in {x.namespace for x in self.cluster.services}
                                 or any(x.name == labels[0] for x in self.cluster.services)):
            return False        # web.shop: meant as Service.namespace, whatever .shop is upstream
        return len(labels) >= 2 and "svc" not in labels and (
            public_suffix(name) is not None or labels[-1] in _PUBLIC_SUFFIXES)

    def by_name_outside(self) -> Report:
        """An outside client: a Service's name stands for its published address."""
        svc, elsewhere = self.named_service()
        svc = svc or (elsewhere[0] if elsewhere else None)
        if svc is None:
            self.check("dns", False, f"{self.host} is no Service's name: nothing publishes it")
            self.problem("name-not-found", f"Service/{self.host.split('.')[0]}", "metadata.name",
                         f"no Service is called {self.host.split('.')[0]}",
                         "dial a Service's published address (its load balancer's or a node IP and node port)")
            return self.finish(False, "name not found")
        get = f"kubectl get svc {svc.name}{_ns_flag(svc.namespace)} -o wide"
        if svc.type == "LoadBalancer" and svc.load_balancer_ingress:
            lb = svc.load_balancer_ingress[0]
            self.check("dns", True, f"{self.host} stands for its load balancer's address, {lb}", get)
            return self.by_address(lb, by_name=True) if _is_ipv4(lb) else self.finish(False, "name not found")
        if svc.external_ips:
            self.check("dns", True, f"{self.host} stands for its external IP, {svc.external_ips[0]}", get)
            return self.by_address(svc.external_ips[0], by_name=True)
        if svc.type == "LoadBalancer":
            self.check("dns", False, f"Service {svc.name}'s EXTERNAL-IP is <pending>: no address to publish", get)
            self.check("load-balancer", False, "no cloud provider (or load-balancer controller) gave it an address", get)
            self.lb_pending_problem(svc)
            return self.finish(False, "no address yet")
        self.check("dns", False, f"Service {svc.name} (type {svc.type}) publishes no address outside the cluster", get)
        self.not_exposed_problem(svc, None, "name")
        return self.finish(False, "name not found")

    # -- step 2: the address and the Service behind it -------------------------------------
    def by_address(self, ip: str, by_name: bool = False) -> Report:
        c, port = self.cluster, self.port
        by_cip = [s for s in c.services if s.cluster_ip == ip]
        by_lb = [s for s in c.services if ip in s.load_balancer_ingress]
        by_ext = [s for s in c.services if ip in s.external_ips]
        node = next((n for n in c.nodes if n.address == ip), None)
        pod = next((p for p in c.pods if p.ip == ip and not p.host_network), None)
        if by_cip:
            svc = by_cip[0]
            self.check("service", True, f"{ip} is Service {svc.name}'s cluster IP (namespace {svc.namespace})",
                       f"kubectl get svc {svc.name}{_ns_flag(svc.namespace)} -o wide")
            sp = self.port_check(svc, ip, "ClusterIP")
            return self.finish(False) if sp is None else self.through(svc, sp, "ClusterIP", None)
        if by_lb or by_ext:
            entry = "LoadBalancer" if by_lb else "ExternalIP"
            group = by_lb or by_ext
            svc = next((s for s in group if any(p.port == port for p in s.ports)), group[0])
            what = "load balancer address" if by_lb else "external IP"
            self.check("service", True, f"{ip} is Service {svc.name}'s {what}",
                       f"kubectl get svc {svc.name}{_ns_flag(svc.namespace)} -o wide")
            sp = self.port_check(svc, ip, entry)
            via = None
            if entry == "ExternalIP" and not self.who.inside:
                via = c.nodes[0].name if c.nodes else None
            return self.finish(False) if sp is None else self.through(svc, sp, entry, via)
        if node is not None:
            return self.node_address(node)
        if pod is not None:
            return self.pod_address(pod)
        self.check("service", False, f"{ip} belongs to no Service, node or pod of this cluster",
                   "kubectl get svc -A -o wide")
        in_cidr = any(ipaddress.IPv4Address(ip) in ipaddress.IPv4Network(cidr)
                      for cidr in c.facts.service_range.cidrs)
        self.problem("no-such-service", "Service/?", "spec.clusterIP",
                     f"no Service has the address {ip}"
                     + (" (it is in the Service range, but nothing was given it)" if in_cidr else ""),
                     "dial the Service by name, or take its address from `kubectl get svc`")
        self.traced(ip, port)
        return self.finish(False, self.symptom or "timeout")

    def port_check(self, svc: Service, ip: str, entry: str) -> ServicePort | None:
        """Is the dialed port one of the Service's ports, with the dialed protocol?"""
        port, proto = self.port, self.protocol.upper()
        get = f"kubectl get svc {svc.name}{_ns_flag(svc.namespace)} -o jsonpath='{{.spec.ports}}'"
        sp = next((p for p in svc.ports if p.port == port and p.protocol == proto), None)
        listed = ", ".join(f"{p.port}/{p.protocol}" for p in svc.ports) or "none"
        if sp is not None:
            self.check("port", True, f"{port}/{proto} is port {_port_label(sp)} of Service {svc.name}", get)
            return sp
        self.check("port", False, f"Service {svc.name} listens on {listed}, not {port}/{proto}", get)
        other = next((p for p in svc.ports if p.port == port), None)
        if other is not None:
            i = _port_index(svc, other)
            self.problem("protocol-mismatch", _obj(svc), f"spec.ports[{i}].protocol",
                         f"port {port} of Service {svc.name} is {other.protocol}, the client sends {proto}: "
                         f"no rule catches a {proto} packet for it",
                         f"dial with --protocol {other.protocol.lower()}, or add a {proto} port {port} "
                         "to the Service (and the pods)")
        elif (tp := self.target_port_match(svc, port)) is not None:
            i = _port_index(svc, tp)
            self.problem("dialed-target-port", _obj(svc), f"spec.ports[{i}].targetPort",
                         f"{port} is the pods' port; the Service listens on {tp.port}",
                         f"dial {self.host}:{tp.port}, or add a Service port {port}")
        elif entry == "ClusterIP" and (np := next((p for p in svc.ports if p.node_port == port), None)):
            i = _port_index(svc, np)
            self.problem("dialed-node-port-on-cluster-ip", _obj(svc), f"spec.ports[{i}].nodePort",
                         f"{port} is the node port, opened on the nodes' addresses; on the cluster IP "
                         f"{svc.cluster_ip} the Service listens on {np.port}",
                         f"dial {self.host}:{np.port}, or dial a node's IP on {port}")
        else:
            self.problem("port-not-in-service", _obj(svc), "spec.ports",
                         f"Service {svc.name} has no port {port}; its ports are {listed}",
                         f"dial one of its ports ({listed}), or add port {port} to spec.ports")
        if entry == "ClusterIP":
            # kube-proxy writes rules for a cluster IP's own ports only. In iptables mode
            # nothing rejects the others: the packet is unrouted, a timeout (DESIGN.md); in
            # nftables mode cluster-ips-check REJECTs it: connection refused.
            # tests/test_diagnose.py and tests/test_nftables_trace.py hold this to the trace;
            # tracing here would render and parse every rule of the client's node.
            nft = getattr(self.cluster.proxy, "mode", None) == "nftables"
            self.symptom = "connection refused" if nft else "timeout"
        else:
            self.traced(ip, port)
        return None

    def target_port_match(self, svc: Service, port: int) -> ServicePort | None:
        """The Service port whose targetPort (number, or named port on its pods) is `port`."""
        for sp in svc.ports:
            if sp.target_port == port and sp.port != port:
                return sp
        for sp in svc.ports:
            if isinstance(sp.target_port, str):
                for pod in self.cluster.selected_pods(svc)[:50]:
                    if pod.port_named(sp.target_port, sp.protocol) == port:
                        return sp
        return None

    def node_address(self, node) -> Report:
        """A node's IP: only node ports lead on to a Service."""
        c, port, proto = self.cluster, self.port, self.protocol.upper()
        owners = [(s, p) for s in c.services for p in s.ports if p.node_port == port]
        match = [(s, p) for s, p in owners if p.protocol == proto]
        get_all = "kubectl get svc -A -o wide"
        if match:
            svc, sp = match[0]
            self.check("service", True, f"{node.address}:{port} is node {node.name}'s node port for "
                       f"Service {svc.name}", f"kubectl get svc {svc.name}{_ns_flag(svc.namespace)} -o wide")
            self.check("port", True, f"node port {port}/{proto} is port {_port_label(sp)} of Service {svc.name}")
            return self.through(svc, sp, "NodePort", node.name)
        self.check("service", False, f"{node.address} is node {node.name}; no Service has node port {port}/{proto}",
                   get_all)
        if owners:
            svc, sp = owners[0]
            self.problem("protocol-mismatch", _obj(svc), f"spec.ports[{_port_index(svc, sp)}].protocol",
                         f"node port {port} of Service {svc.name} is {sp.protocol}, the client sends {proto}",
                         f"dial with --protocol {sp.protocol.lower()}")
        else:
            on_port = [(s, p) for s in c.services for p in s.ports
                       if p.port == port and p.protocol == proto and s.proxied]
            on_port.sort(key=lambda sp: not sp[1].node_port)
            targets = [(s, p) for s in c.services for p in s.ports
                       if p.target_port == port and s.proxied and p.port != port]
            if on_port:
                svc, sp = on_port[0]
                i = _port_index(svc, sp)
                if sp.node_port:
                    self.problem("dialed-service-port-on-node", _obj(svc), f"spec.ports[{i}].nodePort",
                                 f"{port} is Service {svc.name}'s port on its cluster IP; on a node's "
                                 f"address it listens on its node port, {sp.node_port}",
                                 f"dial {node.address}:{sp.node_port}")
                else:
                    self.problem("dialed-service-port-on-node", _obj(svc), "spec.type",
                                 f"{port} is Service {svc.name}'s port on its cluster IP; it is type "
                                 f"{svc.type}, so it opens no port on the nodes at all",
                                 "make it type: NodePort (or LoadBalancer) and dial a node's IP on its nodePort")
            elif targets:
                svc, sp = targets[0]
                self.problem("dialed-target-port", _obj(svc), f"spec.ports[{_port_index(svc, sp)}].targetPort",
                             f"{port} is the pods' port; nothing on the node listens on it",
                             f"dial {node.address}:{sp.node_port}" if sp.node_port else
                             "make the Service a NodePort and dial its nodePort")
            else:
                self.problem("no-such-service", f"Node/{node.name}", "spec.ports[].nodePort",
                             f"no Service has node port {port}; node ports are {_node_ports(c) or 'none'}",
                             "dial a node port a Service lists (kubectl get svc shows them after the colon)")
        self.traced(node.address, port)
        return self.finish(False, self.symptom or "connection refused")

    def pod_address(self, pod: Pod) -> Report:
        """A pod's own IP: no Service in the way."""
        get = f"kubectl get pod {pod.name}{_ns_flag(pod.namespace)} -o wide"
        self.check("service", True, f"{pod.ip} is pod {pod.name}'s own address: no Service is involved", get)
        verdict = self.traced(pod.ip, self.port)
        if not self.who.inside:
            self.problem("not-exposed", f"Pod/{pod.name}", "status.podIP",
                         f"pod addresses are routable only inside the cluster; {self.who.text} cannot reach {pod.ip}",
                         "expose the pods with a NodePort or LoadBalancer Service and dial that")
            return self.finish(False, self.symptom or "timeout")
        if self.cluster.policies and self.who.inside:
            # Straight to a pod: no DNAT, no SNAT; the policies see the client's own address.
            src = self.who.pod if self.who.kind == "pod" else None
            d = netpol.decide(self.cluster, src=src, dst=pod, port=self.port, protocol=self.protocol.upper(),
                              seen_ip=routing.client_address(self.who),
                              seen_node=self.who.node.name if self.who.kind == "node" else None,
                              src_name=self.who.text)
            self.insert_check(Check("network-policy", d.allowed, d.detail if not d.allowed
                                    else "no NetworkPolicy drops this connection"))
            if not d.allowed:
                side = d.failing
                self.problem("network-policy-blocks", f"NetworkPolicy/{d.blocked_by[0].split('/')[-1]}",
                             f"spec.{side.direction}", side.why,
                             netpol.fix_for(self.cluster, d, src, pod, routing.client_address(self.who)))
        if not any(p.port == self.port for p in pod.ports):
            self.problem("target-port-not-declared", f"Pod/{pod.name}", "spec.containers[].ports",
                         f"no container of {pod.name} declares port {self.port}, so nothing may listen there",
                         f"dial a port the pod declares ({', '.join(str(p.port) for p in pod.ports) or 'none'})")
        return self.finish(verdict == "delivered")

    # -- step 3 on: the Service's own path -------------------------------------------------
    def through(self, svc: Service, sp: ServicePort, entry: str, via_node: str | None) -> Report:
        r = routing.route(self.cluster, self.who.text, svc.name, svc.namespace,
                          port=sp.name or sp.port, entry=entry, via_node=via_node)
        self.route = r
        way_ok = r.code not in ("not-exposed", "lb-pending", "source-blocked", "node-port-closed")
        blocked = r.code == "source-blocked"
        self.check("way-in", way_ok or blocked,
                   f"{self.who.text} may use {entry} to reach {svc.name}" if way_ok or blocked else r.reason)
        if r.code == "not-exposed" and not blocked:
            self.not_exposed_problem(svc, entry, "address")
        if r.code == "node-port-closed":        # issue 23.3: nodePortAddresses leaves this node out
            node = r.hops[-1].get("node") or "this node"
            self.problem("node-port-closed", "KubeProxyConfiguration", "nodePortAddresses",
                         f"kube-proxy opens node ports only on the addresses nodePortAddresses lists, and "
                         f"none of {node}'s is among them: the kernel refuses the connection",
                         "dial a node whose address is listed, or add this node's address (or leave "
                         "nodePortAddresses empty: every address)")
        self.endpoint_checks(svc, sp, r)
        if self.cluster.policies:
            self.policy_check(svc, r)
        if entry == "LoadBalancer" or svc.type == "LoadBalancer":
            self.lb_check(svc, r, blocked)
        if r.code == "lb-pending":
            self.lb_pending_problem(svc)
        self.symptom = _ROUTE_SYMPTOM.get(r.code, "timeout")
        if r.reachable:
            self.warnings(svc, sp, r)
        return self.finish(r.reachable)

    # -- NetworkPolicy (the guide's check right after "does the Service exist") --------------
    def insert_check(self, check: Check, after: str = "service") -> None:
        at = max((i for i, c in enumerate(self.checks) if c.id == after), default=len(self.checks) - 1)
        self.checks.insert(at + 1, check)

    def dns_blocked(self, look, nslookup: str) -> Report:
        """The pod's DNS queries are dropped by a NetworkPolicy: the lookup times out."""
        pod = self.who.pod
        d = netpol.dns_decision(self.cluster, pod)
        self.check("dns", False, f"the lookup of {self.host} times out: {look.note}", nslookup)
        side = d.failing if d is not None else None
        names = side.policies if side is not None else ()
        self.check("network-policy", False, (f"{_names(names)} {'drops' if len(names) == 1 else 'drop'} "
                                             f"{pod.name}'s DNS queries ({side.why if side else ''})"),
                   f"kubectl get networkpolicy{_ns_flag(side.pod.split('/')[0] if side and side.pod else self.client_ns)}")
        fix = ("add an egress rule to " + _names(names) + ": {to: [{namespaceSelector: {matchLabels: "
               "{kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}], "
               "ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]}")
        if side is not None and side.direction == "ingress":
            fix = (f"add to {_names(names)} an ingress rule admitting {pod.namespace}/{pod.name} on 53/UDP and "
                   "53/TCP (or from every namespace, as the cluster DNS serves all)")
        obj = f"NetworkPolicy/{names[0].split('/')[1]}" if names else "NetworkPolicy/?"
        self.problem("egress-blocks-dns", obj, f"spec.{side.direction if side else 'egress'}",
                     f"{pod.name}'s DNS queries to kube-dns (53/UDP) are dropped, so every lookup times "
                     "out (a timeout, not NXDOMAIN: nothing answers at all)", fix)
        return self.finish(False, "timeout")

    def policy_check(self, svc: Service, r: routing.Route) -> None:
        blocked = [e for e in r.endpoints if e.blocked_by]
        kubectl = f"kubectl get networkpolicy{_ns_flag(svc.namespace)}"
        if not blocked:
            lost = 1 - sum(e.probability or 0 for e in r.endpoints)
            self.insert_check(Check("network-policy", True, (
                f"NetworkPolicy lets the connection through, but {lost:.0%} of new connections time out: "
                "they reach the pods from another node's address (SNAT)") if "SNAT" in r.reason and lost > 0
                else "no NetworkPolicy drops this connection"))
            if "SNAT" in r.reason:
                self.problem("network-policy-blocks-some", _obj(svc), "spec.externalTrafficPolicy",
                             "NetworkPolicy admits each pod only from its own node's address: the others "
                             "arrive masqueraded (SNAT) with another node's address, and time out",
                             "set externalTrafficPolicy: Local so the pods see the client's own address, "
                             "or admit the nodes' addresses in the ipBlock")
            return
        first = blocked[0]
        pod = self.cluster.pod(first.endpoint.pod, svc.namespace) if first.endpoint.pod else None
        src = self.who.pod if self.who.kind == "pod" else None
        seen = routing.client_address(self.who)
        d = netpol.decide(self.cluster, src=src, dst=pod, port=first.endpoint.port, protocol=r.port.protocol
                          if r.port else "TCP", dst_ip=first.endpoint.address, seen_ip=seen,
                          seen_node=self.who.node.name if self.who.kind == "node" else None, src_name=self.who.text)
        side = d.failing
        why = side.why if side is not None else r.reason
        every = len(blocked) == len(r.endpoints)
        self.insert_check(Check("network-policy", False,
                                f"{_names(first.blocked_by)} drop{'s' if len(first.blocked_by) == 1 else ''} "
                                f"{'every' if every else 'some'} connection{'s' if not every else ''}: {why}"))
        if kubectl not in self.kubectl:
            self.kubectl.append(kubectl)
        fix = netpol.fix_for(self.cluster, d, src, pod, seen) if side is not None else ""
        obj = f"NetworkPolicy/{first.blocked_by[0].split('/')[-1]}"
        self.problem("network-policy-blocks" if every else "network-policy-blocks-some", obj,
                     f"spec.{side.direction if side else 'ingress'}",
                     f"{why}: {'every pod' if every else f'{len(blocked)} of {len(r.endpoints)} pods'} of "
                     f"Service {svc.name} {'is' if every else 'are'} out of reach",
                     fix or "add a rule that admits this connection")

    def endpoint_checks(self, svc: Service, sp: ServicePort, r: routing.Route) -> None:
        c = self.cluster
        ns = svc.namespace
        i = _port_index(svc, sp)
        sel = _selector_text(svc)
        slices = f"kubectl get endpointslices{_ns_flag(ns)} -l kubernetes.io/service-name={svc.name}"
        # An input with no pod and no EndpointSlice at all (a snapshot of Services alone) says
        # nothing about what runs behind them: the fix is a fuller snapshot, not a new selector.
        bare = not c.pods and not c.slices
        fuller = (f"add the pods and EndpointSlices to the input (`k8slab snapshot` takes them; or append "
                  f"`kubectl get pods,endpointslices{_ns_flag(ns)} -o yaml`)")
        if not svc.selector:
            if c.slices_for(svc):
                self.check("selector", True, f"Service {svc.name} has no selector; its EndpointSlices list "
                           "its endpoints by hand", slices)
            elif svc.key == "default/kubernetes":
                # The API server itself keeps this Service's endpoints, its own addresses, in an
                # EndpointSlice named kubernetes (pkg/controlplane/reconcilers): no selector, by design.
                self.check("selector", False, "Service kubernetes has no selector: the API server writes its "
                           "endpoints itself, and the input has no EndpointSlice for them", slices)
                self.problem("selector-matches-nothing", _obj(svc), "spec.selector",
                             "Service kubernetes has no selector by design: the API server lists its own "
                             "addresses in the EndpointSlice `kubernetes`, which the input does not have",
                             "add `kubectl get endpointslices -n default kubernetes -o yaml` to the input")
                return
            else:
                self.check("selector", False, f"Service {svc.name} has no selector and no EndpointSlice", slices)
                self.problem("selector-matches-nothing", _obj(svc), "spec.selector",
                             f"Service {svc.name} has no selector, and no EndpointSlice lists endpoints for it",
                             fuller if bare else "add spec.selector with the pods' labels (or write an EndpointSlice)")
                return
            pods = []
        else:
            pods = c.selected_pods(svc)
            get_pods = f"kubectl get pods{_ns_flag(ns)} -l {sel} -o wide"
            listed = [e for sl in c.slices_for(svc) if sl.by_controller for e in sl.endpoints]
            if not pods and listed:
                # A snapshot that left the pods out (Services and Endpoints only): the
                # controller's slices say what the selector matched when it was taken.
                self.check("selector", True, f"selector {sel}: no pod in the input to match (the snapshot "
                           f"left them out), but the EndpointSlice controller lists {len(listed)} "
                           f"endpoint{'s' if len(listed) != 1 else ''} for it", slices, get_pods)
            elif not pods:
                self.check("selector", False, f"selector {sel} matches no pod in namespace {ns}", get_pods,
                           f"kubectl get pods -A -l {sel}")
                others = [p for p in c.pods if p.namespace != ns
                          and all(p.labels.get(k) == v for k, v in svc.selector.items())]
                if others:
                    where = sorted({p.namespace for p in others})
                    self.problem("selector-other-namespace", _obj(svc), "metadata.namespace",
                                 f"the pods with {sel} run in namespace {', '.join(where)}; a Service selects "
                                 f"pods only in its own namespace, {ns}",
                                 f"create the Service in namespace {where[0]} (or run the pods in {ns})")
                elif bare:
                    self.problem("selector-matches-nothing", _obj(svc), "spec.selector",
                                 f"the input has no pod and no EndpointSlice at all, so nothing here can match "
                                 f"{sel} (a snapshot of Services alone?)", fuller)
                else:
                    self.problem("selector-matches-nothing", _obj(svc), "spec.selector",
                                 f"no pod in namespace {ns} has the labels {sel}{_labels_hint(c, svc)}",
                                 "make spec.selector match the pods' template labels (kubectl get pods --show-labels)")
                return
            if pods:
                self.check("selector", True, f"selector {sel} matches {len(pods)} pod{'s' if len(pods) != 1 else ''} "
                           f"in namespace {ns}", get_pods)
        ready = [p for p in pods if p.ready and not p.terminating and p.ip]
        if pods:
            if ready or svc.publish_not_ready_addresses:
                self.check("ready", True, f"{len(ready)} of {len(pods)} ready")
            else:
                self.check("ready", False, f"none of the {len(pods)} pods is ready", slices,
                           f"kubectl describe pods{_ns_flag(ns)} -l {sel}")
                if r.code in ("no-endpoints", "nxdomain") or not r.reachable:
                    self.problem("pods-not-ready", f"Pod/{pods[0].name}", "status.conditions[Ready]",
                                 "the selected pods are not ready (their readiness probe fails or they are "
                                 "still starting), so the EndpointSlice lists them as not ready and kube-proxy "
                                 "sends nothing to them",
                                 "fix the pods' readiness probe (or what it checks); kubectl describe shows why")
                    return
        # targetPort on each pod
        if isinstance(sp.target_port, str) and pods:
            missing = [p for p in pods if p.port_named(sp.target_port, sp.protocol) is None]
            if missing:
                self.check("target-port", False, f"targetPort {sp.target_port!r} names no container port on "
                           f"{len(missing)} of {len(pods)} pods",
                           f"kubectl get pods{_ns_flag(ns)} -l {sel} -o jsonpath='{{..ports}}'")
                if len(missing) == len(pods):
                    names = sorted({cp.name for p in pods for cp in p.ports if cp.name})
                    self.problem("named-port-missing", _obj(svc), f"spec.ports[{i}].targetPort",
                                 f"targetPort {sp.target_port!r} is a name, and no container of the selected pods "
                                 f"declares a port with that name (they name: {', '.join(names) or 'none'}); "
                                 "the EndpointSlice lists their addresses with no port (kubectl get "
                                 "endpointslices: PORTS <unset>), so kube-proxy has no endpoint",
                                 f"use a name the pods declare ({', '.join(names) or 'name a containerPort'}), "
                                 "or the port number")
                    return
            else:
                nums = sorted({p.port_named(sp.target_port, sp.protocol) for p in pods})
                self.check("target-port", True, f"targetPort {sp.target_port!r} resolves to "
                           f"{', '.join(map(str, nums))} on every pod")
        elif pods:
            self.check("target-port", True, f"targetPort {sp.target_port} (a number: not looked up on the pods)")
            # Debug Services, "Is the Pod working?"/port checks: each pod that declares ports but
            # not this one (with the Service port's protocol) may have nothing listening there.
            # Per pod, not the union: one pod declaring it does not vouch for another.
            odd = [p for p in pods if p.ports and not any(
                cp.port == sp.target_port and cp.protocol == sp.protocol for cp in p.ports)]
            if odd:
                declared = sorted({f"{cp.port}" + ("" if cp.protocol == sp.protocol else f"/{cp.protocol}")
                                   for p in odd for cp in p.ports}, key=lambda t: (len(t), t))
                which = ("the pods" if len(odd) == len(pods) else
                         f"{len(odd)} of {len(pods)} pods ({', '.join(p.name for p in odd[:3])}"
                         f"{', ...' if len(odd) > 3 else ''})")
                self.problem("target-port-not-declared", _obj(svc), f"spec.ports[{i}].targetPort",
                             f"traffic goes to port {sp.target_port}/{sp.protocol} on the pods, but the "
                             f"containers of {which} declare {', '.join(declared)}: if nothing listens on "
                             f"{sp.target_port}, each such pod refuses the connection itself",
                             f"set targetPort to the port the container listens on "
                             f"({declared[0].split('/')[0]}, or its name), or declare "
                             f"{sp.target_port}/{sp.protocol} in the pod template")
        # endpoints where the policy looks
        if r.code == "no-local-endpoints":
            where = r.stopped_at is not None and r.hops[r.stopped_at].get("node") or None
            have = sorted({e.node for e in c.endpoints(svc, sp) if e.ready and e.node})
            internal = r.entry == "ClusterIP"
            fld = "spec.internalTrafficPolicy" if internal else "spec.externalTrafficPolicy"
            node = where or (self.who.node.name if self.who.node else "the receiving node")
            self.check("endpoints", False, f"{fld.split('.')[1]}: Local and no ready pod on {node}", slices)
            self.problem("no-local-endpoints", _obj(svc), fld,
                         f"{fld.split('.')[1]}: Local makes {node} send only to pods on itself, and none "
                         f"runs there (ready pods are on {', '.join(have) or 'no node'}): the packet is dropped",
                         f"set {fld.split('.')[1]}: Cluster, or "
                         + (f"send to a node that runs one ({', '.join(have)})" if have and not internal
                            else "run a pod of the Service on that node"))
            return
        if r.code == "no-endpoints":
            self.check("endpoints", False, "no endpoint can answer: " + r.reason.split(". ")[0], slices)
            if not any(p.code in ("pods-not-ready", "named-port-missing", "selector-matches-nothing",
                                  "selector-other-namespace") for p in self.problems):
                self.problem("pods-not-ready", _obj(svc), "status.conditions[Ready]",
                             r.reason.split(". ")[0], "make a pod of the Service ready")
            return
        if r.code == "nxdomain":
            self.check("endpoints", False, "no ready pod: the headless name has no address", slices)
            return
        if r.code == "policy-denied" and r.endpoints:
            self.check("endpoints", True, f"{len(r.endpoints)} endpoint{'s' if len(r.endpoints) != 1 else ''} "
                       "exist, but NetworkPolicy drops every connection to them", slices)
            return
        if r.reachable and r.endpoints:
            self.check("endpoints", True, f"{len(r.endpoints)} endpoint{'s' if len(r.endpoints) != 1 else ''} "
                       f"can answer this client", slices)

    def lb_check(self, svc: Service, r: routing.Route, blocked: bool) -> None:
        get = f"kubectl get svc {svc.name}{_ns_flag(svc.namespace)}"
        if not svc.load_balancer_ingress:
            self.check("load-balancer", False, "EXTERNAL-IP is <pending>: no address yet", get)
            return
        if blocked:
            source = routing.client_address(self.who)
            ranges = ", ".join(svc.load_balancer_source_ranges)
            self.check("load-balancer", False, f"{svc.load_balancer_ingress[0]} admits only {ranges}; "
                       f"the client sends from {source}", get)
            self.problem("source-range-blocked", _obj(svc), "spec.loadBalancerSourceRanges",
                         f"the load balancer admits only {ranges}, and {self.who.text} comes from {source}: "
                         "its packets are dropped",
                         f"add {source}/32 (or the client's network) to spec.loadBalancerSourceRanges")
            return
        if r.entry == "LoadBalancer" or r.code == "ok":
            self.check("load-balancer", True, f"address {svc.load_balancer_ingress[0]}"
                       + (f", admits {', '.join(svc.load_balancer_source_ranges)}"
                          if svc.load_balancer_source_ranges else ""), get)

    # -- problems shared by several steps ------------------------------------------------------
    def not_exposed_problem(self, svc: Service, entry: str | None, how: str) -> None:
        who = self.who.text
        if svc.headless or svc.type == "ExternalName":
            fix = "give it a NodePort or LoadBalancer Service (a name only the cluster DNS knows)"
        elif self.who.kind == "internet":
            fix = "make it type: LoadBalancer and dial the load balancer's address"
        elif svc.type == "ClusterIP" or entry == "ClusterIP":
            fix = (f"make it type: NodePort and dial a node's IP on its nodePort, or use "
                   f"`kubectl port-forward service/{svc.name} 8080:{svc.ports[0].port if svc.ports else 80}`")
        else:
            fix = "dial an address this client can reach (a node IP and node port, or the load balancer)"
        self.problem("not-exposed", _obj(svc), "spec.type",
                     f"{who} cannot use {entry or 'the ' + how} to reach Service {svc.name} (type {svc.type})",
                     fix)

    def lb_pending_problem(self, svc: Service) -> None:
        np = next((p.node_port for p in svc.ports if p.node_port), None)
        self.problem("lb-pending", _obj(svc), "status.loadBalancer.ingress",
                     f"Service {svc.name} is a LoadBalancer with no address yet: no cloud provider or "
                     "load-balancer controller has given it one",
                     "install a load-balancer controller (MetalLB on bare metal or kind; `minikube tunnel`)"
                     + (f"; meanwhile dial a node's IP on node port {np}" if np else ""))

    def external_name(self, svc: Service) -> Report:
        self.check("service", True, f"Service {svc.name} is an ExternalName: the cluster DNS answers a CNAME "
                   f"to {svc.external_name}", f"kubectl get svc {svc.name}{_ns_flag(svc.namespace)} -o yaml")
        r = routing.route(self.cluster, self.who.text, svc.name, svc.namespace)
        self.route = r
        if self.port == 443 or any(p.port == self.port and (p.name or "").startswith("https") for p in svc.ports):
            self.problem("externalname-tls-mismatch", _obj(svc), "spec.externalName",
                         f"the client connects to {svc.external_name} but asks for {self.host} (TLS SNI, and "
                         f"the Host header): {svc.external_name}'s certificate does not name {self.host}, so "
                         "HTTPS fails verification",
                         f"have the client use {svc.external_name} itself for HTTPS, or give the far side a "
                         f"certificate for {svc.dns_name}")
        return self.finish(r.reachable)

    def headless(self, svc: Service, addresses: list[str]) -> Report:
        get = f"kubectl get svc {svc.name}{_ns_flag(svc.namespace)} -o wide"
        self.check("service", True, f"Service {svc.name} is headless (clusterIP: None): its name answers "
                   "with the ready pods' own addresses", get)
        sp = next((p for p in svc.ports if p.port == self.port), None) or (svc.ports[0] if svc.ports else None)
        r = routing.route(self.cluster, self.who.text, svc.name, svc.namespace,
                          port=(sp.name or sp.port) if sp else None)
        self.route = r
        if sp is not None:
            self.endpoint_checks(svc, sp, r)
        if not addresses:
            self.problem("headless-no-ready-pods", _obj(svc), "spec.selector",
                         f"Service {svc.name} is headless and none of its pods is ready, so the cluster DNS "
                         f"has no address for {svc.dns_name}: NXDOMAIN",
                         "make its pods ready (a headless name exists only while they are), or set "
                         "spec.publishNotReadyAddresses: true if clients must find them before")
            return self.finish(False, "name not found")
        self.symptom = _ROUTE_SYMPTOM.get(r.code, "timeout")
        pods = [p for p in self.cluster.selected_pods(svc) if p.ip == addresses[0]]
        if pods and pods[0].ports and not any(cp.port == self.port for cp in pods[0].ports):
            self.problem("target-port-not-declared", f"Pod/{pods[0].name}", "spec.containers[].ports",
                         f"a headless name leads straight to the pods, on the port dialed ({self.port}); "
                         f"their containers declare {', '.join(str(cp.port) for cp in pods[0].ports)}",
                         f"dial {self.host}:{pods[0].ports[0].port}: no Service port mapping applies")
        return self.finish(r.reachable)

    def warnings(self, svc: Service, sp: ServicePort, r: routing.Route) -> None:
        outside = not self.who.inside
        if svc.session_affinity == "ClientIP" and outside:
            shared = ("every pod of the other cluster leaves through its node's address"
                      if self.who.kind == "other-cluster" else
                      "every client behind one NAT (an office, a carrier) shares one address")
            self.problem("session-affinity-behind-nat", _obj(svc), "spec.sessionAffinity",
                         f"sessionAffinity: ClientIP pins each source address to one pod, and {shared}: "
                         "they all land on the same pod",
                         "balance per session in the application (a cookie at an Ingress) or drop "
                         "sessionAffinity if the pods share their state")
        name = (sp.name or "").lower()
        if len(r.endpoints) > 1 and any(name == m or name.startswith(m + "-") for m in _MULTIPLEXED):
            self.problem("keepalive-imbalance", _obj(svc), f"spec.ports[{_port_index(svc, sp)}]",
                         f"port {sp.name} carries long-lived multiplexed connections; kube-proxy picks a pod "
                         "per connection, not per request, so one client's requests all go to one pod",
                         "balance per request: a client-side balancer over a headless Service, a proxy or "
                         "mesh, or a maximum connection age on the server")


def _port_label(sp: ServicePort) -> str:
    return f"{sp.port}" + (f" ({sp.name})" if sp.name else "")


def _node_ports(c: Cluster) -> str:
    return ", ".join(str(p.node_port) for s in c.services for p in s.ports if p.node_port)


def _labels_hint(c: Cluster, svc: Service) -> str:
    """Pods in the namespace whose labels share a key with the selector: the likely typo."""
    keys = set(svc.selector or {})
    near = sorted({f"{k}={v}" for p in c.pods if p.namespace == svc.namespace
                   for k, v in p.labels.items() if k in keys and k != "pod-template-hash"})
    return f" (pods here carry {', '.join(near[:4])})" if near else ""


def _is_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
        return True
    except ValueError:
        return False
