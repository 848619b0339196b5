"""The fuzzer: seeded mutations of the shipped manifests and fixtures, and the checks every
mutated input must pass (used by tests/test_fuzz.py and benchmarks/fuzz.py).

An input is a seed file (notebooks/manifests, k8slab/data, tests/fixtures) after one to three
mutations: fields deleted, duplicated or retyped, huge numbers, unicode, deep nesting, anchors
and aliases, tabs, byte-order marks, binary bytes, truncation, fanned-out or dropped documents.
Each input goes through validate -> load -> route (every client x Service) -> rules -> draw (a
sample), and `check` returns what went wrong, if anything:

- `escape`: an exception other than K8slabError, anywhere;
- `no-file`: a K8slabError from reading whose message does not name the file;
- `invalid-routed`: validate reported a problem, yet load built a cluster;
- `route-error`: a cluster that loaded could not route one of its own clients to one of its Services;
- `probabilities`: a reachable proxied route whose endpoint probabilities do not sum to 1;
- `slow`: an input under 1 MB that took over 2 s (load + validate + route one query).
"""

from __future__ import annotations

import copy
import json
import math
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

import k8slab
from k8slab import proxy, routing
from k8slab.manifests import INTERNAL, load, validate_files

ROOT = Path(__file__).resolve().parent.parent
SEED_GLOBS = ("notebooks/manifests/*.yaml", "k8slab/data/*.yaml", "tests/fixtures/**/*.yaml")


def seed_files() -> list[Path]:
    return sorted({p for g in SEED_GLOBS for p in ROOT.glob(g)})


@dataclass
class Seed:
    name: str
    text: str
    docs: list


def seeds() -> list[Seed]:
    out = []
    for p in seed_files():
        text = p.read_text(encoding="utf-8")
        out.append(Seed(p.name, text, [d for d in yaml.safe_load_all(text)]))
    return out


# --- values a mutation puts in place of another ------------------------------------------------

_HUGE = [10**k for k in (9, 10, 19, 20, 21, 25, 308, 309, 400)]


def _strange_value(rng: random.Random):
    kind = rng.randrange(16)
    if kind == 0:
        return rng.choice([None, True, False, 0, -1, 1, 65535, 65536, 2**31 - 1, 2**31, -(2**31) - 1])
    if kind == 1:
        return rng.choice([80.0, 8080.0, 80.5, -0.0, 1e21, 1e300, float("inf"), float("nan")])
    if kind == 2:
        n = rng.choice(_HUGE)
        return rng.choice([n, -n])
    if kind == 3:
        return rng.choice(["", " ", "x" * rng.choice([64, 254, 10_000]), "None", "null", "~"])
    if kind == 4:   # unicode: combining marks, RTL, emoji, fullwidth digits, separators, NUL-free controls
        return rng.choice(["ñandú", "e\u0301", "\u202eweb", "🚀", "８０", "web\u2028", "\u200bweb",
                           "\x7f", "WEB", "web.", "-web", "web_1", "Ünïcödé", "\ufeffweb"])
    if kind == 5:
        return [] if rng.random() < 0.5 else {}
    if kind == 6:
        return [_strange_value(rng) for _ in range(rng.randrange(1, 4))]
    if kind == 7:
        return {rng.choice(["a", "port", "name", "1", "true"]): _strange_value(rng)}
    if kind == 8:   # deep nesting, around k8slab's limit and past it
        depth = rng.choice([10, 98, 99, 100, 101, 150])
        v = "x"
        for _ in range(depth):
            v = [v] if rng.random() < 0.5 else {"k": v}
        return v
    if kind == 9:
        return rng.choice(["10.0.0.1", "::1", "fe80::1", "10.0.0.256", "2001:db8::1", "0.0.0.0",
                           "127.0.0.1", "203.0.113.10", "lb.example.com", "10.96.0.0/12"])
    if kind == 10:
        return rng.choice(["TCP", "UDP", "SCTP", "tcp", "HTTP", "http", "8080", "Local", "Cluster",
                           "ClientIP", "NodePort", "LoadBalancer", "ExternalName", "ipvs", "nftables"])
    if kind == 11:
        return rng.choice([0, 1, 3, 110, 111, 331, 1000, 149_999, 150_001, 2_000_000_000])
    return rng.choice(["web", "http", "node-a", "app", "client", "default", "kube-system", "None"])


# --- structural mutations (on parsed documents) --------------------------------------------------

def _slots(value, out, depth=0):
    """Every (container, key) in value, for picking a place to mutate."""
    if depth > 30:
        return
    if isinstance(value, dict):
        for k in list(value):
            out.append((value, k))
            _slots(value[k], out, depth + 1)
    elif isinstance(value, list):
        for i in range(len(value)):
            out.append((value, i))
            _slots(value[i], out, depth + 1)


def _rename(doc, suffix: str):
    meta = doc.get("metadata") if isinstance(doc, dict) else None
    if isinstance(meta, dict) and isinstance(meta.get("name"), str):
        meta["name"] = f"{meta['name']}-{suffix}"


# Changes a learner makes on purpose: each keeps a manifest valid more often than not, and
# drives routing down its less common paths.
_PLAUSIBLE = {
    "Service": [
        (("spec", "type"), ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]),
        (("spec", "externalTrafficPolicy"), ["Local", "Cluster"]),
        (("spec", "internalTrafficPolicy"), ["Local", "Cluster"]),
        (("spec", "sessionAffinity"), ["ClientIP", "None"]),
        (("spec", "sessionAffinityConfig"), [{"clientIP": {"timeoutSeconds": 1}}, {"clientIP": {"timeoutSeconds": 86400}}]),
        (("spec", "externalIPs"), [["192.0.2.200"], ["198.51.100.7", "198.51.100.8"]]),
        (("spec", "clusterIP"), ["None", "10.96.0.50", "10.96.0.1"]),
        (("spec", "externalName"), ["db.example.com"]),
        (("spec", "publishNotReadyAddresses"), [True]),
        (("spec", "trafficDistribution"), ["PreferClose"]),
        (("spec", "allocateLoadBalancerNodePorts"), [False, True]),
        (("spec", "loadBalancerSourceRanges"), [["203.0.113.0/24"], ["0.0.0.0/0"]]),
        (("spec", "selector"), [{}, {"app": "nothing"}, {"app": "web"}]),
        (("spec", "ports"), [[{"port": 80, "targetPort": "http"}], [{"port": 80, "targetPort": "nope"}],
                             [{"name": "a", "port": 80}, {"name": "b", "port": 443, "protocol": "UDP"}]]),
        (("status",), [{"loadBalancer": {}}, {"loadBalancer": {"ingress": [{"hostname": "lb.example.com"}]}}]),
    ],
    "Pod": [
        (("spec", "nodeName"), ["node-a", "node-b", "node-c", "nowhere"]),
        (("spec", "hostNetwork"), [True]),
        (("metadata", "deletionTimestamp"), ["2026-01-01T00:00:00Z"]),
        (("metadata", "namespace"), ["default", "shop", "kube-system"]),
        (("status",), [{"phase": "Running", "podIP": "10.244.9.9", "conditions": [{"type": "Ready", "status": "False"}]},
                       {"phase": "Pending"}, {"phase": "Running", "podIP": "10.244.1.77",
                                              "conditions": [{"type": "Ready", "status": "True"}]}]),
    ],
    "Node": [
        (("spec", "unschedulable"), [True]),
        (("spec", "taints"), [[], [{"key": "k", "effect": "NoExecute"}]]),
        (("status", "conditions"), [[{"type": "Ready", "status": "False"}]]),
        (("metadata", "labels"), [{"topology.kubernetes.io/zone": "zone-9"}, {}]),
        (("status", "allocatable"), [{"pods": "1"}, {"pods": 0}]),
    ],
    "Deployment": [(("spec", "replicas"), [0, 1, 2, 7, 111, 400])],
    "StatefulSet": [(("spec", "replicas"), [0, 1, 5])],
    "EndpointSlice": [(("endpoints",), [[], [{"addresses": ["10.244.1.50"], "conditions": {"ready": False}}],
                                        [{"addresses": ["10.244.1.51"], "zone": "zone-1",
                                          "hints": {"forZones": [{"name": "zone-2"}]}}]])],
    "KubeProxyConfiguration": [(("mode",), ["ipvs", "nftables", "", "iptables"]),
                               (("ipvs",), [{"scheduler": "sh"}, {"scheduler": "lc"}]),
                               (("iptables",), [{"masqueradeAll": True}, {"localhostNodePorts": False}])],
}


def _plausible(docs: list, rng: random.Random) -> bool:
    candidates = [d for d in docs if isinstance(d, dict) and isinstance(d.get("kind"), str)
                  and d["kind"] in _PLAUSIBLE]
    if not candidates:
        return False
    doc = rng.choice(candidates)
    path, values = rng.choice(_PLAUSIBLE[doc["kind"]])
    holder = doc
    for key in path[:-1]:
        if not isinstance(holder.get(key), dict):
            holder[key] = {}
        holder = holder[key]
    holder[path[-1]] = copy.deepcopy(rng.choice(values))
    return True


def mutate_docs(docs: list, rng: random.Random) -> list:
    docs = copy.deepcopy(docs)
    if rng.random() < 0.35 and _plausible(docs, rng):
        return docs
    op = rng.randrange(9)
    if op == 0 and docs:                        # drop documents
        for _ in range(rng.randrange(1, 3)):
            if docs:
                docs.pop(rng.randrange(len(docs)))
        return docs
    if op == 1 and docs:                        # fan out: many copies of one document
        d = rng.choice(docs)
        for i in range(rng.choice([2, 10, 50, 200])):
            c = copy.deepcopy(d)
            if rng.random() < 0.9:
                _rename(c, str(i))
            docs.append(c)
        return docs
    if op == 2 and docs:                        # duplicate a document unchanged
        docs.insert(rng.randrange(len(docs) + 1), copy.deepcopy(rng.choice(docs)))
        return docs
    slots: list = []
    _slots(docs, slots)
    if not slots:
        return docs
    container, key = rng.choice(slots)
    if op == 3:                                 # delete a field or element
        del container[key]
    elif op == 4 and isinstance(container, list):   # duplicate an element
        container.insert(key, copy.deepcopy(container[key]))
    elif op == 4:                                   # duplicate a field under another name
        container[f"{key}"[:20] + "x"] = copy.deepcopy(container[key])
    elif op == 5:                               # swap with another slot's value
        c2, k2 = rng.choice(slots)
        try:
            container[key], c2[k2] = copy.deepcopy(c2[k2]), copy.deepcopy(container[key])
        except (KeyError, IndexError):
            pass
    elif op == 6:                               # wrap in a list or a mapping
        container[key] = [container[key]] if rng.random() < 0.5 else {"value": container[key]}
    else:                                       # retype
        container[key] = _strange_value(rng)
    return docs


def _dump(docs: list, rng: random.Random) -> str:
    if rng.random() < 0.15:                     # kubectl get -o json: one List document
        try:
            return json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}, indent=1)
        except (ValueError, TypeError):
            pass
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)      # the C emitter: 10x faster
    try:
        return yaml.dump_all(docs, Dumper=dumper, sort_keys=False, allow_unicode=rng.random() < 0.5)
    except (yaml.YAMLError, RecursionError, ValueError, UnicodeEncodeError):
        return ""


# --- textual mutations (on the YAML text) ---------------------------------------------------------

def mutate_text(text: str, rng: random.Random) -> str | bytes:
    lines = text.split("\n")
    op = rng.randrange(12)
    i = rng.randrange(len(lines)) if lines else 0
    if op == 0 and lines:                       # anchor a value, alias it elsewhere
        j = rng.randrange(len(lines))
        if ": " in lines[i] and ": " in lines[j]:
            k, _, v = lines[i].partition(": ")
            lines[i] = f"{k}: &a {v}"
            k2, _, _ = lines[j].partition(": ")
            lines[j] = f"{k2}: *a" if j != i else lines[j]
    elif op == 1 and lines:                     # an alias that contains itself
        if ": " in lines[i]:
            k, _, _ = lines[i].partition(": ")
            lines[i] = f"{k}: &m [*m]"
    elif op == 2 and lines:                     # tabs for indentation
        stripped = lines[i].lstrip(" ")
        lines[i] = "\t" * ((len(lines[i]) - len(stripped)) // 2 or 1) + stripped
    elif op == 3:                               # a byte-order mark, at the start or inside
        pos = 0 if rng.random() < 0.5 else rng.randrange(len(text) + 1)
        return text[:pos] + "\ufeff" + text[pos:]
    elif op == 4:                               # binary bytes
        data = bytearray(text.encode("utf-8"))
        pos = rng.randrange(len(data) + 1)
        data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 16)))
        return bytes(data)
    elif op == 5:                               # truncated
        return text[:rng.randrange(len(text) + 1)]
    elif op == 6 and text:                      # one character changed
        pos = rng.randrange(len(text))
        return text[:pos] + rng.choice(":-[]{}&*!|>'\"#%@`,? \t\n0") + text[pos + 1:]
    elif op == 7 and lines:                     # a document break
        lines.insert(i, "---")
    elif op == 8 and lines:                     # a date, a base-60 number or a huge integer, unquoted
        if ": " in lines[i]:
            k, _, _ = lines[i].partition(": ")
            lines[i] = f"{k}: " + rng.choice(["2024-01-01", "2024-01-01T10:00:00Z", "1:20", "0x1F", "0o17",
                                               "017", "1_000", ".inf", "-.nan", "9" * rng.choice([20, 4300, 5000]),
                                               "yes", "off", "!!binary aGVsbG8=", "!!set {a, b}", "!!str 80"])
    elif op == 9 and lines:                     # a line duplicated (a duplicate key, most often)
        lines.insert(i, lines[i])
    elif op == 10:                              # a long scalar, or nesting far too deep
        if ": " in lines[i]:
            k, _, _ = lines[i].partition(": ")
            n = rng.choice([300, 70_000, 1000, 5000])
            lines[i] = f"{k}: " + ("a" * n if rng.random() < 0.5 else "[" * n + "]" * n)
    else:                                       # lines dropped
        del lines[i:i + rng.randrange(1, 4)]
    return "\n".join(lines)


def make_input(all_seeds: list[Seed], rng: random.Random) -> tuple[str, bytes]:
    """(a file suffix, the bytes of one mutated input)."""
    seed = rng.choice(all_seeds)
    text: str | bytes = seed.text
    rounds = rng.choice([1, 1, 2, 3])
    docs = seed.docs
    structural = rng.random() < 0.6
    if structural:
        try:
            for _ in range(rounds):
                docs = mutate_docs(docs, rng)
        except RecursionError:              # the mutator's own copy of a deep value: keep the seed
            docs = seed.docs
        text = _dump(docs, rng)
        if rng.random() < 0.3:
            text = mutate_text(text, rng)
    else:
        for _ in range(rounds):
            if isinstance(text, bytes):
                break
            text = mutate_text(text, rng)
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    return (".json" if data.lstrip()[:1] == b"{" else ".yaml"), data


# --- the checks -------------------------------------------------------------------------------------

@dataclass
class Outcome:
    failures: list[str] = field(default_factory=list)
    loaded: bool = False
    routes: int = 0
    seconds: float = 0.0
    first_route_seconds: float = 0.0
    size: int = 0


def _kind(e: BaseException) -> str:
    return f"{type(e).__name__}: {str(e)[:300]}"


def _clients(cluster) -> list[str]:
    out = list(routing.default_clients(cluster))
    # A pod bound to a node the input does not list is refused as a client, with a message.
    pods = [p for p in cluster.pods if p.node and p.ip and cluster.node(p.node)][:3]
    out += [f"pod/{p.namespace}/{p.name}" for p in pods]
    out += [f"node/{n.name}" for n in cluster.nodes[1:2]]
    return list(dict.fromkeys(out))


def check(path: str, rng: random.Random, draw_rate: float = 0.02, max_routes: int = 150,
          slow_seconds: float = 2.0) -> Outcome:
    """Every check on one input file; failures name what went wrong."""
    out = Outcome(size=os.path.getsize(path))
    t0 = time.perf_counter()
    try:
        problems = validate_files([path])
    except k8slab.K8slabError as e:
        problems = list(e.problems) or [None]
    except Exception as e:  # noqa: BLE001 - this is what the fuzzer looks for
        out.failures.append(f"escape in validate: {_kind(e)}")
        problems = []
    for p in problems:
        if p is not None and INTERNAL in p.message:
            out.failures.append(f"escape in validate (caught by the last-resort handler): {str(p)[:300]}")
        if p is None or p.file != path:
            out.failures.append(f"no-file in validate: {str(p)[:300]}")
            break
    try:
        cluster = load(path)
    except k8slab.K8slabError as e:
        if INTERNAL in str(e) or "could not build a cluster" in str(e):
            out.failures.append(f"escape in load (caught by the last-resort handler): {str(e)[:300]}")
        if not e.problems and path not in str(e):
            out.failures.append(f"no-file in load: {str(e)[:300]}")
        elif any(p.file != path for p in e.problems):
            out.failures.append(f"no-file in load: {str(e)[:300]}")
        out.seconds = time.perf_counter() - t0
        if out.size < 2**20 and out.seconds > slow_seconds:     # a refusal has the same budget
            out.failures.append(f"slow: {out.seconds:.1f}s to validate and refuse ({out.size:,} bytes)")
        return out
    except Exception as e:  # noqa: BLE001
        out.failures.append(f"escape in load: {_kind(e)}")
        out.seconds = time.perf_counter() - t0
        return out
    out.loaded = True
    if problems:
        out.failures.append(f"invalid-routed: validate said {str(problems[0])[:300]}")
    routes = []
    for s in cluster.services[:12]:
        for c in _clients(cluster):
            if out.routes >= max_routes:
                break
            try:
                r = routing.route(cluster, client=c, service=s.name, namespace=s.namespace)
                d = r.to_dict()
                json.dumps(d)
                r.text()
            except Exception as e:  # noqa: BLE001
                out.failures.append(f"route-error {c} -> {s.key}: {_kind(e)}")
                continue
            if out.routes == 0:
                out.first_route_seconds = time.perf_counter() - t0
            out.routes += 1
            routes.append(r)
            if d["reachable"] and s.proxied:
                # NetworkPolicy (issue 20): blocked pods stay listed with probability 0, and
                # the share they or SNAT lose is missing from the sum (the reason says so).
                probs = [e["probability"] for e in d["endpoints"] if not e.get("blocked_by")]
                policed = len(probs) < len(d["endpoints"]) or "NetworkPolicy:" in d["reason"]
                total = sum(p or 0 for p in probs)
                if not probs or any(p is None or not 0 < p <= 1 for p in probs) or \
                        not (math.isclose(total, 1.0, abs_tol=1e-6) or (policed and total < 1)):
                    out.failures.append(f"probabilities {c} -> {s.key}: {probs[:10]}")
    for n in cluster.nodes[:2]:
        mode = rng.choice(proxy.MODES)
        try:
            proxy.rules(cluster, n.name, mode=mode)
        except k8slab.K8slabError:
            pass                                # an answer (an unknown node, say)
        except Exception as e:  # noqa: BLE001
            out.failures.append(f"escape in rules --mode {mode} --node {n.name}: {_kind(e)}")
    if routes and rng.random() < draw_rate:
        try:
            k8slab.draw(rng.choice(routes)).svg()
        except k8slab.K8slabError:
            pass
        except Exception as e:  # noqa: BLE001
            out.failures.append(f"escape in draw: {_kind(e)}")
    out.seconds = time.perf_counter() - t0
    if out.size < 2**20 and (out.first_route_seconds or out.seconds) > slow_seconds:
        out.failures.append(f"slow: {out.first_route_seconds or out.seconds:.1f}s to load, validate and "
                            f"route one query ({out.size:,} bytes)")
    return out


# --- the command line ----------------------------------------------------------------------------------

def cli_commands(path: str, rng: random.Random) -> list[list[str]]:
    service = rng.choice(["web", "web-nodeport", "web-lb", "db", "nope"])
    client = rng.choice(["laptop", "pod/client", "node/node-a", "internet", "pod/nope", "bogus"])
    return [rng.choice([
        ["validate", path],
        ["route", path, "--service", service, "--client", client] + (["--json"] if rng.random() < 0.5 else []),
        ["rules", path, "--node", rng.choice(["node-a", "node-b", "nope"]),
         "--mode", rng.choice(["iptables", "ipvs", "nftables"])],
        ["simulate", path, "--service", service, "--client", client, "--requests", "20", "--json"],
        ["draw", path, "--service", service, "--client", client, "-o", path + ".svg"],
        ["trace", path, "--client", client, "--dial", rng.choice(["web:80", "10.96.0.11:80", "192.0.2.11:30080",
                                                                  "203.0.113.10:80", "nope:1"]), "--json"],
        ["dns", path, "--client", client, "--name", rng.choice(["web", "web.default.svc.cluster.local", "db",
                                                                "kubernetes", "example.com"])],
    ])]


def check_cli(argv: list[str], timeout: float = 60.0) -> list[str]:
    """Failures of one `python -m k8slab` run: a traceback, an exit code other than 0/1/2, a hang."""
    env = dict(os.environ, PYTHONHASHSEED="0")
    try:
        p = subprocess.run([sys.executable, "-m", "k8slab", *argv], capture_output=True, timeout=timeout,
                           env=env, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return [f"cli hang > {timeout:.0f}s: {' '.join(argv)[:200]}"]
    failures = []
    err = p.stderr.decode("utf-8", "replace")
    if p.returncode not in (0, 1, 2):
        failures.append(f"cli exit {p.returncode}: {' '.join(argv)[:200]}: {err[-300:]}")
    if "Traceback" in err:
        failures.append(f"cli traceback: {' '.join(argv)[:200]}: {err[-500:]}")
    return failures


# --- hypothesis strategies: classes of input that issue 23 found escaping or answered wrongly -------

from hypothesis import strategies as st  # noqa: E402  (the mutation fuzzer above needs none)

#: RFC 1123 labels as a learner types them: letters, digits and inner hyphens, any case.
dns_labels = st.from_regex(r"\A[A-Za-z0-9]([A-Za-z0-9-]{0,14}[A-Za-z0-9])?\Z", fullmatch=True)
#: Labels that are delegated TLDs (Public Suffix List, ICANN section) mixed with any label.
tld_or_not = st.one_of(st.sampled_from(["com", "shop", "web", "app", "io", "co.uk", "arpa"]), dns_labels)
#: Names of one to four labels ending in a real TLD or in no TLD at all, absolute or not.
dns_names = st.builds(lambda labels, last, dot: ".".join([*labels, last]) + dot,
                      st.lists(dns_labels, max_size=3), tld_or_not, st.sampled_from(["", "."]))
#: IPv4 addresses written with at least one leading zero ("10.244.0.011"): ParseIPSloppy reads
#: them, StrictIPCIDRValidation refuses them.
leading_zero_ipv4 = st.builds(
    lambda octets, where, pad: ".".join(("0" * pad + str(o)) if i == where else str(o)
                                        for i, o in enumerate(octets)),
    st.tuples(*[st.integers(0, 255)] * 4), st.integers(0, 3), st.integers(1, 2))
#: Any JSON value, small: what a field of the wrong type may hold.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8)
#: Plain scalars to put after an explicit `!!bool` tag: go-yaml's spellings and anything else.
yaml_bool_texts = st.one_of(
    st.sampled_from("y Y yes Yes YES on On ON true True TRUE n N no No NO off Off OFF false False FALSE "
                    "maybe 1 0 yEs".split()),
    st.from_regex(r"\A[A-Za-z0-9]{1,8}\Z", fullmatch=True))
#: Decimal digits other than ASCII ("٨٠", "８０", "৮০"): str.isdigit and int() take them.
non_ascii_digits = st.text(alphabet=st.characters(categories=["Nd"]).filter(lambda c: not c.isascii()),
                           min_size=1, max_size=6)
#: Case variations of a DNS name (DNS compares without case).
def any_case(name: str):
    return st.lists(st.booleans(), min_size=len(name), max_size=len(name)).map(
        lambda flips: "".join(c.upper() if f else c for c, f in zip(name, flips)))
#: File names no file system takes: with a NUL, or with a lone surrogate Python cannot encode.
unusable_paths = st.builds(lambda a, bad, b: a + bad + b, st.text(max_size=6),
                           st.sampled_from(["\0", "\ud800", "\udfff", "\ud83d"]), st.text(max_size=6))
#: Everything that is not YAML text, given where YAML text belongs.
not_yaml_text = st.one_of(st.none(), st.integers(), st.lists(st.text(max_size=4), max_size=2),
                          st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2),
                          st.builds(__import__("pathlib").Path, st.text(min_size=1, max_size=8)))
