"""Seeded request and connection simulation."""

from __future__ import annotations

import ipaddress
import math
import numbers
from dataclasses import dataclass, field

from . import proxy
from .errors import K8slabError
from .inline_image import mimebundle

__all__ = ["Simulation", "simulate", "chi_square", "chi_square_p", "MAX_CONNECTIONS",
           "MAX_CLIENTS", "plot", "Chart", "receivers"]

#: Bounds that keep a run within a few seconds and about 1 GB (1e6 connections take ~0.1 s).
MAX_CONNECTIONS = 10_000_000
MAX_CLIENTS = 1_000_000
MAX_REQUESTS = 10**15
#: Client addresses are numbered from the shared address space 100.64.0.0/10.
_CLIENT_BASE = int(ipaddress.IPv4Address("100.64.0.0"))


@dataclass
class Simulation:
    """The outcome of `simulate`: requests per pod, how they got there, and how well it fits.

    `pods` (requests per pod) and `expected` (the route's probability per pod) are what the
    JSON carries. The per-connection arrays say, for connection j, which client address
    sent it (`connection_client`), which node's kube-proxy chose (`connection_node`, an
    index into `nodes`), which pod it went to (`connection_pod`, an index into `pod_names`)
    and how many requests rode it (`connection_requests`).

    The goodness-of-fit figure compares *independent choices* with the expected shares:
    requests that ride one connection, or connections that affinity pins to one pod, are not
    separate draws, so counting them would make an even split look suspicious. `picks`
    counts the choices kube-proxy really made (a connection without a live affinity entry).
    """

    requests: int
    connections: int
    clients: int
    seed: int
    mode: str
    scheduler: str | None
    route: object = field(repr=False)
    pod_names: tuple[str, ...]
    pod_nodes: tuple[str | None, ...]
    expected: dict[str, float]
    pods: dict[str, int]
    connections_per_pod: dict[str, int]
    picks: dict[str, int]
    nodes: tuple[str | None, ...]
    affinity_timeout: int | None
    connection_client: object = field(repr=False)
    connection_node: object = field(repr=False)
    connection_pod: object = field(repr=False)
    connection_requests: object = field(repr=False)
    notes: tuple[str, ...] = ()
    load_balancer_picks: bool = False     # the cloud sends to pod IPs itself, no kube-proxy

    # -- the figures ---------------------------------------------------------------------------
    @property
    def observed(self) -> dict[str, float]:
        """Each pod's share of the requests."""
        return {p: (c / self.requests if self.requests else 0.0) for p, c in self.pods.items()}

    def goodness_of_fit(self, of: str = "picks") -> tuple[float, int, float]:
        """(chi-square, degrees of freedom, p-value) of `picks`, `connections` or `requests`."""
        counts = {"picks": self.picks, "connections": self.connections_per_pod,
                  "requests": self.pods}.get(of)
        if counts is None:
            raise ValueError("of: give picks, connections or requests")
        names = [p for p in self.pod_names if self.expected.get(p, 0) > 0]
        stat, dof = chi_square([counts[p] for p in names], [self.expected[p] for p in names])
        return stat, dof, chi_square_p(stat, dof)

    @property
    def chi2(self) -> float:
        return self.goodness_of_fit()[0]

    @property
    def dof(self) -> int:
        return self.goodness_of_fit()[1]

    @property
    def p_value(self) -> float:
        """How likely a worse fit is if the pods really get their expected shares (picks)."""
        return self.goodness_of_fit()[2]

    @property
    def pods_per_client(self) -> dict[int, int]:
        """How many different pods each client address reached (1 everywhere = sticky)."""
        import numpy as np
        key = self.connection_client.astype(np.int64) * len(self.pod_names) + self.connection_pod
        pairs = np.unique(key)
        clients, counts = np.unique(pairs // len(self.pod_names), return_counts=True)
        return {int(c): int(n) for c, n in zip(clients, counts)}

    # -- output ----------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """DESIGN.md's JSON (what `k8slab simulate --json` prints)."""
        return {
            "requests": self.requests,
            "connections": self.connections,
            "clients": self.clients,
            "pods": dict(self.pods),
            "expected": {p: round(v, 10) for p, v in self.expected.items()},
        }

    def text(self) -> str:
        """A table of requests per pod against the expected share, and the fit, for the CLI."""
        r = self.route
        port = f":{r.port.port}" if r.port else ""
        how = f"{self.mode} mode" + (f", scheduler {self.scheduler}" if self.scheduler else "")
        if self.load_balancer_picks:
            how = "the cloud load balancer picks"
        senders = min(self.clients, self.connections)     # connection j comes from client j mod K
        lines = [f"{r.client} -> {r.service.key}{port} via {r.entry}: {self.requests:,} "
                 f"request{'s' if self.requests != 1 else ''} over {self.connections:,} "
                 f"connection{'s' if self.connections != 1 else ''} from {senders:,} client "
                 f"address{'es' if senders != 1 else ''} (seed {self.seed}, {how})", ""]
        rows = [("POD", "NODE", "REQUESTS", "SHARE", "EXPECTED", "CONNECTIONS")]
        for name, node in zip(self.pod_names, self.pod_nodes):
            rows.append((name, node or "-", f"{self.pods[name]:,}", f"{self.observed[name]:.1%}",
                         f"{self.expected[name]:.1%}", f"{self.connections_per_pod[name]:,}"))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        right = {2, 3, 4, 5}
        for row in rows:
            cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))]
            lines.append("  " + "  ".join(cells).rstrip())
        total = sum(self.picks.values())
        stat, dof, p = self.goodness_of_fit()
        lines.append("")
        if dof == 0:
            lines.append("Fit: only one pod can answer, so there is nothing to compare.")
        else:
            lines.append(f"Fit: chi-square {stat:.2f} with {dof} degree{'s' if dof != 1 else ''} of "
                         f"freedom over {total:,} independent pick{'s' if total != 1 else ''}, "
                         f"p = {p:.3g}: {_verdict(p, total, len(self.pod_names))}")
        if self.notes:
            lines.append("")
            lines += [_wrap(n) for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"<Simulation {self.requests} requests, {self.connections} connections, "
                f"{self.clients} clients -> {len(self.pod_names)} pods (seed {self.seed})>")


def _verdict(p: float, picks: int, pods: int) -> str:
    if picks < 5 * pods:
        return "too few picks to judge."
    if p < 0.001:
        return "the pods did not get their expected shares."
    if p > 0.999:
        return "closer to the expected shares than chance would give (the choice is not random)."
    return "consistent with the expected shares."


def _wrap(text: str, width: int = 96) -> str:
    words, lines, line = text.split(), [], ""
    for w in words:
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = "  " + w
        else:
            line = f"{line} {w}" if line else f"- {w}"
    if line:
        lines.append(line)
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# Statistics without scipy
# ---------------------------------------------------------------------------------------

def chi_square(observed, probabilities) -> tuple[float, int]:
    """Pearson's chi-square statistic of counts against probabilities, and its degrees of freedom."""
    total = sum(observed)
    if total == 0 or len(observed) < 2:
        return 0.0, 0                          # nothing to compare
    psum = sum(probabilities)
    stat = 0.0
    for o, p in zip(observed, probabilities):
        e = total * p / psum
        stat += (o - e) ** 2 / e
    return stat, len(observed) - 1


def chi_square_p(stat: float, dof: int) -> float:
    """P(X >= stat) for X chi-square with `dof` degrees of freedom: Q(dof/2, stat/2)."""
    if dof <= 0:
        return 1.0
    if stat <= 0:
        return 1.0
    return _gamma_q(dof / 2.0, stat / 2.0)


def _gamma_q(a: float, x: float) -> float:
    """The regularized upper incomplete gamma function Q(a, x) (series or continued fraction)."""
    if x < a + 1.0:
        # P(a, x) by its series; Q = 1 - P.
        term = total = 1.0 / a
        n = a
        for _ in range(10_000):
            n += 1.0
            term *= x / n
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        p = total * math.exp(-x + a * math.log(x) - math.lgamma(a))
        return max(0.0, min(1.0, 1.0 - p))
    # Q(a, x) by Lentz's continued fraction.
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return max(0.0, min(1.0, math.exp(-x + a * math.log(x) - math.lgamma(a)) * h))


# ---------------------------------------------------------------------------------------
# The simulation
# ---------------------------------------------------------------------------------------

def simulate(route, requests: int, connections: int | None = None, clients: int = 100,
             seed: int = 0, mode: str | None = None, scheduler: str | None = None) -> Simulation:
    """Send `requests` requests along `route` and count where they land.

    - `connections` in all carry the requests (default: a new connection per request);
      requests follow their connection, spread as evenly as they divide, so a keep-alive or
      gRPC client with one connection sends everything to one pod. Connection j comes from
      client address j mod `clients`.
    - kube-proxy picks a pod per *new connection*, as `mode` does (default: the cluster's
      KubeProxyConfiguration): iptables' random cascade and nftables' numgen map draw at
      random (the same 1/n each); IPVS uses `scheduler` (default ipvs.scheduler, else rr):
      rr takes turns per node, sh hashes the client address, dh the Service address; the
      load-driven ones (lc, wlc, sed, nq, lblc, lblcr) are refused, having no load to go on.
    - With `sessionAffinity: ClientIP`, a client address keeps the pod it got first. The
      memory is per node, and keyed on the client's address as the receiving node sees it:
      kube-proxy checks it in the nat table's service chain, before the MASQUERADE that
      externalTrafficPolicy: Cluster adds on the way out, so SNAT changes what the *pod*
      sees, not what affinity keys on. So a client spread by a load balancer over N nodes
      can land on up to N pods, while everyone behind one NAT (clients=1) shares one pod
      per node. The run is taken to fit within one affinity timeout (10800 s by default);
      `proxy.AffinityTable` shows expiry and endpoint changes step by step.
    - Where the route has several receiving nodes (a cloud load balancer in front of node
      ports), each connection goes to one of the healthy nodes evenly, as the route's
      load-balancer hop lists them, and that node's kube-proxy picks among its endpoints.
      (Some clouds also honour sessionAffinity at the load balancer; k8slab's does not.)

    Seeded and the same on every machine: PCG64 raw 64-bit draws turned into indices with
    exact float arithmetic. Unreachable routes and headless or ExternalName Services raise
    K8slabError saying why there is nothing to simulate.
    """
    import numpy as np

    requests, connections, clients, seed = _check_counts(requests, connections, clients, seed)
    _check_route(route)
    mode = _mode(route, mode)
    per_node, lb_direct = receivers(route)
    sched = None
    if mode == "ipvs" and not lb_direct:
        try:
            sched = proxy.ipvs_scheduler(scheduler or getattr(route.cluster.proxy, "ipvs_scheduler", None))
        except ValueError as exc:
            raise K8slabError(str(exc)) from None
        if not sched.computable:
            raise K8slabError(
                f"IPVS scheduler {sched.name} ({sched.title}) {sched.how}; k8slab has no model of "
                "load, so it cannot simulate it. Simulate rr (kube-proxy's default), sh or dh.")
    elif scheduler is not None and mode != "ipvs":
        raise K8slabError(f"a scheduler applies to IPVS mode only, not {mode}")

    # The pods, in kube-proxy's order (the route lists them sorted by "IP:port").
    eps = [e.endpoint for e in route.endpoints]
    names = _pod_names(eps)
    index = {e.ip_port: i for i, e in enumerate(eps)}
    expected = {names[i]: float(e.probability) for i, e in enumerate(route.endpoints)}
    node_names = tuple(n for n, _ in per_node)
    width = max(len(lst) for _, lst in per_node)
    table = np.zeros((len(per_node), width), dtype=np.int64)
    lengths = np.zeros(len(per_node), dtype=np.int64)
    for k, (_, lst) in enumerate(per_node):
        lengths[k] = len(lst)
        table[k, :len(lst)] = [index[e.ip_port] for e in lst]

    bits = np.random.PCG64(seed)
    conn = np.arange(connections, dtype=np.int64)
    client = conn % clients
    if len(per_node) > 1:
        node = _uniform(bits, connections, len(per_node))
    else:
        node = np.zeros(connections, dtype=np.int64)
    timeout = None if lb_direct else proxy.affinity_timeout(route.service)

    # Which connections make a choice: all, or with affinity the first per (node, client).
    if timeout is not None:
        key = node * clients + client
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        chooser = first[inverse.reshape(-1)]
        choosing = np.zeros(connections, dtype=bool)
        choosing[first] = True
    else:
        chooser = conn
        choosing = None

    if lb_direct:       # the cloud spreads over pod IPs itself: no kube-proxy, no scheduler
        local = _uniform(bits, connections, lengths[node])
    else:
        local = _choose(bits, mode, sched, route, node, client, lengths, choosing, connections)
    local = local[chooser]
    pod = table[node, local]

    q, extra = divmod(requests, connections)
    per_conn = np.full(connections, q, dtype=np.int64)
    per_conn[:extra] += 1
    npods = len(eps)
    by_conn = np.bincount(pod, minlength=npods)
    by_req = by_conn * q + np.bincount(pod[:extra], minlength=npods)
    picked = np.bincount(pod if choosing is None else pod[choosing], minlength=npods)

    notes = _notes(route, mode, sched, requests, connections, clients, timeout, len(per_node),
                   lb_direct, choosing, pod)
    if "NetworkPolicy" in route.reason:
        # The counts are where kube-proxy sends each connection; the route's expected shares
        # already leave out what a NetworkPolicy then drops at the pod (issue 20).
        lost = 1 - sum(expected.values())
        notes = list(notes) + [f"NetworkPolicy: the counts are where kube-proxy sends each connection; "
                               f"{lost:.0%} of them are then dropped at the pod and time out, which the "
                               "EXPECTED column leaves out (k8slab route says which pods and why)."]
    return Simulation(
        requests=requests, connections=connections, clients=clients, seed=seed, mode=mode,
        scheduler=sched.name if sched else None, route=route, pod_names=tuple(names),
        pod_nodes=tuple(e.node for e in eps), expected=expected,
        pods={names[i]: int(by_req[i]) for i in range(npods)},
        connections_per_pod={names[i]: int(by_conn[i]) for i in range(npods)},
        picks={names[i]: int(picked[i]) for i in range(npods)},
        nodes=node_names, affinity_timeout=timeout, connection_client=client,
        connection_node=node, connection_pod=pod, connection_requests=per_conn,
        notes=tuple(notes), load_balancer_picks=lb_direct)


def _check_counts(requests, connections, clients, seed):
    def whole(name, value, low, high):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise K8slabError(f"{name}: give a whole number, not {value!r}")
        value = int(value)
        if value < low:
            raise K8slabError(f"{name}: must be at least {low}, not {value}")
        if value > high:
            raise K8slabError(f"{name}: at most {high:,} (got {value:,})")
        return value
    requests = whole("requests", requests, 1, MAX_REQUESTS)
    if connections is None:
        if requests > MAX_CONNECTIONS:
            raise K8slabError(f"requests: {requests:,} requests on a new connection each is more than "
                              f"the {MAX_CONNECTIONS:,} connections a run simulates; give connections "
                              "(--connections) so that requests share them")
        connections = requests
    connections = whole("connections", connections, 1, min(MAX_CONNECTIONS, requests))
    clients = whole("clients", clients, 1, MAX_CLIENTS)
    seed = whole("seed", seed, 0, 2**63 - 1)
    return requests, connections, clients, seed


def _check_route(route) -> None:
    if not getattr(route, "reachable", False):
        raise K8slabError(f"{route.client} cannot reach {route.service.key} ({route.code}), so no "
                          f"request reaches a pod: {route.reason}")
    if route.service.type == "ExternalName":
        raise K8slabError(f"Service {route.service.name} is an ExternalName Service: the cluster DNS "
                          f"answers with a CNAME to {route.service.external_name} and no pod of this "
                          "cluster answers, so there is nothing to simulate.")
    if not route.endpoints:
        raise K8slabError(f"{route.client} -> {route.service.key}: no pod can answer: {route.reason}")
    if any(e.probability is None for e in route.endpoints):
        raise K8slabError(f"Service {route.service.name} is headless: the cluster DNS answers with one "
                          "address per ready pod and the client itself picks among them (most take "
                          "the first, some rotate, many cache the answer); no kube-proxy rule chooses, "
                          "so there is no proxy choice to simulate.")


def _mode(route, mode: str | None) -> str:
    chosen = mode if mode is not None else (getattr(route.cluster.proxy, "mode", None) or "iptables")
    if chosen not in proxy.MODES:
        raise K8slabError(f"mode {chosen!r}: give one of {', '.join(proxy.MODES)}")
    return chosen


def _pod_names(eps) -> list[str]:
    names = [e.pod or e.ip_port for e in eps]
    seen: dict[str, int] = {}
    for n in names:
        seen[n] = seen.get(n, 0) + 1
    return [n if seen[n] == 1 else f"{n} ({e.ip_port})" for n, e in zip(names, eps)]


def receivers(route):
    """[(node name, endpoints its kube-proxy picks among)], and whether a cloud LB picks pods."""
    eps = tuple(e.endpoint for e in route.endpoints)
    lb = next((h for h in route.hops if h.get("kind") == "load-balancer"), None)
    if lb is not None and not lb.get("node"):
        nodes = lb.get("nodes") or []
        if not nodes:                   # allocateLoadBalancerNodePorts: false: straight to pods
            return [(None, eps)], True
        svc, cluster = route.service, route.cluster
        everyone = cluster.endpoints(svc, route.port)
        local = svc.external_traffic_policy == "Local"
        out = []
        for name in nodes:
            n = cluster.node(name)
            view = proxy.categorize(svc, everyone, n.name, n.zone)
            chosen = tuple(e for e in (view.local if local else view.cluster)
                           if any(e.ip_port == x.ip_port for x in eps))
            if chosen:
                out.append((name, chosen))
        if out:
            return out, False
        return [(None, eps)], False
    node = next((h.get("node") for h in route.hops if h.get("node")), None)
    return [(node, eps)], False


def _uniform(bits, count: int, n):
    """`count` indices in 0..n-1 (n an int or an array per draw) from raw PCG64 output."""
    import numpy as np
    raw = bits.random_raw(count)
    u = (raw >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)   # [0, 1), 53 bits
    idx = (u * n).astype(np.int64)
    return np.minimum(idx, np.asarray(n, dtype=np.int64) - 1)


def _choose(bits, mode, sched, route, node, client, lengths, choosing, connections):
    """The endpoint (index into the node's list) each connection's choice gives."""
    import numpy as np
    n_of = lengths[node]
    if mode in ("iptables", "nftables") or sched is None:
        return _uniform(bits, connections, n_of)
    if sched.name in ("rr", "wrr"):
        # Each node's virtual server takes turns; only connections that call the scheduler
        # (no persistence entry) advance it.
        calls = np.ones(connections, dtype=bool) if choosing is None else choosing
        rank = np.zeros(connections, dtype=np.int64)
        idx = np.flatnonzero(calls)
        order = np.argsort(node[idx], kind="stable")
        sorted_nodes = node[idx][order]
        starts = np.searchsorted(sorted_nodes, sorted_nodes, side="left")
        ranks_sorted = np.arange(len(idx), dtype=np.int64) - starts
        rank[idx[order]] = ranks_sorted
        return rank % n_of
    if sched.name == "sh":
        addr = (_CLIENT_BASE + client) & 0xFFFFFFFF
        bucket = ((addr * 0x61C88647) & 0xFFFFFFFF) >> 24
        return bucket % n_of
    if sched.name == "dh":
        vip = _service_address(route)
        return np.full(connections, proxy.ipvs_bucket(vip), dtype=np.int64) % n_of
    raise AssertionError(sched.name)


def _service_address(route) -> int:
    """The address the virtual server answers on: the first address the client dials."""
    for h in route.hops:
        if h.get("kind") in ("load-balancer", "external-ip", "node-port", "service") and h.get("address"):
            host = str(h["address"]).rsplit(":", 1)[0].strip("[]")
            try:
                return int(ipaddress.ip_address(host)) & 0xFFFFFFFF
            except ValueError:
                return 0                      # a load balancer known by hostname
    return 0


def _notes(route, mode, sched, requests, connections, clients, timeout, nreceivers, lb_direct,
           choosing, pod) -> list[str]:
    import numpy as np
    notes = []
    if lb_direct:
        notes.append("The load balancer sends straight to pod IPs (allocateLoadBalancerNodePorts: "
                     "false): no kube-proxy rule chooses, and the cloud spreads connections evenly.")
    elif mode == "iptables":
        notes.append("iptables mode: each new connection walks the Service chain's random rules "
                     "(1/n, then 1/(n-1) of the rest, ...), which gives every pod 1/n.")
    elif mode == "nftables":
        notes.append("nftables mode: each new connection draws `numgen random mod n` once and "
                     "jumps to that pod's chain: 1/n each.")
    elif sched.name in ("rr", "wrr"):
        notes.append("IPVS round robin: each node's virtual server hands new connections to its "
                     "pods in turn, so the counts are as even as they can be, not random.")
    elif sched.name == "sh":
        notes.append("IPVS source hashing: each client address hashes to one pod and stays there, "
                     "with or without session affinity.")
    elif sched.name == "dh":
        notes.append("IPVS destination hashing: every connection goes to the same Service address, "
                     "so one pod per node takes them all.")
    if connections < requests:
        notes.append(f"Requests follow their connection: {requests:,} requests rode {connections:,} "
                     f"connection{'s' if connections != 1 else ''}, and a pod was chosen only when a "
                     "connection opened (keep-alive and gRPC clients stick to one pod until they "
                     "reconnect).")
    if timeout is not None:
        made = int(choosing.sum())
        where = " on each receiving node" if nreceivers > 1 else ""
        notes.append(f"sessionAffinity: ClientIP (timeout {timeout} s): each client address kept the "
                     f"pod it got first{where}; only {made:,} of {connections:,} connections made a "
                     "choice.")
        if not route.source_ip_preserved:
            notes.append("The pods see the node's address, not the client's (SNAT), but kube-proxy "
                         "keys affinity on the client's address, which it reads before masquerading.")
        if nreceivers > 1:
            notes.append(f"Each of the {nreceivers} nodes keeps its own affinity memory, so a client "
                         f"the load balancer spreads over them can land on up to {nreceivers} pods.")
        if clients == 1:
            notes.append("All connections came from one address (like everyone behind one NAT), so "
                         "they all went to one pod" + (" per node." if nreceivers > 1 else "."))
    used = int((np.bincount(pod, minlength=1) > 0).sum())
    if used < len(route.endpoints):
        notes.append(f"Only {used} of {len(route.endpoints)} pods got any request.")
    return notes


# ---------------------------------------------------------------------------------------
# A bar chart of observed vs expected (matplotlib, imported only when a chart is drawn)
# ---------------------------------------------------------------------------------------

#: The settings that make the SVG the same on every run and every machine: fixed ids, the
#: font matplotlib ships (glyphs drawn as paths, so no system font is read), no date and no
#: version in the file.
_CHART_RC = {"svg.hashsalt": "k8slab", "svg.fonttype": "path", "font.family": "DejaVu Sans",
             "font.size": 9, "axes.titlesize": 9.5, "axes.spines.top": False,
             "axes.spines.right": False}
_OBSERVED, _EXPECTED = "#762a83", "#d9d2e3"


@dataclass(frozen=True)
class Chart:
    """A rendered chart: `svg` (the image) and `summary` (one stable line of text).

    Shows itself in Jupyter as an <img> of the SVG (shown even in an untrusted notebook),
    with the summary as its text form and alt text; `save(path)` writes the SVG.
    """

    svg: str
    summary: str

    def _repr_mimebundle_(self, include=None, exclude=None):
        return mimebundle(self.svg, self.summary, None, include, exclude)

    def __repr__(self) -> str:
        return self.summary

    def save(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.svg)


def _short_names(names) -> list[str]:
    """Pod names without the part they all share (web-5qfpmcl4nc-9lqsj -> 9lqsj)."""
    names = list(names)
    heads = {n.rsplit("-", 1)[0] for n in names if "-" in n}
    if len(names) > 1 and len(heads) == 1 and all("-" in n for n in names):
        return [n.rsplit("-", 1)[1] for n in names]
    return [n if len(n) <= 14 else n[:13] + "\u2026" for n in names]


def plot(sim: Simulation, of: str = "requests", title: str | None = None) -> Chart:
    """A bar chart of each pod's observed share next to its expected share, as SVG.

    `of` counts `requests` (the default), `connections` or `picks` (the choices kube-proxy
    really made). The same simulation always gives the same bytes.
    """
    counts = {"requests": sim.pods, "connections": sim.connections_per_pod,
              "picks": sim.picks}.get(of)
    if counts is None:
        raise K8slabError("of: give requests, connections or picks")
    import io

    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    names = list(sim.pod_names)
    total = sum(counts.values())
    observed = [counts[p] / total if total else 0.0 for p in names]
    expected = [sim.expected.get(p, 0.0) for p in names]
    labels = [f"{s}\n{node or ''}".rstrip() for s, node in zip(_short_names(names), sim.pod_nodes)]
    n = len(names)
    how = "the cloud load balancer" if sim.load_balancer_picks else (
        f"{sim.mode}" + (f" {sim.scheduler}" if sim.scheduler else ""))
    senders = min(sim.clients, sim.connections)
    heading = title or (f"{sim.requests:,} request{'s' if sim.requests != 1 else ''}, "
                        f"{sim.connections:,} connection{'s' if sim.connections != 1 else ''}, "
                        f"{senders:,} client address{'es' if senders != 1 else ''}\n"
                        f"{how}, seed {sim.seed}")
    with matplotlib.rc_context(_CHART_RC):
        fig = Figure(figsize=(max(3.6, 0.95 * n + 1.4) + 1.5, 3.0), layout="constrained")
        ax = fig.add_subplot()
        x = list(range(n))
        width = 0.38
        ax.bar([i - width / 2 for i in x], expected, width, color=_EXPECTED, edgecolor="#9e8fb2",
               linewidth=0.6, label="expected")
        bars = ax.bar([i + width / 2 for i in x], observed, width, color=_OBSERVED,
                      label=f"observed\n({of})")
        top = max(observed + expected + [0.01])
        for b, v in zip(bars, observed):
            ax.annotate(f"{v:.1%}", (b.get_x() + b.get_width() / 2, v), xytext=(0, 2),
                        textcoords="offset points", ha="center", va="bottom", fontsize=7.5)
        ax.set_xticks(x, labels)
        ax.set_ylim(0, min(1.12, top * 1.15))
        ax.yaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 5, 10]))
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_ylabel(f"share of {of}")
        ax.set_title(heading, loc="left")
        fig.legend(loc="outside right upper", frameon=False, fontsize=8)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    shares = ", ".join(f"{s} {o:.1%}" for s, o in zip(_short_names(names), observed))
    summary = f"<Chart: observed vs expected share of {of}, {n} pod{'s' if n != 1 else ''}: {shares}>"
    return Chart(buf.getvalue(), summary)
