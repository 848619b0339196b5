"""Notebook 01, who is calling: reachability, hops, Service types, ports, the fix, <pending>."""

# Every answer key is computed from k8slab's own model (routing, manifests, proxy), never
# typed in, so a check cannot drift from what the notebook shows.
from __future__ import annotations

from functools import lru_cache

from .. import routing
from .mechanism import (ALL_TYPES, EXERCISES, Exercise, Feedback, KINDS, NODE_PORT_RANGE, TYPES,
                         Unanswered, as_int, as_strings, client_kind, client_of_kind, demo,
                         demo_without_services, register, right, wrong)

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


# -- 1. who can reach a ClusterIP Service ----------------------------------------------------
_PUBLIC = ("A cluster IP is virtual: no machine on the network owns it, and no router outside "
           "the cluster knows where to send it. Only kube-proxy's rules on the cluster's own nodes turn it into a "
           "pod's address, so only packets that pass through those rules, from pods and from "
           "processes on the nodes, can use it. A ClusterIP is not how traffic enters a cluster.")


def _check_reach(answer) -> Feedback:
    ex = "reach"
    names = as_strings(answer)
    if names is None:
        return wrong(ex, "format", "Give a set of client kinds, for example `{\"pod\", \"laptop\"}`.",
                      EXERCISES[ex].hint)
    kinds = set()
    for n in names:
        k = client_kind(n)
        if k is None:
            return wrong(ex, "format", f"{n!r} is not one of the five clients: "
                          "pod, node, laptop, other-cluster, internet.", EXERCISES[ex].hint)
        kinds.add(k)
    cluster = demo()
    expected = {k for k in KINDS
                if routing.route(cluster, client=client_of_kind(cluster, k), service="web").reachable}
    outside = sorted(kinds - expected)
    if outside:
        return wrong(ex, "cluster-ip-is-public",
                      f"{', '.join(outside)} cannot reach it. {_PUBLIC}",
                      "for each client, ask whether its packet passes through a node's "
                      "kube-proxy rules before it goes anywhere. "
                      "`cluster.route(client=\"laptop\", service=\"web\").reason` says why not.")
    if "pod" not in kinds:
        return wrong(ex, "cluster-ip-needs-more",
                      "A pod in the cluster can reach it: pods are exactly the clients a ClusterIP "
                      "Service is for. The pod dials the cluster IP (or the name `web`), and "
                      "kube-proxy's rules on its node send the packet on to one of the web pods.",
                      "a ClusterIP Service needs nothing more to work inside the cluster.")
    if "node" not in kinds:
        return wrong(ex, "only-pods",
                      "A process on a node (on the host network, like a `curl` run on the node) "
                      "can reach it too: kube-proxy hooks the node's own outgoing traffic as well "
                      "as its pods', so the cluster IP works there.",
                      "where do kube-proxy's rules live, and whose packets pass through them?")
    return right(ex, "Only pods and processes on the cluster's nodes. The cluster IP exists only "
                      "in kube-proxy's rules on the nodes, so a laptop, another cluster and the "
                      "internet have no way to it.")


# -- 2. the hop chain of a NodePort request --------------------------------------------------
def _check_hops(answer) -> Feedback:
    ex = "hops"
    hops = as_strings(answer)
    if hops is None or not hops:
        return wrong(ex, "format", "Give the hop kinds in order, for example "
                      "`[\"client\", \"service\", \"pod\"]`.", EXERCISES[ex].hint)
    hops = [h.strip().lower().replace(" ", "-").replace("_", "-") for h in hops]
    # "cluster-ip" was the name of the `service` hop until 2026-12; a learner who writes it
    # means "the address the packet goes to", which is the misconception answered below.
    known = (*routing.HOP_KINDS, "cluster-ip")
    unknown = [h for h in hops if h not in known]
    if unknown:
        return wrong(ex, "format", f"{unknown[0]!r} is not a hop kind; use "
                      f"{', '.join(routing.HOP_KINDS)}.", EXERCISES[ex].hint)
    route = routing.route(demo(), client="laptop", service="web-nodeport", via_node="node-b")
    expected = [h["kind"] for h in route.hops]
    if hops == expected:
        others = sorted({e.endpoint.node for e in route.endpoints} - {"node-b"})
        return right(ex, f"{' -> '.join(expected)}. The laptop enters at node-b's node port, and "
                          "the node port hands the packet to the Service's rules, which pick among "
                          f"all {len(route.endpoints)} ready pods, including those on "
                          f"{', '.join(others)}: entering at node-b does not mean a pod on node-b "
                          "answers.")
    if "load-balancer" in hops:
        return wrong(ex, "node-port-has-load-balancer",
                      "A NodePort Service asks for no load balancer: only a Service of type "
                      "LoadBalancer does, and a cloud (or a controller such as MetalLB) provides "
                      "it. Here the laptop itself picked node-b.",
                      "which Service type asks the cloud for something?")
    if "cluster-ip" in hops and "node-port" in hops:
        return wrong(ex, "node-port-forwards-to-cluster-ip",
                      "Nearly: after the node port come the Service's rules (the `service` hop), "
                      "but the packet is never sent to the cluster IP. kube-proxy's node-port rule "
                      "on node-b jumps straight into the chain that picks a pod, and the packet is "
                      "rewritten once, from node-b's IP to the chosen pod's.",
                      "the hop after the node port is the Service's rules, not an address.")
    if "node-port" not in hops and ("cluster-ip" in hops or "service" in hops):
        return wrong(ex, "cluster-ip-is-the-door",
                      "The laptop cannot send anything to the cluster IP: it is virtual and known "
                      "only inside the cluster. A laptop enters at a node's IP on the node port.",
                      "what address and port did the laptop send to?")
    if "node-port" in hops and "service" not in hops:
        return wrong(ex, "node-port-goes-straight-to-a-pod",
                      "The node port is not a shortcut to a pod on node-b. kube-proxy's node-port "
                      "rule on node-b jumps into the same Service rules the cluster IP uses "
                      "(the `service` hop), and those pick among all ready "
                      "pods, on any node. The packet is rewritten once, straight to the chosen pod; "
                      "it never carries the cluster IP as its destination, but it is balanced by "
                      "the Service's rules.",
                      "NodePort builds on ClusterIP: what does every NodePort Service also have?")
    if "pod" not in hops:
        return wrong(ex, "no-pod", "Every request that gets in ends at a pod: that is what the "
                      "Service's rules choose.", "where does the request finally land?")
    if hops[0] != "client":
        return wrong(ex, "order", "Start with the client: the chain goes from the sender inwards.",
                      EXERCISES[ex].hint)
    if sorted(hops) == sorted(expected):
        return wrong(ex, "order", "The right hops, in the wrong order: a packet meets them from "
                      "the outside in.", "outside first: which one does the laptop dial?")
    return wrong(ex, "other", f"Not quite: you gave {' -> '.join(hops)}.", EXERCISES[ex].hint)


# -- 3. choose the type for each client ------------------------------------------------------
@lru_cache(maxsize=1)
def _smallest_types() -> dict[str, str]:
    from ..manifests import with_service_type
    cluster = demo()
    web = cluster.service("web")
    out = {}
    for kind in KINDS:
        client = client_of_kind(cluster, kind)
        for t in TYPES:
            changed = with_service_type(cluster, web, t)
            if routing.route(changed, client=client, service="web").reachable:
                out[kind] = t
                break
    return out


def _check_choose_type(answer) -> Feedback:
    ex = "choose-type"
    if isinstance(answer, dict):
        lookup = {(client_kind(k) or str(k)): v for k, v in answer.items()}

        def ask(kind):
            if kind not in lookup:
                raise KeyError(kind)
            return lookup[kind]
        how = "your answer[{!r}]"
    elif callable(answer):
        ask, how = answer, "choose_type({!r})"
    else:
        return wrong(ex, "format", "Give a function, `def choose_type(client): return ...`, "
                      "or a dict from client kind to Service type.", EXERCISES[ex].hint)
    expected = _smallest_types()
    given = {}
    for kind in KINDS:
        try:
            value = ask(kind)
        except Exception as exc:  # noqa: BLE001 - the learner's code: report, never raise
            return wrong(ex, "format", f"{how.format(kind)} raised {type(exc).__name__}: {exc}",
                          "handle each of: pod, node, laptop, other-cluster, internet.")
        if value is ...:
            raise Unanswered()
        if not isinstance(value, str) or value not in ALL_TYPES:
            close = [t for t in ALL_TYPES if isinstance(value, str) and t.lower() == value.strip().lower()]
            if close:
                msg = (f"{how.format(kind)} gave {value!r}: the API spells it {close[0]!r}, and it "
                       "is case-sensitive.")
            else:
                msg = (f"{how.format(kind)} gave {value!r}; answer with a Service type: "
                       "\"ClusterIP\", \"NodePort\" or \"LoadBalancer\".")
            return wrong(ex, "format", msg, EXERCISES[ex].hint)
        given[kind] = value
    order = {t: i for i, t in enumerate(TYPES)}
    for kind in KINDS:
        value = given[kind]
        if value == "ExternalName":
            return wrong(ex, "external-name-proxies",
                          f"{how.format(kind)} gave 'ExternalName': that type makes no proxy at "
                          "all; it is a DNS alias that points pods at a name outside the cluster.",
                          "which types does kube-proxy handle?")
        if order[value] < order[expected[kind]]:
            if value == "ClusterIP":
                return wrong(ex, "cluster-ip-is-public",
                              f"{how.format(kind)} gave 'ClusterIP', but a {kind} is outside the "
                              f"cluster. {_PUBLIC}", "who can reach a cluster IP at all?")
            return wrong(ex, "node-ips-are-public",
                          f"{how.format(kind)} gave 'NodePort', but in this lab an internet "
                          "client can reach only a load balancer's public address: the nodes' "
                          "IPs sit on the cluster's private network.",
                          "which type gives the Service an address outside the cluster's network?")
    for kind in KINDS:
        value = given[kind]
        if order[value] > order[expected[kind]]:
            if expected[kind] == "ClusterIP":
                extra = ("every NodePort Service also has a cluster IP" if value == "NodePort" else
                         "a LoadBalancer Service also has node ports and a cluster IP")
                return wrong(ex, "over-exposed",
                              f"{how.format(kind)} gave {value!r}: it works ({extra}), but it opens "
                              f"the Service outside the cluster for a {kind} that never needed it.",
                              "choose the smallest type that lets each client in.")
            return wrong(ex, "over-exposed",
                          f"{how.format(kind)} gave 'LoadBalancer': it works (a LoadBalancer "
                          "Service also opens node ports), but it asks the cloud for a load "
                          "balancer, which costs money and an address, when this client can "
                          "already reach the nodes' IPs.",
                          "choose the smallest type that lets each client in.")
    return right(ex, "Inside the cluster a ClusterIP is enough; a client that can reach node IPs "
                      "needs a NodePort; a client that can reach only public addresses needs a "
                      "LoadBalancer. Each type includes the one before it.")


# -- 4. port, targetPort, nodePort -------------------------------------------------------------
def _ports_key() -> dict[str, int]:
    cluster = demo()
    svc = cluster.service("web-nodeport")
    sp = svc.ports[0]
    container = cluster.endpoints(svc, sp)[0].port     # the named targetPort, resolved
    return {"laptop": sp.node_port, "pod": sp.port, "container": container,
            "target_name": sp.target_port}


def _check_ports(answer) -> Feedback:
    ex = "ports"
    if not isinstance(answer, dict) or set(answer) != {"laptop", "pod", "container"}:
        return wrong(ex, "format", "Give a dict with exactly three keys: "
                      "`{\"laptop\": ..., \"pod\": ..., \"container\": ...}`.", EXERCISES[ex].hint)
    key = _ports_key()
    node_port, port, container, name = key["laptop"], key["pod"], key["container"], key["target_name"]
    a = {k: as_int(v) for k, v in answer.items()}
    if any(v is None for v in a.values()):
        return wrong(ex, "format", "Each value is one port number.", EXERCISES[ex].hint)
    if isinstance(name, str) and name in a.values():
        return wrong(ex, "named-target-port",
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
            why = "The laptop dials a node's IP on the Service's `nodePort`."
            code = "other"
        return wrong(ex, code, why, "which of the three ports is open on the nodes?")
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
            why = "A pod dials the cluster IP on the Service's `port`."
            code = "other"
        return wrong(ex, code, why, "which port does the cluster IP listen on?")
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
        return wrong(ex, code, why, "follow `targetPort` to the pod template.")
    return right(ex, f"A laptop dials a node's IP on the nodePort ({node_port}); a pod dials the "
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
            return wrong(ex, "yaml", f"That is not valid YAML{at}: "
                          f"{getattr(exc, 'problem', None) or exc}. Check the indentation.",
                          "copy `BROKEN_SERVICE` and change as little as possible.")
        if len(docs) != 1 or not isinstance(docs[0], dict):
            return wrong(ex, "format", "Give exactly one Service manifest.", EXERCISES[ex].hint)
        doc = docs[0]
    else:
        return wrong(ex, "format", "Give the fixed manifest as a YAML string.", EXERCISES[ex].hint)
    if doc.get("kind") != "Service":
        return wrong(ex, "format", "The manifest must stay `kind: Service`.", EXERCISES[ex].hint)
    spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else {}
    stype = spec.get("type", "ClusterIP")
    ports = spec.get("ports") if isinstance(spec.get("ports"), list) else []
    if stype not in ALL_TYPES:
        supported = ", ".join(f'"{t}"' for t in ALL_TYPES)
        return wrong(ex, "type-spelling",
                      f'The API server would reject it: spec.type: Unsupported value: "{stype}": '
                      f"supported values: {supported}. Types are case-sensitive.",
                      EXERCISES[ex].hint)
    if stype == "ExternalName":
        return wrong(ex, "external-name-proxies",
                      "An ExternalName Service is only a DNS alias for a name outside the cluster: "
                      "nothing listens anywhere, and only pods (through the cluster DNS) can use it.",
                      EXERCISES[ex].hint)
    for i, p in enumerate(ports):
        np = p.get("nodePort") if isinstance(p, dict) else None
        if np is None:
            continue
        if stype == "ClusterIP":
            return wrong(ex, "node-port-without-type",
                          f"The API server would reject it: spec.ports[{i}].nodePort: Forbidden: "
                          "may not be used when `type` is 'ClusterIP'. A node port needs the "
                          "Service's type to open it.", "what decides who can reach a Service?")
        lo, hi = NODE_PORT_RANGE
        if not isinstance(np, int) or isinstance(np, bool) or not lo <= np <= hi:
            return wrong(ex, "node-port-range",
                          f"The API server would reject it: spec.ports[{i}].nodePort: Invalid "
                          f"value: {np}: provided port is not in the valid range. The range of "
                          f"valid ports is {lo}-{hi}. Node ports come from that range (the API "
                          "server's --service-node-port-range); leave `nodePort` out and one is "
                          "allocated for you.", "you do not have to choose the node port yourself.")
    external_ips = spec.get("externalIPs")
    if stype == "ClusterIP" and not external_ips:
        return wrong(ex, "still-cluster-ip",
                      "It is still a ClusterIP Service (the type when `type` is left out), so a "
                      "laptop has no way in, whatever the ports and selector say: the type decides "
                      "who can reach a Service.", "one more line under `spec:` is enough.")
    targets = [p.get("targetPort", p.get("port")) for p in ports if isinstance(p, dict)]
    if targets and targets[0] not in (8080, "http"):
        return wrong(ex, "target-port",
                      f"targetPort {targets[0]!r}: the web container listens on 8080 (its port "
                      "named `http`). kube-proxy would forward to a port where nothing listens, "
                      "and the laptop would see its connection refused.",
                      "leave the ports as they were.")
    from ..manifests import load_texts
    cluster = load_texts([("demo.yaml", demo_without_services()), ("your answer", text)])
    name = (doc.get("metadata") or {}).get("name")
    ns = (doc.get("metadata") or {}).get("namespace") or "default"
    route = routing.route(cluster, client="laptop", service=name, namespace=ns)
    if not route.reachable:
        if route.code == "no-endpoints":
            return wrong(ex, "selector",
                          "The laptop gets in, but no pod answers: " + route.reason +
                          " A Service finds its pods by their labels; the web pods carry `app: web`.",
                          "leave the selector as it was.")
        return wrong(ex, route.code, route.reason, EXERCISES[ex].hint)
    svc = route.service
    np = svc.ports[0].node_port
    if stype == "ClusterIP":
        # externalIPs work with any Service type: kube-proxy on every node accepts packets for
        # those addresses (ServiceSpec.externalIPs: "IP addresses for which nodes in the
        # cluster will also accept traffic"; pkg/api/v1/service/util.go ExternallyAccessible).
        address = f"{svc.external_ips[0]}:{svc.ports[0].port}"
        return right(ex, f"externalIPs work with any Service type, ClusterIP too: kube-proxy on "
                          f"every node accepts packets sent to {address} and forwards them to a "
                          "web pod, as it does for the cluster IP. But Kubernetes does not own "
                          "that address: your network must route it to a node, and anyone who may "
                          "create Services could claim any address this way (CVE-2020-8554), so "
                          "many clusters refuse externalIPs (the DenyServiceExternalIPs admission "
                          "plugin). `type: NodePort` is the usual answer for a laptop on the "
                          "nodes' network.")
    if stype == "LoadBalancer":
        return right(ex, "A LoadBalancer works: it brings node ports and a cloud load balancer. "
                          "A NodePort would have been enough for a laptop that can reach the "
                          "nodes' IPs, and on a cluster without a cloud the LoadBalancer's address "
                          f"stays <pending> while its node port ({np}) already works.")
    return right(ex, f"type: NodePort. The laptop can now dial any node's IP on port {np}; "
                      "kube-proxy on that node passes the request to one of the web pods. "
                      "For a quick test without changing the Service, "
                      "`kubectl port-forward service/web 8080:80` also works.")


# -- 6. a LoadBalancer with no cloud ----------------------------------------------------------------
def _check_pending(answer) -> Feedback:
    ex = "pending"
    keys = ("pod/client", "laptop", "internet")
    if not isinstance(answer, dict) or set(answer) != set(keys):
        return wrong(ex, "format", "Give a dict with the keys \"pod/client\", \"laptop\" and "
                      "\"internet\", each mapped to \"ClusterIP\", \"NodePort\", \"LoadBalancer\" "
                      "or None.", EXERCISES[ex].hint)
    for k, v in answer.items():
        if v is not None and v not in TYPES:
            return wrong(ex, "format", f"{k}: {v!r} is not one of \"ClusterIP\", \"NodePort\", "
                          "\"LoadBalancer\" or None.", EXERCISES[ex].hint)
    cluster = demo(cloud=False)
    expected = {}
    for k in keys:
        r = routing.route(cluster, client=k, service="web-lb")
        expected[k] = r.entry if r.reachable else None
    np = cluster.service("web-lb").ports[0].node_port
    if answer["laptop"] is None:
        return wrong(ex, "pending-means-nothing-works",
                      "Only the cloud's part is missing. The API server allocated web-lb's cluster "
                      f"IP and node port ({np}) the moment it accepted the Service (`kubectl get "
                      f"service` shows `80:{np}/TCP`), so a laptop that can reach the nodes' IPs "
                      "gets in through the node port right away.",
                      "what does a LoadBalancer Service have besides the load balancer?")
    if answer["laptop"] == "LoadBalancer" or answer["internet"] == "LoadBalancer":
        return wrong(ex, "pending-has-an-address",
                      "<pending> means no controller has written an address into the Service's "
                      "`status.loadBalancer`: there is no load balancer to dial yet.",
                      "what does EXTERNAL-IP <pending> say is missing?")
    if answer["internet"] == "NodePort":
        return wrong(ex, "node-ips-are-public",
                      "An internet client can reach only a load balancer's public address, and "
                      "there is none yet; the nodes' IPs are on the cluster's private network.",
                      "which of the three ways in can an internet client use at all?")
    if answer["pod/client"] != expected["pod/client"]:
        return wrong(ex, "pending-breaks-inside",
                      "Inside the cluster nothing changes: the pod dials the cluster IP, as for "
                      "any Service. <pending> concerns only the external address.",
                      "how does a pod usually dial a Service?")
    if answer["laptop"] != expected["laptop"]:
        return wrong(ex, "cluster-ip-is-public", _PUBLIC, EXERCISES[ex].hint)
    if answer != expected:
        return wrong(ex, "other", "Not quite.", EXERCISES[ex].hint)
    return right(ex, f"The pod uses the cluster IP and the laptop the node port ({np}); the "
                      "internet client waits for an address. On kind or bare metal, MetalLB "
                      "hands out addresses; on minikube, `minikube tunnel` does.")




register(
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
             "`[\"client\", \"node-port\", \"service\", \"pod\"]`.\n\nThe laptop dials "
             "192.0.2.12:30080; kube-proxy's node-port rule on node-b passes the packet to the "
             "Service's rules (the `service` hop), which pick one of the three ready pods, on any "
             "node.\n\n"
             "    answer_2 = [\"client\", \"node-port\", \"service\", \"pod\"]",
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
             "and brings a cloud load balancer. So does `externalIPs: [an address your network "
             "routes to a node]` with any type, ClusterIP included, though many clusters forbid "
             "it (the DenyServiceExternalIPs admission plugin). To test from a laptop without changing the "
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
)
