"""Notebook 02, which pod answers: the cascade, readiness, affinity, keep-alive."""

# Every answer key is computed from k8slab's own model (routing, manifests, proxy), never
# typed in, so a check cannot drift from what the notebook shows.
from __future__ import annotations

from functools import lru_cache

from .. import routing
from .mechanism import (EXERCISES, Exercise, Feedback, as_number, as_strings, close, demo, pct,
                         register, right, scaled, whole, with_service, wrong)

# =============================================================================================
# Notebook 02: which pod answers
# =============================================================================================
#: The choices of the "spread" exercise: what makes a long-lived connection's requests spread.
SPREAD_FIXES = {
    "a": "set `sessionAffinity: ClientIP` on the Service",
    "b": "scale the Deployment up to 10 replicas",
    "c": "make the client balance by itself: a headless Service, so DNS returns every pod's "
         "address, and gRPC's `round_robin` load-balancing policy",
    "d": "put a layer-7 proxy or a service mesh (Envoy, Linkerd, Istio) between client and "
         "pods, which picks a pod per request",
    "e": "have the server close connections after a maximum age (gRPC's `MaxConnectionAge`), so "
         "clients reconnect from time to time and each new connection is placed again",
    "f": "switch kube-proxy to IPVS mode, whose scheduler takes turns",
}
_SPREAD_RIGHT = frozenset("cde")


# -- 02.1 a hand-written cascade -----------------------------------------------------------------
#: The rules of the "cascade" exercise: 1/3 on each of the first two, the last unconditional.
HAND_RULES = ("1/3", "1/3", "always")


def _hand_shares() -> list:
    from fractions import Fraction
    from .. import proxy
    probs = [Fraction(p) if p != "always" else Fraction(1) for p in HAND_RULES]
    shares = proxy.cascade_shares(list(enumerate(probs)))
    return [shares[i] for i in range(len(probs))]


def _check_cascade(answer) -> Feedback:
    ex = "cascade"
    key = _hand_shares()
    n = len(key)
    if not isinstance(answer, (list, tuple)) or len(answer) != n:
        return wrong(ex, "format", f"Give a list of {n} shares, one per pod, in the rules' order, "
                      "for example `[0.5, 0.25, 0.25]`.", EXERCISES[ex].hint)
    given = []
    for i, v in enumerate(answer):
        x = as_number(v)
        if x is None or not 0 <= x <= 1:
            return wrong(ex, "format", f"Pod {i + 1}: {v!r} is not a share between 0 and 1 "
                          "(write `2/9`, `0.222` or `\"2/9\"`).", EXERCISES[ex].hint)
        given.append(x)
    if all(close(g, k) for g, k in zip(given, key)):
        return right(ex, "1/3, 2/9 and 4/9 (33%, 22%, 44%). Rule 1 takes 1/3 of all connections; "
                          "rule 2 takes 1/3 of the 2/3 that reach it, 2/9; the last rule takes "
                          "everything left, 4/9. That is why kube-proxy writes 1/3, then 1/2: the "
                          "second rule must take half of what reaches it to give its pod 1/3 of "
                          "the total.")
    if all(close(g, 1 / n) for g in given):
        return wrong(ex, "rule-probability-is-share",
                      "A rule's probability is not its pod's share: a rule only ever sees the "
                      "connections that the rules above it let through. Rule 2 matches 1/3 of the "
                      "2/3 that reach it.",
                      "what fraction of all connections reaches rule 2?")
    if close(given[0], key[0]) and close(given[1], key[0] * key[0]):
        return wrong(ex, "multiplied-the-wrong-part",
                      "Rule 2's 1/3 applies to the connections rule 1 let through (2/3 of them), "
                      "not to the 1/3 rule 1 took: 1/3 of 2/3 is 2/9.",
                      "multiply the chance of reaching a rule by the chance that it matches.")
    if abs(sum(given) - 1) > 0.01:
        return wrong(ex, "shares-add-up",
                      f"Your shares add up to {pct(sum(given))}, but every new connection goes to "
                      "exactly one pod (the last rule has no condition), so they add up to 100%.",
                      "start with rule 1, and carry what it leaves to the next rule.")
    return wrong(ex, "other", "Not quite; walk the rules top to bottom.", EXERCISES[ex].hint)


# -- 02.2 readiness decides which endpoints kube-proxy uses ---------------------------------
def _readiness_key() -> dict:
    route = routing.route(scaled(4, ready=3), client="pod/client", service="web")
    return {"pods": len(route.endpoints), "chance": route.endpoints[0].probability,
            "selected": 4}


def _check_readiness(answer) -> Feedback:
    ex = "readiness"
    if not isinstance(answer, dict) or set(answer) != {"pods", "chance"}:
        return wrong(ex, "format", "Give a dict: `{\"pods\": ..., \"chance\": ...}`: how many pods "
                      "can get the new connection, and the chance of each.", EXERCISES[ex].hint)
    pods, chance = whole(answer["pods"]), as_number(answer["chance"])
    if pods is None or chance is None or not 0 <= chance <= 1:
        return wrong(ex, "format", "`pods` is a whole number and `chance` a probability "
                      "(`1/3`, `0.333` or `\"1/3\"`).", EXERCISES[ex].hint)
    key = _readiness_key()
    if pods == key["pods"] and close(chance, key["chance"]):
        return right(ex, f"{key['pods']} pods, {pct(key['chance'])} each. The selector matches "
                          f"all {key['selected']}, so the EndpointSlice lists all {key['selected']}, "
                          "but the one whose readiness probe fails is marked `ready: false`, and "
                          "kube-proxy writes rules only for ready endpoints: a cascade of 1/3, "
                          "1/2, rest over the other three.")
    if pods == key["selected"]:
        return wrong(ex, "not-ready-gets-traffic",
                      "The pod that fails its readiness probe stays in the EndpointSlice (with "
                      "`ready: false`), but kube-proxy leaves it out of its rules: no new "
                      "connection goes to a pod that says it cannot serve yet. That is what "
                      "readiness probes are for.",
                      "look at the endpoint's `ready` condition: which endpoints get a rule?")
    if pods == key["pods"] and close(chance, 1 / key["selected"]):
        return wrong(ex, "chance-not-renormalised",
                      f"Right number of pods, but the chances must add up to 100%: kube-proxy "
                      f"writes its cascade for the {key['pods']} ready endpoints only (1/3, 1/2, "
                      f"rest), so each gets 1/{key['pods']}, not 1/{key['selected']}. No "
                      "connection is held back for the pod that is not ready.",
                      "kube-proxy rewrites the whole chain when the endpoints change.")
    return wrong(ex, "other", f"Not quite: {key['selected']} pods match the selector; count the "
                  "ones kube-proxy sends new connections to.", EXERCISES[ex].hint)


# -- 02.3 session affinity behind one NAT ----------------------------------------------------
NAT_PEOPLE = 200


@lru_cache(maxsize=1)
def _nat_key() -> dict:
    from ..simulate import simulate
    cluster = with_service(demo(), "web-nodeport", session_affinity="ClientIP",
                            session_affinity_timeout=10800)
    route = routing.route(cluster, client="laptop", service="web-nodeport", via_node="node-a")
    sim = simulate(route, NAT_PEOPLE * 50, clients=1, seed=0)
    return {"pods": sum(1 for c in sim.pods.values() if c), "of": len(route.endpoints)}


def _check_nat(answer) -> Feedback:
    ex = "nat"
    pods = whole(answer)
    if pods is None:
        return wrong(ex, "format", "Give one whole number: how many different pods serve them.",
                      EXERCISES[ex].hint)
    key = _nat_key()
    if pods == key["pods"]:
        return right(ex, "One. Every connection arrives from the same address, the NAT's, and "
                          "kube-proxy on node-a remembers that address, not people: the first "
                          "connection picks a pod, and every later one within the timeout (3 hours "
                          "by default, counted from the address's last new connection) goes to the "
                          "same pod. 200 people, one pod, while the other pods idle.")
    if pods == key["of"] or pods == NAT_PEOPLE:
        return wrong(ex, "affinity-per-person",
                      "Session affinity `ClientIP` knows nothing of people, browsers or cookies: "
                      "kube-proxy keys it on the packet's source address only, and behind a NAT "
                      f"all {NAT_PEOPLE} people share one.",
                      "what does the packet that reaches node-a say about who sent it?")
    if pods > key["of"]:
        return wrong(ex, "more-pods-than-exist", f"web-nodeport has only {key['of']} pods.",
                      EXERCISES[ex].hint)
    if pods == 0:
        return wrong(ex, "affinity-blocks", "Affinity never refuses a connection: it only decides "
                      "which pod it goes to.", EXERCISES[ex].hint)
    return wrong(ex, "other", "Not quite.", EXERCISES[ex].hint)


# -- 02.4 keep-alive: requests follow their connection ------------------------------------------
KEEPALIVE_REQUESTS = 9000


@lru_cache(maxsize=1)
def _keepalive_key() -> dict:
    from ..simulate import simulate
    route = routing.route(demo(), client="pod/client", service="web")
    sim = simulate(route, KEEPALIVE_REQUESTS, connections=1, seed=0)
    return {"pods_used": sum(1 for c in sim.pods.values() if c),
            "busiest": max(sim.pods.values()), "pods": len(route.endpoints)}


def _check_keepalive(answer) -> Feedback:
    ex = "keepalive"
    if not isinstance(answer, dict) or set(answer) != {"pods_used", "busiest"}:
        return wrong(ex, "format", "Give a dict: `{\"pods_used\": ..., \"busiest\": ...}`.",
                      EXERCISES[ex].hint)
    used, busiest = whole(answer["pods_used"]), whole(answer["busiest"])
    if used is None or busiest is None:
        return wrong(ex, "format", "Both values are whole numbers.", EXERCISES[ex].hint)
    key = _keepalive_key()
    if used == key["pods_used"] and busiest == key["busiest"]:
        return right(ex, f"One pod gets all {KEEPALIVE_REQUESTS:,}. kube-proxy chooses when a "
                          "connection opens (only its first packet meets the nat rules; conntrack "
                          "sends the rest after it), and HTTP/2 carries every gRPC call on that one "
                          "connection. The other pods get nothing from this client.")
    if used == key["pods"]:
        return wrong(ex, "requests-balanced",
                      "kube-proxy balances connections, not requests: it picks a pod for a "
                      "connection's first packet, and every later packet of that connection, "
                      "whichever request it carries, follows to the same pod.",
                      "how many times does kube-proxy choose here?")
    if used == key["pods_used"]:
        return wrong(ex, "busiest", f"One pod, yes: so it gets every request, {KEEPALIVE_REQUESTS:,}.",
                      "if only one pod is used, how many requests does it get?")
    return wrong(ex, "other", "Not quite.", EXERCISES[ex].hint)


# -- 02.5 what spreads a long-lived connection's requests ---------------------------------------
def _check_spread(answer) -> Feedback:
    ex = "spread"
    letters = as_strings(answer)
    if letters is None:
        return wrong(ex, "format", "Give a set of letters, for example `{\"a\", \"b\"}`.",
                      EXERCISES[ex].hint)
    chosen = {s.strip().lower().strip("()") for s in letters}
    unknown = sorted(chosen - set(SPREAD_FIXES))
    if unknown:
        return wrong(ex, "format", f"{unknown[0]!r} is not one of the letters "
                      f"{', '.join(SPREAD_FIXES)}.", EXERCISES[ex].hint)
    if "a" in chosen:
        return wrong(ex, "affinity-spreads",
                      "(a) makes it worse: session affinity pins every *connection* from one "
                      "address to one pod, so even a client that reconnects comes back to the "
                      "same pod.", "does affinity add choices or remove them?")
    if "f" in chosen:
        return wrong(ex, "rr-per-request",
                      "(f) changes how the pod is chosen, not when: IPVS also places a connection "
                      "when it opens, and its round robin takes turns between connections. One "
                      "connection still means one pod.", "when does IPVS choose?")
    if "b" in chosen:
        return wrong(ex, "more-replicas",
                      "(b) adds pods that this client never reaches: its connection is already "
                      "placed and stays where it is. New pods get only new connections, which a "
                      "long-lived client rarely opens.", "which pod does an open connection use "
                      "after the scale-up?")
    missing = sorted(_SPREAD_RIGHT - chosen)
    if missing:
        return wrong(ex, "missed-fix",
                      f"Each of your choices works, but ({missing[0]}) works too: "
                      f"{SPREAD_FIXES[missing[0]]}.", "three of the six help.")
    return right(ex, "(c), (d) and (e). Something must choose per request, or connections must "
                      "be placed again: the client itself (client-side balancing over every pod's "
                      "address), a proxy that understands requests (a mesh sidecar, Envoy), or the "
                      "server ending connections so that new ones are spread. (e) evens out over "
                      "time, not per request.")




register(
    # -- notebook 02 --------------------------------------------------------------------------
    Exercise("cascade", "A hand-written cascade",
             "A chain has three rules: probability 1/3, probability 1/3, then one with no "
             "condition. What share of new connections does each of the three pods get?",
             "a rule sees only the connections that the rules above it let through: its pod's "
             "share is (the chance to reach the rule) x (its probability).",
             "`[1/3, 2/9, 4/9]`.\n\nRule 1 sees every new connection and takes 1/3. The other 2/3 "
             "reach rule 2, which takes 1/3 of them: 2/9 of the total. The remaining 4/9 reach the "
             "last rule, which takes them all. To be fair the second rule needs 1/2, which is what "
             "kube-proxy writes: rule i of n (from 0) carries 1/(n-i).\n\n"
             "    answer_1 = [1/3, 2/9, 4/9]",
             _check_cascade),
    Exercise("readiness", "A pod that is not ready",
             "web is scaled to 4 pods and one fails its readiness probe. How many pods can get a "
             "new connection, and with what chance each?",
             "the EndpointSlice lists every pod the selector matches, with a `ready` condition; "
             "which ones does kube-proxy write rules for?",
             "`{\"pods\": 3, \"chance\": 1/3}`.\n\nAll four pods are in the EndpointSlice, the one "
             "that fails its probe with `ready: false`. kube-proxy uses only ready endpoints and "
             "writes its cascade for those three: 1/3, 1/2, rest, so each gets 1/3.\n\n"
             "    answer_2 = {\"pods\": 3, \"chance\": 1/3}",
             _check_readiness),
    Exercise("nat", "Everyone behind one NAT",
             "200 people behind one office NAT reach web-nodeport (with sessionAffinity: ClientIP) "
             "on node-a's node port. How many different pods serve them?",
             "what does kube-proxy key session affinity on, and how many of those do 200 people "
             "behind one NAT have?",
             "`1`.\n\nThe NAT gives every connection the same source address. kube-proxy on node-a "
             "remembers that address with the pod its first connection got, and sends every later "
             "connection from it, whoever is behind it, to the same pod until the timeout runs "
             "out without a new connection. One pod serves all 200; the others idle.\n\n"
             "    answer_3 = 1",
             _check_nat),
    Exercise("keepalive", "One gRPC connection",
             "A client pod's gRPC channel opens one connection to web and sends 9,000 requests over "
             "it. How many pods get requests, and how many does the busiest get?",
             "kube-proxy chooses a pod when a connection opens. How many times does it choose here?",
             "`{\"pods_used\": 1, \"busiest\": 9000}`.\n\nOne connection, one choice: every request "
             "rides the connection to the pod it was given when it opened.\n\n"
             "    answer_4 = {\"pods_used\": 1, \"busiest\": 9000}",
             _check_keepalive),
    Exercise("spread", "What spreads a long-lived connection's requests?",
             "Which of the options in `exercises.SPREAD_FIXES` make a gRPC client's requests reach "
             "all the pods? Answer a set of letters.",
             "something has to choose per request, or connections have to be placed again; "
             "which options do either?",
             "`{\"c\", \"d\", \"e\"}`.\n\n(c) moves the choice into the client, which knows every "
             "pod's address and spreads its calls; (d) moves it into a proxy that understands "
             "requests; (e) keeps kube-proxy's choice per connection but makes connections end, "
             "so new ones are placed again. (a) pins harder, (b) adds pods nobody reaches, and "
             "(f) still chooses once per connection.\n\n"
             "    answer_5 = {\"c\", \"d\", \"e\"}",
             _check_spread),
)
