"""Notebook 04's checks: names, the search list, headless and ExternalName Services."""

# Every key is computed from k8slab's own model (k8slab.dns over the demo cluster and the shop
# namespace of notebook 04), never typed in by hand.
from __future__ import annotations

import dataclasses
from functools import lru_cache

from .. import dns
from ..errors import K8slabError
from .mechanism import EXERCISES, Exercise, Feedback, as_int, register, right, wrong

__all__ = ["EXTERNALNAME_CAUSES", "shop_cluster"]

#: Exercise 6's choices: why `curl https://payments/...` fails through an ExternalName Service.
EXTERNALNAME_CAUSES = {
    "a": "the cluster DNS answers with a CNAME, which curl cannot follow, so it never gets an address",
    "b": "kube-proxy writes no rules for an ExternalName Service, so the connection reaches nobody",
    "c": "curl sends and checks the name in the URL, payments, and the provider's certificate "
         "names only api.payments.example.com",
    "d": "the CNAME carries no port, so curl connects to the wrong port",
}

_KAFKA = """\
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: kafka, namespace: events}
spec:
  serviceName: kafka-brokers
  replicas: 3
  selector: {matchLabels: {app: kafka}}
  template:
    metadata: {labels: {app: kafka}}
    spec: {containers: [{name: kafka, image: kafka, ports: [{name: broker, containerPort: 9092}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: kafka-brokers, namespace: events}
spec: {clusterIP: None, selector: {app: kafka}, ports: [{name: broker, port: 9092}]}
"""


def _text(name: str) -> str:
    from importlib.resources import files
    return files("k8slab").joinpath(f"data/{name}").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def shop_cluster():
    """The cluster of notebook 04: the demo cluster and the shop namespace."""
    from ..manifests import load_texts
    return load_texts([("demo.yaml", _text("demo.yaml")), ("shop.yaml", _text("shop.yaml"))])


def _name(text) -> str | None:
    """A name as a learner writes it in a URL: scheme, path and port taken off, lower case."""
    if not isinstance(text, str):
        return None
    t = text.strip().lower()
    t = t.split("://", 1)[-1].split("/", 1)[0]
    if ":" in t:
        t = t.rsplit(":", 1)[0]
    return t or None


def _fq(text: str) -> str:
    return text if text.endswith(".") else text + "."


# -- 1. the tries of a search list ----------------------------------------------------------
_TRIES_CLIENT, _TRIES_NAME = "pod/client", "web.default.svc"


def _tries_key() -> list[str]:
    return [t.name for t in dns.lookup(shop_cluster(), _TRIES_CLIENT, _TRIES_NAME).tried]


def _check_search_tries(answer) -> Feedback:
    ex = "search-tries"
    key = _tries_key()
    hint = EXERCISES[ex].hint
    if isinstance(answer, str):
        answer = [answer]
    if not isinstance(answer, (list, tuple)) or not all(isinstance(a, str) for a in answer):
        return wrong(ex, "format", "Give a list of names, in the order the resolver sends them.", hint)
    got = [_fq(a.strip().lower()) for a in answer]
    if got == key:
        return right(ex, f"{len(key)} names: `{_TRIES_NAME}` has {_TRIES_NAME.count('.')} dots, "
                         "fewer than ndots:5, so the search list comes first, in order, and its "
                         "last domain completes the name. Nothing after that is sent.")
    as_is = _fq(_TRIES_NAME)
    if got and got[0] == as_is:
        return wrong(ex, "as-given-first",
                     f"`{as_is}` is not asked first: the name has {_TRIES_NAME.count('.')} dots, "
                     "fewer than ndots:5, so glibc walks the search list before trying it as "
                     "given.", hint)
    if got and got == key[1:]:
        return wrong(ex, "namespace-domain-first",
                     "You left out the first try. The first search domain is the pod's own "
                     "namespace's, `default.svc.cluster.local`, and it is appended too.", hint)
    if got[:len(key)] == key and len(got) > len(key):
        return wrong(ex, "stops-at-first-answer",
                     f"The resolver stops at the first name that has records, `{key[-1]}`: "
                     "nothing after it is sent.", hint)
    if len(got) == len(key) and set(got) == set(key):
        return wrong(ex, "search-order", "The right names, in the wrong order: the search "
                     "domains are tried in the order of the `search` line.", hint)
    return wrong(ex, "search-list",
                 f"The resolver sends {len(key)} names. Append each search domain of the client's "
                 "resolv.conf to the name, in order, until one has an answer.", hint)


# -- 2. a cross-namespace call ------------------------------------------------------------------
def _check_cross_namespace(answer) -> Feedback:
    ex = "cross-namespace"
    hint = EXERCISES[ex].hint
    cluster = shop_cluster()
    cart = cluster.service("cart", "shop")
    name = _name(answer)
    if name is None:
        return wrong(ex, "format", "Give the name as a string, for example `\"name.here\"`.", hint)
    found = dns.lookup(cluster, "pod/client", name)
    if cart.cluster_ip in found.addresses:
        shortest = "cart.shop"
        if name.rstrip(".") == shortest:
            return right(ex, "`cart.shop`: one dot, so the client's search list completes it, and "
                             "its second domain gives `cart.shop.svc.cluster.local`, cart's name.")
        return right(ex, f"`{name}` works (it resolves to cart's cluster IP, {cart.cluster_ip}); "
                         f"the shortest name that does is `{shortest}`, which the search list "
                         "completes.")
    bare = name.rstrip(".")
    if bare == "cart":
        return wrong(ex, "own-namespace-only",
                     "A bare name is completed with the client's own namespace first "
                     "(`cart.default.svc.cluster.local`), and there is no cart there.", hint)
    if bare.startswith("shop.cart"):
        return wrong(ex, "name-order", "The Service comes first, then its namespace: "
                                       "`SERVICE.NAMESPACE`.", hint)
    if bare.startswith("cart.shop.cluster.local"):
        return wrong(ex, "missing-svc", "Service names live under `svc.cluster.local`: "
                                        "`cart.shop.svc.cluster.local`.", hint)
    if bare.startswith("cart."):
        return wrong(ex, "wrong-namespace", f"`{name}` does not resolve to cart ({found.rcode}): "
                                            "which namespace is cart in?", hint)
    return wrong(ex, "service-name", f"`{name}` does not resolve to cart's cluster IP "
                                     f"({found.rcode}). Name the Service and its namespace.", hint)


# -- 3. what ndots costs --------------------------------------------------------------------------
_COST_NAME = "api.payments.example.com"


def _cost_key() -> dict:
    cluster = shop_cluster()
    # getaddrinfo asks for A and AAAA for every name it tries: two queries a try.
    return {"as written": 2 * len(dns.lookup(cluster, "pod/client", _COST_NAME).tried),
            "with the final dot": 2 * len(dns.lookup(cluster, "pod/client", _COST_NAME + ".").tried)}


def _check_ndots_cost(answer) -> Feedback:
    ex = "ndots-cost"
    hint = EXERCISES[ex].hint
    key = _cost_key()
    if not isinstance(answer, dict) or set(answer) != set(key):
        return wrong(ex, "format", "Give a dict: `{\"as written\": ..., \"with the final dot\": ...}`, "
                                   "each a number of queries.", hint)
    got = {k: as_int(v) for k, v in answer.items()}
    if got == key:
        return right(ex, f"{key['as written']} and {key['with the final dot']}: the name has 3 dots, "
                         "fewer than 5, so the three search domains are tried first, each with an A "
                         "and an AAAA query, then the name itself; with the final dot only the "
                         "name itself, twice.")
    half = {k: v // 2 for k, v in key.items()}
    if got == half:
        return wrong(ex, "forgot-aaaa", "You counted names, not queries: `getaddrinfo()` asks for "
                                        "an A and an AAAA record of every name it tries.", hint)
    if got.get("as written") in (key["with the final dot"], half["with the final dot"]):
        return wrong(ex, "as-given-first", f"`{_COST_NAME}` has 3 dots, fewer than ndots:5: it is "
                                           "not asked as given first, the search list is.", hint)
    return wrong(ex, "ndots-count", "Count the names the resolver tries (section 3 printed them), "
                                    "then the queries each one costs.", hint)


# -- 4. who is in a headless answer ---------------------------------------------------------------
def _maintenance_cluster():
    """The shop cluster with db-2's readiness probe failing."""
    c = shop_cluster()
    pods = [dataclasses.replace(p, ready=False) if p.key == "shop/db-2" else p for p in c.pods]
    return c.copy(pods=pods)


def _headless_key() -> dict:
    c = _maintenance_cluster()
    answered = set(dns.lookup(c, "pod/shop/front", "db").addresses)
    return {"pods": {p.name for p in c.pods if p.ip in answered}, "picked_by": "client"}


def _check_headless_answer(answer) -> Feedback:
    ex = "headless-answer"
    hint = EXERCISES[ex].hint
    key = _headless_key()
    if not isinstance(answer, dict) or set(answer) != {"pods", "picked_by"}:
        return wrong(ex, "format", "Give a dict: `{\"pods\": {...}, \"picked_by\": ...}`.", hint)
    pods = answer["pods"]
    if isinstance(pods, str):
        pods = {pods}
    if not isinstance(pods, (set, list, tuple, frozenset)) or not all(isinstance(p, str) for p in pods):
        return wrong(ex, "format", "`pods` is a set of pod names, like `{\"db-0\"}`.", hint)
    pods = {p.strip() for p in pods}
    who = str(answer["picked_by"]).strip().lower().replace("_", "-").replace(" ", "-")
    if "db-2" in pods:
        return wrong(ex, "not-ready-published",
                     "db-2 is not ready, and the EndpointSlice marks it so: CoreDNS publishes only "
                     "ready endpoints (unless the Service sets `publishNotReadyAddresses`).", hint)
    if pods != key["pods"]:
        return wrong(ex, "headless-records", "The answer has one address per *ready* pod the "
                                             "Service selects.", hint)
    if who in ("kube-proxy", "kubeproxy", "iptables"):
        return wrong(ex, "kube-proxy-headless",
                     "kube-proxy writes no rules for a headless Service: there is no cluster IP "
                     "to catch. The client connects to a pod's address directly.", hint)
    if who in ("coredns", "dns", "kube-dns"):
        return wrong(ex, "dns-picks",
                     "CoreDNS answers with every ready address (its `loadbalance` plugin only "
                     "shuffles their order); which one to connect to is the client's choice.", hint)
    if who != "client":
        return wrong(ex, "format", "`picked_by` is one of \"kube-proxy\", \"coredns\", \"client\".", hint)
    return right(ex, "db-0 and db-1, the ready ones; the client gets both addresses and connects "
                     "to one itself (usually the first of the shuffled list), with no kube-proxy "
                     "in between.")


# -- 5. a StatefulSet pod's name -----------------------------------------------------------------
@lru_cache(maxsize=1)
def _kafka_cluster():
    from ..manifests import load_texts
    return load_texts([("kafka.yaml", _KAFKA)])


def _kafka_key() -> str:
    c = _kafka_cluster()
    pod = next(p for p in c.pods if p.name.endswith("-1"))           # the second pod: ordinal 1
    name = f"{pod.hostname}.{pod.subdomain}.{pod.namespace}.svc.{dns.CLUSTER_DOMAIN}"
    if [r.value for r in dns.query(c, name).records] != [pod.ip]:
        raise K8slabError("k8slab's model does not resolve the StatefulSet pod's name (a bug)")
    return name


def _check_statefulset_name(answer) -> Feedback:
    ex = "statefulset-name"
    hint = EXERCISES[ex].hint
    key = _kafka_key()
    name = _name(answer)
    if name is None:
        return wrong(ex, "format", "Give the name as a string.", hint)
    bare = name.rstrip(".")
    if bare == key:
        return right(ex, f"`{key}`: the pod's hostname (its name, `kafka-1`: ordinals start at 0), "
                         "the headless Service named in `serviceName`, the namespace, then "
                         "`svc.cluster.local`.")
    labels = bare.split(".")
    if labels[0] == "kafka-2":
        return wrong(ex, "ordinal-from-one", "StatefulSet ordinals start at 0: the pods are kafka-0, "
                                             "kafka-1, kafka-2.", hint)
    if len(labels) > 1 and labels[1] == "kafka":
        return wrong(ex, "statefulset-not-service",
                     "The second label is the headless Service the StatefulSet names in "
                     "`serviceName` (the pod's subdomain), not the StatefulSet's own name.", hint)
    if bare == "kafka-1.kafka-brokers" or bare == "kafka-1.kafka-brokers.events":
        return wrong(ex, "short-name", "That short name works from a pod in `events` (the search "
                                       "list completes it), but the question asks for the "
                                       "full name, all the way to cluster.local.", hint)
    if "pod" in labels:
        return wrong(ex, "pod-zone", "`pod.cluster.local` names are by address (`10-244-1-5.NS.pod."
                                     "...`), not by pod name; the stable name is under `svc`.", hint)
    if bare.startswith("kafka-1.events"):
        return wrong(ex, "missing-subdomain", "A pod's own name needs the Service that governs it "
                                              "between its hostname and the namespace.", hint)
    if labels[-2:] == ["cluster", "local"] and "svc" not in labels:
        return wrong(ex, "missing-svc", "Service and pod names live under `svc.cluster.local`.", hint)
    return wrong(ex, "pod-name", "Build it as POD.SERVICE.NAMESPACE.svc.cluster.local.", hint)


# -- 6. ExternalName and HTTPS -------------------------------------------------------------------
def _check_externalname_https(answer) -> Feedback:
    ex = "externalname-https"
    hint = EXERCISES[ex].hint
    letter = answer.strip().lower().strip("()") if isinstance(answer, str) else None
    if letter not in EXTERNALNAME_CAUSES:
        return wrong(ex, "format", "Give one letter: " + ", ".join(f"`\"{k}\"`" for k in EXTERNALNAME_CAUSES)
                     + ".", hint)
    found = dns.lookup(shop_cluster(), "pod/shop/front", "payments")
    cname = next((r.value for r in found.answer if r.type == "CNAME"), None)
    if letter == "c":
        return right(ex, f"The name resolves (CNAME to `{cname}`) and the connection reaches the "
                         "provider, but TLS checks the certificate against the name in the URL, "
                         "`payments`. Use the provider's own name in the URL, or set the server "
                         "name and Host header to it.")
    if letter == "a":
        return wrong(ex, "cname-not-followed",
                     f"The resolver follows the CNAME for curl: `payments` answers with an alias, "
                     f"`{cname}`, and that name's address comes from upstream. A certificate error "
                     "means the connection was made.", hint)
    if letter == "b":
        return wrong(ex, "externalname-needs-proxy",
                     "Right that kube-proxy writes no rules for it, but none are needed: the client "
                     "connects to the provider's own address. A certificate error means the "
                     "connection was made.", hint)
    return wrong(ex, "cname-port", "No DNS A or CNAME record carries a port; the port comes from "
                                   "the URL (443 for https), and the connection was made.", hint)


register(
    Exercise("search-tries", "Predict the tries",
             "pod/client (namespace default) looks up web.default.svc: list every name its "
             "resolver sends, in order, up to the one that answers.",
             "count the dots in the name and compare with ndots; then append the search domains "
             "of the client's resolv.conf one by one.",
             "`[\"web.default.svc.default.svc.cluster.local.\", \"web.default.svc.svc.cluster.local.\", "
             "\"web.default.svc.cluster.local.\"]`.\n\n"
             "`web.default.svc` has two dots, fewer than five, so the search list comes first: "
             "`default.svc.cluster.local` makes a name CoreDNS does not serve (NXDOMAIN), so does "
             "`svc.cluster.local`, and `cluster.local` completes it to web's name. The resolver "
             "stops there; the name as given is never sent.\n\n"
             "    answer_1 = [\"web.default.svc.default.svc.cluster.local.\", "
             "\"web.default.svc.svc.cluster.local.\", \"web.default.svc.cluster.local.\"]",
             _check_search_tries),
    Exercise("cross-namespace", "Fix a cross-namespace call",
             "A job in pod/client (namespace default) calls http://cart/checkout; Service cart "
             "lives in shop. Which name works, shortest first?",
             "the first search domain is the client's own namespace; what must the name add so "
             "that another domain of the list completes it?",
             "`\"cart.shop\"`.\n\n"
             "`cart` alone becomes `cart.default.svc.cluster.local` first, and there is no cart in "
             "default. `cart.shop` (one dot) is completed by the second search domain, "
             "`svc.cluster.local`, to `cart.shop.svc.cluster.local`. The full name works too, "
             "and written complete, with a final dot, it costs a single query.\n\n"
             "    answer_2 = \"cart.shop\"",
             _check_cross_namespace),
    Exercise("ndots-cost", "Count the queries",
             "pod/client resolves api.payments.example.com with getaddrinfo (A and AAAA): how "
             "many queries as written, and with the final dot?",
             "count the names tried (section 3 printed them), then remember getaddrinfo asks two "
             "questions about each.",
             "`{\"as written\": 8, \"with the final dot\": 2}`.\n\n"
             "Three dots are fewer than five: the three search domains come first, each costing an "
             "A and an AAAA query that end in NXDOMAIN, then the name as given, two more. With the "
             "final dot the name is complete: one A and one AAAA query.\n\n"
             "    answer_3 = {\"as written\": 8, \"with the final dot\": 2}",
             _check_ndots_cost),
    Exercise("headless-answer", "Which pods are in a headless answer?",
             "db in shop is headless and db-2 is not ready: which pods' addresses does front's "
             "lookup of db return, and who picks one?",
             "CoreDNS reads the EndpointSlices; which endpoints does it publish, and is there a "
             "cluster IP for kube-proxy to catch?",
             "`{\"pods\": {\"db-0\", \"db-1\"}, \"picked_by\": \"client\"}`.\n\n"
             "The EndpointSlice marks db-2 not ready, and CoreDNS leaves it out (a Service with "
             "`publishNotReadyAddresses: true` would keep it). A headless Service has no cluster IP, "
             "so kube-proxy writes nothing for it: the client receives both addresses and connects "
             "to one itself.\n\n"
             "    answer_4 = {\"pods\": {\"db-0\", \"db-1\"}, \"picked_by\": \"client\"}",
             _check_headless_answer),
    Exercise("statefulset-name", "Name the StatefulSet's pod",
             "StatefulSet kafka in namespace events, serviceName kafka-brokers, 3 replicas: the "
             "full DNS name of its second pod, all the way to cluster.local?",
             "the StatefulSet controller sets the pod's hostname to its name and its subdomain "
             "to serviceName; ordinals start at 0.",
             "`\"kafka-1.kafka-brokers.events.svc.cluster.local\"`.\n\n"
             "The second pod is kafka-1 (kafka-0 is the first). Its hostname is kafka-1, its "
             "subdomain kafka-brokers, and because a headless Service of that name exists in "
             "events, CoreDNS serves `kafka-1.kafka-brokers.events.svc.cluster.local`.\n\n"
             "    answer_5 = \"kafka-1.kafka-brokers.events.svc.cluster.local\"",
             _check_statefulset_name),
    Exercise("externalname-https", "Why does the HTTPS call fail?",
             "front runs curl https://payments/v1/charge and gets a certificate name mismatch: "
             "which explanation is right?",
             "the error is about a certificate: how far did the connection get before it?",
             "`\"c\"`.\n\n"
             "DNS works (a CNAME to api.payments.example.com, then the provider's address) and "
             "the TCP connection is made; then curl checks the certificate against the name in "
             "the URL, `payments`, and the provider's certificate only covers its own name. Call "
             "`https://api.payments.example.com/...` (the Service name can still hold that URL in "
             "configuration), or set the server name and Host header to it.\n\n"
             "    answer_6 = \"c\"",
             _check_externalname_https),
)
