"""Notebook 05, what kube-proxy writes: chains, probabilities and fates, read in the rules."""

# Every answer key is computed from k8slab's own model (routing, manifests, proxy), never
# typed in, so a check cannot drift from what the notebook shows.
from __future__ import annotations

import re
from functools import lru_cache

from .. import routing
from ..errors import K8slabError
from .mechanism import (EXERCISES, Exercise, Feedback, as_int, as_strings, demo, demo_text,
                         register, right, wrong)

# Notebook 05 ---------------------------------------------------------------------------------
# What kube-proxy writes. Every key is read off the iptables-save text k8slab writes for the
# demo cluster (proxy.rules) or off its routes, never typed in.

_FATES = {"forwarded": ("forwarded", "forward", "accepted", "accept", "answered", "reachable",
                        "served", "ok", "dnat", "a pod answers"),
          "dropped": ("dropped", "drop", "timeout", "times out", "timed out", "hangs"),
          "rejected": ("rejected", "reject", "refused", "connection refused")}
_BUILT_IN_CHAINS = ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING")
_SERVICE_CHAIN_KINDS = ("KUBE-SVC", "KUBE-SVL", "KUBE-EXT", "KUBE-FW", "KUBE-SEP")
_KUBE_CHAINS = ("KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-EXTERNAL-SERVICES", "KUBE-MARK-MASQ",
                "KUBE-POSTROUTING", "KUBE-FORWARD", "KUBE-PROXY-FIREWALL", "KUBE-FIREWALL")


def _nat_lines(cluster, node: str) -> list[str]:
    from ..proxy import rules
    return rules(cluster, node).split("*nat\n", 1)[1].splitlines()


def _jump(line: str) -> str | None:
    m = re.search(r" -j (\S+)", line)
    return m.group(1) if m else None


def _chain_kind(name: str) -> str:
    """KUBE-SVC-CDGGSHYLG3RE2FKL -> KUBE-SVC (the hash names one Service port or endpoint)."""
    return re.sub(r"-[A-Z0-9]{16}$", "", name)


def _svc_chain(cluster, node: str, service: str) -> list[str]:
    from ..proxy.iptables import chains_for
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
    from ..manifests import load_texts
    text = demo_text()
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
        return wrong(ex, "format", f"Give a list of {n} values, top rule first, for example "
                      "`[0.1, 0.2, 0.3, None]`.", EXERCISES[ex].hint)
    try:
        given = [_as_probability(v) for v in answer]
    except (ValueError, TypeError, ZeroDivisionError, OverflowError):
        return wrong(ex, "format", "Each value is a probability (a number such as `0.5` or "
                      "`\"1/2\"`), or `None` for a rule that carries no `--probability`.",
                      EXERCISES[ex].hint)
    if len(given) != n:
        return wrong(ex, "format", f"Give {n} values: {n} replicas are {n} endpoints, and "
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
        return right(ex, f"The rules print `--probability` {printed}, and nothing on the last "
                          "rule. Rule i (from 0) matches 1/(n-i) of the new connections that reach "
                          f"it, so each of the {n} pods gets 1/{n} of them." + extra)
    if all(same(g, 1.0 / n) for g in given[:-1]):
        return wrong(ex, "share-not-rule-probability",
                      f"1/{n} is each pod's final share, not what each rule says. A rule only sees "
                      "the packets that fell through the rules above it, so its `--probability` "
                      "is the chance among those: 1/4 of all packets for the first rule, then "
                      "1/3 of the remaining three quarters, and so on.",
                      "what fraction of the packets that reach rule 2 must it take so that pod 2 "
                      f"ends up with 1/{n} of all of them?")
    if all(same(g, k) for g, k in zip(given[:n - 1], reversed(key[:-1]))):
        return wrong(ex, "cascade-upside-down",
                      "Upside down: the first rule sees every packet, so it takes the smallest "
                      f"part, 1/{n}; the probabilities grow as fewer packets are left, up to the "
                      "last rule, which takes whatever reaches it.",
                      "which rule sees the most packets?")
    if head_ok:
        return wrong(ex, "last-rule",
                      "The first rules are right. The last rule carries no `--probability` at all "
                      "(answer `None`): it catches every packet that got that far, so no packet "
                      "falls off the end of the chain.", "what happens to a packet that reaches "
                      "the last rule?")
    return wrong(ex, "other", f"Not quite: you gave {given}.", EXERCISES[ex].hint)


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
    return tuple(_node_port_path(demo(), "node-b", "web-nodeport"))


def _check_rules_path(answer) -> Feedback:
    ex = "rules-path"
    names = as_strings(answer)
    if not names:
        return wrong(ex, "format", "Give the chains in order, for example "
                      "`[\"KUBE-SERVICES\", \"KUBE-SEP\"]`.", EXERCISES[ex].hint)
    chains = []
    for n in names:
        c = _chain_name(n)
        if c is None:
            return wrong(ex, "format", f"{n!r} is not one of kube-proxy's chains; use "
                          "KUBE-SERVICES, KUBE-NODEPORTS, KUBE-EXT, KUBE-FW, KUBE-SVC, KUBE-SVL, "
                          "KUBE-SEP (without the hash).", EXERCISES[ex].hint)
        if c not in _BUILT_IN_CHAINS and c not in ("KUBE-MARK-MASQ", "KUBE-POSTROUTING"):
            chains.append(c)
    key = list(_path_key())
    if chains == key:
        return right(ex, " -> ".join(key) + ". KUBE-SERVICES finds no cluster IP or "
                      "load-balancer IP for 192.0.2.12, so its last rule hands the packet (its "
                      "destination is one of node-b's own addresses) to KUBE-NODEPORTS; port 30080 "
                      "leads to web-nodeport's KUBE-EXT chain, which marks the packet for "
                      "masquerading and jumps to its KUBE-SVC chain; that picks a KUBE-SEP chain, "
                      "which rewrites the destination (DNAT).")
    if chains and chains[0] != "KUBE-SERVICES":
        return wrong(ex, "nodeports-first",
                      "Every packet starts in KUBE-SERVICES: PREROUTING (and OUTPUT, for the "
                      "node's own processes) jump there, and nowhere else. KUBE-NODEPORTS is "
                      "reached from the last rule of KUBE-SERVICES.",
                      "which chain do the built-in PREROUTING and OUTPUT chains jump to?")
    if "KUBE-SVL" in chains:
        return wrong(ex, "svl-under-cluster-policy",
                      "web-nodeport has externalTrafficPolicy: Cluster, and kube-proxy writes a "
                      "KUBE-SVL chain only for a Local traffic policy (it picks among this node's "
                      "pods only).", "which policy does web-nodeport have?")
    if "KUBE-FW" in chains:
        return wrong(ex, "firewall-chain",
                      "KUBE-FW exists only for a LoadBalancer Service with "
                      "`loadBalancerSourceRanges`, and only packets for the load balancer's IP go "
                      "through it: node ports never do.", EXERCISES[ex].hint)
    if "KUBE-NODEPORTS" not in chains:
        return wrong(ex, "node-port-in-services",
                      "KUBE-SERVICES matches destination IPs: cluster IPs, external IPs, "
                      "load-balancer IPs. A packet for 192.0.2.12:30080 matches none of them and "
                      "reaches the chain's last rule, which sends every packet for one of this "
                      "node's own addresses to KUBE-NODEPORTS; the node-port rules live there.",
                      "read the last rule of KUBE-SERVICES.")
    if "KUBE-EXT" not in chains:
        return wrong(ex, "node-port-straight-to-svc",
                      "The node-port rule jumps to the Service's KUBE-EXT chain, not straight to "
                      "KUBE-SVC: KUBE-EXT handles what every external way in shares (here it marks "
                      "the packet for masquerading), then jumps to KUBE-SVC.",
                      "look at the `-j` of web-nodeport's rule in KUBE-NODEPORTS.")
    if "KUBE-SVC" not in chains:
        return wrong(ex, "ext-picks-the-pod",
                      "KUBE-EXT does not choose a pod: it jumps to KUBE-SVC, the same chain the "
                      "cluster IP leads to, and the random rules there pick the KUBE-SEP chain.",
                      "where are the `--probability` rules?")
    if "KUBE-SEP" not in chains:
        return wrong(ex, "no-dnat",
                      "The destination is rewritten in a KUBE-SEP chain (its DNAT rule): without "
                      "it the packet would still be addressed to the node port.",
                      "which chain holds the DNAT rule?")
    if sorted(chains) == sorted(key):
        return wrong(ex, "order", "The right chains, in the wrong order.",
                      "follow the `-j` targets from KUBE-SERVICES.")
    return wrong(ex, "other", f"Not quite: you gave {' -> '.join(chains)}.", EXERCISES[ex].hint)


# -- 05.3 externalTrafficPolicy: Local on a node without a pod -------------------------------------
@lru_cache(maxsize=1)
def _local_key() -> dict:
    from ..manifests import with_service_type
    cluster = demo()
    local = with_service_type(cluster, cluster.service("web-nodeport"), "NodePort",
                              external_traffic_policy="Local")
    out = {}
    for client in ("laptop", "pod/client"):
        r = routing.route(local, client=client, service="web-nodeport", entry="NodePort", via_node="node-c")
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
        return wrong(ex, "format", "Give a dict: `{\"laptop\": ..., \"pod/client\": ...}`.",
                      EXERCISES[ex].hint)
    a = {("pod/client" if str(k).strip() in ("pod", "pod/client") else str(k).strip()): v
         for k, v in answer.items()}
    if set(a) != {"laptop", "pod/client"}:
        return wrong(ex, "format", "Give a dict with the keys \"laptop\" and \"pod/client\".",
                      EXERCISES[ex].hint)
    fates = {k: _fate(v) for k, v in a.items()}
    bad = [k for k, v in fates.items() if v is None]
    if bad:
        return wrong(ex, "format", f"{bad[0]}: {a[bad[0]]!r}; answer \"forwarded\", \"dropped\" "
                      "or \"rejected\".", EXERCISES[ex].hint)
    key = _local_key()
    if fates == key:
        return right(ex, "The laptop's packet is dropped: on node-c, web-nodeport's KUBE-EXT chain "
                          "ends without a jump to KUBE-SVL (node-c has no web pod), so nothing "
                          "rewrites it, and the filter table's KUBE-EXTERNAL-SERVICES chain drops "
                          "it (\"has no local endpoints\"); the laptop waits for a timeout. The "
                          "pod's packet comes from 10.244.0.0/16, so the rule \"pod traffic for "
                          "... external destinations\" sends it to KUBE-SVC: any web pod answers.")
    if fates["laptop"] == "forwarded":
        return wrong(ex, "local-forwards",
                      "With externalTrafficPolicy: Local, kube-proxy never sends outside traffic to "
                      "another node: that would need masquerading, and the point of Local is to "
                      "keep the client's address. node-c runs no web pod, so its KUBE-EXT chain "
                      "has nowhere to send the laptop's packet.",
                      "which pods may a node pick under Local, and which of them run on node-c?")
    if fates["laptop"] == "rejected":
        return wrong(ex, "drop-vs-reject",
                      "REJECT (\"connection refused\") is for a Service with no endpoints anywhere. "
                      "web-nodeport has three; only node-c has none, so kube-proxy DROPs the packet "
                      "(the comment says \"has no local endpoints\") and the laptop waits for a "
                      "timeout, the same silence a load balancer sees from a node it should skip.",
                      "read the target of the KUBE-EXTERNAL-SERVICES rule on node-c.")
    if fates["pod/client"] != key["pod/client"]:
        return wrong(ex, "pods-obey-local",
                      "externalTrafficPolicy applies to traffic from outside the cluster. The first "
                      "rule of KUBE-EXT, \"pod traffic for ... external destinations\", matches "
                      "sources in the pod network (10.244.0.0/16) and sends them to KUBE-SVC, as if "
                      "the packet had gone out to a load balancer and come back: any web pod, on "
                      "any node, answers.",
                      "read the first rule of web-nodeport's KUBE-EXT chain on node-c.")
    return wrong(ex, "other", "Not quite.", EXERCISES[ex].hint)


# -- 05.4 a Service with no endpoints -------------------------------------------------------------
@lru_cache(maxsize=1)
def _no_endpoints_key() -> dict:
    from dataclasses import replace
    from ..proxy import rules
    cluster = demo()
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
        return wrong(ex, "format", "Give a dict: `{\"client_sees\": ..., \"table\": ...}`.",
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
        return wrong(ex, "format", "client_sees is \"refused\", \"timeout\" or \"answer\"; "
                      "table is \"nat\" or \"filter\".", EXERCISES[ex].hint)
    key = _no_endpoints_key()
    if sees_n == key["client_sees"] and t == key["table"]:
        return right(ex, "Connection refused, at once, from a rule in the filter table: "
                          "`-A KUBE-SERVICES -m comment --comment \"default/web:http has no "
                          "endpoints\" ... -j REJECT`. With no endpoint, kube-proxy writes no nat "
                          "chain for the Service at all; REJECT answers the client with an ICMP "
                          "error instead of leaving it to wait.")
    if sees_n == "answer":
        return wrong(ex, "no-endpoints-still-answers",
                      "No pod matches the selector, so there is nobody to answer: the cluster IP "
                      "is only an address in the rules, with no process behind it.",
                      "which pods does the selector `app: web-v2` match?")
    if sees_n == "timeout":
        return wrong(ex, "reject-is-drop",
                      "kube-proxy REJECTs rather than DROPs packets for a Service with no "
                      "endpoints anywhere: the client gets an ICMP \"port unreachable\" and fails "
                      "at once with \"connection refused\". A timeout is what DROP gives, as with "
                      "externalTrafficPolicy: Local on a node without a pod.",
                      "read the target (`-j`) of the rule.")
    if t != key["table"]:
        return wrong(ex, "reject-in-nat",
                      f"The rule is in the {key['table']} table. The nat table rewrites addresses, "
                      "and there is nothing to rewrite to; accepting, dropping and rejecting is "
                      "the filter table's job, so that is where kube-proxy puts its REJECT (in "
                      "the filter table's own KUBE-SERVICES chain).",
                      "which table decides whether a packet passes?")
    return wrong(ex, "other", "Not quite.", EXERCISES[ex].hint)


# -- 05.5 session affinity ----------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _affinity_key() -> dict:
    from dataclasses import replace
    cluster = demo()
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
        return wrong(ex, "format", "Give a dict: `{\"checks\": ..., \"seconds\": ..., "
                      "\"recorded_in\": ...}`.", EXERCISES[ex].hint)
    checks, seconds = as_int(answer["checks"]), as_int(answer["seconds"])
    recorded = _chain_name(answer["recorded_in"])
    if not isinstance(checks, int) or not isinstance(seconds, int) or recorded is None:
        return wrong(ex, "format", "checks and seconds are numbers; recorded_in is a chain kind "
                      "such as \"KUBE-SVC\".", EXERCISES[ex].hint)
    key = _affinity_key()
    if checks == key["checks"] and seconds == key["seconds"] and recorded == key["recorded_in"]:
        return right(ex, f"{key['checks']} checks, {key['seconds']} s, recorded in KUBE-SEP. "
                          "Each endpoint has its own `recent` list, named after its KUBE-SEP chain. "
                          "The KUBE-SVC chain first asks each list whether this source address "
                          f"made a new connection there in the last {key['seconds']} s (3 hours, "
                          "the default `timeoutSeconds`); only if none says yes do the random "
                          "rules run. The DNAT rule in KUBE-SEP records the client as it passes.")
    if recorded != key["recorded_in"]:
        return wrong(ex, "recorded-in-svc",
                      "KUBE-SVC only checks. The client is recorded (`-m recent ... --set`) on the "
                      "DNAT rule of the KUBE-SEP chain, so the list remembers the pod that was "
                      "really chosen.", "find the rule with `--set`.")
    if checks != key["checks"]:
        if checks == 1:
            return wrong(ex, "one-affinity-list",
                          "There is no single list of clients for the Service: each endpoint has "
                          "its own, named after its KUBE-SEP chain, so KUBE-SVC needs one "
                          f"`--rcheck` rule per endpoint: {key['checks']}.",
                          "count the `--rcheck` rules: what does each one's `--name` say?")
        return wrong(ex, "checks", "Count the `--rcheck` rules in web's KUBE-SVC chain: one per "
                      "endpoint.", "how many endpoints does web have?")
    return wrong(ex, "affinity-timeout",
                  f"`--seconds {key['seconds']}`: when `sessionAffinityConfig.clientIP."
                  "timeoutSeconds` is not set, the API server defaults it to 10800 s (3 hours).",
                  "the default is given in hours in the docs: convert it.")




# -- 05.5 nftables mode: which chain is which hop ---------------------------------------------------
_NFT_KINDS = ("services", "external", "service", "endpoint")
_HOPS = ("client", "load-balancer", "external-ip", "node-port", "service", "pod")


@lru_cache(maxsize=1)
def _nft_hops_key() -> dict:
    """{chain kind: hop} for the laptop's packet to node-b's node port in nftables mode: the
    chains its walk matches on the way to the DNAT (trace), and the hop each belongs to (route):
    the chain route names in its service hop is "service"; the endpoint chain that DNATs is the
    pod; what comes before the Service's chain is the way in."""
    from .. import trace
    from ..proxy import with_mode
    cluster = with_mode(demo(), "nftables")
    r = routing.route(cluster, client="laptop", service="web-nodeport", via_node="node-b")
    hops = r.to_dict()["hops"]
    way_in = hops[1]["kind"]
    svc_chain = next(h["chain"] for h in hops if h["kind"] == "service")
    t = trace.trace(cluster, "laptop", f"{cluster.node('node-b').address}:{r.port.node_port}", seed=1)
    key, hop = {}, way_in
    for step in t.steps:
        chain = step["chain"]
        if not chain or step["matched"] is False or chain == "mark-for-masquerade":
            continue
        kind = chain.split("-", 1)[0] if "/" in chain else chain
        if kind not in _NFT_KINDS:
            continue
        if chain == svc_chain:
            hop = "service"
        elif kind == "endpoint":
            hop = "pod"
        key.setdefault(kind, hop)
    return key


def _nft_kind(text) -> str | None:
    if not isinstance(text, str):
        return None
    t = text.strip().lower()
    if t in _NFT_KINDS:
        return t
    for kind in ("services", "external", "service", "endpoint"):
        if t.startswith(kind + "-") or t.startswith(kind + " "):
            return kind
    return None


def _check_nft_hops(answer) -> Feedback:
    ex = "nft-hops"
    if not isinstance(answer, dict) or not answer:
        return wrong(ex, "format", "Give a dict from each chain to its hop, for example "
                      "`{\"services\": \"node-port\", ...}`.", EXERCISES[ex].hint)
    given = {}
    for k, v in answer.items():
        kind = _nft_kind(k)
        hop = v.strip().lower() if isinstance(v, str) else None
        if kind is None:
            return wrong(ex, "format", f"{k!r} is not one of the chains asked about: "
                          f"{', '.join(_NFT_KINDS)}.", EXERCISES[ex].hint)
        if hop is Ellipsis or hop not in _HOPS:
            return wrong(ex, "format", f"{v!r} is not a hop of the route: use one of "
                          f"{', '.join(_HOPS)}.", EXERCISES[ex].hint)
        given[kind] = hop
    key = _nft_hops_key()
    if given == key:
        return right(ex, "services -> node-port, external -> node-port, service -> service, "
                      "endpoint -> pod. The services chain's node-port rule (`ip daddr @nodeport-ips "
                      "... vmap @service-nodeports`) recognises the node port and sends the packet to "
                      "the external- chain, where every outside way in meets (it marks the packet for "
                      "masquerading); the service- chain is the one route names in its service hop "
                      "(its numgen rule picks the endpoint); the endpoint- chain rewrites the "
                      "destination to one pod.")
    if set(given) != set(key):
        missing = ", ".join(k for k in _NFT_KINDS if k in key and k not in given)
        return wrong(ex, "format", f"Give a hop for each of the four chains (missing: {missing}).",
                      EXERCISES[ex].hint)
    if given["services"] == "service":
        return wrong(ex, "services-is-the-service",
                      "The services chain is the dispatcher every packet of every Service meets "
                      "(kube-proxy's KUBE-SERVICES): for this packet its node-port rule matched, so it "
                      "is where the node port is recognised. The Service's own hop is its service-... "
                      "chain, the one route's service hop names.",
                      "which rule of `services` matched a packet addressed to node-b's own IP?")
    if given["external"] in ("service", "pod"):
        return wrong(ex, "external-picks",
                      "external-... does not choose a pod: it is where the node port, load-balancer IPs "
                      "and external IPs meet (kube-proxy's KUBE-EXT); it marks for masquerading, then "
                      "goes to service-..., so it belongs to the way in.",
                      "what does the external- chain jump or go to?")
    if given["service"] != "service":
        return wrong(ex, "service-chain-dnats",
                      "service-... holds the one numgen rule that draws an endpoint, but it rewrites "
                      "nothing: it is the chain route names in its `service` hop. The DNAT is in the "
                      "endpoint chain.", "compare with `route.to_dict()['hops']`: which chain does the "
                      "service hop name?")
    if given["endpoint"] != "pod":
        return wrong(ex, "endpoint-is-service",
                      "endpoint-... is one pod's chain: its last rule, `dnat to IP:port`, sends the "
                      "packet to that pod. It is the pod hop (kube-proxy's KUBE-SEP).",
                      "which rule rewrites the destination address?")
    return wrong(ex, "other", "Not quite: " + ", ".join(f"{k} -> {v}" for k, v in given.items()) + ".",
                  EXERCISES[ex].hint)


register(
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
    Exercise("nft-hops", "nftables chains and the route's hops",
             "In nftables mode the laptop's packet to node-b's node port matches rules in the "
             "chains services, external-..., service-... and endpoint-.... Which hop of the route "
             "(node-port, service, pod) does each implement?",
             "the service hop's `chain` in the route names one of them; follow the packet from "
             "there in both directions.",
             "`{\"services\": \"node-port\", \"external\": \"node-port\", \"service\": \"service\", "
             "\"endpoint\": \"pod\"}`.\n\n"
             "`services` looks the packet up: its node-port rule matches node-b's own address and "
             "port 30080 in the service-nodeports map and goes to the external- chain, where every "
             "outside way in meets and the packet is marked for masquerading: both are the node-port "
             "hop, as KUBE-SERVICES' last rule, KUBE-NODEPORTS and KUBE-EXT are in iptables mode. "
             "service-... is the chain the route's service hop names; its numgen rule picks the "
             "endpoint chain, whose `dnat to` is the pod hop.\n\n"
             "    answer_5 = {\"services\": \"node-port\", \"external\": \"node-port\", "
             "\"service\": \"service\", \"endpoint\": \"pod\"}",
             _check_nft_hops),
)
