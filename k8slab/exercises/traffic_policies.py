"""Notebook 03, traffic policies: source IP, health checks, Local imbalance, rollouts."""

# Every answer key is computed from k8slab's own model (routing, manifests, proxy), never
# typed in, so a check cannot drift from what the notebook shows.
from __future__ import annotations

from functools import lru_cache

from .. import routing
from .mechanism import (EXERCISES, Exercise, Feedback, as_number, close, demo, pct, register, right,
                         scaled, whole, with_service, wrong)

# =============================================================================================
# Notebook 03: traffic policies
# =============================================================================================
def _source_word(value) -> str | None:
    t = str(value).strip().lower() if isinstance(value, str) else None
    if t in ("client", "laptop", "the client", "the laptop", "client ip", "laptop ip",
             "client address", "the client's address", "the laptop's address"):
        return "client"
    if t in ("node", "node-a", "the node", "node ip", "node address", "node-a's address",
             "the node's address", "192.0.2.11"):
        return "node"
    if t in ("dropped", "none", "nothing"):
        return "dropped"
    return None


@lru_cache(maxsize=1)
def _source_key() -> dict:
    from ..manifests import with_service_type
    cluster = demo()
    out = {}
    for policy in ("Cluster", "Local"):
        c = with_service_type(cluster, cluster.service("web-nodeport"), "NodePort",
                              external_traffic_policy=policy)
        r = routing.route(c, client="laptop", service="web-nodeport", via_node="node-a")
        out[policy] = ("dropped" if not r.reachable else
                       "client" if r.source_ip_preserved else "node")
    return out


def _check_source_ip(answer) -> Feedback:
    ex = "source-ip"
    if not isinstance(answer, dict) or set(answer) != {"Cluster", "Local"}:
        return wrong(ex, "format", "Give a dict: `{\"Cluster\": ..., \"Local\": ...}`, each "
                      "\"client\" or \"node\".", EXERCISES[ex].hint)
    given = {k: _source_word(v) for k, v in answer.items()}
    if any(v is None for v in given.values()):
        return wrong(ex, "format", "Answer each with \"client\" (the laptop's own address) or "
                      "\"node\" (an address of the receiving node).", EXERCISES[ex].hint)
    key = _source_key()
    if given == key:
        return right(ex, "Cluster: an address of node-a. Local: the laptop's own. Under Cluster, kube-proxy "
                          "marks every packet that arrives from outside for masquerading, even when "
                          "the pod it picks runs on node-a itself, so that replies always pass back "
                          "through node-a. Under Local it picks only a pod on node-a, needs no "
                          "return detour, and leaves the source alone.")
    if given == {"Cluster": key["Local"], "Local": key["Cluster"]}:
        return wrong(ex, "swapped", "The other way round: Local is the policy that keeps the "
                      "client's address.", "which policy never sends a packet on to another node?")
    if given["Cluster"] == "client":
        return wrong(ex, "snat-only-when-forwarding",
                      "Under Cluster the pod sees an address of node-a even when the chosen pod runs "
                      "on node-a: kube-proxy masquerades all traffic from outside before it knows "
                      "which pod it picks (the KUBE-EXT chain's `masquerade traffic for ... "
                      "external destinations` rule).",
                      "in `k8slab rules`, look at what the KUBE-EXT chain does first.")
    if given["Local"] == "node":
        return wrong(ex, "local-still-snats",
                      "Local exists to keep the client's address: kube-proxy sends the packet only "
                      "to a pod on the node that received it, so the reply comes back through that "
                      "node anyway and nothing needs rewriting.",
                      "why does Cluster need SNAT at all?")
    return wrong(ex, "other", "Not quite.", EXERCISES[ex].hint)


@lru_cache(maxsize=1)
def _health_key() -> dict:
    """Mid-rollout: node-a has one terminating and one starting web pod, node-b one ready."""
    from ..manifests import with_service_type
    cluster = scaled(3, ready=1, terminating=1)
    c = with_service_type(cluster, cluster.service("web-lb"), "LoadBalancer",
                          external_traffic_policy="Local")
    svc = c.service("web-lb")
    eps = c.endpoints(svc, svc.ports[0])
    return {n.name: 200 if any(e.ready and e.node == n.name for e in eps) else 503
            for n in c.nodes}


def _check_health(answer) -> Feedback:
    ex = "health-check"
    key = _health_key()
    if not isinstance(answer, dict) or set(answer) != set(key):
        return wrong(ex, "format", "Give a dict with one entry per node: "
                      + ", ".join(f"`\"{n}\": ...`" for n in key) + ", each 200 or 503.",
                      EXERCISES[ex].hint)
    given = {k: whole(v) for k, v in answer.items()}
    if any(v not in (200, 503) for v in given.values()):
        return wrong(ex, "format", "Each node answers 200 (pass) or 503 (fail).", EXERCISES[ex].hint)
    if given == key:
        return right(ex, ", ".join(f"{n}: {c}" for n, c in key.items()) + ". kube-proxy answers "
                      "the health-check node port with the number of *ready* pods of the Service "
                      "on its node. node-a runs two web pods, but one is terminating and the other "
                      "has not passed its readiness probe yet: neither counts, so node-a fails and "
                      "the load balancer sends only to node-b until the new pod is ready.")
    if all(v == 200 for v in given.values()):
        return wrong(ex, "health-is-node-health",
                      "This health check is not about whether the node or kube-proxy works: for "
                      "a Service with externalTrafficPolicy: Local, kube-proxy answers it per "
                      "Service, with how many ready pods of that Service run on the node.",
                      "which nodes run a ready web pod?")
    if given.get("node-a") == 200 and key.get("node-a") == 503:
        return wrong(ex, "any-pod-counts",
                      "node-a runs two web pods, but only *ready* ones count: a terminating pod "
                      "is no longer ready (so the load balancer drains the node), and a starting "
                      "one is not ready yet.", "look at the `ready` condition of node-a's pods.")
    bad = [n for n, c in key.items() if c == 200 and given[n] == 503]
    if bad:
        return wrong(ex, "healthy-node-fails", f"{bad[0]} runs a ready web pod, so it passes.",
                      EXERCISES[ex].hint)
    return wrong(ex, "other", "Not quite.", EXERCISES[ex].hint)


# -- 03.3 the imbalance under Local -----------------------------------------------------------
LOCAL_REPLICAS = 5


@lru_cache(maxsize=1)
def _local_share_key() -> dict:
    from ..manifests import with_service_type
    cluster = scaled(LOCAL_REPLICAS)
    c = with_service_type(cluster, cluster.service("web-lb"), "LoadBalancer",
                          external_traffic_policy="Local")
    r = routing.route(c, client="internet", service="web-lb")
    per_node: dict[str, list[float]] = {}
    for e in r.endpoints:
        per_node.setdefault(e.endpoint.node, []).append(e.probability)
    return {"shares": {n: ps[0] for n, ps in sorted(per_node.items())},
            "pods": {n: len(ps) for n, ps in sorted(per_node.items())}}


def _check_local_share(answer) -> Feedback:
    ex = "local-share"
    key = _local_share_key()
    shares, pods = key["shares"], key["pods"]
    if not isinstance(answer, dict) or set(answer) != set(shares):
        return wrong(ex, "format", "Give a dict: " + ", ".join(f"`\"{n}\": ...`" for n in shares)
                      + ", the share of new connections *each pod* on that node gets.",
                      EXERCISES[ex].hint)
    given = {k: as_number(v) for k, v in answer.items()}
    if any(v is None or not 0 <= v <= 1 for v in given.values()):
        return wrong(ex, "format", "Each value is a share between 0 and 1 (`1/6`, `0.167`, "
                      "`\"1/6\"`).", EXERCISES[ex].hint)
    if all(close(given[n], shares[n]) for n in shares):
        parts = "; ".join(f"{n}: 1/{len(shares)} split over {pods[n]} = {pct(shares[n])} each"
                          for n in shares)
        return right(ex, f"{parts}. The load balancer counts nodes, not pods, so the "
                          f"{min(pods.values())} pod{'s' if min(pods.values()) != 1 else ''} on the "
                          "emptier node each carry more.")
    total = sum(pods.values())
    if all(close(v, 1 / total) for v in given.values()):
        return wrong(ex, "local-is-even-per-pod",
                      f"1/{total} each would be true under Cluster, where every node spreads over "
                      "all pods. Under Local the load balancer gives each healthy node the same "
                      "share, and each node splits its share among its own pods only.",
                      "first split the connections between the nodes, then within each node.")
    if all(close(given[n], 1 / pods[n]) for n in shares):
        return wrong(ex, "forgot-lb-split",
                      "That is each pod's share of *its node's* connections. Each node gets only "
                      f"1/{len(shares)} of all connections from the load balancer: multiply.",
                      "what fraction of all connections reaches each node?")
    if all(close(v, 1 / len(shares)) for v in given.values()):
        return wrong(ex, "share-per-node",
                      f"1/{len(shares)} is what each *node* gets; the question asks for each pod.",
                      "split each node's share among the pods on it.")
    return wrong(ex, "other", "Not quite: " + ", ".join(f"{n} runs {c}" for n, c in pods.items())
                  + " pods.", EXERCISES[ex].hint)


# -- 03.4 internalTrafficPolicy: Local --------------------------------------------------------
ITP_CLIENTS = ("pod/client", "node/node-a", "node/node-b")


@lru_cache(maxsize=1)
def _itp_key() -> dict:
    cluster = with_service(demo(), "web", internal_traffic_policy="Local")
    out = {}
    for client in ITP_CLIENTS:
        r = routing.route(cluster, client=client, service="web")
        out[client] = len(r.endpoints) if r.reachable else 0
    return out


def _check_itp(answer) -> Feedback:
    ex = "internal-local"
    key = _itp_key()
    if not isinstance(answer, dict) or set(answer) != set(key):
        return wrong(ex, "format", "Give a dict with the keys " + ", ".join(f"`\"{c}\"`" for c in key)
                      + ", each a number of pods.", EXERCISES[ex].hint)
    given = {k: whole(v) for k, v in answer.items()}
    if any(v is None for v in given.values()):
        return wrong(ex, "format", "Each value is a whole number of pods.", EXERCISES[ex].hint)
    if given == key:
        return right(ex, ", ".join(f"{c}: {n}" for c, n in key.items()) + ". With "
                      "internalTrafficPolicy: Local, kube-proxy on each node writes rules only for "
                      "the pods on that node. The client pod runs on node-c, which has no web pod: "
                      "its connection is dropped, even though three pods run elsewhere.")
    total = max(key.values())
    web = demo().service("web")
    everyone = sum(1 for e in demo().endpoints(web, web.ports[0]) if e.ready)
    if all(v == everyone for v in given.values()):
        return wrong(ex, "itp-ignored",
                      "internalTrafficPolicy: Local changes traffic sent to the cluster IP from "
                      "inside the cluster: kube-proxy on the sender's node uses only the pods on "
                      "that node.", "which web pods run on each client's node?")
    if given["pod/client"] > 0 and all(given[c] == key[c] for c in key if c != "pod/client"):
        return wrong(ex, "local-falls-back",
                      "There is no fallback: with no web pod on node-c, kube-proxy there drops the "
                      "connection rather than send it to another node (the pod sees a timeout or "
                      "a refusal), even though pods run on node-a and node-b.",
                      "what does Local promise about where the traffic goes?")
    return wrong(ex, "other", f"Not quite; at most {total} web pods run on any one node.",
                  EXERCISES[ex].hint)


# -- 03.5 a rolling update, and every pod terminating ---------------------------------------------
@lru_cache(maxsize=1)
def _rolling_key() -> dict:
    cluster = scaled(4, ready=2, terminating=1)
    r = routing.route(cluster, client="pod/client", service="web")
    chance = {e.endpoint.pod: e.probability for e in r.endpoints}
    out = {}
    for p in cluster.selected_pods(cluster.service("web")):
        state = "terminating" if p.terminating else "ready" if p.ready else "starting"
        out[state] = chance.get(p.name, 0.0)
    return out


def _check_rolling(answer) -> Feedback:
    ex = "rolling-update"
    key = _rolling_key()
    if not isinstance(answer, dict) or set(answer) != set(key):
        return wrong(ex, "format", "Give a dict: `{\"terminating\": ..., \"ready\": ..., "
                      "\"starting\": ...}`, the chance of one pod of each kind.", EXERCISES[ex].hint)
    given = {k: as_number(v) for k, v in answer.items()}
    if any(v is None or not 0 <= v <= 1 for v in given.values()):
        return wrong(ex, "format", "Each value is a chance between 0 and 1.", EXERCISES[ex].hint)
    if all(close(given[k], key[k]) for k in key):
        return right(ex, f"Each ready pod {pct(key['ready'])}, the others nothing. The terminating "
                          "pod's endpoint says `ready: false, serving: true, terminating: true`: "
                          "kube-proxy stops giving it new connections while any ready pod is left, "
                          "but connections it already has go on until the pod closes them. The "
                          "new pod gets traffic once its readiness probe passes.")
    if given["terminating"] > 0:
        return wrong(ex, "terminating-gets-new-connections",
                      "A terminating pod gets no new connection while a ready one exists: its "
                      "endpoint is no longer `ready`. (Its open connections are not cut: they "
                      "drain.)", "look at the three conditions an endpoint carries.")
    if given["starting"] > 0:
        return wrong(ex, "not-ready-gets-traffic",
                      "The new pod gets nothing until its readiness probe passes: that is the "
                      "point of a readiness probe during a rollout.", EXERCISES[ex].hint)
    return wrong(ex, "other", "Not quite: the chances of all four pods add up to 100%.",
                  EXERCISES[ex].hint)


@lru_cache(maxsize=1)
def _all_terminating_key() -> dict:
    r = routing.route(scaled(3, ready=0, terminating=3), client="pod/client", service="web")
    return {"answered": r.reachable, "pods": len(r.endpoints)}


def _check_all_terminating(answer) -> Feedback:
    ex = "all-terminating"
    if not isinstance(answer, dict) or set(answer) != {"answered", "pods"}:
        return wrong(ex, "format", "Give a dict: `{\"answered\": True or False, \"pods\": ...}`.",
                      EXERCISES[ex].hint)
    answered, pods = answer["answered"], whole(answer["pods"])
    if not isinstance(answered, bool) or pods is None:
        return wrong(ex, "format", "`answered` is True or False, `pods` a whole number.",
                      EXERCISES[ex].hint)
    key = _all_terminating_key()
    if answered == key["answered"] and pods == key["pods"]:
        return right(ex, f"Yes, by any of the {key['pods']}. With no ready endpoint left anywhere, "
                          "kube-proxy falls back to endpoints that are terminating but still "
                          "serving, so connections keep working while the pods drain, instead of "
                          "being refused.")
    if not answered:
        return wrong(ex, "terminating-never-used",
                      "kube-proxy does not give up: when no endpoint is ready, it uses the ones "
                      "that are terminating but still `serving` (their readiness probe still "
                      "passes). Only when none is serving either is the connection refused.",
                      "what does the `serving` condition say that `ready` does not?")
    return wrong(ex, "other", "It is answered, yes; by how many pods?", EXERCISES[ex].hint)




register(
    # -- notebook 03 --------------------------------------------------------------------------
    Exercise("source-ip", "Whose address does the pod see?",
             "A laptop sends to web-nodeport on node-a's IP. Which source address does the pod "
             "see under externalTrafficPolicy Cluster, and under Local: \"client\" or \"node\"?",
             "which policy may send the packet on to another node, and what must that node do so "
             "that the reply comes back the same way?",
             "`{\"Cluster\": \"node\", \"Local\": \"client\"}`.\n\nUnder Cluster, kube-proxy "
             "masquerades every packet that arrives from outside, whichever pod it picks, even one "
             "on node-a; under Local it picks only a pod on node-a and keeps the laptop's "
             "address.\n\n"
             "    answer_1 = {\"Cluster\": \"node\", \"Local\": \"client\"}",
             _check_source_ip),
    Exercise("health-check", "The health-check node port, mid-rollout",
             "web-lb has externalTrafficPolicy: Local. node-a runs one terminating and one "
             "starting web pod, node-b one ready pod. What does each node answer on the "
             "health-check node port: 200 or 503?",
             "kube-proxy answers that port per Service, with the number of *ready* pods of the "
             "Service on its own node.",
             "`{\"node-a\": 503, \"node-b\": 200, \"node-c\": 503}`.\n\nOnly ready pods count. "
             "node-a's terminating pod is no longer ready and its starting pod is not ready yet, so "
             "node-a answers 503 like node-c, which runs no web pod; node-b's ready pod makes it "
             "answer 200. Until the new pod is ready, the load balancer sends everything to "
             "node-b.\n\n"
             "    answer_2 = {\"node-a\": 503, \"node-b\": 200, \"node-c\": 503}",
             _check_health),
    Exercise("local-share", "The imbalance under Local",
             "Five web pods (three on node-a, two on node-b) behind web-lb with "
             "externalTrafficPolicy: Local. What share of new connections does each pod on node-a "
             "get, and each pod on node-b?",
             "the load balancer splits connections evenly between healthy nodes; each node splits "
             "its part between its own pods.",
             "`{\"node-a\": 1/6, \"node-b\": 1/4}`.\n\nTwo healthy nodes get 1/2 each. node-a splits "
             "its half three ways (1/6 per pod), node-b two ways (1/4 per pod): a node-b pod "
             "carries 1.5 times what a node-a pod does.\n\n"
             "    answer_3 = {\"node-a\": 1/6, \"node-b\": 1/4}",
             _check_local_share),
    Exercise("internal-local", "internalTrafficPolicy: Local",
             "Service web gets internalTrafficPolicy: Local. How many pods can answer pod/client "
             "(on node-c), node/node-a and node/node-b?",
             "kube-proxy on the sender's node uses only pods on that node, and there is no "
             "fallback.",
             "`{\"pod/client\": 0, \"node/node-a\": 2, \"node/node-b\": 1}`.\n\nEach sender gets "
             "only the web pods on its own node: two on node-a, one on node-b, none on node-c, "
             "where the client pod's connection is dropped.\n\n"
             "    answer_4 = {\"pod/client\": 0, \"node/node-a\": 2, \"node/node-b\": 1}",
             _check_itp),
    Exercise("rolling-update", "In the middle of a rolling update",
             "web has 4 pods: 1 old pod terminating (still serving), 2 ready, 1 new one not ready "
             "yet. What chance of a new connection does one pod of each kind have?",
             "kube-proxy uses ready endpoints; terminating ones only when no ready one is left.",
             "`{\"terminating\": 0, \"ready\": 1/2, \"starting\": 0}`.\n\nOnly the two ready pods "
             "get new connections, half each. The terminating pod keeps its open connections "
             "until it closes them; the new pod waits for its readiness probe.\n\n"
             "    answer_5 = {\"terminating\": 0, \"ready\": 1/2, \"starting\": 0}",
             _check_rolling),
    Exercise("all-terminating", "Every pod terminating",
             "All 3 web pods are terminating but still serving, and no other pod is ready. Is a "
             "new connection answered, and by how many pods could it be?",
             "when no endpoint is ready anywhere, kube-proxy looks at another condition.",
             "`{\"answered\": True, \"pods\": 3}`.\n\nWith no ready endpoint left, kube-proxy falls "
             "back to the serving terminating ones, all three.\n\n"
             "    answer_6 = {\"answered\": True, \"pods\": 3}",
             _check_all_terminating),
)
