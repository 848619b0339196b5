"""Notebook 07's checks: Gateway listeners, path matching, canary weights, statuses, ReferenceGrant."""

# Every key is computed by k8slab.gateway over notebook 07's cluster (k8slab/data/gateway.yaml,
# the same file as notebooks/manifests/gateway.yaml), never typed in by hand.
from __future__ import annotations

from functools import lru_cache

from .. import gateway
from .mechanism import EXERCISES, Exercise, Feedback, as_number, register, right, wrong

__all__ = ["gateway_cluster", "GATEWAY", "LISTENER_HOSTS", "API_PATHS", "STATUS_REQUESTS"]

GATEWAY = "infra/shop-gw"
#: Exercise 1: which listener takes each of these hosts.
LISTENER_HOSTS = ("shop.example", "m.shop.example", "api.m.shop.example", "example.org")
#: Exercise 2: which of these paths reach the api Service.
API_PATHS = ("/api", "/api/", "/api/orders", "/apiary", "/API/orders", "/v2/api")
#: Exercise 4: what the client gets for each request.
STATUS_REQUESTS = {
    "a": "http://shop.example/",
    "b": "http://shop.example:8080/",
    "c": "http://shop.example/reviews/42",
    "d": "http://example.org/",
}


@lru_cache(maxsize=1)
def gateway_cluster():
    """Notebook 07's cluster: the shop behind Gateway infra/shop-gw."""
    from importlib.resources import files
    from ..manifests import load_texts
    text = files("k8slab").joinpath("data/gateway.yaml").read_text(encoding="utf-8")
    return load_texts([("gateway.yaml", text)])


def _ask(url: str, headers=()):
    return gateway.request(gateway_cluster(), GATEWAY, url, headers)


# -- 1. which listener ------------------------------------------------------------------------------
def _listener_key() -> dict:
    return {h: _ask(f"http://{h}/").listener for h in LISTENER_HOSTS}


def _check_listener(answer) -> Feedback:
    ex = "gateway-listener"
    hint = EXERCISES[ex].hint
    key = _listener_key()
    if not isinstance(answer, dict) or set(answer) != set(key):
        return wrong(ex, "format", "Give a dict with one listener name per host: "
                                   + ", ".join(f"`{h!r}`" for h in LISTENER_HOSTS) + ".", hint)
    got = {h: str(v).strip() if v is not None else None for h, v in answer.items()}
    if got == key:
        return right(ex, "`shop.example` has its own exact listener; `*.shop.example` takes any name "
                         "that ends in `.shop.example`, however many labels come before (so "
                         "`api.m.shop.example` too); `example.org` falls to the listener with no hostname.")
    if got["shop.example"] == key["m.shop.example"]:
        return wrong(ex, "wildcard-matches-bare",
                     "`*.shop.example` never matches `shop.example` itself: the wildcard stands for "
                     "at least one label. (Here an exact listener would win anyway: exact before "
                     "wildcard.)", hint)
    if got["api.m.shop.example"] != key["api.m.shop.example"]:
        return wrong(ex, "wildcard-one-label",
                     "In the Gateway API a `*.` wildcard matches any number of labels to its left "
                     "(`*.shop.example` covers `api.m.shop.example`); Ingress's wildcard is the one "
                     "that covers a single label.", hint)
    if any(got[h] == key["example.org"] for h in LISTENER_HOSTS if h != "example.org"):
        return wrong(ex, "catch-all-first",
                     "The listener without a hostname is the fallback: it takes a request only "
                     "when no listener with a hostname matches (exact, then wildcard, then none).", hint)
    return wrong(ex, "listener-order", "Try each host against the listeners' hostnames: exact match "
                                       "first, then the most specific wildcard, then the one with none.", hint)


# -- 2. whole path segments --------------------------------------------------------------------------
def _paths_key() -> set:
    return {p for p in API_PATHS
            if [b.label for b in _ask(f"http://shop.example{p}").backends if b.probability > 0] == ["shop/api"]}


def _check_paths(answer) -> Feedback:
    ex = "gateway-paths"
    hint = EXERCISES[ex].hint
    key = _paths_key()
    if isinstance(answer, str):
        answer = [answer]
    if not isinstance(answer, (list, tuple, set)) or not all(isinstance(a, str) for a in answer):
        return wrong(ex, "format", "Give the paths that reach api, as a set of strings.", hint)
    got = {a.strip() for a in answer}
    if got == key:
        return right(ex, f"{', '.join(sorted(key))}: a PathPrefix matches whole `/`-separated "
                         "segments, case-sensitively, with a trailing `/` ignored. `/apiary` is "
                         "another segment and `/API/orders` another spelling: rule 2 (`/`) takes them.")
    if "/apiary" in got:
        return wrong(ex, "string-prefix", "`PathPrefix: /api` is not a string prefix: it compares whole "
                                          "segments, and `apiary` is not the segment `api`.", hint)
    if "/API/orders" in got:
        return wrong(ex, "case-insensitive", "Path matching is case-sensitive: `/API` is not `/api`.", hint)
    if "/v2/api" in got:
        return wrong(ex, "anywhere", "A prefix matches at the start of the path only.", hint)
    if not key <= got:
        missing = sorted(key - got)
        return wrong(ex, "too-strict", f"{', '.join(missing)} reach api too: the prefix itself, with or "
                                       "without a trailing `/`, and anything below it match.", hint)
    return wrong(ex, "path-prefix", "Compare each path segment by segment with `/api`.", hint)


# -- 3. a canary's share per pod ---------------------------------------------------------------------
def _canary_key() -> dict:
    a = _ask("http://shop.example/")
    out = {}
    for b in a.backends:
        for e in b.endpoints:
            out[b.label.split("/")[1]] = round(100 * e["probability"], 1)   # one pod's share, per version
    return out


def _check_canary(answer) -> Feedback:
    ex = "gateway-canary"
    hint = EXERCISES[ex].hint
    key = _canary_key()
    if not isinstance(answer, dict) or set(answer) != set(key):
        return wrong(ex, "format", "Give a dict: `{\"web-v1\": ..., \"web-v2\": ...}`, each one pod's "
                                   "share in percent.", hint)
    got = {k: as_number(v.strip().rstrip("%") if isinstance(v, str) else v) for k, v in answer.items()}
    if any(v is None for v in got.values()):
        return wrong(ex, "format", "Each share is a number of percent, such as 12.5.", hint)
    if all(abs(got[k] - key[k]) < 0.6 for k in key):
        return right(ex, f"{key['web-v1']:g}% for each web-v1 pod and {key['web-v2']:g}% for the web-v2 "
                         "pod: the weights split requests 90/10 between the Services first, then each "
                         "Service's share is spread evenly over its ready pods.")
    if all(abs(got[k] - 25) < 0.6 for k in key):
        return wrong(ex, "pods-not-weights", "Four pods, but not 25% each: the weights apply to the "
                                             "backendRefs (Services), before any pod is chosen.", hint)
    if abs(got["web-v1"] - 90) < 0.6:
        return wrong(ex, "weight-per-pod", "90 and 10 are the Services' shares, not each pod's: web-v1's "
                                           "90% is shared by its pods.", hint)
    return wrong(ex, "weights", "Split by weight between the two Services first, then evenly over each "
                                "Service's pods.", hint)


# -- 4. what the client gets ---------------------------------------------------------------------
def _status_key() -> dict:
    return {k: _ask(url).status for k, url in STATUS_REQUESTS.items()}


def _check_status(answer) -> Feedback:
    ex = "gateway-status"
    hint = EXERCISES[ex].hint
    key = _status_key()
    if not isinstance(answer, dict) or set(answer) != set(key):
        return wrong(ex, "format", "Give a dict `{\"a\": ..., \"b\": ..., \"c\": ..., \"d\": ...}`: a status "
                                   "code, or None where no HTTP answer comes back.", hint)
    got = {k: None if v is None else (int(v) if str(v).strip().isdigit() else str(v)) for k, v in answer.items()}
    if got == key:
        return right(ex, "200 (rule 2 answers), None (nothing listens on 8080: no HTTP at all), 500 "
                         "(the rule's backend is in another namespace and no ReferenceGrant allows it), "
                         "404 (example.org reaches the fallback listener, which has no route for it).")
    if got["b"] == 404:
        return wrong(ex, "404-without-listener", "A 404 is an HTTP answer: something has to listen on the "
                                                 "port to send it. Nothing listens on 8080.", hint)
    if got["c"] in (403, 404, 503):
        return wrong(ex, "grant-status", "A backendRef the Gateway may not use is an invalid backend, and "
                                         "the Gateway API says requests routed to it get 500.", hint)
    if got["d"] == 200:
        return wrong(ex, "listener-isolation", "example.org reaches the listener with no hostname, and only "
                                               "that listener's routes count; the shop's route is not "
                                               "attached there.", hint)
    return wrong(ex, "statuses", "Follow each request: port, then listener, then route, then backend.", hint)


# -- 5. where the ReferenceGrant goes --------------------------------------------------------------
def _grant_key() -> dict:
    route = next(r for r in gateway_cluster().gateway_objects.routes if r.key == "shop/shop")
    ref = next(b for r in route.rules for b in r.backend_refs if b.namespace not in (None, route.namespace))
    return {"namespace": ref.namespace, "from_namespace": route.namespace}


def _check_grant(answer) -> Feedback:
    ex = "gateway-grant"
    hint = EXERCISES[ex].hint
    key = _grant_key()
    if not isinstance(answer, dict) or set(answer) != set(key):
        return wrong(ex, "format", "Give a dict `{\"namespace\": ..., \"from_namespace\": ...}`.", hint)
    got = {k: str(v).strip() for k, v in answer.items()}
    if got == key:
        return right(ex, f"In `{key['namespace']}`, from HTTPRoutes in `{key['from_namespace']}`: the "
                         "owner of the Service grants the reference; a route cannot give itself "
                         "permission to use someone else's Service.")
    if got["namespace"] == key["from_namespace"]:
        return wrong(ex, "grant-in-route-namespace", "A grant in the route's own namespace would let anyone "
                                                     "reach anything: the grant lives with what it shares, "
                                                     "the Service.", hint)
    if got["namespace"] == "infra":
        return wrong(ex, "grant-in-gateway-namespace", "The Gateway's namespace decides which routes attach "
                                                       "(allowedRoutes), not which Services a route may use.", hint)
    return wrong(ex, "grant", "A ReferenceGrant lives in the namespace of the object referred to, and "
                              "names the namespace the reference comes from.", hint)


register(
    Exercise("gateway-listener", "Which listener?",
             "For each host, which of shop-gw's listeners takes the request: shop, shop-subdomains or "
             "other-hosts?",
             "exact hostnames first, then the most specific wildcard, then the listener with none; "
             "how many labels may a Gateway API wildcard stand for?",
             "`{\"shop.example\": \"shop\", \"m.shop.example\": \"shop-subdomains\", \"api.m.shop.example\": "
             "\"shop-subdomains\", \"example.org\": \"other-hosts\"}`.\n\n"
             "`*.shop.example` is a suffix match: any name ending in `.shop.example`, one label or "
             "more in front, never `shop.example` itself. The listener without a hostname takes "
             "what no other matches.\n\n"
             "    answer_1 = {\"shop.example\": \"shop\", \"m.shop.example\": \"shop-subdomains\", "
             "\"api.m.shop.example\": \"shop-subdomains\", \"example.org\": \"other-hosts\"}",
             _check_listener),
    Exercise("gateway-paths", "Which paths reach the API?",
             "Which of the paths in API_PATHS does rule 0 (PathPrefix /api) send to the api Service?",
             "a PathPrefix compares whole segments between slashes, and cares about case.",
             "`{\"/api\", \"/api/\", \"/api/orders\"}`.\n\n"
             "`/apiary` shares letters but not a segment; `/API/orders` differs in case; `/v2/api` "
             "does not start with `/api`. All three go to rule 2 instead.\n\n"
             "    answer_2 = {\"/api\", \"/api/\", \"/api/orders\"}",
             _check_paths),
    Exercise("gateway-canary", "One pod's share of a canary",
             "Rule 2 sends weight 90 to web-v1 (3 pods) and 10 to web-v2 (1 pod): what percent of "
             "requests does each web-v1 pod get, and the web-v2 pod?",
             "weights split between backendRefs (Services) first; then the Gateway spreads each "
             "Service's share over its ready pods.",
             "`{\"web-v1\": 30, \"web-v2\": 10}`.\n\n"
             "90% of requests go to web-v1, shared by three pods: 30% each. 10% go to web-v2's only "
             "pod.\n\n"
             "    answer_3 = {\"web-v1\": 30, \"web-v2\": 10}",
             _check_canary),
    Exercise("gateway-status", "What does the client get?",
             "For each request in STATUS_REQUESTS, the HTTP status the client gets (None: no HTTP "
             "answer at all).",
             "follow each request: is something listening on that port? which listener? which "
             "route rule? is its backend usable?",
             "`{\"a\": 200, \"b\": None, \"c\": 500, \"d\": 404}`.\n\n"
             "(a) rule 2 answers. (b) the Gateway listens on 80 only: the connection fails, there is "
             "no status. (c) rule 3's Service is in namespace reviews and nothing grants the "
             "reference: an invalid backend, 500. (d) example.org reaches the `other-hosts` "
             "listener, which admits routes from infra only: no route, 404.\n\n"
             "    answer_4 = {\"a\": 200, \"b\": None, \"c\": 500, \"d\": 404}",
             _check_status),
    Exercise("gateway-grant", "Where does the ReferenceGrant go?",
             "To make rule 3 work, a ReferenceGrant is needed: in which namespace, and from which "
             "namespace's HTTPRoutes?",
             "who owns what is being shared?",
             "`{\"namespace\": \"reviews\", \"from_namespace\": \"shop\"}`.\n\n"
             "The grant is the Service owner's consent: it lives in `reviews`, with `from: "
             "[{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: shop}]` and `to: "
             "[{group: \"\", kind: Service, name: reviews}]`.\n\n"
             "    answer_5 = {\"namespace\": \"reviews\", \"from_namespace\": \"shop\"}",
             _check_grant),
)
