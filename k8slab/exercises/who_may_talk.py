"""Notebook 06's checks: isolation, the DNS egress trap, AND/OR of peers, ports after DNAT, SNAT."""

# Every key is computed from k8slab's own model (k8slab.policy and k8slab.routing over notebook
# 06's cluster with the policies given here), never typed in by hand.
from __future__ import annotations

from functools import lru_cache

from .. import policy
from .mechanism import EXERCISES, Exercise, Feedback, as_int, as_number, close, register, right, wrong

__all__ = ["lesson_cluster", "lesson_text", "POLICIES", "DNS_TRAP_CHOICES"]

#: The policies the notebook applies, by name (YAML as a learner writes it).
POLICIES = {
    "default-deny-ingress": """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny-ingress, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Ingress]
""",
    "db-no-egress": """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-no-egress, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  policyTypes: [Egress]
""",
    "default-deny-egress": """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny-egress, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Egress]
""",
    "allow-dns": """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-dns, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
      podSelector: {matchLabels: {k8s-app: kube-dns}}
    ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]
""",
    "frontend-to-web": """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: frontend-to-web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: frontend}}
  policyTypes: [Egress]
  egress:
  - to: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{port: 8080}]
""",
    "web-from-frontend": """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-frontend, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: frontend}}}]
    ports: [{port: http}]
""",
    "web-on-80": """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-frontend, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: frontend}}}]
    ports: [{port: 80}]
""",
    "db-and": """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-prometheus, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {team: ops}}
      podSelector: {matchLabels: {app: prometheus}}
""",
    "db-or": """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-prometheus, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {team: ops}}
    - podSelector: {matchLabels: {app: prometheus}}
""",
    "web-from-office": """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-office, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{ipBlock: {cidr: 198.51.100.0/24}}]
""",
}

#: Exercise 2's choices: what frontend sees after default-deny-egress.
DNS_TRAP_CHOICES = {
    "a": "curl: (7) Failed to connect to web port 80: Connection refused, at once",
    "b": "a long wait, then curl: (6) Could not resolve host: web",
    "c": "curl: (6) Could not resolve host: web, at once (NXDOMAIN)",
    "d": "the lookup works, then the connection to web's cluster IP hangs until curl gives up",
}


def lesson_text() -> str:
    from importlib.resources import files
    return files("k8slab").joinpath("data/who-may-talk.yaml").read_text(encoding="utf-8")


@lru_cache(maxsize=32)
def lesson_cluster(*names: str, external_traffic_policy: str | None = None):
    """Notebook 06's cluster with the named POLICIES applied (and web-lb's traffic policy)."""
    from ..manifests import load_texts
    text = lesson_text()
    if external_traffic_policy:
        text = text.replace("  type: LoadBalancer\n", f"  type: LoadBalancer\n  externalTrafficPolicy: "
                                                      f"{external_traffic_policy}\n")
    return load_texts([("who-may-talk.yaml", text)] + [(f"{n}.yaml", POLICIES[n]) for n in names])


def _apps(answer) -> set[str] | None:
    """A set of app names (frontend, web, db) as a learner may write it."""
    if isinstance(answer, str):
        answer = [a for a in answer.replace(",", " ").split()]
    if not isinstance(answer, (list, tuple, set, frozenset)) or not all(isinstance(a, str) for a in answer):
        return None
    out = set()
    for a in answer:
        a = a.strip().lower().removeprefix("shop/").removeprefix("pod/shop/")
        out.add("web" if a.startswith("web") else a)
    return out


def _app(pod) -> str:
    return pod.labels.get("app", pod.name)


# -- 1. who is isolated ------------------------------------------------------------------------
def _isolated_key() -> dict[str, set[str]]:
    c = lesson_cluster("default-deny-ingress", "db-no-egress")
    shop = [p for p in c.pods if p.namespace == "shop"]
    return {d: {_app(p) for p in shop if policy.isolating(c, p, d)} for d in ("ingress", "egress")}


def _check_isolated(answer) -> Feedback:
    ex = "np-isolated"
    hint = EXERCISES[ex].hint
    if not isinstance(answer, dict) or set(answer) != {"ingress", "egress"}:
        return wrong(ex, "format", 'Give a dict: {"ingress": {...}, "egress": {...}} of app names '
                                   "(frontend, web, db).", hint)
    got = {k: _apps(v) if v not in (set(), [], (), "") else set() for k, v in answer.items()}
    if any(v is None for v in got.values()):
        return wrong(ex, "format", "Each value is a set of app names, such as {\"web\", \"db\"}.", hint)
    key = _isolated_key()
    if got == key:
        return right(ex, "An empty podSelector selects every pod of the namespace, so all three are "
                         "isolated for ingress; db-no-egress names only Egress in policyTypes, so it "
                         "isolates db's egress alone, and with no egress rules db may open no "
                         "connection at all.")
    if got["ingress"] < key["ingress"] and not got["ingress"] & {"frontend", "web"}:
        return wrong(ex, "empty-selector-selects-nothing",
                     "`podSelector: {}` is not \"no pods\": an empty selector matches every pod in "
                     "the policy's namespace.", hint)
    if got["egress"] >= {"frontend", "web"}:
        return wrong(ex, "deny-ingress-isolates-egress",
                     "default-deny-ingress has policyTypes [Ingress]: it changes nothing about what "
                     "the pods may send. Each direction is isolated on its own.", hint)
    if "db" not in got["egress"]:
        return wrong(ex, "no-rules-no-policy",
                     "A policy with no egress rules still selects db for Egress (its policyTypes say "
                     "so): db is isolated for egress, and nothing admits any of its connections.", hint)
    if "db" not in got["ingress"]:
        return wrong(ex, "one-policy-per-pod",
                     "Policies add up: db-no-egress does not replace default-deny-ingress for db. "
                     "Both select it, one per direction.", hint)
    return wrong(ex, "other", "Compare each policy's podSelector (which pods) with its policyTypes "
                              "(which direction).", hint)


# -- 2. the DNS egress trap -----------------------------------------------------------------------
def _dns_trap_key() -> str:
    from ..routing import route
    r = route(lesson_cluster("default-deny-egress"), "pod/shop/frontend", "web", "shop")
    assert r.code == "policy-denied" and (r.dns or {}).get("rcode") == "TIMEOUT"
    return "b"


def _check_dns_trap(answer) -> Feedback:
    ex = "np-dns-trap"
    hint = EXERCISES[ex].hint
    if not isinstance(answer, str) or answer.strip().lower() not in DNS_TRAP_CHOICES:
        return wrong(ex, "format", f"Give one letter: {', '.join(DNS_TRAP_CHOICES)}.", hint)
    a = answer.strip().lower()
    if a == _dns_trap_key():
        return right(ex, "The lookup is the first packet frontend sends, and it is egress too: UDP "
                         "to kube-dns on port 53. default-deny-egress drops it, no answer ever comes "
                         "back, and the resolver gives up after its timeouts and retries. Allow DNS "
                         "egress (53/UDP and 53/TCP to kube-dns) in every namespace you lock down.")
    return {
        "a": wrong(ex, "policy-refuses", "A NetworkPolicy drops packets; it never answers with a "
                                         "refusal. Refused means something answered.", hint),
        "c": wrong(ex, "nxdomain", "NXDOMAIN is an answer from the DNS server. Here the query never "
                                   "reaches it, so nothing answers at all.", hint),
        "d": wrong(ex, "dns-is-not-egress", "Before connecting, frontend asks kube-dns for web's "
                                            "address: that query is egress too, and the policy "
                                            "isolates all of frontend's egress.", hint),
    }[a]


# -- 3. AND and OR of peers -----------------------------------------------------------------------
_CLIENTS = ("monitoring/prometheus", "monitoring/grafana", "shop/frontend")


def _and_or_key() -> dict[str, set[str]]:
    out = {}
    for version, name in (("A", "db-and"), ("B", "db-or")):
        c = lesson_cluster(name)
        db = c.pod("db", "shop")
        out[version] = {k for k in _CLIENTS
                        if policy.decide(c, src=c.pod(k.split("/")[1], k.split("/")[0]), dst=db,
                                         port=5432).allowed}
    return out


def _clients(value) -> set[str] | None:
    if isinstance(value, str):
        value = [v for v in value.replace(",", " ").split()]
    if not isinstance(value, (list, tuple, set, frozenset)) or not all(isinstance(v, str) for v in value):
        return None
    out = set()
    for v in value:
        v = v.strip().lower().removeprefix("pod/")
        full = next((k for k in _CLIENTS if v in (k, k.split("/")[1])), None)
        if full is None:
            return None
        out.add(full)
    return out


def _check_and_or(answer) -> Feedback:
    ex = "np-and-or"
    hint = EXERCISES[ex].hint
    if not isinstance(answer, dict) or set(answer) != {"A", "B"}:
        return wrong(ex, "format", 'Give a dict: {"A": {...}, "B": {...}} of clients '
                                   "(prometheus, grafana, frontend).", hint)
    got = {k: set() if v in (set(), [], (), "") else _clients(v) for k, v in answer.items()}
    if any(v is None for v in got.values()):
        return wrong(ex, "format", "Name clients as prometheus, grafana and frontend "
                                   "(or monitoring/prometheus, ...).", hint)
    key = _and_or_key()
    if got == key:
        return right(ex, "Version A has one peer with both selectors: pods labelled app=prometheus "
                         "in namespaces labelled team=ops, both at once. Version B has two peers, "
                         "either one admits: every pod of an ops namespace (so grafana too), or a "
                         "pod labelled app=prometheus in the policy's own namespace, shop, where "
                         "there is none. One dash makes the difference.")
    if got == {"A": key["B"], "B": key["A"]}:
        return wrong(ex, "and-or-swapped", "You swapped them: two selectors in one list item (one "
                                           "dash) must both match; two items (two dashes) are "
                                           "alternatives.", hint)
    if got["A"] == key["A"] and got["B"] != key["B"] and "monitoring/grafana" not in got["B"]:
        return wrong(ex, "or-still-and", "In B the namespaceSelector stands alone: it admits every "
                                         "pod of a namespace labelled team=ops, grafana included.", hint)
    if "shop/frontend" in got["A"] | got["B"]:
        return wrong(ex, "selector-scope", "Neither version admits anything from shop: a "
                                           "podSelector alone looks in the policy's namespace for "
                                           "app=prometheus, and frontend is not that.", hint)
    return wrong(ex, "other", "Read each `-` under `from:` as one peer; a pod needs to match one "
                              "peer, and all the selectors inside it.", hint)


# -- 4. ports after DNAT --------------------------------------------------------------------------
def _port_key() -> dict:
    from ..routing import route
    c = lesson_cluster("default-deny-ingress", "web-on-80")
    r = route(c, "pod/shop/frontend", "web", "shop", entry="ClusterIP")
    web = c.pod("web-1", "shop")
    return {"works": r.reachable, "port": web.port_named("http")}


def _check_port(answer) -> Feedback:
    ex = "np-port"
    hint = EXERCISES[ex].hint
    if not isinstance(answer, dict) or set(answer) != {"works", "port"} or not isinstance(answer["works"], bool):
        return wrong(ex, "format", 'Give a dict: {"works": True or False, "port": ...}.', hint)
    key = _port_key()
    port = as_int(answer["port"])
    port_ok = port == key["port"] or (isinstance(port, str) and port.lower() == "http")
    if answer["works"] == key["works"] and port_ok:
        return right(ex, f"It times out: kube-proxy's DNAT has already turned 10.96.x.x:80 into "
                         f"the pod's address and port {key['port']} when the packet reaches the pod, "
                         f"and that is what the policy compares. Name {key['port']} (or the "
                         "container port's name, `http`, as web-from-frontend does).")
    if answer["works"] or port == 80:
        return wrong(ex, "service-port", "The policy sees the packet at the pod, after kube-proxy "
                                         "rewrote it: the destination is the pod's IP and the "
                                         "targetPort, never the Service's port 80.", hint)
    if isinstance(port, int) and port >= 30000:
        return wrong(ex, "node-port", "A node port is how traffic enters a node; at the pod it has "
                                      "been rewritten to the targetPort.", hint)
    return wrong(ex, "other", "Which port does web's container listen on?", hint)


# -- 5. SNAT and ipBlock ------------------------------------------------------------------------------
def _snat_key() -> dict[str, float]:
    from ..routing import route
    out = {}
    for etp in ("Cluster", "Local"):
        r = route(lesson_cluster("web-from-office", external_traffic_policy=etp), "laptop", "web-lb", "shop")
        out[etp] = sum(e.probability or 0 for e in r.endpoints) if r.reachable else 0.0
    return out


def _check_snat(answer) -> Feedback:
    ex = "np-snat"
    hint = EXERCISES[ex].hint
    if not isinstance(answer, dict) or set(answer) != {"Cluster", "Local"}:
        return wrong(ex, "format", 'Give a dict: {"Cluster": share, "Local": share}, shares as '
                                   '1/3, 0.5, "50%" ...', hint)
    got = {k: as_number(v) for k, v in answer.items()}
    if any(v is None or not 0 <= v <= 1 for v in got.values()):
        return wrong(ex, "format", "Each share is a number from 0 to 1 (or a percentage).", hint)
    key = _snat_key()
    if all(close(got[k], key[k], 0.01) for k in key):
        return right(ex, "Under Cluster the receiving node masquerades: the pod sees a node's address, "
                         "outside 198.51.100.0/24. Only traffic a node forwards to its own pod gets "
                         "through (traffic from the pod's own node is always allowed): one connection "
                         "in three. Under Local the node sends only to its own pods and keeps the "
                         "client's address, which the ipBlock admits: all of them.")
    if close(got["Cluster"], 1):
        return wrong(ex, "snat-keeps-source", "With externalTrafficPolicy: Cluster the node replaces "
                                              "the laptop's address with its own before forwarding: "
                                              "the ipBlock sees a node, not the office.", hint)
    if close(got["Cluster"], 0):
        return wrong(ex, "own-node-rule", "Traffic from a pod's own node is always allowed: a node "
                                          "that forwards to its own pod gets through.", hint)
    if not close(got["Local"], 1):
        return wrong(ex, "local-loses-source", "With Local the client's address is kept all the way "
                                               "to the pod, so the ipBlock admits every connection.", hint)
    return wrong(ex, "other", "Count the nodes the load balancer uses, and for each, which pod it "
                              "forwards to and which address that pod sees.", hint)


register(
    Exercise("np-isolated", "Which pods are isolated, in which direction?",
             "shop has default-deny-ingress and db-no-egress: which apps are isolated for ingress, "
             "which for egress?",
             "a pod is isolated for a direction when some policy selects it (podSelector) and "
             "lists that direction in policyTypes.",
             "`{\"ingress\": {\"frontend\", \"web\", \"db\"}, \"egress\": {\"db\"}}`.\n\n"
             "default-deny-ingress selects every pod of shop (`podSelector: {}`) for Ingress. "
             "db-no-egress selects db for Egress only, and lists no egress rules, so db may open "
             "no connection; the others' egress is untouched.\n\n"
             "    answer_1 = {\"ingress\": {\"frontend\", \"web\", \"db\"}, \"egress\": {\"db\"}}",
             _check_isolated),
    Exercise("np-dns-trap", "What does frontend see after default-deny-egress?",
             "shop gets default-deny-egress and nothing else; frontend runs curl http://web: which "
             "choice is what it sees?",
             "what is the very first packet frontend sends for `curl http://web`, and where to?",
             "`\"b\"`.\n\n"
             "Before any connection, frontend's resolver sends a DNS query (UDP port 53) to the "
             "cluster DNS, and the policy isolates all of frontend's egress. The query is dropped, "
             "nothing answers, the resolver times out. Add an allow-dns policy (egress to kube-dns "
             "on 53/UDP and 53/TCP), then allow the connection itself.\n\n"
             "    answer_2 = \"b\"",
             _check_dns_trap),
    Exercise("np-and-or", "One dash or two?",
             "Which of prometheus, grafana and frontend reach db on 5432 under version A (one peer, "
             "two selectors) and version B (two peers)?",
             "each `-` under `from:` is one peer; a client must match one peer, and every selector "
             "inside it.",
             "`{\"A\": {\"prometheus\"}, \"B\": {\"prometheus\", \"grafana\"}}`.\n\n"
             "A: one peer, both selectors: app=prometheus pods in team=ops namespaces. B: two "
             "peers: any pod of a team=ops namespace, or app=prometheus pods in shop (none).\n\n"
             "    answer_3 = {\"A\": {\"prometheus\"}, \"B\": {\"prometheus\", \"grafana\"}}",
             _check_and_or),
    Exercise("np-port", "Which port does the policy see?",
             "web's ingress rule admits frontend on port 80, the Service's port: does frontend's "
             "curl http://web work, and which port should the rule name?",
             "where is the packet, and what has kube-proxy done to it, when the pod's ingress "
             "policy looks at it?",
             "`{\"works\": False, \"port\": 8080}` (or `\"http\"`).\n\n"
             "kube-proxy DNATs the packet on frontend's node, so it arrives at the pod addressed "
             "to the pod's IP and port 8080, the targetPort. A rule naming 80 matches nothing.\n\n"
             "    answer_4 = {\"works\": False, \"port\": 8080}",
             _check_port),
    Exercise("np-snat", "The office's ipBlock behind a load balancer",
             "web-lb (LoadBalancer, three nodes, one web pod on each) and web-from-office: what "
             "share of the laptop's new connections reach a pod with externalTrafficPolicy Cluster, "
             "and with Local?",
             "which source address does the pod see under each policy, and which traffic is always "
             "allowed?",
             "`{\"Cluster\": 1/3, \"Local\": 1}`.\n\n"
             "Cluster: the load balancer picks a node (1/3 each), the node picks a pod (1/3 each) "
             "and masquerades. The pod sees a node's address; only its own node's is let in, so "
             "3 x 1/9 = 1/3 get through. Local: each node sends to its own pod and keeps "
             "198.51.100.10, which the ipBlock admits.\n\n"
             "    answer_5 = {\"Cluster\": 1/3, \"Local\": 1}",
             _check_snat),
)
