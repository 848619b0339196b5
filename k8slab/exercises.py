"""Learner checks: answers, hints, feedback."""

# Every answer key is computed from k8slab's own model of the demo cluster (routing,
# manifests), never typed in by hand, so the checks cannot drift from what the notebooks
# show. Each typical wrong answer maps to the misconception it reveals, with a hint.
#
# Use:  exercises.check("reach", answer)  -> Feedback (shows itself in Jupyter)
#       exercises.hint("reach")           -> the hint, without checking anything
#       exercises.solution("reach")       -> a Solution, folded until the learner opens it
from __future__ import annotations

import html
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

from .errors import K8slabError

__all__ = ["Feedback", "Solution", "Exercise", "EXERCISES", "check", "hint", "solution",
           "exercise", "BROKEN_SERVICE", "NODE_PORT_RANGE", "SPREAD_FIXES"]

#: The API server's default --service-node-port-range.
NODE_PORT_RANGE = (30000, 32767)
_KINDS = ("pod", "node", "laptop", "other-cluster", "internet")
_TYPES = ("ClusterIP", "NodePort", "LoadBalancer")
_ALL_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")   # the API's enum

#: The Service of the "fix" exercise: a laptop cannot reach it. The learner edits a copy.
BROKEN_SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
  - name: http
    port: 80
    targetPort: http
"""


# -- what a check answers ------------------------------------------------------------------
@dataclass(frozen=True)
class Feedback:
    """The result of one check: right or not, and if not, which misconception and a hint."""

    exercise: str
    correct: bool
    message: str
    misconception: str | None = None      # a short id ("cluster-ip-is-public"), None when right
    hint: str | None = None

    def __bool__(self) -> bool:
        return self.correct

    def __str__(self) -> str:
        if self.correct:
            head = "Right."
        elif self.misconception == "unanswered":
            head = "Not answered yet."
        else:
            head = "Not yet."
        text = f"{head} {self.message}"
        if self.hint and not self.correct:
            text += f"\nHint: {self.hint}"
        return text

    def __repr__(self) -> str:
        return str(self)

    def _repr_mimebundle_(self, include=None, exclude=None):
        if self.correct:
            colour, fill, head = "#1b7837", "#eaf5ec", "\u2714 Right."
        elif self.misconception == "unanswered":
            colour, fill, head = "#555555", "#f2f2f2", "Not answered yet."
        else:
            colour, fill, head = "#b35806", "#fdf0e2", "\u2718 Not yet."
        body = f"<b style='color:{colour}'>{head}</b> {_inline(self.message)}"
        if self.hint and not self.correct:
            body += f"<br><b>Hint:</b> {_inline(self.hint)}"
        box = (f"<div style='border-left:4px solid {colour};background:{fill};padding:6px 10px;"
               f"margin:2px 0;max-width:60em'>{body}</div>")
        return {"text/html": box, "text/plain": str(self)}


@dataclass(frozen=True)
class Solution:
    """A worked solution, folded: it shows only when the learner opens it (or prints it)."""

    exercise: str
    text: str

    def __str__(self) -> str:
        return f"Solution to exercise {self.exercise!r}:\n{self.text}"

    def __repr__(self) -> str:
        return (f"<solution to exercise {self.exercise!r}, hidden: print() it, or open it "
                "in Jupyter>")

    def _repr_mimebundle_(self, include=None, exclude=None):
        paragraphs = "".join(f"<p>{_inline(p)}</p>" if not p.startswith("    ") else
                             f"<pre>{html.escape(_dedent4(p))}</pre>"
                             for p in self.text.split("\n\n"))
        box = ("<details style='border:1px solid #ccc;border-radius:4px;padding:4px 10px;"
               "max-width:60em'><summary style='cursor:pointer'><b>Show the solution</b> "
               "(try the exercise first)</summary>" + paragraphs + "</details>")
        return {"text/html": box, "text/plain": repr(self)}


def _dedent4(block: str) -> str:
    return "\n".join(line[4:] if line.startswith("    ") else line for line in block.splitlines())


def _inline(text: str) -> str:
    """Escape text for HTML, turning `code` spans into <code>."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


@dataclass(frozen=True)
class Exercise:
    """One checked exercise: a one-line prompt, a checker, a hint, a solution."""

    id: str
    title: str
    prompt: str
    hint: str
    solution: str
    checker: Callable[[Any], Feedback]

    def check(self, answer) -> Feedback:
        if _unanswered(answer):
            return _unanswered_feedback(self.id)
        try:
            return self.checker(answer)
        except _Unanswered:
            return _unanswered_feedback(self.id)
        except K8slabError as exc:     # the answer led to a clear error: say it, no traceback
            return Feedback(self.id, False, str(exc), "invalid", self.hint)


class _Unanswered(Exception):
    """A learner's function still returns `...`."""


def _unanswered(answer) -> bool:
    if answer is ... or answer is None:
        return True
    if isinstance(answer, dict):
        return any(v is ... for v in answer.values())
    if isinstance(answer, (list, tuple, set)):
        return ... in answer
    return False


def _unanswered_feedback(ex: str) -> Feedback:
    return Feedback(ex, False, "Replace each `...` with your answer, then run the cell again.",
                    "unanswered", EXERCISES[ex].hint)


def _right(ex: str, message: str) -> Feedback:
    return Feedback(ex, True, message)


def _wrong(ex: str, misconception: str, message: str, hint: str) -> Feedback:
    return Feedback(ex, False, message, misconception, hint)


# -- the model the answers come from ---------------------------------------------------------
def _demo_text() -> str:
    from importlib.resources import files
    return files("k8slab").joinpath("data/demo.yaml").read_text(encoding="utf-8")


@lru_cache(maxsize=2)
def _demo(cloud: bool = True):
    from .manifests import load_texts
    return load_texts([("demo.yaml", _demo_text())], cloud=None if cloud else False)


@lru_cache(maxsize=1)
def _demo_without_services() -> str:
    import yaml
    docs = [d for d in yaml.safe_load_all(_demo_text()) if d and d.get("kind") != "Service"]
    return yaml.safe_dump_all(docs, sort_keys=False)


def _client_of_kind(cluster, kind: str) -> str:
    from .routing import default_clients
    for c in default_clients(cluster):
        if c.partition("/")[0] == kind:
            return c
    raise K8slabError(f"the demo cluster has no client of kind {kind}")


def _kind(text: str) -> str | None:
    t = str(text).strip().lower().replace("_", "-").replace(" ", "-")
    first = t.partition("/")[0]
    if first in ("pod", "node"):
        return first
    aliases = {"othercluster": "other-cluster", "other": "other-cluster",
               "a-pod-in-another-cluster": "other-cluster", "another-cluster": "other-cluster",
               "pod-in-another-cluster": "other-cluster", "a-laptop": "laptop"}
    t = aliases.get(t, t)
    return t if t in _KINDS else None


def _as_strings(answer) -> list[str] | None:
    if isinstance(answer, str):
        for sep in ("->", "\u2192", ","):
            if sep in answer:
                return [p.strip() for p in answer.split(sep) if p.strip()]
        return [answer.strip()] if answer.strip() else []
    if isinstance(answer, (list, tuple, set, frozenset)):
        if all(isinstance(a, str) for a in answer):
            return list(answer)
    return None


def _as_int(value) -> int | str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        s = value.strip()
        return int(s) if s.isdigit() else s
    return None


# -- 0. warm-up: where the web pods run ------------------------------------------------------
def _check_warm_up(answer) -> Feedback:
    ex = "warm-up"
    cluster = _demo()
    nodes = [n.name for n in cluster.nodes]
    if not isinstance(answer, dict) or set(answer) != set(nodes):
        return _wrong(ex, "format", "Give a dict with one entry per node: "
                      + ", ".join(f"`\"{n}\": ...`" for n in nodes) + ".", EXERCISES[ex].hint)
    a = {k: _as_int(v) for k, v in answer.items()}
    if any(not isinstance(v, int) for v in a.values()):
        return _wrong(ex, "format", "Each value is a number of pods.", EXERCISES[ex].hint)
    web = cluster.service("web")
    expected = {n: 0 for n in nodes}
    for p in cluster.selected_pods(web):
        expected[p.node] += 1
    everyone = {n: 0 for n in nodes}
    for p in cluster.pods:
        if p.node:
            everyone[p.node] += 1
    if a == expected:
        return _right(ex, ", ".join(f"{n}: {c}" for n, c in expected.items()) + ". The scheduler "
                      "put two replicas on node-a and one on node-b; node-c's taint keeps web pods "
                      "off it. The client pod there is not a web pod: it lacks the label `app: web`.")
    if a == everyone:
        return _wrong(ex, "every-pod-is-a-backend",
                      "You counted every pod. The client pod on node-c is not a web pod: a Service "
                      "picks its pods by label, and only pods labelled `app: web` belong to web.",
                      "count only the pods the Service's selector matches.")
    if sum(a.values()) == len(nodes) and all(v == 1 for v in a.values()):
        return _wrong(ex, "one-replica-per-node",
                      "A Deployment does not place one replica per node (that is a DaemonSet). "
                      "The scheduler chose, and node-c's taint `dedicated=batch:NoSchedule` keeps "
                      "the web pods, which do not tolerate it, off node-c.",
                      "look at node-c's taint and the pods' `node` column.")
    if a.get("node-c", 0) > 0:
        return _wrong(ex, "taint-ignored",
                      "No web pod runs on node-c: its taint `dedicated=batch:NoSchedule` keeps off "
                      "every pod that does not tolerate it, and the web pods do not.",
                      "look at node-c's taint.")
    return _wrong(ex, "other", "Count again from the pod table above.", EXERCISES[ex].hint)


# -- 1. who can reach a ClusterIP Service ----------------------------------------------------
_PUBLIC = ("A cluster IP is virtual: no machine on the network owns it, and no router outside "
           "the cluster knows where to send it. Only kube-proxy's rules on the cluster's own nodes turn it into a "
           "pod's address, so only packets that pass through those rules, from pods and from "
           "processes on the nodes, can use it. A ClusterIP is not how traffic enters a cluster.")


def _check_reach(answer) -> Feedback:
    ex = "reach"
    names = _as_strings(answer)
    if names is None:
        return _wrong(ex, "format", "Give a set of client kinds, for example `{\"pod\", \"laptop\"}`.",
                      EXERCISES[ex].hint)
    kinds = set()
    for n in names:
        k = _kind(n)
        if k is None:
            return _wrong(ex, "format", f"{n!r} is not one of the five clients: "
                          "pod, node, laptop, other-cluster, internet.", EXERCISES[ex].hint)
        kinds.add(k)
    cluster = _demo()
    expected = {k for k in _KINDS
                if cluster.route(client=_client_of_kind(cluster, k), service="web").reachable}
    outside = sorted(kinds - expected)
    if outside:
        return _wrong(ex, "cluster-ip-is-public",
                      f"{', '.join(outside)} cannot reach it. {_PUBLIC}",
                      "for each client, ask whether its packet passes through a node's "
                      "kube-proxy rules before it goes anywhere. "
                      "`cluster.route(client=\"laptop\", service=\"web\").reason` says why not.")
    if "pod" not in kinds:
        return _wrong(ex, "cluster-ip-needs-more",
                      "A pod in the cluster can reach it: pods are exactly the clients a ClusterIP "
                      "Service is for. The pod dials the cluster IP (or the name `web`), and "
                      "kube-proxy's rules on its node send the packet on to one of the web pods.",
                      "a ClusterIP Service needs nothing more to work inside the cluster.")
    if "node" not in kinds:
        return _wrong(ex, "only-pods",
                      "A process on a node (on the host network, like a `curl` run on the node) "
                      "can reach it too: kube-proxy hooks the node's own outgoing traffic as well "
                      "as its pods', so the cluster IP works there.",
                      "where do kube-proxy's rules live, and whose packets pass through them?")
    return _right(ex, "Only pods and processes on the cluster's nodes. The cluster IP exists only "
                      "in kube-proxy's rules on the nodes, so a laptop, another cluster and the "
                      "internet have no way to it.")


# -- 2. the hop chain of a NodePort request --------------------------------------------------
def _check_hops(answer) -> Feedback:
    ex = "hops"
    hops = _as_strings(answer)
    if hops is None or not hops:
        return _wrong(ex, "format", "Give the hop kinds in order, for example "
                      "`[\"client\", \"cluster-ip\", \"pod\"]`.", EXERCISES[ex].hint)
    hops = [h.strip().lower().replace(" ", "-").replace("_", "-") for h in hops]
    known = ("client", "load-balancer", "node-port", "cluster-ip", "pod", "dns")
    unknown = [h for h in hops if h not in known]
    if unknown:
        return _wrong(ex, "format", f"{unknown[0]!r} is not a hop kind; use "
                      "client, load-balancer, node-port, cluster-ip, pod.", EXERCISES[ex].hint)
    route = _demo().route(client="laptop", service="web-nodeport", via_node="node-b")
    expected = [h["kind"] for h in route.hops]
    if hops == expected:
        others = sorted({e.endpoint.node for e in route.endpoints} - {"node-b"})
        return _right(ex, f"{' -> '.join(expected)}. The laptop enters at node-b's node port, and "
                          "the node port hands the packet to the Service's rules, which pick among "
                          f"all {len(route.endpoints)} ready pods, including those on "
                          f"{', '.join(others)}: entering at node-b does not mean a pod on node-b "
                          "answers.")
    if "load-balancer" in hops:
        return _wrong(ex, "node-port-has-load-balancer",
                      "A NodePort Service asks for no load balancer: only a Service of type "
                      "LoadBalancer does, and a cloud (or a controller such as MetalLB) provides "
                      "it. Here the laptop itself picked node-b.",
                      "which Service type asks the cloud for something?")
    if "cluster-ip" in hops and "node-port" not in hops:
        return _wrong(ex, "cluster-ip-is-the-door",
                      "The laptop cannot send anything to the cluster IP: it is virtual and known "
                      "only inside the cluster. A laptop enters at a node's IP on the node port.",
                      "what address and port did the laptop send to?")
    if "node-port" in hops and "cluster-ip" not in hops:
        return _wrong(ex, "node-port-goes-straight-to-a-pod",
                      "The node port is not a shortcut to a pod on node-b. kube-proxy's node-port "
                      "rule on node-b jumps into the same Service rules the cluster IP uses "
                      "(k8slab draws them as the cluster-ip hop), and those pick among all ready "
                      "pods, on any node. The packet is rewritten once, straight to the chosen pod; "
                      "it never carries the cluster IP as its destination, but it is balanced by "
                      "the Service's rules.",
                      "NodePort builds on ClusterIP: what does every NodePort Service also have?")
    if "pod" not in hops:
        return _wrong(ex, "no-pod", "Every request that gets in ends at a pod: that is what the "
                      "Service's rules choose.", "where does the request finally land?")
    if hops[0] != "client":
        return _wrong(ex, "order", "Start with the client: the chain goes from the sender inwards.",
                      EXERCISES[ex].hint)
    if sorted(hops) == sorted(expected):
        return _wrong(ex, "order", "The right hops, in the wrong order: a packet meets them from "
                      "the outside in.", "outside first: which one does the laptop dial?")
    return _wrong(ex, "other", f"Not quite: you gave {' -> '.join(hops)}.", EXERCISES[ex].hint)


# -- 3. choose the type for each client ------------------------------------------------------
@lru_cache(maxsize=1)
def _smallest_types() -> dict[str, str]:
    from .manifests import with_service_type
    cluster = _demo()
    web = cluster.service("web")
    out = {}
    for kind in _KINDS:
        client = _client_of_kind(cluster, kind)
        for t in _TYPES:
            changed = with_service_type(cluster, web, t)
            if changed.route(client=client, service="web").reachable:
                out[kind] = t
                break
    return out


def _check_choose_type(answer) -> Feedback:
    ex = "choose-type"
    if isinstance(answer, dict):
        lookup = {(_kind(k) or str(k)): v for k, v in answer.items()}

        def ask(kind):
            if kind not in lookup:
                raise KeyError(kind)
            return lookup[kind]
        how = "your answer[{!r}]"
    elif callable(answer):
        ask, how = answer, "choose_type({!r})"
    else:
        return _wrong(ex, "format", "Give a function, `def choose_type(client): return ...`, "
                      "or a dict from client kind to Service type.", EXERCISES[ex].hint)
    expected = _smallest_types()
    given = {}
    for kind in _KINDS:
        try:
            value = ask(kind)
        except Exception as exc:  # noqa: BLE001 - the learner's code: report, never raise
            return _wrong(ex, "format", f"{how.format(kind)} raised {type(exc).__name__}: {exc}",
                          "handle each of: pod, node, laptop, other-cluster, internet.")
        if value is ...:
            raise _Unanswered()
        if not isinstance(value, str) or value not in _ALL_TYPES:
            close = [t for t in _ALL_TYPES if isinstance(value, str) and t.lower() == value.strip().lower()]
            if close:
                msg = (f"{how.format(kind)} gave {value!r}: the API spells it {close[0]!r}, and it "
                       "is case-sensitive.")
            else:
                msg = (f"{how.format(kind)} gave {value!r}; answer with a Service type: "
                       "\"ClusterIP\", \"NodePort\" or \"LoadBalancer\".")
            return _wrong(ex, "format", msg, EXERCISES[ex].hint)
        given[kind] = value
    order = {t: i for i, t in enumerate(_TYPES)}
    for kind in _KINDS:
        value = given[kind]
        if value == "ExternalName":
            return _wrong(ex, "external-name-proxies",
                          f"{how.format(kind)} gave 'ExternalName': that type makes no proxy at "
                          "all; it is a DNS alias that points pods at a name outside the cluster.",
                          "which types does kube-proxy handle?")
        if order[value] < order[expected[kind]]:
            if value == "ClusterIP":
                return _wrong(ex, "cluster-ip-is-public",
                              f"{how.format(kind)} gave 'ClusterIP', but a {kind} is outside the "
                              f"cluster. {_PUBLIC}", "who can reach a cluster IP at all?")
            return _wrong(ex, "node-ips-are-public",
                          f"{how.format(kind)} gave 'NodePort', but in this lab an internet "
                          "client can reach only a load balancer's public address: the nodes' "
                          "IPs sit on the cluster's private network.",
                          "which type gives the Service an address outside the cluster's network?")
    for kind in _KINDS:
        value = given[kind]
        if order[value] > order[expected[kind]]:
            if expected[kind] == "ClusterIP":
                extra = ("every NodePort Service also has a cluster IP" if value == "NodePort" else
                         "a LoadBalancer Service also has node ports and a cluster IP")
                return _wrong(ex, "over-exposed",
                              f"{how.format(kind)} gave {value!r}: it works ({extra}), but it opens "
                              f"the Service outside the cluster for a {kind} that never needed it.",
                              "choose the smallest type that lets each client in.")
            return _wrong(ex, "over-exposed",
                          f"{how.format(kind)} gave 'LoadBalancer': it works (a LoadBalancer "
                          "Service also opens node ports), but it asks the cloud for a load "
                          "balancer, which costs money and an address, when this client can "
                          "already reach the nodes' IPs.",
                          "choose the smallest type that lets each client in.")
    return _right(ex, "Inside the cluster a ClusterIP is enough; a client that can reach node IPs "
                      "needs a NodePort; a client that can reach only public addresses needs a "
                      "LoadBalancer. Each type includes the one before it.")


# -- 4. port, targetPort, nodePort -------------------------------------------------------------
def _ports_key() -> dict[str, int]:
    cluster = _demo()
    svc = cluster.service("web-nodeport")
    sp = svc.ports[0]
    container = cluster.endpoints(svc, sp)[0].port     # the named targetPort, resolved
    return {"laptop": sp.node_port, "pod": sp.port, "container": container,
            "target_name": sp.target_port}


def _check_ports(answer) -> Feedback:
    ex = "ports"
    if not isinstance(answer, dict) or set(answer) != {"laptop", "pod", "container"}:
        return _wrong(ex, "format", "Give a dict with exactly three keys: "
                      "`{\"laptop\": ..., \"pod\": ..., \"container\": ...}`.", EXERCISES[ex].hint)
    key = _ports_key()
    node_port, port, container, name = key["laptop"], key["pod"], key["container"], key["target_name"]
    a = {k: _as_int(v) for k, v in answer.items()}
    if any(v is None for v in a.values()):
        return _wrong(ex, "format", "Each value is one port number.", EXERCISES[ex].hint)
    if isinstance(name, str) and name in a.values():
        return _wrong(ex, "named-target-port",
                      f"`targetPort: {name}` is a name, not a number: it points at the container "
                      f"port named {name}, which the web container declares as {container}. "
                      "Give the number.", "look at the Deployment's `ports:` list.")
    if a["laptop"] != node_port:
        if a["laptop"] == port:
            why = (f"{port} is the Service's `port`: the Service listens on it at its cluster IP "
                   f"only. On every node's IP it listens on its `nodePort`, {node_port}.")
            code = "service-port-on-nodes"
        elif a["laptop"] == container:
            why = (f"{container} is where the container listens, on the pod's own IP, which a "
                   f"laptop cannot reach. The laptop dials a node's IP on the `nodePort`, {node_port}.")
            code = "pod-port-from-outside"
        else:
            why = f"The laptop dials a node's IP on the Service's `nodePort`."
            code = "other"
        return _wrong(ex, code, why, "which of the three ports is open on the nodes?")
    if a["pod"] != port:
        if a["pod"] == container:
            why = (f"A pod calling the Service dials the cluster IP (or the name web-nodeport) on "
                   f"the Service's `port`, {port}; kube-proxy rewrites that to a pod's IP on "
                   f"{container}. Dialing one pod's IP on {container} also works, but then no "
                   "Service is involved and nothing spreads the load.")
            code = "target-port-on-cluster-ip"
        elif a["pod"] == node_port:
            why = (f"A pod could dial a node's IP on {node_port}, but on the cluster IP the "
                   f"Service listens on its `port`, {port}, only.")
            code = "node-port-on-cluster-ip"
        else:
            why = f"A pod dials the cluster IP on the Service's `port`."
            code = "other"
        return _wrong(ex, code, why, "which port does the cluster IP listen on?")
    if a["container"] != container:
        if a["container"] == port:
            why = (f"`port` ({port}) is the Service's side. The container listens on the "
                   f"`targetPort`, here the container port named {name}, {container}. (Had "
                   "`targetPort` been left out, it would default to the value of `port`.)")
            code = "port-is-container-port"
        elif a["container"] == node_port:
            why = (f"The node port exists on the nodes' IPs only; the container listens on the "
                   f"`targetPort`, {container}.")
            code = "node-port-in-container"
        else:
            why = f"The container listens on the `targetPort` ({name!r} resolves by name)."
            code = "other"
        return _wrong(ex, code, why, "follow `targetPort` to the pod template.")
    return _right(ex, f"A laptop dials a node's IP on the nodePort ({node_port}); a pod dials the "
                      f"cluster IP on the port ({port}); kube-proxy sends both to a pod's IP on "
                      f"the targetPort, the container port named {name}: {container}.")


# -- 5. fix a Service a laptop cannot reach ------------------------------------------------------
def _check_fix(answer) -> Feedback:
    import yaml
    ex = "fix"
    if isinstance(answer, dict):
        doc, text = answer, yaml.safe_dump(answer, sort_keys=False)
    elif isinstance(answer, str):
        text = answer
        try:
            docs = [d for d in yaml.safe_load_all(text) if d is not None]
        except yaml.YAMLError as exc:
            where = getattr(exc, "problem_mark", None)
            at = f" (line {where.line + 1})" if where is not None else ""
            return _wrong(ex, "yaml", f"That is not valid YAML{at}: "
                          f"{getattr(exc, 'problem', None) or exc}. Check the indentation.",
                          "copy `BROKEN_SERVICE` and change as little as possible.")
        if len(docs) != 1 or not isinstance(docs[0], dict):
            return _wrong(ex, "format", "Give exactly one Service manifest.", EXERCISES[ex].hint)
        doc = docs[0]
    else:
        return _wrong(ex, "format", "Give the fixed manifest as a YAML string.", EXERCISES[ex].hint)
    if doc.get("kind") != "Service":
        return _wrong(ex, "format", "The manifest must stay `kind: Service`.", EXERCISES[ex].hint)
    spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else {}
    stype = spec.get("type", "ClusterIP")
    ports = spec.get("ports") if isinstance(spec.get("ports"), list) else []
    if stype not in _ALL_TYPES:
        supported = ", ".join(f'"{t}"' for t in _ALL_TYPES)
        return _wrong(ex, "type-spelling",
                      f'The API server would reject it: spec.type: Unsupported value: "{stype}": '
                      f"supported values: {supported}. Types are case-sensitive.",
                      EXERCISES[ex].hint)
    if stype == "ExternalName":
        return _wrong(ex, "external-name-proxies",
                      "An ExternalName Service is only a DNS alias for a name outside the cluster: "
                      "nothing listens anywhere, and only pods (through the cluster DNS) can use it.",
                      EXERCISES[ex].hint)
    for i, p in enumerate(ports):
        np = p.get("nodePort") if isinstance(p, dict) else None
        if np is None:
            continue
        if stype == "ClusterIP":
            return _wrong(ex, "node-port-without-type",
                          f"The API server would reject it: spec.ports[{i}].nodePort: Forbidden: "
                          "may not be used when `type` is 'ClusterIP'. A node port needs the "
                          "Service's type to open it.", "what decides who can reach a Service?")
        lo, hi = NODE_PORT_RANGE
        if not isinstance(np, int) or isinstance(np, bool) or not lo <= np <= hi:
            return _wrong(ex, "node-port-range",
                          f"The API server would reject it: spec.ports[{i}].nodePort: Invalid "
                          f"value: {np}: provided port is not in the valid range. The range of "
                          f"valid ports is {lo}-{hi}. Node ports come from that range (the API "
                          "server's --service-node-port-range); leave `nodePort` out and one is "
                          "allocated for you.", "you do not have to choose the node port yourself.")
    if stype == "ClusterIP":
        return _wrong(ex, "still-cluster-ip",
                      "It is still a ClusterIP Service (the type when `type` is left out), so a "
                      "laptop has no way in, whatever the ports and selector say: the type decides "
                      "who can reach a Service.", "one more line under `spec:` is enough.")
    targets = [p.get("targetPort", p.get("port")) for p in ports if isinstance(p, dict)]
    if targets and targets[0] not in (8080, "http"):
        return _wrong(ex, "target-port",
                      f"targetPort {targets[0]!r}: the web container listens on 8080 (its port "
                      "named `http`). kube-proxy would forward to a port where nothing listens, "
                      "and the laptop would see its connection refused.",
                      "leave the ports as they were.")
    from .manifests import load_texts
    cluster = load_texts([("demo.yaml", _demo_without_services()), ("your answer", text)])
    name = (doc.get("metadata") or {}).get("name")
    ns = (doc.get("metadata") or {}).get("namespace") or "default"
    route = cluster.route(client="laptop", service=name, namespace=ns)
    if not route.reachable:
        if route.code == "no-endpoints":
            return _wrong(ex, "selector",
                          "The laptop gets in, but no pod answers: " + route.reason +
                          " A Service finds its pods by their labels; the web pods carry `app: web`.",
                          "leave the selector as it was.")
        return _wrong(ex, route.code, route.reason, EXERCISES[ex].hint)
    svc = route.service
    np = svc.ports[0].node_port
    if stype == "LoadBalancer":
        return _right(ex, "A LoadBalancer works: it brings node ports and a cloud load balancer. "
                          "A NodePort would have been enough for a laptop that can reach the "
                          "nodes' IPs, and on a cluster without a cloud the LoadBalancer's address "
                          f"stays <pending> while its node port ({np}) already works.")
    return _right(ex, f"type: NodePort. The laptop can now dial any node's IP on port {np}; "
                      "kube-proxy on that node passes the request to one of the web pods. "
                      "For a quick test without changing the Service, "
                      "`kubectl port-forward service/web 8080:80` also works.")


# -- 6. a LoadBalancer with no cloud ----------------------------------------------------------------
def _check_pending(answer) -> Feedback:
    ex = "pending"
    keys = ("pod/client", "laptop", "internet")
    if not isinstance(answer, dict) or set(answer) != set(keys):
        return _wrong(ex, "format", "Give a dict with the keys \"pod/client\", \"laptop\" and "
                      "\"internet\", each mapped to \"ClusterIP\", \"NodePort\", \"LoadBalancer\" "
                      "or None.", EXERCISES[ex].hint)
    for k, v in answer.items():
        if v is not None and v not in _TYPES:
            return _wrong(ex, "format", f"{k}: {v!r} is not one of \"ClusterIP\", \"NodePort\", "
                          "\"LoadBalancer\" or None.", EXERCISES[ex].hint)
    cluster = _demo(cloud=False)
    expected = {}
    for k in keys:
        r = cluster.route(client=k, service="web-lb")
        expected[k] = r.entry if r.reachable else None
    np = cluster.service("web-lb").ports[0].node_port
    if answer["laptop"] is None:
        return _wrong(ex, "pending-means-nothing-works",
                      "Only the cloud's part is missing. The API server allocated web-lb's cluster "
                      f"IP and node port ({np}) the moment it accepted the Service (`kubectl get "
                      f"service` shows `80:{np}/TCP`), so a laptop that can reach the nodes' IPs "
                      "gets in through the node port right away.",
                      "what does a LoadBalancer Service have besides the load balancer?")
    if answer["laptop"] == "LoadBalancer" or answer["internet"] == "LoadBalancer":
        return _wrong(ex, "pending-has-an-address",
                      "<pending> means no controller has written an address into the Service's "
                      "`status.loadBalancer`: there is no load balancer to dial yet.",
                      "what does EXTERNAL-IP <pending> say is missing?")
    if answer["internet"] == "NodePort":
        return _wrong(ex, "node-ips-are-public",
                      "An internet client can reach only a load balancer's public address, and "
                      "there is none yet; the nodes' IPs are on the cluster's private network.",
                      "which of the three ways in can an internet client use at all?")
    if answer["pod/client"] != expected["pod/client"]:
        return _wrong(ex, "pending-breaks-inside",
                      "Inside the cluster nothing changes: the pod dials the cluster IP, as for "
                      "any Service. <pending> concerns only the external address.",
                      "how does a pod usually dial a Service?")
    if answer["laptop"] != expected["laptop"]:
        return _wrong(ex, "cluster-ip-is-public", _PUBLIC, EXERCISES[ex].hint)
    if answer != expected:
        return _wrong(ex, "other", "Not quite.", EXERCISES[ex].hint)
    return _right(ex, f"The pod uses the cluster IP and the laptop the node port ({np}); the "
                      "internet client waits for an address. On kind or bare metal, MetalLB "
                      "hands out addresses; on minikube, `minikube tunnel` does.")


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


def _as_number(value) -> float | None:
    """A probability or share as a learner may write it: 0.25, 1/4, Fraction(1, 4), "1/4", "25%"."""
    from fractions import Fraction
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float, Fraction)):
        return float(value)
    if isinstance(value, str):
        s = value.strip().replace(" ", "")
        try:
            if s.endswith("%"):
                return float(s[:-1]) / 100
            if "/" in s:
                num, _, den = s.partition("/")
                return float(Fraction(int(num), int(den)))
            return float(s)
        except (ValueError, ZeroDivisionError):
            return None
    try:                                    # numpy numbers, Decimal
        return float(value)
    except (TypeError, ValueError):
        return None


def _close(a: float, b: float, tol: float = 0.005) -> bool:
    return abs(float(a) - float(b)) <= tol


def _pct(x) -> str:
    return f"{float(x):.1%}"


def _whole(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


@lru_cache(maxsize=8)
def _scaled(replicas: int, ready: int | None = None, terminating: int = 0):
    """The demo cluster with web's Deployment at `replicas` pods in the given states."""
    from .widgets import with_replicas
    cluster = _demo()
    return with_replicas(cluster, cluster.service("web"), replicas, ready=ready,
                         terminating=terminating)


def _with_service(cluster, name: str, **changes):
    from dataclasses import replace
    return cluster.replace_service(replace(cluster.service(name), **changes))


# -- 02.1 a hand-written cascade -----------------------------------------------------------------
#: The rules of the "cascade" exercise: 1/3 on each of the first two, the last unconditional.
HAND_RULES = ("1/3", "1/3", "always")


def _hand_shares() -> list:
    from fractions import Fraction
    from . import proxy
    probs = [Fraction(p) if p != "always" else Fraction(1) for p in HAND_RULES]
    shares = proxy.cascade_shares(list(enumerate(probs)))
    return [shares[i] for i in range(len(probs))]


def _check_cascade(answer) -> Feedback:
    ex = "cascade"
    key = _hand_shares()
    n = len(key)
    if not isinstance(answer, (list, tuple)) or len(answer) != n:
        return _wrong(ex, "format", f"Give a list of {n} shares, one per pod, in the rules' order, "
                      "for example `[0.5, 0.25, 0.25]`.", EXERCISES[ex].hint)
    given = []
    for i, v in enumerate(answer):
        x = _as_number(v)
        if x is None or not 0 <= x <= 1:
            return _wrong(ex, "format", f"Pod {i + 1}: {v!r} is not a share between 0 and 1 "
                          "(write `2/9`, `0.222` or `\"2/9\"`).", EXERCISES[ex].hint)
        given.append(x)
    if all(_close(g, k) for g, k in zip(given, key)):
        return _right(ex, "1/3, 2/9 and 4/9 (33%, 22%, 44%). Rule 1 takes 1/3 of all connections; "
                          "rule 2 takes 1/3 of the 2/3 that reach it, 2/9; the last rule takes "
                          "everything left, 4/9. That is why kube-proxy writes 1/3, then 1/2: the "
                          "second rule must take half of what reaches it to give its pod 1/3 of "
                          "the total.")
    if all(_close(g, 1 / n) for g in given):
        return _wrong(ex, "rule-probability-is-share",
                      "A rule's probability is not its pod's share: a rule only ever sees the "
                      "connections that the rules above it let through. Rule 2 matches 1/3 of the "
                      "2/3 that reach it.",
                      "what fraction of all connections reaches rule 2?")
    if _close(given[0], key[0]) and _close(given[1], key[0] * key[0]):
        return _wrong(ex, "multiplied-the-wrong-part",
                      "Rule 2's 1/3 applies to the connections rule 1 let through (2/3 of them), "
                      "not to the 1/3 rule 1 took: 1/3 of 2/3 is 2/9.",
                      "multiply the chance of reaching a rule by the chance that it matches.")
    if abs(sum(given) - 1) > 0.01:
        return _wrong(ex, "shares-add-up",
                      f"Your shares add up to {_pct(sum(given))}, but every new connection goes to "
                      "exactly one pod (the last rule has no condition), so they add up to 100%.",
                      "start with rule 1, and carry what it leaves to the next rule.")
    return _wrong(ex, "other", "Not quite; walk the rules top to bottom.", EXERCISES[ex].hint)


# -- 02.2 readiness decides which endpoints kube-proxy uses ---------------------------------
def _readiness_key() -> dict:
    route = _scaled(4, ready=3).route(client="pod/client", service="web")
    return {"pods": len(route.endpoints), "chance": route.endpoints[0].probability,
            "selected": 4}


def _check_readiness(answer) -> Feedback:
    ex = "readiness"
    if not isinstance(answer, dict) or set(answer) != {"pods", "chance"}:
        return _wrong(ex, "format", "Give a dict: `{\"pods\": ..., \"chance\": ...}`: how many pods "
                      "can get the new connection, and the chance of each.", EXERCISES[ex].hint)
    pods, chance = _whole(answer["pods"]), _as_number(answer["chance"])
    if pods is None or chance is None or not 0 <= chance <= 1:
        return _wrong(ex, "format", "`pods` is a whole number and `chance` a probability "
                      "(`1/3`, `0.333` or `\"1/3\"`).", EXERCISES[ex].hint)
    key = _readiness_key()
    if pods == key["pods"] and _close(chance, key["chance"]):
        return _right(ex, f"{key['pods']} pods, {_pct(key['chance'])} each. The selector matches "
                          f"all {key['selected']}, so the EndpointSlice lists all {key['selected']}, "
                          "but the one whose readiness probe fails is marked `ready: false`, and "
                          "kube-proxy writes rules only for ready endpoints: a cascade of 1/3, "
                          "1/2, rest over the other three.")
    if pods == key["selected"]:
        return _wrong(ex, "not-ready-gets-traffic",
                      "The pod that fails its readiness probe stays in the EndpointSlice (with "
                      "`ready: false`), but kube-proxy leaves it out of its rules: no new "
                      "connection goes to a pod that says it cannot serve yet. That is what "
                      "readiness probes are for.",
                      "look at the endpoint's `ready` condition: which endpoints get a rule?")
    if pods == key["pods"] and _close(chance, 1 / key["selected"]):
        return _wrong(ex, "chance-not-renormalised",
                      f"Right number of pods, but the chances must add up to 100%: kube-proxy "
                      f"writes its cascade for the {key['pods']} ready endpoints only (1/3, 1/2, "
                      f"rest), so each gets 1/{key['pods']}, not 1/{key['selected']}. No "
                      "connection is held back for the pod that is not ready.",
                      "kube-proxy rewrites the whole chain when the endpoints change.")
    return _wrong(ex, "other", f"Not quite: {key['selected']} pods match the selector; count the "
                  "ones kube-proxy sends new connections to.", EXERCISES[ex].hint)


# -- 02.3 session affinity behind one NAT ----------------------------------------------------
NAT_PEOPLE = 200


@lru_cache(maxsize=1)
def _nat_key() -> dict:
    from .simulate import simulate
    cluster = _with_service(_demo(), "web-nodeport", session_affinity="ClientIP",
                            session_affinity_timeout=10800)
    route = cluster.route(client="laptop", service="web-nodeport", via_node="node-a")
    sim = simulate(route, NAT_PEOPLE * 50, clients=1, seed=0)
    return {"pods": sum(1 for c in sim.pods.values() if c), "of": len(route.endpoints)}


def _check_nat(answer) -> Feedback:
    ex = "nat"
    pods = _whole(answer)
    if pods is None:
        return _wrong(ex, "format", "Give one whole number: how many different pods serve them.",
                      EXERCISES[ex].hint)
    key = _nat_key()
    if pods == key["pods"]:
        return _right(ex, "One. Every connection arrives from the same address, the NAT's, and "
                          "kube-proxy on node-a remembers that address, not people: the first "
                          "connection picks a pod, and every later one within the timeout (3 hours "
                          "by default, counted from the address's last new connection) goes to the "
                          "same pod. 200 people, one pod, while the other pods idle.")
    if pods == key["of"] or pods == NAT_PEOPLE:
        return _wrong(ex, "affinity-per-person",
                      "Session affinity `ClientIP` knows nothing of people, browsers or cookies: "
                      "kube-proxy keys it on the packet's source address only, and behind a NAT "
                      f"all {NAT_PEOPLE} people share one.",
                      "what does the packet that reaches node-a say about who sent it?")
    if pods > key["of"]:
        return _wrong(ex, "more-pods-than-exist", f"web-nodeport has only {key['of']} pods.",
                      EXERCISES[ex].hint)
    if pods == 0:
        return _wrong(ex, "affinity-blocks", "Affinity never refuses a connection: it only decides "
                      "which pod it goes to.", EXERCISES[ex].hint)
    return _wrong(ex, "other", "Not quite.", EXERCISES[ex].hint)


# -- 02.4 keep-alive: requests follow their connection ------------------------------------------
KEEPALIVE_REQUESTS = 9000


@lru_cache(maxsize=1)
def _keepalive_key() -> dict:
    from .simulate import simulate
    route = _demo().route(client="pod/client", service="web")
    sim = simulate(route, KEEPALIVE_REQUESTS, connections=1, seed=0)
    return {"pods_used": sum(1 for c in sim.pods.values() if c),
            "busiest": max(sim.pods.values()), "pods": len(route.endpoints)}


def _check_keepalive(answer) -> Feedback:
    ex = "keepalive"
    if not isinstance(answer, dict) or set(answer) != {"pods_used", "busiest"}:
        return _wrong(ex, "format", "Give a dict: `{\"pods_used\": ..., \"busiest\": ...}`.",
                      EXERCISES[ex].hint)
    used, busiest = _whole(answer["pods_used"]), _whole(answer["busiest"])
    if used is None or busiest is None:
        return _wrong(ex, "format", "Both values are whole numbers.", EXERCISES[ex].hint)
    key = _keepalive_key()
    if used == key["pods_used"] and busiest == key["busiest"]:
        return _right(ex, f"One pod gets all {KEEPALIVE_REQUESTS:,}. kube-proxy chooses when a "
                          "connection opens (only its first packet meets the nat rules; conntrack "
                          "sends the rest after it), and HTTP/2 carries every gRPC call on that one "
                          "connection. The other pods get nothing from this client.")
    if used == key["pods"]:
        return _wrong(ex, "requests-balanced",
                      "kube-proxy balances connections, not requests: it picks a pod for a "
                      "connection's first packet, and every later packet of that connection, "
                      "whichever request it carries, follows to the same pod.",
                      "how many times does kube-proxy choose here?")
    if used == key["pods_used"]:
        return _wrong(ex, "busiest", f"One pod, yes: so it gets every request, {KEEPALIVE_REQUESTS:,}.",
                      "if only one pod is used, how many requests does it get?")
    return _wrong(ex, "other", "Not quite.", EXERCISES[ex].hint)


# -- 02.5 what spreads a long-lived connection's requests ---------------------------------------
def _check_spread(answer) -> Feedback:
    ex = "spread"
    letters = _as_strings(answer)
    if letters is None:
        return _wrong(ex, "format", "Give a set of letters, for example `{\"a\", \"b\"}`.",
                      EXERCISES[ex].hint)
    chosen = {s.strip().lower().strip("()") for s in letters}
    unknown = sorted(chosen - set(SPREAD_FIXES))
    if unknown:
        return _wrong(ex, "format", f"{unknown[0]!r} is not one of the letters "
                      f"{', '.join(SPREAD_FIXES)}.", EXERCISES[ex].hint)
    if "a" in chosen:
        return _wrong(ex, "affinity-spreads",
                      "(a) makes it worse: session affinity pins every *connection* from one "
                      "address to one pod, so even a client that reconnects comes back to the "
                      "same pod.", "does affinity add choices or remove them?")
    if "f" in chosen:
        return _wrong(ex, "rr-per-request",
                      "(f) changes how the pod is chosen, not when: IPVS also places a connection "
                      "when it opens, and its round robin takes turns between connections. One "
                      "connection still means one pod.", "when does IPVS choose?")
    if "b" in chosen:
        return _wrong(ex, "more-replicas",
                      "(b) adds pods that this client never reaches: its connection is already "
                      "placed and stays where it is. New pods get only new connections, which a "
                      "long-lived client rarely opens.", "which pod does an open connection use "
                      "after the scale-up?")
    missing = sorted(_SPREAD_RIGHT - chosen)
    if missing:
        return _wrong(ex, "missed-fix",
                      f"Each of your choices works, but ({missing[0]}) works too: "
                      f"{SPREAD_FIXES[missing[0]]}.", "three of the six help.")
    return _right(ex, "(c), (d) and (e). Something must choose per request, or connections must "
                      "be placed again: the client itself (client-side balancing over every pod's "
                      "address), a proxy that understands requests (a mesh sidecar, Envoy), or the "
                      "server ending connections so that new ones are spread. (e) evens out over "
                      "time, not per request.")


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
    from .manifests import with_service_type
    cluster = _demo()
    out = {}
    for policy in ("Cluster", "Local"):
        c = with_service_type(cluster, cluster.service("web-nodeport"), "NodePort",
                              external_traffic_policy=policy)
        r = c.route(client="laptop", service="web-nodeport", via_node="node-a")
        out[policy] = ("dropped" if not r.reachable else
                       "client" if r.source_ip_preserved else "node")
    return out


def _check_source_ip(answer) -> Feedback:
    ex = "source-ip"
    if not isinstance(answer, dict) or set(answer) != {"Cluster", "Local"}:
        return _wrong(ex, "format", "Give a dict: `{\"Cluster\": ..., \"Local\": ...}`, each "
                      "\"client\" or \"node\".", EXERCISES[ex].hint)
    given = {k: _source_word(v) for k, v in answer.items()}
    if any(v is None for v in given.values()):
        return _wrong(ex, "format", "Answer each with \"client\" (the laptop's own address) or "
                      "\"node\" (an address of the receiving node).", EXERCISES[ex].hint)
    key = _source_key()
    if given == key:
        return _right(ex, "Cluster: an address of node-a. Local: the laptop's own. Under Cluster, kube-proxy "
                          "marks every packet that arrives from outside for masquerading, even when "
                          "the pod it picks runs on node-a itself, so that replies always pass back "
                          "through node-a. Under Local it picks only a pod on node-a, needs no "
                          "return detour, and leaves the source alone.")
    if given == {"Cluster": key["Local"], "Local": key["Cluster"]}:
        return _wrong(ex, "swapped", "The other way round: Local is the policy that keeps the "
                      "client's address.", "which policy never sends a packet on to another node?")
    if given["Cluster"] == "client":
        return _wrong(ex, "snat-only-when-forwarding",
                      "Under Cluster the pod sees an address of node-a even when the chosen pod runs "
                      "on node-a: kube-proxy masquerades all traffic from outside before it knows "
                      "which pod it picks (the KUBE-EXT chain's `masquerade traffic for ... "
                      "external destinations` rule).",
                      "in `k8slab rules`, look at what the KUBE-EXT chain does first.")
    if given["Local"] == "node":
        return _wrong(ex, "local-still-snats",
                      "Local exists to keep the client's address: kube-proxy sends the packet only "
                      "to a pod on the node that received it, so the reply comes back through that "
                      "node anyway and nothing needs rewriting.",
                      "why does Cluster need SNAT at all?")
    return _wrong(ex, "other", "Not quite.", EXERCISES[ex].hint)


@lru_cache(maxsize=1)
def _health_key() -> dict:
    """Mid-rollout: node-a has one terminating and one starting web pod, node-b one ready."""
    from .manifests import with_service_type
    cluster = _scaled(3, ready=1, terminating=1)
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
        return _wrong(ex, "format", "Give a dict with one entry per node: "
                      + ", ".join(f"`\"{n}\": ...`" for n in key) + ", each 200 or 503.",
                      EXERCISES[ex].hint)
    given = {k: _whole(v) for k, v in answer.items()}
    if any(v not in (200, 503) for v in given.values()):
        return _wrong(ex, "format", "Each node answers 200 (pass) or 503 (fail).", EXERCISES[ex].hint)
    if given == key:
        return _right(ex, ", ".join(f"{n}: {c}" for n, c in key.items()) + ". kube-proxy answers "
                      "the health-check node port with the number of *ready* pods of the Service "
                      "on its node. node-a runs two web pods, but one is terminating and the other "
                      "has not passed its readiness probe yet: neither counts, so node-a fails and "
                      "the load balancer sends only to node-b until the new pod is ready.")
    if all(v == 200 for v in given.values()):
        return _wrong(ex, "health-is-node-health",
                      "This health check is not about whether the node or kube-proxy works: for "
                      "a Service with externalTrafficPolicy: Local, kube-proxy answers it per "
                      "Service, with how many ready pods of that Service run on the node.",
                      "which nodes run a ready web pod?")
    if given.get("node-a") == 200 and key.get("node-a") == 503:
        return _wrong(ex, "any-pod-counts",
                      "node-a runs two web pods, but only *ready* ones count: a terminating pod "
                      "is no longer ready (so the load balancer drains the node), and a starting "
                      "one is not ready yet.", "look at the `ready` condition of node-a's pods.")
    bad = [n for n, c in key.items() if c == 200 and given[n] == 503]
    if bad:
        return _wrong(ex, "healthy-node-fails", f"{bad[0]} runs a ready web pod, so it passes.",
                      EXERCISES[ex].hint)
    return _wrong(ex, "other", "Not quite.", EXERCISES[ex].hint)


# -- 03.3 the imbalance under Local -----------------------------------------------------------
LOCAL_REPLICAS = 5


@lru_cache(maxsize=1)
def _local_share_key() -> dict:
    from .manifests import with_service_type
    cluster = _scaled(LOCAL_REPLICAS)
    c = with_service_type(cluster, cluster.service("web-lb"), "LoadBalancer",
                          external_traffic_policy="Local")
    r = c.route(client="internet", service="web-lb")
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
        return _wrong(ex, "format", "Give a dict: " + ", ".join(f"`\"{n}\": ...`" for n in shares)
                      + ", the share of new connections *each pod* on that node gets.",
                      EXERCISES[ex].hint)
    given = {k: _as_number(v) for k, v in answer.items()}
    if any(v is None or not 0 <= v <= 1 for v in given.values()):
        return _wrong(ex, "format", "Each value is a share between 0 and 1 (`1/6`, `0.167`, "
                      "`\"1/6\"`).", EXERCISES[ex].hint)
    if all(_close(given[n], shares[n]) for n in shares):
        parts = "; ".join(f"{n}: 1/{len(shares)} split over {pods[n]} = {_pct(shares[n])} each"
                          for n in shares)
        return _right(ex, f"{parts}. The load balancer counts nodes, not pods, so the "
                          f"{min(pods.values())} pod{'s' if min(pods.values()) != 1 else ''} on the "
                          "emptier node each carry more.")
    total = sum(pods.values())
    if all(_close(v, 1 / total) for v in given.values()):
        return _wrong(ex, "local-is-even-per-pod",
                      f"1/{total} each would be true under Cluster, where every node spreads over "
                      "all pods. Under Local the load balancer gives each healthy node the same "
                      "share, and each node splits its share among its own pods only.",
                      "first split the connections between the nodes, then within each node.")
    if all(_close(given[n], 1 / pods[n]) for n in shares):
        return _wrong(ex, "forgot-lb-split",
                      "That is each pod's share of *its node's* connections. Each node gets only "
                      f"1/{len(shares)} of all connections from the load balancer: multiply.",
                      "what fraction of all connections reaches each node?")
    if all(_close(v, 1 / len(shares)) for v in given.values()):
        return _wrong(ex, "share-per-node",
                      f"1/{len(shares)} is what each *node* gets; the question asks for each pod.",
                      "split each node's share among the pods on it.")
    return _wrong(ex, "other", "Not quite: " + ", ".join(f"{n} runs {c}" for n, c in pods.items())
                  + " pods.", EXERCISES[ex].hint)


# -- 03.4 internalTrafficPolicy: Local --------------------------------------------------------
ITP_CLIENTS = ("pod/client", "node/node-a", "node/node-b")


@lru_cache(maxsize=1)
def _itp_key() -> dict:
    cluster = _with_service(_demo(), "web", internal_traffic_policy="Local")
    out = {}
    for client in ITP_CLIENTS:
        r = cluster.route(client=client, service="web")
        out[client] = len(r.endpoints) if r.reachable else 0
    return out


def _check_itp(answer) -> Feedback:
    ex = "internal-local"
    key = _itp_key()
    if not isinstance(answer, dict) or set(answer) != set(key):
        return _wrong(ex, "format", "Give a dict with the keys " + ", ".join(f"`\"{c}\"`" for c in key)
                      + ", each a number of pods.", EXERCISES[ex].hint)
    given = {k: _whole(v) for k, v in answer.items()}
    if any(v is None for v in given.values()):
        return _wrong(ex, "format", "Each value is a whole number of pods.", EXERCISES[ex].hint)
    if given == key:
        return _right(ex, ", ".join(f"{c}: {n}" for c, n in key.items()) + ". With "
                      "internalTrafficPolicy: Local, kube-proxy on each node writes rules only for "
                      "the pods on that node. The client pod runs on node-c, which has no web pod: "
                      "its connection is dropped, even though three pods run elsewhere.")
    total = max(key.values())
    web = _demo().service("web")
    everyone = sum(1 for e in _demo().endpoints(web, web.ports[0]) if e.ready)
    if all(v == everyone for v in given.values()):
        return _wrong(ex, "itp-ignored",
                      "internalTrafficPolicy: Local changes traffic sent to the cluster IP from "
                      "inside the cluster: kube-proxy on the sender's node uses only the pods on "
                      "that node.", "which web pods run on each client's node?")
    if given["pod/client"] > 0 and all(given[c] == key[c] for c in key if c != "pod/client"):
        return _wrong(ex, "local-falls-back",
                      "There is no fallback: with no web pod on node-c, kube-proxy there drops the "
                      "connection rather than send it to another node (the pod sees a timeout or "
                      "a refusal), even though pods run on node-a and node-b.",
                      "what does Local promise about where the traffic goes?")
    return _wrong(ex, "other", f"Not quite; at most {total} web pods run on any one node.",
                  EXERCISES[ex].hint)


# -- 03.5 a rolling update, and every pod terminating ---------------------------------------------
@lru_cache(maxsize=1)
def _rolling_key() -> dict:
    cluster = _scaled(4, ready=2, terminating=1)
    r = cluster.route(client="pod/client", service="web")
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
        return _wrong(ex, "format", "Give a dict: `{\"terminating\": ..., \"ready\": ..., "
                      "\"starting\": ...}`, the chance of one pod of each kind.", EXERCISES[ex].hint)
    given = {k: _as_number(v) for k, v in answer.items()}
    if any(v is None or not 0 <= v <= 1 for v in given.values()):
        return _wrong(ex, "format", "Each value is a chance between 0 and 1.", EXERCISES[ex].hint)
    if all(_close(given[k], key[k]) for k in key):
        return _right(ex, f"Each ready pod {_pct(key['ready'])}, the others nothing. The terminating "
                          "pod's endpoint says `ready: false, serving: true, terminating: true`: "
                          "kube-proxy stops giving it new connections while any ready pod is left, "
                          "but connections it already has go on until the pod closes them. The "
                          "new pod gets traffic once its readiness probe passes.")
    if given["terminating"] > 0:
        return _wrong(ex, "terminating-gets-new-connections",
                      "A terminating pod gets no new connection while a ready one exists: its "
                      "endpoint is no longer `ready`. (Its open connections are not cut: they "
                      "drain.)", "look at the three conditions an endpoint carries.")
    if given["starting"] > 0:
        return _wrong(ex, "not-ready-gets-traffic",
                      "The new pod gets nothing until its readiness probe passes: that is the "
                      "point of a readiness probe during a rollout.", EXERCISES[ex].hint)
    return _wrong(ex, "other", "Not quite: the chances of all four pods add up to 100%.",
                  EXERCISES[ex].hint)


@lru_cache(maxsize=1)
def _all_terminating_key() -> dict:
    r = _scaled(3, ready=0, terminating=3).route(client="pod/client", service="web")
    return {"answered": r.reachable, "pods": len(r.endpoints)}


def _check_all_terminating(answer) -> Feedback:
    ex = "all-terminating"
    if not isinstance(answer, dict) or set(answer) != {"answered", "pods"}:
        return _wrong(ex, "format", "Give a dict: `{\"answered\": True or False, \"pods\": ...}`.",
                      EXERCISES[ex].hint)
    answered, pods = answer["answered"], _whole(answer["pods"])
    if not isinstance(answered, bool) or pods is None:
        return _wrong(ex, "format", "`answered` is True or False, `pods` a whole number.",
                      EXERCISES[ex].hint)
    key = _all_terminating_key()
    if answered == key["answered"] and pods == key["pods"]:
        return _right(ex, f"Yes, by any of the {key['pods']}. With no ready endpoint left anywhere, "
                          "kube-proxy falls back to endpoints that are terminating but still "
                          "serving, so connections keep working while the pods drain, instead of "
                          "being refused.")
    if not answered:
        return _wrong(ex, "terminating-never-used",
                      "kube-proxy does not give up: when no endpoint is ready, it uses the ones "
                      "that are terminating but still `serving` (their readiness probe still "
                      "passes). Only when none is serving either is the connection refused.",
                      "what does the `serving` condition say that `ready` does not?")
    return _wrong(ex, "other", "It is answered, yes; by how many pods?", EXERCISES[ex].hint)


# -- the catalogue -------------------------------------------------------------------------------
EXERCISES: dict[str, Exercise] = {e.id: e for e in (
    Exercise("warm-up", "Where do the web pods run?",
             "How many pods of Service web run on each node? Answer a dict, node -> count.",
             "a Service's pods are the ones its selector matches; the pod table shows each pod's node.",
             "`{\"node-a\": 2, \"node-b\": 1, \"node-c\": 0}`.\n\n"
             "Service web selects `app: web`: the three replicas of Deployment web. Two landed on "
             "node-a and one on node-b; node-c is tainted for batch jobs, and the web pods do not "
             "tolerate the taint. The pod named client runs on node-c, but it is no web pod.\n\n"
             "    answer = {\"node-a\": 2, \"node-b\": 1, \"node-c\": 0}",
             _check_warm_up),
    Exercise("reach", "Who can reach a ClusterIP Service?",
             "Which of the five clients can reach Service `web` (type ClusterIP)? "
             "Answer a set of client kinds.",
             "a cluster IP is an address only kube-proxy's rules on the nodes know. Which clients "
             "send packets that pass through those rules?",
             "`{\"pod\", \"node\"}`.\n\nA pod's packet leaves through its node, where kube-proxy's "
             "rules rewrite the cluster IP to a pod's address; a process on a node passes through "
             "the same rules. The laptop, the other cluster and the internet never pass through "
             "them, and no network outside the cluster routes the cluster IP.\n\n"
             "    answer_1 = {\"pod\", \"node\"}",
             _check_reach),
    Exercise("hops", "The hop chain of a NodePort request",
             "A laptop sends to node-b's IP on web-nodeport's node port. List the hop kinds in order.",
             "the laptop enters at a node; what does the node port hand the packet to before a "
             "pod is chosen?",
             "`[\"client\", \"node-port\", \"cluster-ip\", \"pod\"]`.\n\nThe laptop dials "
             "192.0.2.12:30080; kube-proxy's node-port rule on node-b passes the packet to the "
             "Service's rules (the cluster-ip hop), which pick one of the three ready pods, on any "
             "node.\n\n"
             "    answer_2 = [\"client\", \"node-port\", \"cluster-ip\", \"pod\"]",
             _check_hops),
    Exercise("choose-type", "Choose the Service type for each client",
             "Write `choose_type(client)` returning the smallest Service type that lets that "
             "kind of client in.",
             "each type includes the one before: ClusterIP < NodePort < LoadBalancer. Which "
             "addresses can each client reach?",
             "    def choose_type(client):\n"
             "        if client in (\"pod\", \"node\"):\n"
             "            return \"ClusterIP\"      # inside: the cluster IP is enough\n"
             "        if client in (\"laptop\", \"other-cluster\"):\n"
             "            return \"NodePort\"       # they can reach the nodes' IPs\n"
             "        return \"LoadBalancer\"       # the internet: only a public address\n\n"
             "Pods and processes on nodes pass through kube-proxy's rules, so a cluster IP serves "
             "them; a laptop or another cluster can reach node IPs, so a node port is enough; an "
             "internet client needs the load balancer's public address.",
             _check_choose_type),
    Exercise("ports", "port, targetPort, nodePort",
             "For Service web-nodeport: which port number does the laptop dial, which does a pod "
             "dial on the cluster IP, and on which does the container listen?",
             "three ports, three places: a node's IP, the cluster IP, the pod's IP.",
             "`{\"laptop\": 30080, \"pod\": 80, \"container\": 8080}`.\n\n"
             "`nodePort` (30080) is open on every node's IP; `port` (80) is where the cluster IP "
             "listens; `targetPort` (`http`) names the container port the pods declare, 8080.\n\n"
             "    answer_4 = {\"laptop\": 30080, \"pod\": 80, \"container\": 8080}",
             _check_ports),
    Exercise("fix", "Fix a Service a laptop cannot reach",
             "Edit `BROKEN_SERVICE` so a laptop on the nodes' network can reach the web pods.",
             "the selector and ports are fine; what decides who can reach a Service?",
             "Add `type: NodePort` under `spec:`, and nothing else:\n\n"
             "    apiVersion: v1\n    kind: Service\n    metadata:\n      name: web\n    spec:\n"
             "      type: NodePort\n      selector:\n        app: web\n      ports:\n"
             "      - name: http\n        port: 80\n        targetPort: http\n\n"
             "The API server allocates a node port from 30000-32767 (or takes the one you give "
             "in `nodePort`, if it is free and in that range). `type: LoadBalancer` also works, "
             "and brings a cloud load balancer. To test from a laptop without changing the "
             "Service at all, `kubectl port-forward service/web 8080:80` tunnels a local port "
             "to one of its pods through the API server.",
             _check_fix),
    Exercise("pending", "A LoadBalancer with no cloud",
             "On a cluster with no cloud provider, web-lb's EXTERNAL-IP is <pending>. How does "
             "each client get in (or None)?",
             "<pending> says one thing is missing. What else did the API server already give "
             "the Service?",
             "`{\"pod/client\": \"ClusterIP\", \"laptop\": \"NodePort\", \"internet\": None}`.\n\n"
             "The API server gives a LoadBalancer Service its cluster IP and node port at once; "
             "only the external address waits for a controller. So pods use the cluster IP, the "
             "laptop uses the node port, and the internet client has nothing to dial until an "
             "address appears.\n\n"
             "    answer_6 = {\"pod/client\": \"ClusterIP\", \"laptop\": \"NodePort\", \"internet\": None}",
             _check_pending),
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
)}


# Notebook 05 ---------------------------------------------------------------------------------
# What kube-proxy writes. Every key is read off the iptables-save text k8slab writes for the
# demo cluster (proxy.rules) or off its routes, never typed in.
import re  # noqa: E402 - used only by the checks below

_FATES = {"forwarded": ("forwarded", "forward", "accepted", "accept", "answered", "reachable",
                        "served", "ok", "dnat", "a pod answers"),
          "dropped": ("dropped", "drop", "timeout", "times out", "timed out", "hangs"),
          "rejected": ("rejected", "reject", "refused", "connection refused")}
_BUILT_IN_CHAINS = ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING")
_SERVICE_CHAIN_KINDS = ("KUBE-SVC", "KUBE-SVL", "KUBE-EXT", "KUBE-FW", "KUBE-SEP")
_KUBE_CHAINS = ("KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-EXTERNAL-SERVICES", "KUBE-MARK-MASQ",
                "KUBE-POSTROUTING", "KUBE-FORWARD", "KUBE-PROXY-FIREWALL", "KUBE-FIREWALL")


def _nat_lines(cluster, node: str) -> list[str]:
    from .proxy import rules
    return rules(cluster, node).split("*nat\n", 1)[1].splitlines()


def _jump(line: str) -> str | None:
    m = re.search(r" -j (\S+)", line)
    return m.group(1) if m else None


def _chain_kind(name: str) -> str:
    """KUBE-SVC-CDGGSHYLG3RE2FKL -> KUBE-SVC (the hash names one Service port or endpoint)."""
    return re.sub(r"-[A-Z0-9]{16}$", "", name)


def _svc_chain(cluster, node: str, service: str) -> list[str]:
    from ._iptables import chains_for
    svc = cluster.service(service)
    chain = chains_for(svc, svc.ports[0])["KUBE-SVC"]
    return [ln for ln in _nat_lines(cluster, node) if ln.startswith(f"-A {chain} ")]


def _chain_name(text) -> str | None:
    """A learner's chain name as a kind: "KUBE-SVC-XXXX", "svc", "kube_ext" -> KUBE-SVC, KUBE-EXT."""
    if not isinstance(text, str):
        return None
    t = text.strip().upper().replace("_", "-").replace(" ", "-")
    if t in _BUILT_IN_CHAINS:
        return t
    if not t.startswith("KUBE-"):
        t = "KUBE-" + t
    for kind in _SERVICE_CHAIN_KINDS:
        if t == kind or t.startswith(kind + "-"):
            return kind
    return t if t in _KUBE_CHAINS else None


def _as_probability(v):
    """None (a rule with no --probability), or the number a learner gave, as a float."""
    from fractions import Fraction
    if v is None:
        return None
    if isinstance(v, bool):
        raise ValueError(v)
    if isinstance(v, (int, float, Fraction)):
        return float(v)
    if isinstance(v, str):
        s = v.strip().lower()
        if s in ("", "none", "-", "no", "none (no --probability)"):
            return None
        if "/" in s:
            top, _, bottom = s.partition("/")
            return float(top) / float(bottom)
        return float(s)
    raise ValueError(v)


# -- 05.1 the probabilities on a KUBE-SVC chain -------------------------------------------------
@lru_cache(maxsize=1)
def _cascade_key() -> tuple:
    from .manifests import load_texts
    text = _demo_text()
    if text.count("replicas: 3") != 1:
        raise K8slabError("the demo cluster no longer runs 3 web replicas; this exercise needs updating")
    cluster = load_texts([("demo.yaml", text.replace("replicas: 3", "replicas: 4"))])
    out = []
    for line in _svc_chain(cluster, "node-c", "web"):
        if "-j KUBE-SEP-" in line:
            m = re.search(r"--probability (\S+)", line)
            out.append(float(m.group(1)) if m else None)
    return tuple(out)


def _check_rules_cascade(answer) -> Feedback:
    ex = "rules-cascade"
    key = _cascade_key()
    n = len(key)
    if not isinstance(answer, (list, tuple)):
        return _wrong(ex, "format", f"Give a list of {n} values, top rule first, for example "
                      "`[0.1, 0.2, 0.3, None]`.", EXERCISES[ex].hint)
    try:
        given = [_as_probability(v) for v in answer]
    except (ValueError, TypeError, ZeroDivisionError, OverflowError):
        return _wrong(ex, "format", "Each value is a probability (a number such as `0.5` or "
                      "`\"1/2\"`), or `None` for a rule that carries no `--probability`.",
                      EXERCISES[ex].hint)
    if len(given) != n:
        return _wrong(ex, "format", f"Give {n} values: {n} replicas are {n} endpoints, and "
                      f"kube-proxy writes one rule per endpoint in the KUBE-SVC chain.",
                      EXERCISES[ex].hint)

    def same(a, b):             # 0.333 counts as 1/3: the rule prints ten decimals, learners fewer
        return a is not None and b is not None and abs(a - b) < 0.005

    head_ok = all(same(g, k) for g, k in zip(given[:-1], key[:-1]))
    last_ok = given[-1] is None or same(given[-1], 1.0)
    printed = ", ".join(f"{k:0.10f}" for k in key if k is not None)
    if head_ok and last_ok:
        extra = ("" if given[-1] is None else " The last rule has no `--probability` at all: "
                 "whatever reaches it, it takes, which is what your 1 means.")
        return _right(ex, f"The rules print `--probability` {printed}, and nothing on the last "
                          "rule. Rule i (from 0) matches 1/(n-i) of the new connections that reach "
                          f"it, so each of the {n} pods gets 1/{n} of them." + extra)
    if all(same(g, 1.0 / n) for g in given[:-1]):
        return _wrong(ex, "share-not-rule-probability",
                      f"1/{n} is each pod's final share, not what each rule says. A rule only sees "
                      "the packets that fell through the rules above it, so its `--probability` "
                      "is the chance among those: 1/4 of all packets for the first rule, then "
                      "1/3 of the remaining three quarters, and so on.",
                      "what fraction of the packets that reach rule 2 must it take so that pod 2 "
                      f"ends up with 1/{n} of all of them?")
    if all(same(g, k) for g, k in zip(given[:n - 1], reversed(key[:-1]))):
        return _wrong(ex, "cascade-upside-down",
                      "Upside down: the first rule sees every packet, so it takes the smallest "
                      f"part, 1/{n}; the probabilities grow as fewer packets are left, up to the "
                      "last rule, which takes whatever reaches it.",
                      "which rule sees the most packets?")
    if head_ok:
        return _wrong(ex, "last-rule",
                      "The first rules are right. The last rule carries no `--probability` at all "
                      "(answer `None`): it catches every packet that got that far, so no packet "
                      "falls off the end of the chain.", "what happens to a packet that reaches "
                      "the last rule?")
    return _wrong(ex, "other", f"Not quite: you gave {given}.", EXERCISES[ex].hint)


# -- 05.2 the chains a node-port packet passes ---------------------------------------------------
def _node_port_path(cluster, node: str, service: str) -> list[str]:
    """The nat chains the first packet of a connection to `service`'s node port passes, in order
    (leaving out KUBE-MARK-MASQ, which only sets a mark and returns)."""
    port = cluster.service(service).ports[0].node_port
    nat = _nat_lines(cluster, node)

    def rules_of(chain):
        return [ln for ln in nat if ln.startswith(f"-A {chain} ")]

    path = ["KUBE-SERVICES"]
    chain = _jump(rules_of("KUBE-SERVICES")[-1])     # the last rule: this node's own addresses
    path.append(chain)
    chain = next(_jump(ln) for ln in rules_of(chain)
                 if f"--dport {port} " in ln and "127.0.0.0/8" not in ln)
    while chain:
        path.append(chain)
        if chain.startswith("KUBE-SEP-"):
            break
        chain = next((_jump(ln) for ln in rules_of(chain) if _jump(ln) != "KUBE-MARK-MASQ"), None)
    return [_chain_kind(c) for c in path]


@lru_cache(maxsize=1)
def _path_key() -> tuple:
    return tuple(_node_port_path(_demo(), "node-b", "web-nodeport"))


def _check_rules_path(answer) -> Feedback:
    ex = "rules-path"
    names = _as_strings(answer)
    if not names:
        return _wrong(ex, "format", "Give the chains in order, for example "
                      "`[\"KUBE-SERVICES\", \"KUBE-SEP\"]`.", EXERCISES[ex].hint)
    chains = []
    for n in names:
        c = _chain_name(n)
        if c is None:
            return _wrong(ex, "format", f"{n!r} is not one of kube-proxy's chains; use "
                          "KUBE-SERVICES, KUBE-NODEPORTS, KUBE-EXT, KUBE-FW, KUBE-SVC, KUBE-SVL, "
                          "KUBE-SEP (without the hash).", EXERCISES[ex].hint)
        if c not in _BUILT_IN_CHAINS and c not in ("KUBE-MARK-MASQ", "KUBE-POSTROUTING"):
            chains.append(c)
    key = list(_path_key())
    if chains == key:
        return _right(ex, " -> ".join(key) + ". KUBE-SERVICES finds no cluster IP or "
                      "load-balancer IP for 192.0.2.12, so its last rule hands the packet (its "
                      "destination is one of node-b's own addresses) to KUBE-NODEPORTS; port 30080 "
                      "leads to web-nodeport's KUBE-EXT chain, which marks the packet for "
                      "masquerading and jumps to its KUBE-SVC chain; that picks a KUBE-SEP chain, "
                      "which rewrites the destination (DNAT).")
    if chains and chains[0] != "KUBE-SERVICES":
        return _wrong(ex, "nodeports-first",
                      "Every packet starts in KUBE-SERVICES: PREROUTING (and OUTPUT, for the "
                      "node's own processes) jump there, and nowhere else. KUBE-NODEPORTS is "
                      "reached from the last rule of KUBE-SERVICES.",
                      "which chain do the built-in PREROUTING and OUTPUT chains jump to?")
    if "KUBE-SVL" in chains:
        return _wrong(ex, "svl-under-cluster-policy",
                      "web-nodeport has externalTrafficPolicy: Cluster, and kube-proxy writes a "
                      "KUBE-SVL chain only for a Local traffic policy (it picks among this node's "
                      "pods only).", "which policy does web-nodeport have?")
    if "KUBE-FW" in chains:
        return _wrong(ex, "firewall-chain",
                      "KUBE-FW exists only for a LoadBalancer Service with "
                      "`loadBalancerSourceRanges`, and only packets for the load balancer's IP go "
                      "through it: node ports never do.", EXERCISES[ex].hint)
    if "KUBE-NODEPORTS" not in chains:
        return _wrong(ex, "node-port-in-services",
                      "KUBE-SERVICES matches destination IPs: cluster IPs, external IPs, "
                      "load-balancer IPs. A packet for 192.0.2.12:30080 matches none of them and "
                      "reaches the chain's last rule, which sends every packet for one of this "
                      "node's own addresses to KUBE-NODEPORTS; the node-port rules live there.",
                      "read the last rule of KUBE-SERVICES.")
    if "KUBE-EXT" not in chains:
        return _wrong(ex, "node-port-straight-to-svc",
                      "The node-port rule jumps to the Service's KUBE-EXT chain, not straight to "
                      "KUBE-SVC: KUBE-EXT handles what every external way in shares (here it marks "
                      "the packet for masquerading), then jumps to KUBE-SVC.",
                      "look at the `-j` of web-nodeport's rule in KUBE-NODEPORTS.")
    if "KUBE-SVC" not in chains:
        return _wrong(ex, "ext-picks-the-pod",
                      "KUBE-EXT does not choose a pod: it jumps to KUBE-SVC, the same chain the "
                      "cluster IP leads to, and the random rules there pick the KUBE-SEP chain.",
                      "where are the `--probability` rules?")
    if "KUBE-SEP" not in chains:
        return _wrong(ex, "no-dnat",
                      "The destination is rewritten in a KUBE-SEP chain (its DNAT rule): without "
                      "it the packet would still be addressed to the node port.",
                      "which chain holds the DNAT rule?")
    if sorted(chains) == sorted(key):
        return _wrong(ex, "order", "The right chains, in the wrong order.",
                      "follow the `-j` targets from KUBE-SERVICES.")
    return _wrong(ex, "other", f"Not quite: you gave {' -> '.join(chains)}.", EXERCISES[ex].hint)


# -- 05.3 externalTrafficPolicy: Local on a node without a pod -------------------------------------
@lru_cache(maxsize=1)
def _local_key() -> dict:
    from .manifests import with_service_type
    cluster = _demo()
    local = with_service_type(cluster, cluster.service("web-nodeport"), "NodePort",
                              external_traffic_policy="Local")
    out = {}
    for client in ("laptop", "pod/client"):
        r = local.route(client=client, service="web-nodeport", entry="NodePort", via_node="node-c")
        out[client] = ("forwarded" if r.reachable else
                       "rejected" if r.code == "no-endpoints" else "dropped")
    return out


def _fate(value) -> str | None:
    if not isinstance(value, str):
        return None
    v = value.strip().lower()
    for fate, words in _FATES.items():
        if v in words:
            return fate
    return None


def _check_rules_local(answer) -> Feedback:
    ex = "rules-local"
    if not isinstance(answer, dict):
        return _wrong(ex, "format", "Give a dict: `{\"laptop\": ..., \"pod/client\": ...}`.",
                      EXERCISES[ex].hint)
    a = {("pod/client" if str(k).strip() in ("pod", "pod/client") else str(k).strip()): v
         for k, v in answer.items()}
    if set(a) != {"laptop", "pod/client"}:
        return _wrong(ex, "format", "Give a dict with the keys \"laptop\" and \"pod/client\".",
                      EXERCISES[ex].hint)
    fates = {k: _fate(v) for k, v in a.items()}
    bad = [k for k, v in fates.items() if v is None]
    if bad:
        return _wrong(ex, "format", f"{bad[0]}: {a[bad[0]]!r}; answer \"forwarded\", \"dropped\" "
                      "or \"rejected\".", EXERCISES[ex].hint)
    key = _local_key()
    if fates == key:
        return _right(ex, "The laptop's packet is dropped: on node-c, web-nodeport's KUBE-EXT chain "
                          "ends without a jump to KUBE-SVL (node-c has no web pod), so nothing "
                          "rewrites it, and the filter table's KUBE-EXTERNAL-SERVICES chain drops "
                          "it (\"has no local endpoints\"); the laptop waits for a timeout. The "
                          "pod's packet comes from 10.244.0.0/16, so the rule \"pod traffic for "
                          "... external destinations\" sends it to KUBE-SVC: any web pod answers.")
    if fates["laptop"] == "forwarded":
        return _wrong(ex, "local-forwards",
                      "With externalTrafficPolicy: Local, kube-proxy never sends outside traffic to "
                      "another node: that would need masquerading, and the point of Local is to "
                      "keep the client's address. node-c runs no web pod, so its KUBE-EXT chain "
                      "has nowhere to send the laptop's packet.",
                      "which pods may a node pick under Local, and which of them run on node-c?")
    if fates["laptop"] == "rejected":
        return _wrong(ex, "drop-vs-reject",
                      "REJECT (\"connection refused\") is for a Service with no endpoints anywhere. "
                      "web-nodeport has three; only node-c has none, so kube-proxy DROPs the packet "
                      "(the comment says \"has no local endpoints\") and the laptop waits for a "
                      "timeout, the same silence a load balancer sees from a node it should skip.",
                      "read the target of the KUBE-EXTERNAL-SERVICES rule on node-c.")
    if fates["pod/client"] != key["pod/client"]:
        return _wrong(ex, "pods-obey-local",
                      "externalTrafficPolicy applies to traffic from outside the cluster. The first "
                      "rule of KUBE-EXT, \"pod traffic for ... external destinations\", matches "
                      "sources in the pod network (10.244.0.0/16) and sends them to KUBE-SVC, as if "
                      "the packet had gone out to a load balancer and come back: any web pod, on "
                      "any node, answers.",
                      "read the first rule of web-nodeport's KUBE-EXT chain on node-c.")
    return _wrong(ex, "other", "Not quite.", EXERCISES[ex].hint)


# -- 05.4 a Service with no endpoints -------------------------------------------------------------
@lru_cache(maxsize=1)
def _no_endpoints_key() -> dict:
    from dataclasses import replace
    from .proxy import rules
    cluster = _demo()
    web = cluster.service("web")
    empty = cluster.replace_service(replace(web, selector={"app": "web-v2"}))
    table = None
    for line in rules(empty, "node-c").splitlines():
        if line.startswith("*"):
            table = line[1:]
        elif '"default/web:http has no endpoints"' in line:
            return {"client_sees": "refused" if _jump(line) == "REJECT" else "timeout",
                    "table": table}
    raise K8slabError("k8slab's rules for a Service with no endpoints have no \"has no endpoints\" rule")


def _check_rules_no_endpoints(answer) -> Feedback:
    ex = "rules-no-endpoints"
    if not isinstance(answer, dict) or set(answer) != {"client_sees", "table"}:
        return _wrong(ex, "format", "Give a dict: `{\"client_sees\": ..., \"table\": ...}`.",
                      EXERCISES[ex].hint)
    sees, table = answer["client_sees"], answer["table"]
    words = {"refused": ("refused", "connection refused", "rejected", "reject", "an error at once"),
             "timeout": ("timeout", "a timeout", "times out", "timed out", "dropped", "drop",
                         "hangs", "nothing"),
             "answer": ("answer", "an answer", "a pod answers", "reply", "response", "200")}
    s = str(sees).strip().lower() if isinstance(sees, str) else None
    sees_n = next((k for k, ws in words.items() if s in ws), None)
    t = table.strip().lower().lstrip("*").replace(" table", "") if isinstance(table, str) else None
    if sees_n is None or t not in ("nat", "filter", "mangle", "raw"):
        return _wrong(ex, "format", "client_sees is \"refused\", \"timeout\" or \"answer\"; "
                      "table is \"nat\" or \"filter\".", EXERCISES[ex].hint)
    key = _no_endpoints_key()
    if sees_n == key["client_sees"] and t == key["table"]:
        return _right(ex, "Connection refused, at once, from a rule in the filter table: "
                          "`-A KUBE-SERVICES -m comment --comment \"default/web:http has no "
                          "endpoints\" ... -j REJECT`. With no endpoint, kube-proxy writes no nat "
                          "chain for the Service at all; REJECT answers the client with an ICMP "
                          "error instead of leaving it to wait.")
    if sees_n == "answer":
        return _wrong(ex, "no-endpoints-still-answers",
                      "No pod matches the selector, so there is nobody to answer: the cluster IP "
                      "is only an address in the rules, with no process behind it.",
                      "which pods does the selector `app: web-v2` match?")
    if sees_n == "timeout":
        return _wrong(ex, "reject-is-drop",
                      "kube-proxy REJECTs rather than DROPs packets for a Service with no "
                      "endpoints anywhere: the client gets an ICMP \"port unreachable\" and fails "
                      "at once with \"connection refused\". A timeout is what DROP gives, as with "
                      "externalTrafficPolicy: Local on a node without a pod.",
                      "read the target (`-j`) of the rule.")
    if t != key["table"]:
        return _wrong(ex, "reject-in-nat",
                      f"The rule is in the {key['table']} table. The nat table rewrites addresses, "
                      "and there is nothing to rewrite to; accepting, dropping and rejecting is "
                      "the filter table's job, so that is where kube-proxy puts its REJECT (in "
                      "the filter table's own KUBE-SERVICES chain).",
                      "which table decides whether a packet passes?")
    return _wrong(ex, "other", "Not quite.", EXERCISES[ex].hint)


# -- 05.5 session affinity ----------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _affinity_key() -> dict:
    from dataclasses import replace
    cluster = _demo()
    web = cluster.service("web")
    sticky = cluster.replace_service(replace(web, session_affinity="ClientIP"))
    checks = [ln for ln in _svc_chain(sticky, "node-c", "web") if " --rcheck " in ln]
    seconds = int(re.search(r"--seconds (\d+)", checks[0]).group(1))
    recorded = {_chain_kind(ln.split()[1]) for ln in _nat_lines(sticky, "node-c")
                if re.search(r" --set( |$)", ln)}
    if len(recorded) != 1:
        raise K8slabError("k8slab's affinity rules record clients in more than one kind of chain")
    return {"checks": len(checks), "seconds": seconds, "recorded_in": recorded.pop()}


def _check_rules_affinity(answer) -> Feedback:
    ex = "rules-affinity"
    keys = {"checks", "seconds", "recorded_in"}
    if not isinstance(answer, dict) or set(answer) != keys:
        return _wrong(ex, "format", "Give a dict: `{\"checks\": ..., \"seconds\": ..., "
                      "\"recorded_in\": ...}`.", EXERCISES[ex].hint)
    checks, seconds = _as_int(answer["checks"]), _as_int(answer["seconds"])
    recorded = _chain_name(answer["recorded_in"])
    if not isinstance(checks, int) or not isinstance(seconds, int) or recorded is None:
        return _wrong(ex, "format", "checks and seconds are numbers; recorded_in is a chain kind "
                      "such as \"KUBE-SVC\".", EXERCISES[ex].hint)
    key = _affinity_key()
    if checks == key["checks"] and seconds == key["seconds"] and recorded == key["recorded_in"]:
        return _right(ex, f"{key['checks']} checks, {key['seconds']} s, recorded in KUBE-SEP. "
                          "Each endpoint has its own `recent` list, named after its KUBE-SEP chain. "
                          "The KUBE-SVC chain first asks each list whether this source address "
                          f"made a new connection there in the last {key['seconds']} s (3 hours, "
                          "the default `timeoutSeconds`); only if none says yes do the random "
                          "rules run. The DNAT rule in KUBE-SEP records the client as it passes.")
    if recorded != key["recorded_in"]:
        return _wrong(ex, "recorded-in-svc",
                      "KUBE-SVC only checks. The client is recorded (`-m recent ... --set`) on the "
                      "DNAT rule of the KUBE-SEP chain, so the list remembers the pod that was "
                      "really chosen.", "find the rule with `--set`.")
    if checks != key["checks"]:
        if checks == 1:
            return _wrong(ex, "one-affinity-list",
                          "There is no single list of clients for the Service: each endpoint has "
                          "its own, named after its KUBE-SEP chain, so KUBE-SVC needs one "
                          f"`--rcheck` rule per endpoint: {key['checks']}.",
                          "count the `--rcheck` rules: what does each one's `--name` say?")
        return _wrong(ex, "checks", f"Count the `--rcheck` rules in web's KUBE-SVC chain: one per "
                      "endpoint.", "how many endpoints does web have?")
    return _wrong(ex, "affinity-timeout",
                  f"`--seconds {key['seconds']}`: when `sessionAffinityConfig.clientIP."
                  "timeoutSeconds` is not set, the API server defaults it to 10800 s (3 hours).",
                  "the default is given in hours in the docs: convert it.")


EXERCISES.update({e.id: e for e in (
    Exercise("rules-cascade", "The probabilities in a KUBE-SVC chain",
             "Scale web to 4 replicas: what --probability does each of the 4 rules of its KUBE-SVC "
             "chain carry, top to bottom (None for none)?",
             "the first rule sees every new connection; each later rule sees only what fell "
             "through the rules above it.",
             "`[0.25, 0.3333333333, 0.5, None]`.\n\n"
             "The first rule takes 1/4 of all new connections. Of the 3/4 that fall through, the "
             "second takes 1/3, which is again 1/4 of all; of the 1/2 left, the third takes half; "
             "the last rule carries no `--probability` and takes the last quarter. kube-proxy "
             "prints 1/(n-i) on rule i (counting from 0), with ten decimals.\n\n"
             "    answer_1 = [0.25, 0.3333333333, 0.5, None]",
             _check_rules_cascade),
    Exercise("rules-path", "The chains of a node-port packet",
             "A laptop sends to node-b's IP on web-nodeport's node port. Which nat chains does the "
             "first packet pass, in order (leave out KUBE-MARK-MASQ)?",
             "start where PREROUTING jumps, and follow each `-j` to a chain of kube-proxy's.",
             "`[\"KUBE-SERVICES\", \"KUBE-NODEPORTS\", \"KUBE-EXT\", \"KUBE-SVC\", \"KUBE-SEP\"]`.\n\n"
             "KUBE-SERVICES has no rule for 192.0.2.12, so its last rule sends the packet (addressed "
             "to one of node-b's own addresses) to KUBE-NODEPORTS. The rule for port 30080 jumps to "
             "KUBE-EXT (which marks the packet for masquerading), then KUBE-SVC picks an endpoint and "
             "its KUBE-SEP chain rewrites the destination.\n\n"
             "    answer_2 = [\"KUBE-SERVICES\", \"KUBE-NODEPORTS\", \"KUBE-EXT\", \"KUBE-SVC\", \"KUBE-SEP\"]",
             _check_rules_path),
    Exercise("rules-local", "Local traffic policy on a node without a pod",
             "web-nodeport with externalTrafficPolicy: Local; the laptop and pod/client both send "
             "to node-c:30080. Forwarded, dropped or rejected?",
             "read web-nodeport's KUBE-EXT chain on node-c, and the filter table's "
             "KUBE-EXTERNAL-SERVICES chain.",
             "`{\"laptop\": \"dropped\", \"pod/client\": \"forwarded\"}`.\n\n"
             "node-c runs no web pod, so its KUBE-EXT chain has no jump to KUBE-SVL and the "
             "laptop's packet is not rewritten; the filter table's KUBE-EXTERNAL-SERVICES chain "
             "drops it. The pod's packet matches the first rule of KUBE-EXT (\"pod traffic for ... "
             "external destinations\", source in 10.244.0.0/16) and goes to KUBE-SVC, which picks "
             "any of the three web pods.\n\n"
             "    answer_3 = {\"laptop\": \"dropped\", \"pod/client\": \"forwarded\"}",
             _check_rules_local),
    Exercise("rules-no-endpoints", "A Service with no endpoints",
             "web's selector matches no pod. What does a pod that connects to its cluster IP see, "
             "and in which table is the rule that decides?",
             "with no endpoint there is nothing to rewrite the address to; read the target of "
             "the rule that names web.",
             "`{\"client_sees\": \"refused\", \"table\": \"filter\"}`.\n\n"
             "kube-proxy writes no nat rule for the Service, only `-A KUBE-SERVICES ... \"default/"
             "web:http has no endpoints\" ... -j REJECT` in the filter table: the client gets an ICMP "
             "error and sees \"connection refused\" at once.\n\n"
             "    answer_4 = {\"client_sees\": \"refused\", \"table\": \"filter\"}",
             _check_rules_no_endpoints),
    Exercise("rules-affinity", "Session affinity in the rules",
             "With sessionAffinity: ClientIP on web: how many --rcheck rules does its KUBE-SVC chain "
             "have, with what --seconds, and which kind of chain records the client (--set)?",
             "count the rules with `-m recent` in the KUBE-SVC chain, then look for `--set`.",
             "`{\"checks\": 3, \"seconds\": 10800, \"recorded_in\": \"KUBE-SEP\"}`.\n\n"
             "One `--rcheck` rule per endpoint, each naming that endpoint's list (its KUBE-SEP "
             "chain's name), with the default timeout of 10800 s; the endpoint's DNAT rule records "
             "the client with `--set`.\n\n"
             "    answer_5 = {\"checks\": 3, \"seconds\": 10800, \"recorded_in\": \"KUBE-SEP\"}",
             _check_rules_affinity),
)})



def exercise(exercise_id: str) -> Exercise:
    """The exercise with this id (see `EXERCISES`)."""
    try:
        return EXERCISES[exercise_id]
    except KeyError:
        raise K8slabError(f"no exercise {exercise_id!r}; there are: {', '.join(EXERCISES)}") from None


def check(exercise_id: str, answer) -> Feedback:
    """Check a learner's answer: right, or which misconception it shows, with a hint."""
    return exercise(exercise_id).check(answer)


def hint(exercise_id: str) -> str:
    """The hint for an exercise, without checking anything."""
    return "Hint: " + exercise(exercise_id).hint


def solution(exercise_id: str) -> Solution:
    """The worked solution, folded until the learner opens it."""
    return Solution(exercise_id, exercise(exercise_id).solution)
